"""The client's relay fallback (docs/protocol.md 8.7.8): alice's home
node H does not answer, so `dmp send` POSTs the message's bundle, renamed
into bob's zone with a claim pointing there, to the relay in
network.relays (node B, which serves bob's zone and holds his registered
mailbox). With B's relay off the message stays queued and the event says
why (403 relay disabled); with it on, `dmp send` exits 0, the queue entry
and the RELAYED event name B, and bob reads the message from B, verified. With a slow relay listed
before B and no RTT measured, the client probes both (GET /health) and
relays through the faster B, in this process and the next one."""
import http.server
import re
import sqlite3
import threading
import time

from cli_helpers import wait_keys, ZONE
from conftest import free_addr, stop_and_check
from mesh_helpers import alice_and_bob
from test_mesh_relay_dest import make, metric


def b_config(relay):
    return ("mesh:\n  relay_enabled: %s\n" % ("true" if relay else "false"))


class SlowRelay:
    """A relay that answers everything after 300 ms with a 503, and
    remembers what it was asked."""

    def __init__(self):
        seen = self.seen = []

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def answer(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                seen.append((self.command, self.path))
                time.sleep(0.3)
                body = b'{"reason": "slow test relay"}'
                self.send_response(503)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

        self.srv = http.server.ThreadingHTTPServer(free_addr(), H)
        self.url = "http://%s:%d" % self.srv.server_address
        self.t = threading.Thread(target=self.srv.serve_forever,
                                  daemon=True)
        self.t.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()
        self.t.join(5)


def outbox(user):
    with sqlite3.connect(user.home + "/state.db") as c:
        return c.execute("SELECT state, last_error FROM outbox "
                         "ORDER BY id").fetchall()


def test_relay_fallback(tmp_path):
    h = make(tmp_path, "h", "")
    b = make(tmp_path, "b", b_config(False))
    nodes = [h, b]
    try:
        for n in nodes:
            n.start()
        alice, bob = alice_and_bob(tmp_path, h)
        alice.set_config("network.timeout_ms", "500")
        # No publish delay (and no cover): the batched publish pass
        # (engine_publish.c) is the one that falls back to the relay.
        alice.set_config("privacy.delay", "off")
        text = open(alice.home + "/config.yaml").read()
        assert "  relays: []" in text, text
        open(alice.home + "/config.yaml", "w").write(
            text.replace("  relays: []", '  relays: ["%s"]' % b.url))
        h.stop()  # alice's home: no answer from now on

        # B's relay off: 403, the message stays queued, the event says so.
        r = alice.send("bob", b"through a relay")
        assert r.returncode != 0, r.stderr_text
        assert "403 relay disabled" in r.stderr_text, r.stderr_text
        retry = [l for l in alice.events() if " RETRY " in l]
        assert retry and "403 relay disabled" in retry[-1], alice.events()
        assert b.url in retry[-1], retry
        assert not any(" RELAYED " in l for l in alice.events())
        rows = outbox(alice)
        assert len(rows) == 1 and "relay disabled" in rows[0][1], rows
        man = [n for _, n, _, _, _ in alice.outbox_records()
               if n.startswith("slot-")]
        assert len(man) == 1, alice.outbox_records()
        mb = man[0].split(".")[1]

        # B's relay on, bob's mailbox registered at B.
        b.stop()
        (tmp_path / "b" / "node.yaml").write_text(
            "security:\n  http_rate_limit: 0\n"
            "  xfr_allow: [127.0.0.1]\n" + b_config(True))
        b.start()
        b.add_key("bob-reg.%s" % ZONE, "%s.%s" % (mb, ZONE))
        wait_keys()
        r = alice.run("flush")
        assert r.returncode == 0, r.stderr_text
        relayed = [l for l in alice.events() if " RELAYED " in l]
        assert len(relayed) == 1, alice.events()
        assert b.url in relayed[0] and " 200 stored" in relayed[0], relayed
        assert "hops 0" in relayed[0], relayed
        rows = outbox(alice)
        assert rows == [(rows[0][0], "path=relay:%s" % b.url)], rows
        assert metric(b, "dmp_relay_stored_total") == 1

        # A second message goes the same way, and `dmp send` exits 0.
        r = alice.send("bob", b"and another")
        assert r.returncode == 0, r.stderr_text
        assert "relayed via %s" % b.url in r.stderr_text, r.stderr_text
        assert metric(b, "dmp_relay_stored_total") == 2
        assert len(list((tmp_path / "home-alice" / "mail" / "sent" /
                         "new").iterdir())) == 2

        # bob reads his zone at B: both messages, verified, in his inbox.
        cfg = bob.home + "/config.yaml"
        text = open(cfg).read()
        old = "%s:%d" % (h.host, h.port)
        assert old in text
        open(cfg, "w").write(text.replace(old, "%s:%d" % (b.host, b.port)))
        r = bob.recv()
        assert r.returncode == 0, r.stderr_text
        got = sorted(m for _, m in bob.maildir("inbox"))
        assert got == [b"and another", b"through a relay"], got
        assert not bob.rejections(), bob.events()

        # Two relays, a slow one listed first, nothing measured: the
        # client probes both (GET /health, issue 16) and relays through B;
        # the next process finds the RTTs in its store: no probe, no POST
        # to the slow one.
        slow = SlowRelay()
        try:
            text = open(alice.home + "/config.yaml").read()
            open(alice.home + "/config.yaml", "w").write(text.replace(
                '["%s"]' % b.url, '["%s", "%s"]' % (slow.url, b.url)))
            with sqlite3.connect(alice.home + "/state.db") as c:
                c.execute("DELETE FROM relay_rtt")
            for i, want in enumerate([[("GET", "/health")]] * 2):
                r = alice.send("bob", b"fast relay first %d" % i)
                assert r.returncode == 0, r.stderr_text
                assert slow.seen == want, slow.seen
                relayed = [l for l in alice.events() if " RELAYED " in l]
                assert b.url in relayed[-1], relayed
                assert re.search(r", rtt \d+ ms ", relayed[-1]), relayed
            assert metric(b, "dmp_relay_stored_total") == 4
            with sqlite3.connect(alice.home + "/state.db") as c:
                rtt = dict(c.execute("SELECT url, srtt_ms FROM relay_rtt"))
            assert rtt[slow.url] >= 300 > rtt[b.url], rtt
            open(alice.home + "/config.yaml", "w").write(text)
        finally:
            slow.close()

        # A relay that is not an http(s) URL: the config is refused,
        # naming the setting and the entry.
        text = open(alice.home + "/config.yaml").read()
        open(alice.home + "/config.yaml", "w").write(
            text.replace('["%s"]' % b.url, '["ftp://relay.test"]'))
        r = alice.run("queue")
        assert r.returncode != 0, r.stdout_text
        assert "network.relays" in r.stderr_text and \
            "ftp://relay.test" in r.stderr_text and \
            "http://" in r.stderr_text, r.stderr_text
    finally:
        stop_and_check(nodes)
