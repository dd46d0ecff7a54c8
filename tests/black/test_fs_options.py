"""dmpfs command line and mount behaviour without a peer: options, the
passphrase paths, fsname/subtype, daemon mode, the maildir= mirror, and a
dead network that must not block local reads."""
import os
import signal
import subprocess
import time

import pytest

from fs_helpers import (Mount, User, dmpfs_binary, is_mounted, need_fuse,
                        wait_for)


def run(args, env=None, timeout=30):
    e = dict(os.environ)
    e.pop("DMP_PASSPHRASE", None)
    if env:
        e.update(env)
    return subprocess.run([dmpfs_binary(), *args], capture_output=True,
                          env=e, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def offline_user(tmp_path, node):
    """A user whose node never answers (the node is never started). Reads
    time out after 100 ms (network.timeout_ms, default 2 s), so the
    engine thread is out of its network wait soon after the unmount: it
    is not what these tests are about (test_dead_network_... is), and
    dmpfs waits up to 3 s for it."""
    need_fuse()
    u = User(tmp_path, "alice", node)
    u.set_config("network.timeout_ms", "100")
    return u


def test_version_and_help():
    r = run(["-V"])
    assert r.returncode == 0
    out = r.stdout.decode()
    assert "dmpfs version" in out and "FUSE library version" in out
    r = run(["-h"])
    assert r.returncode == 0
    out = r.stdout.decode()
    for word in ("MOUNTPOINT", "home=", "poll=", "maildir=", "passfile=",
                 "config="):
        assert word in out, word
    r = run([])
    assert r.returncode != 0


def test_passphrase_paths(tmp_path, offline_user):
    u = offline_user
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    # Wrong passphrase: fails on the terminal, before mounting.
    r = run(["-f", "-o", "home=" + u.home, str(mnt)],
            env={"DMP_PASSPHRASE": "wrong"})
    assert r.returncode != 0 and b"passphrase" in r.stderr
    assert not is_mounted(str(mnt))
    # No home.
    r = run(["-f", "-o", "home=" + str(tmp_path / "none"), str(mnt)],
            env={"DMP_PASSPHRASE": "x"})
    assert r.returncode != 0 and b"dmp init" in r.stderr
    # A passfile readable by others is refused; 0400 works.
    pf = tmp_path / "pass"
    pf.write_text(u.passphrase + "\n")
    os.chmod(pf, 0o644)
    r = run(["-f", "-o", "home=%s,passfile=%s" % (u.home, pf), str(mnt)])
    assert r.returncode != 0 and b"chmod 0400" in r.stderr
    os.chmod(pf, 0o400)
    m = Mount(u, tmp_path, options=["passfile=" + str(pf)], name="pf")
    m.start(env={"DMP_PASSPHRASE": ""})
    try:
        assert m.read("identity/address").strip() == b"alice@mesh.test"
    finally:
        assert m.stop() == 0
    # config= names HOME/config.yaml.
    m = Mount(u, tmp_path, name="cfg")
    m.argv_orig = m.argv
    m.argv = lambda extra=(): [dmpfs_binary(), "-f", "-o",
                               "config=%s/config.yaml" % u.home, m.mnt]
    m.start()
    try:
        assert m.read("identity/address").strip() == b"alice@mesh.test"
    finally:
        assert m.stop() == 0


def test_fsname_subtype_statfs(tmp_path, offline_user):
    m = Mount(offline_user, tmp_path).start()
    try:
        line = next(l for l in open("/proc/self/mountinfo")
                    if l.split()[4] == os.path.realpath(m.mnt))
        after = line.split(" - ")[1].split()
        assert after[0] == "fuse.dmp" and after[1] == "dmp", line
        sv = os.statvfs(m.mnt)
        assert sv.f_bavail > 0 and sv.f_bsize > 0
        r = subprocess.run(["df", "-P", m.mnt], capture_output=True,
                           timeout=20)
        assert r.returncode == 0 and b"dmp" in r.stdout
    finally:
        assert m.stop() == 0


def test_dead_network_never_blocks_local_reads(tmp_path, node):
    """The node is frozen (SIGSTOP): packets vanish, so the engine thread
    spends its passes in timeouts; ls, cat and stat stay fast."""
    need_fuse()
    u = User(tmp_path, "alice", node)
    # Each network wait (1.2 s; writes 2.4 s) still outlasts the 1 s a
    # local read may take, at 60% of the default's time to "offline".
    u.set_config("network.timeout_ms", "1200")
    node.start()
    node.proc.send_signal(signal.SIGSTOP)
    m = Mount(u, tmp_path, poll=1).start()
    try:
        time.sleep(1.5)  # the engine thread is now inside a network wait
        for _ in range(5):
            t0 = time.time()
            m.ls("")
            m.ls("inbox/new")
            m.read(".status")
            m.read("identity/record")
            m.read(".events")
            m.ls("queue")
            assert time.time() - t0 < 1.0
            time.sleep(0.3)
        # Pinning needs the network: it fails with a host error at close
        # (bounded by the resolver timeout), and leaves no contact.
        t0 = time.time()
        rc = m.write("contacts/bob", b"bob@mesh.test\n")
        assert rc != 0 and time.time() - t0 < 30
        assert m.ls("contacts") == []
        st = wait_for(lambda: m.kv(".status") if m.kv(".status")[
            "state"] in ("offline", "degraded") else None, timeout=40,
            what="offline state")
        assert int(st["errors"]) >= 1 and st["last_error"]
        # Unmounting does not wait for the engine thread's network wait.
        t0 = time.time()
        assert m.stop(timeout=60) == 0
        assert time.time() - t0 < 8
    finally:
        node.proc.send_signal(signal.SIGCONT)
        m.stop(timeout=60)


def test_maildir_mirror(tmp_path, offline_user):
    u = offline_user
    mirror = tmp_path / "mirror"
    m = Mount(u, tmp_path, options=["maildir=" + str(mirror)]).start()
    try:
        for f in ("inbox", "sent"):
            p = mirror / f
            assert p.is_symlink()
            assert os.path.realpath(p) == os.path.realpath(
                os.path.join(u.home, "mail", f))
        # A file appearing in the real Maildir is in the mirror and in the
        # mount at once.
        real = os.path.join(u.home, "mail", "inbox", "new", "1.test.dmp")
        open(real, "wb").write(b"From: x\n\nbody")
        assert (mirror / "inbox" / "new" / "1.test.dmp").read_bytes() == \
            b"From: x\n\nbody"
        assert m.read("inbox/new/1.test.dmp") == b"From: x\n\nbody"
    finally:
        assert m.stop() == 0


def find_pid(mnt):
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = open("/proc/%s/cmdline" % pid, "rb").read().split(b"\0")
        except OSError:
            continue
        if cmd and cmd[0].endswith(b"dmpfs") and mnt.encode() in cmd:
            return int(pid)
    return None


def test_daemon_mode(tmp_path, offline_user):
    u = offline_user
    mnt = str(tmp_path / "mnt-daemon")
    os.mkdir(mnt)
    r = run(["-o", "home=" + u.home, mnt],
            env={"DMP_PASSPHRASE": u.passphrase})
    pid = find_pid(mnt)
    try:
        assert r.returncode == 0, r.stderr
        assert is_mounted(mnt)
        assert pid is not None
        assert open(os.path.join(mnt, "identity", "address")).read() == \
            "alice@mesh.test\n"
    finally:
        subprocess.run(["fusermount3", "-u", mnt], capture_output=True,
                       timeout=30)
        deadline = time.time() + 30
        while pid and time.time() < deadline and os.path.exists(
                "/proc/%d" % pid):
            time.sleep(0.1)
        if pid and os.path.exists("/proc/%d" % pid):
            os.kill(pid, signal.SIGKILL)
            subprocess.run(["fusermount3", "-uz", mnt], capture_output=True,
                           timeout=30)
    assert not is_mounted(mnt)
