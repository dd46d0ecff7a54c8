"""Issue 14 items 4, 5, 8, 9, 10, 16: the CLI, dmp-node and dmpfs refuse
bad input with the rule and the way out, and the defaults agree.

Real dmp, dmp-node and dmpfs processes on 127.0.0.x; every wait bounded."""
import errno
import os
import socket
import subprocess

import pytest

from cli_helpers import User, ZONE
from conftest import free_addr
from fs_helpers import Mount, dmpfs_binary, is_mounted, need_fuse, wait_for


@pytest.fixture
def alice_bob(tmp_path, node):
    # Keys added before the start are read at start (no wait_keys).
    alice = User(tmp_path, "alice", node)
    bob = User(tmp_path, "bob", node)
    node.start()
    alice.publish()
    bob.publish()
    return alice, bob


# ---- item 4: aliases -------------------------------------------------------

@pytest.mark.parametrize("alias,rule", [
    ("a/b", "contains '/'"),
    (".hidden", "starts with '.'"),
    ("x.swp", "editor scratch"),
    ("notes~", "editor scratch"),
    ("4913", "editor scratch"),
    ("..", "'.' or '..'"),
    ("tab\there", "control character"),
    ("x" * 65, "longer than 64 bytes"),
])
def test_bad_alias_refused_before_the_network(tmp_path, node, alias, rule):
    # No node running: the alias is refused before any lookup.
    u = User(tmp_path, "alice", node)
    r = u.run("contacts", "add", "bob@" + ZONE, alias)
    assert r.returncode == 2, r.stderr_text
    assert rule in r.stderr_text, r.stderr_text
    assert "choose another" in r.stderr_text
    assert u.run("contacts", "list").stdout_text == ""


def test_old_bad_alias_listed_renamed_and_skipped(alice_bob):
    alice, bob = alice_bob
    alice.run("contacts", "add", bob.address, check=True)
    # An older version stored "a/b"; make it so behind the CLI's back.
    with alice.db() as c:
        c.execute("UPDATE contact SET alias = 'a/b' WHERE alias = 'bob'")
    r = alice.run("contacts", "list")
    assert r.returncode == 0
    assert "a/b" in r.stdout_text and "INVALID-ALIAS" in r.stdout_text
    assert "dmp contacts rename 'a/b' NEW" in r.stderr_text
    r = alice.run("contacts", "rename", "a/b", "x.swp")
    assert r.returncode == 2 and "editor scratch" in r.stderr_text
    alice.run("contacts", "rename", "a/b", "bobby", check=True)
    r = alice.run("contacts", "list", check=True)
    assert r.stdout_text.split()[0] == "bobby" and r.stderr_text == ""
    r = alice.send("bobby", b"renamed")
    assert r.returncode == 0, r.stderr_text


def test_failed_add_names_the_cause_once(alice_bob):
    alice, _ = alice_bob
    r = alice.run("contacts", "add", "nobody@" + ZONE)
    assert r.returncode == 11
    assert "rejected" not in r.stderr_text, r.stderr_text
    assert "No such file or directory" not in r.stderr_text
    assert "no identity record found for nobody@mesh.test" in \
        r.stderr_text
    assert "dmp identity publish" in r.stderr_text


def test_ls_contacts_survives_a_bad_alias(tmp_path, alice_bob):
    need_fuse()
    alice, bob = alice_bob
    alice.run("contacts", "add", bob.address, check=True)
    with alice.db() as c:
        c.execute("INSERT INTO contact (alias, address, username, domain, "
                  "x25519_pk, ed25519_pk, versions, blocked, pinned_at, "
                  "pinned_how) SELECT 'a/b', address, username, "
                  "domain, x25519_pk, ed25519_pk, versions, blocked, "
                  "pinned_at, pinned_how FROM contact WHERE alias='bob'")
    m = Mount(alice, tmp_path, poll=30).start()
    try:
        assert sorted(os.listdir(m.path("contacts"))) == ["bob"]
        assert "a/b" not in os.listdir(m.path("outbox"))
        # A dotfile pin through dmpfs is refused too (the engine's check).
        with pytest.raises(OSError):
            with open(m.path("contacts", "x.swp~"), "w") as f:
                f.write(bob.address + "\n")
        assert sorted(os.listdir(m.path("contacts"))) == ["bob"]
    finally:
        m.stop()
    assert "dmp contacts rename OLD NEW" in open(m.log).read()


