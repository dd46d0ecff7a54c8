"""The watcher (issue 17, docs/security.md "Observer model"): a capturing
UDP/TCP proxy in front of a real dmp-node sees every query and UPDATE of
alice's client. In a dmpfs session with the privacy defaults (padding to
chunk-count buckets, publish delay) and cover traffic on, it cannot tell
alice's real messages from her cover messages, nor her short messages from
her longer ones in the same bucket, by record names, record counts, sizes,
TTLs or timing: a two-sample Kolmogorov-Smirnov test per feature gives
p > 0.01 (p > 0.001 for the two timing features, which are random on both
sides, so a correct build fails at most about 1 run in 500). The control (padding and delay off, `dmp send`) shows the same
test does tell short from long messages apart (p < 0.01), so it can fail.

Ground truth comes from the manifests' mailbox labels (bob's for real
messages, alice's own for cover), which the test reads and the features
leave out: a watcher who links alice's own label to her (she polls it)
sees where cover goes; security.md says so."""
import math
import os
import random
import re
import select
import socket
import struct
import threading
import time

import dns.name

from cli_helpers import User, wait_keys
from conftest import free_addr, parse
from fs_helpers import Mount, need_fuse, wait_for

SESSION_S = 12.0  # the dmpfs session (real messages arrive meanwhile)
USER_GAP_S = 1.3  # mean gap between the user's messages (Poisson)
SESSION_MAX_S = 18.0  # ... longer only until MIN_REAL were written
MIN_REAL, MAX_REAL = 8, 24
MIN_COVER = 6
PRIVACY = """privacy:
  pad_buckets: "4,8,16,32"
  delay: exponential
  delay_mean_ms: %d
  delay_max_ms: %d
  cover_rate: %d
"""


class Proxy:
    """Forwards DNS over UDP and TCP from (host, port) to @up and records
    every client message (time, bytes). Bounded: sockets time out, the
    threads stop with the test."""

    def __init__(self, up):
        self.up = up
        self.host, self.port = free_addr()
        self.msgs = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.u.bind((self.host, self.port))
        self.t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.t.bind((self.host, self.port))
        self.t.listen(16)
        for fn in (self.udp_loop, self.tcp_loop):
            threading.Thread(target=fn, daemon=True).start()

    def note(self, wire):
        with self.lock:
            self.msgs.append((time.monotonic(), wire))

    def udp_one(self, wire, client):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(5)
        try:
            s.sendto(wire, self.up)
            reply, _ = s.recvfrom(65535)
            self.u.sendto(reply, client)
        except OSError:
            pass
        finally:
            s.close()

    def udp_loop(self):
        while not self.stop.is_set():
            r, _, _ = select.select([self.u], [], [], 0.2)
            if not r:
                continue
            wire, client = self.u.recvfrom(65535)
            self.note(wire)
            threading.Thread(target=self.udp_one, args=(wire, client),
                             daemon=True).start()

    def tcp_loop(self):
        while not self.stop.is_set():
            r, _, _ = select.select([self.t], [], [], 0.2)
            if r:
                c, _ = self.t.accept()
                threading.Thread(target=self.tcp_conn, args=(c,),
                                 daemon=True).start()

    def tcp_conn(self, c):
        s = socket.create_connection(self.up, timeout=5)
        c.settimeout(5)
        buf = b""
        try:
            deadline = time.monotonic() + 60
            while not self.stop.is_set() and time.monotonic() < deadline:
                r, _, _ = select.select([c, s], [], [], 0.2)
                if c in r:
                    d = c.recv(65535)
                    if not d:
                        break
                    buf += d
                    while len(buf) >= 2 and \
                            len(buf) >= 2 + struct.unpack("!H", buf[:2])[0]:
                        n = struct.unpack("!H", buf[:2])[0]
                        self.note(buf[2:2 + n])
                        buf = buf[2 + n:]
                    s.sendall(d)
                if s in r:
                    d = s.recv(65535)
                    if not d:
                        break
                    c.sendall(d)
        except OSError:
            pass
        finally:
            c.close()
            s.close()

    def close(self):
        self.stop.set()
        time.sleep(0.3)
        self.u.close()
        self.t.close()

    def since(self, t0):
        with self.lock:
            return [m for m in self.msgs if m[0] >= t0]


def updates(msgs):
    """Client UPDATEs → [(time, wire length, [(owner, ttl, rdlen)])]."""
    out = []
    for t, w in msgs:
        if len(w) < 12 or (w[2] >> 3) & 0xF != 5:
            continue
        p = parse(w)
        rrs = [(dns.name.from_wire(w, off)[0].to_text(True).lower(), ttl,
                len(rd)) for off, _t, _c, ttl, rd in p["ns"]]
        out.append((t, len(w), rrs))
    return out


