"""Helpers shared by the DMP-RELAY/1 black-box tests (docs/protocol.md
8.7): a line of relay nodes on loopback, and a real message from alice to
bob whose records are read back by AXFR to make a bundle."""
import pytest

from cli_helpers import User, dmp_binary, wait_keys, ZONE
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


def message_records(n, zone=ZONE):
    """The manifest and chunks held by node @n (AXFR of @zone), as bundle
    records."""
    z = dns.zone.from_xfr(dns.query.xfr(n.host, zone, port=n.port,
                                        timeout=5, lifetime=10))
    out = []
    for name, node in z.nodes.items():
        label = name.to_text()
        if not label.startswith(("slot-", "chunk-")):
            continue
        for rds in node.rdatasets:
            for rd in rds:
                out.append({"name": "%s.%s" % (label, zone),
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


# ---- nodes in network namespaces (netns_mesh.Mesh) ----

NS_DNS_PORT = 5300  # each namespace is private: fixed ports are safe there
NS_HTTP_PORT = 8080


def relay_name(m, i):
    """Node i's endpoint host name: /etc/hosts in each neighbour's
    namespace (Mesh.hosts) maps it to i's address on their link, so the
    strict endpoint rule of heartbeats and link records (which refuses
    10/8 literals) holds with no setting relaxed."""
    return "relay-%s.test" % m.names[i]


def ns_wrapper(tmp_path, m, i, binary):
    """An executable that runs @binary in node i's namespace."""
    path = tmp_path / ("%s-%s" % (m.names[i], binary.rsplit("/", 1)[-1]))
    path.write_text('#!/bin/sh\nexec %s netns exec %s %s "$@"\n' % (
        m.ip, m.ns[i], binary))
    path.chmod(0o755)
    return str(path)


class NsNode(Node):
    """A dmp-node in node i's namespace of @m: DNS on its address towards
    its first neighbour, HTTP (relay and mesh) on every address. The test
    process talks to it inside that namespace (Mesh.inside)."""

    def __init__(self, tmp_path, m, i, zones):
        super().__init__(tmp_path, zones=zones)
        self.mesh, self.i, self.zone = m, i, zones[0]
        self.host, self.port = m.addr(i, m.neighbours(i)[0]), NS_DNS_PORT
        self.http = "%s:%d" % (self.host, NS_HTTP_PORT)
        self.url = "http://" + self.http
        self.endpoint = "http://%s:%d" % (relay_name(m, i), NS_HTTP_PORT)
        self.bin = ns_wrapper(tmp_path, m, i, self.bin)

    def at(self, fn, *args):
        """fn(self, *args) with this thread in the node's namespace."""
        with self.mesh.inside(self.i):
            return fn(self, *args)

    def wait_ready(self, timeout=10.0):
        with self.mesh.inside(self.i):
            return super().wait_ready(timeout)

    def dig(self, *args):
        with self.mesh.inside(self.i):
            return super().dig(*args)


def ns_users(tmp_path, m, home):
    """alice and bob of @home's zone, their `dmp` in @home's namespace,
    published there and contacts of each other. @return (alice, bob)"""
    alice = User(tmp_path, "alice", home, zone=home.zone)
    bob = User(tmp_path, "bob", home, zone=home.zone)
    for u in (alice, bob):
        u.bin = ns_wrapper(tmp_path, m, home.i, dmp_binary())
    wait_keys()
    for u in (alice, bob):
        u.publish()
    for u, other in ((alice, bob), (bob, alice)):
        u.add_contact(other)
    return alice, bob


def mesh_netns(tmp_path, m, extra="", zones=None, mesh_extra=""):
    """A dmp-node per namespace of @m (zones a.test, b.test, ... unless
    @zones, a tuple of zones per node), relay on, link_interval 1 s,
    neighbours by name; @extra is YAML added at the top level,
    @mesh_extra lines added to its mesh section. Not started."""
    nodes = []
    for i in range(m.n):
        d = tmp_path / m.names[i]
        d.mkdir()
        n = NsNode(d, m, i, zones[i] if zones else
                   ("%s.test" % m.names[i],))
        names = {relay_name(m, j): m.addr(j, i) for j in m.neighbours(i)}
        names[relay_name(m, i)] = n.host
        m.hosts(i, names)
        nbrs = ", ".join('"http://%s:%d"' % (relay_name(m, j), NS_HTTP_PORT)
                         for j in m.neighbours(i))
        (d / "node.yaml").write_text(
            "network:\n  http: 0.0.0.0:%d\n"
            "security:\n  http_rate_limit: 0\n  xfr_allow: [%s]\n"
            "mesh:\n  endpoint: %s\n  operator_key: %s\n"
            "  heartbeat_interval: 60\n  relay_enabled: true\n"
            "  link_interval: 1\n  neighbours: [%s]\n" % (
                NS_HTTP_PORT, n.host, n.endpoint, d / "operator.key",
                nbrs) + mesh_extra + extra)
        n.extra += ["-c", str(d / "node.yaml")]
        nodes.append(n)
    return nodes
