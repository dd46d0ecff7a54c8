"""An attacker at the node's HTTP side (issue 12, docs/security.md 7.6):
500 slow connections from many loopback addresses while an honest client
asks /health and registers; the same with so few slots that they must be
made by closing the attacker's; the record API refused by default and
through a reverse proxy (whose every connection comes from loopback)
unless configured, and never for the node's own names; rate limits per
client behind a trusted proxy.

IPv6 prefix keying (/56) is tested by tests/unit/test_node_rl.c only:
loopback IPv6 is the single address ::1, so there is no second address
of the same or another /56 to send from.

Loopback only; every loop is bounded in count and time."""
import http.client
import http.server
import json
import resource
import select
import socket
import threading
import time

from test_node_http import curl, free_tcp, http_node, register

REQUEST_HEAD = b"GET /health HTTP/1.1\r\nHost: node\r\nX-Slow: "


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(want, hard), hard))


class Slow:
    """@count connections spread over @sources loopback addresses, each
    sending an unfinished request and then a byte now and then."""

    def __init__(self, host, port, sources, count):
        raise_nofile(count + 256)
        self.socks = []
        # In batches of 64, each given up to 2 s to finish its handshakes:
        # the test is about the node's limits, not about overflowing the
        # kernel's accept queue (whose SYN-cookie resets the node never
        # sees, and a loaded CI machine reaches).
        for first in range(0, count, 64):
            batch = []
            for i in range(first, min(first + 64, count)):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.bind((sources[i % len(sources)], 0))
                try:
                    s.connect((host, port))
                except BlockingIOError:
                    pass
                self.socks.append([s, False])  # [socket, head sent]
                batch.append(s)
            deadline = time.monotonic() + 2
            while batch and time.monotonic() < deadline:
                _, done, _ = select.select([], batch, [], 0.1)
                batch = [s for s in batch if s not in done]

    def drip(self):
        """One more byte on every connection still open; returns how many
        are open."""
        alive = 0
        for ent in self.socks:
            s, sent = ent
            if s is None:
                continue
            try:
                if s.recv(1, socket.MSG_PEEK) == b"":
                    raise ConnectionResetError()
            except BlockingIOError:
                pass  # open, nothing to read: fine
            except OSError:
                s.close()
                ent[0] = None
                continue
            try:
                s.send(b"a" if sent else REQUEST_HEAD)
                ent[1] = True
                alive += 1
            except BlockingIOError:
                alive += 1  # still connecting, or buffer full
            except OSError:
                s.close()
                ent[0] = None
        return alive

    def close(self):
        for ent in self.socks:
            if ent[0] is not None:
                ent[0].close()
                ent[0] = None


def honest_health(n, src="127.0.0.1"):
    """(status, seconds) of one /health from @src."""
    t = time.monotonic()
    c = http.client.HTTPConnection(n.host, n.http_port, timeout=3,
                                   source_address=(src, 0))
    try:
        c.request("GET", "/health")
        st = c.getresponse().status
    except OSError:
        st = 0
    finally:
        c.close()
    return st, time.monotonic() - t


def metrics(n):
    st, text = curl(n, "GET", "/metrics")
    assert st == 200
    return dict(l.rsplit(" ", 1) for l in text.splitlines()
                if l and not l.startswith("#"))


def refusals(m, reason):
    return int(m['dmp_node_http_refusals_total{reason="%s"}' % reason])


