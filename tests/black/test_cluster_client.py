"""Cluster mode of the client (issue 15): three dmp-nodes serve one zone,
the operator signs a cluster manifest and a bootstrap record with
`dmp-node cluster` and publishes them on every node by TSIG UPDATE; the
users' clients know only their domain, a resolver and the zone operator's
key. They find the cluster through `_dmp.<domain>`, keep it in their store,
deliver and receive with one node down, place each mailbox on exactly
network.replicas nodes (rendezvous over the node ids), and a reader puts
back a record one node lost (read repair)."""
import base64
import hashlib
import re
import subprocess
import types

import pytest

from cli_helpers import User, ZONE, ns_delete
from conftest import node_binary
from test_cli_multinode import cluster  # noqa: F401 (the fixture)
from test_cli_reject import last_records


@pytest.fixture
def mesh(tmp_path, cluster):
    """Three started nodes with the same TSIG keys (test_cli_multinode's
    fixture), the manifest and the bootstrap record published on each;
    yields (nodes, keys, zone key, ops: publish() to sign and publish
    again, the --node spec, a second operator key)."""
    nodes, keys = cluster
    for n in nodes:
        n.start()
    op = str(tmp_path / "operator.key")
    nb = node_binary()

    def node_cmd(*args, input=None):
        r = subprocess.run([nb, "cluster", *args], capture_output=True,
                           text=True, timeout=20, input=input)
        assert r.returncode == 0, (args, r.stderr)
        return r.stdout

    pub = node_cmd("pubkey", "--key", op).strip()
    assert re.fullmatch(r"[0-9a-f]{64}", pub)
    spec = []
    for i, n in enumerate(nodes):
        spec += ["--node", "n%d,http://%s:8053,%s:%d" % (i, n.host, n.host,
                                                        n.port)]

    def publish(*args, key=op):
        """Sign with @key and replace the record on every node."""
        for n in nodes:
            node_cmd(args[0], "--key", key, *args[1:], "--publish",
                     "%s:%d" % (n.host, n.port), "--zone", ZONE,
                     "--tsig-file", "-",
                     input=keys["admin"] + "\n")

    publish("sign", "--name", ZONE, "--seq", "7", *spec)
    publish("bootstrap", "--domain", ZONE, "--seq", "3", "--entry",
            "10,%s,%s" % (ZONE, pub))
    for n in nodes:
        assert "t=cluster;" in n.dig("cluster." + ZONE, "TXT")
        assert "t=bootstrap;" in n.dig("_dmp." + ZONE, "TXT")
    ops = types.SimpleNamespace(publish=publish, spec=spec,
                                other_key=str(tmp_path / "other.key"))
    node_cmd("pubkey", "--key", ops.other_key)
    return nodes, keys, pub, ops  # (the cluster fixture stops them)


def domain_user(tmp_path, name, nodes, keys, pub, replicas=None):
    """A client that knows its domain, one resolver (node 0 stands in for
    the system's) and the zone operator's key: no node list."""
    u = User(tmp_path, name, nodes[0], key=keys[name], init=False)
    r = u.run("init", name, "--domain", ZONE, "--resolver",
              "%s:%d" % (nodes[0].host, nodes[0].port), "--zone-key", pub,
              "--tsig", "-", input=(keys[name] + "\n").encode())
    assert r.returncode == 0, r.stderr_text
    if replicas is not None:
        u.set_config("network.replicas", str(replicas))
    return u


def kept(user, key):
    with user.db() as c:
        row = c.execute("SELECT value FROM kv WHERE key = ?",
                        (key,)).fetchone()
    return row[0] if row else None


def holders(nodes, name):
    return [i for i, n in enumerate(nodes)
            if "ANSWER: 1" in n.dig(name, "TXT")]


