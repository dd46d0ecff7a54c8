"""dmp-node as an authoritative server: dig queries (UDP, TCP, EDNS, case),
negative answers, truncation, nsupdate writes and their rejections."""
import json
import os
import re
import signal
import struct
import time

import pytest

from conftest import (VECTORS, build_update, parse, query_wire, tsig_error,
                      tsig_sign)

SCOPES = ("chunk-*-*.mesh.test", "slot-*.mb-*.mesh.test", "id-alice.mesh.test")


def status(out):
    m = re.search(r"status: (\w+)", out)
    return m.group(1) if m else None


def answers(out):
    sec = out.split(";; ANSWER SECTION:\n")
    if len(sec) < 2:
        return []
    return [l for l in sec[1].split("\n\n")[0].splitlines() if l.strip()]


def test_sigterm_and_empty_zone(node):
    node.start()
    out = node.dig("mesh.test", "SOA")
    assert status(out) == "NOERROR" and "flags: qr aa" in out
    assert "ns1.mesh.test. hostmaster.mesh.test." in out
    assert status(node.dig("nothing.mesh.test", "TXT")) == "NXDOMAIN"
    assert status(node.dig("example.com", "TXT")) == "REFUSED"
    t0 = time.time()
    assert node.stop(signal.SIGTERM) == 0
    assert time.time() - t0 < 5
    assert b"shutting down" in node.log.read_bytes()


def test_write_and_serve(node):
    key, _ = node.add_key("alice.mesh.test", *SCOPES)
    node.start()
    soa0 = node.dig("+short", "mesh.test", "SOA").split()[2]
    r = node.nsupdate(key, "zone mesh.test\nupdate add "
                      "slot-1.mb-abc.mesh.test 300 TXT \"one\"\n"
                      "update add slot-1.mb-abc.mesh.test 300 TXT "
                      "\"two-a\" \"two-b\"")
    assert r.returncode == 0, r.stdout + r.stderr
    soa1 = node.dig("+short", "mesh.test", "SOA").split()[2]
    assert int(soa1) > int(soa0)

    for args in ((), ("+tcp",), ("+noedns",)):
        out = node.dig(*args, "slot-1.mb-abc.mesh.test", "TXT")
        assert status(out) == "NOERROR" and " aa" in out, out
        a = answers(out)
        assert len(a) == 2
        f = [l.split(None, 4) for l in a]
        # Slot answers carry node.answer_ttl_mailbox (2 s, issue 13).
        assert all(x[1:4] == ["2", "IN", "TXT"] for x in f), a
        assert sorted(x[4] for x in f) == ['"one"', '"two-atwo-b"']

    # 0x20: the question comes back exactly as asked.
    out = node.dig("+tcp", "SlOt-1.Mb-AbC.mEsH.TeSt", "TXT")
    q = out.split(";; QUESTION SECTION:\n")[1].splitlines()[0]
    assert q.split() == [";SlOt-1.Mb-AbC.mEsH.TeSt.", "IN", "TXT"], q
    assert len(answers(out)) == 2

    # RFC 8020 / 2308: parent of a name with data is NODATA, with SOA.
    out = node.dig("mb-abc.mesh.test", "TXT")
    assert status(out) == "NOERROR" and "ANSWER: 0" in out
    assert "AUTHORITY: 1" in out and "\tSOA\t" in out
    out = node.dig("slot-2.mb-abc.mesh.test", "TXT")
    assert status(out) == "NXDOMAIN" and "\tSOA\t" in out
    out = node.dig("slot-1.mb-abc.mesh.test", "A")
    assert status(out) == "NOERROR" and "ANSWER: 0" in out

    # Re-adding refreshes, does not duplicate.
    r = node.nsupdate(key, "zone mesh.test\nupdate add "
                      "slot-1.mb-abc.mesh.test 300 TXT \"one\"")
    assert r.returncode == 0
    assert len(answers(node.dig("slot-1.mb-abc.mesh.test", "TXT"))) == 2


