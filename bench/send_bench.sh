#!/usr/bin/env bash
# Durable sends per second and fsyncs per message through one local
# dmp-node (not a test), for one or more builds side by side:
#   bench/send_bench.sh [COUNT] BUILD_DIR [BUILD_DIR...]
# e.g. bench/send_bench.sh 300 build/base build/release
# Each build needs bench_send (bench/bench_send.c; for an older tree copy
# the file into its bench/ and build the target). For each build and
# batch size (1, 16): the fsync/fdatasync/msync/sync_file_range counts of
# the client process under `strace -f -c`, and its fcntl (sqlite's locks;
# a COUNT-0 run, the set-up
# alone, subtracted; divided by COUNT), then three timed runs without
# strace, alternating builds; every run is printed. Each run has its own
# dmp-node (127.0.0.78:5378, fresh database, rate limiting off) whose own
# fsyncs are not counted: they are the node's, the same in every build.
# BENCH_DELAY=off in the environment turns the sender's publish delay off
# (privacy.delay, one random wait per publish pass, mean 200 ms): the send
# path alone; unset, the defaults.
set -euo pipefail
count=${1:-300}
shift
[ $# -ge 1 ] || { echo "usage: $0 [COUNT] BUILD_DIR..." >&2; exit 2; }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cat >"$tmp/node.yaml" <<YAML
security:
  rate_limit: 0
node:
  log_level: warning
YAML
start_node() { # BUILD -> sets ka kb pid
	local node="$1/tools/dmp-node"
	[ -n "$pid" ] && { kill "$pid"; wait "$pid" 2>/dev/null || true; }
	rm -f "$tmp"/node.db*
	ka=$("$node" -c "$tmp/node.yaml" key add alice.mesh.test --scope mesh.test --db "$tmp/node.db")
	kb=$("$node" -c "$tmp/node.yaml" key add bob.mesh.test --scope mesh.test --db "$tmp/node.db")
	"$node" -f -c "$tmp/node.yaml" --db "$tmp/node.db" --listen 127.0.0.78:5378 \
		--zone mesh.test >"$tmp/node.log" 2>&1 &
	pid=$!
	sleep 1
}
syncs() { # strace -c output -> "fsync fdatasync other fcntl"
	awk '$NF=="fsync"{f=$4} $NF=="fdatasync"{d=$4} $NF=="fcntl"{l=$4}
	     $NF=="msync"||$NF=="sync_file_range"{o+=$4}
	     END{print f+0, d+0, o+0, l+0}' "$1"
}
export BENCH_DELAY=${BENCH_DELAY:-}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores, COUNT=$count," \
	"privacy.delay ${BENCH_DELAY:-default}"
for b in "$@"; do
	for batch in 1 16; do
		for n in 0 "$count"; do
			start_node "$b"
			strace -f -c -o "$tmp/st.$n" \
				-e trace=fsync,fdatasync,msync,sync_file_range,fcntl \
				"$b/bench/bench_send" 127.0.0.78:5378 "$ka" "$kb" "$n" "$batch" >/dev/null
		done
		read -r f0 d0 o0 l0 < <(syncs "$tmp/st.0")
		read -r f1 d1 o1 l1 < <(syncs "$tmp/st.$count")
		awk -v b="$b" -v k="$batch" -v n="$count" -v f="$((f1 - f0))" \
			-v d="$((d1 - d0))" -v o="$((o1 - o0))" -v l="$((l1 - l0))" 'BEGIN{
			printf "%-16s batch %2d: per message %.2f fsync + %.2f fdatasync + %.2f other = %.2f; %.1f fcntl\n",
				b, k, f/n, d/n, o/n, (f+d+o)/n, l/n }'
	done
done
for run in 1 2 3; do
	for b in "$@"; do
		for batch in 1 16; do
			start_node "$b"
			printf '%-16s run %d: ' "$b" "$run"
			"$b/bench/bench_send" 127.0.0.78:5378 "$ka" "$kb" "$count" "$batch" 1
		done
	done
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
