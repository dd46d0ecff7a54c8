#!/usr/bin/env bash
# bench/node_cpu.sh BUILD_DIR [PORT] - dmp-node queries per server CPU-second
# under dnsperf (the node's utime+stime from /proc over a 5 s run; same
# 200 chunk-sized names as node_bench.sh). Not run by ctest; loopback only.
set -euo pipefail
b=${1:?usage: node_cpu.sh BUILD_DIR [PORT]}; port=${2:-53600}
tmp=$(mktemp -d); zone=bench.test
node=$b/tools/dmp-node
val=$(head -c 176 /dev/zero | tr '\0' 'A'); val="v=dmp1;t=chunk;d=${val}$(head -c 48 /dev/zero | tr '\0' 'B')"
printf "security:\n  rate_limit: 0\n" >"$tmp/node.yaml"
key=$("$node" key add w.$zone --scope $zone --db "$tmp/node.db")
"$node" -f --db "$tmp/node.db" --zone $zone --listen 127.0.0.12:$port -c "$tmp/node.yaml" 2>"$tmp/node.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 1 50); do dig +time=1 +tries=1 -p $port @127.0.0.12 $zone SOA >/dev/null 2>&1 && break; sleep 0.1; done
{ echo "server 127.0.0.12 $port"; echo "zone $zone"; for i in $(seq 1 200); do echo "update add chunk-$(printf %04d "$i")-abc.$zone 3600 TXT \"$val\""; [ $((i % 50)) -eq 0 ] && echo send; done; echo send; } | nsupdate -y "$key"
for i in $(seq 1 200); do echo "chunk-$(printf %04d "$i")-abc.$zone TXT"; done >"$tmp/q"
for i in $(seq 1 20); do echo "slot-$i.mb-none.$zone TXT"; done >>"$tmp/q"
cpu() { awk '{print $14+$15}' /proc/$pid/stat; }
c0=$(cpu)
n=$(dnsperf -s 127.0.0.12 -p $port -d "$tmp/q" -l 5 -c 4 -q 200 2>/dev/null | awk '/Queries completed/{print $3}')
c1=$(cpu)
ticks=$(getconf CLK_TCK)
echo "$b: $n queries, $((c1 - c0)) ticks, $((n * ticks / (c1 - c0))) queries per server CPU-second"
