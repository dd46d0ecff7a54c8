"""Relay links (docs/protocol.md 8.7.4, 8.7.9; DMP-RELAY/1 draft): three
dmp-nodes on loopback in a line A - B - C (A's neighbours: B; B's: A and
C; C's: B), link_interval 1 s. A's /v1/mesh soon routes C's zone through
B in 2 hops, every node's _dnsmesh-links.<zone> TXT verifies (signature,
zone, endpoint), heartbeats carry capability bit 1, `dmp-node mesh`
prints the table and /metrics counts. B killed: A's link to B goes down
within a few intervals and C's zone leaves A's table; B started again:
the route comes back. Every wait is bounded."""
import base64
import json
import struct
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from conftest import Node, free_addr, stop_and_check
from mesh_helpers import mesh_line

ZONES = ("la.test", "lb.test", "lc.test")
LINKS = "v=dmp1;t=links;"
HB = "v=dmp1;t=heartbeat;"


def get(n, path):
    with urllib.request.urlopen("http://%s%s" % (n.http, path),
                                timeout=3) as r:
        return r.status, r.read().decode()


def mesh(n):
    return json.loads(get(n, "/v1/mesh")[1])


def route(n, zone):
    for r in mesh(n)["routes"]:
        if r["zone"] == zone:
            return r
    return None


