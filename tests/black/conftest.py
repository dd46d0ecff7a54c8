"""Fixtures for black-box tests: a real dmp-node on 127.0.0.x with a temp DB,
queried with dig and written with nsupdate or hand-made RFC 2136 packets.

Every process is started through Node, which records its PID, bounds every
wait and kills it on teardown."""
import base64
import hashlib
import hmac
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import time

import pytest

BUILD = os.environ.get("DMP_BUILD_DIR", "")
VECTORS = os.environ.get(
    "DMP_VECTOR_DIR", os.path.join(os.path.dirname(__file__), "..", "vectors"))


def need(*tools):
    """Skip the calling test (with the reason) unless every program in
    @tools is installed. A test must never pass because its tool is
    missing (tests/check_tests.py)."""
    missing = [t for t in tools if shutil.which(t) is None and
               shutil.which(t, path="/usr/sbin:/sbin") is None]
    if missing:
        pytest.skip("%s not installed (contrib/deps.sh installs it)"
                    % ", ".join(missing))


# A file whose every test was skipped exits 77, which ctest reports as
# skipped (SKIP_RETURN_CODE in tests/CMakeLists.txt) instead of passed.
_outcomes = {"passed": 0, "failed": 0, "skipped": 0}


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _outcomes[report.outcome] = _outcomes.get(report.outcome, 0) + 1


def pytest_sessionfinish(session, exitstatus):
    if (exitstatus == 0 and _outcomes["skipped"] and
            not _outcomes["passed"] and not _outcomes["failed"]):
        session.exitstatus = 77


def node_binary():
    for p in ("tools/dmp-node", "tools/dmp-node/dmp-node"):
        full = os.path.join(BUILD, p)
        if os.path.isfile(full) and os.access(full, os.X_OK):
            return full
    pytest.fail("dmp-node not built (DMP_BUILD_DIR=%r)" % BUILD)


def free_addr():
    """A random 127.0.0.x and a port free for both UDP and TCP."""
    for _ in range(100):
        host = "127.0.0.%d" % random.randint(2, 250)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind((host, 0))
            port = t.getsockname()[1]
            u.bind((host, port))
            return host, port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    pytest.fail("no free port")


# ---- DNS wire helpers (just enough for the tests) ----

def name_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def txt_rdata(value):
    v = value.encode() if isinstance(value, str) else value
    if not v:
        return b"\0"
    return b"".join(bytes([len(v[i:i + 255])]) + v[i:i + 255]
                    for i in range(0, len(v), 255))


def skip_name(msg, off):
    while True:
        l = msg[off]
        if l & 0xC0 == 0xC0:
            return off + 2
        off += 1 + l
        if l == 0:
            return off


def parse(msg):
    """{'id','flags','rcode','qd':bytes,'an','ns','ar': [(owner_off,type,
    class,ttl,rdata)]} ; rcode without the EDNS extension."""
    ident, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    qstart = off
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    res = {"id": ident, "flags": flags, "rcode": flags & 0xF,
           "qd": msg[qstart:off]}
    for sec, cnt in (("an", an), ("ns", ns), ("ar", ar)):
        rrs = []
        for _ in range(cnt):
            start = off
            off = skip_name(msg, off)
            t, c, ttl, rdl = struct.unpack("!HHIH", msg[off:off + 10])
            off += 10
            rrs.append((start, t, c, ttl, msg[off:off + rdl]))
            off += rdl
        res[sec] = rrs
    assert off == len(msg), "trailing bytes in reply"
    return res


def tsig_error(reply):
    """TSIG error of a parsed reply's last additional RR, or None."""
    if not reply["ar"] or reply["ar"][-1][1] != 250:
        return None
    rd = reply["ar"][-1][4]
    off = skip_name(rd, 0) + 8
    mac_len = struct.unpack("!H", rd[off:off + 2])[0]
    off += 2 + mac_len + 2
    return struct.unpack("!H", rd[off:off + 2])[0]


def build_update(zone, ops, msg_id=None):
    """ops: (owner, ttl, cls, value or None); TXT only."""
    msg_id = random.randint(0, 65535) if msg_id is None else msg_id
    body = name_wire(zone) + struct.pack("!HH", 6, 1)
    for owner, ttl, cls, value in ops:
        rd = b"" if value is None else txt_rdata(value)
        body += name_wire(owner) + struct.pack("!HHIH", 16, cls, ttl,
                                               len(rd)) + rd
    return struct.pack("!HHHHHH", msg_id, 5 << 11, 1, 0, len(ops), 0) + body


def tsig_sign(msg, key_name, secret, now=None, fudge=300):
    """RFC 8945 4.3.3: MAC over the message and the TSIG variables."""
    now = int(time.time()) if now is None else now
    kw = name_wire(key_name.lower())
    alg = name_wire("hmac-sha256")
    tvars = kw + struct.pack("!HI", 255, 0) + alg + struct.pack(
        "!HIHHH", now >> 32, now & 0xFFFFFFFF, fudge, 0, 0)
    mac = hmac.new(secret, msg + tvars, hashlib.sha256).digest()
    orig_id = struct.unpack("!H", msg[:2])[0]
    rdata = alg + struct.pack("!HIHH", now >> 32, now & 0xFFFFFFFF, fudge,
                              len(mac)) + mac + struct.pack("!HHH", orig_id,
                                                            0, 0)
    rr = kw + struct.pack("!HHIH", 250, 255, 0, len(rdata)) + rdata
    arcount = struct.unpack("!H", msg[10:12])[0] + 1
    return msg[:10] + struct.pack("!H", arcount) + msg[12:] + rr


