"""The mailbox tells the truth, through the `dmp` CLI (issue 12, client
side; issue 14 items 6, 7 and 14):

- a mailbox slot the client cannot read (truncated and empty over UDP and
  TCP, SERVFAIL, REFUSED) is reported by `dmp recv` (exit 1, the slot,
  where it was asked and why), `dmp status` and events.log, never "no new
  messages"; a slot that is really empty (NXDOMAIN) still is;
- after the node comes back, `dmp flush` (and `dmp recv`) send what
  waited, oldest first, and a newer message never overtakes an older one
  to the same recipient;
- `dmp status` shows failing and expired messages, the last error with
  its time, clears it once resolved, and says "rejected" while the node
  refuses our TSIG key; `dmp resolvers` asks each server now;
- events.log has ISO 8601 times next to the Unix ones and quotes a peer
  with spaces.

refnode.py (the reference-behaviour double) plays the node for the slot
failures (--slot-fail-file), real dmp-node processes for the rest."""
import base64
import os
import re
import time

import pytest

from cli_helpers import User, wait_keys
from test_cli_exchange import pair
from test_cli_refnode import RefNode, need_dnspython

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.fixture
def started(node):
    return node.start()


def status(user):
    r = user.run("status", check=True)
    out = {}
    for line in r.stdout_text.splitlines():
        k, _, v = line.partition(":")
        out[k.strip()] = v.strip()
    return out


def test_unreadable_slot_is_not_empty(tmp_path):
    need_dnspython()
    mode = tmp_path / "slot-mode"
    mode.write_text("ok")
    node = RefNode(tmp_path, {}, flags=("--slot-fail-file", str(mode)))
    try:
        key = "hmac-sha256:bob.mesh.test:" + base64.b64encode(
            b"\x01" * 32).decode()
        bob = User(tmp_path, "bob", node, key=key)
        where = "%s:%d" % (node.host, node.port)
        # Really empty (NXDOMAIN everywhere): "no new messages", exit 0.
        r = bob.recv()
        assert r.returncode == 0, r.stderr_text
        assert "no new messages" in r.stderr_text
        for m, why in (("tc", "truncated"), ("servfail", "server failure"),
                       ("refused", "refused")):
            mode.write_text(m)
            t0 = time.time()
            r = bob.recv()
            took = time.time() - t0
            assert r.returncode == 1, (m, r.stderr_text)
            err = r.stderr_text
            assert "no new messages" not in err, err
            assert "could not read 10 mailbox slots" in err, err
            assert re.search(r"slot-\d\.mb-[0-9a-f]+\.mesh\.test", err), err
            assert where in err and why in err, err
            assert took < 15, took
            s = status(bob)
            assert s["state"] == "degraded", s
            assert s["unreadable"].startswith("10 mailbox slots"), s
            assert why in s["unreadable"] and "operator" in s["next step"]
        ev = [l for l in bob.events() if " UNREADABLE " in l]
        # One line per change (tc, servfail, refused), each with its cause.
        assert len(ev) == 3, ev
        assert "truncated" in ev[0] and "server failure" in ev[1], ev
        assert node.stats()["slot_fail"] > 0
        # Back to normal: empty again, the warning clears.
        mode.write_text("ok")
        r = bob.recv()
        assert r.returncode == 0 and "no new messages" in r.stderr_text, \
            r.stderr_text
        s = status(bob)
        assert "unreadable" not in s and s["state"] == "online", s
        tail = bob.events()[-2:]
        assert any("UNREADABLE" in l and "slot reads again" in l
                   for l in tail), tail
        # STATE is logged on a change, across processes too.
        assert any(re.search(r" STATE peer=- msg=- code=0 online$", l)
                   for l in tail), tail
    finally:
        node.stop()


def queued_ids(user):
    """msg ids of QUEUED lines, in order."""
    return [re.search(r"msg=([0-9a-f]{32})", l).group(1)
            for l in user.events() if " QUEUED " in l]


def published_ids(user):
    return [re.search(r"msg=([0-9a-f]{32})", l).group(1)
            for l in user.events() if " PUBLISHED " in l]