def messages(msgs):
    """Pair each chunk UPDATE with the manifest UPDATE after it:
    [{'t', 'gap', 'label', features...}]."""
    out, pending = [], None
    times = [t for t, _ in msgs]
    for t, size, rrs in updates(msgs):
        owners = [o for o, _, _ in rrs]
        if owners and all(o.startswith("chunk-") for o in owners):
            pending = (t, size, rrs)
        elif len(owners) == 1 and owners[0].startswith("slot-") and pending:
            ct, csize, crrs = pending
            before = [x for x in times if x < ct]
            out.append({
                "t": ct,
                "gap": ct - before[-1] if before else 0.0,
                "label": owners[0].split(".")[1],
                "count": len(crrs),
                "size": csize + size,
                "ttl": rrs[0][1],
                "chunk_ttl": max(tt for _, tt, _ in crrs),
                "name_len": len(owners[0]) + sum(len(o) for o, _, _ in crrs),
                "shape": shape(owners[0]) + " " + " ".join(
                    sorted({shape(o) for o, _, _ in crrs})),
            })
            pending = None
    return out


def iat(ms):
    t = sorted(m["t"] for m in ms)
    return [b - a for a, b in zip(t, t[1:])]


def n_cover(msgs, bob_label):
    return sum(1 for m in messages(msgs) if m["label"] != bob_label)


def shape(owner):
    return re.sub(r"\d", "D", re.sub(r"[0-9a-f]{12}", "H", owner))


def ks(a, b):
    """Two-sample Kolmogorov-Smirnov: (D, asymptotic p), the statistic
    written out (python3-scipy is not needed for one formula)."""
    a, b = sorted(a), sorted(b)
    n, m = len(a), len(b)
    d = 0.0
    for v in set(a) | set(b):
        fa = sum(1 for x in a if x <= v) / n
        fb = sum(1 for x in b if x <= v) / m
        d = max(d, abs(fa - fb))
    en = math.sqrt(n * m / (n + m))
    lam = (en + 0.12 + 0.11 / en) * d
    if lam < 0.3:
        return d, 1.0
    p = 2 * sum((-1) ** (j - 1) * math.exp(-2 * j * j * lam * lam)
                for j in range(1, 101))
    return d, min(1.0, max(0.0, p))


FEATURES = ("count", "size", "ttl", "chunk_ttl", "name_len", "gap")


def compare(x, y, what, features=FEATURES):
    res = {}
    for f in features:
        res[f] = ks([v[f] for v in x], [v[f] for v in y])
        print("%s %-9s n=%d/%d D=%.3f p=%.4f means %.4g/%.4g" % (
            what, f, len(x), len(y), res[f][0], res[f][1],
            sum(v[f] for v in x) / len(x), sum(v[f] for v in y) / len(y)))
    return res


def body(rng, short):
    n = rng.randint(160, 300) if short else rng.randint(480, 560)
    return "".join(rng.choice("abcdefgh ") for _ in range(n)).encode()


def setup_alice(tmp_path, node, proxy, privacy):
    alice = User(tmp_path, "alice", node, nodes=[proxy], delay=None)
    # Cover to oneself is capped at 300 stored at once (engine_pad.c):
    # 3600 an hour needs a 300 s lifetime, for real messages too.
    alice.set_config("messages.lifetime", "300")
    with open(os.path.join(alice.home, "config.yaml"), "a") as f:
        f.write(privacy)
    return alice


