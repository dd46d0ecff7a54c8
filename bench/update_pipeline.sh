#!/usr/bin/env bash
# bench/update_pipeline.sh - acknowledged TSIG UPDATEs/s with 1, 16, 64 and
# 256 in flight (issue 19), dmp-node beside Knot DNS, both holding the same
# SIZE DMP-shaped records first (bench/scale_tool.py gen). The client
# (bench/scale_tool.py pipe) signs COUNT UPDATEs (one 241-byte chunk TXT
# add each) before the clock starts, keeps DEPTH of them outstanding over
# UDP (BENCH_TCP=1: one TCP connection) and counts NOERROR answers; an
# answer means the UPDATE is durable: dmp-node's update log is written
# O_DSYNC before it answers (default node.update_log); Knot runs with
# journal-content changes and zonefile-sync -1 (the LMDB journal is the
# durable copy, as bench/node_scale.sh). One server at a time, REPS rounds
# alternating; every run printed, then dmp-node / Knot's best depth.
# Not run by ctest.
#   bench/update_pipeline.sh [BUILD_DIR] [SIZE] [COUNT] [REPS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/release}
size=${2:-100000}
count=${3:-3000}
reps=${4:-2}
depths=${BENCH_DEPTHS:-"1 16 64 256"}
node=$build/tools/dmp-node
tool="/usr/bin/python3 $top/bench/scale_tool.py"
proto=${BENCH_TCP:+tcp}
[ -x "$node" ] || { echo "build dmp-node first ($node)" >&2; exit 1; }
command -v knotd >/dev/null || { echo "needs knotd" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/update_pipeline.XXXXXX")

. "$top/bench/scale_lib.sh"
node_yaml "$tmp/node.yaml" "${BENCH_NODE_CONF:-}"

src=$tmp/src
mkdir -p "$src"
key=$("$node" key add w.$zone --scope $zone --db "$src/node.db")
$tool gen "$src/node.db" "$src/$zone.zone" "$src/queries" $zone "$size"
qname=$(head -1 "$src/queries" | cut -d' ' -f1)

res=$tmp/res
: >"$res"
printf "%-8s %3s %5s %10s %5s %7s\n" server run depth updates/s lost refused
for r in $(seq 1 "$reps"); do
	for srv in dmp-node knot; do
		run=$tmp/run
		rm -rf "$run"
		mkdir -p "$run"
		t0=$(date +%s.%N)
		if [ $srv = dmp-node ]; then
			cp "$src/node.db" "$run/"
			"$node" -f --db "$run/node.db" --zone $zone \
				--listen $nhost:$nport -c "$tmp/node.yaml" \
				>"$run/log" 2>&1 &
			host=$nhost port=$nport k=$key
		else
			cp "$src/$zone.zone" "$run/"
			knot_conf "$run"
			knotd -c "$run/knot.conf" >"$run/log" 2>&1 &
			host=$khost port=$kport k=hmac-sha256:bench:$ksecret
		fi
		pid=$!
		$tool wait $host $port "$qname" "$t0" >/dev/null
		for d in $depths; do
			set -- $($tool pipe $host $port $zone "$k" "$d" "$count" $proto)
			printf "%-8s %3s %5s %10s %5s %7s\n" $srv "$r" "$d" "$1" "$2" "$3"
			echo "$srv $r $d $1 $2 $3" >>"$res"
		done
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		pid=
	done
done

echo
echo "dmp-node / knot's best at any depth in the same round (goal >= 1.0):"
awk '{ if ($1 == "knot") { if ($4 > best[$2]) best[$2] = $4 }
	else { d[$2 " " $3] = $4 } }
END { for (k in d) { split(k, a, " ")
	printf "run %s depth %4s: %.2f\n", a[1], a[2], d[k] / best[a[1]] } }' \
	"$res" | sort -k2n -k4n
