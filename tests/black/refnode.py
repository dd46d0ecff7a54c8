#!/usr/bin/env python3
"""A test double with the DNS behaviour of the Python reference node
(dnsmesh), for the resolver tests (docs/protocol.md, interoperability):

- TCP: one query per connection, then the server closes it;
- TCP: a query with EDNS whose buffer size is below the answer's size gets
  SERVFAIL (the reference caps TCP answers at the EDNS size);
- UDP: an answer larger than the EDNS size (512 without EDNS) is sent
  truncated (TC, no records);
- with --tcp-drop-first N, the first N TCP connections are closed after
  reading the query, without an answer (a server restarting, an idle
  timeout racing the query);
- UPDATE: adds and deletes are applied; an UPDATE signed with a key given
  by --tsig NAME:BASE64 is verified and answered signed, one without TSIG
  is taken as it is; with
  --update-nomatch-servfail a delete that matched nothing gets SERVFAIL
                            (the ops after it are not applied);
- counts queries per transport and writes the counters as JSON to
  --stats after each query;
- with --slot-fail MODE (issue 12, a mailbox slot the client cannot
  read), a TXT query for a manifest slot name ("slot-N.mb-...") gets,
  whatever the zone holds: tc: TC set and no records over UDP and over
  TCP (what a slot stuffed past every answer size looks like);
  servfail: SERVFAIL; refused: REFUSED. --slot-fail-file FILE: the mode
  is read from FILE on every query instead ("" or "ok": answer normally),
  so a test can turn it on and off.

The zone is a JSON object {"owner.name.": ["text value", ...]}; values
longer than 255 bytes are split into character-strings. Loopback only; it
stops by itself after --lifetime seconds or --max-queries queries.

    refnode.py --listen 127.0.0.1:5300 --zone zone.json --stats stats.json
               [--ready FILE] [--lifetime 120] [--max-queries 10000]
               [--tcp-edns-servfail] [--tcp-drop-first N]
               [--update-nomatch-servfail] [--tsig NAME:BASE64 ...]
"""
import argparse
import ipaddress
import json
import os
import socket
import sys
import threading
import time

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT
import dns.rrset
import dns.tsig
import dns.tsigkeyring