def test_500_slow_connections_honest_client_served(node_factory):
    """Default limits (8 per address, 256 in all): 500 slow connections
    from 20 addresses hold 160 slots; /health and a registration from
    another address are answered within a second throughout. On main
    (no per-address limit) 300 such connections starved everyone."""
    n = http_node(node_factory, config="security:\n"
                  "  registration_enabled: true\n"
                  "  registration_per_hour: 1000\n")
    srcs = ["127.0.1.%d" % i for i in range(1, 21)]
    slow = Slow(n.host, n.http_port, srcs, 500)
    try:
        deadline = time.monotonic() + 20
        alive = 0
        for _ in range(10):  # let every connection land (bounded)
            alive = slow.drip()
            time.sleep(0.2)
            if alive <= 160 or time.monotonic() > deadline:
                break
        assert alive <= 20 * 8, alive  # the per-address limit held
        for i in range(4):
            st, dt = honest_health(n)
            assert st == 200 and dt < 1.0, (st, dt)
            t = time.monotonic()
            st, body = register(n, "honest%d@mesh.test" % i)
            dt = time.monotonic() - t
            assert st == 200 and dt < 1.0, (st, dt, body)
            alive = slow.drip()
            time.sleep(0.5)
        assert alive > 100, alive  # the attack was still on
        closed = sum(1 for ent in slow.socks if ent[0] is None)
    finally:
        slow.close()
    m = metrics(n)
    # Every connection the node closed is counted under its reason, most
    # under the per-address limit; without the limit there would be none
    # and `alive` above would exceed 160. (A CI run once counted 149 of
    # 340: 500 connects at once overflowed the HTTP listen backlog, then
    # 128, and the kernel reset connections the node never saw. The
    # backlog is now 4096 and the connects come in batches.)
    counted = sum(refusals(m, r) for r in (
        "conn_per_address", "conn_total", "conn_evicted", "request_timeout",
        "idle_timeout"))
    assert closed >= 500 - 160, closed
    assert counted >= closed - 8, (counted, closed, m)
    assert refusals(m, "conn_per_address") >= 100, (closed, m)
    assert "per-address connection limit" in n.log.read_text()


def test_slots_full_attacker_evicted_and_deadline(node_factory):
    """Only 32 slots and 4 per address: 500 slow connections from 25
    addresses would fill them all. The honest client still gets in (the
    oldest connection of the address holding the most is closed to make
    room), and a connection that trickles bytes is closed once its
    request_timeout (2 s) is over, bytes or not."""
    n = http_node(node_factory, config="http:\n"
                  "  max_connections: 32\n"
                  "  max_connections_per_address: 4\n"
                  "  request_timeout: 2\n")
    srcs = ["127.0.2.%d" % i for i in range(1, 26)]
    slow = Slow(n.host, n.http_port, srcs, 500)
    try:
        for _ in range(5):
            slow.drip()
            time.sleep(0.2)
        for _ in range(4):
            st, dt = honest_health(n)
            assert st == 200 and dt < 1.0, (st, dt)
            slow.drip()
            time.sleep(0.3)
        # Past the deadline every slow connection is gone, although each
        # kept sending (the idle timeout alone would keep 32 forever).
        assert slow.drip() > 0
        time.sleep(2.2)
        honest_health(n)  # a new connection sweeps
        time.sleep(0.3)
        assert slow.drip() == 0
    finally:
        slow.close()
    m = metrics(n)
    assert refusals(m, "conn_evicted") >= 1
    assert refusals(m, "request_timeout") >= 1
    assert int(m["dmp_node_http_connections"]) <= 32


