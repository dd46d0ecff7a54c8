"""An attacker on loopback (issue 12, docs/security.md): secrets in files
others may read, read-only commands that create databases, a captured
signed UPDATE replayed inside the TSIG fudge, delete-ANY (RFC 2136 2.5.3)
answered NOERROR outside the key's scope, and TSIG secrets on argv.
Loopback only; every loop is bounded in count and time."""
import os
import socket
import stat
import struct
import subprocess
import time
import urllib.request

import pytest

from cli_helpers import dmp_binary
from conftest import (build_update, free_addr, name_wire, parse, tsig_error,
                      tsig_sign)
from test_node_updlog import values_at as updlog_values_at

ZONE = "mesh.test"


@pytest.fixture
def umask022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def values_at(node, owner):
    return sorted(updlog_values_at(node, owner)[1])


def signed(ops, key, secret):
    return tsig_sign(build_update(ZONE, ops), key, secret)


def delete_any(owner, key, secret):
    """RFC 2136 2.5.3: class ANY, type ANY, TTL 0, no RDATA."""
    body = name_wire(ZONE) + struct.pack("!HH", 6, 1)
    body += name_wire(owner) + struct.pack("!HHIH", 255, 255, 0, 0)
    msg = struct.pack("!HHHHHH", 0x5151, 5 << 11, 1, 0, 1, 0) + body
    return tsig_sign(msg, key, secret)


def metric(n, http, name):
    url = "http://%s:%d/metrics" % http
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return int(line.rsplit(" ", 1)[1])
    raise AssertionError("%s not in /metrics" % name)


def test_file_modes_under_umask_022(tmp_path, node_factory, umask022):
    """node.db (every TSIG secret), its -wal and -shm, the update log and
    the operator key: 0600 after a default start under umask 022."""
    opkey = tmp_path / "operator.key"
    n = node_factory(config="mesh:\n  endpoint: http://127.0.0.1:1\n"
                     "  operator_key: %s\n" % opkey)
    key, secret = n.add_key("w." + ZONE, "mb-a." + ZONE)
    n.start()
    rep = parse(n.udp(signed([("slot-1.mb-a." + ZONE, 60, 1, "v")],
                             "w." + ZONE, secret)))
    assert rep["rcode"] == 0
    for f in (n.db, n.db + "-wal", n.db + "-shm", n.db + ".updlog",
              str(opkey)):
        assert os.path.exists(f), f
        assert mode(f) == 0o600, "%s is %o" % (f, mode(f))


def test_read_only_commands_create_nothing(tmp_path, node):
    missing = tmp_path / "missing.db"
    for args in (("key", "list"), ("token", "list"),
                 ("key", "revoke", "w." + ZONE)):
        r = subprocess.run([node.bin, *args, "--db", str(missing)],
                           capture_output=True, text=True, timeout=20)
        assert r.returncode != 0, args
        assert str(missing) in r.stderr and "no such database" in \
            r.stderr, r.stderr
        assert "--db" in r.stderr  # the next step
        assert sorted(os.listdir(tmp_path)) == [], os.listdir(tmp_path)


def test_replayed_update_is_refused(tmp_path, node_factory):
    http = free_addr()
    n = node_factory(extra=["--http", "%s:%d" % http])
    key, secret = n.add_key("w." + ZONE, "mb-a." + ZONE)
    n.start()
    owner = "slot-1.mb-a." + ZONE
    first = signed([(owner, 300, 1, "secret-value")], "w." + ZONE, secret)
    assert parse(n.udp(first))["rcode"] == 0
    assert values_at(n, owner) == ["secret-value"]
    # A new request (fresh ID, so fresh MAC) deletes it...
    dele = signed([(owner, 0, 254, "secret-value")], "w." + ZONE, secret)
    assert parse(n.udp(dele))["rcode"] == 0
    assert values_at(n, owner) == []
    # ...and the captured bytes of the first, sent again, change nothing.
    before = metric(n, http, 'dmp_node_rejections_total{reason="replay"}')
    rep = parse(n.udp(first))
    assert rep["rcode"] == 9  # NOTAUTH
    assert tsig_error(rep) == 0  # signed reply, not a clock problem
    assert values_at(n, owner) == []
    rep = parse(n.tcp(first))
    assert rep["rcode"] == 9
    assert values_at(n, owner) == []
    # Two copies sent back to back (one batch or two): one accepted.
    twice = signed([(owner, 300, 1, "again")], "w." + ZONE, secret)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    try:
        s.sendto(twice, (n.host, n.port))
        s.sendto(twice, (n.host, n.port))
        codes = sorted(parse(s.recv(4096))["rcode"] for _ in range(2))
    finally:
        s.close()
    assert codes == [0, 9], codes
    assert values_at(n, owner) == ["again"]
    after = metric(n, http, 'dmp_node_rejections_total{reason="replay"}')
    assert after - before == 3


