"""First contact through claims (PROTOCOL.md 6.3 step 6, 6.4 phase 1, 7.3)
and the resolver poisoning check, with real dmp-node processes and the
`dmp` CLI.

alice@zone-a.test lives on node A, bob@zone-b.test on node B. bob never
pins alice, so his slot walk never reads zone-a: only a claim can tell him
that a message waits there."""
import hashlib
import os
import signal
import sqlite3

from cli_helpers import User, wait_keys
from conftest import Node

CLAIMS_ON = "security:\n  claim_provider: true\n"


def addr(n):
    return "%s:%d" % (n.host, n.port)


def h12(user):
    """h12 of a user's mailbox hash, from `dmp identity show`."""
    r = user.run("identity", "show", check=True)
    for line in r.stdout_text.splitlines():
        if line.startswith("x25519"):
            pk = bytes.fromhex(line.split()[-1])
            return hashlib.sha256(hashlib.sha256(pk).digest()).hexdigest()[:12]
    raise AssertionError(r.stdout_text)


def claims_at(node, zone, user):
    out = []
    h = h12(user)  # one `dmp identity show`, not one per slot
    for s in range(10):
        v = node.dig("+short", "TXT", "claim-%d.mb-%s.%s" % (s, h, zone))
        out += [x for x in v.splitlines() if x]
    return out


def two_zones(tmp_path, node_factory, b_config=CLAIMS_ON):
    na = node_factory(zones=("zone-a.test",))
    (tmp_path / "b").mkdir()
    nb = Node(tmp_path / "b", zones=("zone-b.test",), config=b_config)
    na.start()
    nb.start()
    alice = User(tmp_path, "alice", na, zone="zone-a.test",
                 resolvers=(addr(nb),))
    bob = User(tmp_path, "bob", nb, zone="zone-b.test",
               resolvers=(addr(na),))
    return na, nb, alice, bob


def alice_pins_bob(alice, bob, nb):
    alice.set_config("network.zone_servers",
                     '["zone-b.test=%s"]' % addr(nb))
    wait_keys()
    alice.publish()
    bob.publish()
    alice.add_contact(bob)


def test_claim_to_recipient_zone_reaches_intro_once(tmp_path, node_factory):
    na, nb, alice, bob = two_zones(tmp_path, node_factory)
    try:
        # alice knows where zone-b's server is; claims go there unsigned.
        alice_pins_bob(alice, bob, nb)
        r = alice.run("-v", "send", "bob", "-", input=b"hello stranger")
        assert r.returncode == 0, r.stderr_text
        stored = claims_at(nb, "zone-b.test", bob)
        assert len(stored) == 1, stored
        # Not pinned, not walked: the claim is the only way in.
        r = bob.recv()
        assert r.returncode == 0, r.stderr_text
        assert bob.maildir("inbox") == []
        intro = bob.maildir("intro")
        assert [b for _, b in intro] == [b"hello stranger"]
        assert "alice@zone-a.test" in intro[0][0]
        assert "X-DMP-Verified: no" in intro[0][0]
        bob.recv()
        assert len(bob.maildir("intro")) == 1
        # Once bob pins alice, her intro moves to the inbox as verified
        # (issue 14.12), and her next message reaches it through both
        # phases, and is delivered once.
        bob.add_contact(alice)
        assert bob.maildir("intro") == []
        moved = bob.maildir("inbox")
        assert [b for _, b in moved] == [b"hello stranger"]
        assert "X-DMP-Verified: yes" in moved[0][0]
        assert alice.send("bob", b"now you know me").returncode == 0
        assert len(claims_at(nb, "zone-b.test", bob)) == 2
        bob.recv()
        assert sorted(b for _, b in bob.maildir("inbox")) == [
            b"hello stranger", b"now you know me"]
        assert bob.maildir("intro") == []
    finally:
        nb.stop(signal.SIGKILL)


def test_claim_refused_is_not_a_send_failure(tmp_path, node_factory):
    """Node B takes no claims: the send still succeeds, the refusal is
    reported, and bob (unpinned) gets nothing."""
    na, nb, alice, bob = two_zones(tmp_path, node_factory, b_config=None)
    try:
        alice_pins_bob(alice, bob, nb)
        r = alice.run("-v", "send", "bob", "-", input=b"unannounced")
        assert r.returncode == 0, r.stderr_text
        assert "refused" in r.stderr_text, r.stderr_text
        assert claims_at(nb, "zone-b.test", bob) == []
        bob.recv()
        assert bob.maildir("intro") == [] and bob.maildir("inbox") == []
        events = open(os.path.join(alice.home, "events.log")).read()
        assert "CLAIM" in events
    finally:
        nb.stop(signal.SIGKILL)


