#!/usr/bin/env bash
# bench/node_read.sh - the read path of dmp-node beside Knot DNS on the same
# DMP-shaped zone (issue 19: goal >= 1.3x Knot at 10k records). For each
# round, each server alone (order alternating between rounds): start it on
# the zone (bench/scale_tool.py gen, as node_scale.sh), run dnsperf for SECS
# seconds over every name of the zone, and read the server's CPU time
# (utime + stime of every thread, /proc/PID/stat) before and after. Prints
# queries/s and queries per server CPU-second (dnsperf shares the two cores,
# so queries/s alone also measures dnsperf), every run, then the ratios
# dmp-node/Knot per round and their medians. Loopback only; not run by ctest.
#   bench/node_read.sh [BUILD_DIR] [SIZE] [SECS] [REPS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/release}
size=${2:-10000}
secs=${3:-10}
reps=${4:-4}
node=$build/tools/dmp-node
tool="/usr/bin/python3 $top/bench/scale_tool.py"
[ -x "$node" ] || { echo "build dmp-node first ($build)" >&2; exit 1; }
command -v knotd >/dev/null && command -v dnsperf >/dev/null ||
	{ echo "needs knotd and dnsperf (apt-get install knot dnsperf)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/node_read.XXXXXX")
. "$top/bench/scale_lib.sh"
# Not node_scale.sh's ports: the two may run on one machine.
nport=53542 kport=53543
node_yaml "$tmp/node.yaml"
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }

src=$tmp/src
mkdir -p "$src"
"$node" key add w.$zone --scope $zone --db "$src/node.db" >/dev/null
$tool gen "$src/node.db" "$src/$zone.zone" "$src/queries" $zone "$size"
qname=$(head -1 "$src/queries" | cut -d' ' -f1)

# run SERVER: one measurement, "qps cpu_s q_per_cpu_s" on stdout
run() {
	local host port t0 c0 c1 out n
	rm -rf "$tmp/run"
	mkdir -p "$tmp/run"
	t0=$(date +%s.%N)
	if [ "$1" = dmp-node ]; then
		cp "$src/node.db" "$tmp/run/"
		"$node" -f --db "$tmp/run/node.db" --zone $zone \
			--listen $nhost:$nport -c "$tmp/node.yaml" \
			>>"$tmp/node.log" 2>&1 &
		pid=$! host=$nhost port=$nport
	else
		cp "$src/$zone.zone" "$tmp/run/"
		knot_conf "$tmp/run"
		knotd -c "$tmp/run/knot.conf" >>"$tmp/knot.log" 2>&1 &
		pid=$! host=$khost port=$kport
	fi
	$tool wait $host $port "$qname" "$t0" >/dev/null
	c0=$(cpu $pid)
	out=$(dnsperf -s $host -p $port -d "$src/queries" -l "$secs" -c 4 \
		-q 200 2>/dev/null)
	c1=$(cpu $pid)
	kill $pid
	wait $pid 2>/dev/null || true
	pid=
	n=$(awk '/Queries completed/ {print $3}' <<<"$out")
	awk -v n="$n" -v s="$secs" -v c=$((c1 - c0)) -v t="$ticks" \
		'BEGIN { printf "%.0f %.2f %.0f\n", n / s, c / t, c ? n * t / c : 0 }'
}

echo "# $0 $build $size $secs $reps; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-4s %-9s %10s %8s %12s\n" run server queries/s cpu_s q/cpu_s
: >"$tmp/res"
for r in $(seq 1 "$reps"); do
	order="dmp-node knot"
	[ $((r % 2)) -eq 0 ] && order="knot dmp-node"
	for srv in $order; do
		set -- $(run $srv)
		printf "%-4s %-9s %10s %8s %12s\n" "$r" $srv "$1" "$2" "$3"
		echo "$r $srv $1 $3" >>"$tmp/res"
	done
done
echo
echo "ratios dmp-node/knot per run (goal: queries/s >= 1.3):"
awk '{ if ($2 == "dmp-node") { q[$1] = $3; c[$1] = $4 } else { kq[$1] = $3; kc[$1] = $4 } }
END { for (r = 1; r in q; r++) printf "%-4s %10.2f %10.2f\n", r, q[r] / kq[r], c[r] / kc[r] }' \
	"$tmp/res" >"$tmp/ratios"
printf "%-4s %10s %10s\n" run queries/s q/cpu_s
cat "$tmp/ratios"
# median of column $1 of the ratios
med() {
	sort -n -k"$1" "$tmp/ratios" | awk -v k="$1" '{ v[NR] = $k }
	END { m = int((NR + 1) / 2); printf "%.2f", NR % 2 ? v[m] : (v[m] + v[m + 1]) / 2 }'
}
printf "%-4s %10s %10s\n" med "$(med 2)" "$(med 3)"