# ---- item 5: key add refuses to replace ------------------------------------

def test_key_add_refuses_an_existing_key(tmp_path, node):
    first, _ = node.add_key("carol." + ZONE, ZONE)
    r = node.cli("key", "add", "Carol.mesh.test.", "--scope", ZONE,
                 check=False)
    assert r.returncode == 1
    assert "the key exists" in r.stderr and "key rotate" in r.stderr \
        and "--replace" in r.stderr
    assert r.stdout == ""
    listed = node.cli("key", "list").stdout
    assert listed.count("carol.mesh.test") == 1
    rotated = node.cli("key", "rotate", "carol." + ZONE).stdout.strip()
    assert rotated.startswith("hmac-sha256:carol.mesh.test:")
    assert rotated != first
    assert ZONE in node.cli("key", "list").stdout  # scope kept
    replaced = node.cli("key", "add", "carol." + ZONE, "--scope",
                        "carol." + ZONE, "--replace").stdout.strip()
    assert replaced not in (first, rotated)
    r = node.cli("key", "rotate", "nosuch." + ZONE, check=False)
    assert r.returncode == 1 and "no such key" in r.stderr


def test_node_yaml_with_a_secret_readable_by_all_is_flagged(tmp_path, node):
    cfg = tmp_path / "dmp-node.yaml"
    cfg.write_text('security:\n  http_token: "%s"\n' % ("ab" * 16))
    for mode, warned in ((0o644, True), (0o640, False)):
        os.chmod(cfg, mode)
        r = node.cli("-c", str(cfg), "key", "list", check=False)
        assert ("every user may read it: chmod 640" in r.stderr) == \
            warned, (oct(mode), r.stderr)


# ---- item 8: errors that name the cause ------------------------------------

def test_no_tsig_key_says_register(tmp_path, node):
    node.start()
    u = User(tmp_path, "dora", node, init=False)
    host = "%s:%d" % (node.host, node.port)
    r = u.run("init", "dora", "--domain", ZONE, "--node", host)
    assert r.returncode == 0, r.stderr_text
    r = u.run("identity", "publish")
    assert r.returncode == 6
    assert "no TSIG key" in r.stderr_text
    assert "dmp tsig register" in r.stderr_text
    assert "scope" not in r.stderr_text


def test_own_zone_not_served_by_the_node(tmp_path, node):
    # The key is fine; the node just does not serve the home's zone.
    key, _ = node.add_key("zed.other.test", "other.test")
    u = User(tmp_path, "zed", node, key=key, zone="other.test")
    node.start()
    r = u.run("identity", "publish")
    assert r.returncode == 7, r.stderr_text
    assert "the node does not serve your zone" in r.stderr_text
    assert "TSIG" not in r.stderr_text


def test_zone_not_served_and_resolver_down(tmp_path, node):
    node.start()
    u = User(tmp_path, "alice", node)
    # The node serves mesh.test only; it refuses other zones.
    r = u.run("contacts", "add", "carol@other.test")
    assert r.returncode == 7, r.stderr_text
    assert "refused to answer for other.test" in r.stderr_text
    assert "network.zone_servers" in r.stderr_text
    assert "key's scope" not in r.stderr_text
    # A resolver that does not answer is named as such, not the node.
    host, port = free_addr()
    dead = "%s:%d" % (host, port)
    v = User(tmp_path, "vera", node, resolvers=[dead])
    v.set_config("network.timeout_ms", "300")
    r = v.run("contacts", "add", "carol@other.test", timeout=60)
    assert r.returncode == 5, r.stderr_text
    assert "no DNS server answered for other.test" in r.stderr_text
    assert "%s (resolver)" % dead in r.stderr_text
    assert "is the node running" not in r.stderr_text


def test_unresolvable_node_host_named(tmp_path, node):
    # An underscore is no host name: refused before any lookup, so no DNS
    # query leaves the machine.
    u = User(tmp_path, "alice", node, init=False)
    r = u.run("init", "alice", "--domain", ZONE, "--node", "no_such_host:53",
              "--tsig", "-", input=(u.key + "\n").encode())
    assert r.returncode == 0, r.stderr_text
    want = ("network.nodes: no_such_host:53 is neither an IP address nor a "
            "host name that resolves")
    r = u.run("identity", "publish")
    assert r.returncode == 9 and want in r.stderr_text, r.stderr_text
    r = u.run("send", "bob@" + ZONE, "-", input=b"x")
    assert r.returncode == 5 and want in r.stderr_text, r.stderr_text
    assert "no DNS server could be used" in r.stderr_text
    assert ": ?" not in r.stderr_text


