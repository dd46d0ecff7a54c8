#!/usr/bin/env bash
# bench/node_bench.sh - dmp-node beside Knot DNS under dnsperf, same records,
# same box. Prints queries/s for each, then acknowledged TSIG UPDATEs/s
# (one record per UPDATE over UDP as clients send them, each waiting for its
# reply; BENCH_TCP=1 for TCP), and the ratios. dmp-node runs with its
# default update log (node.update_log); BENCH_NODE_CONF adds YAML lines to
# its config, e.g. BENCH_NODE_CONF=$'node:\n  update_log: "off"'.
# Not run by ctest.
#   bench/node_bench.sh [BUILD_DIR] [SECONDS] [UPDATES]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/release}
secs=${2:-10}
n_upd=${3:-300}
node=$build/tools/dmp-node
upd=$build/bench/bench_update
[ -x "$node" ] || { echo "build dmp-node first ($node)" >&2; exit 1; }
command -v knotd >/dev/null && command -v dnsperf >/dev/null ||
	{ echo "needs knotd and dnsperf" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

zone=bench.test
n_names=200
# A chunk-sized value (241 bytes, PROTOCOL.md 1.4).
val=$(head -c 176 /dev/zero | tr '\0' 'A')
val="v=dmp1;t=chunk;d=${val}$(head -c 48 /dev/zero | tr '\0' 'B')"

# dmp-node, filled through nsupdate; no per-IP limit (dnsperf is one IP).
printf "security:\n  rate_limit: 0\n%s\n" "${BENCH_NODE_CONF:-}" >"$tmp/node.yaml"
key=$("$node" key add w.$zone --scope $zone --db "$tmp/node.db")
"$node" -f --db "$tmp/node.db" --zone $zone --listen 127.0.0.10:53530 \
	-c "$tmp/node.yaml" 2>"$tmp/node.log" &
pids+=($!)
# Ready once it answers (a new update log is written in full first).
for _ in $(seq 1 50); do
	dig +time=1 +tries=1 -p 53530 @127.0.0.10 $zone SOA >/dev/null 2>&1 &&
		break
	sleep 0.1
done
{
	echo "server 127.0.0.10 53530"
	echo "zone $zone"
	for i in $(seq 1 $n_names); do
		echo "update add chunk-$(printf %04d "$i")-abc.$zone 3600 TXT \"$val\""
		if [ $((i % 50)) -eq 0 ]; then echo send; fi
	done
	echo send
} | nsupdate -y "$key"

# Knot with the same records.
mkdir -p "$tmp/knot"
{
	echo "\$ORIGIN $zone."
	echo "@ 60 SOA ns1 hostmaster 1 3600 600 604800 60"
	echo "@ 60 NS ns1"
	for i in $(seq 1 $n_names); do
		echo "chunk-$(printf %04d "$i")-abc 60 TXT \"$val\""
	done
} >"$tmp/knot/$zone.zone"
ksecret=$(head -c 32 /dev/urandom | base64)
cat >"$tmp/knot/knot.conf" <<CONF
key:
  - id: bench
    algorithm: hmac-sha256
    secret: $ksecret
acl:
  - id: upd
    key: bench
    action: update
server:
    rundir: $tmp/knot
    listen: 127.0.0.11@53531
    udp-workers: 2
    tcp-workers: 1
    background-workers: 1
database:
    storage: $tmp/knot
log:
  - target: stderr
    any: warning
zone:
  - domain: $zone
    storage: $tmp/knot
    file: $zone.zone
    acl: upd
CONF
knotd -c "$tmp/knot/knot.conf" 2>"$tmp/knot.log" &
pids+=($!)
sleep 1

for i in $(seq 1 $n_names); do
	echo "chunk-$(printf %04d "$i")-abc.$zone TXT"
done >"$tmp/queries"
# A few misses, as real pollers make.
for i in $(seq 1 20); do echo "slot-$i.mb-none.$zone TXT"; done >>"$tmp/queries"

declare -A qps ups
for target in "dmp-node 127.0.0.10 53530" "knot 127.0.0.11 53531"; do
	set -- $target
	dig +short -p "$3" @"$2" chunk-0001-abc.$zone TXT | head -c 60
	echo
	qps[$1]=$(dnsperf -s "$2" -p "$3" -d "$tmp/queries" -l "$secs" -c 4 \
		-q 200 2>/dev/null | awk '/Queries per second/ {print $4}')
	echo "$1: ${qps[$1]} queries/s (TXT, $n_names names, UDP, ${secs}s)"
done

# Durable writes: each UPDATE acknowledged before the next is sent.
ups[dmp-node]=$("$upd" 127.0.0.10:53530 $zone "$key" "$n_upd")
echo "dmp-node: ${ups[dmp-node]} acknowledged UPDATEs/s ($n_upd, one record each)"
ups[knot]=$("$upd" 127.0.0.11:53531 $zone "hmac-sha256:bench:$ksecret" "$n_upd")
echo "knot: ${ups[knot]} acknowledged UPDATEs/s ($n_upd, one record each)"

awk -v a="${qps[dmp-node]}" -v b="${qps[knot]}" -v c="${ups[dmp-node]}" \
	-v d="${ups[knot]}" 'BEGIN {
	printf "ratio dmp-node/knot: queries %.2fx (goal >= 1.0), ", a / b
	printf "updates %.1fx (goal >= 20)\n", c / d }'
