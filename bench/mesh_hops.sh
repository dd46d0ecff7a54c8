#!/usr/bin/env bash
# bench/mesh_hops.sh - DMP-RELAY/1 by hop count (issue 16): latency and
# bytes on the wire per bundle for 0 (direct) .. 4 relay hops in a line of
# five dmp-nodes in network namespaces, then the bundles/s one relay (B)
# forwards with several concurrent clients posting to A. The whole method
# is in bench/mesh_hops.py. Needs root (ip netns), a Release build, and
# takes about a minute (bounded: set-up 30 s, each POST 10 s, the
# throughput run 120 s). Not run by ctest.
#   sudo bench/mesh_hops.sh [-n MESSAGES] [-c CLIENTS] [BUILD_DIR]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
exec timeout 300 /usr/bin/python3 "$top/bench/mesh_hops.py" "$@"
