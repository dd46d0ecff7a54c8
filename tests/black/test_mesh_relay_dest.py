"""POST /v1/relay at the destination (docs/protocol.md 8.7.2-8.7.3): two
dmp-nodes serving mesh.test, not synced. alice sends to bob through A with
the real `dmp` CLI; the test reads the message's records from A by AXFR,
builds the DMP-RELAY/1 bundle (its id computed here, 8.7.1) and POSTs it
to B, where bob then receives the message. Also: duplicate 208, a flipped
chunk byte 403 naming the record, relay off 403, relay_accept own 403
until the mailbox is registered, a zone B does not serve 503, and the
per-source rate 429 with Retry-After."""
import base64
import hashlib
import json
import struct
import urllib.error
import urllib.request

from cli_helpers import wait_keys, ZONE
from conftest import Node, stop_and_check
from mesh_helpers import alice_to_bob, inbox_at
from test_node_http import free_tcp

SOURCE_BURST = 12  # tiny, so that the test reaches the limit quickly


def make(tmp_path, name, cfg):
    d = tmp_path / name
    d.mkdir()
    n = Node(d)
    n.http_port = free_tcp(n.host)
    n.url = "http://%s:%d" % (n.host, n.http_port)
    path = d / "node.yaml"
    path.write_text("security:\n  http_rate_limit: 0\n"
                    "  xfr_allow: [127.0.0.1]\n" + cfg)
    n.extra = ["-c", str(path), "--http", "%s:%d" % (n.host, n.http_port)]
    return n


def post(n, body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(n.url + "/v1/relay", data=data,
                                 method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read()), r.headers
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read()), e.headers


def bundle_id(records):
    """8.7.1: H("DMP-RELAY/1\\n" || sorted (u16 len, name, u16 len,
    value)...), the first 32 hex."""
    h = hashlib.sha256(b"DMP-RELAY/1\n")
    for name, value in sorted((r["name"].encode(), r["value"].encode())
                              for r in records):
        h.update(struct.pack("!H", len(name)) + name)
        h.update(struct.pack("!H", len(value)) + value)
    return h.hexdigest()[:32]


def bundle(records, zone=ZONE):
    return {"v": "DMP-RELAY/1", "id": bundle_id(records), "zone": zone,
            "mode": "path", "hops": 0, "max_hops": 5, "budget": 0,
            "path": [], "records": records}


def metric(n, line):
    with urllib.request.urlopen(n.url + "/metrics", timeout=10) as r:
        for l in r.read().decode().splitlines():
            if l.startswith(line + " "):
                return int(l.split()[-1])
    return None


def flip_chunk(records):
    """A copy with one byte of a chunk's blob changed (still base64)."""
    out = [dict(r) for r in records]
    i = next(k for k, r in enumerate(out) if r["name"].startswith("chunk-"))
    v = out[i]["value"]
    head, _, b64 = v.rpartition(";d=") if ";d=" in v else ("", "", v)
    raw = bytearray(base64.b64decode(b64 + "=" * (-len(b64) % 4)))
    raw[len(raw) // 2] ^= 0x01
    new = base64.b64encode(bytes(raw)).decode()
    if not b64.endswith("="):
        new = new.rstrip("=")
    out[i]["value"] = head + (";d=" if head else "") + new
    assert out[i]["value"] != v
    return out, i


def test_relay_destination(tmp_path):
    a = make(tmp_path, "a", "")
    b = make(tmp_path, "b",
             "mesh:\n  relay_enabled: true\n  relay_source_rate: 0.01\n"
             "  relay_source_burst: %d\n" % SOURCE_BURST)
    nodes = [a, b]
    try:
        for n in nodes:
            n.start()
        alice, bob, records = alice_to_bob(tmp_path, a, b"through a relay")
        assert any(r["name"].startswith("slot-") for r in records), records
        assert any(r["name"].startswith("chunk-") for r in records), records
        body = bundle(records)
        posts = 0

        # Relay off (A's default): 403 before anything else.
        st, js, _ = post(a, body)
        assert (st, js["reason"]) == (403, "relay disabled"), js

        # relay_accept own (the default): bob is not registered at B.
        st, js, _ = post(b, body)
        posts += 1
        assert st == 403 and "not authorised" in js["reason"], js
        assert js["id"] == body["id"] and js["status"] == 403
        mb = next(r["name"] for r in records
                  if r["name"].startswith("slot-")).split(".")[1]
        b.add_key("bob-reg.%s" % ZONE, "%s.%s" % (mb, ZONE))
        wait_keys()

        # Stored: 200, and bob reads the message from B.
        st, js, _ = post(b, body)
        posts += 1
        assert st == 200, js
        assert js == {"status": 200, "reason": "stored", "id": body["id"],
                      "hops": 0}
        assert inbox_at(bob, a, b) == [b"through a relay"]

        # The same again: 208, stored once.
        st, js, _ = post(b, body)
        posts += 1
        assert st == 208 and js["id"] == body["id"], js
        assert metric(b, "dmp_relay_stored_total") == 1
        assert metric(b, 'dmp_relay_dropped_total{reason="duplicate"}') == 1

        # One chunk byte flipped: 403 naming the record.
        bad, i = flip_chunk(records)
        st, js, _ = post(b, bundle(bad))
        posts += 1
        assert st == 403 and "records[%d]" % i in js["reason"], js

        # A zone B does not serve, and B has no mesh links: 503, no route.
        other = [dict(r, name=r["name"].replace(ZONE, "other.test"))
                 for r in records]
        st, js, _ = post(b, bundle(other, zone="other.test"))
        posts += 1
        assert st == 503, js
        assert js["reason"].startswith("no route to other.test: this node "
                                       "has no mesh links"), js

        # A bad id is 400, naming both.
        st, js, _ = post(b, dict(body, id="0" * 32))
        posts += 1
        assert st == 400 and "id" in js["reason"], js

        # Per-source rate: the burst spent, 429 with Retry-After.
        seen = None
        for _ in range(SOURCE_BURST + 5):
            st, js, hdr = post(b, body)
            posts += 1
            if st == 429:
                seen = (js, hdr.get("Retry-After"))
                break
            assert st == 208, js
        assert seen is not None, "no 429 after %d posts" % posts
        assert posts == SOURCE_BURST + 1, posts
        assert "relay_source_rate" in seen[0]["reason"], seen
        assert seen[1] is not None and int(seen[1]) >= 1, seen
        assert metric(b, 'dmp_relay_received_total{result="stored"}') == 1
        assert metric(b, 'dmp_relay_dropped_total{reason="source_rate"}') \
            == 1
        assert metric(b, 'dmp_relay_bytes_total{dir="in"}') > 0
    finally:
        stop_and_check(nodes)
