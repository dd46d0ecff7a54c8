"""A Python test double of the reference's cluster sync (PROTOCOL.md 7.6),
written from the documented protocol, not from the reference's code.

Server: GET /v1/sync/digest?cursor=<ts>:<name>:<hash>&limit=N (default
1000, max 10000) -> {records:[{name,hash,ts,ttl}], has_more, next_cursor},
in (stored_ts, name, hash) order strictly after the cursor, live rows only;
POST /v1/sync/pull {names} (<= 256) -> {records:[{name,value,ttl}]};
GET /v1/sync/cluster-manifest -> {wire,seq,exp,cluster_name} or 204.
Every route needs `Authorization: Bearer <token>`: 403 otherwise.
hash = sha256 hex of the UTF-8 value.

Client: sync_once(peer) walks the peer's digest from its cursor and pulls
what is missing or has a ttl more than 5 s longer than ours.

`lies` (a set) turns the server into a lying peer: "forged" (its pull
answers carry values whose hash the digest did not list), "unrequested"
(extra names in pull answers). What it serves is whatever was put in.
"""
import hashlib
import json
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def vhash(value):
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class RefSyncDouble:
    def __init__(self, host, token):
        self.token = token
        self.rows = {}  # (name, hash) -> [value, stored_ts_ms, expires_s]
        self.lock = threading.Lock()
        self.lies = set()
        self.extra_pull = []  # records a liar adds to every pull answer
        self.cursors = {}
        self.manifest = None
        double = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, code, obj=None):
                body = b"" if obj is None else json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def authed(self):
                a = self.headers.get("Authorization", "")
                if a != "Bearer " + double.token:
                    self.reply(403, {"error": "forbidden"})
                    return False
                return True

            def do_GET(self):
                if not self.authed():
                    return
                u = urllib.parse.urlsplit(self.path)
                if u.path == "/v1/sync/digest":
                    q = urllib.parse.parse_qs(u.query)
                    self.reply(*double.digest(q))
                elif u.path == "/v1/sync/cluster-manifest":
                    if double.manifest is None:
                        self.reply(204)
                    else:
                        self.reply(200, double.manifest)
                else:
                    self.reply(404, {"error": "not found"})

            def do_POST(self):
                if not self.authed():
                    return
                n = int(self.headers.get("Content-Length", "0"))
                try:
                    body = json.loads(self.rfile.read(n) or b"null")
                    names = body["names"]
                    assert isinstance(names, list)
                except Exception:
                    self.reply(400, {"error": "invalid body"})
                    return
                if len(names) > 256:
                    self.reply(400, {"error": "at most 256 names"})
                    return
                self.reply(200, double.pull(names))

        self.httpd = ThreadingHTTPServer((host, 0), H)
        self.url = "http://%s:%d" % (host, self.httpd.server_address[1])
        self.th = threading.Thread(target=self.httpd.serve_forever,
                                   daemon=True)
        self.th.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    # ---- store ----
    def put(self, name, value, ttl, ts_ms=None):
        name = name.lower().rstrip(".")
        with self.lock:
            self.rows[(name, vhash(value))] = [
                value, ts_ms or int(time.time() * 1000),
                int(time.time()) + ttl]

    def values(self, name):
        now = time.time()
        with self.lock:
            return sorted(v[0] for (n, _), v in self.rows.items()
                          if n == name and v[2] > now)

    def names(self):
        now = time.time()
        with self.lock:
            return {n for (n, _), v in self.rows.items() if v[2] > now}

    # ---- server ----
    def digest(self, q):
        cur = (0, "", "")
        if "cursor" in q:
            parts = q["cursor"][0].split(":", 2)
            if len(parts) not in (2, 3) or not parts[0].isdigit():
                return 400, {"error": "bad cursor"}
            cur = (int(parts[0]), parts[1],
                   parts[2] if len(parts) == 3 else "")
        limit = min(int(q.get("limit", ["1000"])[0]), 10000)
        now = time.time()
        with self.lock:
            live = sorted((v[1], n, h, v[2]) for (n, h), v in
                          self.rows.items() if v[2] > now)
        rows = [r for r in live if (r[0], r[1], r[2]) > cur][:limit + 1]
        more = len(rows) > limit
        rows = rows[:limit]
        recs = [{"name": n, "hash": h, "ts": ts,
                 "ttl": max(1, int(exp - now))} for ts, n, h, exp in rows]
        last = rows[-1][:3] if rows else cur
        return 200, {"records": recs, "has_more": more,
                     "next_cursor": "%d:%s:%s" % last}

    def pull(self, names):
        now = time.time()
        want = {str(n).lower().rstrip(".") for n in names}
        with self.lock:
            out = [{"name": n, "value": v[0], "ttl": max(1, int(v[2] - now))}
                   for (n, _), v in self.rows.items()
                   if n in want and v[2] > now]
        return {"records": out + list(self.extra_pull)}

    # ---- client ----
    def _http(self, url, body=None):
        req = urllib.request.Request(
            url, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": "Bearer " + self.token,
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    def sync_once(self, peer, max_pages=20):
        """One sync against @peer (a base URL). Returns values stored."""
        cur = self.cursors.get(peer, "0::")
        stored = 0
        for _ in range(max_pages):
            d = self._http("%s/v1/sync/digest?%s" % (
                peer, urllib.parse.urlencode({"cursor": cur,
                                              "limit": 1000})))
            now = time.time()
            want = {}
            for e in d["records"]:
                with self.lock:
                    have = self.rows.get((e["name"], e["hash"]))
                if have is None or e["ttl"] > have[2] - now + 5:
                    want.setdefault(e["name"], set()).add(e["hash"])
            names = sorted(want)
            for i in range(0, len(names), 256):
                got = self._http(peer + "/v1/sync/pull",
                                 {"names": names[i:i + 256]})
                for r in got["records"]:
                    if r["name"] in want and \
                            vhash(r["value"]) in want[r["name"]]:
                        self.put(r["name"], r["value"], int(r["ttl"]))
                        stored += 1
            cur = d["next_cursor"]
            if not d["has_more"]:
                break
        self.cursors[peer] = cur
        return stored
