#!/usr/bin/env bash
# bench/bench_fs.sh - dmpfs beside a plain directory, and send-to-inbox
# latency through a real dmp-node. Not run by ctest.
#   bench/bench_fs.sh [BUILD_DIR] [N_MESSAGES] [N_LATENCY] [ROUNDS]
#   BASE_DMPFS=OTHER/fs/dmpfs bench/bench_fs.sh ...   (before/after)
#
# 1. `ls -l` and `cat` of an inbox of N (10,000) messages through dmpfs
#    versus the same files in a plain directory, every run listed as a
#    ratio: per round (ROUNDS, default 3) a fresh mount, then for each of
#    ls and cat a cold run (caches dropped when run as root) and 4 warm
#    ones, the plain directory measured the same way right after. With
#    BASE_DMPFS the two builds take turns, round by round.
# 2. Time from `cp` into alice's outbox/bob to the file appearing in bob's
#    inbox/new (both mounted with poll=1): median and p99 over 50 messages.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build/dev}
n=${2:-10000}
n_lat=${3:-50}
rounds=${4:-3}
for b in fs/dmpfs tools/dmp tools/dmp-node; do
	[ -x "$build/$b" ] || { echo "build $b first ($build)" >&2; exit 1; }
done
[ -e /dev/fuse ] || { echo "needs /dev/fuse" >&2; exit 77; }
exec /usr/bin/python3 - "$build" "$n" "$n_lat" "$rounds" <<'PY'
import os, random, shutil, signal, statistics, subprocess, sys, tempfile, time

build, n, n_lat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rounds = int(sys.argv[4])
DMPFS = os.path.join(build, "fs/dmpfs")
BASE = os.environ.get("BASE_DMPFS")
DMP = os.path.join(build, "tools/dmp")
NODE = os.path.join(build, "tools/dmp-node")
tmp = tempfile.mkdtemp(prefix="bench_fs.")
procs, mounts = [], []


def cleanup():
    for m in mounts:
        subprocess.run(["fusermount3", "-u", m], capture_output=True)
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    for m in mounts:
        subprocess.run(["fusermount3", "-uz", m], capture_output=True)
    shutil.rmtree(tmp, ignore_errors=True)


def ismount(p):
    p = os.path.realpath(p)
    return any(l.split()[4] == p for l in open("/proc/self/mountinfo"))


def init(name, node_addr, key=None):
    home = os.path.join(tmp, "home-" + name)
    args = [DMP, "--home", home, "init", name, "--domain", "mesh.test",
            "--node", node_addr]
    if key:
        args += ["--tsig", key]
    env = dict(os.environ, DMP_PASSPHRASE="bench-" + name)
    subprocess.run(args, check=True, capture_output=True, env=env)
    return home


