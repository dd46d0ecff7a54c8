"""Durability: every UPDATE the node acknowledged survives kill -9."""
import signal
import socket
import struct
import threading
import time

from conftest import build_update, parse, query_wire, tcp_read, tsig_sign


def test_kill9_keeps_acknowledged_updates(node):
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
