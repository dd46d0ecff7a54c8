"""Key rotation and revocation (PROTOCOL.md 2.9, 2.10, 8) through a real
dmp-node: a rotated contact keeps exchanging mail without re-pinning (both
ways), mail sent to the previous key still opens, a forged rotation (wrong
old-key signature) is ignored, a revoked key is refused with the reason."""
import base64
import hashlib
import struct
import time

import pytest

from cli_helpers import admin_key, ns_add, ZONE
from test_cli_exchange import pair

try:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey)
    from cryptography.hazmat.primitives import serialization
except ImportError:  # pragma: no cover
    Ed25519PrivateKey = None


def shown(user, field):
    """One field of `dmp identity show`."""
    r = user.run("identity", "show", check=True)
    for line in r.stdout_text.splitlines():
        if line.startswith(field + ":"):
            return line.split()[1]
    raise AssertionError(r.stdout_text)


def fingerprint(user):
    return shown(user, "fingerprint")


def ed25519_hex(user):
    return shown(user, "ed25519")


def pinned_key(user, alias):
    with user.db() as c:
        row = c.execute("SELECT ed25519_pk, prev_ed25519_pk, rotated_at, "
                        "revoked FROM contact WHERE alias = ?",
                        (alias,)).fetchone()
    return (row[0].hex(), row[1].hex() if row[1] else None, row[2], row[3])


@pytest.fixture
def started(node):
    return node.start()


def test_rotated_contact_both_ways(tmp_path, started):
    alice, bob = pair(tmp_path, started)
    old_fp = fingerprint(alice)
    old_pk = ed25519_hex(alice)
    # Sent to the key alice has now; she reads it only after rotating.
    r = bob.send("alice", b"to your old key")
    assert r.returncode == 0, r.stderr_text
    r = alice.run("identity", "rotate")
    assert r.returncode == 0, r.stderr_text
    new_fp = fingerprint(alice)
    assert new_fp != old_fp
    assert "rotated:     %s -> %s" % (old_fp, new_fp) in r.stdout_text
    # The same passphrase still unlocks, now to the new key.
    assert ed25519_hex(alice) != old_pk
    r = alice.recv()
    assert r.returncode == 0, r.stderr_text
    assert [b for _, b in alice.maildir("inbox")] == [b"to your old key"]
    # bob follows the rotation on his next poll: no re-pin by hand.
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    now_pk, prev_pk, rotated_at, revoked = pinned_key(bob, "alice")
    assert now_pk == ed25519_hex(alice) and prev_pk == old_pk
    assert rotated_at > 0 and revoked == 0
    ev = [l for l in bob.events() if "contact-rotated" in l]
    assert len(ev) == 1 and old_fp in ev[0] and new_fp in ev[0], ev
    r = bob.run("contacts", "list", check=True)
    assert "%s rotated" % new_fp in r.stdout_text, r.stdout_text
    # Both ways, with the new key.
    assert bob.send("alice", b"to your new key").returncode == 0
    assert alice.send("bob", b"signed by my new key").returncode == 0
    alice.recv()
    bob.recv()
    assert sorted(b for _, b in alice.maildir("inbox")) == sorted(
        [b"to your old key", b"to your new key"])
    inbox = bob.maildir("inbox")
    assert [b for _, b in inbox] == [b"signed by my new key"]
    assert "X-DMP-Verified: yes" in inbox[0][0]
    assert alice.rejections() == [] and bob.rejections() == []


def forged_rotation(subject, old_pk, new_key, wrong_old_key):
    """A rotation naming @old_pk whose old signature is by another key."""
    raw = serialization.Encoding.Raw
    fmt = serialization.PublicFormat.Raw
    new_pk = new_key.public_key().public_bytes(raw, fmt)
    now = int(time.time())
    body = (b"DMPROT1" + bytes([1, len(subject)]) + subject.encode() +
            old_pk + new_pk + struct.pack(">QQQ", now * 1000 + 5, now,
                                          now + 86400 * 30))
    sig = wrong_old_key.sign(body) + new_key.sign(body)
    return "v=dmp1;t=rotation;" + base64.b64encode(body + sig).decode()


@pytest.mark.skipif(Ed25519PrivateKey is None,
                    reason="python3-cryptography (Ed25519) not installed")
def test_forged_rotation_ignored(tmp_path, started):
    alice, bob = pair(tmp_path, started)
    pk = bytes.fromhex(ed25519_hex(alice))
    forged = forged_rotation("alice@" + ZONE, pk, Ed25519PrivateKey.generate(),
                             Ed25519PrivateKey.generate())
    # PROTOCOL.md 3.1: rotate.id-<h16(username)>.<zone>.
    h16 = hashlib.sha256(b"alice").hexdigest()[:16]
    owner = "rotate.id-%s.%s" % (h16, ZONE)
    ns_add(started, admin_key(started), owner, forged)
    assert "t=rotation" in started.dig(owner, "TXT")
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    assert pinned_key(bob, "alice")[0] == pk.hex()
    assert not [l for l in bob.events() if "contact-rotated" in l]
    assert alice.send("bob", b"still me").returncode == 0
    bob.recv()
    assert [b for _, b in bob.maildir("inbox")] == [b"still me"]


def test_revoked_key_refused(tmp_path, started):
    alice, bob = pair(tmp_path, started)
    # One message waiting in bob's queue (held) when he learns of it.
    assert bob.send("alice", b"queued before").returncode == 0
    with bob.db() as c:
        c.execute("UPDATE outbox SET state = 4, next_attempt = ?",
                  (int(time.time()) + 3600,))
    r = alice.run("identity", "revoke", "--reason", "routine")
    assert r.returncode == 0, r.stderr_text
    assert "revoked" in r.stdout_text
    r = alice.run("identity", "revoke", "--reason", "bogus")
    assert r.returncode == 2 and "compromise, routine" in r.stderr_text
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    assert pinned_key(bob, "alice")[3] == 2  # routine
    r = bob.run("contacts", "list", check=True)
    assert " REVOKED" in r.stdout_text, r.stdout_text
    r = bob.send("alice", b"after the revocation")
    assert r.returncode != 0
    assert "revoked" in r.stderr_text, r.stderr_text
    ev = bob.events()
    assert any(" FAILED " in l and "revoked" in l for l in ev), ev
    assert any(" REJECTED " in l and "revoked" in l for l in ev), ev
    r = alice.run("identity", "rotate")
    assert r.returncode != 0 and "revoked" in r.stderr_text