def test_watcher_cannot_tell_real_from_cover(tmp_path, node):
    need_fuse()
    node.start()
    proxy = Proxy((node.host, node.port))
    rng = random.Random()
    try:
        bob = User(tmp_path, "bob", node)
        alice = setup_alice(tmp_path, node, proxy,
                            PRIVACY % (300, 1500, 3600))
        wait_keys()
        bob.publish()
        alice.add_contact(bob)
        # One real message first: cover sizes follow the buckets real
        # messages used (engine_cover.c), and its manifest names bob's
        # mailbox label for the ground truth.
        r = alice.send("bob", body(rng, True))
        assert r.returncode == 0, r.stderr_text
        first = messages(proxy.since(0))
        assert len(first) == 1, first
        bob_label = first[0]["label"]

        am = Mount(alice, tmp_path, poll=1)
        am.start()
        t0 = time.monotonic()
        sent = {"short": 0, "long": 0}
        try:
            while (time.monotonic() - t0 < SESSION_MAX_S and
                   sum(sent.values()) < MAX_REAL and
                   (time.monotonic() - t0 < SESSION_S or
                    sum(sent.values()) < MIN_REAL or
                    n_cover(proxy.since(t0), bob_label) < MIN_COVER)):
                time.sleep(min(4.0, rng.expovariate(1 / USER_GAP_S)))
                short = rng.random() < 0.5
                with open(os.path.join(am.mnt, "outbox/bob"), "wb") as f:
                    f.write(body(rng, short))
                sent["short" if short else "long"] += 1
            wait_for(lambda: os.listdir(os.path.join(am.mnt, "queue")) == [],
                     timeout=20, what="queue published")
            time.sleep(1.0)
        finally:
            am.stop()
        got = messages(proxy.since(t0))
        real = [m for m in got if m["label"] == bob_label]
        cover = [m for m in got if m["label"] != bob_label]
        assert len(real) == sum(sent.values()), (len(real), sent)
        assert len(cover) >= 5, "too few cover messages: %d" % len(cover)
        assert {m["shape"] for m in real} == {m["shape"] for m in cover}
        # Timing features are random draws on both sides: at p > 0.01 a
        # correct build would fail 1 run in 100 per feature, so they use
        # 0.001; the shape features are identical by construction (D=0).
        for f, (d, p) in compare(real, cover, "real/cover").items():
            assert p > (0.001 if f == "gap" else 0.01), (f, d, p)
        # Inter-arrival times within each class: the user writes at the
        # times of a Poisson process, cover goes at privacy.cover_rate.
        d, p = ks(iat(real), iat(cover))
        print("real/cover iat n=%d/%d D=%.3f p=%.4f  means %.2f/%.2f s" % (
            len(real) - 1, len(cover) - 1, d, p,
            sum(iat(real)) / (len(real) - 1),
            sum(iat(cover)) / (len(cover) - 1)))
        assert p > 0.001, ("inter-arrival", d, p)
        # Padding: short and long real messages in one bucket look alike.
        by_len = sorted(real, key=lambda m: m["t"])
        sizes = {m["count"] for m in by_len}
        assert sizes == {11}, sizes  # bucket 8: n = 8 + 3

        # Control: padding and delay off, cover off, `dmp send`. The
        # watcher now tells short from long messages (record counts and
        # sizes), so the test above is able to fail.
        alice.set_config("privacy.pad_buckets", '"off"')
        alice.set_config("privacy.delay", "off")
        alice.set_config("privacy.cover_rate", "0")
        t1 = time.monotonic()
        kinds = [True] * 8 + [False] * 8
        rng.shuffle(kinds)
        for short in kinds:
            r = alice.send("bob", body(rng, short))
            assert r.returncode == 0, r.stderr_text
        ctl = messages(proxy.since(t1))
        assert len(ctl) == 16
        short_m = [m for m, s in zip(ctl, kinds) if s]
        long_m = [m for m, s in zip(ctl, kinds) if not s]
        res = compare(short_m, long_m, "control short/long",
                      ("count", "size"))
        assert res["count"][1] < 0.01 and res["size"][1] < 0.01, res
    finally:
        proxy.close()


def test_privacy_settings_checked(tmp_path, node):
    """Bad privacy.* values are refused with the cause and the way out,
    by `dmp config set` (exit 9) and when a command loads the file."""
    node.start()
    alice = User(tmp_path, "alice", node, delay=None)
    for key, value, want in (
            ("privacy.pad_buckets", "8,4", "ascending"),
            ("privacy.pad_buckets", "4,40", "from 1 to 32"),
            ("privacy.delay", "gaussian", "exponential, uniform, off"),
            ("privacy.delay_mean_ms", "3000", "raise the bound"),
            ("privacy.delay_max_ms", "60001", "0..60000"),
            ("privacy.cover_rate", "5", "lower privacy.cover_rate to 1")):
        r = alice.run("config", "set", key, value)
        assert r.returncode == 9, (key, value, r.stderr_text)
        assert want in r.stderr_text, (key, value, r.stderr_text)
    alice.run("config", "set", "privacy.pad_buckets", "off", check=True)
    alice.set_config("privacy.pad_buckets", '"4,4"')
    r = alice.run("status")
    assert r.returncode != 0, r.stderr_text
    assert 'privacy.pad_buckets "4,4": buckets must be in ascending' in \
        r.stderr_text, r.stderr_text
