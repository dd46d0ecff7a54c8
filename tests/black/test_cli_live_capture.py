"""The reference node's live capture (tests/vectors/live_capture.json),
served by dmp-node and received by our client as bob. The capture's
timestamps are real and long expired, so the CLI runs with the test-only
clock override DMP_FAKE_NOW = the manifest's ts."""
import json
import os

from cli_helpers import User, admin_key, ns_add, wait_keys
from conftest import VECTORS


def test_live_capture_received(tmp_path, node):
    cap = json.load(open(os.path.join(VECTORS, "live_capture.json")))
    node.start()
    key = admin_key(node)
    for rec in cap["records"]:
        ns_add(node, key, rec["name"], rec["value"], rec["ttl"])
    b = cap["users"]["bob"]
    bob = User(tmp_path, "bob", node, passphrase=b["passphrase"],
               extra_init=["--salt-hex", b["kdf_salt_hex"]])
    wait_keys()
    bob.env_extra = {"DMP_FAKE_NOW": str(cap["manifest_ts"])}
    show = bob.run("identity", "show", check=True).stdout_text
    assert b["x25519_pub_hex"] in show and b["ed25519_pub_hex"] in show
    for pk in cap["bob_prekeys"]:
        bob.run("identity", "import-prekey", str(pk["prekey_id"]),
                pk["private_key_hex"], str(pk["exp"]), check=True)
    r = bob.run("contacts", "add", "alice@mesh.test", check=True)
    assert cap["users"]["alice"]["ed25519_pub_hex"][:16] in r.stdout_text
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    inbox = bob.maildir("inbox")
    assert [body for _, body in inbox] == [
        cap["expected_plaintext"].encode()]
    head = inbox[0][0]
    assert "From: alice <alice@mesh.test>" in head
    assert "X-DMP-Forward-Secrecy: yes" in head
    assert bob.rejections() == []
    # The prekey was consumed: a second pass finds nothing new.
    r = bob.recv()
    assert len(bob.maildir("inbox")) == 1
