"""The update log (node.update_log): acknowledged UPDATEs, adds and deletes,
over UDP one at a time, survive kill -9; a damaged log tail is ignored with
a log line; the serial never goes back; one daemon per log; and with the
log off, sqlite's own fsync still makes every acknowledged UPDATE durable;
a burst of 256 UDP UPDATEs fits network.udp_rcvbuf.
"""
import os
import re
import signal
import socket
import struct
import threading
import time

import pytest
from conftest import build_update, parse, query_wire, tcp_read, tsig_sign


UNLIMITED = "security:\n  rate_limit: 0\n"
SECT = 512


def values_at(node, owner):
    with socket.create_connection((node.host, node.port), timeout=5) as s:
        q = query_wire(owner, 16)
        s.sendall(struct.pack("!H", len(q)) + q)
        rep = parse(tcp_read(s))
    out = []
    for rr in rep["an"]:
        rd, off, v = rr[4], 0, b""
        while off < len(rd):
            v += rd[off + 1:off + 1 + rd[off]]
            off += 1 + rd[off]
        out.append(v.decode())
    return rep["rcode"], out


def soa_serial(node):
    rep = parse(node.udp(query_wire("mesh.test", 6)))
    rd = rep["an"][0][4]
    # MNAME and RNAME are uncompressed names at the start of the RDATA.
    off = 0
    for _ in range(2):
        while rd[off] != 0:
            off += 1 + rd[off]
        off += 1
    return struct.unpack("!I", rd[off:off + 4])[0]


def serial_ge(a, b):
    """RFC 1982: a >= b."""
    return a == b or ((a - b) & 0xFFFFFFFF) < 0x80000000


