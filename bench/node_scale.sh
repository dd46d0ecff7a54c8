#!/usr/bin/env bash
# bench/node_scale.sh - dmp-node beside Knot DNS at scale (issue 19): for
# each size, the same DMP-shaped records (slot manifests of 336 bytes and
# chunks of 241 bytes, bench/scale_tool.py gen) go into dmp-node's sqlite
# (preloaded before start, as tests/black/test_node_ixfr.py does) and into a
# Knot zone file. For each server, one after the other, never at once:
#   cold   seconds from exec to the first answer for an existing name
#          (files in the page cache: "cold" is the process, not the disk)
#   rss    VmRSS after that answer; B/rec = (rss - rss of the same server
#          with an empty zone) / records
#   qps    dnsperf queries/s, SECS seconds, 100k random existing names
#   crash  after N_UPD acknowledged UPDATEs (bench_update, one at a time),
#          kill -9 and restart: seconds to the first answer, update log
#          (dmp-node) / journal (Knot) replay included
# Every run is printed (REPS rounds, the two servers alternating), then the
# ratios dmp-node/Knot per run. Knot: journal-content changes,
# zonefile-sync -1 (the journal is the durable copy, like dmp-node's update
# log + sqlite), 2 UDP workers. Not run by ctest.
#   bench/node_scale.sh [BUILD_DIR] [SIZES] [SECS] [REPS] [N_UPD]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/release}
sizes=${2:-"100000 1000000"}
secs=${3:-10}
reps=${4:-2}
n_upd=${5:-1000}
node=$build/tools/dmp-node
upd=$build/bench/bench_update
tool="/usr/bin/python3 $top/bench/scale_tool.py"
[ -x "$node" ] && [ -x "$upd" ] ||
	{ echo "build dmp-node and bench_update first ($build)" >&2; exit 1; }
command -v knotd >/dev/null && command -v dnsperf >/dev/null ||
	{ echo "needs knotd and dnsperf (apt-get install knot dnsperf)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/node_scale.XXXXXX")

. "$top/bench/scale_lib.sh"
node_yaml "$tmp/node.yaml"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# start_node DIR: pid in $pid, seconds to first answer in $secs_up
start_node() {
	local t0
	t0=$(date +%s.%N)
	"$node" -f --db "$1/node.db" --zone $zone --listen $nhost:$nport \
		-c "$tmp/node.yaml" >>"$1/node.log" 2>&1 &
	pid=$!
	secs_up=$($tool wait $nhost $nport "$qname" "$t0")
}

start_knot() {
	local t0
	t0=$(date +%s.%N)
	knotd -c "$1/knot.conf" >>"$1/knot.log" 2>&1 &
	pid=$!
	secs_up=$($tool wait $khost $kport "$qname" "$t0")
}

stop() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
}

crash() {
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
}

# Empty-zone RSS of each server (the base of B/rec).
mkdir -p "$tmp/empty"
"$node" key add w.$zone --scope $zone --db "$tmp/empty/node.db" >/dev/null
printf '$ORIGIN %s.\n@ 3600 SOA ns1 hostmaster 1 3600 600 604800 60\n@ 3600 NS ns1\nns1 3600 A 127.0.0.1\n' \
	$zone >"$tmp/empty/$zone.zone"
knot_conf "$tmp/empty"
qname=ns1.$zone # the node answers NODATA there; wait wants data
qname_empty() { dig +short +time=1 +tries=1 -p "$2" @"$1" $zone SOA >/dev/null 2>&1; }
"$node" -f --db "$tmp/empty/node.db" --zone $zone --listen $nhost:$nport \
	-c "$tmp/node.yaml" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do qname_empty $nhost $nport && break; sleep 0.05; done
sleep 0.5
base_node=$(rss_kb "$pid")
stop
knotd -c "$tmp/empty/knot.conf" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do qname_empty $khost $kport && break; sleep 0.05; done
sleep 0.5
base_knot=$(rss_kb "$pid")
stop
echo "empty zone RSS: dmp-node ${base_node} KiB, knot ${base_knot} KiB"

