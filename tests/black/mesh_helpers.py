"""Helpers shared by the DMP-RELAY/1 black-box tests (docs/protocol.md
8.7): a line of relay nodes on loopback, and a real message from alice to
bob whose records are read back by AXFR to make a bundle."""
import pytest

from cli_helpers import User, wait_keys, ZONE
from conftest import Node, free_addr

dns = pytest.importorskip("dns.query", reason="dnspython is not installed")
import dns.zone  # noqa: E402


def mesh_line(tmp_path, zones, extra="", nbrs=None, mesh_extra=None):
    """Nodes A - B - C ... in a line, one per zone of @zones, relay on,
    link_interval 1 s, loopback endpoints allowed; @extra is YAML added at
    the top level. @nbrs (optional): per node, the indices of its
    mesh.neighbours instead of the line; @mesh_extra (optional): a function
    (i, nodes) giving YAML lines added to node i's mesh section. Each node
    has .zone, .http, .endpoint and .url."""
    nodes = []
    for zone in zones:
        d = tmp_path / zone
        d.mkdir()
        n = Node(d, zones=(zone,))
        n.zone = zone
        n.http = "%s:%d" % free_addr()
        n.endpoint = n.url = "http://" + n.http
        nodes.append(n)
    for i, n in enumerate(nodes):
        near = nbrs[i] if nbrs is not None else (i - 1, i + 1)
        nb = [nodes[j].endpoint for j in near if 0 <= j < len(nodes)]
        cfg = ("network:\n"
               "  http: %s\n"
               "mesh:\n"
               "  endpoint: %s\n"
               "  operator_key: %s\n"
               "  heartbeat_allow_loopback: true\n"
               "  heartbeat_interval: 60\n"
               "  relay_enabled: true\n"
               "  link_interval: 1\n"
               "  neighbours: [%s]\n" % (
                   n.http, n.endpoint, n.tmp / "operator.key",
                   ", ".join('"%s"' % e for e in nb)))
        cfg += (mesh_extra(i, nodes) if mesh_extra else "") + extra
        (n.tmp / "node.yaml").write_text(cfg)
        n.extra += ["-c", str(n.tmp / "node.yaml")]
    return nodes


def message_records(n):
    """The manifest and chunks held by node @n (AXFR), as bundle records."""
    z = dns.zone.from_xfr(dns.query.xfr(n.host, ZONE, port=n.port,
                                        timeout=5, lifetime=10))
    out = []
    for name, node in z.nodes.items():
        label = name.to_text()
        if not label.startswith(("slot-", "chunk-")):
            continue
        for rds in node.rdatasets:
            for rd in rds:
                out.append({"name": "%s.%s" % (label, ZONE),
                            "value": b"".join(rd.strings).decode(),
                            "ttl": 3600})
    return out


def alice_and_bob(tmp_path, node):
    """alice and bob homed at @node (started), keys published, contacts of
    each other. @return (alice, bob)"""
    alice = User(tmp_path, "alice", node)
    bob = User(tmp_path, "bob", node)
    wait_keys()
    alice.publish()
    bob.publish()
    alice.add_contact(bob)
    bob.add_contact(alice)
    return alice, bob


def alice_to_bob(tmp_path, node, text):
    """alice and bob homed at @node (started, AXFR allowed), contacts of
    each other; alice sends @text. @return (alice, bob, the records)"""
    alice, bob = alice_and_bob(tmp_path, node)
    alice.set_config("privacy.delay", "off")
    r = alice.send("bob", text)
    assert r.returncode == 0, r.stderr_text
    return alice, bob, message_records(node)


def inbox_at(user, old, new):
    """Point @user's node from @old to @new, receive, return the inbox."""
    cfg = user.home + "/config.yaml"
    text = open(cfg).read()
    was = "%s:%d" % (old.host, old.port)
    assert was in text
    open(cfg, "w").write(text.replace(was, "%s:%d" % (new.host, new.port)))
    r = user.recv()
    assert r.returncode == 0, r.stderr_text
    return [m for _, m in user.maildir("inbox")]
