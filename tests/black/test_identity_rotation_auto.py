"""identity.key_rotation_interval: the key rotates by itself at the first
unlock after the interval, the rotation reaches the node at the next poll
(also when the unlock could not publish), and a contact follows it.
Out-of-range values are refused with the range. And a mounted dmpfs shows
the rotation it followed in contacts/<alias>, and a mount whose key is
rotated under it by the CLI signs nothing more until it is remounted."""
import errno
import time

from cli_helpers import wait_keys
from fs_helpers import Mesh, need_fuse, wait_for
from fs_helpers import pair as fs_pair
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


def test_fs_rotated_under_the_mount(tmp_path, node):
    """`dmp identity rotate` while alice is mounted: the queued message is
    signed again with the new key; the mount, still holding the old key,
    refuses new messages (EKEYREVOKED) and publishes nothing, .status and
    identity/rotation say why; after a remount the message goes out and
    bob, who followed the rotation, receives it verified."""
    need_fuse()
    node.start()
    mesh = Mesh(tmp_path, node)
    try:
        am, bm = fs_pair(mesh, alice_options=("send_delay=60",))
        alice = am.user
        # Queued before the rotation, held in its undo-send window.
        assert am.write("outbox/bob", b"queued before the rotation\n") == 0
        wait_for(lambda: len(am.ls("queue")) == 1, what="alice's queue")
        old_fp = am.read("identity/fingerprint").decode().strip()
        assert am.kv("identity/rotation")["stale"] == "no"
        alice.run("identity", "rotate", check=True)
        new_fp = fingerprint(alice)
        assert new_fp != old_fp
        assert any("1 queued message signed again with the new key" in l
                   for l in alice.events()), alice.events()
        # The mount holds the old key: nothing more is signed with it.
        assert am.write("outbox/bob", b"after the rotation\n") == \
            errno.EKEYREVOKED
        st = am.read(".status").decode()
        assert "rotated by another process" in st and "remount" in st, st
        told = [l for l in alice.events() if " IDENTITY " in l and
                "rotated by another process" in l]
        # Once per key, not once per handle of the three (two handles
        # noticing at the same instant may both tell).
        assert 1 <= len(told) <= 2, alice.events()
        rot = am.kv("identity/rotation")
        assert rot["stale"].startswith("yes"), rot
        assert rot["fingerprint"] == new_fp and rot["previous"] == old_fp
        assert int(rot["rotated_at"]) > 0 and rot["revoked"] == "no"
        wait_for(lambda: bm.kv("contacts/alice").get("fingerprint") ==
                 new_fp, what="bob following alice's rotation")
        # The window is over (made so here); a remount unlocks the new key.
        am.stop()
        with alice.db() as c:
            c.execute("UPDATE outbox SET next_attempt = 0")
        am.start()
        assert am.kv("identity/rotation")["stale"] == "no"
        assert am.read("identity/fingerprint").decode().strip() == new_fp
        wait_for(lambda: bm.messages("inbox"), timeout=30,
                 what="the queued message at bob")
        time.sleep(1.5)  # one more poll of bob's: nothing else arrives
        got = bm.messages("inbox")
        assert [b for _, b in got] == [b"queued before the rotation\n"]
        assert "X-DMP-Verified: yes" in got[0][0], got[0][0]
    finally:
        mesh.close()
