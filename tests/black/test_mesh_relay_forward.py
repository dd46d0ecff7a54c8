"""Forwarding at relays (docs/protocol.md 8.7.5, DMP-RELAY/1 draft): three
dmp-nodes on loopback in a line A - B - C with relay on, link_interval
1 s; C serves mesh.test with bob's mailbox registered. A fourth node X
(mesh.test, no mesh) is where alice writes a message to bob with the real
`dmp` CLI; the test reads its records from X (AXFR), builds the bundle and
POSTs it to A: 202, forwarded A -> B -> C, stored at C in 2 hops, and bob
receives it from C. The same again: 208 at A, stored once. A forged
bundle: 403 at A and B receives nothing. C killed: a new bundle posted to
A is 503 naming the next hop, B. Every wait is bounded."""
import time

import pytest

from cli_helpers import User, wait_keys, ZONE
from conftest import Node, free_addr, stop_and_check
from test_mesh_links import route, wait_until
from test_mesh_relay_dest import (bundle, flip_chunk, make, message_records,
                                  metric, post)

pytest.importorskip("dns.query", reason="dnspython is not installed")

ZONES = ("la.test", "lb.test", ZONE)


def mesh_line(tmp_path):
    """A - B - C, C serving ZONE (conftest.Node, relay on)."""
    nodes = []
    for i, zone in enumerate(ZONES):
        d = tmp_path / ("n%d" % i)
        d.mkdir()
        n = Node(d, zones=(zone,))
        n.http = "%s:%d" % free_addr()
        n.endpoint = n.url = "http://" + n.http
        nodes.append(n)
    nbrs = {0: [1], 1: [0, 2], 2: [1]}
    for i, n in enumerate(nodes):
        cfg = ("network:\n"
               "  http: %s\n"
               "security:\n"
               "  http_rate_limit: 0\n"
               "mesh:\n"
               "  endpoint: %s\n"
               "  operator_key: %s\n"
               "  heartbeat_allow_loopback: true\n"
               "  heartbeat_interval: 60\n"
               "  relay_enabled: true\n"
               "  link_interval: 1\n"
               "  neighbours: [%s]\n" % (
                   n.http, n.endpoint, n.tmp / "operator.key",
                   ", ".join('"%s"' % nodes[j].endpoint for j in nbrs[i])))
        (n.tmp / "node.yaml").write_text(cfg)
        n.extra += ["-c", str(n.tmp / "node.yaml")]
    return nodes


def received(n):
    """Sum of dmp_relay_received_total over its results."""
    return sum(metric(n, 'dmp_relay_received_total{result="%s"}' % r) or 0
               for r in ("stored", "forwarded", "duplicate", "bad_request",
                         "refused", "too_large", "rate_limited", "no_route",
                         "full", "error"))


def test_forward_line(tmp_path):
    x = make(tmp_path, "x", "")
    a, b, c = mesh_line(tmp_path)
    nodes = [x, a, b, c]
    try:
        t0 = time.time()
        for n in nodes:
            n.start()
        alice = User(tmp_path, "alice", x)
        bob = User(tmp_path, "bob", x)
        wait_keys()
        alice.publish()
        bob.publish()
        alice.add_contact(bob)
        bob.add_contact(alice)
        alice.set_config("privacy.delay", "off")
        r = alice.send("bob", b"over two relays")
        assert r.returncode == 0, r.stderr_text
        records = message_records(x)
        body = bundle(records)
        slot = next(r["name"] for r in records
                    if r["name"].startswith("slot-"))
        c.add_key("bob-reg.%s" % ZONE, "%s.%s" % (slot.split(".")[1], ZONE))
        wait_keys()
        wait_until(lambda: (route(a, ZONE) or {}).get("hops") == 2,
                   "A's route to %s" % ZONE, 12)
        t_route = time.time() - t0

        # Forwarded A -> B -> C and stored at C in 2 hops.
        t1 = time.time()
        st, js, _ = post(a, body)
        t_fwd = time.time() - t1
        assert st == 202, js
        assert js["hops"] == 2 and js["id"] == body["id"], js
        assert b.endpoint in js["reason"], js
        assert metric(c, "dmp_relay_stored_total") == 1
        assert metric(a, 'dmp_relay_forwarded_total{mode="path"}') == 1
        assert metric(b, 'dmp_relay_forwarded_total{mode="path"}') == 1
        assert metric(c, 'dmp_relay_received_total{result="stored"}') == 1
        assert c.dig("+short", "TXT", slot), "the manifest is not at C"
        assert not b.dig("+short", "TXT", slot)

        # bob reads the message from C.
        cfg = bob.home + "/config.yaml"
        text = open(cfg).read()
        old = "%s:%d" % (x.host, x.port)
        assert old in text
        open(cfg, "w").write(text.replace(old, "%s:%d" % (c.host, c.port)))
        r = bob.recv()
        assert r.returncode == 0, r.stderr_text
        assert [m for _, m in bob.maildir("inbox")] == [b"over two relays"]

        # Again: 208 (A remembers what it forwarded), stored once.
        b_before = received(b)
        st, js, _ = post(a, body)
        assert st == 208 and js["id"] == body["id"], js
        assert received(b) == b_before
        assert metric(c, "dmp_relay_stored_total") == 1

        # Forged: 403 at A, nothing reaches B.
        bad, i = flip_chunk(records)
        st, js, _ = post(a, bundle(bad))
        assert st == 403 and "records[%d]" % i in js["reason"], js
        assert received(b) == b_before
        assert metric(a, 'dmp_relay_dropped_total{reason="verify"}') == 1

        # C killed: a new message's bundle is 503 at A, naming B.
        c.stop(sig=9)
        r = alice.send("bob", b"nobody home")
        assert r.returncode == 0, r.stderr_text
        fresh = [r for r in message_records(x) if r not in records]
        assert fresh, "no new records at X"
        st, js, _ = post(a, bundle(fresh))
        assert st == 503 and b.endpoint in js["reason"], js
        assert metric(a, 'dmp_relay_forwarded_total{mode="path"}') == 1
        print("route after %.1f s, forward A->B->C %.0f ms, total %.1f s"
              % (t_route, t_fwd * 1000, time.time() - t0))
    finally:
        stop_and_check(nodes)
