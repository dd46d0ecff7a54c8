"""The reference node's live capture (tests/vectors/live_capture.json)
served by refnode.py, a double with the reference node's DNS behaviour
(one query per TCP connection, SERVFAIL to TCP queries whose EDNS size is
below the answer), and received by our client as bob
(docs/protocol.md, interoperability). The double's counters show which
transport each read used."""
import base64
import hashlib
import json
import os
import subprocess
import sys
import time

import pytest

from cli_helpers import User
from conftest import VECTORS, free_addr

REFNODE = os.path.join(os.path.dirname(__file__), "refnode.py")
PYTHON = "/usr/bin/python3"


class RefNode:
    """refnode.py on a random 127.0.0.x, stopped at teardown."""

    def __init__(self, tmp_path, zone, flags=()):
        self.host, self.port = free_addr()
        self.dir = str(tmp_path / "refnode")
        os.makedirs(self.dir)
        self.stats_path = os.path.join(self.dir, "stats.json")
        zpath = os.path.join(self.dir, "zone.json")
        with open(zpath, "w") as f:
            json.dump(zone, f)
        ready = os.path.join(self.dir, "ready")
        self.proc = subprocess.Popen(
            [PYTHON, REFNODE, "--listen", "%s:%d" % (self.host, self.port),
             "--zone", zpath, "--stats", self.stats_path, "--ready", ready,
             "--lifetime", "300", "--max-queries", "5000", *flags],
            stderr=open(os.path.join(self.dir, "log"), "wb"))
        for _ in range(250):  # 5 s
            if os.path.exists(ready) or self.proc.poll() is not None:
                break
            time.sleep(0.02)
        assert os.path.exists(ready), "refnode.py did not start"

    def stats(self):
        with open(self.stats_path) as f:
            return json.load(f)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def need_dnspython():
    if subprocess.run([PYTHON, "-c", "import dns.message"],
                      capture_output=True).returncode != 0:
        pytest.skip("python3-dnspython not installed (contrib/deps.sh)")


@pytest.fixture
def refnode(tmp_path):
    need_dnspython()
    cap = json.load(open(os.path.join(VECTORS, "live_capture.json")))
    zone = {}
    for rec in cap["records"]:
        zone.setdefault(rec["name"].rstrip(".") + ".", []).append(
            rec["value"])
    n = RefNode(tmp_path, zone)
    yield n, cap
    n.stop()


def test_live_capture_from_refnode(tmp_path, refnode):
    node, cap = refnode
    b = cap["users"]["bob"]
    key = "hmac-sha256:bob.mesh.test:" + base64.b64encode(
        b"\x01" * 32).decode()
    bob = User(tmp_path, "bob", node, passphrase=b["passphrase"], key=key,
               extra_init=["--salt-hex", b["kdf_salt_hex"]])
    bob.env_extra = {"DMP_FAKE_NOW": str(cap["manifest_ts"])}
    for pk in cap["bob_prekeys"]:
        bob.run("identity", "import-prekey", str(pk["prekey_id"]),
                pk["private_key_hex"], str(pk["exp"]), check=True)
    bob.run("contacts", "add", "alice@mesh.test", check=True)
    before = node.stats()
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    after = node.stats()
    inbox = bob.maildir("inbox")
    assert [body for _, body in inbox] == [
        cap["expected_plaintext"].encode()]
    assert "X-DMP-Forward-Secrecy: yes" in inbox[0][0]
    udp = after["udp"] - before["udp"]
    tcp = after["tcp"] - before["tcp"]
    sys.stderr.write("recv from refnode: %d UDP, %d TCP queries, "
                     "%d SERVFAIL\n" % (udp, tcp, after["servfail"]))
    # Every record of the capture fits the 1232-byte EDNS payload: the
    # poll needs no TCP at all, so nothing hits the one-query-per-
    # connection and EDNS-cap behaviours.
    assert udp > 0
    assert tcp == 0
    assert after["servfail"] == 0
    # The server was never cooled down.
    out = bob.run("resolvers", check=True).stdout_text
    assert "cooldown" not in out, out


