# bench/scale_lib.sh - shared by bench/node_scale.sh and
# bench/update_pipeline.sh (sourced, not run): the servers' addresses, the
# node's config and Knot's, and the clean-up of $tmp (the sourcing script
# makes it) and of the server in $pid. Not run by ctest.

pid=
scale_cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap scale_cleanup EXIT

zone=scale.test
# Outside 127.0.0.2-250, where the black-box tests draw their hosts.
nhost=127.0.0.251 nport=53540
khost=127.0.0.252 kport=53541
ksecret=$(head -c 32 /dev/urandom | base64)

# node_yaml FILE [EXTRA]: no per-IP limit (dnsperf is one address); store
# budgets above 1M records (at the 256 MiB default a 1M-record store
# refuses every UPDATE).
node_yaml() {
	printf "security:\n  rate_limit: 0\nlimits:\n  store_bytes: 68719476736\n  store_values: 100000000\n%s\n" \
		"${2:-}" >"$1"
}

# knot_conf DIR: Knot with the zone file DIR/$zone.zone, UPDATEs under the
# key bench; the LMDB journal is the durable copy of UPDATEs (changes,
# never flushed to the zone file), as dmp-node's update log.
knot_conf() {
	cat >"$1/knot.conf" <<CONF
key:
  - id: bench
    algorithm: hmac-sha256
    secret: $ksecret
acl:
  - id: upd
    key: bench
    action: update
server:
    rundir: $1
    listen: $khost@$kport
    udp-workers: 2
    tcp-workers: 1
    background-workers: 1
database:
    storage: $1
log:
  - target: stderr
    any: warning
template:
  - id: default
    journal-content: changes
    zonefile-sync: -1
    semantic-checks: off
zone:
  - domain: $zone
    storage: $1
    file: $zone.zone
    acl: upd
CONF
}