class RefNode:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.zone = {}
        with open(args.zone) as f:
            for owner, values in json.load(f).items():
                self.zone[dns.name.from_text(owner)] = [
                    v.encode() for v in values]
        self.stats = {"udp": 0, "tcp": 0, "tcp_connections": 0,
                      "tcp_dropped": 0, "truncated": 0, "servfail": 0,
                      "update": 0, "slot_fail": 0}
        self.total = 0
        self.keyring = None
        if args.tsig:
            self.keyring = dns.tsigkeyring.from_text(
                {k: (dns.tsig.HMAC_SHA256, v) for k, v in
                 (t.split(":", 1) for t in args.tsig)})

    # ---- counters ----------------------------------------------------
    def count(self, key):
        with self.lock:
            self.stats[key] += 1
            self.total += 1
            if self.total >= self.args.max_queries:
                self.stop.set()
            self.write_stats()

    def bump(self, key):
        """A counter that is not a query (no limit)."""
        with self.lock:
            self.stats[key] += 1
            self.write_stats()

    def write_stats(self):
        """Under self.lock: the counters, replaced atomically."""
        tmp = self.args.stats + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.stats, f)
        os.replace(tmp, self.args.stats)

    # ---- answers -----------------------------------------------------
    def rrset(self, name):
        values = self.zone.get(name)
        if not values:
            return None
        rs = dns.rrset.RRset(name, dns.rdataclass.IN, dns.rdatatype.TXT)
        for v in values:
            chunks = [v[i:i + 255] for i in range(0, len(v), 255)] or [b""]
            rs.add(dns.rdtypes.ANY.TXT.TXT(
                dns.rdataclass.IN, dns.rdatatype.TXT, chunks), ttl=60)
        return rs

    def update(self, q):
        self.bump("update")
        r = dns.message.make_response(q)
        nomatch = False
        for rr in q.update:
            if nomatch and self.args.update_nomatch_servfail:
                break  # one by one: the ops after a failed one are not applied
            name = rr.name
            # dnspython keeps an update RR's class in .deleting.
            if rr.deleting == dns.rdataclass.ANY:
                if not self.zone.pop(name, None):
                    nomatch = True
            elif rr.deleting == dns.rdataclass.NONE:
                have = self.zone.get(name, [])
                for rd in rr:
                    v = b"".join(rd.strings)
                    if v in have:
                        have.remove(v)
                    else:
                        nomatch = True
            else:
                for rd in rr:
                    v = b"".join(rd.strings)
                    if v not in self.zone.setdefault(name, []):
                        self.zone[name].append(v)
        if nomatch and self.args.update_nomatch_servfail:
            r.set_rcode(dns.rcode.SERVFAIL)
        return r

    # ---- issue 12: unreadable slots (--slot-fail) --------------------
    def slot_fail_mode(self):
        mode = self.args.slot_fail
        if self.args.slot_fail_file:
            try:
                with open(self.args.slot_fail_file) as f:
                    mode = f.read().strip()
            except OSError:
                mode = ""
        return "" if mode == "ok" else mode

    def slot_fail(self, q, r, name, tcp):
        """The failing reply's wire when @name is a slot and a mode is on,
        else None."""
        mode = self.slot_fail_mode()
        first = name.labels[0] if name.labels else b""
        if not mode or not first.lower().startswith(b"slot-"):
            return None
        self.bump("slot_fail")
        if mode == "tc":
            r.flags |= dns.flags.TC
        elif mode == "servfail":
            r.set_rcode(dns.rcode.SERVFAIL)
        else:
            r.set_rcode(dns.rcode.REFUSED)
        return r.to_wire()

    def answer(self, q, tcp):
        """The reply's wire to the parsed query @q."""
        if q.opcode() == dns.opcode.UPDATE:
            return self.update(q).to_wire(max_size=65535)
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        if len(q.question) != 1:
            r.set_rcode(dns.rcode.FORMERR)
            return r.to_wire()
        name = q.question[0].name
        failed = self.slot_fail(q, r, name, tcp)
        if failed is not None:
            return failed
        rs = self.rrset(name) if q.question[0].rdtype == dns.rdatatype.TXT \
            else None
        if rs is not None:
            r.answer.append(rs)
        elif name not in self.zone:
            r.set_rcode(dns.rcode.NXDOMAIN)
        full = r.to_wire(max_size=65535)
        edns = q.edns >= 0
        limit = q.payload if edns else 512
        if tcp:
            if edns and (self.args.tcp_edns_servfail or len(full) > limit):
                self.bump("servfail")
                r.answer = []
                r.set_rcode(dns.rcode.SERVFAIL)
                return r.to_wire()
            return full
        if len(full) > limit:
            self.bump("truncated")
            r.answer = []
            r.flags |= dns.flags.TC
            return r.to_wire()
        return full

    # ---- transports --------------------------------------------------
    def serve_udp(self, sock):
        sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                wire, peer = sock.recvfrom(65535)
            except socket.timeout:
                continue
            self.count("udp")
            try:
                out = self.answer(dns.message.from_wire(wire, keyring=self.keyring), False)
                if out:
                    sock.sendto(out, peer)
            except (OSError, dns.exception.DNSException):
                pass

    def serve_tcp(self, sock):
        sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = sock.accept()
            except socket.timeout:
                continue
            self.bump("tcp_connections")
            # One query per connection, then close (like the reference).
            try:
                conn.settimeout(2.0)
                q, _ = dns.query.receive_tcp(conn, time.time() + 2.0,
                                             keyring=self.keyring)
                self.count("tcp")
                if self.stats["tcp_dropped"] < self.args.tcp_drop_first:
                    self.bump("tcp_dropped")
                    continue
                out = self.answer(q, True)
                if out:
                    dns.query.send_tcp(conn, out)
            except (OSError, EOFError, dns.exception.DNSException):
                pass
            finally:
                conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--ready")
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--max-queries", type=int, default=10000)
    ap.add_argument("--tcp-edns-servfail", action="store_true")
    ap.add_argument("--tcp-drop-first", type=int, default=0)
    ap.add_argument("--update-nomatch-servfail", action="store_true")
    ap.add_argument("--tsig", action="append", default=[])
    ap.add_argument("--slot-fail", choices=["tc", "servfail", "refused"])
    ap.add_argument("--slot-fail-file")
    args = ap.parse_args()
    host, port = args.listen.rsplit(":", 1)
    if not ipaddress.ip_address(host).is_loopback:
        sys.exit("refnode: loopback addresses only")
    node = RefNode(args)
    with node.lock:
        node.write_stats()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    udp.bind((host, int(port)))
    tcp.bind((host, int(port)))
    tcp.listen(64)
    threads = [threading.Thread(target=node.serve_udp, args=(udp,),
                                daemon=True),
               threading.Thread(target=node.serve_tcp, args=(tcp,),
                                daemon=True)]
    for t in threads:
        t.start()
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("%d\n" % os.getpid())
    end = time.monotonic() + args.lifetime
    while not node.stop.is_set() and time.monotonic() < end:
        node.stop.wait(0.2)
    node.stop.set()
    for t in threads:
        t.join(1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