class Proxy(http.server.ThreadingHTTPServer):
    """A reverse proxy on loopback: forwards to the node from @src and
    appends the client's address to X-Forwarded-For, as nginx and Caddy
    do."""

    def __init__(self, node, src):
        class H(http.server.BaseHTTPRequestHandler):
            def fwd(self):
                body = self.rfile.read(int(self.headers.get(
                    "Content-Length", 0) or 0))
                hdrs = {k: v for k, v in self.headers.items()
                        if k.lower() not in ("host", "connection")}
                xff = self.headers.get("X-Forwarded-For")
                hdrs["X-Forwarded-For"] = (xff + ", " if xff else "") + \
                    self.client_address[0]
                c = http.client.HTTPConnection(
                    node.host, node.http_port, timeout=5,
                    source_address=(src, 0))
                try:
                    c.request(self.command, self.path, body or None, hdrs)
                    r = c.getresponse()
                    data = r.read()
                    self.send_response(r.status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                finally:
                    c.close()
            do_GET = do_POST = do_DELETE = fwd

            def log_message(self, *a):
                pass
        super().__init__(("127.0.0.1", 0), H)
        self.thread = threading.Thread(target=self.serve_forever,
                                       daemon=True)
        self.thread.start()

    def ask(self, method, path, body=None, token=None, src="127.0.0.1"):
        c = http.client.HTTPConnection("127.0.0.1", self.server_address[1],
                                       timeout=5, source_address=(src, 0))
        hdrs = {"Content-Type": "application/json"}
        if token:
            hdrs["Authorization"] = "Bearer " + token
        try:
            c.request(method, path, json.dumps(body) if body else None,
                      hdrs)
            r = c.getresponse()
            return r.status, r.read().decode()
        finally:
            c.close()

    def stop(self):
        self.shutdown()
        self.server_close()


NAME = "/v1/records/slot-1.mb-aaaaaaaaaaaa.mesh.test"
VALUE = {"value": "v=dmp1;t=x;through-a-proxy", "ttl": 60}


def test_record_api_through_a_proxy(node_factory):
    """Every connection a local proxy makes comes from loopback: by
    default the record API is off, and with tokens a client without one
    is refused, through the proxy as directly; a token holder still
    cannot touch the apex or the heartbeat name."""
    n = http_node(node_factory)
    p = Proxy(n, "127.0.3.1")
    try:
        st, body = p.ask("POST", NAME, VALUE)
        assert st == 404 and "off" in body
        assert p.ask("DELETE", NAME)[0] == 404
        assert p.ask("GET", "/health")[0] == 200
    finally:
        p.stop()
    n2 = http_node(node_factory, config="security:\n  http_auth: legacy\n"
                   "  http_token: tok-0123456789\n"
                   "http:\n  trusted_proxies: ['127.0.3.2']\n")
    p = Proxy(n2, "127.0.3.2")
    try:
        assert p.ask("POST", NAME, VALUE)[0] == 401
        assert p.ask("POST", NAME, VALUE, token="wrong")[0] == 401
        assert p.ask("POST", NAME, VALUE, token="tok-0123456789")[0] == 201
        for owner in ("mesh.test", "_dnsmesh-heartbeat.mesh.test",
                      "ns1.mesh.test"):
            st, body = p.ask("POST", "/v1/records/" + owner, VALUE,
                             token="tok-0123456789")
            assert st == 403 and "reserved" in body, (owner, st, body)
        assert p.ask("DELETE", "/v1/records/mesh.test",
                     token="tok-0123456789")[0] == 403
    finally:
        p.stop()
    m = metrics(n2)
    assert refusals(m, "records_auth") == 2
    assert refusals(m, "records_reserved") == 4


def test_rate_limit_per_client_behind_trusted_proxy(node_factory):
    """With the proxy trusted, each client behind it has its own bucket
    (its address from X-Forwarded-For, the entry the proxy appended; what
    the client put there itself is ignored); untrusted, they share the
    proxy's."""
    cfg = "security:\n  http_rate_limit: 1\n  http_rate_burst: 3\n"
    n = http_node(node_factory, config=cfg +
                  "http:\n  trusted_proxies: ['127.0.4.1']\n")
    p = Proxy(n, "127.0.4.1")
    try:
        a = [p.ask("GET", "/health", src="127.0.4.10")[0] for _ in range(5)]
        assert a.count(200) <= 4 and 429 in a, a
        assert p.ask("GET", "/health", src="127.0.4.11")[0] == 200
    finally:
        p.stop()
    # A proxy that adds its own header line after the client's (HAProxy
    # option forwardfor): the last line counts, not the forged first.
    codes = []
    for i in range(5):
        c = http.client.HTTPConnection(n.host, n.http_port, timeout=5,
                                       source_address=("127.0.4.1", 0))
        c.putrequest("GET", "/health")
        c.putheader("X-Forwarded-For", "198.51.100.%d" % i)
        c.putheader("X-Forwarded-For", "192.0.2.77")
        c.endheaders()
        codes.append(c.getresponse().status)
        c.close()
    assert 429 in codes, codes
    n2 = http_node(node_factory, config=cfg)
    p = Proxy(n2, "127.0.4.2")
    try:
        a = [p.ask("GET", "/health", src="127.0.4.10")[0] for _ in range(5)]
        assert 429 in a, a
        # Another client, same (untrusted) proxy: the same empty bucket.
        assert p.ask("GET", "/health", src="127.0.4.11")[0] == 429
    finally:
        p.stop()


def test_unauthenticated_refused_with_trusted_proxy(tmp_path):
    import subprocess
    from conftest import node_binary
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("security:\n  http_auth: unauthenticated\n"
                   "http:\n  trusted_proxies: ['127.0.0.1']\n")
    r = subprocess.run([node_binary(), "-f", "-c", str(cfg), "--db",
                        str(tmp_path / "x.db"), "--zone", "mesh.test",
                        "--listen", "127.0.0.1:%d" % free_tcp("127.0.0.1"),
                        "--http", "127.0.0.1:%d" % free_tcp("127.0.0.1")],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode != 0 and "proxy" in r.stderr, r.stderr
