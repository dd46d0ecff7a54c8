"""Mesh discovery (PROTOCOL.md 8): three dmp-nodes in three zones, each
seeded with the next one only (A -> B -> C -> A), gossip their signed
heartbeats until every node's _dnsmesh-seen lists the two others; a
stopped node expires from the seen lists; a client with the three seed
zones discovers all three nodes (the union) and `dmp peers refresh`
reports what each seed gave. Short intervals in the node configs keep it
within a few seconds."""
import base64
import os
import struct
import subprocess
import time
import urllib.request

import pytest

from cli_helpers import User, wait_keys
from conftest import Node, free_addr, stop_and_check

ZONES = ("ma.test", "mb.test", "mc.test")
HB = "v=dmp1;t=heartbeat;"


def endpoints(n, name):
    """Endpoints of the heartbeat values at @name on node @n."""
    out = n.dig("+short", "TXT", name)
    eps = []
    for line in out.splitlines():
        v = line.replace('" "', "").strip('"')
        if not v.startswith(HB):
            continue
        body = base64.b64decode(v[len(HB):])
        assert body[:7] == b"DMPHB03", body[:7]
        (ln,) = struct.unpack(">H", body[7:9])
        eps.append(body[9:9 + ln].decode())
    return sorted(eps)


def wait_until(pred, what, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.25)
    pytest.fail("timed out after %gs waiting for %s" % (timeout, what))


@pytest.fixture
def ring(tmp_path):
    nodes = []
    for i, zone in enumerate(ZONES):
        d = tmp_path / zone
        d.mkdir()
        n = Node(d, zones=(zone,))
        n.zone = zone
        n.endpoint = "http://%s:%d" % (n.host, n.port)
        nodes.append(n)
    http = "%s:%d" % free_addr()
    resolvers = ", ".join('"%s:%d"' % (n.host, n.port) for n in nodes)
    for i, n in enumerate(nodes):
        cfg = ("mesh:\n"
               "  endpoint: %s\n"
               "  operator_key: %s\n"
               "  heartbeat_allow_loopback: true\n"
               "  heartbeat_interval: 2\n"
               "  seeds: [%s]\n"
               "  resolvers: [%s]\n"
               "  discovery_interval: 1\n"
               "  peer_expiry: 8\n"
               "network:\n"
               "  resolver_timeout: 1\n" % (
                   n.endpoint, n.tmp / "operator.key",
                   ZONES[(i + 1) % len(ZONES)], resolvers))
        if i == 0:
            cfg += "  http: %s\n" % http
            n.http = http
        (n.tmp / "node.yaml").write_text(cfg)
        n.extra += ["-v", "-c", str(n.tmp / "node.yaml")]
    yield nodes
    stop_and_check(nodes)


def test_gossip_union_and_expiry(tmp_path, ring):
    a, b, c = ring
    for n in ring:
        n.start()
    every = sorted(n.endpoint for n in ring)

    # Gossip: each node reads only the next zone, yet lists both others.
    def converged():
        return all(endpoints(n, "_dnsmesh-seen." + n.zone) ==
                   sorted(set(every) - {n.endpoint}) for n in ring)
    wait_until(converged, "every seen list to name the two others", 15)

    # A client seeded with the three zones takes the union of all answers.
    alice = User(tmp_path, "alice", a, zone=a.zone,
                 resolvers=["%s:%d" % (n.host, n.port) for n in ring])
    alice.set_config("discovery.seeds", "[%s, %s]" % ZONES[1:])
    alice.set_config("discovery.allow_loopback", "true")
    wait_keys()
    r = alice.run("peers", "refresh")
    assert r.returncode == 0, r.stderr_text
    for z in ZONES:
        line = [l for l in r.stderr_text.splitlines()
                if l.startswith("dmp: seed %s:" % z)]
        assert len(line) == 1, r.stderr_text
        # One heartbeat and two seen values per zone, all verified.
        assert "heartbeat 1 value, seen 2 values, 3 verified" in line[0], \
            line
    listed = sorted(l.split()[1] for l in r.stdout_text.splitlines()
                    if l.split() and l.split()[0] == "ok")
    assert listed == every, r.stdout_text

    # A stopped node's heartbeat stops advancing: it leaves the lists.
    # B learnt of A only through C, so A leaves B's list too; A still
    # reads B directly and keeps it.
    c.stop()
    wait_until(lambda: endpoints(a, "_dnsmesh-seen." + a.zone) ==
               [b.endpoint] and
               endpoints(b, "_dnsmesh-seen." + b.zone) == [],
               "the stopped node to expire from the seen lists", 15)
    metrics = urllib.request.urlopen("http://%s/metrics" % a.http,
                                     timeout=5).read().decode()
    vals = dict(l.split() for l in metrics.splitlines()
                if l.startswith("dmp_node_mesh_"))
    assert vals["dmp_node_mesh_peers"] == "1", metrics
    assert int(vals["dmp_node_mesh_peers_expired_total"]) >= 1, metrics


