"""Operating dmp-node: the signed heartbeat (PROTOCOL.md 8) served over
DNS, the operator key file, SIGHUP reloads, AXFR authorised by TSIG."""
import base64
import re
import os
import signal
import struct
import subprocess
import time

import pytest

from cryptography.hazmat.primitives.asymmetric.ed25519 import \
    Ed25519PrivateKey

from conftest import parse, query_wire, tsig_sign


def parse_hb(value):
    assert value.startswith("v=dmp1;t=heartbeat;")
    raw = base64.b64decode(value[len("v=dmp1;t=heartbeat;"):], validate=True)
    body, sig = raw[:-64], raw[-64:]
    assert body[:7] == b"DMPHB03"
    off = 7
    ln = struct.unpack("!H", body[off:off + 2])[0]
    endpoint = body[off + 2:off + 2 + ln].decode()
    off += 2 + ln
    spk = body[off:off + 32]
    off += 32
    ln = body[off]
    version = body[off + 1:off + 1 + ln].decode()
    off += 1 + ln
    caps = struct.unpack("!H", body[off:off + 2])[0]
    off += 2
    ln = body[off]
    zone = body[off + 1:off + 1 + ln].decode()
    off += 1 + ln
    ts, exp = struct.unpack("!QQ", body[off:off + 16])
    assert off + 16 == len(body)
    return dict(body=body, sig=sig, endpoint=endpoint, spk=spk,
                version=version, caps=caps, zone=zone, ts=ts, exp=exp)


def heartbeats(n):
    out = n.dig("+short", "TXT", "_dnsmesh-heartbeat.mesh.test")
    return [l.replace('" "', "").strip('"') for l in out.splitlines() if l]


def test_heartbeat_signed_and_served(tmp_path, node_factory):
    key = tmp_path / "operator.key"
    cfg = ("security:\n  claim_provider: true\n"
           "mesh:\n  endpoint: http://127.0.0.1:8053\n"
           "  operator_key: %s\n  heartbeat_allow_loopback: true\n"
           "  heartbeat_interval: 2\n" % key)
    n = node_factory(config=cfg).start()
    deadline = time.time() + 5
    while not heartbeats(n) and time.time() < deadline:
        time.sleep(0.1)
    vals = heartbeats(n)
    assert len(vals) == 1, vals
    hb = parse_hb(vals[0])
    # Created 0600, and the heartbeat is signed by that very key.
    assert os.stat(key).st_mode & 0o777 == 0o600
    seed = bytes.fromhex(key.read_text().strip())
    pub = Ed25519PrivateKey.from_private_bytes(seed).public_key()
    pub.verify(hb["sig"], hb["body"])  # raises if bad
    from cryptography.hazmat.primitives import serialization
    assert hb["spk"] == pub.public_bytes(serialization.Encoding.Raw,
                                         serialization.PublicFormat.Raw)
    assert hb["endpoint"] == "http://127.0.0.1:8053"
    assert hb["exp"] == hb["ts"] + 86400
    assert abs(hb["ts"] - time.time()) < 30
    assert hb["caps"] & 1 and hb["zone"] == "mesh.test"
    assert hb["version"].startswith("dmp-node ")
    # Replaced, not appended, at the next beat (2 s later).
    deadline = time.time() + 15
    vals2 = heartbeats(n)
    while time.time() < deadline and not any(
            parse_hb(v)["ts"] > hb["ts"] for v in vals2):
        time.sleep(0.2)
        vals2 = heartbeats(n)
    assert len(vals2) == 1 and parse_hb(vals2[0])["ts"] > hb["ts"]
    # Restart: the same key is reused.
    n.stop()
    n.start()
    assert seed == bytes.fromhex(key.read_text().strip())


def test_heartbeat_refuses_loopback_by_default(tmp_path, node_factory):
    cfg = ("mesh:\n  endpoint: http://127.0.0.1:8053\n"
           "  operator_key: %s\n" % (tmp_path / "op.key"))
    n = node_factory(config=cfg).start()
    time.sleep(1.5)
    assert heartbeats(n) == []
    assert "heartbeat" in n.log.read_text()