def wait_until(pred, what, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if pred():
                return time.time()
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    pytest.fail("timed out after %gs waiting for %s" % (timeout, what))


def txt_values(n, name):
    out = n.dig("+short", "TXT", name)
    return [line.replace('" "', "").strip('"')
            for line in out.splitlines() if line.strip()]


def verify_links(value, now):
    """Check a link record by hand (docs/protocol.md 8.7.4): the layout,
    the times and the Ed25519 signature. @return (spk, endpoint, zones,
    peers)"""
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives.asymmetric.ed25519 import \
        Ed25519PublicKey
    assert value.startswith(LINKS), value
    raw = base64.b64decode(value[len(LINKS):])
    body, sig = raw[:-64], raw[-64:]
    assert body[:7] == b"DMPLK01"
    spk = body[7:39]
    Ed25519PublicKey.from_public_bytes(spk).verify(sig, body)
    off = 39
    ep_len = body[off]
    endpoint = body[off + 1:off + 1 + ep_len].decode()
    off += 1 + ep_len
    zones = []
    nz = body[off]
    off += 1
    for _ in range(nz):
        zl = body[off]
        zones.append(body[off + 1:off + 1 + zl].decode())
        off += 1 + zl
    npeers = body[off]
    off += 1
    peers = []
    for _ in range(npeers):
        peers.append((body[off:off + 32],
                      struct.unpack(">H", body[off + 32:off + 34])[0],
                      body[off + 34]))
        off += 35
    seq, ts, exp = struct.unpack(">QQQ", body[off:off + 24])
    assert off + 24 == len(body)
    assert abs(ts - now) <= 300 and ts < exp <= ts + 3600 and exp > now
    assert seq // 1000 - 5 <= ts <= seq // 1000 + 5
    return spk, endpoint, zones, peers


@pytest.fixture
def line(tmp_path):
    nodes = mesh_line(tmp_path, ZONES)
    yield nodes
    stop_and_check(nodes)


def test_line_route_cut_and_heal(line):
    a, b, c = line
    for n in line:
        n.start()
    t0 = time.time()
    # A routes C's zone through B, two hops (links are two-way).
    wait_until(lambda: (route(a, "lc.test") or {}).get("hops") == 2,
               "A's route to lc.test", 12)
    t_route = time.time() - t0
    r = route(a, "lc.test")
    assert r["next_hop"] == b.endpoint, r
    assert route(a, "la.test")["hops"] == 0
    assert route(a, "lb.test")["hops"] == 1
    m = mesh(a)
    assert [x["neighbour"] for x in m["links"]] == [b.endpoint]
    assert m["links"][0]["up"] is True and m["links"][0]["cost_ms"] >= 1

    # /v1/mesh/links: ours first, every record verifies.
    now = int(time.time())
    recs = json.loads(get(b, "/v1/mesh/links")[1])["records"]
    assert len(recs) == 3, recs
    assert verify_links(recs[0], now)[1] == b.endpoint

    # The DNS side: _dnsmesh-links.<zone> of each node verifies and names
    # the node's zone, endpoint and (up) neighbours; heartbeat bit 1.
    keys = {}
    for n in line:
        vals = txt_values(n, "_dnsmesh-links." + n.zone)
        assert len(vals) == 1, vals
        spk, ep, zones, peers = verify_links(vals[0], int(time.time()))
        assert ep == n.endpoint and zones == [n.zone]
        keys[n.zone] = spk
        hb = [v for v in txt_values(n, "_dnsmesh-heartbeat." + n.zone)
              if v.startswith(HB)]
        body = base64.b64decode(hb[0][len(HB):])
        ep_len = struct.unpack(">H", body[7:9])[0]
        # endpoint, operator_spk, version (u8 len), capabilities (u16)
        off = 9 + ep_len + 32
        off += 1 + body[off]
        (caps,) = struct.unpack(">H", body[off:off + 2])
        assert caps & 2, caps
    spk, ep, zones, peers = verify_links(
        txt_values(b, "_dnsmesh-links.lb.test")[0], int(time.time()))
    assert sorted(p[0] for p in peers) == sorted(
        (keys["la.test"], keys["lc.test"]))
    assert all(p[2] == 1 for p in peers)

    # The operator's view and the metrics.
    out = subprocess.run([a.bin, "mesh", "--http", a.http],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert "lc.test" in out.stdout and b.endpoint in out.stdout
    metrics = get(a, "/metrics")[1]
    assert "dmp_mesh_links_up 1" in metrics
    assert "dmp_mesh_routes 3" in metrics
    assert 'dmp_mesh_probes_total{result="ok"}' in metrics

    # Cut: B dies. Three missed probes (1 s apart) take A's link down.
    b.stop(sig=9)
    t_cut = time.time()
    wait_until(lambda: not mesh(a)["links"][0]["up"], "A's link to B down",
               8)
    t_down = time.time() - t_cut
    wait_until(lambda: route(a, "lc.test") is None,
               "lc.test gone from A's table", 3)
    assert mesh(a)["links"][0]["missed"] >= 3
    assert 'dmp_mesh_probes_total{result="unreachable"} 0' not in \
        get(a, "/metrics")[1]

    # Heal: B back with the same key and database.
    b.start()
    t_heal = time.time()
    wait_until(lambda: (route(a, "lc.test") or {}).get("hops") == 2,
               "A's route to lc.test after B came back", 12)
    print("route %.1fs, down %.1fs, back %.1fs" % (
        t_route, t_down, time.time() - t_heal))


def test_relay_off_and_bad_neighbour(tmp_path):
    """Relay off: /v1/mesh is 404 naming the setting; a neighbour that is
    not an http(s) URL stops the node with a clear message."""
    http = "%s:%d" % free_addr()
    n = Node(tmp_path, zones=("lo.test",),
             config="network:\n  http: %s\n" % http)
    n.http = http
    bad = None
    try:
        n.start()
        with pytest.raises(urllib.error.HTTPError) as e:
            get(n, "/v1/mesh/links")
        assert e.value.code == 404
        assert b"mesh.relay_enabled" in e.value.read()
        assert "dmp_mesh_links_up 0" in get(n, "/metrics")[1]
        n.stop()
        d = tmp_path / "bad"
        d.mkdir()
        bad = Node(d, zones=("lo.test",), config=(
            "mesh:\n  endpoint: http://%s\n  operator_key: %s\n"
            "  heartbeat_allow_loopback: true\n  relay_enabled: true\n"
            "  neighbours: [\"ftp://%s\"]\n" % (http, d / "op.key", http)))
        bad.start(wait=False)
        assert bad.proc.wait(timeout=10) != 0
        log = bad.log.read_text()
        assert "mesh.neighbours" in log and "ftp://" in log, log
    finally:
        stop_and_check([x for x in (n, bad) if x])
