"""Multi-part messages (docs/protocol.md 7.9, issue 18): files larger than
one DMP message through `dmp send` and a dmpfs mount, byte-identical at
the receiver; lost chunk records, a sender killed mid-send, a receiver
offline during the send; and the refusal for a contact that does not
join DMP-PART/1."""
import hashlib
import os
import random
import signal
import time

import pytest

from cli_helpers import User, wait_keys

# rate_limit off: hundreds of UPDATEs a second from one address (the
# node's defaults pace a real sender; here the test's time is the limit).
NODE_CONF = "security:\n  rate_limit: 0\n"


@pytest.fixture
def started(node_factory):
    return node_factory(config=NODE_CONF).start()


def pair(tmp_path, node, multipart=True):
    alice = User(tmp_path, "alice", node)
    bob = User(tmp_path, "bob", node)
    wait_keys()
    alice.publish()
    bob.publish()
    alice.add_contact(bob)
    bob.add_contact(alice)
    if multipart:
        alice.set_config("messages.multipart", '["bob"]')
    return alice, bob


def recv_until(user, n, limit_s=60):
    """recv until @n messages are in inbox (bounded in passes and time)."""
    deadline = time.time() + limit_s
    for _ in range(30):
        r = user.recv()
        assert r.returncode == 0, r.stderr_text
        got = user.maildir("inbox")
        if len(got) >= n or time.time() > deadline:
            return got
    return user.maildir("inbox")


def test_100k_random_through_send(tmp_path, started):
    alice, bob = pair(tmp_path, started)
    blob = random.Random(18).randbytes(100 * 1000)
    t0 = time.time()
    r = alice.send("bob", blob)
    assert r.returncode == 0, r.stderr_text
    sent = time.time() - t0
    inbox = recv_until(bob, 1)
    assert len(inbox) == 1, bob.events()[-5:]
    head, body = inbox[0]
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(blob).hexdigest()
    assert body == blob
    assert "From: alice <alice@mesh.test>" in head
    assert bob.rejections() == []
    # Nothing of the parts is left once the whole is delivered.
    assert os.listdir(os.path.join(bob.home, "parts")) == []
    print("100 KB: sent in %.1f s" % sent)


def test_refused_to_a_contact_without_multipart(tmp_path, started):
    alice, bob = pair(tmp_path, started, multipart=False)
    r = alice.send("bob", b"x" * 5000)
    assert r.returncode != 0
    assert "messages.multipart" in r.stderr_text, r.stderr_text
    assert alice.outbox_records() == []
    alice.set_config("messages.multipart", '["bob"]')
    alice.set_config("messages.max_file", "4000")
    r = alice.send("bob", b"x" * 5000)
    assert r.returncode != 0 and "messages.max_file" in r.stderr_text
    assert alice.outbox_records() == []


def test_1m_random_through_send(tmp_path, started):
    alice, bob = pair(tmp_path, started)
    blob = random.Random(19).randbytes(1000 * 1000)
    t0 = time.time()
    r = alice.send("bob", blob)
    sent = time.time() - t0
    print("1 MB: send rc %d in %.1f s: %s" % (r.returncode, sent, r.stderr_text[-300:]))
    t0 = time.time()
    inbox = recv_until(bob, 1)
    print("1 MB: recv in %.1f s" % (time.time() - t0))
    assert len(inbox) == 1, bob.events()[-5:]
    assert inbox[0][1] == blob