def test_sighup_reloads_caps_and_level(tmp_path, node_factory):
    cfgp = tmp_path / "hup.yaml"
    cfgp.write_text("node:\n  max_values_per_name: 1\n")
    n = node_factory(extra=["-c", str(cfgp)])
    key, _ = n.add_key("k.mesh.test", "mesh.test")
    n.start()
    r = n.nsupdate(key, 'zone mesh.test\nupdate add a.mesh.test 60 TXT "1"')
    assert r.returncode == 0, r.stderr
    r = n.nsupdate(key, 'zone mesh.test\nupdate add a.mesh.test 60 TXT "2"')
    assert r.returncode != 0 and "REFUSED" in r.stdout + r.stderr
    cfgp.write_text("node:\n  max_values_per_name: 5\n")
    n.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while "reloaded" not in n.log.read_text() and time.time() < deadline:
        time.sleep(0.05)
    r = n.nsupdate(key, 'zone mesh.test\nupdate add a.mesh.test 60 TXT "2"')
    assert r.returncode == 0, r.stdout + r.stderr
    # A broken config on SIGHUP is reported and changes nothing.
    cfgp.write_text("node:\n  no_such_key: 1\n")
    n.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while "not reloaded" not in n.log.read_text() and time.time() < deadline:
        time.sleep(0.05)
    assert "not reloaded" in n.log.read_text()
    assert n.proc.poll() is None
    assert len(n.dig("+short", "TXT", "a.mesh.test").splitlines()) == 2


def test_axfr_by_tsig_key_and_knot(tmp_path, node_factory):
    from knot_helpers import knot_secondary
    from conftest import free_addr
    n = node_factory(config="security:\n  xfr_keys: [xfr.mesh.test]\n")
    xkey, xsecret = n.add_key("xfr.mesh.test", "nothing.mesh.test")
    wkey, _ = n.add_key("w.mesh.test", "mesh.test")
    n.start()
    script = "zone mesh.test\n" + "".join(
        "update add slot-%d.mb-x.mesh.test 300 TXT \"%s\"\n%s" % (
            i, ("%03d" % i) * 80, "send\n" if i % 50 == 49 else "")
        for i in range(300))
    r = n.nsupdate(wkey, script)
    assert r.returncode == 0, r.stdout + r.stderr

    def axfr(*extra):
        return subprocess.run(
            ["dig", "+tcp", "+time=3", "+tries=1", "@" + n.host, "-p",
             str(n.port), *extra, "mesh.test", "AXFR"],
            capture_output=True, text=True, timeout=30).stdout

    out = axfr("-y", xkey)
    assert "tsig verify failure" not in out.lower(), out[-500:]
    types = [l.split(None, 4)[3] for l in out.splitlines()
             if l and not l.startswith(";") and "TSIG" not in l]
    assert types[0] == "SOA" and types[-1] == "SOA"
    assert types.count("TXT") == 300
    m = re.search(r"XFR size: (\d+) records \(messages (\d+)", out)
    assert m and int(m.group(2)) > 1, out[-300:]
    # Every message carries a TSIG RR (dig checked each MAC).
    assert out.count("\tTSIG\t") + out.count(" TSIG ") >= int(m.group(2))
    # No key: not by address either.
    assert "Transfer failed" in axfr()
    # A good key that may not transfer: REFUSED.
    assert "Transfer failed" in axfr("-y", wkey)
    # A wrong secret: NOTAUTH (BADSIG).
    bad = "hmac-sha256:xfr.mesh.test:" + base64.b64encode(
        b"\0" * 32).decode()
    out = axfr("-y", bad)
    assert "Transfer failed" in out or "BADSIG" in out.upper()
    # A signed SOA query gets a signed answer.
    out = n.dig("-y", xkey, "SOA", "mesh.test")
    assert "status: NOERROR" in out and "TSIG" in out
    assert "failure" not in out.lower()

    khost, kport = free_addr()
    conf = ("key:\n  - id: xfr.mesh.test\n    algorithm: hmac-sha256\n"
            "    secret: %s\n"
            "remote:\n  - id: primary\n    address: %s@%d\n"
            "    key: xfr.mesh.test\n"
            "zone:\n  - domain: mesh.test\n    storage: %%(dir)s\n"
            "    master: primary\n" % (
                base64.b64encode(xsecret).decode(), n.host, n.port))
    with knot_secondary(tmp_path, khost, kport, conf):
        deadline = time.time() + 20
        got = ""
        while time.time() < deadline:
            got = subprocess.run(
                ["dig", "+norec", "+short", "+time=1", "+tries=1",
                 "@" + khost, "-p", str(kport), "slot-7.mb-x.mesh.test",
                 "TXT"], capture_output=True, text=True,
                timeout=10).stdout.strip()
            if got.startswith('"'):
                break
            time.sleep(0.3)
        assert got.strip('"') == "007" * 80, \
            (tmp_path / "knot.log").read_text()[-2000:]