def test_flush_in_order_and_status_truth(tmp_path, started):
    alice, bob = pair(tmp_path, started)
    s = status(alice)
    assert s["state"] == "online" and s["last error"] == "-", s
    started.stop()
    for body in (b"first, while the node is down", b"second", b"third"):
        r = alice.send("bob", body)
        assert r.returncode in (5, 75), r.stderr_text
        assert "queued" in r.stderr_text, r.stderr_text
    # The first failed; the newer ones wait behind it, not beside it.
    retries = [l for l in alice.events() if " RETRY " in l]
    assert len(retries) == 1, retries
    s = status(alice)
    assert s["state"] in ("offline", "degraded"), s
    assert s["queued"].startswith("3 (1 failing"), s
    assert s["last error"].startswith("node unreachable"), s
    assert re.search(ISO, s["last error"]), s
    assert "dmp flush" in s["next step"], s
    # The node is back: no waiting out the backoff, oldest first.
    started.start()
    t0 = time.time()
    r = alice.run("flush")
    assert r.returncode == 0, r.stderr_text
    assert "published 3 messages; 0 still queued" in r.stdout_text
    assert time.time() - t0 < 10
    assert published_ids(alice) == queued_ids(alice)
    assert any(" FLUSH " in l for l in alice.events())
    s = status(alice)
    assert s["state"] == "online" and s["queued"] == "0", s
    assert s["last error"].startswith('- ("node unreachable'), s
    assert "resolved at" in s["last error"], s
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    got = [b for _, b in bob.maildir("inbox")]
    assert sorted(got) == sorted([b"first, while the node is down",
                                  b"second", b"third"])
    # dmp recv flushes too (the guide says so): down, queue, up, recv.
    started.stop()
    assert alice.send("bob", b"fourth").returncode in (5, 75)
    started.start()
    r = alice.recv()
    assert r.returncode == 0, r.stderr_text
    assert len(published_ids(alice)) == 4
    # events.log: Unix time, then ISO 8601 UTC, then the kind.
    for l in alice.events():
        assert re.match(r"\d+ " + ISO + r" [A-Z]+ peer=", l), l


def test_status_rejected_tsig_and_expired(tmp_path, started):
    alice, bob = pair(tmp_path, started)
    # The node forgets alice's key: every write is NOTAUTH.
    started.cli("key", "revoke", "alice.mesh.test")
    wait_keys()
    r = alice.send("bob", b"refused")
    assert r.returncode != 0 and "queued" in r.stderr_text, r.stderr_text
    s = status(alice)
    assert s["state"] == "rejected", s
    assert "dmp tsig register" in s["next step"], s
    # An expired message: counted, its last error shown with its time.
    with alice.db() as c:
        c.execute("UPDATE outbox SET expires = 1")
    alice.run("flush")
    s = status(alice)
    assert s["failed"].startswith("1 (expired"), s
    assert "expired" in s["last error"] and re.search(ISO, s["last error"])


def test_resolvers_dead_is_down(tmp_path, started):
    import socket
    sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sk.bind(("127.0.0.1", 0))
    dead = "127.0.0.1:%d" % sk.getsockname()[1]
    sk.close()
    live = "%s:%d" % (started.host, started.port)
    u = User(tmp_path, "carol", started, resolvers=(dead, live))
    r = u.run("resolvers")
    assert r.returncode == 0, r.stderr_text
    lines = r.stdout_text.splitlines()
    row = {l.split()[0]: l.split()[1] for l in lines if l[:1].isdigit()}
    assert row[dead] == "down" and row[live] == "up", r.stdout_text
    assert re.search("checked now, " + ISO, lines[-1]), lines


def test_events_quote_peer_with_spaces(tmp_path, started):
    alice = User(tmp_path, "alice", started)
    bob = User(tmp_path, "bob", started)
    wait_keys()
    bob.publish()
    r = alice.run("contacts", "add", bob.address, "bob the builder")
    if r.returncode != 0:
        pytest.skip("aliases with spaces refused: %s" % r.stderr_text)
    assert alice.send("bob the builder", b"hi").returncode == 0
    line = [l for l in alice.events() if " QUEUED " in l][-1]
    assert ' peer="bob the builder" msg=' in line, line
