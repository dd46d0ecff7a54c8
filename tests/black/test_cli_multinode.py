"""Three dmp-nodes serving the same zone, one stopped: writes fan out and
succeed on a majority, reads fail over to a live node."""
import signal
import sqlite3
import time

from cli_helpers import User, ZONE
from conftest import Node


def test_three_nodes_one_stopped(tmp_path):
    dirs = []
    for i in range(3):
        d = tmp_path / ("n%d" % i)
        d.mkdir()
        dirs.append(d)
    nodes = [Node(d) for d in dirs]
    try:
        ka, _ = nodes[0].add_key("alice.%s" % ZONE, ZONE)
        kb, _ = nodes[0].add_key("bob.%s" % ZONE, ZONE)
        # The same TSIG keys on every node: copy the key table's database.
        src = sqlite3.connect(nodes[0].db)
        for n in nodes[1:]:
            dst = sqlite3.connect(n.db)
            src.backup(dst)
            dst.close()
        src.close()
        for n in nodes:
            n.start()
        alice = User(tmp_path, "alice", nodes[0], key=ka, nodes=nodes)
        bob = User(tmp_path, "bob", nodes[0], key=kb, nodes=nodes)
        alice.publish()
        bob.publish()
        alice.add_contact(bob)
        bob.add_contact(alice)
        # Every node got the identity (fan-out, not just the first).
        for n in nodes:
            assert "identity" in n.dig("id-" + __import__("hashlib").sha256(
                b"bob").hexdigest()[:16] + "." + ZONE, "TXT")
        nodes[0].stop()
        t0 = time.time()
        r = alice.send("bob", b"two of three")
        assert r.returncode == 0, r.stderr_text
        r = bob.recv()
        assert r.returncode == 0, r.stderr_text
        assert [b for _, b in bob.maildir("inbox")] == [b"two of three"]
        assert time.time() - t0 < 30
        # A second node down: no majority, the message stays queued.
        nodes[1].stop()
        r = alice.send("bob", b"one of three")
        assert r.returncode == 5, r.stderr_text
        assert "queued" in r.stderr_text
    finally:
        for n in nodes:
            n.stop(signal.SIGKILL)
