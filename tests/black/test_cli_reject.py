"""Receive-side rejections through the `dmp` CLI and a real dmp-node: each
refused record is logged (events.log, stderr) with its own reason and
nothing is delivered. Unpinned senders go to the intro Maildir."""
import hashlib
import os
import time

import pytest

from cli_helpers import User, admin_key, flip_b64, ns_add, ns_delete, \
    wait_keys


@pytest.fixture
def trio(tmp_path, node):
    # Keys added before the start: the node reads them at start, no
    # waiting for its maintenance tick (wait_keys).
    alice = User(tmp_path, "alice", node)
    bob = User(tmp_path, "bob", node)
    carol = User(tmp_path, "carol", node)
    node.start()
    for u in (alice, bob, carol):
        u.publish()
    alice.add_contact(bob)
    alice.add_contact(carol)
    bob.add_contact(alice)
    carol.add_contact(bob)
    return node, alice, bob, carol


def last_records(user):
    """(chunks {name: value}, manifest name, manifest value) of the newest
    message in the user's outbox."""
    with user.db() as c:
        oid = c.execute("SELECT max(id) FROM outbox").fetchone()[0]
        rows = c.execute("SELECT name, value FROM outbox_record WHERE "
                         "outbox_id = ? ORDER BY seq", (oid,)).fetchall()
    chunks = {n: v for n, v in rows if n.startswith("chunk-")}
    mname, mval = rows[-1]
    assert mname.startswith("slot-")
    return chunks, mname, mval


def mailbox_slot(user, slot):
    x = user.run("identity", "show", check=True).stdout_text
    xpk = next(l.split()[1] for l in x.splitlines()
               if l.startswith("x25519:"))
    rid = hashlib.sha256(bytes.fromhex(xpk)).digest()
    return "slot-%d.mb-%s.mesh.test" % (
        slot, hashlib.sha256(rid).hexdigest()[:12])


def assert_nothing_delivered(bob):
    assert bob.maildir("inbox") == []
    assert bob.maildir("intro") == []


def test_tampered_chunk(trio):
    node, alice, bob, _ = trio
    assert alice.send("bob", os.urandom(600)).returncode == 0
    chunks, _, _ = last_records(alice)
    key = admin_key(node)
    for name, value in chunks.items():
        ns_delete(node, key, name)
        ns_add(node, key, name, flip_b64(value))
    r = bob.recv()
    assert_nothing_delivered(bob)
    assert "chunk does not match the manifest" in r.stderr_text
    assert any("chunk does not match the manifest" in l
               for l in bob.rejections())


def test_forged_manifest(trio):
    node, alice, bob, _ = trio
    assert alice.send("bob", b"real").returncode == 0
    _, mname, mval = last_records(alice)
    key = admin_key(node)
    ns_delete(node, key, mname)
    ns_add(node, key, mname, flip_b64(mval, 70))  # inside the signed body
    r = bob.recv()
    assert_nothing_delivered(bob)
    assert "signature does not verify" in r.stderr_text
    assert any("signature does not verify" in l for l in bob.rejections())


def test_manifest_for_someone_else(trio):
    node, alice, bob, _ = trio
    assert alice.send("carol", b"for carol only").returncode == 0
    _, _, mval = last_records(alice)
    key = admin_key(node)
    ns_add(node, key, mailbox_slot(bob, 3), mval)
    r = bob.recv()
    assert_nothing_delivered(bob)
    assert "addressed to another recipient" in r.stderr_text
    assert any("addressed to another recipient" in l
               for l in bob.rejections())


def test_replayed_manifest(trio):
    node, alice, bob, _ = trio
    assert alice.send("bob", b"once").returncode == 0
    _, mname, mval = last_records(alice)
    bob.recv()
    assert [b for _, b in bob.maildir("inbox")] == [b"once"]
    slot = int(mname.split(".")[0].split("-")[1])
    key = admin_key(node)
    ns_add(node, key, mailbox_slot(bob, (slot + 1) % 10), mval)
    r = bob.recv()
    assert [b for _, b in bob.maildir("inbox")] == [b"once"]
    assert "already received (replay)" in r.stderr_text
    assert any("replay" in l for l in bob.rejections())
    # Judged once: the next pass is quiet.
    r = bob.recv()
    assert "replay" not in r.stderr_text


