"""Forwarding at relays (docs/protocol.md 8.7.5, DMP-RELAY/1 draft): three
dmp-nodes on loopback in a line A - B - C with relay on, link_interval
1 s; C serves mesh.test with bob's mailbox registered. A fourth node X
(mesh.test, no mesh) is where alice writes a message to bob with the real
`dmp` CLI; the test reads its records from X (AXFR), builds the bundle and
POSTs it to A: 202, forwarded A -> B -> C, stored at C in 2 hops, and bob
receives it from C. The same again: 208 at A, stored once. A forged
bundle: 403 at A and B receives nothing. A zone nobody serves: flooded
to the end of the line and held there, at C (8.7.6: the network may
heal). B stopped (SIGSTOP): A's forward waits on B on A's forwarder
thread while A's HTTP side answers /metrics and GET /v1/mesh in well
under a second; then A holds the bundle and delivers it once B is back.
C killed (SIGKILL): a new bundle posted to A is 202, held at B; B's hold
is full (mesh.relay_hold_bundles 1): 507; B killed and restarted: still
held (durable); C back: B delivers it and bob reads it from C. Every
wait is bounded."""
import signal
import threading
import time

from cli_helpers import wait_keys, ZONE
from conftest import stop_and_check
from mesh_helpers import (alice_to_bob, inbox_at, mesh_line,
                          message_records)
from test_mesh_links import mesh, route, wait_until
from test_mesh_relay_dest import bundle, flip_chunk, make, metric, post

ZONES = ("la.test", "lb.test", ZONE)


def received(n):
    """Sum of dmp_relay_received_total over its results."""
    return sum(metric(n, 'dmp_relay_received_total{result="%s"}' % r) or 0
               for r in ("stored", "forwarded", "duplicate", "bad_request",
                         "refused", "too_large", "rate_limited", "no_route",
                         "full", "error"))


def metric_or_none(n, line):
    """metric(), None while the node's HTTP side is not up yet."""
    try:
        return metric(n, line)
    except OSError:
        return None


def bob_inbox(bob):
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    return bob.maildir("inbox")


def test_forward_line(tmp_path):
    x = make(tmp_path, "x", "")
    a, b, c = mesh_line(tmp_path, ZONES,
                        "security:\n  http_rate_limit: 0\n")
    nodes = [x, a, b, c]
    # B holds one bundle at most (the bound below).
    cfg = b.tmp / "node.yaml"
    cfg.write_text(cfg.read_text().replace(
        "mesh:\n", "mesh:\n  relay_hold_bundles: 1\n", 1))
    try:
        t0 = time.time()
        for n in nodes:
            n.start()
        alice, bob, records = alice_to_bob(tmp_path, x, b"over two relays")
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
        assert inbox_at(bob, x, c) == [b"over two relays"]

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

        # A zone nobody serves: flooded A -> B -> C (budget 5, 4, 3), C has
        # no neighbour left: C holds it (a route may appear), 202 passed
        # back, each hop naming its next.
        other = [dict(r, name=r["name"].replace(ZONE, "other.test"))
                 for r in records]
        st, js, _ = post(a, bundle(other, zone="other.test"))
        assert st == 202 and b.endpoint in js["reason"], js
        assert "held at %s: no route" % c.endpoint in js["reason"], js
        assert metric(c, "dmp_relay_held") == 1
        assert metric(c, 'dmp_relay_received_total{result="held"}') == 1
        assert metric(c, 'dmp_relay_dropped_total{reason="no_route"}') == 0
        assert metric(a, 'dmp_relay_forwarded_total{mode="flood"}') == 1

        # B stopped: its socket still accepts, nobody answers. A's
        # forward waits (3 s) on its forwarder thread; A's HTTP side
        # answers meanwhile.
        r = alice.send("bob", b"while B sleeps")
        assert r.returncode == 0, r.stderr_text
        sleepy = [r for r in message_records(x) if r not in records]
        out = {}
        b.proc.send_signal(signal.SIGSTOP)
        try:
            th = threading.Thread(
                target=lambda: out.update(r=post(a, bundle(sleepy))))
            th.start()
            time.sleep(0.5)  # the POST now waits on B
            t2 = time.time()
            assert metric(a, "dmp_relay_stored_total") == 0
            assert mesh(a)["links"]
            t_side = time.time() - t2
            pending = th.is_alive()
            th.join(15)
        finally:
            b.proc.send_signal(signal.SIGCONT)
        assert pending, "the forward to a stopped B did not wait"
        assert t_side < 1.0, "A's HTTP side took %.2f s" % t_side
        st, js, _ = out["r"]
        assert st == 202 and js.get("held") is True, js
        assert "held at %s: next hop %s does not answer" % (
            a.endpoint, b.endpoint) in js["reason"], js
        assert metric(a, "dmp_relay_held") == 1
        # B is back: A delivers (link up, else the 5 s retry).
        wait_until(lambda: metric(a, "dmp_relay_hold_delivered_total") == 1,
                   "A's delivery of the held bundle", 15)
        assert metric(a, "dmp_relay_held") == 0
        assert metric(c, "dmp_relay_stored_total") == 2

        # C killed: a new message's bundle is 202 at A, held at B.
        c.stop(sig=9)
        r = alice.send("bob", b"nobody home")
        assert r.returncode == 0, r.stderr_text
        seen = records + sleepy
        fresh = [r for r in message_records(x) if r not in seen]
        assert fresh, "no new records at X"
        st, js, _ = post(a, bundle(fresh))
        assert st == 202 and "held at %s" % b.endpoint in js["reason"], js
        assert metric(b, "dmp_relay_held") == 1
        assert metric(b, "dmp_relay_held_bytes") > 0
        held = mesh(b)
        assert held["held"] == 1 and held["hold"][0]["id"] == bundle(
            fresh)["id"], held

        # B's hold is full (relay_hold_bundles 1): 507, nothing evicted.
        r = alice.send("bob", b"no room")
        assert r.returncode == 0, r.stderr_text
        third = [r for r in message_records(x)
                 if r not in seen and r not in fresh]
        # As if from A (A in path), so that B cannot flood it back to A.
        body3 = dict(bundle(third), hops=1, path=[mesh(a)["key"]])
        st, js, _ = post(b, body3)
        assert st == 507 and "relay_hold_bundles" in js["reason"], js
        assert metric(b, 'dmp_relay_dropped_total{reason="hold_full"}') == 1
        assert metric(b, "dmp_relay_held") == 1

        # B killed and restarted while C is down: still held.
        b.stop(sig=9)
        b.start()
        wait_until(lambda: metric_or_none(b, "dmp_relay_held") == 1,
                   "B's hold after a restart", 10)

        # C back: B delivers within a few link intervals.
        t3 = time.time()
        c.start()
        wait_until(lambda: metric(b, "dmp_relay_hold_delivered_total") == 1,
                   "B's delivery to C", 20)
        t_heal = time.time() - t3
        assert metric(b, "dmp_relay_held") == 0
        assert b"nobody home" in [m for _, m in bob_inbox(bob)]
        print("route after %.1f s, forward A->B->C %.0f ms, A's HTTP side "
              "during a stalled forward %.0f ms, held bundle delivered "
              "%.1f s after C restarted, total %.1f s"
              % (t_route, t_fwd * 1000, t_side * 1000, t_heal,
                 time.time() - t0))
    finally:
        stop_and_check(nodes)
