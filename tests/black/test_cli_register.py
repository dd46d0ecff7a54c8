"""`dmp tsig register` (PROTOCOL.md 7.2) against a real dmp-node with the
HTTP API and registration on: init without --tsig, register, publish with
the minted key; then the distinct failures (409, 403, 404, unreachable)."""
import re

from cli_helpers import User
from test_node_http import free_tcp, http_node

REG = "security:\n  registration_enabled: true\n  registration_per_hour: 1000\n"


def bare_user(tmp_path, name, n, zone="mesh.test"):
    u = User(tmp_path, name, n, key="", init=False, zone=zone)
    r = u.run("init", name, "--domain", zone, "--node",
              "%s:%d" % (n.host, n.port))
    assert r.returncode == 0, r.stderr_text
    return u


def url(n):
    return "http://%s:%d" % (n.host, n.http_port)


def test_register_then_publish(tmp_path, node_factory):
    n = http_node(node_factory, config=REG)
    alice = bare_user(tmp_path, "alice", n)
    # Without a key the node refuses the identity write.
    assert alice.run("identity", "publish").returncode != 0
    r = alice.run("tsig", "register", "--node-http", url(n) + "/")
    assert r.returncode == 0, r.stderr_text
    assert re.search(r"registered: TSIG key alice-[0-9a-f]{8}-[0-9a-f]{6}"
                     r"\.mesh\.test", r.stdout_text), r.stdout_text
    cfg = open(alice.home + "/config.yaml").read()
    assert "hmac-sha256:alice-" in cfg
    r = alice.run("identity", "publish")
    assert r.returncode == 0, r.stderr_text
    # Registering again with the same key is fine (7.2: idempotent).
    assert alice.run("tsig", "register", "--node-http",
                     url(n)).returncode == 0
    # Another key for the same name: 409.
    other2 = User(tmp_path, "alice2", n, key="", init=False)
    other2.home = str(tmp_path / "home-other")
    other2.passphrase = "a-different-passphrase"
    r = other2.run("init", "alice", "--domain", "mesh.test", "--node",
                   "%s:%d" % (n.host, n.port))
    assert r.returncode == 0, r.stderr_text
    r = other2.run("tsig", "register", "--node-http", url(n))
    assert r.returncode != 0 and "already registered" in r.stderr_text


def test_register_errors(tmp_path, node_factory):
    off = http_node(node_factory)
    u = bare_user(tmp_path, "bob", off)
    r = u.run("tsig", "register", "--node-http", url(off))
    assert r.returncode != 0 and "not enabled" in r.stderr_text
    dead = "http://127.0.0.1:%d" % free_tcp("127.0.0.1")
    r = u.run("tsig", "register", "--node-http", dead)
    assert r.returncode != 0 and "unreachable" in r.stderr_text
    allow = http_node(node_factory, config="security:\n"
                      "  registration_enabled: true\n"
                      "  registration_allow: ['carol@mesh.test']\n")
    u2 = bare_user(tmp_path, "dave", allow)
    r = u2.run("tsig", "register", "--node-http", url(allow))
    assert r.returncode != 0 and "may not register" in r.stderr_text
    assert u.run("tsig", "register").returncode != 0  # no URL: usage