def test_delete_any(tmp_path, node_factory):
    n = node_factory()
    ka, sa = n.add_key("a." + ZONE, "mb-a." + ZONE)
    kb, sb = n.add_key("b." + ZONE, "mb-b." + ZONE)
    n.start()
    mine, theirs = "slot-1.mb-a." + ZONE, "slot-1.mb-b." + ZONE
    assert parse(n.udp(signed([(mine, 300, 1, "x1"), (mine, 300, 1, "x2")],
                              "a." + ZONE, sa)))["rcode"] == 0
    assert parse(n.udp(signed([(theirs, 300, 1, "y")], "b." + ZONE,
                              sb)))["rcode"] == 0
    # Out of scope: REFUSED (never NOERROR), nothing deleted.
    rep = parse(n.udp(delete_any(theirs, "a." + ZONE, sa)))
    assert rep["rcode"] == 5, rep["rcode"]
    assert values_at(n, theirs) == ["y"]
    # In scope: the TXT values at the name are gone.
    rep = parse(n.udp(delete_any(mine, "a." + ZONE, sa)))
    assert rep["rcode"] == 0
    assert values_at(n, mine) == []
    assert values_at(n, theirs) == ["y"]


def cmdline(pid):
    """/proc/PID/cmdline once it shows the program's argv (it may read
    empty for a moment around exec); bounded to 2 s."""
    deadline, seen = time.time() + 2, b""
    while time.time() < deadline:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            seen = f.read()
        if b"init" in seen:
            break
        time.sleep(0.02)
    return seen


def test_init_reads_the_tsig_secret_from_a_file_or_stdin(tmp_path, node):
    key, secret = node.add_key("alice." + ZONE, "alice." + ZONE)
    b64 = key.split(":")[2]
    env = dict(os.environ, DMP_PASSPHRASE="pass-alice-horse")
    env.pop("DMP_FAKE_NOW", None)
    base = ["init", "alice", "--domain", ZONE, "--node",
            "%s:%d" % (node.host, node.port)]

    # --tsig -: the process waits on stdin; its argv holds no secret.
    home = str(tmp_path / "h1")
    p = subprocess.Popen([dmp_binary(), "--home", home, *base, "--tsig",
                          "-"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=env)
    try:
        seen = cmdline(p.pid)
        out, err = p.communicate((key + "\n").encode(), timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=5)
    assert p.returncode == 0, err
    assert b64.encode() not in seen and b"--tsig" in seen
    assert b64 in open(os.path.join(home, "config.yaml")).read()
    assert b"visible" not in err

    # --tsig-file FILE: refused while others may read it, then taken.
    kf = tmp_path / "alice.key"
    kf.write_text(key + "\n")
    kf.chmod(0o644)
    home = str(tmp_path / "h2")
    args = [dmp_binary(), "--home", home, *base, "--tsig-file", str(kf)]
    r = subprocess.run(args, capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode != 0 and "chmod 600" in r.stderr, r.stderr
    kf.chmod(0o600)
    p = subprocess.Popen(args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        try:
            seen = cmdline(p.pid)
        except OSError:
            seen = b""  # already gone: its argv is `args`
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=5)
    assert p.returncode == 0, err
    assert b64.encode() not in seen and b64 not in " ".join(args)
    assert b64 in open(os.path.join(home, "config.yaml")).read()

    # The old form still works, with a warning.
    home = str(tmp_path / "h3")
    r = subprocess.run([dmp_binary(), "--home", home, *base, "--tsig", key],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "visible to other users" in r.stderr