def served_txt(node, name):
    """The TXT values the double serves at @name (asked over UDP)."""
    import dns.message
    import dns.query
    q = dns.message.make_query(name, "TXT")
    r = dns.query.udp(q, node.host, port=node.port, timeout=5)
    return sorted(b"".join(rd.strings).decode()
                  for rrset in r.answer for rd in rrset)


def test_identity_publish_on_strict_delete_node(tmp_path):
    """A node that applies UPDATE ops one by one and answers SERVFAIL to
    a delete that matched nothing (issue 13): the first publish of a new
    name still succeeds (add-only retry), and a later publish with a
    changed record replaces the old one."""
    need_dnspython()
    secret = base64.b64encode(b"\x02" * 32).decode()
    node = RefNode(tmp_path, {}, flags=["--update-nomatch-servfail",
                                        "--tsig", "carol.mesh.test:" + secret])
    try:
        key = "hmac-sha256:carol.mesh.test:" + secret
        carol = User(tmp_path, "carol", node, key=key)
        name = "id-%s.mesh.test." % hashlib.sha256(
            b"carol").hexdigest()[:16]
        records = []
        for _ in range(2):
            if records:
                time.sleep(1.1)  # a new ts: a changed record
            r = carol.run("-v", "identity", "publish")
            assert r.returncode == 0, r.stderr_text
            # The first publish (a new name) took the add-only retry; the
            # second is the common path: one replace UPDATE.
            assert ("add-only" in r.stderr_text) == (not records), \
                r.stderr_text
            # Exactly one record is served: replaced, not added.
            served = served_txt(node, name)
            assert len(served) == 1, served
            assert served[0].startswith("v=dmp1;t=identity;"), served
            records.append(served[0])
        assert records[0] != records[1]
    finally:
        node.stop()


def test_three_waiting_messages_one_recv(tmp_path):
    """Three messages waiting on a node with the reference's behaviour
    (one query per TCP connection, SERVFAIL to small-EDNS TCP queries,
    a no-op delete refused): one `dmp recv` delivers all three, with
    forward secrecy, and no server is cooled down (issue 13: with the old
    resolver one recv delivered two and cooled the node down)."""
    need_dnspython()
    secret = base64.b64encode(b"\x03" * 32).decode()
    node = RefNode(tmp_path, {}, flags=[
        "--update-nomatch-servfail",
        "--tsig", "alice.mesh.test:" + secret,
        "--tsig", "bob.mesh.test:" + secret])
    try:
        alice = User(tmp_path, "alice", node,
                     key="hmac-sha256:alice.mesh.test:" + secret)
        bob = User(tmp_path, "bob", node,
                   key="hmac-sha256:bob.mesh.test:" + secret)
        alice.publish()
        bob.publish()
        alice.add_contact(bob)
        bob.add_contact(alice)
        bodies = [("message %d from alice " % i).encode() + b"x" * 900
                  for i in range(3)]
        for b in bodies:
            r = alice.send(bob.address, b)
            assert r.returncode == 0, r.stderr_text
        before = node.stats()
        r = bob.recv()
        assert r.returncode == 0, r.stderr_text
        after = node.stats()
        inbox = bob.maildir("inbox")
        assert sorted(body for _, body in inbox) == sorted(bodies)
        assert all("X-DMP-Forward-Secrecy: yes" in h for h, _ in inbox)
        sys.stderr.write("recv of 3 from refnode: %d UDP, %d TCP queries\n"
                         % (after["udp"] - before["udp"],
                            after["tcp"] - before["tcp"]))
        out = bob.run("resolvers", check=True).stdout_text
        assert "cooldown" not in out, out
    finally:
        node.stop()
