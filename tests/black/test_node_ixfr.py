"""IXFR (RFC 1995) to a Knot secondary.

A zone of DMP_IXFR_RECORDS records (100,000 by default: about 8 s in the
Release build, 14 s under ASan, 25 s under TSan; set it lower on a slow
machine) is preloaded into the node's sqlite store before it starts, Knot takes it by AXFR, one UPDATE
follows, the node sends NOTIFY and Knot takes the change by IXFR. Knot's
zone must then equal the node's, and the IXFR must be a few hundred bytes
where the AXFR was megabytes; dig IXFR=<serial> checks the same from the
outside. Both sizes and the load time are printed."""
import hashlib
import os
import re
import sqlite3
import subprocess
import time

import pytest

from conftest import free_addr, need
from knot_helpers import knot_secondary

# Deletes need an exact scope (node_upolicy.c).
SCOPES = ("slot-*.mb-*.mesh.test", "slot-3.mb-00007.mesh.test")


def preload(db, count):
    """Rows as dmp_st_apply() writes them (node_store.c)."""
    now = int(time.time())
    rows = []
    for i in range(count):
        v = "v%06d-" % i + "x" * 40
        rows.append(("slot-%d.mb-%05d.mesh.test" % (i % 10, i // 10), v,
                     hashlib.sha256(v.encode()).hexdigest(), now + 86400,
                     now * 1000, None))
    con = sqlite3.connect(db)
    con.executemany("INSERT INTO records(name, value, value_hash,"
                    " expires_at, stored_ts, key_name) VALUES(?,?,?,?,?,?)",
                    rows)
    con.commit()
    con.close()


def dig_at(host, port, *args):
    # +time=10: the first message of a big transfer comes after the whole
    # zone is copied, seconds under the sanitizers.
    r = subprocess.run(["dig", "+norec", "+time=10", "+tries=1",
                        "@" + host, "-p", str(port), *args],
                       capture_output=True, text=True, timeout=60)
    return r.stdout


def zone_of(out):
    """An AXFR as dig prints it: the set of RRs (the closing SOA once)."""
    return {" ".join(l.split()) for l in out.splitlines()
            if l and not l.startswith(";")}


def xfr_size(out):
    m = re.search(r"XFR size: (\d+) records \(messages (\d+), bytes (\d+)",
                  out)
    assert m, out[-500:]
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def soa_serial(host, port):
    for line in dig_at(host, port, "+short", "+time=1", "mesh.test",
                       "SOA").splitlines():
        f = line.split()
        if len(f) == 7 and f[2].isdigit():
            return int(f[2])
    return None  # not (yet) answering


def wait_for(what, fn, timeout, log):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if fn():
            return
        time.sleep(0.2)
    pytest.fail("%s: not within %d s\n%s" % (what, timeout,
                                              log.read_text()[-2000:]))


def test_ixfr_to_knot(tmp_path, node_factory):
    need("dig", "nsupdate", "knotd")
    count = int(os.environ.get("DMP_IXFR_RECORDS", "100000"))
    khost, kport = free_addr()
    n = node_factory(config="security:\n  xfr_allow: [127.0.0.1]\n"
                     "  xfr_keys: [xfr.mesh.test]\n"
                     "node:\n  ns: [ns1.mesh.test]\n"
                     "network:\n  notify: ['%s:%d']\n"
                     "xfr:\n  journal_max_changes: 50\n" % (khost, kport))
    key, _ = n.add_key("alice.mesh.test", *SCOPES)  # creates the store
    xkey, _ = n.add_key("xfr.mesh.test", "nothing.mesh.test")
    t0 = time.time()
    preload(n.db, count)
    n.start(wait=False)
    n.wait_ready(timeout=60)
    t_load = time.time() - t0
    serial0 = soa_serial(n.host, n.port)

    axfr = dig_at(n.host, n.port, "+tcp", "mesh.test", "AXFR")
    rrs, _, axfr_bytes = xfr_size(axfr)
    assert rrs == count + 3, axfr[-300:]  # SOA, NS, records, SOA

    conf = ("remote:\n  - id: primary\n    address: %s@%d\n"
            "    via: 127.0.0.1\n"
            "acl:\n  - id: notify\n    address: 127.0.0.0/8\n"
            "    action: notify\n"
            "  - id: xfr\n    address: 127.0.0.0/8\n    action: transfer\n"
            "zone:\n  - domain: mesh.test\n    storage: %%(dir)s\n"
            "    zonefile-sync: -1\n    journal-content: changes\n"
            "    master: primary\n    acl: [notify, xfr]\n" % (
                n.host, n.port))
    with knot_secondary(tmp_path, khost, kport, conf) as klog:
        t1 = time.time()
        wait_for("Knot's AXFR", lambda: soa_serial(khost, kport) == serial0,
                 30, klog)
        t_axfr = time.time() - t1
        assert "AXFR, incoming" in klog.read_text()

        r = n.nsupdate(key, "zone mesh.test\nupdate add "
                       "slot-1.mb-new.mesh.test 300 TXT \"fresh\"\n"
                       "update delete slot-3.mb-00007.mesh.test TXT "
                       "\"v000073-%s\"" % ("x" * 40))
        assert r.returncode == 0, r.stdout + r.stderr
        serial1 = soa_serial(n.host, n.port)
        assert serial1 != serial0
        t1 = time.time()
        wait_for("Knot's IXFR after NOTIFY",
                 lambda: soa_serial(khost, kport) == serial1, 30, klog)
        t_ixfr = time.time() - t1
        text = klog.read_text()
        m = re.search(r"IXFR, incoming.*finished.*?(\d+) messages?, "
                      r"(\d+) bytes", text)
        assert m, text[-2000:]
        knot_ixfr_bytes = int(m.group(2))
        assert len(re.findall(r"AXFR, incoming.*finished", text)) == 1, \
            text[-2000:]  # the change came by IXFR, not a second AXFR

        # Knot's zone is the node's.
        ours = zone_of(dig_at(n.host, n.port, "+tcp", "mesh.test", "AXFR"))
        theirs = zone_of(dig_at(khost, kport, "+tcp", "mesh.test", "AXFR"))
        assert len(ours) == count + 2, len(ours)
        assert ours == theirs, (sorted(ours - theirs)[:5],
                                sorted(theirs - ours)[:5])

        # The same IXFR from the outside: one delete, one add.
        out = dig_at(n.host, n.port, "mesh.test", "IXFR=%d" % serial0)
        rrs, msgs, ixfr_bytes = xfr_size(out)
        assert (rrs, msgs) == (6, 1), out
        assert "v000073-" in out and '"fresh"' in out
        # Signed with the transfer key (RFC 8945 5.3.1), as AXFR; dig
        # checks every MAC.
        out = dig_at(n.host, n.port, "-y", xkey, "mesh.test",
                     "IXFR=%d" % serial0)
        assert xfr_size(out)[:2] == (6, 1) and "TSIG" in out, out
        assert "failure" not in out.lower(), out
        # Up to date: the SOA alone, over UDP too.
        out = dig_at(n.host, n.port, "mesh.test", "IXFR=%d" % serial1)
        assert xfr_size(out)[0] == 1, out
        out = dig_at(n.host, n.port, "+notcp", "mesh.test",
                     "IXFR=%d" % serial1)
        recs = [l.split() for l in out.splitlines()
                if l and not l.startswith(";")]
        assert "(UDP)" in out and len(recs) == 1 and recs[0][3] == "SOA" \
            and recs[0][6] == str(serial1), out
        # A serial the journal does not reach: the whole zone.
        out = dig_at(n.host, n.port, "mesh.test", "IXFR=%d" % (serial0 - 9))
        assert xfr_size(out)[0] == count + 3, out[-300:]

        # Proportional to the change, not to the zone.
        # (the AXFR grows with the zone, ~86 bytes a record here).
        assert ixfr_bytes < 1000 and knot_ixfr_bytes < 1000
        assert axfr_bytes > 80 * count
        print("records %d: load %.2f s; AXFR %d bytes (Knot took it in "
              "%.2f s); IXFR of 2 changed RRs %d bytes (dig), %d (Knot, "
              "%.2f s after the UPDATE)" % (
                  count, t_load, axfr_bytes, t_axfr, ixfr_bytes,
                  knot_ixfr_bytes, t_ixfr))