def udp_stream(node, secret, acked, deleted, stop, prefix, maybe=None):
    """One UPDATE at a time over UDP; every 4th deletes an earlier value.
    A delete whose answer never came (the kill) goes to @maybe: the node
    may or may not have applied it."""
    maybe = set() if maybe is None else maybe
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    i = 0
    try:
        while not stop.is_set():
            if i % 4 == 3 and acked:
                owner, value = acked[len(acked) // 2]
                if (owner, value) in deleted:
                    i += 1
                    continue
                op, rec = (owner, 0, 254, value), ("del", owner, value)
            else:
                owner = "slot-%d.mb-%s%05d.mesh.test" % (i % 10, prefix, i)
                value = "%s-%d;" % (prefix, i) + "y" * (i % 200)
                op, rec = (owner, 3600, 1, value), ("add", owner, value)
            w = tsig_sign(build_update("mesh.test", [op]), "w.mesh.test",
                          secret)
            if rec[0] == "del":
                maybe.add((rec[1], rec[2]))
            s.sendto(w, (node.host, node.port))
            rep = parse(s.recv(4096))
            if rep["rcode"] == 0:
                if rec[0] == "add":
                    acked.append((rec[1], rec[2]))
                else:
                    deleted.add((rec[1], rec[2]))
            maybe.discard((rec[1], rec[2]))
            i += 1
    except OSError:
        pass
    finally:
        s.close()


def check_served(node, acked, deleted, maybe=()):
    for owner, value in acked:
        if (owner, value) in maybe:
            continue
        rcode, vals = values_at(node, owner)
        if (owner, value) in deleted:
            assert value not in vals, "deleted value came back: " + owner
        else:
            assert rcode == 0 and value in vals, owner


def test_kill9_sequential_udp_adds_and_deletes(node_factory):
    node = node_factory(config=UNLIMITED)
    # Deletes need a scope without '*' (PROTOCOL.md 7.1).
    _, secret = node.add_key("w.mesh.test", "mesh.test")
    node.start()
    acked, deleted, stop, maybe = [], set(), threading.Event(), set()
    th = threading.Thread(target=udp_stream,
                          args=(node, secret, acked, deleted, stop, "s",
                                maybe))
    th.start()
    deadline = time.time() + 60
    serial = None
    while len(acked) < 400 and time.time() < deadline and th.is_alive():
        if serial is None and len(acked) > 100:
            serial = soa_serial(node)
        time.sleep(0.005)
    node.proc.send_signal(signal.SIGKILL)  # mid-stream
    node.proc.wait(timeout=10)
    stop.set()
    th.join(timeout=10)
    assert not th.is_alive()
    assert len(acked) >= 400 and deleted, "writer too slow: %d" % len(acked)
    node.proc = None
    node.start()
    # The node answers before its post-replay checkpoint (the maintenance
    # thread's first pass): a crash right after the first answer, most
    # likely before that checkpoint, replays the same log again.
    node.stop(signal.SIGKILL)
    node.start()
    check_served(node, acked, deleted, maybe)
    assert serial is not None and serial_ge(soa_serial(node), serial)
    # A second stream after the restart, and once more.
    node.stop(signal.SIGKILL)
    node.start()
    check_served(node, acked, deleted, maybe)


def log_chain_end(path):
    """Offset after the last record of the chain (format: node_journal.c)."""
    data = open(path, "rb").read()
    off, seq = SECT, None
    while off + SECT <= len(data) and data[off:off + 4] == b"DJR1":
        s, ln = struct.unpack("!QI", data[off + 4:off + 16])
        if seq is not None and s != seq + 1:
            break
        seq = s
        off += (32 + ln + SECT - 1) // SECT * SECT
    return off


def test_kill9_damaged_log_tail_is_ignored(node_factory):
    node = node_factory(config=UNLIMITED)
    _, secret = node.add_key("w.mesh.test", "slot-*.mb-*.mesh.test")
    node.start()
    acked = []
    with socket.create_connection((node.host, node.port), timeout=5) as s:
        for i in range(150):
            owner = "slot-%d.mb-t%04d.mesh.test" % (i % 10, i)
            value = "t-%d" % i
            w = tsig_sign(build_update("mesh.test", [(owner, 3600, 1,
                                                      value)]),
                          "w.mesh.test", secret)
            s.sendall(struct.pack("!H", len(w)) + w)
            assert parse(tcp_read(s))["rcode"] == 0
            acked.append((owner, value))
    node.proc.send_signal(signal.SIGKILL)
    node.proc.wait(timeout=10)
    node.proc = None
    log = node.db + ".updlog"
    assert os.path.getsize(log) >= 1024 * 1024
    end = log_chain_end(log)
    # A torn write: a record header and half a payload of garbage.
    with open(log, "r+b") as f:
        f.seek(end)
        f.write(b"DJR1" + struct.pack("!QI", 1 << 40, 300) + os.urandom(200))
    node.start()
    check_served(node, acked, set())
    text = node.log.read_text(errors="replace")
    assert "torn or damaged record" in text, text
    # Started cleanly: the log holds nothing now, and a restart is quiet.
    node.stop()
    node.start()
    check_served(node, acked, set())


def test_one_daemon_per_log(node_factory):
    """A second daemon on the same database runs without the log (the
    first one owns it) and its UPDATEs are still durable."""
    node = node_factory(config=UNLIMITED)
    _, secret = node.add_key("w.mesh.test", "mesh.test")
    node.start()
    other = node_factory(config=UNLIMITED)  # same tmp dir: same db
    assert other.db == node.db
    other.start()
    assert "held by another process" in other.log.read_text()
    w = tsig_sign(build_update("mesh.test", [("x.mesh.test", 3600, 1,
                                              "second")]),
                  "w.mesh.test", secret)
    assert parse(other.udp(w))["rcode"] == 0
    other.proc.send_signal(signal.SIGKILL)
    other.proc.wait(timeout=10)
    other.proc = None
    node.stop()
    node.start()
    assert "second" in values_at(node, "x.mesh.test")[1]


def test_kill9_log_off_still_durable(node_factory):
    node = node_factory(config=UNLIMITED + "node:\n  update_log: \"off\"\n")
    # Deletes need a scope without '*' (PROTOCOL.md 7.1).
    _, secret = node.add_key("w.mesh.test", "mesh.test")
    node.start()
    acked, deleted, stop, maybe = [], set(), threading.Event(), set()
    th = threading.Thread(target=udp_stream,
                          args=(node, secret, acked, deleted, stop, "o",
                                maybe))
    th.start()
    deadline = time.time() + 60
    while len(acked) < 150 and time.time() < deadline and th.is_alive():
        time.sleep(0.005)
    node.proc.send_signal(signal.SIGKILL)
    node.proc.wait(timeout=10)
    stop.set()
    th.join(timeout=10)
    node.proc = None
    assert len(acked) >= 150
    assert not os.path.exists(node.db + ".updlog")
    node.start()
    check_served(node, acked, deleted, maybe)


def test_full_disk_servfail_and_no_acked_loss(tmp_path):
    """Database and log on a small tmpfs (no O_DIRECT there: the O_DSYNC
    fallback): once the disk is full, UPDATEs get SERVFAIL, not a NOERROR
    that could be lost; after kill -9 and room again, every acknowledged
    one is served."""
    import errno
    import subprocess

    import pytest
    from conftest import Node

    small = tmp_path / "small"
    small.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0700",
                        "tmpfs", str(small)], capture_output=True, timeout=20)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr.decode())
    node = Node(small, config=UNLIMITED)
    filler = small / "filler"
    try:
        _, secret = node.add_key("w.mesh.test", "mesh.test")
        node.start()
        fd = os.open(str(filler), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for size in (65536, 4096, 1):
                try:
                    while True:
                        os.write(fd, b"\0" * size)
                except OSError as e:
                    assert e.errno == errno.ENOSPC
        finally:
            os.close(fd)
        acked, servfail = [], 0
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(3)
        for i in range(3000):
            owner = "slot-%d.mb-f%05d.mesh.test" % (i % 10, i)
            value = "f-%d;" % i + "z" * 1500
            w = tsig_sign(build_update("mesh.test", [(owner, 3600, 1,
                                                      value)]),
                          "w.mesh.test", secret)
            s.sendto(w, (node.host, node.port))
            rc = parse(s.recv(4096))["rcode"]
            if rc == 0:
                acked.append((owner, value))
            else:
                assert rc == 2, "rcode %d" % rc
                servfail += 1
                if servfail >= 20:
                    break
        s.close()
        assert servfail >= 20, "the full disk never showed"
        assert acked, "nothing acknowledged before the disk was full"
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(timeout=10)
        node.proc = None
        filler.unlink()
        node.start()
        check_served(node, acked, set())
    finally:
        node.stop(signal.SIGKILL)
        subprocess.run(["umount", "-l", str(small)], capture_output=True,
                       timeout=20)


def test_udp_burst_of_256_updates_all_answered(node_factory):
    """256 UPDATEs sent at once from one socket: with network.udp_rcvbuf
    (4 MiB by default) the kernel queues them all while the node works
    (at the kernel's 208 KiB default about 90 were dropped unseen); the
    size the kernel took is logged at start."""
    node = node_factory(config=UNLIMITED)
    _, secret = node.add_key("w.mesh.test", "mesh.test")
    node.start()
    log = node.log.read_text(errors="replace")
    m = re.search(r"UDP receive buffer (\d+) KiB per socket", log)
    assert m, "no receive buffer line at start"
    if "capped by the kernel" in log:
        pytest.skip("skipped: not root and net.core.rmem_max below 4 MiB "
                    "(the node warned); the burst would overrun it")
    assert int(m.group(1)) >= 8192  # the kernel counts twice 4 MiB
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(10)
    n = 256
    try:
        for i in range(n):
            op = ("chunk-%04d-burst.mesh.test" % i, 3600, 1,
                  "v=dmp1;t=chunk;d=" + "b" * 224)
            w = tsig_sign(build_update("mesh.test", [op], msg_id=i),
                          "w.mesh.test", secret)
            s.sendto(w, (node.host, node.port))
        got = set()
        deadline = time.time() + 60
        while len(got) < n and time.time() < deadline:
            rep = s.recv(4096)
            rid = struct.unpack("!H", rep[:2])[0]
            assert rep[3] & 15 == 0, "UPDATE %d refused" % rid
            got.add(rid)
    except OSError:
        pass
    finally:
        s.close()
    assert len(got) == n, "%d of %d UPDATEs unanswered" % (n - len(got), n)
    rcode, vals = values_at(node, "chunk-0255-burst.mesh.test")
    assert rcode == 0 and len(vals) == 1


def test_udp_rcvbuf_range(node_factory):
    node = node_factory(config="network:\n  udp_rcvbuf: 268435457\n")
    node.start(wait=False)
    assert node.proc.wait(timeout=20) != 0
    log = node.log.read_text(errors="replace")
    assert "udp_rcvbuf" in log and "0..268435456" in log, log