def test_expired_manifest(trio):
    node, alice, bob, _ = trio
    # Written 290 s "ago" with a 60 s lifetime: the node still serves it
    # (TTL counts from the write), but the manifest's exp has passed.
    past = str(int(time.time()) - 290)
    r = alice.send("bob", b"too late", "--lifetime", "60",
                   env={"DMP_FAKE_NOW": past})
    assert r.returncode == 0, r.stderr_text
    r = bob.recv()
    assert_nothing_delivered(bob)
    assert "record has expired" in r.stderr_text
    assert any("record has expired" in l for l in bob.rejections())


def test_unpinned_sender_goes_to_intro(trio):
    node, alice, bob, carol = trio
    assert carol.send("bob", b"hi bob, you don't know me").returncode == 0
    r = bob.recv()
    assert r.returncode == 0
    assert bob.maildir("inbox") == []
    intro = bob.maildir("intro")
    assert [b for _, b in intro] == [b"hi bob, you don't know me"]
    head = intro[0][0]
    # The claimed address is checked against its published identity
    # (PROTOCOL.md 4.5 label check) but carol is still not a contact.
    assert "carol@mesh.test" in head and "not a contact" in head
    assert "X-DMP-Verified: no" in head
    assert "[intro" in r.stdout_text
    assert any(" INTRO " in l for l in bob.events())
    # Never auto-pinned.
    assert "carol" not in bob.run("contacts", "list").stdout_text


def test_blocked_sender_dropped(trio):
    node, alice, bob, _ = trio
    bob.run("contacts", "block", "alice", check=True)
    assert alice.send("bob", b"blocked").returncode == 0
    r = bob.recv()
    assert_nothing_delivered(bob)
    assert "sender is blocked" in r.stderr_text


def test_reasons_are_distinct(trio):
    """The reasons the tests above look for are different texts."""
    reasons = ["chunk does not match the manifest",
               "signature does not verify",
               "addressed to another recipient",
               "already received (replay)", "record has expired",
               "sender is blocked", "wrong passphrase"]
    assert len(set(reasons)) == len(reasons)
    _, _, bob, _ = trio
    r = bob.run("status", passphrase="wrong one")
    assert r.returncode == 3 and "wrong passphrase" in r.stderr_text


def test_intro_with_a_false_from_claim(trio, tmp_path):
    node, alice, bob, carol = trio
    mallory = User(tmp_path, "mallory", node)
    wait_keys()
    mallory.add_contact(bob)
    # Mallory claims carol's address in the DMPv2 envelope.
    mallory.set_config("identity.username", "carol")
    assert mallory.send("bob", b"it's me, carol").returncode == 0
    bob.recv()
    intro = bob.maildir("intro")
    assert [b for _, b in intro] == [b"it's me, carol"]
    assert "carol@mesh.test" in intro[0][0]
    assert "not verified" in intro[0][0]


def test_ambiguous_name_needs_a_fingerprint(trio, tmp_path):
    node, alice, bob, carol = trio
    mallory = User(tmp_path, "mallory", node)
    mallory.set_config("identity.username", "bob")
    rec = next(l.split()[1] for l in mallory.run(
        "identity", "show", check=True).stdout_text.splitlines()
        if l.startswith("record:"))
    bob_show = bob.run("identity", "show", check=True).stdout_text
    fp = next(l.split()[1] for l in bob_show.splitlines()
              if l.startswith("fingerprint:"))
    key = admin_key(node)
    ns_add(node, key, "id-%s.mesh.test" % hashlib.sha256(
        b"bob").hexdigest()[:16], rec, 86400)
    r = carol.run("contacts", "add", "bob@mesh.test", "bob2")
    assert r.returncode == 10, r.stderr_text
    assert "fingerprint" in r.stderr_text
    r = carol.run("contacts", "add", "bob@mesh.test", "bob2",
                  "--fingerprint", "0123456789abcdef")
    assert r.returncode != 0 and "no key with fingerprint" in r.stderr_text
    r = carol.run("contacts", "add", "bob@mesh.test", "bob2",
                  "--fingerprint", fp)
    assert r.returncode == 0, r.stderr_text
    assert fp in r.stdout_text
    lst = carol.run("contacts", "list", check=True).stdout_text
    assert "bob2" in lst and fp in lst