def test_lost_config_yaml_has_a_way_out(tmp_path, node):
    u = User(tmp_path, "alice", node)
    os.unlink(os.path.join(u.home, "config.yaml"))
    r = u.run("status")
    assert r.returncode == 9
    assert "config.yaml is missing" in r.stderr_text and "--repair" in \
        r.stderr_text
    host = "%s:%d" % (node.host, node.port)
    r = u.run("init", "alice", "--domain", ZONE, "--node", host)
    assert r.returncode == 9 and "--repair" in r.stderr_text
    r = u.run("init", "alice", "--domain", ZONE, "--node", host,
              "--repair", passphrase="wrong passphrase")
    assert r.returncode == 3
    r = u.run("init", "mallory", "--domain", ZONE, "--node", host,
              "--repair")
    assert r.returncode == 2 and "alice@mesh.test" in r.stderr_text
    r = u.run("init", "alice", "--domain", ZONE, "--node", host,
              "--tsig", "-", "--repair", input=(u.key + "\n").encode())
    assert r.returncode == 0, r.stderr_text
    assert "re-created" in r.stdout_text
    assert "alice@mesh.test" in u.run("status", check=True).stdout_text


def test_yaml_slips_name_line_cause_and_range(tmp_path, node):
    u = User(tmp_path, "alice", node)
    path = os.path.join(u.home, "config.yaml")
    good = open(path).read()
    slip = good.replace("  max_lifetime:", "    max_lifetime:")
    open(path, "w").write(slip)
    r = u.run("status")
    assert r.returncode == 9
    assert "indented further" in r.stderr_text, r.stderr_text
    line = [i + 1 for i, l in enumerate(slip.splitlines())
            if "max_lifetime" in l][0]
    assert "line %d" % line in r.stderr_text
    open(path, "w").write(good.replace("  lifetime: 604800",
                                       "  lifetime: 5"))
    r = u.run("status")
    assert r.returncode == 9
    assert "out of range: 5 (allowed 60..2592000)" in r.stderr_text


def test_claim_note_only_when_no_claim_was_taken(tmp_path, node_factory):
    # bob in another zone, served by a node that takes no claims: the send
    # works and says once that no claim was taken.
    na = node_factory(zones=("mesh.test",))
    nb = node_factory(zones=("other.test",))
    alice = User(tmp_path, "alice", na)
    bob = User(tmp_path, "bob", nb, zone="other.test")
    na.start()
    nb.start()
    bob.publish()
    alice.set_config("network.zone_servers",
                     '["other.test=%s:%d"]' % (nb.host, nb.port))
    alice.set_config("network.resolvers", '["%s:%d"]' % (nb.host, nb.port))
    alice.publish()
    r = alice.run("send", "bob@other.test", "-", input=b"hi")
    assert r.returncode == 0, r.stderr_text
    assert r.stderr_text.count("no first-contact claim") == 1, \
        r.stderr_text
    assert "refused" in r.stderr_text


# ---- item 9: numbers ----------------------------------------------------------

@pytest.mark.parametrize("args,want", [
    (["send", "--lifetime", "abc", "bob"], "not an integer"),
    (["send", "--lifetime", "0", "bob"], "out of range"),
    (["send", "--lifetime", "-5", "bob"], "out of range"),
    (["send", "--lifetime", "5x", "bob"], "not an integer"),
    (["recv", "--interval", "abc"], "not an integer"),
    (["recv", "--interval", "0"], "out of range"),
])
def test_numbers_checked(tmp_path, node, args, want):
    u = User(tmp_path, "alice", node)
    r = u.run(*args, input=b"x")
    assert r.returncode == 2, r.stderr_text
    assert want in r.stderr_text
    assert "allowed" in r.stderr_text and ".." in r.stderr_text


@pytest.mark.parametrize("poll,want", [("0", "out of range"),
                                       ("abc", "not an integer"),
                                       ("-3", "out of range")])
