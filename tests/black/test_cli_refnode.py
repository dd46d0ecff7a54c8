"""The reference node's live capture (tests/vectors/live_capture.json)
served by refnode.py, a double with the reference node's DNS behaviour
(one query per TCP connection, SERVFAIL to TCP queries whose EDNS size is
below the answer), and received by our client as bob
(docs/protocol.md, interoperability). The double's counters show which
transport each read used."""
import base64
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

    def __init__(self, tmp_path, zone):
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
             "--lifetime", "300", "--max-queries", "5000"],
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


@pytest.fixture
def refnode(tmp_path):
    if subprocess.run([PYTHON, "-c", "import dns.message"],
                      capture_output=True).returncode != 0:
        pytest.skip("python3-dnspython not installed (contrib/deps.sh)")
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