def test_truncation(node):
    key, _ = node.add_key("alice.mesh.test", *SCOPES)
    node.start()
    script = "zone mesh.test\n" + "".join(
        "update add slot-7.mb-big.mesh.test 300 TXT \"%s\"\n" % (
            ("%02d" % i) * 100) for i in range(8))
    r = node.nsupdate(key, script)
    assert r.returncode == 0, r.stdout + r.stderr
    name = "slot-7.mb-big.mesh.test"
    # ~8 x 213 bytes: over 512 and over 1232.
    out = node.dig("+noedns", "+ignore", name, "TXT")
    assert " tc" in out.split("flags:")[1].split(";")[0]
    assert "ANSWER: 0" in out
    out = node.dig("+bufsize=4096", "+ignore", name, "TXT")
    assert " tc" in out.split("flags:")[1].split(";")[0]
    assert "udp: 1232" in out
    out = node.dig("+tcp", name, "TXT")
    assert len(answers(out)) == 8
    # Without +ignore dig retries over TCP by itself.
    assert len(answers(node.dig("+noedns", name, "TXT"))) == 8
    # Five values fit in 1232 but not in 512.
    r = node.nsupdate(key, "zone mesh.test\n" + "".join(
        "update add slot-8.mb-big.mesh.test 300 TXT \"%s\"\n" % (
            ("%02d" % i) * 100) for i in range(5)))
    assert r.returncode == 0
    out = node.dig("+bufsize=1232", "+ignore", "slot-8.mb-big.mesh.test",
                   "TXT")
    assert len(answers(out)) == 5
    out = node.dig("+noedns", "+ignore", "slot-8.mb-big.mesh.test", "TXT")
    assert "ANSWER: 0" in out and " tc" in out


def test_update_rejections_store_nothing(node):
    key, secret = node.add_key("alice.mesh.test", *SCOPES)
    other_key, _ = node.add_key("bob.mesh.test", "id-bob.mesh.test")
    node.start()
    add = "zone mesh.test\nupdate add %s 300 TXT \"x\""

    r = node.nsupdate(key, add % "mb-elsewhere.mesh.test")
    assert "REFUSED" in r.stdout + r.stderr
    r = node.nsupdate(other_key, add % "slot-1.mb-q.mesh.test")
    assert "REFUSED" in r.stdout + r.stderr
    bad = key.rsplit(":", 1)[0] + ":" + "A" * 43 + "="
    r = node.nsupdate(bad, add % "slot-1.mb-q.mesh.test")
    assert "NOTAUTH" in r.stdout + r.stderr or r.returncode != 0
    r = node.nsupdate("hmac-sha256:nobody.mesh.test:" + "A" * 43 + "=",
                      add % "slot-1.mb-q.mesh.test")
    assert r.returncode != 0
    r = node.nsupdate(key, "zone mesh.test\nupdate add "
                      "slot-1.mb-q.mesh.test 604801 TXT \"x\"")
    assert "REFUSED" in r.stdout + r.stderr
    r = node.nsupdate(key, "zone mesh.test\nupdate add "
                      "slot-1.mb-q.mesh.test 300 TXT \"x\"\n"
                      "update add other.mesh.test 300 TXT \"y\"")
    assert "REFUSED" in r.stdout + r.stderr
    # A delete needs a suffix without '*'.
    r = node.nsupdate(key, "zone mesh.test\nupdate delete "
                      "slot-1.mb-q.mesh.test TXT")
    assert "REFUSED" in r.stdout + r.stderr

    # Crafted by hand: unknown key and stale time, with TSIG errors.
    wire = build_update("mesh.test", [("slot-1.mb-q.mesh.test", 300, 1,
                                       "x")])
    rep = parse(node.udp(tsig_sign(wire, "nobody.mesh.test", secret)))
    assert rep["rcode"] == 9 and tsig_error(rep) == 17
    rep = parse(node.udp(tsig_sign(wire, "alice.mesh.test", b"x" * 32)))
    assert rep["rcode"] == 9 and tsig_error(rep) == 16
    rep = parse(node.udp(tsig_sign(wire, "alice.mesh.test", secret,
                                   now=int(time.time()) - 301)))
    assert rep["rcode"] == 9 and tsig_error(rep) == 18
    rep = parse(node.udp(tsig_sign(wire, "alice.mesh.test", secret,
                                   now=int(time.time()) + 400)))
    assert rep["rcode"] == 9 and tsig_error(rep) == 18
    rep = parse(node.udp(wire))
    assert rep["rcode"] == 5  # unsigned
    wire2 = build_update("other.test", [("slot-1.mb-q.other.test", 300, 1,
                                         "x")])
    rep = parse(node.udp(tsig_sign(wire2, "alice.mesh.test", secret)))
    assert rep["rcode"] == 9 and tsig_error(rep) == 0  # zone: NOTAUTH
    wire3 = build_update("mesh.test", [("slot-1.mb-q.other.test", 300, 1,
                                        "x")])
    rep = parse(node.udp(tsig_sign(wire3, "alice.mesh.test", secret)))
    assert rep["rcode"] == 10  # NOTZONE

    for name in ("mb-elsewhere.mesh.test", "slot-1.mb-q.mesh.test",
                 "other.mesh.test"):
        assert status(node.dig(name, "TXT")) == "NXDOMAIN", name

    # And a good one through the same path works (signed reply).
    rep = parse(node.udp(tsig_sign(wire, "alice.mesh.test", secret)))
    assert rep["rcode"] == 0 and tsig_error(rep) == 0
    assert len(answers(node.dig("slot-1.mb-q.mesh.test", "TXT"))) == 1