def test_dmpfs_poll_checked(tmp_path, node, poll, want):
    need_fuse()
    u = User(tmp_path, "alice", node)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run([dmpfs_binary(), "-f", "-o",
                        "home=%s,poll=%s" % (u.home, poll), str(mnt)],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, DMP_PASSPHRASE=u.passphrase))
    assert r.returncode != 0
    assert want in r.stderr and "1..86400" in r.stderr, r.stderr
    assert not is_mounted(str(mnt))


# ---- item 10: 7 days end to end by default ------------------------------------

def test_seven_days_by_default(alice_bob):
    alice, bob = alice_bob
    alice.add_contact(bob)
    r = alice.send("bob", b"weekend")
    assert r.returncode == 0, r.stderr_text
    assert "clamped" not in r.stderr_text
    ttls = {t for _, _, _, t, _ in alice.outbox_records()}
    assert ttls == {604800}, ttls
    r = bob.recv()
    assert b"weekend" in r.stdout
    # A lower max_lifetime (the node's operator lowered max_ttl): said once.
    alice.set_config("messages.max_lifetime", "86400")
    r = alice.send("bob", b"short")
    assert r.returncode == 0, r.stderr_text
    assert r.stderr_text.count("clamped to 86400") == 1, r.stderr_text


def test_node_with_a_shorter_max_ttl_is_explained(tmp_path, node_factory):
    # A node whose operator kept the old 1-day cap (or a reference node)
    # refuses a 7-day message: the sender is told which setting to change,
    # and after the change each send says once that it was shortened.
    n = node_factory(config="node:\n  max_ttl: 86400\n")
    alice = User(tmp_path, "alice", n)
    bob = User(tmp_path, "bob", n)
    n.start()
    alice.publish()
    bob.publish()
    alice.add_contact(bob)
    r = alice.send("bob", b"week")
    assert r.returncode == 7, r.stderr_text
    assert "max_ttl is below this message's lifetime (604800 s)" in \
        r.stderr_text
    assert "messages.max_lifetime" in r.stderr_text
    qid = r.stderr_text.split("queued (id ")[1].split(")")[0]
    assert "dmp cancel %s" % qid in r.stderr_text
    alice.set_config("messages.max_lifetime", "86400")
    # The refused message holds newer ones to bob (order per contact).
    r = alice.run("cancel", qid)
    assert r.returncode == 0 and "cancelled message %s" % qid in \
        r.stdout_text, r.stderr_text
    r = alice.run("cancel", qid)
    assert r.returncode == 11, r.stderr_text
    r = alice.run("cancel", "abc")
    assert r.returncode == 2 and "not an integer" in r.stderr_text
    r = alice.send("bob", b"day")
    assert r.returncode == 0, r.stderr_text
    assert r.stderr_text.count("clamped to 86400 s") == 1, r.stderr_text
    r = bob.recv()
    assert b"day" in r.stdout and b"week" not in r.stdout


# ---- item 16: a dead mount is not stacked on -----------------------------------

def test_remount_over_dead_mount_refused(tmp_path, node):
    need_fuse()
    u = User(tmp_path, "alice", node)
    # The node never runs: reads give up after 100 ms, so the unmount
    # below does not wait 3 s for the engine thread's network wait.
    u.set_config("network.timeout_ms", "100")
    m = Mount(u, tmp_path, poll=30).start()
    # Kill it without unmounting: the mount point is left dead (ENOTCONN).
    m.proc.kill()
    m.proc.wait(timeout=10)
    try:
        with pytest.raises(OSError) as e:
            os.listdir(m.mnt)
        assert e.value.errno == errno.ENOTCONN
        r = subprocess.run(m.argv(), capture_output=True, text=True,
                           timeout=30,
                           env=dict(os.environ, DMP_PASSPHRASE=u.passphrase))
        assert r.returncode != 0
        assert "Transport endpoint is not connected" in r.stderr
        assert "fusermount3 -u %s" % m.mnt in r.stderr
        with open("/proc/self/mountinfo") as f:
            assert sum(1 for l in f if " %s " % m.mnt in l) == 1
    finally:
        subprocess.run(["fusermount3", "-uz", m.mnt], capture_output=True,
                       timeout=20)
        m.proc = None
    # A live mount is refused as well.
    m = Mount(u, tmp_path, poll=30).start()
    try:
        r = subprocess.run(m.argv(), capture_output=True, text=True,
                           timeout=30,
                           env=dict(os.environ, DMP_PASSPHRASE=u.passphrase))
        assert r.returncode != 0 and "already mounted" in r.stderr
    finally:
        m.stop()
