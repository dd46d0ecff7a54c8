#!/usr/bin/python3
"""bench/scale_tool.py - helpers for bench/node_scale.sh and
bench/update_pipeline.sh (not run by ctest).

  gen DB ZONEFILE QUERYFILE ZONE COUNT
      DMP-shaped records, one message = one slot manifest (2 chunks,
      336-byte value, PROTOCOL.md 1.4) + two chunks (241-byte values) at
      slot-N.mb-<h12>.ZONE and chunk-000i-<h12>.ZONE; 10 messages per
      mailbox. Rows go into the node's sqlite (as dmp_st_apply() writes
      them, like tests/black/test_node_ixfr.py) and the same records into a
      Knot zone file; QUERYFILE gets 100k random existing names (dnsperf).
  wait HOST PORT QNAME T0 [TIMEOUT]
      Poll every 5 ms until QNAME TXT answers NOERROR with data; print
      seconds since T0 (epoch float taken just before the server started).
  pipe HOST PORT ZONE hmac-sha256:NAME:SECRET DEPTH COUNT [TCP]
      COUNT TSIG UPDATEs (one chunk-shaped TXT add each), DEPTH in flight
      over UDP (or one TCP connection); the messages are signed before the
      clock starts, so Python's speed does not limit the rate. Prints
      acknowledged (NOERROR) UPDATEs/s, then lost and refused counts.
"""
import base64
import hashlib
import os
import random
import selectors
import socket
import sqlite3
import struct
import sys
import time


def h12(b):
    return hashlib.sha256(b).hexdigest()[:12]


def txt_strings(v):
    return " ".join('"%s"' % v[i:i + 255] for i in range(0, len(v), 255))


def b64(n, rnd):
    return base64.b64encode(rnd.randbytes(n)).decode()


def gen(db, zonefile, queryfile, zone, count):
    rnd = random.Random(19)
    now = int(time.time())
    names = []
    con = sqlite3.connect(db)
    con.execute("PRAGMA synchronous=OFF")
    zf = open(zonefile, "w")
    zf.write("$ORIGIN %s.\n@ 3600 SOA ns1 hostmaster 1 3600 600 604800 60\n"
             "@ 3600 NS ns1\nns1 3600 A 127.0.0.1\n" % zone)
    batch = []
    i = 0
    m = 0
    while i < count:
        mid = struct.pack(">Q", m)
        mb = h12(b"rcpt" + struct.pack(">Q", m // 10))
        # manifest for 2 chunks: 20 + 4*ceil((172+64)/3) = 336 bytes
        recs = [("slot-%d.mb-%s" % (m % 10, mb),
                 "v=dmp1;t=manifest;d=" + b64(237, rnd)[:316])]
        ck = h12(b"chunk" + mid)
        for c in range(2):
            # chunk: 241 bytes (PROTOCOL.md 1.4)
            recs.append(("chunk-%04d-%s" % (c, ck),
                         "v=dmp1;t=chunk;d=" + b64(168, rnd)))
        for name, v in recs[:count - i]:
            fq = "%s.%s" % (name, zone)
            batch.append((fq, v, hashlib.sha256(v.encode()).hexdigest(),
                          now + 30 * 86400, now * 1000, None))
            zf.write("%s 3600 TXT %s\n" % (name, txt_strings(v)))
            names.append(fq)
            i += 1
        m += 1
        if len(batch) >= 50000:
            con.executemany("INSERT INTO records(name, value, value_hash,"
                            " expires_at, stored_ts, key_name)"
                            " VALUES(?,?,?,?,?,?)", batch)
            batch = []
    if batch:
        con.executemany("INSERT INTO records(name, value, value_hash,"
                        " expires_at, stored_ts, key_name)"
                        " VALUES(?,?,?,?,?,?)", batch)
    con.commit()
    con.close()
    zf.close()
    with open(queryfile, "w") as q:
        for _ in range(100000):
            q.write("%s TXT\n" % names[rnd.randrange(len(names))])


def query_wire(qname, qid):
    import dns.message
    q = dns.message.make_query(qname, "TXT")
    q.id = qid
    return q.to_wire()


def wait(host, port, qname, t0, timeout=600.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.005)
    q = query_wire(qname, 4242)
    while time.time() - t0 < timeout:
        try:
            s.sendto(q, (host, port))
            while True:  # an answer to an earlier poll counts as well
                r = s.recv(4096)
                # NOERROR with at least one answer
                if (len(r) > 12 and r[:2] == q[:2] and r[3] & 15 == 0 and
                        struct.unpack(">H", r[6:8])[0] > 0):
                    print("%.3f" % (time.time() - t0))
                    return 0
        except OSError:
            pass
    print("timeout", file=sys.stderr)
    return 1


def pipe(host, port, zone, keyspec, depth, count, tcp=False):
    import dns.name
    import dns.rdatatype
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
    alg, kname, secret = keyspec.split(":", 2)
    ring = dns.tsigkeyring.from_text({kname: (alg, secret)})
    tag = os.urandom(4).hex()
    val = '"v=dmp1;t=chunk;d=%s"' % ("A" * 224)
    msgs = []
    for i in range(count):
        u = dns.update.UpdateMessage(zone, keyring=ring, keyname=kname,
                                     keyalgorithm=alg)
        u.id = i & 0xffff
        u.add("chunk-%04d-%s%04x" % (i % 10000, tag, i // 10000), 3600,
              "TXT", val)
        msgs.append(u.to_wire())
    sent = acked = refused = 0
    inflight = {}
    addr = (host, port)
    if tcp:
        s = socket.create_connection(addr)
        s.setblocking(False)
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        s.connect(addr)
        s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    rbuf = b""
    t0 = time.monotonic()
    last = t0
    while (sent < count or inflight) and time.monotonic() - last < 5.0:
        while sent < count and len(inflight) < depth:
            w = msgs[sent]
            if tcp:
                s.setblocking(True)
                s.sendall(struct.pack(">H", len(w)) + w)
                s.setblocking(False)
            else:
                s.send(w)
            inflight[sent & 0xffff] = sent
            sent += 1
        for _key, _ev in sel.select(timeout=1.0):
            while True:
                try:
                    if tcp:
                        d = s.recv(65536)
                        if not d:
                            raise ConnectionError("closed")
                        rbuf += d
                        reps = []
                        while len(rbuf) >= 2:
                            ln = struct.unpack(">H", rbuf[:2])[0]
                            if len(rbuf) < 2 + ln:
                                break
                            reps.append(rbuf[2:2 + ln])
                            rbuf = rbuf[2 + ln:]
                    else:
                        reps = [s.recv(4096)]
                except BlockingIOError:
                    break
                for r in reps:
                    qid = struct.unpack(">H", r[:2])[0]
                    if qid in inflight:
                        del inflight[qid]
                        last = time.monotonic()
                        if r[3] & 15 == 0:
                            acked += 1
                        else:
                            refused += 1
                if tcp and not reps:
                    break
    t = last - t0
    print("%.1f %d %d" % (acked / t if t > 0 else 0.0, len(inflight) +
                          (count - sent), refused))
    return 0


def main(a):
    if a[0] == "gen":
        return gen(a[1], a[2], a[3], a[4], int(a[5]))
    if a[0] == "wait":
        return wait(a[1], int(a[2]), a[3], float(a[4]),
                    float(a[5]) if len(a) > 5 else 600.0)
    if a[0] == "pipe":
        return pipe(a[1], int(a[2]), a[3], a[4], int(a[5]), int(a[6]),
                    len(a) > 7 and a[7] == "tcp")
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) or 0)
