"""Storage budgets under attack (issue 12, docs/security.md 7.7), on
loopback with small limits in the node's config: a claim flood from one
source and from many with random recipient names; a registered key that
fills a victim's slots while a genuine message still gets through `dmp
recv`; the largest RRset a name may hold answered complete over TCP.
Every loop is bounded in count and time."""
import json
import os
import random
import socket
import struct
import time
import urllib.request

from cli_helpers import User, wait_keys
from conftest import (VECTORS, build_update, free_addr, parse, query_wire,
                      tcp_read, tsig_sign)
from test_cli_reject import mailbox_slot

ZONE = "mesh.test"
CZONE = "claims.test"
T2030 = 1893456000


def claim_value():
    with open(os.path.join(VECTORS, "claim_record.json")) as f:
        return json.load(f)["cases"][0]["expected_wire"]


def metrics(http):
    url = "http://%s:%d/metrics" % http
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def rej(m, reason):
    return int(m['dmp_node_rejections_total{reason="%s"}' % reason])


def disk(node):
    return sum(os.path.getsize(node.db + s) for s in ("", "-wal")
               if os.path.exists(node.db + s))


def send_from(src, node, wires, deadline):
    """Send each UPDATE from source address @src, one at a time; the
    RCODEs (None: no reply within 2 s)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.settimeout(2)
    codes = []
    try:
        for w in wires:
            if time.time() > deadline:
                break
            s.sendto(w, (node.host, node.port))
            try:
                codes.append(parse(s.recv(4096))["rcode"])
            except socket.timeout:
                codes.append(None)
    finally:
        s.close()
    return codes


def random_claims(count, value):
    return [build_update(CZONE, [("claim-%d.mb-%012x.%s" % (
        random.randint(0, 9), random.getrandbits(48), CZONE), 300, 1,
        value)]) for _ in range(count)]


def test_claim_flood_bounded(node_factory):
    http = free_addr()
    n = node_factory(
        zones=(CZONE,), extra=["--fake-now", str(T2030), "--http",
                               "%s:%d" % http],
        config="security:\n  claim_provider: true\n  rate_limit: 0\n"
        "limits:\n  claim_values: 60\n  claim_source_rate: 1\n"
        "  claim_source_burst: 20\n").start()
    value = claim_value()
    deadline = time.time() + 25
    before = disk(n)

    # One source, a fresh recipient per claim: the recipient's bucket
    # never empties, the source's does.
    t0 = time.time()
    codes = send_from("127.0.0.%d" % random.randint(2, 250), n,
                      random_claims(200, value), deadline)
    took = time.time() - t0
    assert len(codes) == 200 and None not in codes
    ok = codes.count(0)
    assert 20 <= ok <= 20 + int(took) + 2, (ok, took)
    assert set(codes) <= {0, 5}, codes  # REFUSED, not SERVFAIL
    m = metrics(http)
    assert rej(m, "claim_source_rate") == 200 - ok

    # Many sources (a botnet): each within its own burst, until the
    # node-wide claim cap refuses the rest.
    accepted = ok
    for i in range(30):
        c = send_from("127.0.%d.%d" % (1 + i, random.randint(2, 250)), n,
                      random_claims(10, value), deadline)
        assert None not in c
        accepted += c.count(0)
    assert accepted == 60, accepted
    m = metrics(http)
    assert rej(m, "claims_full") == 300 - (accepted - ok)
    assert m["dmp_node_claim_values"] == 60
    # Nothing refused was stored: 60 claims on disk, a few pages each.
    grown = disk(n) - before
    assert grown < 2 * 1024 * 1024, grown
    # An honest claim waits for room; queries still answer.
    rep = parse(n.udp(query_wire(CZONE, 6)))
    assert rep["rcode"] == 0


def signed(ops, key, secret):
    return tsig_sign(build_update(ZONE, ops), key, secret)


def test_attacker_cannot_hide_a_victims_mail(tmp_path, node_factory):
    http = free_addr()
    n = node_factory(extra=["--http", "%s:%d" % http]).start()
    alice = User(tmp_path, "alice", n)
    bob = User(tmp_path, "bob", n)
    # A registered user's scopes (PROTOCOL.md 7.1): others' slots, chunks
    # and claims only through '*' suffixes, i.e. names it does not own.
    _, secret = n.add_key("mallory." + ZONE, "slot-*.mb-*." + ZONE,
                          "chunk-*-*." + ZONE, "claim-*.mb-*." + ZONE)
    wait_keys()
    for u in (alice, bob):
        u.publish()
    alice.add_contact(bob)
    bob.add_contact(alice)

    # Mallory fills each of bob's ten slots with 2 KB values until
    # refused: the attack needed 33 a slot.
    deadline = time.time() + 20
    for s in range(10):
        owner = mailbox_slot(bob, s)
        codes = []
        for i in range(40):
            assert time.time() < deadline
            rc = parse(n.udp(signed([(owner, 300, 1, "%02d" % i + "x" *
                                      2046)], "mallory." + ZONE,
                                    secret)))["rcode"]
            codes.append(rc)
            if rc != 0:
                break
        # 9 values of 2069 RR bytes fit limits.foreign_bytes 20480.
        assert codes == [0] * 9 + [5], (s, codes)
    assert rej(metrics(http), "foreign_cap") == 10

    # The slot is still readable whole over TCP...
    rep = parse(n.tcp(query_wire(mailbox_slot(bob, 0), edns=1232),
                      timeout=5))
    assert rep["rcode"] == 0 and len(rep["an"]) == 9
    # ...and alice's genuine message still goes in and is delivered.
    assert alice.send("bob", b"genuine mail").returncode == 0
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    bodies = [b for _, b in bob.maildir("inbox")]
    assert any(b"genuine mail" in b for b in bodies), (bodies,
                                                      r.stdout_text)


def tcp_query(node, wire):
    with socket.create_connection((node.host, node.port), timeout=5) as s:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        return tcp_read(s)


def test_largest_rrset_fits_one_tcp_answer(node_factory):
    n = node_factory()
    key, secret = n.add_key("w." + ZONE, ZONE)
    n.start()
    # The longest owner there is: 255 bytes of wire name.
    owner = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 51, ZONE])
    assert len(owner) + 2 == 255
    cap = 65535 - 12 - 259 - 11 - 326  # DMP_NODE_NAME_BYTES_FIT, default
    # 31 values of 2048 bytes (RR 12 + 2057) and one of 772 (RR 788).
    values = ["%02d" % i + "v" * 2046 for i in range(31)] + ["w" * 772]
    rr = [12 + len(v) + (len(v) + 254) // 255 for v in values]
    assert sum(rr) == cap
    for v in values:
        rep = parse(n.tcp(signed([(owner, 300, 1, v)], "w." + ZONE, secret),
                          timeout=5))
        assert rep["rcode"] == 0
    # Full: one more byte is REFUSED (name_bytes), nothing changes.
    rep = parse(n.udp(signed([(owner, 300, 1, "z")], "w." + ZONE, secret)))
    assert rep["rcode"] == 5

    # UDP: truncated, empty; TCP: every value, within one message, also
    # with EDNS and a TSIG on the reply (the worst case the cap allows).
    rep = parse(n.udp(query_wire(owner, edns=1232)))
    assert rep["flags"] & 0x0200 and rep["an"] == []
    raw = tcp_query(n, query_wire(owner, edns=1232))
    rep = parse(raw)
    assert len(rep["an"]) == 32 and not rep["flags"] & 0x0200
    assert len(raw) == 12 + 259 + cap + 11
    got = sorted(b"".join(rd[i + 1:i + 1 + rd[i]] for i in
                          _pieces(rd)).decode() for *_, rd in rep["an"])
    assert got == sorted(values)
    raw = tcp_query(n, tsig_sign(query_wire(owner, edns=1232), "w." + ZONE,
                                 secret))
    rep = parse(raw)
    assert len(rep["an"]) == 32 and rep["ar"][-1][1] == 250, rep["rcode"]
    # The TSIG RR: a 13-byte key name, 10, hmac-sha256 (13), time 6,
    # fudge 2, MAC 2 + 32, id, error, other length: 84 of the 326
    # reserved for a 255-byte key name.
    assert len(raw) == 12 + 259 + cap + 11 + 84 <= 65535
    # A resolver-style client: dig retries over TCP after TC=1.
    out = n.dig("+short", "TXT", owner)
    assert len([l for l in out.splitlines() if l]) == 32, out[:300]


def _pieces(rd):
    i, out = 0, []
    while i < len(rd):
        out.append(i)
        i += 1 + rd[i]
    return out
