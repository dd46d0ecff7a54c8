"""Cluster anti-entropy (PROTOCOL.md 7.6) between real dmp-node processes
on 127.0.0.x: a node that was down during 50 writes converges within two
sync intervals, and so do 50 real messages (manifests and chunks, read
back by a client that asks only that node); a lying peer changes nothing
and is counted in /metrics;
a Python double of the reference's sync endpoints (refsync_double.py)
and dmp-node sync with each other in both directions."""
import json
import os
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request

import dns.message
import dns.query
import dns.rdatatype
import pytest

from cli_helpers import User
from conftest import Node, free_addr
from refsync_double import RefSyncDouble, vhash
from test_node_http import free_tcp

TOKEN = "cluster-sync-token-0123456789"
WTOKEN = "record-api-token"
INTERVAL = 1


def make_node(tmp_path, name, peers, extra_cfg=""):
    d = tmp_path / name
    d.mkdir()
    n = Node(d)
    n.http_port = free_tcp(n.host)
    n.url = "http://%s:%d" % (n.host, n.http_port)
    n.peers = peers
    n.cfg_extra = extra_cfg
    n.sec_extra = ""  # more lines of the security: section
    return n


def configure(n):
    cfg = ("security:\n  http_auth: legacy\n  http_token: %s\n"
           "  http_rate_limit: 0\n%s"
           "sync:\n  token: %s\n  interval: %d\n  peers:\n%s%s" % (
               WTOKEN, n.sec_extra, TOKEN, INTERVAL,
               "".join("    - %s\n" % p for p in n.peers), n.cfg_extra))
    path = n.tmp / "node.yaml"
    path.write_text(cfg)
    n.extra = ["-c", str(path), "--http", "%s:%d" % (n.host, n.http_port)]


def start_node(tmp_path, nodes, peers):
    n = make_node(tmp_path, "a", peers)
    configure(n)
    nodes.append(n)
    return n.start()


@pytest.fixture
def nodes():
    made = []
    yield made
    for n in made:
        n.stop()
    for n in made:
        log = n.log.read_text(errors="replace") if n.log.exists() else ""
        for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                    "WARNING: ThreadSanitizer", "runtime error:"):
            assert bad not in log, log


