#!/usr/bin/env bash
# End-to-end figures through one local dmp-node (not a test):
#   bench/engine_bench.sh [BUILD_DIR] [COUNT]
# Starts dmp-node on 127.0.0.77 with a fresh database, rate limiting off,
# adds TSIG keys for alice and bob and runs bench_engine.
set -euo pipefail
build=${1:-build/release}
count=${2:-200}
tmp=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
cat >"$tmp/node.yaml" <<YAML
security:
  rate_limit: 0
node:
  log_level: warning
YAML
node="$build/tools/dmp-node"
ka=$("$node" -c "$tmp/node.yaml" key add alice.mesh.test --scope mesh.test --db "$tmp/node.db")
kb=$("$node" -c "$tmp/node.yaml" key add bob.mesh.test --scope mesh.test --db "$tmp/node.db")
"$node" -f -c "$tmp/node.yaml" --db "$tmp/node.db" --listen 127.0.0.77:5377 \
	--zone mesh.test >"$tmp/node.log" 2>&1 &
pid=$!
sleep 1
"$build/bench/bench_engine" 127.0.0.77:5377 "$ka" "$kb" "$count"