def test_delete(node):
    key, _ = node.add_key("alice.mesh.test", "id-alice.mesh.test")
    node.start()
    r = node.nsupdate(key, "zone mesh.test\n"
                      "update add id-alice.mesh.test 300 TXT \"a\"\n"
                      "update add id-alice.mesh.test 300 TXT \"b\"\n"
                      "update add prekeys.id-alice.mesh.test 300 TXT \"p\"")
    assert r.returncode == 0, r.stdout + r.stderr
    r = node.nsupdate(key, "zone mesh.test\n"
                      "update delete id-alice.mesh.test TXT \"a\"")
    assert r.returncode == 0
    a = answers(node.dig("id-alice.mesh.test", "TXT"))
    assert len(a) == 1 and a[0].endswith('"b"')
    r = node.nsupdate(key, "zone mesh.test\n"
                      "update delete id-alice.mesh.test TXT")
    assert r.returncode == 0
    out = node.dig("id-alice.mesh.test", "TXT")
    assert status(out) == "NOERROR" and "ANSWER: 0" in out  # has a child
    assert len(answers(node.dig("prekeys.id-alice.mesh.test", "TXT"))) == 1


def test_key_cli_and_live_reload(node):
    node.start()
    key, _ = node.add_key("Carol.Mesh.Test.", "slot-*.mb-*.mesh.test")
    assert key.startswith("hmac-sha256:carol.mesh.test:")
    listed = node.cli("key", "list").stdout
    assert "carol.mesh.test hmac-sha256" in listed
    assert "slot-*.mb-*.mesh.test" in listed
    # The running node picks the key up within its maintenance tick.
    deadline = time.time() + 5
    while True:
        r = node.nsupdate(key, "zone mesh.test\nupdate add "
                          "slot-1.mb-c.mesh.test 300 TXT \"c\"")
        if r.returncode == 0 or time.time() > deadline:
            break
        time.sleep(0.3)
    assert r.returncode == 0, r.stdout + r.stderr
    node.cli("key", "revoke", "carol.mesh.test")
    assert node.cli("key", "revoke", "carol.mesh.test",
                    check=False).returncode != 0
    deadline = time.time() + 5
    while True:
        r = node.nsupdate(key, "zone mesh.test\nupdate add "
                          "slot-2.mb-c.mesh.test 300 TXT \"c\"")
        if r.returncode != 0 or time.time() > deadline:
            break
        time.sleep(0.3)
    assert r.returncode != 0
    assert node.cli("key", "add", "x.mesh.test",
                    check=False).returncode != 0  # no --scope