def udp_ask(host, port, wire, timeout=3.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.sendto(wire, (host, port))
        data, _ = s.recvfrom(65535)
        return data
    finally:
        s.close()


def tcp_ask(host, port, wire, timeout=3.0):
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        return tcp_read(s)


def tcp_read(s):
    def exact(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf
    ln = struct.unpack("!H", exact(2))[0]
    return exact(ln)


def query_wire(name, qtype=16, edns=None, msg_id=None):
    msg_id = random.randint(0, 65535) if msg_id is None else msg_id
    ar = 1 if edns else 0
    w = struct.pack("!HHHHHH", msg_id, 0, 1, 0, 0, ar) + name_wire(name)
    w += struct.pack("!HH", qtype, 1)
    if edns:
        w += b"\0" + struct.pack("!HHIH", 41, edns, 0, 0)
    return w


# ---- the node under test ----

class Node:
    def __init__(self, tmp_path, zones=("mesh.test",), extra=(), config=None):
        self.tmp = tmp_path
        self.host, self.port = free_addr()
        self.db = str(tmp_path / "node.db")
        self.zones = zones
        self.extra = list(extra)
        if config is not None:
            cfg = tmp_path / ("node-%d.yaml" % self.port)
            cfg.write_text(config)
            self.extra += ["-c", str(cfg)]
        self.proc = None
        self.keys_mark = None
        self.log = tmp_path / "node.log"
        self.bin = node_binary()

    # Nodes whose key table `dmp-node key|token ...` changed while they
    # ran; cli_helpers.wait_keys() waits for each to read it again.
    keys_changed = []
    # Started and not stopped: nodes made in one tmp_path share its
    # node.db and node.log.
    live = []

    def cli(self, *args, check=True):
        r = subprocess.run([self.bin, *args, "--db", self.db],
                           capture_output=True, text=True, timeout=20)
        if check:
            assert r.returncode == 0, r.stderr
        if (r.returncode == 0 and len(args) >= 2 and
                args[0] in ("key", "token") and args[1] != "list" and
                self.proc is not None and self.proc.poll() is None):
            self.keys_mark = (self.log.stat().st_size, time.time())
            if self not in Node.keys_changed:
                Node.keys_changed.append(self)
        return r

    def wait_keys(self, bound=1.3):
        """A running dmp-node reads its key table again at its next
        maintenance tick (once a second) after another process committed
        to it, and logs "reloaded N TSIG keys". Wait for that line after
        the last change (a reload line already written before the change
        may have read the old table); none within @bound seconds of the
        change means the tick came between the commit and the mark, so
        the keys are loaded either way. Every live node sharing this
        node's database and log writes its own line."""
        mark, self.keys_mark = self.keys_mark, None
        if self in Node.keys_changed:
            Node.keys_changed.remove(self)
        if mark is None or self.proc is None or self.proc.poll() is not None:
            return
        off, when = mark
        sharing = sum(1 for n in Node.live if n.log == self.log and
                      n.proc is not None and n.proc.poll() is None)
        while time.time() < when + bound:
            with open(self.log, "rb") as f:
                f.seek(off)
                if len(re.findall(rb"reloaded \d+ TSIG keys",
                                  f.read())) >= sharing:
                    return
            time.sleep(0.02)

    def add_key(self, name, *scopes):
        args = ["key", "add", name]
        for s in scopes:
            args += ["--scope", s]
        out = self.cli(*args).stdout.strip()
        alg, kname, secret = out.split(":")
        assert alg == "hmac-sha256" and kname == name.lower().rstrip(".")
        return out, base64.b64decode(secret)

    def start(self, wait=True):
        args = [self.bin, "-f", "--db", self.db, "--listen",
                "%s:%d" % (self.host, self.port)]
        for z in self.zones:
            args += ["--zone", z]
        args += self.extra
        self.keys_mark = None  # every key is read at start
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(args, stdout=self.logf,
                                     stderr=subprocess.STDOUT)
        if self not in Node.live:
            Node.live.append(self)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("dmp-node exited: %s" % self.log.read_text())
            try:
                udp_ask(self.host, self.port,
                        query_wire(self.zones[0], 6), timeout=0.2)
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail("dmp-node not ready: %s" % self.log.read_text())

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        if self in Node.live:
            Node.live.remove(self)
        if getattr(self, "logf", None):
            self.logf.close()
            self.logf = None
        return rc

    def dig(self, *args):
        need("dig")
        r = subprocess.run(["dig", "+norec", "+time=2", "+tries=1",
                            "@" + self.host, "-p", str(self.port), *args],
                           capture_output=True, text=True, timeout=20)
        return r.stdout

    def nsupdate(self, key, script, timeout=20):
        need("nsupdate")
        full = "server %s %d\n%s\nsend\n" % (self.host, self.port, script)
        return subprocess.run(["nsupdate", "-y", key, "-t", "5"],
                              input=full, capture_output=True, text=True,
                              timeout=timeout)

    def udp(self, wire, timeout=3.0):
        return udp_ask(self.host, self.port, wire, timeout)

    def tcp(self, wire, timeout=3.0):
        return tcp_ask(self.host, self.port, wire, timeout)


@pytest.fixture
def node_factory(tmp_path):
    nodes = []

    def make(**kw):
        n = Node(tmp_path, **kw)
        nodes.append(n)
        return n
    yield make
    stop_and_check(nodes)


def stop_and_check(nodes):
    """Kill @nodes; in sanitizer builds a report in a node's log fails
    the test."""
    for n in nodes:
        n.stop(signal.SIGKILL)
    for n in nodes:
        log = n.log.read_text(errors="replace") if n.log.exists() else ""
        for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                    "WARNING: ThreadSanitizer",
                    "runtime error:"):
            assert bad not in log, log


@pytest.fixture
def node(node_factory):
    return node_factory()
