"""DMP-RELAY/1 across network namespaces (docs/protocol.md 8.7.10, issue
16): five dmp-nodes A..E, one per namespace of tests/black/netns_mesh.py,
joined by veth /30s with IP forwarding off, so a node reaches its
neighbours only and anything further must be relayed. Each node serves
its own zone (a.test .. e.test), relay on, link_interval 1 s, its
neighbours named relay-<x>.test (each namespace's /etc/hosts gives the
address of the link that leads there).

Line A-B-C-D-E: alice and bob live at E; alice's `dmp` runs in A's
namespace, where E does not answer, with network.relays = A: the message
goes A -> B -> C -> D -> E (hops 4, one forward per relay, stored once at
E) and bob reads it at E, verified. A forged bundle is 403 at A and B
sees nothing; a flood with max_hops 2 makes at most 2 transmissions. E
down: held at D (docs/protocol.md 8.7.6). Ring A-B-C-D-E-A: alice and bob at C, route A -> B -> C;
A-B cut: A routes through E and D within a few link intervals (the time
is printed) and a new message arrives that way; restored: back via B.

Needs root and ip netns (skipped saying why otherwise). Every wait is
bounded."""
import hashlib
import time
import urllib.request

import pytest

import netns_mesh
from cli_helpers import dmp_binary, wait_keys
from conftest import stop_and_check
from mesh_helpers import mesh_netns, message_records, ns_users, ns_wrapper
from test_mesh_links import route, wait_until
from test_mesh_relay_dest import bundle, flip_chunk, metric, post

WHY = netns_mesh.skip_reason()
pytestmark = pytest.mark.skipif(WHY is not None, reason=str(WHY))


def mailbox(user):
    """bob's mailbox label mb-<h12(H(x25519 pub))> (PROTOCOL.md 4.1)."""
    out = user.run("identity", "show", check=True).stdout_text
    xpk = next(l.split()[1] for l in out.splitlines()
               if l.startswith("x25519:"))
    rid = hashlib.sha256(bytes.fromhex(xpk)).digest()
    return "mb-" + hashlib.sha256(rid).hexdigest()[:12]


def users(tmp, m, home, client):
    """alice and bob at node @home (published there, contacts of each
    other, bob's mailbox registered for relayed bundles); alice's `dmp`
    then runs in @client's namespace, where home does not answer, with
    network.relays = @client's URL."""
    alice, bob = ns_users(tmp, m, home)
    home.add_key("bob-reg.%s" % home.zone,
                 "%s.%s" % (mailbox(bob), home.zone))
    wait_keys()
    alice.set_config("network.timeout_ms", "500")
    cfg = alice.home + "/config.yaml"
    text = open(cfg).read()
    assert "  relays: []" in text, text
    open(cfg, "w").write(text.replace("  relays: []",
                                      '  relays: ["%s"]' % client.url))
    alice.bin = ns_wrapper(tmp, m, client.i, dmp_binary())
    return alice, bob


def relayed(alice, text, via, hops):
    """alice sends @text: relayed via @via, @hops node-to-node hops."""
    r = alice.send("bob", text)
    assert r.returncode == 0, r.stderr_text
    assert "relayed via %s" % via.url in r.stderr_text, r.stderr_text
    ev = [l for l in alice.events() if " RELAYED " in l]
    assert ev and via.url in ev[-1] and "hops %d" % hops in ev[-1], ev


def inbox(bob):
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    assert not bob.rejections(), bob.events()
    return sorted(body for _, body in bob.maildir("inbox"))


def received(n):
    """POSTs to /v1/relay @n answered: dmp_relay_received_total summed
    over every result it reports."""
    with urllib.request.urlopen(n.url + "/metrics", timeout=10) as r:
        lines = r.read().decode().splitlines()
    return sum(int(l.split()[-1]) for l in lines
               if l.startswith("dmp_relay_received_total{"))


def counts(nodes, result):
    return [n.at(metric, 'dmp_relay_received_total{result="%s"}' % result)
            or 0 for n in nodes]


def wait_route(n, zone, hops, timeout):
    return wait_until(lambda: (n.at(route, zone) or {}).get("hops") == hops,
                      "%s's route to %s in %d hops" % (n.zone, zone, hops),
                      timeout)


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("line")
    with netns_mesh.Mesh(5, "line") as m:
        nodes = mesh_netns(tmp, m)
        try:
            t0 = time.time()
            for n in nodes:
                n.start()
            alice, bob = users(tmp, m, nodes[4], nodes[0])
            wait_route(nodes[0], "e.test", 4, 20)
            print("line: up, users made, A routes to E in %.1f s" %
                  (time.time() - t0))
            yield m, nodes, alice, bob
        finally:
            stop_and_check(nodes)