def test_vectors_replayed(node_factory):
    vec = json.load(open(os.path.join(VECTORS, "dns_update.json")))
    case0 = vec["cases"][0]
    n = node_factory(zones=(case0["zone"],),
                     extra=["--fake-now", str(case0["tsig_time_signed"])])
    # The vector key, with the vector secret, inserted through the CLI's
    # database: add a key then overwrite its secret is not possible from
    # the CLI, so use sqlite3 directly.
    n.add_key(case0["tsig_key_name"], "chunk-*-*." + case0["zone"],
              "slot-*.mb-*." + case0["zone"])
    import sqlite3
    db = sqlite3.connect(n.db)
    db.execute("UPDATE tsig_keys SET secret = ? WHERE name = ?",
               (bytes.fromhex(case0["tsig_secret_hex"]),
                case0["tsig_key_name"].rstrip(".")))
    db.commit()
    db.close()
    n.start()
    for case in vec["cases"]:
        wire = bytes.fromhex(case["update_wire_hex"])
        rep = parse(n.udp(wire))
        assert rep["rcode"] == 0, case["description"]
        assert tsig_error(rep) == 0
        assert rep["id"] == case["message_id"]
        # The reply is signed: a 32-byte MAC is there.
        rd = rep["ar"][-1][4]
        assert len(rd) > 32
        got = parse(n.tcp(query_wire(case["name"], 16)))
        assert got["rcode"] == 0 and len(got["an"]) == 1
        rdata = got["an"][0][4]
        joined, off = b"", 0
        while off < len(rdata):
            ln = rdata[off]
            joined += rdata[off + 1:off + 1 + ln]
            off += 1 + ln
        assert joined.decode() == case["value"]
    # Replaying the same signed message inside the fudge window: the
    # node's replay cache refuses it (NOTAUTH, docs/security.md), no
    # duplicate.
    rep = parse(n.udp(bytes.fromhex(vec["cases"][0]["update_wire_hex"])))
    assert rep["rcode"] == 9
    got = parse(n.udp(query_wire(vec["cases"][0]["name"], 16, edns=1232)))
    assert len(got["an"]) == 1


def test_bad_config_reports_location(tmp_path, node):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("node:\n  zones: [mesh.test]\n  colour: blue\n")
    r = node.cli("-c", str(cfg), "-f", check=False)
    assert r.returncode != 0
    assert "%s:3:3: unknown key 'colour'" % cfg in r.stderr


def test_config_file(tmp_path, node):
    cfg = tmp_path / "node.yaml"
    cfg.write_text(
        "node:\n  db: %s\n  zones: [mesh.test, other.test]\n"
        "  ns: [a.ns.test, b.ns.test]\n  apex_a: [192.0.2.7]\n"
        "  answer_ttl: 30\nnetwork:\n  listen: ['%s:%d']\n"
        "  udp_workers: 1\n" % (node.db, node.host, node.port))
    node.zones = ("mesh.test",)
    args = [node.bin, "-f", "-c", str(cfg)]
    import subprocess
    node.logf = open(node.log, "ab")
    node.proc = subprocess.Popen(args, stdout=node.logf,
                                 stderr=subprocess.STDOUT)
    node.wait_ready()
    out = node.dig("mesh.test", "NS")
    assert len(answers(out)) == 2 and "a.ns.test." in out
    out = node.dig("other.test", "A")
    assert answers(out)[0].split()[1:] == ["30", "IN", "A", "192.0.2.7"]