def test_claim_through_first_contact_provider(tmp_path, node_factory):
    """Neither home node takes claims; both users name a provider zone,
    served by a third node, which carries the pointer."""
    na, nb, alice, bob = two_zones(tmp_path, node_factory, b_config=None)
    (tmp_path / "p").mkdir()
    np_ = Node(tmp_path / "p", zones=("provider.test",), config=CLAIMS_ON)
    np_.start()
    try:
        for u in (alice, bob):
            u.set_config("network.zone_servers",
                         '["provider.test=%s"]' % addr(np_))
            u.set_config("claims.providers", '["provider.test"]')
        alice.set_config("claims.recipient_zone", "false")
        wait_keys()
        alice.publish()
        bob.publish()
        alice.add_contact(bob)
        assert alice.send("bob", b"via provider").returncode == 0
        assert len(claims_at(np_, "provider.test", bob)) == 1
        assert claims_at(nb, "zone-b.test", bob) == []
        bob.recv()
        assert [b for _, b in bob.maildir("intro")] == [b"via provider"]
    finally:
        np_.stop(signal.SIGKILL)
        nb.stop(signal.SIGKILL)


def test_poisoning_check_needs_resolvers_to_agree(tmp_path, node_factory):
    """Two servers for zone-b.test. bob's record is on both; carol's real
    record only on B1 and a forged carol (another key) on B2. With
    confirm_resolvers: 2, alice pins bob but refuses carol."""
    na = node_factory(zones=("zone-a.test",)).start()
    b = []
    for d in ("b1", "b2"):
        (tmp_path / d).mkdir()
        b.append(Node(tmp_path / d, zones=("zone-b.test",)))
    keys = {w: b[0].add_key("%s.zone-b.test" % w, "zone-b.test")[0]
            for w in ("bob", "carol")}
    src = sqlite3.connect(b[0].db)
    dst = sqlite3.connect(b[1].db)
    src.backup(dst)
    dst.close()
    src.close()
    forger, _ = b[1].add_key("mallory.zone-b.test", "zone-b.test")
    for n in b:
        n.start()
    try:
        bob = User(tmp_path, "bob", b[0], zone="zone-b.test", nodes=b,
                   key=keys["bob"])
        carol = User(tmp_path, "carol", b[0], zone="zone-b.test",
                     key=keys["carol"])
        (tmp_path / "m").mkdir()
        fake = User(tmp_path / "m", "carol", b[1], zone="zone-b.test",
                    key=forger, passphrase="not-carols-passphrase")
        alice = User(tmp_path, "alice", na, zone="zone-a.test",
                     resolvers=(addr(b[0]), addr(b[1])))
        bob.publish()
        carol.publish()
        fake.publish()
        alice.set_config("network.confirm_resolvers", "2")
        alice.add_contact(bob)
        r = alice.run("contacts", "add", "carol@zone-b.test")
        assert r.returncode != 0
        assert "resolvers disagree" in r.stderr_text, r.stderr_text
        r = alice.run("contacts", "list", check=True)
        assert "carol" not in r.stdout_text and "bob" in r.stdout_text
        # Without the check the first resolver's answer is pinned.
        alice.set_config("network.confirm_resolvers", "0")
        assert alice.run("contacts", "add",
                         "carol@zone-b.test").returncode == 0
    finally:
        for n in b:
            n.stop(signal.SIGKILL)


def test_claim_through_discovered_provider(tmp_path, node_factory):
    """No provider configured: both users discover one from its node's
    heartbeat (capability bit 0, PROTOCOL.md 8) and claims go there."""
    na, nb, alice, bob = two_zones(tmp_path, node_factory, b_config=None)
    (tmp_path / "p").mkdir()
    np_ = Node(tmp_path / "p", zones=("provider.test",))
    cfg = tmp_path / "p" / "node.yaml"
    cfg.write_text("security:\n  claim_provider: true\n"
                   "mesh:\n  endpoint: http://%s:8053\n"
                   "  operator_key: %s\n"
                   "  heartbeat_allow_loopback: true\n"
                   % (np_.host, tmp_path / "p" / "operator.key"))
    np_.extra += ["-c", str(cfg)]
    np_.start()
    try:
        for u in (alice, bob):
            u.set_config("network.zone_servers",
                         '["provider.test=%s"]' % addr(np_))
            u.set_config("discovery.seeds", '["provider.test"]')
            u.set_config("discovery.allow_loopback", "true")
        alice.set_config("claims.recipient_zone", "false")
        wait_keys()
        alice.publish()
        bob.publish()
        alice.add_contact(bob)
        for u in (alice, bob):
            r = u.run("peers", "refresh", check=True)
            assert "provider provider.test" in r.stdout_text, r.stdout_text
        assert alice.send("bob", b"found you").returncode == 0
        assert len(claims_at(np_, "provider.test", bob)) == 1
        bob.recv()
        assert [b for _, b in bob.maildir("intro")] == [b"found you"]
        # claims.discover: false keeps claims to the configured zones only.
        alice.set_config("claims.discover", "false")
        assert alice.send("bob", b"quietly").returncode == 0
        assert len(claims_at(np_, "provider.test", bob)) == 1
    finally:
        np_.stop(signal.SIGKILL)
        nb.stop(signal.SIGKILL)
