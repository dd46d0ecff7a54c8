"""Three dmp-nodes serving the same zone, one stopped: writes fan out and
succeed on a majority, reads fail over to a live node."""
import hashlib
import signal
import sqlite3
import time

import pytest

from cli_helpers import User, ZONE, ns_add
from test_cli_reject import last_records, mailbox_slot
from conftest import Node


@pytest.fixture
def cluster(tmp_path):
    """Three nodes for one zone with the same TSIG keys (alice, bob and an
    admin key over the zone); not started."""
    nodes = []
    for i in range(3):
        d = tmp_path / ("n%d" % i)
        d.mkdir()
        nodes.append(Node(d))
    keys = {}
    for who in ("alice", "bob", "admin"):
        keys[who], _ = nodes[0].add_key("%s.%s" % (who, ZONE), ZONE)
    # The same TSIG keys on every node: copy the key table's database.
    src = sqlite3.connect(nodes[0].db)
    for n in nodes[1:]:
        dst = sqlite3.connect(n.db)
        src.backup(dst)
        dst.close()
    src.close()
    yield nodes, keys
    for n in nodes:
        n.stop(signal.SIGKILL)


def users(tmp_path, nodes, keys, replicas=None):
    for n in nodes:
        if n.proc is None:
            n.start()
    alice = User(tmp_path, "alice", nodes[0], key=keys["alice"], nodes=nodes)
    bob = User(tmp_path, "bob", nodes[0], key=keys["bob"], nodes=nodes)
    if replicas is not None:
        alice.set_config("network.replicas", str(replicas))
        bob.set_config("network.replicas", str(replicas))
    alice.publish()
    bob.publish()
    alice.add_contact(bob)
    bob.add_contact(alice)
    return alice, bob


def test_three_nodes_one_stopped(tmp_path, cluster):
    nodes, keys = cluster
    alice, bob = users(tmp_path, nodes, keys)
    bob.publish()
    alice.add_contact(bob)
    bob.add_contact(alice)
    # Every node got the identity (fan-out, not just the first).
    for n in nodes:
        assert "identity" in n.dig("id-" + hashlib.sha256(
            b"bob").hexdigest()[:16] + "." + ZONE, "TXT")
    nodes[0].stop()
    alice.set_config("privacy.delay", "off")  # times below are the node's
    t0 = time.time()
    r = alice.send("bob", b"two of three")
    first = time.time() - t0
    assert r.returncode == 0, r.stderr_text
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    assert [b for _, b in bob.maildir("inbox")] == [b"two of three"]
    assert time.time() - t0 < 30
    # The next sends skip the node the first one found down (kv
    # net.down.<addr>, shared by processes): none pays its retries again.
    took = []
    for i in range(3):
        t1 = time.monotonic()
        r = alice.send("bob", b"again %d" % i)
        took.append(time.monotonic() - t1)
        assert r.returncode == 0, r.stderr_text
        assert "on 2 of 3 nodes" in r.stdout_text + r.stderr_text, \
            r.stdout_text + r.stderr_text
    print("first send %.2f s; with the node known down: %s s" % (
        first, ", ".join("%.2f" % t for t in took)))
    # The first paid the refused node's retries (0.5 + 1 s of backoff,
    # whatever the build's speed); the others must not.
    assert max(took) < first - 1.0, (first, took)
    # A second node down: no majority, the message stays queued.
    nodes[1].stop()
    r = alice.send("bob", b"one of three")
    assert r.returncode == 5, r.stderr_text
    assert "queued" in r.stderr_text


def test_union_read_sees_what_one_node_missed(tmp_path, cluster):
    """The first node was down during the write and answers every slot
    with noise afterwards: a first-answer-wins read would miss the
    message; the union over the nodes does not."""
    nodes, keys = cluster
    alice, bob = users(tmp_path, nodes, keys)
    nodes[0].stop()
    assert alice.send("bob", b"missed by node 0").returncode == 0
    nodes[0].start()
    for s in range(10):
        ns_add(nodes[0], keys["admin"], mailbox_slot(bob, s),
               "v=dmp1;t=manifest;d=bm9pc2U=")
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    assert [b for _, b in bob.maildir("inbox")] == [b"missed by node 0"]


def test_rendezvous_replicas(tmp_path, cluster):
    """network.replicas 2: a mailbox lives on the two nodes with the
    highest SHA-256(node || rid); writer and reader agree."""
    nodes, keys = cluster
    alice, bob = users(tmp_path, nodes, keys, replicas=2)
    assert alice.send("bob", b"on two nodes").returncode == 0
    chunks, mname, _ = last_records(alice)
    holders = [i for i, n in enumerate(nodes)
               if "ANSWER: 1" in n.dig(mname, "TXT")]
    assert len(holders) == 2, holders
    for name in chunks:
        assert [i for i, n in enumerate(nodes)
                if "ANSWER: 1" in n.dig(name, "TXT")] == holders
    # The same choice, computed here.
    x = bob.run("identity", "show", check=True).stdout_text
    xpk = next(l.split()[1] for l in x.splitlines()
               if l.startswith("x25519:"))
    rid = hashlib.sha256(bytes.fromhex(xpk)).digest()
    score = [hashlib.sha256(("%s:%d" % (n.host, n.port)).encode() + rid)
             .digest()[:8] for n in nodes]
    assert holders == sorted(sorted(range(3), key=lambda i: score[i])[1:])
    r = bob.recv()
    assert [b for _, b in bob.maildir("inbox")] == [b"on two nodes"]
    # One of the two down: a majority of the two (one) still takes it.
    nodes[holders[0]].stop()
    assert alice.send("bob", b"one holder left").returncode == 0
    bob.recv()
    assert sorted(b for _, b in bob.maildir("inbox")) == sorted(
        [b"on two nodes", b"one holder left"])
