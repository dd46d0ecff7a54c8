#!/usr/bin/env bash
# bench/multipart.sh - large files as multi-part messages (docs/protocol.md
# 7.9) through one local dmp-node with the `dmp` CLI. Not run by ctest.
#   bench/multipart.sh [BUILD_DIR] [SIZES...]      (default 1000000 10000000)
#
# For each size, random (incompressible) and text (a log-like file, which
# the sender deflates) bytes go from alice to a fresh recipient: seconds
# for `dmp send` (split, encrypt, queue, publish) and for the recipient's
# passes until the whole is in its inbox (the recipient's `dmp recv`
# alternating with alice's, which publishes the next window: a node holds
# about 310 part manifests of one recipient at a time, the recipient
# deletes those it has held), the parts, and the bytes written to the
# node: the DNS RRs of every part (owner name on the wire + type, class,
# TTL, length + TXT RDATA), the ratio to the file's bytes (the
# recipient's manifest deletes are not counted).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/release}
shift || true
sizes=${*:-1000000 10000000}
for b in tools/dmp tools/dmp-node; do
	[ -x "$build/$b" ] || { echo "build $b first ($build)" >&2; exit 1; }
done
exec /usr/bin/python3 - "$build" $sizes <<'PY'
import os, random, shutil, signal, sqlite3, subprocess, sys, tempfile, time

build, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
DMP = os.path.join(build, "tools/dmp")
NODE = os.path.join(build, "tools/dmp-node")
tmp = tempfile.mkdtemp(prefix="bench_multipart.")
procs = []


def run(home, *args, data=None, user="x"):
    env = dict(os.environ, DMP_PASSPHRASE="bench-" + user)
    return subprocess.run([DMP, "--home", home, *args], input=data,
                          capture_output=True, env=env, timeout=3600)


try:
    db = os.path.join(tmp, "node.db")
    addr = "127.0.0.%d" % (20 + os.getpid() % 200)
    port = 40000 + os.getpid() % 20000
    users = ["alice"] + ["bob%d" % i for i in range(2 * len(sizes))]
    keys = {}
    for u in users:
        keys[u] = subprocess.run(
            [NODE, "key", "add", "%s.mesh.test" % u, "--scope", "mesh.test",
             "--db", db], check=True, capture_output=True,
            text=True).stdout.strip()
    conf = os.path.join(tmp, "node.yaml")
    open(conf, "w").write("security:\n  rate_limit: 0\n")
    node = subprocess.Popen([NODE, "-f", "--db", db, "--zone", "mesh.test",
                             "--listen", "%s:%d" % (addr, port), "-c", conf],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    procs.append(node)
    time.sleep(1.5)  # keys are picked up on the node's maintenance tick
    na = "%s:%d" % (addr, port)
    homes = {}
    for u in users:
        homes[u] = os.path.join(tmp, "home-" + u)
        r = run(homes[u], "init", u, "--domain", "mesh.test", "--node", na,
                "--tsig", "-", data=(keys[u] + "\n").encode(), user=u)
        assert r.returncode == 0, r.stderr
        assert run(homes[u], "identity", "publish", user=u).returncode == 0
    cfg = os.path.join(homes["alice"], "config.yaml")
    text = open(cfg).read().replace("  multipart: []", '  multipart: ["*"]')
    text = text.replace("  poll_interval: 30", "  poll_interval: 1")
    open(cfg, "w").write(text.replace("  max_file: 10485760",
                                      "  max_file: 67108864"))
    print("%-9s %-6s %6s %8s %8s %12s %7s" % (
        "bytes", "kind", "parts", "send s", "recv s", "wire bytes",
        "ratio"))
    rng = random.Random(18)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz")
                   for _ in range(rng.randint(2, 9))) for _ in range(500)]
    i = 0
    for size in sizes:
        for kind in ("random", "text"):
            bob = "bob%d" % i
            i += 1
            assert run(homes["alice"], "contacts", "add",
                       bob + "@mesh.test", bob, user="alice").returncode == 0
            assert run(homes[bob], "contacts", "add", "alice@mesh.test",
                       "alice", user=bob).returncode == 0
            if kind == "random":
                data = rng.randbytes(size)
            else:
                out, n = [], 0
                while n < size:
                    line = b"%d INFO " % n + b" ".join(
                        rng.choice(words) for _ in range(8)) + b"\n"
                    out.append(line)
                    n += len(line)
                data = b"".join(out)[:size]
            adb = sqlite3.connect(os.path.join(homes["alice"], "state.db"))
            before = adb.execute("SELECT coalesce(max(id), 0) FROM outbox"
                                 ).fetchone()[0]
            t0 = time.time()
            r = run(homes["alice"], "send", bob, "-", data=data,
                    user="alice")
            t_send = time.time() - t0
            rows = adb.execute(
                "SELECT r.name, r.value, r.published FROM outbox_record r "
                "JOIN outbox o ON o.id = r.outbox_id WHERE o.id > ?",
                (before,)).fetchall()
            parts = adb.execute("SELECT count(*), sum(state = 2) FROM outbox "
                                "WHERE id > ?", (before,)).fetchone()
            adb.close()
            wire = 0
            for name, value, _ in rows:
                rdlen = len(value) + (len(value) + 254) // 255
                wire += len(name) + 2 + 10 + rdlen
            # The rest goes in windows: bob's passes hold parts and
            # delete their manifests, alice's next pass (one
            # poll_interval later) publishes the next window.
            t_recv = None
            t0 = time.time()
            inbox = os.path.join(homes[bob], "mail/inbox/new")
            for _ in range(2000):
                run(homes[bob], "recv", user=bob)
                if os.listdir(inbox):
                    t_recv = time.time() - t0
                    break
                time.sleep(0.5)
                run(homes["alice"], "recv", user="alice")
            adb = sqlite3.connect(os.path.join(homes["alice"], "state.db"))
            parts = adb.execute("SELECT count(*), sum(state = 2) FROM outbox "
                                "WHERE id > ?", (before,)).fetchone()
            adb.close()
            print("%-9d %-6s %6s %8.1f %8s %12d %7.2f" % (
                size, kind, "%d/%d" % (parts[1], parts[0]), t_send,
                "%.1f" % t_recv if t_recv is not None else "-", wire,
                wire / size))
            sys.stdout.flush()
finally:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    shutil.rmtree(tmp, ignore_errors=True)
PY