def test_tcp_pipelining_and_malformed(node):
    import socket
    node.start()
    with socket.create_connection((node.host, node.port), timeout=3) as s:
        qs = [query_wire("mesh.test", 6, msg_id=i) for i in range(5)]
        s.sendall(b"".join(struct.pack("!H", len(q)) + q for q in qs))
        from conftest import tcp_read
        ids = sorted(parse(tcp_read(s))["id"] for _ in qs)
        assert ids == list(range(5))
        # Garbage after a header: FORMERR, connection still usable.
        bad = struct.pack("!HHHHHH", 77, 0, 1, 0, 0, 0) + b"\x05ab"
        s.sendall(struct.pack("!H", len(bad)) + bad)
        rep = parse(tcp_read(s))
        assert rep["id"] == 77 and rep["rcode"] == 1
    # UDP: unknown opcode, short packet.
    w = bytearray(query_wire("mesh.test", 6))
    w[2] = 2 << 3
    assert parse(node.udp(bytes(w)))["rcode"] == 4
    import socket as so
    s = so.socket(so.AF_INET, so.SOCK_DGRAM)
    s.settimeout(0.5)
    s.sendto(b"\x01\x02\x03", (node.host, node.port))
    try:
        s.recvfrom(512)
        assert False, "a 3-byte packet got a reply"
    except so.timeout:
        pass
    s.close()
    assert status(node.dig("mesh.test", "SOA")) == "NOERROR"


def test_tcp_idle_timeout_and_client_limit(tmp_path, node_factory):
    import socket
    from conftest import tcp_read
    cfg = tmp_path / "tcp.yaml"
    cfg.write_text("network:\n  tcp_idle_timeout: 1\n  tcp_max_clients: 2\n")
    n = node_factory(extra=["-c", str(cfg)])
    n.start()
    q = query_wire("mesh.test", 6)
    frame = struct.pack("!H", len(q)) + q
    a = socket.create_connection((n.host, n.port), timeout=3)
    b = socket.create_connection((n.host, n.port), timeout=3)
    a.sendall(frame)
    b.sendall(frame)
    assert parse(tcp_read(a))["rcode"] == 0
    assert parse(tcp_read(b))["rcode"] == 0
    c = socket.create_connection((n.host, n.port), timeout=3)
    try:
        c.sendall(frame)
        assert c.recv(2) == b"", "third client served over the limit"
    except ConnectionResetError:
        pass
    c.close()
    # Idle: closed by the node after about a second.
    t0 = time.time()
    assert a.recv(2) == b""
    assert 0.5 < time.time() - t0 < 3
    a.close()
    b.close()
    # Slots are free again.
    assert parse(n.tcp(q))["rcode"] == 0


def test_rate_limit_per_ip(node_factory):
    import socket
    n = node_factory(config="security:\n  rate_limit: 1\n  rate_burst: 5\n")
    n.start()  # the readiness probe takes one token
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    q = query_wire("mesh.test", 6)
    for _ in range(20):
        s.sendto(q, (n.host, n.port))
    got = slips = 0
    try:
        while True:
            r, _ = s.recvfrom(4096)
            if r[2] & 0x02 and r[6:12] == bytes(6):
                slips += 1  # bare TC: every 2nd query over the limit
                assert len(r) <= len(q)
            else:
                got += 1
    except socket.timeout:
        pass
    s.close()
    assert 4 <= got <= 6, got  # burst 5, minus the probe, plus refill
    assert (20 - got) // 2 <= slips <= (20 - got + 1) // 2, (got, slips)
    # TCP has its own bucket.
    assert parse(n.tcp(q))["rcode"] == 0
    # A second later one more token is there.
    time.sleep(1.1)
    assert parse(n.udp(q))["rcode"] == 0