SEED_CFG = os.path.join(os.path.dirname(__file__), "..", "..", "contrib",
                        "node-seed.yaml")
UNUSED = ("node.public_key_file", "network.max_chunk_retries",
          "security.key_rotation_interval", "security.max_message_age")


def test_seed_section10_config(tmp_path):
    """contrib/node-seed.yaml, the seed's section 10 file as written,
    starts a node: node.domain is served, discovery_domains become seeds,
    the keys for later features warn once each; a wrong cipher and an
    unknown key are still errors."""
    text = open(SEED_CFG).read()
    # Only loopback traffic: the public resolvers become an unused port
    # outside the hosts free_addr() draws from.
    for r in ("8.8.8.8", "1.1.1.1", "9.9.9.9"):
        text = text.replace('"%s"' % r, '"127.0.0.254:9"')
    text = text.replace('"node.key"', '"%s"' % (tmp_path / "node.key"))
    # Its rounds time out; a short timeout keeps the stop below quick.
    text = text.replace("resolver_timeout: 5", "resolver_timeout: 1")
    cfg = tmp_path / "seed.yaml"
    cfg.write_text(text)
    n = Node(tmp_path, zones=())
    n.extra += ["-c", str(cfg)]
    n.start(wait=False)
    n.zones = ("node123.mesh.example.com",)  # from node.domain alone
    try:
        n.wait_ready()
        wait_until(lambda: "mesh discovery from 2 seed zone(s)" in
                   n.log.read_text(), "discovery to start", 10)
        assert (tmp_path / "node.key").exists()  # private_key_file
    finally:
        n.stop()
        stop_and_check([n])
    log = n.log.read_text()
    for key in UNUSED:
        assert log.count("%s: accepted, not yet used" % key) == 1, log
    # DMP-RELAY/1 exists (docs/protocol.md 8.7): no longer "not yet used".
    assert "mesh.max_hops: accepted" not in log
    assert "mesh.relay_enabled: no network.http" in log, log
    assert "cleanup_interval" not in log and "storage_enabled" not in log

    bin_ = n.bin
    for bad, want in (
            (text.replace('"chacha20-poly1305"', '"aes-256-gcm"'),
             "security.encryption: DMP v1 has one cipher"),
            (text.replace("  max_hops: 5", "  max_hopz: 5"),
             "seed.yaml:"),
            (text.replace('"nodes.dmprotocol.org"', '"bad..zone"'),
             "mesh.seeds: 'bad..zone' is not a zone name"),
            (text.replace('"127.0.0.254:9"', '"resolver.example"', 1),
             "mesh.resolvers: 'resolver.example' is not IP[:port]")):
        cfg.write_text(bad)
        r = subprocess.run([bin_, "-c", str(cfg), "--db",
                            str(tmp_path / "x.db"), "key", "list"],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode != 0 and want in r.stderr, r.stderr
