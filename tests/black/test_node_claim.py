"""PROTOCOL.md 7.3: the un-TSIG'd claim UPDATE, sent by nsupdate without
a key (and by hand), against the claim_record.json vector."""
import json
import os
import subprocess

from conftest import VECTORS, build_update, parse

T2030 = 1893456000


def vec():
    with open(os.path.join(VECTORS, "claim_record.json")) as f:
        return json.load(f)["cases"][0]


def nsupdate_plain(node, script):
    full = "server %s %d\n%s\nsend\n" % (node.host, node.port, script)
    return subprocess.run(["nsupdate", "-t", "5"], input=full,
                          capture_output=True, text=True, timeout=20)


def test_claim_without_tsig(node_factory):
    c = vec()
    owner = c["rrset_name_for_recipient"]
    n = node_factory(zones=("claims.test",),
                     extra=["--fake-now", str(T2030)],
                     config="security:\n  claim_provider: true\n").start()
    r = nsupdate_plain(n, 'zone claims.test\nupdate add %s 604800 TXT "%s"'
                       % (owner, c["expected_wire"]))
    assert r.returncode == 0, r.stderr
    out = n.dig("+short", "TXT", owner)
    assert c["expected_wire"] in out.replace('"', "").replace(" ", "")
    # TTL capped at 86400 in the store: the answer TTL is the node's.
    # Not a claim: REFUSED, nothing stored.
    r = nsupdate_plain(n, 'zone claims.test\nupdate add '
                       'slot-1.mb-178a89db82f3.claims.test 300 TXT "x"')
    assert r.returncode != 0 and "REFUSED" in r.stdout + r.stderr
    assert n.dig("+short", "TXT", "slot-1.mb-178a89db82f3.claims.test") == ""
    # A claim at the wrong owner shape, by hand: REFUSED.
    w = build_update("claims.test", [("claim-3.mb-178a89db82f.claims.test",
                                      300, 1, c["expected_wire"])])
    assert parse(n.udp(w))["rcode"] == 5
    # A tampered claim: REFUSED.
    bad = c["expected_wire"][:-3] + ("A" if c["expected_wire"][-3] != "A"
                                     else "B") + c["expected_wire"][-2:]
    w = build_update("claims.test", [("claim-4.mb-178a89db82f3.claims.test",
                                      300, 1, bad)])
    assert parse(n.udp(w))["rcode"] == 5
    assert n.dig("+short", "TXT", "claim-4.mb-178a89db82f3.claims.test") == ""


def test_claim_refused_when_off(node_factory):
    c = vec()
    n = node_factory(zones=("claims.test",),
                     extra=["--fake-now", str(T2030)]).start()
    r = nsupdate_plain(n, 'zone claims.test\nupdate add %s 300 TXT "%s"'
                       % (c["rrset_name_for_recipient"], c["expected_wire"]))
    assert r.returncode != 0 and "REFUSED" in r.stdout + r.stderr


def test_claim_rate_limit_servfail(node_factory):
    c = vec()
    owner = c["rrset_name_for_recipient"]
    n = node_factory(zones=("claims.test",),
                     extra=["--fake-now", str(T2030)],
                     config="security:\n  claim_provider: true\n"
                     "  rate_limit: 0\n").start()
    codes = []
    for _ in range(35):
        w = build_update("claims.test", [(owner, 300, 1, c["expected_wire"])])
        codes.append(parse(n.udp(w))["rcode"])
    # Burst of 30 (plus at most a refill or two while we send), then
    # SERVFAIL.
    assert codes[:30] == [0] * 30, codes
    assert 2 in codes[30:], codes
