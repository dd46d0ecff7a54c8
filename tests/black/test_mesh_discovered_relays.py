"""Relays and neighbours from discovery (docs/protocol.md 8.7.4, 8.7.8).

Nodes: A and B are configured neighbours of each other; C has no
mesh.neighbours at all, and nobody lists C. B and C find each other only
through discovery (B seeded with C's zone, C with B's; heartbeats carry
bit 1), take each other as discovered neighbours, and A soon routes C's
zone through B in two hops. GET /v1/mesh and `dmp-node mesh` tell the
configured neighbour from the discovered one.

Client: alice's home node H does not answer and network.relays is empty,
so a message stays queued; once `dmp peers refresh` stored relay node B
(its heartbeat, bit 1), the fallback POSTs the bundle to B: not with
network.relays_from_discovery off, yes with it on (the RELAYED event says
"from discovery", the queue entry path=relay:<B>). Every wait is bounded.
"""
import subprocess
import time

import pytest

from cli_helpers import wait_keys, ZONE
from conftest import stop_and_check
from mesh_helpers import alice_and_bob, mesh_line
from test_cli_relay_fallback import outbox
from test_mesh_links import mesh, route, wait_until
from test_mesh_relay_dest import make, metric

ZONES = ("da.test", "db.test", "dc.test")


def links(n):
    return {x["neighbour"]: x for x in mesh(n)["links"]}


def seed_each_other(i, nodes):
    """B (1) seeds C's zone and C (2) B's, each through the other's DNS;
    A (0) has no discovery."""
    if i == 0:
        return ""
    o = nodes[3 - i]
    return ("  seeds: [%s]\n"
            "  resolvers: [\"%s:%d\"]\n"
            "  discovery_interval: 1\n" % (o.zone, o.host, o.port))


@pytest.fixture
def trio(tmp_path):
    # A - B configured both ways; C lists nobody and nobody lists C.
    nodes = mesh_line(tmp_path, ZONES, nbrs=[(1,), (0,), ()],
                      mesh_extra=seed_each_other)
    yield nodes
    stop_and_check(nodes)


def test_neighbour_from_discovery(trio):
    a, b, c = trio
    for n in trio:
        n.start()
    t0 = time.time()
    wait_until(lambda: (route(a, "dc.test") or {}).get("hops") == 2,
               "A's route to dc.test through B", 15)
    print("route A -> C after %.1f s" % (time.time() - t0))
    r = route(a, "dc.test")
    assert r["next_hop"] == b.endpoint, r
    lb = links(b)
    assert set(lb) == {a.endpoint, c.endpoint}, lb
    assert lb[a.endpoint]["source"] == "configured", lb
    assert lb[c.endpoint]["source"] == "discovered", lb
    assert lb[c.endpoint]["up"] is True, lb
    lc = links(c)
    assert list(lc) == [b.endpoint] and \
        lc[b.endpoint]["source"] == "discovered", lc
    # A has no discovery: its one neighbour is the configured B.
    la = links(a)
    assert list(la) == [b.endpoint] and \
        la[b.endpoint]["source"] == "configured", la
    out = subprocess.run([b.bin, "mesh", "--http", b.http],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    line = [l for l in out.stdout.splitlines() if c.endpoint in l and
            "discovered" in l]
    assert len(line) == 1, out.stdout


def test_client_relay_from_discovery(tmp_path):
    h = make(tmp_path, "h", "")
    b = make(tmp_path, "b", "")
    (tmp_path / "b" / "node.yaml").write_text(
        "security:\n  http_rate_limit: 0\n  xfr_allow: [127.0.0.1]\n"
        "mesh:\n  relay_enabled: true\n  endpoint: %s\n"
        "  operator_key: %s\n  heartbeat_allow_loopback: true\n"
        "  heartbeat_interval: 60\n" % (b.url, tmp_path / "b" / "op.key"))
    nodes = [h, b]
    try:
        for n in nodes:
            n.start()
        alice, bob = alice_and_bob(tmp_path, h)
        alice.set_config("network.timeout_ms", "500")
        text = open(alice.home + "/config.yaml").read()
        assert "  relays: []" in text and \
            "  relays_from_discovery: true" in text, text
        h.stop()  # alice's home: no answer from now on

        # No relay known: the message stays queued.
        r = alice.send("bob", b"relayed by a discovered node")
        assert r.returncode != 0, r.stderr_text
        assert not any(" RELAYED " in l for l in alice.events())
        man = [n for _, n, _, _, _ in alice.outbox_records()
               if n.startswith("slot-")]
        assert len(man) == 1, alice.outbox_records()
        b.add_key("bob-reg.%s" % ZONE, "%s.%s" % (man[0].split(".")[1],
                                                   ZONE))

        # Discovery through B's DNS: B's heartbeat, relay bit set.
        # (Not direct: alice's own zone is read from her home node then.)
        alice.set_config("network.resolvers", '["%s:%d"]' % (b.host, b.port))
        alice.set_config("network.direct", "false")
        alice.set_config("discovery.seeds", "[%s]" % ZONE)
        alice.set_config("discovery.allow_loopback", "true")
        wait_keys()
        r = alice.run("peers", "refresh")
        assert r.returncode == 0, r.stderr_text
        assert b.url in r.stdout_text, r.stdout_text

        # Turned off: discovered relays are not used.
        alice.set_config("network.relays_from_discovery", "false")
        r = alice.run("flush")
        assert not any(" RELAYED " in l for l in alice.events()), \
            alice.events()
        assert metric(b, "dmp_relay_stored_total") == 0

        alice.set_config("network.relays_from_discovery", "true")
        r = alice.run("flush")
        assert r.returncode == 0, r.stderr_text
        relayed = [l for l in alice.events() if " RELAYED " in l]
        assert len(relayed) == 1, alice.events()
        assert "relayed via %s (from discovery)" % b.url in relayed[0], \
            relayed
        assert " 200 stored" in relayed[0], relayed
        rows = outbox(alice)
        assert rows == [(rows[0][0], "path=relay:%s" % b.url)], rows
        assert metric(b, "dmp_relay_stored_total") == 1
    finally:
        stop_and_check(nodes)