def test_bootstrap_one_node_down_and_read_repair(tmp_path, mesh):
    nodes, keys, pub, ops = mesh
    alice = domain_user(tmp_path, "alice", nodes, keys, pub)
    bob = domain_user(tmp_path, "bob", nodes, keys, pub)
    alice.publish()
    bob.publish()
    # Found through bootstrap and kept in the store.
    assert kept(alice, "cluster.manifest").startswith("v=dmp1;t=cluster;")
    assert kept(bob, "cluster.base") == ZONE
    # The identity went to every node of the cluster (3 replicas, 3 nodes).
    idname = "id-" + hashlib.sha256(b"bob").hexdigest()[:16] + "." + ZONE
    assert holders(nodes, idname) == [0, 1, 2]
    alice.add_contact(bob)
    bob.add_contact(alice)
    r = alice.send("bob", b"first")
    assert r.returncode == 0, r.stderr_text
    assert "on 3 of 3 nodes" in r.stdout_text, r.stdout_text
    # Node 2 loses the manifest; bob's read puts it back.
    chunks, mname, _ = last_records(alice)
    ns_delete(nodes[2], keys["admin"], mname)
    ns_delete(nodes[2], keys["admin"], sorted(chunks)[0])
    assert holders(nodes, mname) == [0, 1]
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    assert [b for _, b in bob.maildir("inbox")] == [b"first"]
    assert holders(nodes, mname) == [0, 1, 2]
    assert holders(nodes, sorted(chunks)[0]) == [0, 1, 2]
    # Node 0 (also the only resolver) down: the kept cluster still works
    # and a majority of the three takes the message.
    nodes[0].stop()
    r = alice.send("bob", b"second")
    assert r.returncode == 0, r.stderr_text
    assert "on 2 of 3 nodes" in r.stdout_text, r.stdout_text
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    assert sorted(b for _, b in bob.maildir("inbox")) == [b"first",
                                                          b"second"]


def test_rendezvous_places_each_mailbox_on_n_nodes(tmp_path, mesh):
    nodes, keys, pub, ops = mesh
    alice = domain_user(tmp_path, "alice", nodes, keys, pub, replicas=2)
    bob = domain_user(tmp_path, "bob", nodes, keys, pub, replicas=2)
    alice.publish()
    bob.publish()
    alice.add_contact(bob)
    bob.add_contact(alice)
    r = alice.send("bob", b"on two of three")
    assert r.returncode == 0, r.stderr_text
    assert "on 2 of 2 nodes" in r.stdout_text, r.stdout_text
    chunks, mname, _ = last_records(alice)
    got = holders(nodes, mname)
    assert len(got) == 2, got
    for name in chunks:
        assert holders(nodes, name) == got
    # The same choice computed here: SHA-256(node_id || rid), top two.
    x = bob.run("identity", "show", check=True).stdout_text
    xpk = next(l.split()[1] for l in x.splitlines()
               if l.startswith("x25519:"))
    rid = hashlib.sha256(bytes.fromhex(xpk)).digest()
    score = [hashlib.sha256(("n%d" % i).encode() + rid).digest()[:8]
             for i in range(3)]
    assert got == sorted(sorted(range(3), key=lambda i: score[i])[1:])
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    assert [b for _, b in bob.maildir("inbox")] == [b"on two of three"]


def manifest_seq(value):
    """seq of a kept cluster manifest (PROTOCOL.md 2.6: u64 at 7)."""
    blob = base64.b64decode(value.split(";", 2)[2])
    assert blob[:7] == b"DMPCL01"
    return int.from_bytes(blob[7:15], "big")


def test_priority_refresh_and_no_rollback(tmp_path, mesh):
    nodes, keys, pub, ops = mesh
    # The preferred entry's manifest is signed by another key: skipped,
    # the next entry by priority is used.
    ops.publish("sign", "--name", "other." + ZONE, "--seq", "50",
                 *ops.spec, key=ops.other_key)
    ops.publish("bootstrap", "--domain", ZONE, "--seq", "4", "--entry",
                 "5,other.%s,%s" % (ZONE, pub), "--entry",
                 "10,%s,%s" % (ZONE, pub))
    alice = domain_user(tmp_path, "alice", nodes, keys, pub)
    alice.publish()
    assert kept(alice, "cluster.base") == ZONE
    assert manifest_seq(kept(alice, "cluster.manifest")) == 7

    def refresh():
        with alice.db() as c:
            c.execute("DELETE FROM kv WHERE key = 'cluster.checked'")
        alice.publish()

    # An older manifest (seq 5, one node) is not installed: no rollback.
    ops.publish("sign", "--name", ZONE, "--seq", "5", ops.spec[0],
                 ops.spec[1])
    refresh()
    assert manifest_seq(kept(alice, "cluster.manifest")) == 7
    # A newer one (seq 9, two nodes) is, and writes follow it.
    ops.publish("sign", "--name", ZONE, "--seq", "9", *ops.spec[:4])
    refresh()
    assert manifest_seq(kept(alice, "cluster.manifest")) == 9
    # Nodes 1 and 2 down: one of the two nodes is a majority now (it
    # would not be of the three the old manifest listed).
    nodes[1].stop()
    nodes[2].stop()
    r = alice.run("identity", "publish")
    assert r.returncode == 0, r.stderr_text
