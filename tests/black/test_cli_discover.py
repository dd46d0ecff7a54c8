"""`dmp resolvers discover`: two dmp-nodes (one holds our identity, one
does not) and a dead port are ranked in that order; --save writes only
the best to config.yaml."""
import socket

from cli_helpers import User, wait_keys


def dead_udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return "127.0.0.1:%d" % port


def test_discover_ranks_and_saves(tmp_path, node_factory):
    a = node_factory()
    a.start()
    b = node_factory()
    b.start()
    alice = User(tmp_path, "alice", a)
    wait_keys()
    alice.publish()
    aa = "%s:%d" % (a.host, a.port)
    bb = "%s:%d" % (b.host, b.port)
    dead = dead_udp()
    r = alice.run("resolvers", "discover", dead, bb, aa, timeout=120)
    assert r.returncode == 0, r.stderr_text
    lines = r.stdout_text.splitlines()
    order = [l.split()[1] for l in lines]
    assert order.index(aa) < order.index(bb) < order.index(dead), lines
    assert "identity found" in lines[order.index(aa)]
    assert "not found" in lines[order.index(bb)]
    assert " ms " in lines[order.index(aa)]
    cfg = open(alice.home + "/config.yaml").read()
    assert aa not in cfg.split("resolvers:")[1].split("\n")[0]
    r = alice.run("resolvers", "discover", "--save", bb, aa, dead,
                  timeout=120)
    assert r.returncode == 0, r.stderr_text
    line = [l for l in open(alice.home + "/config.yaml")
            if l.strip().startswith("resolvers:")][0]
    assert aa in line and bb not in line and dead not in line, line
    r = alice.run("resolvers")
    assert r.returncode == 0 and aa in r.stdout_text
    # An unknown option is a usage error.
    assert alice.run("resolvers", "discover", "--bogus").returncode == 2
