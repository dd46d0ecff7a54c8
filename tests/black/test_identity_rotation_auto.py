"""identity.key_rotation_interval: the key rotates by itself at the first
unlock after the interval, the rotation reaches the node at the next poll
(also when the unlock could not publish), and a contact follows it.
Out-of-range values are refused with the range. And a mounted dmpfs shows
the rotation it followed in contacts/<alias>."""
import time

from cli_helpers import wait_keys
from fs_helpers import Mesh, need_fuse, wait_for
from test_cli_exchange import pair
from test_identity_rotation import fingerprint


def test_automatic_rotation(tmp_path, node):
    node.start()
    alice, bob = pair(tmp_path, node)
    r = alice.run("config", "set", "identity.key_rotation_interval",
                  "99999999999")
    assert r.returncode != 0 and "0..315360000" in r.stderr_text, \
        r.stderr_text
    alice.run("config", "set", "identity.key_rotation_interval", "86400",
              check=True)
    fp0 = fingerprint(alice)
    assert fingerprint(alice) == fp0  # not due yet: nothing changes
    # A day and a bit later (the node's TSIG window refuses the publish
    # at that clock: the rotation is local until the next poll).
    later = str(int(time.time()) + 90000)
    r = alice.run("status", env={"DMP_FAKE_NOW": later})
    assert r.returncode == 0, r.stderr_text
    fp1 = fingerprint(alice)
    assert fp1 != fp0
    assert any("identity rotated from %s to %s" % (fp0, fp1) in l
               for l in alice.events())
    # Not due again for a day from the rotation.
    assert fingerprint(alice) == fp1
    r = alice.recv()  # maintain: the rotation, identity and prekeys
    assert r.returncode == 0, r.stderr_text
    bob.recv()
    assert any("contact-rotated" in l and fp1 in l for l in bob.events())
    assert alice.send("bob", b"from the rotated key").returncode == 0
    bob.recv()
    inbox = bob.maildir("inbox")
    assert [b for _, b in inbox] == [b"from the rotated key"]
    assert "X-DMP-Verified: yes" in inbox[0][0]


def test_fs_contact_shows_rotation(tmp_path, node):
    """contacts/<alias> of a mounted dmpfs says which key was followed."""
    need_fuse()
    node.start()
    mesh = Mesh(tmp_path, node)
    try:
        alice, _ = mesh.user("alice", mount=False)
        bob, bm = mesh.user("bob")
        wait_keys()
        alice.publish()
        bob.publish()
        bob.add_contact(alice)
        old_fp = fingerprint(alice)
        alice.run("identity", "rotate", check=True)
        new_fp = fingerprint(alice)
        bm.start()
        kv = wait_for(lambda: (lambda k: k if k.get("rotated_from") else
                               None)(bm.kv("contacts/alice")),
                      what="contacts/alice to show the rotation")
        assert kv["fingerprint"] == new_fp and kv["rotated_from"] == old_fp
        assert int(kv["rotated_at"]) > 0 and kv["pinned_how"] == "rotated"
    finally:
        mesh.close()
