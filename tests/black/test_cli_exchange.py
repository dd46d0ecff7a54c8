"""`dmp` CLI end to end through a real dmp-node: init, identity publish,
contacts, send and recv of text and binary messages both ways, lost chunk
records, a dead first resolver, kill -9 of a sender mid-publish."""
import hashlib
import os
import random
import signal
import socket
import time

import pytest

from cli_helpers import User, admin_key, ns_add, ns_delete, wait_keys, ZONE


def pair(tmp_path, node, **kw):
    alice = User(tmp_path, "alice", node, **kw)
    bob = User(tmp_path, "bob", node, **kw)
    wait_keys()
    alice.publish()
    bob.publish()
    alice.add_contact(bob)
    bob.add_contact(alice)
    return alice, bob


@pytest.fixture
def started(node):
    return node.start()


def test_text_and_binary_both_ways(tmp_path, started):
    alice, bob = pair(tmp_path, started)
    text = b"hello bob, this is alice over dmp\n"
    blob = bytes(random.Random(5).getrandbits(8) for _ in range(3584))
    r = alice.send("bob", text)
    assert r.returncode == 0, r.stderr_text
    r = alice.send("bob", blob)
    assert r.returncode == 0, r.stderr_text
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    assert b"hello bob, this is alice" in r.stdout
    assert "From: alice <alice@mesh.test>" in r.stdout_text
    inbox = bob.maildir("inbox")
    assert sorted(b for _, b in inbox) == sorted([text, blob])
    for head, _ in inbox:
        assert "X-DMP-Verified: yes" in head
        assert "X-DMP-Forward-Secrecy: yes" in head
    # A second pass delivers nothing new.
    r = bob.recv()
    assert r.returncode == 0 and b"From:" not in r.stdout
    assert len(bob.maildir("inbox")) == 2
    assert bob.rejections() == []
    # And back.
    r = bob.send("alice", blob[::-1])
    assert r.returncode == 0, r.stderr_text
    r = bob.send("alice", b"thanks alice")
    assert r.returncode == 0, r.stderr_text
    alice.recv()
    assert sorted(b for _, b in alice.maildir("inbox")) == sorted(
        [blob[::-1], b"thanks alice"])
    assert len(alice.maildir("sent")) == 2
    assert alice.rejections() == []


def test_too_large_refused(tmp_path, started):
    alice, bob = pair(tmp_path, started)
    r = alice.send("bob", b"x" * 5000)
    assert r.returncode != 0 and "too large" in r.stderr_text


