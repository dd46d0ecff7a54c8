"""Durability: every UPDATE the node acknowledged survives kill -9."""
import signal
import socket
import struct
import threading
import time

from conftest import build_update, parse, query_wire, tcp_read, tsig_sign


UNLIMITED = "security:\n  rate_limit: 0\n"


def test_kill9_keeps_acknowledged_updates(node_factory):
    node = node_factory(config=UNLIMITED)
    _, secret = node.add_key("w.mesh.test", "slot-*.mb-*.mesh.test")
    node.start()
    acked, stop = [], threading.Event()

    def writer():
        try:
            with socket.create_connection((node.host, node.port),
                                          timeout=5) as s:
                i = 0
                while not stop.is_set():
                    owner = "slot-%d.mb-d%04d.mesh.test" % (i % 10, i)
                    value = "v=%d;" % i + "x" * (i % 300)
                    w = tsig_sign(build_update(
                        "mesh.test", [(owner, 3600, 1, value)]),
                        "w.mesh.test", secret)
                    s.sendall(struct.pack("!H", len(w)) + w)
                    rep = parse(tcp_read(s))
                    if rep["rcode"] == 0:
                        acked.append((owner, value))
                    i += 1
        except (OSError, ConnectionError):
            pass

    th = threading.Thread(target=writer)
    th.start()
    deadline = time.time() + 60
    while len(acked) < 200 and time.time() < deadline and th.is_alive():
        time.sleep(0.01)
    node.proc.send_signal(signal.SIGKILL)  # mid-stream
    node.proc.wait(timeout=10)
    stop.set()
    th.join(timeout=10)
    assert not th.is_alive()
    assert len(acked) >= 200, "writer too slow: %d acks" % len(acked)
    node.proc = None

    node.start()
    with socket.create_connection((node.host, node.port), timeout=5) as s:
        for owner, value in acked:
            q = query_wire(owner, 16)
            s.sendall(struct.pack("!H", len(q)) + q)
            rep = parse(tcp_read(s))
            assert rep["rcode"] == 0, owner
            vals = []
            for rr in rep["an"]:
                rd, off, v = rr[4], 0, b""
                while off < len(rd):
                    v += rd[off + 1:off + 1 + rd[off]]
                    off += 1 + rd[off]
                vals.append(v.decode())
            assert value in vals, owner


def test_kill9_concurrent_udp_group_commit(node_factory):
    """Several UDP writers at once (the writer thread commits them in
    groups); every acknowledged UPDATE survives kill -9."""
    node = node_factory(config=UNLIMITED)
    _, secret = node.add_key("w.mesh.test", "slot-*.mb-*.mesh.test")
    node.start()
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def writer(wid):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        i = 0
        try:
            while not stop.is_set():
                owner = "slot-%d.mb-u%d%05d.mesh.test" % (i % 10, wid, i)
                value = "w%d-%d" % (wid, i)
                w = tsig_sign(build_update(
                    "mesh.test", [(owner, 3600, 1, value)]),
                    "w.mesh.test", secret)
                s.sendto(w, (node.host, node.port))
                rep = parse(s.recv(4096))
                if rep["rcode"] == 0:
                    with lock:
                        acked.append((owner, value))
                i += 1
        except OSError:
            pass
        finally:
            s.close()

    ths = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in ths:
        t.start()
    deadline = time.time() + 60
    while len(acked) < 300 and time.time() < deadline:
        time.sleep(0.01)
    node.proc.send_signal(signal.SIGKILL)
    node.proc.wait(timeout=10)
    stop.set()
    for t in ths:
        t.join(timeout=10)
        assert not t.is_alive()
    node.proc = None
    with lock:
        got = list(acked)
    assert len(got) >= 300, "writers too slow: %d acks" % len(got)

    node.start()
    with socket.create_connection((node.host, node.port), timeout=5) as s:
        for owner, value in got:
            q = query_wire(owner, 16)
            s.sendall(struct.pack("!H", len(q)) + q)
            rep = parse(tcp_read(s))
            assert rep["rcode"] == 0 and len(rep["an"]) == 1, owner
            assert rep["an"][0][4][1:].decode() == value
