"""The node's HTTP side with curl: /health, /metrics, the legacy record
API (PROTOCOL.md 7.4) off by default, unauthenticated when asked, with
legacy and multi-tenant tokens, and TSIG registration (7.2) end to end,
then a write with the minted key through nsupdate."""
import base64
import hashlib
import hmac
import json
import socket
import subprocess

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import \
    Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import \
    X25519PrivateKey, X25519PublicKey

from conftest import node_binary


def free_tcp(host):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_node(node_factory, config="", **kw):
    n = node_factory(config=config or None, **kw)
    n.http_port = free_tcp(n.host)
    n.extra += ["--http", "%s:%d" % (n.host, n.http_port)]
    n.start()
    return n


def curl(n, method, path, body=None, token=None):
    """(status, body text)"""
    args = ["curl", "-sS", "-m", "10", "-X", method, "-o", "-", "-w",
            "\n%{http_code}"]
    if token:
        args += ["-H", "Authorization: Bearer " + token]
    if body is not None:
        args += ["-H", "Content-Type: application/json", "--data-binary",
                 json.dumps(body) if not isinstance(body, str) else body]
    args.append("http://%s:%d%s" % (n.host, n.http_port, path))
    r = subprocess.run(args, capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr
    text, _, code = r.stdout.rpartition("\n")
    return int(code), text


def test_records_off_by_default(node_factory):
    n = http_node(node_factory)
    name = "/v1/records/slot-1.mb-aaaaaaaaaaaa.mesh.test"
    st, body = curl(n, "POST", name, {"value": "v=dmp1;t=x;no", "ttl": 60})
    assert st == 404 and "security.http_auth" in body
    assert curl(n, "DELETE", name)[0] == 404
    assert curl(n, "GET", "/health")[0] == 200


def test_open_is_gone(tmp_path):
    """The old `open` (every loopback peer, so everyone behind a local
    proxy) is refused with the reason and the choices."""
    cfg = tmp_path / "open.yaml"
    cfg.write_text("security:\n  http_auth: open\n")
    r = subprocess.run([node_binary(), "-f", "-c", str(cfg), "--db",
                        str(tmp_path / "x.db"), "--zone", "mesh.test",
                        "--listen", "127.0.0.1:%d" % free_tcp("127.0.0.1"),
                        "--http", "127.0.0.1:%d" % free_tcp("127.0.0.1")],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "proxy" in r.stderr and "unauthenticated" in r.stderr, r.stderr


def test_health_metrics_records_unauthenticated(node_factory):
    n = http_node(node_factory,
                  config="security:\n  http_auth: unauthenticated\n")
    assert "UNAUTHENTICATED" in n.log.read_text()
    st, body = curl(n, "GET", "/health")
    h = json.loads(body)
    assert st == 200 and h["ok"] is True and h["records"] == 0
    assert "serial" in h
    name = "slot-1.mb-aaaaaaaaaaaa.mesh.test"
    st, _ = curl(n, "POST", "/v1/records/" + name,
                 {"value": "v=dmp1;t=x;hello", "ttl": 300})
    assert st == 201
    assert n.dig("+short", "TXT", name).strip() == '"v=dmp1;t=x;hello"'
    st, body = curl(n, "GET", "/v1/records/" + name)
    assert st == 200 and json.loads(body) == {
        "name": name, "values": ["v=dmp1;t=x;hello"]}
    # 7.4 status codes.
    assert curl(n, "POST", "/v1/records/" + name,
                {"value": 'a"b', "ttl": 300})[0] == 400
    assert curl(n, "POST", "/v1/records/" + name,
                {"value": "x", "ttl": 604801})[0] == 400
    assert curl(n, "POST", "/v1/records/x.example.org",
                {"value": "x", "ttl": 1})[0] == 400
    assert curl(n, "POST", "/v1/records/" + name,
                {"value": "a" * 2049, "ttl": 1})[0] == 400
    for i in range(63):
        assert curl(n, "POST", "/v1/records/" + name,
                    {"value": "v%d" % i, "ttl": 300})[0] == 201
    assert curl(n, "POST", "/v1/records/" + name,
                {"value": "one too many", "ttl": 300})[0] == 413
    assert curl(n, "DELETE", "/v1/records/" + name, {"value": "v0"})[0] == 204
    assert curl(n, "DELETE", "/v1/records/" + name, {"value": "v0"})[0] == 404
    assert curl(n, "DELETE", "/v1/records/" + name)[0] == 204
    assert "NXDOMAIN" in n.dig("TXT", name)
    assert curl(n, "GET", "/v1/records/" + name)[0] == 404
    st, body = curl(n, "GET", "/health")
    assert json.loads(body)["serial"] > h["serial"]
    # Metrics: the digs above were counted.
    st, text = curl(n, "GET", "/metrics")
    assert st == 200
    metrics = dict(l.rsplit(" ", 1) for l in text.splitlines()
                   if l and not l.startswith("#"))
    assert int(metrics["dmp_node_queries_total"]) >= 2
    assert int(metrics['dmp_node_answers_total{rcode="NOERROR"}']) >= 1
    assert int(metrics['dmp_node_answers_total{rcode="NXDOMAIN"}']) >= 1
    assert int(metrics["dmp_node_request_seconds_count"]) >= 2
    assert 'dmp_node_rejections_total{reason="tsig"}' in metrics
    assert int(metrics["dmp_node_store_bytes"]) > 0
    assert curl(n, "GET", "/nope")[0] == 404


def test_legacy_token(node_factory):
    n = http_node(node_factory, config="security:\n  http_auth: legacy\n"
                  "  http_token: s3cret-token\n")
    name = "/v1/records/chunk-0001-abcdefabcdef.mesh.test"
    body = {"value": "v=dmp1;t=chunk;x", "ttl": 60}
    assert curl(n, "POST", name, body)[0] == 401
    assert curl(n, "POST", name, body, token="wrong")[0] == 401
    assert curl(n, "POST", name, body, token="s3cret-token")[0] == 201
    assert curl(n, "DELETE", name, token="wrong")[0] == 401
    assert curl(n, "DELETE", name, token="s3cret-token")[0] == 204


def test_unauthenticated_needs_loopback(tmp_path):
    p = free_tcp("127.0.0.1")
    cfg = tmp_path / "unauth.yaml"
    cfg.write_text("security:\n  http_auth: unauthenticated\n")
    r = subprocess.run([node_binary(), "-f", "-c", str(cfg),
                        "--db", str(tmp_path / "x.db"),
                        "--zone", "mesh.test", "--listen",
                        "127.0.0.1:%d" % free_tcp("127.0.0.1"),
                        "--http", "0.0.0.0:%d" % p],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "loopback" in r.stderr


def register(n, subject, ed=None, x=None, tamper=None):
    st, body = curl(n, "GET", "/v1/registration/challenge")
    if st != 200:
        return st, body
    c = json.loads(body)
    assert c["node"] == "mesh.test" and c["version"] == 1
    ch = bytes.fromhex(c["challenge"])
    ed = ed or Ed25519PrivateKey.generate()
    x = x or X25519PrivateKey.generate()
    raw = serialization.Encoding.Raw
    spk = ed.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
    xpub = x.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
    sig = ed.sign(ch + subject.lower().encode() + c["node"].encode() + b"\1")
    shared = x.exchange(X25519PublicKey.from_public_bytes(
        bytes.fromhex(c["server_x25519_pub"])))
    pop = hmac.new(shared, ch + subject.lower().encode() + xpub,
                   hashlib.sha256).digest()
    req = {"subject": subject, "ed25519_spk": spk.hex(),
           "challenge": c["challenge"], "signature": sig.hex(),
           "x25519_pub": xpub.hex(), "x25519_pop": pop.hex()}
    if tamper:
        tamper(req)
    return curl(n, "POST", "/v1/registration/tsig-confirm", req)


def test_registration_flow(node_factory):
    n = http_node(node_factory, config="security:\n"
                  "  registration_enabled: true\n"
                  "  registration_per_hour: 1000\n")
    ed = Ed25519PrivateKey.generate()
    st, body = register(n, "Carol@mesh.test", ed=ed)
    assert st == 200, body
    k = json.loads(body)
    spk_hex = ed.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
    h6 = hashlib.sha256(b"carol@mesh.test").hexdigest()[:6]
    assert k["tsig_key_name"] == "carol-%s-%s.mesh.test." % (spk_hex[:8], h6)
    assert k["tsig_algorithm"] == "hmac-sha256"
    assert k["subject"] == "carol@mesh.test" and k["zone"] == "mesh.test"
    h16 = hashlib.sha256(b"carol").hexdigest()[:16]
    assert "id-%s.mesh.test" % h16 in k["allowed_suffixes"]
    secret = base64.b64encode(bytes.fromhex(k["tsig_secret_hex"])).decode()
    key = "hmac-sha256:%s:%s" % (k["tsig_key_name"].rstrip("."), secret)
    # The minted key writes inside its scope...
    r = n.nsupdate(key, "zone mesh.test\nupdate add id-%s.mesh.test 300 TXT "
                   '"v=dmp1;t=identity;x"' % h16)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "identity" in n.dig("+short", "TXT", "id-%s.mesh.test" % h16)
    # ...and nowhere else.
    r = n.nsupdate(key, "zone mesh.test\nupdate add id-0000000000000000."
                   'mesh.test 300 TXT "x"')
    assert r.returncode != 0 and "REFUSED" in r.stdout + r.stderr
    # 7.2 errors.
    assert register(n, "carol@mesh.test")[0] == 409  # another key
    assert register(n, "carol@mesh.test", ed=ed)[0] == 200  # same key
    bad_sig = register(n, "dave@mesh.test", tamper=lambda q: q.update(
        signature="00" * 64))
    assert bad_sig[0] == 401
    bad_pop = register(n, "dave@mesh.test", tamper=lambda q: q.update(
        x25519_pop="00" * 32))
    assert bad_pop[0] == 401
    # A challenge is single use.
    st, body = curl(n, "GET", "/v1/registration/challenge")
    ch = json.loads(body)["challenge"]
    def reuse(q):
        q["challenge"] = ch
    assert register(n, "erin@mesh.test", tamper=reuse)[0] == 401


def test_registration_allowlist_and_rate(node_factory):
    n = http_node(node_factory, config="security:\n"
                  "  registration_enabled: true\n"
                  "  registration_allow: ['@mesh.test']\n")
    assert register(n, "eve@elsewhere.test")[0] == 403   # 2 requests
    assert register(n, "frank@mesh.test")[0] == 200     # 4
    codes = [curl(n, "GET", "/v1/registration/challenge")[0]
             for _ in range(3)]
    assert codes == [200, 429, 429]


def test_registration_off_by_default(node_factory):
    n = http_node(node_factory)
    assert curl(n, "GET", "/v1/registration/challenge")[0] == 404


def test_key_write_rate_nsupdate(node_factory):
    """security.key_write_rate: one key's burst, then REFUSED and counted
    as key_rate; a second key is unaffected."""
    n = node_factory(config="security:\n  key_write_rate: 1\n"
                     "  key_write_burst: 2\n")
    n.http_port = free_tcp(n.host)
    n.extra += ["--http", "%s:%d" % (n.host, n.http_port)]
    a, _ = n.add_key("alice.mesh.test", "slot-*.mb-*.mesh.test")
    b, _ = n.add_key("bob.mesh.test", "slot-*.mb-*.mesh.test")
    n.start()
    add = ("zone mesh.test\nupdate add slot-%d.mb-abc.mesh.test 300 TXT "
           "\"v\"")
    rs = [n.nsupdate(a, add % i) for i in range(4)]
    assert [r.returncode for r in rs[:2]] == [0, 0], rs[0].stderr
    refused = [r for r in rs[2:] if r.returncode != 0]
    # Four UPDATEs take well under two seconds: at most one refill.
    assert len(refused) >= 1 and all("REFUSED" in r.stdout + r.stderr
                                      for r in refused), rs
    assert n.nsupdate(b, add % 9).returncode == 0
    st, text = curl(n, "GET", "/metrics")
    metrics = dict(l.rsplit(" ", 1) for l in text.splitlines()
                   if l and not l.startswith("#"))
    assert int(metrics['dmp_node_rejections_total{reason="key_rate"}']) \
        == len(refused)


def test_key_quota_nsupdate_and_migration(node_factory):
    """security.key_quota over nsupdate, on a store created before the
    owner column existed (the node migrates it; old rows stay served)."""
    import sqlite3
    import time
    n = node_factory(config="security:\n  key_quota: 2\n")
    db = sqlite3.connect(n.db)
    db.execute("CREATE TABLE records(name TEXT NOT NULL, value TEXT NOT "
               "NULL, value_hash TEXT NOT NULL, expires_at INTEGER NOT "
               "NULL, stored_ts INTEGER NOT NULL, PRIMARY KEY(name, "
               "value_hash))")
    db.execute("INSERT INTO records VALUES('slot-9.mb-old.mesh.test', "
               "'old', ?, ?, ?)", (hashlib.sha256(b"old").hexdigest(),
                                   int(time.time()) + 3600,
                                   int(time.time() * 1000)))
    db.commit()
    db.close()
    n.http_port = free_tcp(n.host)
    n.extra += ["--http", "%s:%d" % (n.host, n.http_port)]
    a, _ = n.add_key("alice.mesh.test", "slot-*.mb-*.mesh.test")
    n.start()
    assert '"old"' in n.dig("+short", "slot-9.mb-old.mesh.test", "TXT")
    add = "zone mesh.test\nupdate add slot-1.mb-abc.mesh.test 300 TXT \"%s\""
    assert n.nsupdate(a, add % "one").returncode == 0
    assert n.nsupdate(a, add % "two").returncode == 0
    r = n.nsupdate(a, add % "three")
    assert r.returncode != 0 and "REFUSED" in r.stdout + r.stderr
    assert n.nsupdate(a, add % "one").returncode == 0  # refresh is free
    st, text = curl(n, "GET", "/metrics")
    assert 'dmp_node_rejections_total{reason="quota"} 1' in text
    n.stop()
    db = sqlite3.connect(n.db)
    owners = dict(db.execute("SELECT value, key_name FROM records"))
    db.close()
    assert owners == {"old": None, "one": "alice.mesh.test",
                      "two": "alice.mesh.test"}, owners


def test_multi_tenant_tokens_curl(node_factory):
    """http_auth: multi-tenant: per-user Bearer tokens from `dmp-node
    token add`, writes only inside the token's scopes, revocation live."""
    n = node_factory(config="security:\n  http_auth: multi-tenant\n")
    alice = n.cli("token", "add", "alice", "--scope",
                  "slot-*.mb-aaaaaaaaaaaa.mesh.test").stdout.strip()
    bob = n.cli("token", "add", "bob", "--scope",
                "mb-bbbbbbbbbbbb.mesh.test").stdout.strip()
    assert len(alice) == 64 and alice != bob
    listed = n.cli("token", "list").stdout
    assert "alice bearer" in listed and "bob bearer" in listed
    assert alice not in listed  # only a hash is kept
    n.http_port = free_tcp(n.host)
    n.extra += ["--http", "%s:%d" % (n.host, n.http_port)]
    n.start()
    a = "/v1/records/slot-1.mb-aaaaaaaaaaaa.mesh.test"
    b = "/v1/records/slot-1.mb-bbbbbbbbbbbb.mesh.test"
    v = {"value": "v=dmp1;t=x;tenant", "ttl": 300}
    assert curl(n, "POST", a, v)[0] == 401
    assert curl(n, "POST", a, v, token="0" * 64)[0] == 401
    assert curl(n, "POST", a, v, token=alice)[0] == 201
    assert curl(n, "POST", b, v, token=alice)[0] == 403
    assert curl(n, "POST", a, v, token=bob)[0] == 403
    assert curl(n, "POST", b, v, token=bob)[0] == 201
    assert '"v=dmp1;t=x;tenant"' in n.dig("+short",
                                          a.rsplit("/", 1)[1], "TXT")
    assert curl(n, "DELETE", a, token=bob)[0] == 403
    assert curl(n, "DELETE", b, token=bob)[0] == 204
    # Revoked while the node runs: refused at once.
    n.cli("token", "revoke", "alice")
    assert curl(n, "POST", a, v, token=alice)[0] == 401
    assert n.cli("token", "revoke", "alice", check=False).returncode == 1