def mount(name, home, poll, binary=DMPFS):
    mnt = os.path.join(tmp, "mnt-" + name)
    os.makedirs(mnt, exist_ok=True)
    env = dict(os.environ, DMP_PASSPHRASE="bench-" + name)
    p = subprocess.Popen([binary, "-f", "-o", "home=%s,poll=%d" % (home, poll),
                          mnt], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    procs.append(p)
    mounts.append(mnt)
    deadline = time.time() + 20
    while not ismount(mnt):
        if time.time() > deadline or p.poll() is not None:
            raise SystemExit("dmpfs did not mount")
        time.sleep(0.05)
    return mnt


def unmount(mnt):
    subprocess.run(["fusermount3", "-u", mnt], check=True)
    mounts.remove(mnt)
    p = procs.pop()
    p.wait(timeout=30)


def drop_caches():
    """Cold: the kernel's page, dentry and inode caches dropped (root
    only; otherwise the fresh mount is the only cold part)."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def runs(cmd, k=5):
    """Milliseconds of k runs: the first cold, the rest warm."""
    dropped = drop_caches()
    ts = []
    for _ in range(k):
        t0 = time.perf_counter()
        subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL)
        ts.append((time.perf_counter() - t0) * 1e3)
    return ts, dropped


try:
    # ---- 1. listing and reading ------------------------------------------
    home = init("reader", "127.0.0.1:9")
    new = os.path.join(home, "mail", "inbox", "new")
    plain = os.path.join(tmp, "plain", "new")
    os.makedirs(plain)
    body = ("From: alice <alice@mesh.test>\nTo: reader@mesh.test\n"
            "Subject: x\n\n" + "hello " * 150 + "\n").encode()
    t = int(time.time()) - n
    for i in range(n):
        name = "%d.%032x.b60c7d23.dmp" % (t + i, i)
        for d in (new, plain):
            with open(os.path.join(d, name), "wb") as f:
                f.write(body)
    print("%d messages of %d bytes; load %s" % (
        n, len(body), open("/proc/loadavg").read().split(" ")[0]))
    builds = [("this", DMPFS)] + ([("base", BASE)] if BASE else [])
    ratios = {}
    for r in range(rounds):
        for label, binary in builds:
            mnt = mount("reader", home, 3600, binary)
            via = os.path.join(mnt, "inbox", "new")
            for what, cmd in (("ls -l", "ls -l %s"),
                              ("cat", "find %s -type f -exec cat {} + ")):
                a, dropped = runs(cmd % via)
                b, _ = runs(cmd % plain)
                q = [x / y for x, y in zip(a, b)]
                ratios.setdefault((label, what), []).append(q)
                print("round %d %-4s %-5s %s: ratio cold %.2f warm %s   "
                      "(dmpfs ms %s; plain ms %s)" % (
                          r + 1, label, what,
                          "dropped" if dropped else "fresh mount", q[0],
                          " ".join("%.2f" % x for x in q[1:]),
                          " ".join("%.0f" % x for x in a),
                          " ".join("%.0f" % x for x in b)), flush=True)
            unmount(mnt)
    for (label, what), qs in sorted(ratios.items()):
        cold = [q[0] for q in qs]
        warm = [x for q in qs for x in q[1:]]
        print("%-4s %-5s cold ratio median %.2f (max %.2f), warm median "
              "%.2f (max %.2f)" % (label, what, statistics.median(cold),
                                   max(cold), statistics.median(warm),
                                   max(warm)))
    print("load %s" % open("/proc/loadavg").read().split(" ")[0])
    if n_lat <= 0:
        raise SystemExit(0)

    # ---- 2. cp to inbox latency ----------------------------------------------
    db = os.path.join(tmp, "node.db")
    addr = "127.0.0.%d" % (20 + os.getpid() % 200)
    port = 40000 + os.getpid() % 20000
    keys = {}
    for u in ("alice", "bob"):
        keys[u] = subprocess.run(
            [NODE, "key", "add", "%s.mesh.test" % u, "--scope", "mesh.test",
             "--db", db], check=True, capture_output=True,
            text=True).stdout.strip()
    node = subprocess.Popen([NODE, "-f", "--db", db, "--zone", "mesh.test",
                             "--listen", "%s:%d" % (addr, port)],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    procs.append(node)
    time.sleep(1.5)  # keys are picked up on the node's maintenance tick
    na = "%s:%d" % (addr, port)
    am = mount("alice", init("alice", na, keys["alice"]), 1)
    bm = mount("bob", init("bob", na, keys["bob"]), 1)
    for m in (am, bm):
        deadline = time.time() + 30
        while open(os.path.join(m, "identity/published")).read() == "0\n":
            if time.time() > deadline:
                raise SystemExit("identity not published")
            time.sleep(0.1)
    for m, other in ((am, "bob"), (bm, "alice")):
        with open(os.path.join(m, "contacts", other), "w") as f:
            f.write("%s@mesh.test\n" % other)
    src = os.path.join(tmp, "msg.txt")
    with open(src, "wb") as f:
        f.write(b"latency probe\n" * 20)
    inbox = os.path.join(bm, "inbox", "new")
    lat = []
    rng = random.Random(1)
    for i in range(n_lat):
        # Send at a random phase of bob's poll cycle, as a user would.
        time.sleep(rng.uniform(0, 1.0))
        before = len(os.listdir(inbox))
        t0 = time.perf_counter()
        subprocess.run(["cp", src, os.path.join(am, "outbox", "bob")],
                       check=True)
        deadline = t0 + 60
        while len(os.listdir(inbox)) == before:
            if time.perf_counter() > deadline:
                raise SystemExit("message %d not delivered in 60 s" % i)
            time.sleep(0.005)
        lat.append(time.perf_counter() - t0)
    lat.sort()
    p99 = lat[min(len(lat) - 1, int(round(0.99 * len(lat))) - 1)]
    print("cp -> inbox over %d messages, poll=1: median %.0f ms, p99 %.0f ms"
          ", min %.0f ms, max %.0f ms" % (
              len(lat), statistics.median(lat) * 1e3, p99 * 1e3,
              lat[0] * 1e3, lat[-1] * 1e3))
finally:
    cleanup()
PY
