"""Issue 12, the IPv6 item: a /64 holder must not get 2^64 rate-limit
buckets. dmp-node keys IPv6 sources by prefix (security.rate_limit_ipv6_prefix,
default /56; docs/security.md 7.6). Loopback IPv6 is the single address ::1,
so this test makes its own network namespace: lo up, the node on
2001:db8::53, and the documentation prefix 2001:db8::/32 routed "local" to
lo (AnyIP, with net.ipv6.ip_nonlocal_bind in the namespace), so the
client can send from any address in it. The namespace is
removed at the end; no traffic leaves it.

One attacker sends one query from each of 300 different addresses of one
/64 (so of one /56): they share one bucket, and at most the burst plus the
rate over the run is answered. Meanwhile a client in another /56 is still
answered every time. A second node run with the prefix set to /128 shows
the test can fail: then every address has its own bucket and all 300 are
answered."""
import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

from conftest import node_binary

DRIVER = r'''
import json, os, random, socket, struct, subprocess, sys, time
node_bin, db, cfg, prefix = sys.argv[1:5]
NODE = "2001:db8::53"
port = 5300
subprocess.run([node_bin, "key", "add", "w.mesh.test", "--scope",
                "mesh.test", "--db", db], check=True, capture_output=True)
log = open(db + ".log", "ab")
proc = subprocess.Popen([node_bin, "-f", "--db", db, "--zone", "mesh.test",
                         "--listen", "[%s]:%d" % (NODE, port), "-c", cfg],
                        stdout=log, stderr=subprocess.STDOUT)

def query(src, timeout=0.3):
    qid = random.randrange(65536)
    w = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0)
    w += b"".join(bytes([len(l)]) + l.encode() for l in ["mesh", "test"])
    w += b"\0" + struct.pack("!HH", 6, 1)
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.bind((src, 0))
        s.sendto(w, (NODE, port))
        r = s.recv(4096)
    except socket.timeout:
        return "drop"
    finally:
        s.close()
    flags = struct.unpack("!H", r[2:4])[0]
    an = struct.unpack("!H", r[6:8])[0]
    if struct.unpack("!H", r[:2])[0] != qid:
        return "bad"
    if flags & 0x0200:
        return "tc"
    return "ok" if (flags & 0xF) == 0 and an > 0 else "rcode%d" % (flags & 0xF)

out = {}
try:
    t0 = time.monotonic()
    while time.monotonic() - t0 < 10:
        if query("2001:db8:ffff::1", 0.2) == "ok":
            break
        time.sleep(0.05)
    else:
        raise SystemExit("node not ready: " + open(db + ".log").read())
    t0 = time.monotonic()
    att = {}
    honest = []
    for i in range(300):
        # 300 addresses of one /64: 2001:db8:0:1::<random>
        src = "2001:db8:0:1:%x:%x:%x:%x" % tuple(
            random.randrange(1, 65536) for _ in range(4))
        r = query(src, 0.05)
        att[r] = att.get(r, 0) + 1
        if i % 50 == 0:
            # another /56: 2001:db8:0:100::/56 is not 2001:db8:0::/56
            h0 = time.monotonic()
            honest.append((query("2001:db8:0:100::7", 1.0),
                           time.monotonic() - h0))
    out = {"attacker": att, "honest": honest,
           "secs": time.monotonic() - t0}
finally:
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
print(json.dumps(out))
'''


def run_in_ns(tmp_path, prefix):
    ip = shutil.which("ip")
    if os.geteuid() != 0 or not ip:
        pytest.skip("needs root and iproute2 to make a network namespace")
    ns = "dmpv6-" + uuid.uuid4().hex[:8]
    r = subprocess.run([ip, "netns", "add", ns], capture_output=True,
                       text=True, timeout=20)
    if r.returncode != 0:
        pytest.skip("cannot make a network namespace: " + r.stderr.strip())
    try:
        for cmd in (["link", "set", "lo", "up"],
                    ["-6", "addr", "add", "2001:db8::53/128", "dev", "lo",
                     "nodad"],
                    ["-6", "route", "add", "local", "2001:db8::/32", "dev",
                     "lo"]):
            subprocess.run([ip, "-n", ns, *cmd], check=True, timeout=20)
        # bind() to any address of the local route (this namespace only)
        subprocess.run([ip, "netns", "exec", ns, "sysctl", "-q", "-w",
                        "net.ipv6.ip_nonlocal_bind=1"], check=True, timeout=20)
        d = tmp_path / ("p%s" % prefix)
        d.mkdir()
        cfg = d / "node.yaml"
        # 2 queries/s, burst 20, per /prefix.
        cfg.write_text("security:\n  rate_limit: 2\n  rate_burst: 20\n"
                       "  rate_limit_ipv6_prefix: %s\n" % prefix)
        drv = d / "driver.py"
        drv.write_text(DRIVER)
        r = subprocess.run([ip, "netns", "exec", ns, "/usr/bin/python3",
                            str(drv), node_binary(), str(d / "node.db"),
                            str(cfg), str(prefix)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        log = (d / "node.db.log").read_text(errors="replace")
        for bad in ("ERROR: AddressSanitizer", "WARNING: ThreadSanitizer",
                    "runtime error:"):
            assert bad not in log, log
        return json.loads(r.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run([ip, "netns", "del", ns], timeout=20)


def test_ipv6_sources_of_one_prefix_share_a_bucket(tmp_path):
    res = run_in_ns(tmp_path, 56)
    ok = res["attacker"].get("ok", 0)
    # burst 20 plus 2/s over the run (a few seconds), with some slack.
    bound = 20 + 2 * res["secs"] + 5
    print("/56: attacker answered %d of 300 in %.1f s (bound %.0f): %s; "
          "honest %s" % (ok, res["secs"], bound, res["attacker"],
                         res["honest"]))
    assert ok <= bound, res
    assert all(r == "ok" and dt < 1.0 for r, dt in res["honest"]), res


def test_ipv6_per_address_keying_would_let_them_through(tmp_path):
    """The control: keyed by whole address (/128), every one of the 300
    addresses has a fresh bucket, so the first test's bound is what the
    prefix buys."""
    res = run_in_ns(tmp_path, 128)
    ok = res["attacker"].get("ok", 0)
    print("/128: attacker answered %d of 300: %s" % (ok, res["attacker"]))
    assert ok >= 290, res


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
