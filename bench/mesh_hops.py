"""bench/mesh_hops.py - DMP-RELAY/1 by hop count (issue 16), driven by
bench/mesh_hops.sh (root; network namespaces). Not run by ctest.

Five dmp-nodes A..E in a line of namespaces (tests/black/netns_mesh.py,
IP forwarding off), relay on, link_interval 1 s, the per-source and
per-sender relay limits opened wide (this measures the relays, not their
rate limits), relay_accept any. alice writes N messages to bob at E
(`dmp send`, direct); their manifests and chunks, renamed into the zone
of the node h hops from A (names are not signed, docs/protocol.md
8.7.1), make N bundles per hop count. For h = 0 (POST to the destination
itself: the direct baseline) .. 4, each bundle is POSTed to A one after
the other, and its reply waited for: the forwarding is synchronous, so the
reply comes once the destination stored it (checked on its
dmp_relay_stored_total). Printed per bundle: latency; per hop count:
median, p90, mean, bytes sent on the veth links per bundle (`ip -s -j
link`, frames with headers, minus the idle probe traffic measured before)
and the ratios. Then relay throughput: C also serves c1..c7.test, the
bundles renamed into those 7 zones are POSTed to A by CLIENTS
concurrent clients (threads), A forwards to B, B to C; bundles/s
forwarded by B (its dmp_relay_forwarded_total over the wall time).

    bench/mesh_hops.sh [-n N] [-c CLIENTS] [BUILD_DIR]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import pathlib
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "tests", "black"))

import netns_mesh  # noqa: E402

C_ZONES = ("c.test",) + tuple("c%d.test" % k for k in range(1, 8))
LIMITS = ("  relay_accept: any\n  relay_source_rate: 100000\n"
          "  relay_source_burst: 1000000\n  relay_sender_rate: 100000\n"
          "  relay_sender_burst: 1000000\n"
          "  relay_sender_bytes: 1099511627776\n")
EXTRA = ("limits:\n  foreign_values: 4095\n"
         "  foreign_bytes: 60000\n")


def log(*a):
    print(*a, flush=True)


def messages(tmp, m, e, n):
    """alice sends @n messages to bob at node @e (in its namespace);
    @return [[(name, value)] of each message's manifest and chunks]"""
    from mesh_helpers import ns_users
    alice, _ = ns_users(tmp, m, e)
    t0 = time.time()
    for k in range(n):
        r = alice.send("bob", b"bench message %d " % k + os.urandom(8).hex()
                       .encode())
        if r.returncode != 0:
            raise RuntimeError("dmp send failed: %s" % r.stderr_text)
    log("made %d messages with dmp send in %.1f s" % (n, time.time() - t0))
    out = []
    with alice.db() as c:
        for (oid,) in c.execute("SELECT id FROM outbox ORDER BY id"):
            rows = c.execute("SELECT name, value FROM outbox_record WHERE "
                             "outbox_id = ? ORDER BY seq", (oid,)).fetchall()
            recs = [(nm, v) for nm, v in rows
                    if nm.startswith(("slot-", "chunk-"))]
            if recs:
                out.append(recs)
    if len(out) != n:
        raise RuntimeError("%d messages in alice's outbox, not %d" % (
            len(out), n))
    return out


def bundle_for(recs, src, zone):
    from test_mesh_relay_dest import bundle
    tail = "." + src
    return bundle([{"name": nm[:-len(tail)] + "." + zone, "value": v,
                    "ttl": 3600} for nm, v in recs], zone=zone)


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def idle_rate(m, secs=3.0):
    b0, t0 = m.wire_bytes(), time.time()
    time.sleep(secs)
    return (m.wire_bytes() - b0) / (time.time() - t0)


def by_hops(m, nodes, msgs, src):
    from test_mesh_relay_dest import metric, post
    a = nodes[0]
    idle = idle_rate(m)
    log("idle probe traffic: %.0f bytes/s on the 4 links" % idle)
    rows = []
    for h in range(5):
        dest = nodes[h]
        lat = []
        stored0 = dest.at(metric, "dmp_relay_stored_total")
        b0, t0 = m.wire_bytes(), time.time()
        for k, recs in enumerate(msgs):
            body = bundle_for(recs, src, dest.zone)
            t1 = time.perf_counter()
            st, js, _ = a.at(post, body)
            lat.append((time.perf_counter() - t1) * 1000)
            want = 200 if h == 0 else 202
            if st != want or js["hops"] != h:
                raise RuntimeError("h=%d bundle %d: %d %s" % (h, k, st, js))
        wall = time.time() - t0
        raw = m.wire_bytes() - b0
        stored = dest.at(metric, "dmp_relay_stored_total") - stored0
        if stored != len(msgs):
            raise RuntimeError("h=%d: %d stored at %s, not %d" % (
                h, stored, dest.zone, len(msgs)))
        net = (raw - idle * wall) / len(msgs)
        log("h=%d runs (ms): %s" % (h, " ".join("%.1f" % x for x in lat)))
        rows.append((h, statistics.median(lat), pct(lat, 0.9),
                     statistics.mean(lat), raw / len(msgs), net,
                     len(json_bytes(body))))
    base = rows[0]
    log("\nThe client POSTs from A's namespace to A, so h = 0 puts nothing "
        "on the links;\nwire = bytes sent on the veth links per bundle "
        "(raw; net = minus the idle probes),\nper hop = net / h, "
        "x_body = per hop / the JSON body's bytes.")
    log("hops  median_ms  p90_ms  mean_ms  x_median  wire_raw  wire_net  "
        "per_hop  body_B  x_body")
    for h, med, p90, mean, raw, net, blen in rows:
        hop = net / h if h else 0.0
        log("%4d  %9.1f  %6.1f  %7.1f  %8.2f  %8.0f  %8.0f  %7.0f  %6d  "
            "%6.2f" % (h, med, p90, mean, med / base[1], raw, net, hop,
                       blen, hop / blen))


def json_bytes(body):
    import json
    return json.dumps(body).encode()


def throughput(m, nodes, msgs, src, clients):
    from test_mesh_relay_dest import metric, post
    a, b = nodes[0], nodes[1]
    # c.test's bundles went through in by_hops(): 208 now.
    bodies = [bundle_for(recs, src, z) for z in C_ZONES[1:] for recs in msgs]
    f0 = b.at(metric, 'dmp_relay_forwarded_total{mode="path"}')
    errors = []
    lock = threading.Lock()
    todo = list(bodies)

    def client():
        while True:
            with lock:
                if not todo or errors:
                    return
                body = todo.pop()
            st, js, _ = a.at(post, body)
            if st != 202:
                with lock:
                    errors.append((st, js))
    t0 = time.time()
    th = [threading.Thread(target=client) for _ in range(clients)]
    for t in th:
        t.start()
    for t in th:
        t.join(timeout=120)
    wall = time.time() - t0
    if errors or any(t.is_alive() for t in th):
        raise RuntimeError("throughput run failed: %s" % errors[:3])
    fwd = b.at(metric, 'dmp_relay_forwarded_total{mode="path"}') - f0
    log("\nthroughput: %d bundles to C's zones c1..c7, %d clients posting "
        "to A:"
        " B forwarded %d in %.2f s = %.1f bundles/s" % (
            len(bodies), clients, fwd, wall, fwd / wall))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=20, help="messages per hop count")
    ap.add_argument("-c", type=int, default=4, help="concurrent clients")
    ap.add_argument("build", nargs="?",
                    default=os.path.join(TOP, "build", "release"))
    args = ap.parse_args()
    if not 1 <= args.n <= 200 or not 1 <= args.c <= 32:
        sys.exit("-n is 1..200 and -c 1..32")
    os.environ["DMP_BUILD_DIR"] = os.path.abspath(args.build)
    why = netns_mesh.skip_reason()
    if why:
        log("skipped:", why)
        sys.exit(77)
    from conftest import stop_and_check
    from mesh_helpers import mesh_netns
    from test_mesh_links import route
    log("command: %s" % " ".join(sys.argv))
    log("machine: %d cores, load %s" % (
        os.cpu_count(), " ".join("%.2f" % x for x in os.getloadavg())))
    t_all = time.time()
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="mesh_hops."))
    with netns_mesh.Mesh(5, "line") as m:
        zones = [("%s.test" % x,) for x in m.names]
        zones[2] = C_ZONES
        nodes = mesh_netns(tmp, m, EXTRA, zones, LIMITS)
        try:
            for n in nodes:
                n.start()
            msgs = messages(tmp, m, nodes[4], args.n)
            deadline = time.time() + 30
            while (nodes[0].at(route, "e.test") or {}).get("hops") != 4:
                if time.time() > deadline:
                    raise RuntimeError("A has no 4-hop route to e.test")
                time.sleep(0.2)
            by_hops(m, nodes, msgs, nodes[4].zone)
            throughput(m, nodes, msgs, nodes[4].zone, args.c)
        finally:
            stop_and_check(nodes)
    shutil.rmtree(tmp, ignore_errors=True)
    log("total %.1f s" % (time.time() - t_all))


if __name__ == "__main__":
    main()