def http(url, body=None, token=TOKEN, method=None):
    req = urllib.request.Request(
        url, data=None if body is None else json.dumps(body).encode(),
        method=method, headers={"Content-Type": "application/json",
                                **({"Authorization": "Bearer " + token}
                                   if token else {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def write(n, name, value, ttl=3600):
    st, body = http("%s/v1/records/%s" % (n.url, name),
                    {"value": value, "ttl": ttl}, token=WTOKEN)
    assert st == 201, body


def metric(n, key):
    st, body = http(n.url + "/metrics", token=None)
    assert st == 200
    for line in body.splitlines():
        if line.startswith(key + " "):
            return int(float(line.split()[1]))
    raise AssertionError("%s not in /metrics" % key)


def txt(n, name):
    q = dns.message.make_query(name, "TXT")
    r = dns.query.udp(q, n.host, port=n.port, timeout=2)
    return sorted(b"".join(rd.strings).decode() for rr in r.answer
                  for rd in rr)


def wait_for(cond, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return time.monotonic()
        time.sleep(0.1)
    return None


def test_three_nodes_converge_after_downtime(tmp_path, nodes):
    a = make_node(tmp_path, "a", [])
    b = make_node(tmp_path, "b", [])
    c = make_node(tmp_path, "c", [])
    a.peers, b.peers, c.peers = [b.url, c.url], [a.url, c.url], \
        [a.url, b.url]
    for n in (a, b, c):
        configure(n)
        nodes.append(n)
        n.start()
    c.stop()
    names = ["m%02d.mesh.test" % i for i in range(50)]
    for i, name in enumerate(names):
        write(a if i % 2 else b, name, "hello %d" % i)
    # The live pair converges between themselves.
    assert wait_for(lambda: metric(a, "dmp_node_store_rows") >= 50 and
                    metric(b, "dmp_node_store_rows") >= 50, 10), \
        a.log.read_text()
    c.start()
    t0 = time.monotonic()
    done = wait_for(lambda: metric(c, "dmp_node_store_rows") >= 50,
                    2 * INTERVAL + 3)
    assert done, c.log.read_text()
    print("converged %.2fs after restart" % (done - t0))
    for i, name in enumerate(names):
        assert txt(c, name) == ["hello %d" % i]
    assert metric(c, "dmp_node_sync_stored_total") >= 50
    for r in ("unrequested", "hash_mismatch", "invalid", "bad_digest"):
        assert metric(c, 'dmp_node_sync_rejected_total{reason="%s"}' % r) \
            == 0, r
    # Restarted again, c resumes from its persisted cursors: nothing new.
    c.stop()
    c.start()
    time.sleep(2 * INTERVAL + 0.5)
    assert metric(c, "dmp_node_sync_stored_total") == 0


def test_sync_endpoints_need_the_token(tmp_path, nodes):
    # A peer nobody listens on: outside the hosts free_addr() draws.
    n = start_node(tmp_path, nodes, ["http://127.0.0.254:9"])
    for path in ("/v1/sync/digest", "/v1/sync/cluster-manifest"):
        assert http(n.url + path, token=None)[0] == 403
        assert http(n.url + path, token=TOKEN + "x")[0] == 403
    assert http(n.url + "/v1/sync/pull", {"names": []}, token="no")[0] == 403
    for i in range(25):
        write(n, "p%02d.mesh.test" % i, "v%d" % i)
    # Paging: limit 10 walks all 25 in order, no repeats.
    seen, cur = [], "0::"
    for _ in range(5):
        st, body = http(n.url + "/v1/sync/digest?limit=10&cursor=" + cur)
        assert st == 200, body
        d = json.loads(body)
        seen += [(e["ts"], e["name"], e["hash"]) for e in d["records"]]
        cur = d["next_cursor"]
        if not d["has_more"]:
            break
    assert len(seen) == 25 and seen == sorted(set(seen))
    st, body = http(n.url + "/v1/sync/pull",
                    {"names": ["p03.mesh.test.", "nothere.mesh.test"]})
    assert st == 200
    recs = json.loads(body)["records"]
    assert [(r["name"], r["value"]) for r in recs] == [("p03.mesh.test",
                                                        "v3")]
    assert 3500 < recs[0]["ttl"] <= 3600
    assert http(n.url + "/v1/sync/pull",
                {"names": ["x"] * 257})[0] == 400
    assert http(n.url + "/v1/sync/digest?cursor=bad")[0] == 400
    assert http(n.url + "/v1/sync/cluster-manifest")[0] == 204


def test_lying_peer_changes_nothing(tmp_path, nodes):
    liar = RefSyncDouble(free_addr()[0], TOKEN)
    try:
        liar.put("good.mesh.test", "honest value", 3600)
        forged = {
            # signature does not verify
            "slot-1.mb-0123456789abcdef.mesh.test":
                "v=dmp1;t=manifest;d=" + "QUJD" * 60,
            "claim-3.mb-0123456789abcdef.mesh.test":
                "v=dmp1;t=claim;" + "QUJD" * 40,
            # non-DMP text aliased into a mailbox name
            "mb-0123456789abcdef.mesh.test": "v=spf1 -all",
            # a DMP type this node cannot check
            "future.mesh.test": "v=dmp9;t=new;whatever",
            # over max_value_bytes (2048)
            "big.mesh.test": "x" * 3000,
            # outside every zone served
            "elsewhere.example": "hello",
        }
        for k, v in forged.items():
            liar.put(k, v, 3600)
        liar.extra_pull = [
            {"name": "planted.mesh.test", "value": "unrequested", "ttl": 60},
            {"name": "good.mesh.test", "value": "swapped", "ttl": 60},
        ]
        n = start_node(tmp_path, nodes, [liar.url])
        assert wait_for(lambda: metric(n, "dmp_node_sync_stored_total") >= 1,
                        2 * INTERVAL + 3), n.log.read_text()
        time.sleep(INTERVAL)
        assert txt(n, "good.mesh.test") == ["honest value"]
        for name in list(forged) + ["planted.mesh.test"]:
            if name.endswith(".mesh.test"):
                assert txt(n, name) == [], name
        assert metric(n, "dmp_node_store_rows") == 1
        assert metric(n, "dmp_node_sync_stored_total") == 1
        r = 'dmp_node_sync_rejected_total{reason="%s"}'
        assert metric(n, r % "invalid") >= 4
        assert metric(n, r % "refused") >= 2
        assert metric(n, r % "unrequested") >= 1
        assert metric(n, r % "hash_mismatch") >= 1
    finally:
        liar.close()


def test_mixed_cluster_with_reference_double(tmp_path, nodes):
    ref = RefSyncDouble(free_addr()[0], TOKEN)
    try:
        for i in range(30):
            ref.put("r%02d.mesh.test" % i, "from ref %d" % i, 3600)
        n = start_node(tmp_path, nodes, [ref.url])
        # double -> dmp-node
        assert wait_for(lambda: metric(n, "dmp_node_store_rows") >= 30,
                        2 * INTERVAL + 3), n.log.read_text()
        assert txt(n, "r07.mesh.test") == ["from ref 7"]
        # dmp-node -> double
        for i in range(20):
            write(n, "d%02d.mesh.test" % i, "from dmp %d" % i)
        assert ref.sync_once(n.url) == 20
        assert ref.values("d05.mesh.test") == ["from dmp 5"]
        assert vhash("from dmp 5") in json.dumps(
            json.loads(http(n.url + "/v1/sync/digest")[1]))
        # Nothing new the second time: the cursor moved.
        assert ref.sync_once(n.url) == 0
    finally:
        ref.close()


@pytest.mark.parametrize("cfg,msg", [
    ("sync:\n  peers:\n    - http://127.0.0.254:9\n",
     "need sync.token or sync.token_file"),
    ("sync:\n  token: x\n  peers:\n    - ftp://127.0.0.254:9\n",
     "is not an http:// or https:// base URL"),
    ("sync:\n  token: x\n  cluster: mesh.test\n",
     "sync.cluster needs sync.operator_pubkey"),
    ("sync:\n  token: x\n  operator_pubkey: abc\n", "64 hex digits"),
    ("sync:\n  token_file: /nonexistent/sync.token\n", "cannot read it"),
    ("sync:\n  interval: 0\n",
     "interval: out of range: 0 (allowed 1..3600)"),
])
def test_bad_sync_settings_are_refused(tmp_path, cfg, msg):
    n = Node(tmp_path, config=cfg)
    r = subprocess.run([n.bin, "-f", "--db", n.db, "--listen",
                        "%s:%d" % (n.host, n.port), "--zone", "mesh.test",
                        *n.extra], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode != 0 and msg in r.stderr, r.stderr


def dmp_records(n):
    """{(name, value)} of every manifest (slot-N.mb-...) and chunk record
    the node serves, read by AXFR (xfr_allow: 127.0.0.1)."""
    out = set()
    for m in dns.query.xfr(n.host, "mesh.test", port=n.port, timeout=10,
                           lifetime=20):
        for rrs in m.answer:
            owner = rrs.name.to_text(omit_final_dot=True)
            if rrs.rdtype == dns.rdatatype.TXT and \
                    owner.startswith(("slot-", "chunk-")):
                out |= {(owner, b"".join(rd.strings).decode())
                        for rd in rrs}
    return out


def test_real_messages_reach_a_node_that_was_down(tmp_path, nodes):
    """Issue 15 end to end: C is down while alice sends 50 real messages
    to bob (2 of 3 nodes take each); C comes back, holds every manifest
    and chunk the others hold within two sync intervals, and bob reading
    only from C gets all 50, byte-identical."""
    # 250 values a tick: the ~420 take C two ticks and digest pages end
    # inside mailbox slots (values at an asked name on a later page).
    trio = [make_node(tmp_path, x, [], "  max_per_tick: 250\n")
            for x in "abc"]
    a, b, c = trio
    a.peers, b.peers, c.peers = [b.url, c.url], [a.url, c.url], \
        [a.url, b.url]
    keys = {w: a.add_key("%s.mesh.test" % w, "mesh.test")[0]
            for w in ("alice", "bob")}
    for n in (b, c):  # the same TSIG keys on every node
        src, dst = sqlite3.connect(a.db), sqlite3.connect(n.db)
        src.backup(dst)
        src.close()
        dst.close()
    for n in trio:
        n.sec_extra = "  xfr_allow: [127.0.0.1]\n"
        configure(n)
        nodes.append(n)
        n.start()
    alice = User(tmp_path, "alice", a, key=keys["alice"], nodes=trio)
    bob = User(tmp_path, "bob", a, key=keys["bob"], nodes=trio)
    alice.publish()
    bob.publish()
    alice.add_contact(bob)
    bob.add_contact(alice)
    # bob reads only from C from now on.
    bob.run("config", "set", "network.nodes", "%s:%d" % (c.host, c.port),
            check=True)
    # Claims are not what this is about (each costs a retry at C).
    alice.run("config", "set", "claims.recipient_zone", "false", check=True)
    bodies = [("message %02d from alice " % i).encode() +
              os.urandom(4 * i).hex().encode() for i in range(50)]
    # The fastest batch the CLI allows: one publish pass for all 50.
    # A send retries a node that refuses for 1.5 s (3 attempts, backoff),
    # once per publish pass, so 50 `dmp send`s with C down take ~100 s;
    # one `dmp flush` of 50 queued messages pays it once. To queue them,
    # A is down too for the first send (1 of 3 nodes: it stays queued,
    # its retry backed off) and the other 49 queue behind it (same
    # recipient, in order).
    c.stop()
    a.stop()
    t0 = time.monotonic()
    for i, body in enumerate(bodies):
        r = alice.send("bob", body)
        assert r.returncode == 5, r.stderr_text
        assert "message queued (id" in r.stderr_text, r.stderr_text
        assert i == 0 or "queued behind message" in r.stderr_text
    a.start()
    r = alice.run("-v", "flush")
    assert r.returncode == 0, r.stderr_text
    assert "published 50 messages; 0 still queued" in r.stdout_text, \
        r.stdout_text
    assert r.stderr_text.count("published on 2 of 3 nodes") == 50, \
        r.stderr_text
    print("50 sends with C down took %.2fs" % (time.monotonic() - t0))
    want = dmp_records(a)
    assert want == dmp_records(b)
    assert sum(1 for k, _ in want if k.startswith("slot-")) == 50
    c.start()
    t0 = time.monotonic()
    done = wait_for(lambda: dmp_records(c) >= want, 2 * INTERVAL + 3)
    assert done, (sorted(want - dmp_records(c))[:5], c.log.read_text())
    print("C converged %.2fs after restart" % (done - t0))
    assert dmp_records(c) == want
    print("%d manifest and chunk values" % len(want))
    assert metric(c, "dmp_node_sync_stored_total") >= len(want)
    for r in ("unrequested", "hash_mismatch", "invalid", "bad_digest"):
        assert metric(c, 'dmp_node_sync_rejected_total{reason="%s"}' % r) \
            == 0, (r, c.log.read_text())
    t0 = time.monotonic()
    r = bob.recv()
    print("bob's recv from C took %.2fs" % (time.monotonic() - t0))
    assert r.returncode == 0, r.stderr_text
    assert sorted(body for _, body in bob.maildir("inbox")) == \
        sorted(bodies)