def test_privilege_drop(tmp_path, node_factory):
    import pwd
    import shutil
    import subprocess
    import tempfile
    if os.geteuid() != 0:
        import pytest
        pytest.skip("needs root to drop privileges")
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        import pytest
        pytest.skip("no user nobody")
    d = tempfile.mkdtemp(prefix="dmp-priv-")
    try:
        os.chmod(d, 0o777)
        n = node_factory(config="security:\n  user: nobody\n")
        n.db = os.path.join(d, "node.db")
        key, _ = n.add_key("a.mesh.test", "mesh.test")
        os.chown(n.db, nobody.pw_uid, nobody.pw_gid)
        n.start()
        st = open("/proc/%d/status" % n.proc.pid).read()
        uid_line = [l for l in st.splitlines() if l.startswith("Uid:")][0]
        assert uid_line.split()[1:] == [str(nobody.pw_uid)] * 4
        r = n.nsupdate(key, "zone mesh.test\nupdate add x.mesh.test 60 "
                       "TXT \"as nobody\"")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "as nobody" in n.dig("x.mesh.test", "TXT")
        assert n.stop() == 0
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_axfr_and_knot_secondary(tmp_path, node_factory):
    import subprocess
    from conftest import free_addr
    from knot_helpers import knot_secondary
    khost, kport = free_addr()
    n = node_factory(config="security:\n  xfr_allow: [127.0.0.1]\n"
                     "node:\n  ns: [ns1.mesh.test]\n"
                     "  apex_a: [192.0.2.1]\n"
                     "network:\n  notify: ['%s:%d']\n" % (khost, kport))
    key, _ = n.add_key("alice.mesh.test", *SCOPES)
    n.start()
    script = "zone mesh.test\n" + "".join(
        "update add slot-%d.mb-x.mesh.test 300 TXT \"%s\" \"%s\"\n%s" % (
            i, ("%03d" % i) * 60, "x" * 200, "send\n" if i % 50 == 49 else "")
        for i in range(300))
    r = n.nsupdate(key, script)
    assert r.returncode == 0, r.stdout + r.stderr
    out = n.dig("+tcp", "mesh.test", "AXFR")
    recs = [l.split(None, 4) for l in out.splitlines()
            if l and not l.startswith(";")]
    types = [x[3] for x in recs]
    assert types[0] == "SOA" and types[-1] == "SOA", types[:3]
    assert types.count("TXT") == 300 and "NS" in types and "A" in types
    # 300 x ~300 bytes: more than one message.
    m = re.search(r"XFR size: (\d+) records \(messages (\d+)", out)
    assert m and int(m.group(2)) > 1, out[-300:]
    # Not allowed: from another source address.
    import socket
    from conftest import query_wire
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(3)
    s.bind(("127.0.0.2", 0))
    s.connect((n.host, n.port))
    q = query_wire("mesh.test", 252)
    s.sendall(struct.pack("!H", len(q)) + q)
    from conftest import tcp_read
    assert parse(tcp_read(s))["rcode"] == 5
    s.close()

    # Knot as a secondary.
    conf = ("remote:\n  - id: primary\n    address: %s@%d\n"
            "    via: 127.0.0.1\n"
            "acl:\n  - id: notify\n    address: 127.0.0.0/8\n"
            "    action: notify\n"
            "zone:\n  - domain: mesh.test\n    storage: %%(dir)s\n"
            "    master: primary\n    acl: notify\n" % (n.host, n.port))
    with knot_secondary(tmp_path, khost, kport, conf):
        deadline = time.time() + 20
        got = []
        while time.time() < deadline:
            r = subprocess.run(["dig", "+norec", "+short", "+time=1",
                                "+tries=1", "@" + khost, "-p", str(kport),
                                "slot-7.mb-x.mesh.test", "TXT"],
                               capture_output=True, text=True, timeout=10)
            got = r.stdout.split()
            if got and got[0].startswith('"'):
                break
            time.sleep(0.3)
        assert "".join(x.strip('"') for x in got) == "007" * 60 + "x" * 200, \
            (tmp_path / "knot.log").read_text()[-2000:]
        # A change reaches Knot through NOTIFY and a new transfer.
        r = n.nsupdate(key, "zone mesh.test\nupdate add "
                       "slot-1.mb-new.mesh.test 300 TXT \"fresh\"")
        assert r.returncode == 0
        deadline = time.time() + 20
        while time.time() < deadline:
            r = subprocess.run(["dig", "+norec", "+short", "+time=1",
                                "+tries=1", "@" + khost, "-p", str(kport),
                                "slot-1.mb-new.mesh.test", "TXT"],
                               capture_output=True, text=True, timeout=10)
            if r.stdout.strip() == '"fresh"':
                break
            time.sleep(0.3)
        assert r.stdout.strip() == '"fresh"', \
            (tmp_path / "knot.log").read_text()[-2000:]
