"""dmpfs peers/: two real dmp-nodes in different zones publish signed
heartbeats (PROTOCOL.md 2.8, 8); a mounted client discovers both, shows
one read-only file per node, ignores forged values, and marks a stopped
node unhealthy. `dmp peers` lists the same store."""
import base64
import os
import signal
import struct

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import \
    Ed25519PrivateKey

from cli_helpers import User, ZONE, quote_txt, wait_keys
from conftest import Node
from fs_helpers import E, Mount, errno_of, need_fuse, wait_for

OTHER = "b.test"
HB = "v=dmp1;t=heartbeat;"


def node_cfg(tmp, endpoint, provider):
    key = tmp / "operator.key"
    return key, ("security:\n  claim_provider: %s\n"
                 "mesh:\n  endpoint: %s\n  operator_key: %s\n"
                 "  heartbeat_allow_loopback: true\n"
                 "  heartbeat_interval: 10\n" % (
                     "true" if provider else "false", endpoint, key))


def operator_pk(keyfile):
    seed = bytes.fromhex(keyfile.read_text().strip())
    return Ed25519PrivateKey.from_private_bytes(seed).public_key() \
        .public_bytes(serialization.Encoding.Raw,
                      serialization.PublicFormat.Raw).hex()


def heartbeat_values(n, zone):
    out = n.dig("+short", "TXT", "_dnsmesh-heartbeat." + zone)
    return [l.replace('" "', "").strip('"') for l in out.splitlines() if l]


def file_name(endpoint, pk_hex):
    host = endpoint.split("://", 1)[1]
    return "".join(c if c.isalnum() or c in ".-" else "_"
                   for c in host) + "-" + pk_hex[:8]


@pytest.fixture
def two_nodes(tmp_path):
    need_fuse()
    nodes = []
    for name, zone, provider in (("a", ZONE, True), ("b", OTHER, False)):
        d = tmp_path / name
        d.mkdir()
        n = Node(d, zones=(zone,))
        endpoint = "http://%s:8053" % n.host
        key, cfg = node_cfg(d, endpoint, provider)
        (d / "node.yaml").write_text(cfg)
        n.extra += ["-c", str(d / "node.yaml")]
        n.endpoint, n.keyfile, n.zone = endpoint, key, zone
        nodes.append(n)
    yield nodes
    for n in nodes:
        n.stop(signal.SIGKILL)
    for n in nodes:
        log = n.log.read_text(errors="replace") if n.log.exists() else ""
        for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                    "runtime error:"):
            assert bad not in log, log


def test_peers_discovered_forgery_ignored_stopped_unhealthy(tmp_path,
                                                            two_nodes):
    a, b = two_nodes
    admin_b, _ = b.add_key("admin." + OTHER, OTHER)
    for n in two_nodes:
        n.start()
    alice = User(tmp_path, "alice", a,
                 resolvers=["%s:%d" % (n.host, n.port) for n in two_nodes])
    alice.set_config("discovery.seeds", "[%s]" % OTHER)
    alice.set_config("discovery.allow_loopback", "true")
    alice.set_config("discovery.interval", "10")
    wait_keys()
    for n in two_nodes:
        wait_for(lambda n=n: heartbeat_values(n, n.zone),
                 what="heartbeat of " + n.zone)
        n.pk = operator_pk(n.keyfile)
        n.fname = file_name(n.endpoint, n.pk)

    m = Mount(alice, tmp_path, poll=5)
    m.start()
    try:
        want = sorted(n.fname for n in two_nodes)
        wait_for(lambda: m.ls("peers") == want, timeout=30,
                 what="both nodes in peers/")
        for n in two_nodes:
            kv = m.kv("peers/" + n.fname)
            assert kv["endpoint"] == n.endpoint
            assert kv["operator_key"] == n.pk
            assert kv["fingerprint"] == n.pk[:16]
            assert kv["version"].startswith("dmp-node ")
            assert kv["health"] == "ok", kv
            assert kv["source"] == "_dnsmesh-heartbeat." + n.zone
            assert kv["last_seen"].endswith("Z") and "T" in kv["last_seen"]
            assert kv["failures"] == "0"
            # getattr reports the exact size.
            assert os.stat(m.path("peers", n.fname)).st_size == \
                len(m.read("peers/" + n.fname))
        assert m.kv("peers/" + a.fname)["claim_provider"] == "yes"
        assert m.kv("peers/" + a.fname)["capabilities"] == "0x0001"
        assert m.kv("peers/" + a.fname)["claim_provider_zone"] == ZONE
        assert m.kv("peers/" + b.fname)["claim_provider"] == "no"
        # Read-only.
        p = m.path("peers", a.fname)
        assert errno_of(os.open, p, os.O_WRONLY) == E.EACCES
        assert errno_of(os.unlink, p) == E.EACCES
        assert errno_of(os.open, m.path("peers", "new"),
                        os.O_WRONLY | os.O_CREAT, 0o600) == E.EACCES
        assert errno_of(os.stat, m.path("peers", "nope")) == E.ENOENT

        # Forged values at b's seen name: garbage, and b's own heartbeat
        # with its endpoint changed (the signature no longer covers it).
        good = heartbeat_values(b, OTHER)[0]
        raw = base64.b64decode(good[len(HB):])
        body, sig = raw[:-64], raw[-64:]
        ln = struct.unpack("!H", body[7:9])[0]
        # free_addr() picks hosts in 127.0.0.2-250; .254 is never a node here.
        evil_ep = b"http://127.0.0.254:8053"
        forged = body[:7] + struct.pack("!H", len(evil_ep)) + evil_ep + \
            body[9 + ln:]
        forged_v = HB + base64.b64encode(forged + sig).decode()
        script = "zone %s\n" % OTHER
        for v in ("garbage", HB + "AAAA", forged_v):
            script += "update add _dnsmesh-seen.%s. 300 TXT %s\n" % (
                OTHER, quote_txt(v))
        r = b.nsupdate(admin_b, script)
        assert r.returncode == 0, r.stderr
        assert len(b.dig("+short", "TXT", "_dnsmesh-seen." + OTHER)
                   .splitlines()) == 3
        # `dmp peers refresh` reads the same names now.
        r = alice.run("peers", "refresh", check=True)
        lines = r.stdout_text.splitlines()
        assert any(a.endpoint in l and l.startswith("ok") for l in lines)
        assert any(b.endpoint in l and l.startswith("ok") for l in lines)
        assert "127.0.0.254" not in r.stdout_text
        assert "provider %s" % ZONE in lines
        assert "2 verified heartbeats" in r.stderr_text
        assert m.ls("peers") == want

        # b stops: its zone stops answering, so it turns unreachable.
        b.stop()
        wait_for(lambda: m.kv("peers/" + b.fname)["health"] != "ok",
                 timeout=60, step=1, what="b unhealthy")
        kv = m.kv("peers/" + b.fname)
        assert kv["health"] == "unreachable", kv
        assert int(kv["failures"]) >= 1 and kv["last_error"], kv
        assert m.kv("peers/" + a.fname)["health"] == "ok"
        assert m.ls("peers") == want
    finally:
        m.stop()