def test_line_four_hops(line):
    m, nodes, alice, bob = line
    a, e = nodes[0], nodes[4]
    t0 = time.time()
    relayed(alice, b"four hops away", a, 4)
    print("line: dmp send through A, stored at E 4 hops on: %.0f ms" %
          ((time.time() - t0) * 1000))
    assert counts(nodes, "forwarded") == [1, 1, 1, 1, 0]
    assert counts(nodes, "stored") == [0, 0, 0, 0, 1]
    assert [n.at(metric, "dmp_relay_stored_total") for n in nodes] == \
        [0, 0, 0, 0, 1]
    assert [n.at(metric, 'dmp_relay_forwarded_total{mode="path"}')
            for n in nodes] == [1, 1, 1, 1, 0]
    assert inbox(bob) == [b"four hops away"]

    # The manifest and chunks as E holds them (no claim: a bundle of its
    # own id): forwarded again to E; the same once more: 208 at A, and
    # nothing moves beyond A.
    records = e.at(message_records, e.zone)
    assert any(r["name"].startswith("slot-") for r in records), records
    body = bundle(records, zone=e.zone)
    st, js, _ = a.at(post, body)
    assert st == 202 and js["hops"] == 4 and "200 stored" in js["reason"], js
    before = [n.at(received) for n in nodes]
    st, js, _ = a.at(post, body)
    assert st == 208 and js["id"] == body["id"], js
    assert [n.at(received) for n in nodes][1:] == before[1:]


def test_line_forged(line):
    m, nodes, alice, bob = line
    a, b, e = nodes[0], nodes[1], nodes[4]
    records = e.at(message_records, e.zone)
    bad, i = flip_chunk(records)
    before = b.at(received)
    st, js, _ = a.at(post, bundle(bad, zone=e.zone))
    assert st == 403 and "records[%d]" % i in js["reason"], js
    assert b.at(received) == before
    assert a.at(metric, 'dmp_relay_dropped_total{reason="verify"}') == 1


def test_line_flood(line):
    """A zone nobody serves, max_hops 2: flooded A -> B -> C (budgets 2,
    1, 0), at most 2 node-to-node transmissions in all."""
    m, nodes, alice, bob = line
    a, e = nodes[0], nodes[4]
    other = [dict(r, name=r["name"].replace(e.zone, "nowhere.test"))
             for r in e.at(message_records, e.zone)]
    body = dict(bundle(other, zone="nowhere.test"), max_hops=2)
    sent = []
    for attempt in range(2):
        before = [n.at(received) for n in nodes[1:]]
        st, js, _ = a.at(post, body)
        tx = sum(n.at(received) for n in nodes[1:]) - sum(before)
        sent.append((st, tx, js["reason"]))
        assert tx <= 2, sent
    (st1, tx1, why1), (st2, tx2, why2) = sent
    assert tx1 == 2, sent
    # Held at the end of the flood (nobody serves the zone: the network
    # may heal): A remembers the id, so the copy is 208 and costs nothing.
    assert st1 == 202 and "held at" in why1, sent
    assert (st2, tx2) == (208, 0), sent
    print("line: flood to a zone nobody serves, max_hops 2: %s" % sent)


def test_line_hold_at_d(line):
    """E down: the bundle is held at D (202 "held at ..."), and delivered
    when E is back (docs/protocol.md 8.7.6)."""
    m, nodes, alice, bob = line
    d, e = nodes[3], nodes[4]
    before = counts(nodes[:4], "forwarded")
    e.stop()
    r = alice.send("bob", b"held at D")
    assert r.returncode == 0, r.stderr_text
    ev = [l for l in alice.events() if " RELAYED " in l]
    assert ev and "held at" in ev[-1], ev
    assert d.at(metric, "dmp_relay_held") == 1
    after = counts(nodes[:4], "forwarded")
    assert [y - x for x, y in zip(before, after)] == [1, 1, 1, 0], after
    e.start()
    t0 = time.time()
    wait_until(lambda: d.at(metric, "dmp_relay_hold_delivered_total") == 1,
               "D to deliver what it held", 20)
    print("line: E back, D delivered the held bundle in %.1f s" %
          (time.time() - t0))
    assert d.at(metric, "dmp_relay_held") == 0
    assert e.at(metric, "dmp_relay_stored_total") == 1  # since its restart
    assert inbox(bob) == [b"four hops away", b"held at D"]


def test_ring_reroute(tmp_path):
    with netns_mesh.Mesh(5, "ring") as m:
        nodes = mesh_netns(tmp_path, m)
        a, b, c, d, e = nodes
        try:
            t0 = time.time()
            for n in nodes:
                n.start()
            alice, bob = users(tmp_path, m, c, a)
            wait_route(a, c.zone, 2, 20)
            assert a.at(route, c.zone)["next_hop"] == b.endpoint
            print("ring: up, A routes to C via B in %.1f s" %
                  (time.time() - t0))
            relayed(alice, b"via B", a, 2)
            assert counts(nodes, "forwarded") == [1, 1, 0, 0, 0]

            m.cut(0, 1)
            t_cut = time.time()
            wait_route(a, c.zone, 3, 15)
            t_route = time.time() - t_cut
            assert a.at(route, c.zone)["next_hop"] == e.endpoint
            relayed(alice, b"via E and D", a, 3)
            t_done = time.time() - t_cut
            assert counts(nodes, "forwarded") == [2, 1, 0, 1, 1]
            assert counts(nodes, "stored") == [0, 0, 2, 0, 0]
            print("ring: A-B cut, A rerouted through E in %.1f s, the next "
                  "message stored at C %.1f s after the cut" %
                  (t_route, t_done))

            m.restore(0, 1)
            t_up = time.time()
            wait_route(a, c.zone, 2, 15)
            print("ring: A-B restored, back via B in %.1f s" %
                  (time.time() - t_up))
            assert inbox(bob) == [b"via B", b"via E and D"]
        finally:
            stop_and_check(nodes)