def test_lost_chunks_still_delivered(tmp_path, started):
    """The framing has n = k + ceil(3k/10) shares (PROTOCOL.md 5.1), so it
    survives losing 30% of k: delete exactly that many chunk records. One
    more lost is too many: the message waits (not judged) until the chunk
    is back."""
    alice, bob = pair(tmp_path, started)
    blob = os.urandom(3000)
    assert alice.send("bob", blob).returncode == 0
    recs = {n: v for _, n, v, _, _ in alice.outbox_records()
            if n.startswith("chunk-")}
    chunks = sorted(recs)
    n = len(chunks)
    k = next(k for k in range(1, n + 1) if k + -(-3 * k // 10) == n)
    rng = random.Random(7)
    lose = rng.sample(chunks, n - k + 1)
    assert n - k >= (3 * k) // 10 and n - k >= 1, (n, k)
    key = admin_key(started)
    for name in lose:
        ns_delete(started, key, name)
    for name in lose:
        assert "ANSWER: 0" in started.dig(name, "TXT")
    r = bob.recv()
    assert bob.maildir("inbox") == []
    assert "not enough chunks" in r.stderr_text
    # Put one back: n - k lost (30% of k) is still delivered.
    ns_add(started, key, lose[0], recs[lose[0]])
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    assert [b for _, b in bob.maildir("inbox")] == [blob], r.stderr_text


def closed_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "127.0.0.1:%d" % port


def test_dead_first_resolver(tmp_path, started):
    node = "%s:%d" % (started.host, started.port)
    dead = closed_udp_port()
    alice, bob = pair(tmp_path, started, resolvers=(dead, node))
    for u in (alice, bob):
        # Read through the pool, not straight from the node.
        u.set_config("network.direct", "false")
    r = bob.run("resolvers", check=True)
    assert r.stdout_text.splitlines()[0].startswith(dead)
    assert alice.send("bob", b"through a pool").returncode == 0
    t0 = time.time()
    r = bob.recv()
    took = time.time() - t0
    assert r.returncode == 0, r.stderr_text
    assert [b for _, b in bob.maildir("inbox")] == [b"through a pool"]
    # resolver timeout is 2 s: the dead one may cost at most two of them.
    assert took < 4.0 + 1.0, took


def test_kill9_mid_publish_then_retry(tmp_path, started):
    """kill -9 of `dmp send` while its first UPDATE waits for the node's
    reply (the node is frozen, so the kill lands mid-publish every time;
    the node may still apply that UPDATE once it runs again). The next run
    publishes the same records and bob gets the message exactly once."""
    alice, bob = pair(tmp_path, started)
    body = os.urandom(3584)  # about 40 records
    started.proc.send_signal(signal.SIGSTOP)
    try:
        p = alice.popen("send", "bob", "-")
        p.stdin.write(body)
        p.stdin.close()
        deadline = time.time() + 20
        while time.time() < deadline and not alice_queued(alice):
            time.sleep(0.01)
        time.sleep(0.5)  # the chunk UPDATE is on its way
        assert p.poll() is None, "send finished against a frozen node"
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    finally:
        started.proc.send_signal(signal.SIGCONT)
    recs = alice.outbox_records()
    assert len(recs) > 30
    assert not all(pub for *_, pub in recs)
    # The retry republishes the same records (no second message).
    r = alice.recv()
    assert r.returncode == 0, r.stderr_text
    assert all(pub for *_, pub in alice.outbox_records())
    r = bob.recv()
    assert [b for _, b in bob.maildir("inbox")] == [body]
    # A crash after the manifest reached the node but before the client
    # recorded it: the retry must send the very same values again, so
    # the recipient still sees one message.
    time.sleep(1.1)  # a later second: nothing may be named from "now"
    with alice.db() as c:
        c.execute("UPDATE outbox SET state = 1")
        c.execute("UPDATE outbox_record SET published = 0")
    r = alice.recv()
    assert r.returncode == 0, r.stderr_text
    assert all(pub for *_, pub in alice.outbox_records())
    bob.recv()
    assert [b for _, b in bob.maildir("inbox")] == [body]
    assert len(alice.maildir("sent")) == 1


def alice_queued(user):
    try:
        with user.db() as c:
            return c.execute("SELECT count(*) FROM outbox").fetchone()[0] > 0
    except Exception:
        return False


def test_node_down_stays_queued(tmp_path, started):
    alice, bob = pair(tmp_path, started)
    started.stop()
    # Nothing answers: each attempt gives up after 300 ms, not 2 s.
    alice.set_config("network.timeout_ms", "300")
    r = alice.send("bob", b"later")
    assert r.returncode == 5, (r.returncode, r.stderr_text)
    assert "node unreachable" in r.stderr_text
    assert "queued" in r.stderr_text
    r = alice.run("status", check=True)
    assert "queued:     1" in r.stdout_text
    alice.set_config("network.timeout_ms", "2000")
    started.start()
    # Retry time has not come yet; force it as a later run would.
    with alice.db() as c:
        c.execute("UPDATE outbox SET next_attempt = 0")
    alice.recv()
    bob.recv()
    assert [b for _, b in bob.maildir("inbox")] == [b"later"]


def test_wrong_tsig_and_scope(tmp_path, started):
    alice = User(tmp_path, "alice", started)
    wait_keys()
    bad = alice.key.rsplit(":", 1)[0] + ":" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    alice.set_config("network.tsig", '"%s"' % bad)
    r = alice.run("identity", "publish")
    assert r.returncode == 6 and "TSIG" in r.stderr_text, r.stderr_text
    narrow, _ = started.add_key("carol.%s" % ZONE, "other.%s" % ZONE)
    carol = User(tmp_path, "carol", started, key=narrow)
    wait_keys()
    r = carol.run("identity", "publish")
    assert r.returncode == 7 and "scope" in r.stderr_text, r.stderr_text


def test_wrong_passphrase_at_open(tmp_path, started):
    alice = User(tmp_path, "alice", started)
    r = alice.run("status", passphrase="not-the-passphrase")
    assert r.returncode == 3
    assert "wrong passphrase" in r.stderr_text


def test_help_everywhere(tmp_path):
    u = User.__new__(User)
    u.bin = __import__("cli_helpers").dmp_binary()
    u.home = str(tmp_path / "h")
    u.passphrase = "x"
    u.env_extra = {}
    for args in (["--help"], ["init", "--help"], ["identity", "--help"],
                 ["contacts", "--help"], ["send", "--help"],
                 ["recv", "--help"], ["status", "--help"],
                 ["resolvers", "--help"]):
        r = u.run(*args)
        assert r.returncode == 0 and "usage" in r.stdout_text, args


def test_clock_skew_reported(tmp_path, started):
    alice = User(tmp_path, "alice", started)
    wait_keys()
    r = alice.run("identity", "publish",
                  env={"DMP_FAKE_NOW": str(int(time.time()) - 3600)})
    assert r.returncode == 8, (r.returncode, r.stderr_text)
    assert "clock skew" in r.stderr_text


def test_recv_watch_prints_new_messages(tmp_path, started):
    alice, bob = pair(tmp_path, started)
    p = bob.popen("recv", "--watch", "--interval", "1")
    try:
        time.sleep(1.5)
        assert alice.send("bob", b"watched message").returncode == 0
        deadline = time.time() + 15
        while time.time() < deadline and not bob.maildir("inbox"):
            time.sleep(0.2)
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=15)
    assert p.returncode == 0, err
    assert b"watched message" in out and b"From: alice" in out


def test_redelivery_after_crash_is_exactly_once(tmp_path, started):
    """A receiver that died after the Maildir rename but before the replay
    entry was finalised (simulated: the replay and judged-value rows are
    removed) fetches the message again and finds its planned file name
    already delivered: still one file."""
    alice, bob = pair(tmp_path, started)
    # No prekeys on bob's side, so the message uses the long-term key
    # (a real crash happens before the prekey is consumed).
    with alice.db() as c:
        c.execute("DELETE FROM contact_prekey")
    assert alice.send("bob", b"exactly once").returncode == 0
    bob.recv()
    inbox = bob.maildir("inbox")
    assert [b for _, b in inbox] == [b"exactly once"]
    assert "X-DMP-Forward-Secrecy: no" in inbox[0][0]
    with bob.db() as c:
        c.execute("DELETE FROM replay")
        c.execute("DELETE FROM seen_value")
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    assert [b for _, b in bob.maildir("inbox")] == [b"exactly once"]
    names = os.listdir(os.path.join(bob.home, "mail", "inbox", "new"))
    assert len(names) == 1
    assert os.listdir(os.path.join(bob.home, "mail", "inbox", "tmp")) == []


def test_two_zones_two_nodes(tmp_path, node_factory):
    """alice@zone-a.test on node A, bob@zone-b.test on node B. Each reads
    its own zone from its node and the other zone through its resolver
    (here: the other node, which is authoritative for it)."""
    na = node_factory(zones=("zone-a.test",))
    (tmp_path / "b").mkdir()
    from conftest import Node
    nb = Node(tmp_path / "b", zones=("zone-b.test",))
    try:
        na.start()
        nb.start()
        a_addr = "%s:%d" % (na.host, na.port)
        b_addr = "%s:%d" % (nb.host, nb.port)
        alice = User(tmp_path, "alice", na, zone="zone-a.test",
                     resolvers=(b_addr,))
        bob = User(tmp_path, "bob", nb, zone="zone-b.test",
                   resolvers=(a_addr,))
        wait_keys()
        alice.publish()
        bob.publish()
        alice.add_contact(bob)
        bob.add_contact(alice)
        assert alice.send("bob", b"across zones").returncode == 0
        r = bob.recv()
        assert r.returncode == 0, r.stderr_text
        inbox = bob.maildir("inbox")
        assert [b for _, b in inbox] == [b"across zones"]
        assert "alice@zone-a.test" in inbox[0][0]
        assert "X-DMP-Forward-Secrecy: yes" in inbox[0][0]
        assert bob.send("alice", b"and back").returncode == 0
        alice.recv()
        assert [b for _, b in alice.maildir("inbox")] == [b"and back"]
    finally:
        nb.stop(signal.SIGKILL)


def test_send_outside_scope_says_so(tmp_path, started):
    alice, bob = pair(tmp_path, started)
    narrow, _ = started.add_key("alice2.%s" % ZONE, "id-x.%s" % ZONE)
    wait_keys()
    alice.set_config("network.tsig", '"%s"' % narrow)
    r = alice.send("bob", b"nope")
    assert r.returncode == 7, (r.returncode, r.stderr_text)
    assert "scope" in r.stderr_text and "queued" in r.stderr_text


def test_send_to_an_address_pins_it_first(tmp_path, started):
    """`dmp send user@zone` for someone not yet a contact fetches, verifies
    and pins the identity, then sends; an address with no identity is a
    clear "not found" and queues nothing."""
    alice = User(tmp_path, "alice", started)
    bob = User(tmp_path, "bob", started)
    wait_keys()
    alice.publish()
    bob.publish()
    bob.add_contact(alice)
    r = alice.send(bob.address, b"first words")
    assert r.returncode == 0, r.stderr_text
    assert "pinned %s" % bob.address in r.stderr_text
    assert "bob" in alice.run("contacts", "list", check=True).stdout_text
    bob.recv()
    assert [b for _, b in bob.maildir("inbox")] == [b"first words"]
    r = alice.send("nobody@%s" % ZONE, b"into the void")
    assert r.returncode == 11, (r.returncode, r.stderr_text)
    assert "no identity record found for nobody@" in r.stderr_text
    assert len(alice.maildir("sent")) == 1


def test_identity_publish_anchored(tmp_path, started):
    """`identity publish --anchored` also writes dmp.<zone> (the zone's own
    user, with a key over the whole zone), keeps doing so (config), and a
    contact added by address then verifies against the anchored form."""
    owner = User(tmp_path, "owner", started)
    alice = User(tmp_path, "alice", started)
    wait_keys()
    assert started.dig("+short", "TXT", "dmp.%s" % ZONE) == ""
    r = owner.run("identity", "publish", "--anchored", check=True)
    anchored = started.dig("+short", "TXT", "dmp.%s" % ZONE)
    assert anchored.startswith('"v=dmp1;t=identity;'), anchored
    cfg = open(os.path.join(owner.home, "config.yaml")).read()
    assert "anchored: true" in cfg
    # The hashed form holds the same record.
    hashed = started.dig("+short", "TXT", "id-%s.%s" % (
        hashlib.sha256(b"owner").hexdigest()[:16], ZONE))
    assert hashed == anchored
    alice.run("contacts", "add", owner.address, check=True)
    assert owner.run("identity", "publish", "--bogus").returncode != 0
    owner.run("identity", "publish", "--no-anchored", check=True)
    cfg = open(os.path.join(owner.home, "config.yaml")).read()
    assert "anchored: false" in cfg
