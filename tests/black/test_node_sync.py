"""Cluster anti-entropy (PROTOCOL.md 7.6) between real dmp-node processes
on 127.0.0.x: a node that was down during 50 writes converges within two
sync intervals; a lying peer changes nothing and is counted in /metrics;
a Python double of the reference's sync endpoints (refsync_double.py)
and dmp-node sync with each other in both directions."""
import json
import subprocess
import time
import urllib.error
import urllib.request

import dns.message
import dns.query
import pytest

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
    return n


def configure(n):
    cfg = ("security:\n  http_auth: legacy\n  http_token: %s\n"
           "  http_rate_limit: 0\n"
           "sync:\n  token: %s\n  interval: %d\n  peers:\n%s%s" % (
               WTOKEN, TOKEN, INTERVAL,
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
