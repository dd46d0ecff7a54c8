"""Helpers for the dmpfs black-box tests: users (cli_helpers.User) with a
dmpfs mount each, in temporary directories, on a real dmp-node.

Every mount is started with -f in the background; its PID is recorded,
teardown unmounts with `fusermount3 -u` (then -uz) and kills by PID, and
every wait is bounded."""
import errno
import os
import signal
import subprocess
import time

import pytest

from conftest import BUILD
from cli_helpers import User, wait_keys, ZONE, split_mail  # noqa: F401 (re-export)


def dmpfs_binary():
    for p in ("fs/dmpfs", "dmpfs"):
        full = os.path.join(BUILD, p)
        if os.path.isfile(full) and os.access(full, os.X_OK):
            return full
    pytest.fail("dmpfs not built (DMP_BUILD_DIR=%r)" % BUILD)


def need_fuse():
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse")
    if subprocess.run(["which", "fusermount3"],
                      capture_output=True).returncode != 0:
        pytest.skip("no fusermount3")


def wait_for(fn, timeout=20.0, step=0.1, what="condition"):
    """Call fn until it returns something true; fail after timeout."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = fn()
        except OSError as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(step)
    pytest.fail("timed out waiting for %s (last: %r)" % (what, last))


def is_mounted(path):
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if line.split()[4] == path:
                return True
    return False


class Mount:
    """One dmpfs process serving one user's home at self.mnt."""

    def __init__(self, user, tmp_path, poll=1, options=(), name=None):
        self.user = user
        self.mnt = str(tmp_path / ("mnt-" + (name or user.name)))
        os.makedirs(self.mnt, exist_ok=True)
        self.poll = poll
        self.options = list(options)
        self.proc = None
        self.log = str(tmp_path / ("dmpfs-%s.log" % (name or user.name)))

    def argv(self, extra=()):
        opts = ["home=" + self.user.home]
        if self.poll:
            opts.append("poll=%d" % self.poll)
        opts += self.options
        if not any(o.startswith("send_delay=") for o in opts):
            # No undo-send window unless a test asks for one
            # (test_fs_outbox.py): deliveries are not held up.
            opts.append("send_delay=0")
        return [dmpfs_binary(), "-f", "-o", ",".join(opts), *extra,
                self.mnt]

    def start(self, env=None, timeout=15.0):
        e = dict(os.environ)
        e["DMP_PASSPHRASE"] = self.user.passphrase
        if env:
            e.update(env)
        logf = open(self.log, "ab")
        self.proc = subprocess.Popen(self.argv(), stdout=logf,
                                     stderr=subprocess.STDOUT, env=e)
        logf.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("dmpfs exited %d: %s" % (
                    self.proc.returncode, open(self.log).read()))
            if is_mounted(self.mnt) and os.path.exists(
                    os.path.join(self.mnt, ".status")):
                return self
            time.sleep(0.05)
        pytest.fail("dmpfs did not mount: %s" % open(self.log).read())

    def stop(self, timeout=30.0):
        """Unmount cleanly; returns dmpfs's exit status."""
        if self.proc is None:
            return None
        if is_mounted(self.mnt):
            subprocess.run(["fusermount3", "-u", self.mnt],
                           capture_output=True, timeout=timeout)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if is_mounted(self.mnt):
            subprocess.run(["fusermount3", "-uz", self.mnt],
                           capture_output=True, timeout=timeout)
        rc = self.proc.returncode
        self.proc = None
        self.check_log()
        return rc

    def check_log(self):
        """Sanitizer builds: a report in dmpfs's output fails the test."""
        log = open(self.log, errors="replace").read() \
            if os.path.exists(self.log) else ""
        for bad in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                    "WARNING: ThreadSanitizer", "runtime error:"):
            assert bad not in log, log

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None
        subprocess.run(["fusermount3", "-uz", self.mnt],
                       capture_output=True, timeout=20)

    def path(self, *parts):
        return os.path.join(self.mnt, *parts)

    def write(self, rel, data):
        """One open-write-close; returns 0 or the errno of open/write/
        close."""
        try:
            fd = os.open(self.path(rel), os.O_WRONLY | os.O_CREAT |
                         os.O_TRUNC, 0o600)
        except OSError as e:
            return e.errno
        try:
            os.write(fd, data)
        except OSError as e:
            os.close(fd)
            return e.errno
        try:
            os.close(fd)
        except OSError as e:
            return e.errno
        return 0

    def read(self, rel):
        with open(self.path(rel), "rb") as f:
            return f.read()

    def kv(self, rel):
        out = {}
        for line in self.read(rel).decode().splitlines():
            k, _, v = line.partition("=")
            out[k] = v
        return out

    def ls(self, rel):
        return sorted(os.listdir(self.path(rel)))

    def messages(self, folder, sub="new"):
        """(headers, body) of each message in folder/sub, oldest first."""
        out = []
        for f in self.ls(os.path.join(folder, sub)):
            raw = self.read(os.path.join(folder, sub, f))
            out.append(split_mail(raw))
        return out

    def sh(self, script, timeout=30, check=True):
        r = subprocess.run(["sh", "-c", script], cwd=self.mnt,
                           capture_output=True, timeout=timeout)
        if check:
            assert r.returncode == 0, (script, r.stderr)
        return r


class Mesh:
    def __init__(self, tmp_path, node):
        self.tmp = tmp_path
        self.node = node
        self.users = {}
        self.mounts = []

    def user(self, name, mount=True, poll=1, options=()):
        u = User(self.tmp, name, self.node)
        self.users[name] = u
        if not mount:
            return u, None
        m = Mount(u, self.tmp, poll=poll, options=options)
        self.mounts.append(m)
        return u, m

    def mount(self, user, **kw):
        m = Mount(user, self.tmp, **kw)
        self.mounts.append(m)
        return m.start()

    def close(self):
        failed = []
        for m in self.mounts:
            try:
                m.stop(timeout=20)
            except Exception as e:  # keep tearing the rest down
                failed.append(e)
                if m.proc:
                    m.proc.kill()
                    m.proc = None
                    subprocess.run(["fusermount3", "-uz", m.mnt],
                                   capture_output=True, timeout=20)
        if failed:
            raise failed[0]


@pytest.fixture
def mesh(tmp_path, node):
    need_fuse()
    node.start()
    m = Mesh(tmp_path, node)
    yield m
    m.close()


def pair(mesh, alice_options=()):
    """alice (mounted with @alice_options) and bob mounted, identities
    published by dmpfs itself, each pinned by the other through
    contacts/."""
    alice, am = mesh.user("alice", options=alice_options)
    bob, bm = mesh.user("bob")
    wait_keys()
    am.start()
    bm.start()
    for m in (am, bm):
        wait_for(lambda m=m: m.read("identity/published").strip() != b"0",
                 what="identity published by " + m.user.name)
    assert am.write("contacts/bob", b"bob@%s\n" % ZONE.encode()) == 0
    assert bm.write("contacts/alice", b"alice@%s\n" % ZONE.encode()) == 0
    return am, bm


def errno_of(fn, *args):
    try:
        fn(*args)
    except OSError as e:
        return e.errno
    return 0


E = errno