results=$tmp/results
: >"$results"
printf "%-9s %-8s %3s %8s %9s %7s %9s %8s\n" size server run cold_s \
	rss_MiB B/rec qps crash_s
for n in $sizes; do
	src=$tmp/src$n
	mkdir -p "$src"
	key=$("$node" key add w.$zone --scope $zone --db "$src/node.db")
	t0=$(date +%s)
	$tool gen "$src/node.db" "$src/$zone.zone" "$src/queries" $zone "$n"
	echo "# $n records generated in $(($(date +%s) - t0)) s:" \
		"sqlite $(du -m "$src/node.db" | cut -f1) MiB," \
		"zone file $(du -m "$src/$zone.zone" | cut -f1) MiB" >&2
	qname=$(head -1 "$src/queries" | cut -d' ' -f1)
	for r in $(seq 1 "$reps"); do
		for srv in dmp-node knot; do
			run=$tmp/run
			rm -rf "$run"
			mkdir -p "$run"
			if [ $srv = dmp-node ]; then
				cp "$src/node.db" "$run/"
				start_node "$run"
				cold=$secs_up
				rss=$(rss_kb "$pid")
				base=$base_node host=$nhost port=$nport
				k=$key
			else
				cp "$src/$zone.zone" "$run/"
				knot_conf "$run"
				start_knot "$run"
				cold=$secs_up
				rss=$(rss_kb "$pid")
				base=$base_knot host=$khost port=$kport
				k=hmac-sha256:bench:$ksecret
			fi
			qps=$(dnsperf -s $host -p $port -d "$src/queries" \
				-l "$secs" -c 4 -q 200 2>/dev/null |
				awk '/Queries per second/ {print $4}')
			# Knot at 10M takes longer than bench_update's timeout for
			# one UPDATE: say so and keep the run's other figures.
			"$upd" $host:$port $zone "$k" "$n_upd" >/dev/null ||
				echo "# $srv: the $n_upd UPDATEs before the crash failed" >&2
			crash
			if [ $srv = dmp-node ]; then
				start_node "$run"
			else
				start_knot "$run"
			fi
			cr=$secs_up
			# the UPDATEs survived the crash
			last=chunk-$(printf %04d $(((n_upd - 1) % 10000)))-$(printf %08x $((n_upd - 1))).$zone
			got=$(dig +short +time=2 +tries=2 -p $port @$host "$last" TXT | wc -l)
			[ "$got" -ge 1 ] || echo "# $srv: $last lost after kill -9!" >&2
			stop
			bpr=$(awk -v a="$rss" -v b="$base" -v n="$n" \
				'BEGIN {printf "%.0f", (a - b) * 1024 / n}')
			printf "%-9s %-8s %3s %8s %9.1f %7s %9s %8s\n" "$n" $srv "$r" \
				"$cold" "$(awk -v a="$rss" 'BEGIN {print a / 1024}')" \
				"$bpr" "$qps" "$cr"
			echo "$n $srv $r $cold $rss $bpr $qps $cr" >>"$results"
		done
	done
	rm -rf "$src"
done

echo
echo "ratios dmp-node/knot per run (goals: B/rec <= 1.0, cold <= 1.0," \
	"qps >= 1.0, crash <= 1.0):"
awk '{ k = $1 " " $3; if ($2 == "dmp-node") { d[k] = $0 } else { kn[k] = $0 } }
END {
	printf "%-9s %3s %7s %7s %7s %7s\n", "size", "run", "B/rec", "cold", "qps", "crash"
	for (k in d) {
		split(d[k], a, " "); split(kn[k], b, " ")
		printf "%-9s %3s %7.2f %7.2f %7.2f %7.2f\n", a[1], a[3], a[6] / b[6],
			a[4] / b[4], a[7] / b[7], a[8] / b[8]
	}
}' "$results" | sort -n -k1 -k2
