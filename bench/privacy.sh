#!/usr/bin/env bash
# Latency and throughput with the privacy defaults against privacy off
# (issue 17, docs/security.md 5.1), side by side, through one local
# dmp-node (not a test):
#   bench/privacy.sh [COUNT] [BUILD_DIR]     (defaults: 20, build/release)
# For each mode (defaults: pad_buckets 4,8,16,32 and an exponential publish
# delay of mean 200 ms bounded at 1 s; off: no padding, no delay) alice
# sends COUNT messages of 100..3000 bytes one by one with `dmp send`
# (each timed: unlock, submit, delay, publish), then bob receives them all
# with one `dmp recv` (timed). Printed per mode: send latency p50/p95/mean,
# messages a second, the receive pass, chunk records stored on the node
# and their bytes. The same bodies are sent in both modes. Each mode has
# its own dmp-node (127.0.0.79:5379, fresh database, rate limiting off).
set -euo pipefail
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
fi
count=${1:-20}
build=${2:-build/release}
dmp="$build/tools/dmp"
node="$build/tools/dmp-node"
[ -x "$dmp" ] && [ -x "$node" ] || { echo "$0: build $build first" >&2; exit 2; }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cat >"$tmp/node.yaml" <<YAML
security:
  rate_limit: 0
node:
  log_level: warning
YAML
export DMP_PASSPHRASE=bench-privacy-horse
for i in $(seq 1 "$count"); do
	head -c $((100 + (i * 2903) % 2900)) /dev/urandom | base64 -w 76 >"$tmp/body.$i"
done
now_ms() { date +%s%3N; }

run_mode() { # MODE -> one line of figures
	local mode=$1 ka kb t0 t1 lat=() total=0
	[ -n "$pid" ] && { kill "$pid"; wait "$pid" 2>/dev/null || true; }
	rm -rf "$tmp"/node.db* "$tmp/alice" "$tmp/bob"
	ka=$("$node" -c "$tmp/node.yaml" key add alice.mesh.test --scope mesh.test --db "$tmp/node.db")
	kb=$("$node" -c "$tmp/node.yaml" key add bob.mesh.test --scope mesh.test --db "$tmp/node.db")
	"$node" -f -c "$tmp/node.yaml" --db "$tmp/node.db" --listen 127.0.0.79:5379 \
		--zone mesh.test >"$tmp/node.log" 2>&1 &
	pid=$!
	sleep 1
	echo "$ka" | "$dmp" --home "$tmp/alice" init alice --domain mesh.test \
		--node 127.0.0.79:5379 --tsig - >/dev/null
	echo "$kb" | "$dmp" --home "$tmp/bob" init bob --domain mesh.test \
		--node 127.0.0.79:5379 --tsig - >/dev/null
	"$dmp" --home "$tmp/bob" identity publish >/dev/null
	"$dmp" --home "$tmp/alice" identity publish >/dev/null
	"$dmp" --home "$tmp/alice" contacts add bob@mesh.test >/dev/null
	"$dmp" --home "$tmp/bob" contacts add alice@mesh.test >/dev/null
	if [ "$mode" = off ]; then
		"$dmp" --home "$tmp/alice" config set privacy.pad_buckets off >/dev/null
		"$dmp" --home "$tmp/alice" config set privacy.delay off >/dev/null
	fi
	for i in $(seq 1 "$count"); do
		t0=$(now_ms)
		"$dmp" --home "$tmp/alice" send bob "$tmp/body.$i" >/dev/null
		t1=$(now_ms)
		lat+=($((t1 - t0)))
		total=$((total + t1 - t0))
	done
	t0=$(now_ms)
	"$dmp" --home "$tmp/bob" recv >/dev/null 2>&1 || true
	t1=$(now_ms)
	got=$(ls "$tmp/bob/mail/inbox/new" 2>/dev/null | wc -l)
	read -r chunks bytes < <(sqlite3 "$tmp/node.db" \
		"select count(*), sum(length(value)) from records where name like 'chunk-%';" \
		2>/dev/null | tr '|' ' ' || echo "? ?")
	printf '%s\n' "${lat[@]}" | sort -n | awk -v m="$mode" -v tot="$total" \
		-v n="$count" -v recv="$((t1 - t0))" -v got="$got" \
		-v ch="${chunks:-?}" -v by="${bytes:-?}" '
		{ v[NR] = $1 }
		END { printf "%-8s send p50 %5d ms  p95 %5d ms  mean %5d ms  %5.2f msg/s | recv %d msgs in %d ms | node: %s chunks, %s bytes\n",
			m, v[int((NR + 1) / 2)], v[int(NR * 0.95 + 0.999)], tot / n,
			n * 1000 / tot, got, recv, ch, by }'
}

echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, COUNT=$count, build $build"
for run in 1 2; do
	run_mode defaults
	run_mode off
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
