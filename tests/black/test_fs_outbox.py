"""outbox/ sends exactly what you write (issue 14, items 1-3, 11, 13): real
mounts, real shell tools (sh, echo, dd, mv, rsync, mktemp, vim), alice
writing to bob through a real dmp-node on loopback.

Every wait is bounded; each test ends by sending a sentinel message and
waiting for it, so "nothing else arrived" is checked after everything
before it had its chance to arrive."""
import os
import signal
import stat
import subprocess
import tempfile
import time

from conftest import need
from fs_helpers import E, ZONE, errno_of, mesh, wait_for  # noqa: F401
from fs_helpers import pair as fs_pair


def pair(mesh, delay=0):
    """alice, with an undo-send window of @delay seconds, and bob."""
    return fs_pair(mesh, ["send_delay=%d" % delay])


def bodies(m):
    return sorted(b for _, b in m.messages("inbox"))


def sentinel(am, bm, want):
    """Send a last message; once it is in, bob's inbox must be exactly
    @want plus the sentinel (every earlier message had its chance)."""
    assert am.write("outbox/bob", b"sentinel\n") == 0
    wait_for(lambda: b"sentinel\n" in bodies(bm) and
             len(bodies(bm)) >= len(want) + 1, timeout=30,
             what="the sentinel and %d more" % len(want))
    wait_for(lambda: am.ls("queue") == [], what="alice's queue drained")
    time.sleep(1.5)  # one more poll of bob's: nothing else arrives
    assert bodies(bm) == sorted(list(want) + [b"sentinel\n"])


def events(m):
    return m.read(".events").decode()


def test_append_oversize_rsync_empty(tmp_path, mesh):
    need("rsync")
    am, bm = pair(mesh)
    # 1. `>` then `>>` within a second: two messages, the second exactly
    # "app\n" (no NULs from a cached size of the first).
    am.sh("echo 0123456789 > outbox/bob; echo app >> outbox/bob")
    # stat right after a message: the contact's file is empty again.
    am.sh("echo 0123456789 > outbox/bob; test ! -s outbox/bob")
    # mv, then rsync of a file of the same size and mtime right after:
    # rsync must not skip it as "unchanged", and both are sent.
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(b"moved by mv\n")
    b.write_bytes(b"rsynced now\n")
    os.utime(a, (1700000000, 1700000000))
    os.utime(b, (1700000000, 1700000000))
    r = am.sh("cp -p %s %s.keep && mv %s outbox/bob && "
              "rsync -v %s outbox/bob" % (a, a, a, b))
    assert b"b.txt" in r.stdout, r.stdout  # rsync says it sent it
    # 2. Over the limit in pieces: every later write fails, close fails,
    # nothing is sent (no cut-short prefix), .events says why.
    r = am.sh("for i in $(seq 1 300); do echo \"line $i of a long one\"; "
              "done > outbox/bob", check=False)
    assert r.returncode != 0 and b"error" in r.stderr, r.stderr  # dash
    (tmp_path / "big").write_bytes(os.urandom(10240))
    r = am.sh("dd if=%s of=outbox/bob bs=3000 status=none" %
              (tmp_path / "big"), check=False)
    assert r.returncode != 0 and b"File too large" in r.stderr, r.stderr
    fd = os.open(am.path("outbox/bob"), os.O_WRONLY)
    os.write(fd, b"y" * 3000)
    assert errno_of(os.write, fd, b"z" * 1000) == E.EFBIG
    assert errno_of(os.write, fd, b"fits") == E.EFBIG  # sticky
    assert errno_of(os.close, fd) == E.EFBIG
    ev = events(am)
    assert ev.count("a write failed (File too large") >= 3, ev
    # 11. An empty file sends nothing, as `dmp send </dev/null` refuses.
    am.sh(": > outbox/bob; touch outbox/bob")
    assert "an empty message is never sent" in events(am)
    r = am.user.run("send", "bob", "-", input=b"")
    assert r.returncode == 2 and "empty" in r.stderr_text, r.stderr_text
    sentinel(am, bm, [b"0123456789\n", b"app\n", b"0123456789\n",
                      b"moved by mv\n", b"rsynced now\n"])
    for body in bodies(bm):
        assert b"\0" not in body


def test_undo_window_kill_and_editor(tmp_path, mesh):
    am, bm = pair(mesh, delay=3)
    # The undo-send window: held in queue/, `rm queue/<id>` takes it back.
    am.sh("echo 'take me back' > outbox/bob")
    q = am.ls("queue")
    assert len(q) == 1, q
    kv = am.kv("queue/" + q[0])
    assert kv["state"] == "held", kv
    os.unlink(am.path("queue", q[0]))
    assert am.ls("queue") == []
    assert " CANCELLED peer=bob " in events(am)
    # Ctrl-C on `cat > outbox/bob` halfway: the writer died by a signal
    # while the file was open, so nothing is sent.
    p = subprocess.Popen("exec cat > outbox/bob", shell=True, cwd=am.mnt,
                         stdin=subprocess.PIPE)
    p.stdin.write(b"half a sen")
    p.stdin.flush()
    wait_for(lambda: os.stat(am.path("outbox/bob")).st_size == 10,
             timeout=10, what="cat's bytes in outbox/bob")
    p.send_signal(signal.SIGINT)
    p.wait(timeout=10)
    p.stdin.close()
    assert p.returncode == -signal.SIGINT
    # SIGKILL of a writer that never closed: nothing sent either.
    p = subprocess.Popen(
        ["python3", "-c", "import os,time\n"
         "fd = os.open('outbox/bob', os.O_WRONLY)\n"
         "os.write(fd, b'killed')\nprint('w', flush=True)\n"
         "time.sleep(30)"], cwd=am.mnt, stdout=subprocess.PIPE)
    assert p.stdout.readline() == b"w\n"
    p.kill()
    p.wait(timeout=10)
    wait_for(lambda: events(am).count("was killed by signal") == 2,
             timeout=10, what="two kills logged")
    ev = events(am)
    assert "killed by signal 2 (Interrupt)" in ev, ev
    assert "killed by signal 9 (Killed)" in ev, ev
    # Two processes writing one after the other are two messages, and
    # `>>` is always a message of its own; so is every write of a
    # process that never read the file (a script, not an editor).
    am.sh("echo one > outbox/bob")
    am.sh("echo two > outbox/bob; echo three >> outbox/bob")
    am.sh("echo four > outbox/bob; echo five > outbox/bob")
    q = am.ls("queue")
    # Rarely seen under a loaded ctest -j2 (one entry missing, cause not
    # yet known): the events say what became of it.
    assert len(q) == 5, (q, events(am))
    sentinel(am, bm, [b"one\n", b"two\n", b"three\n", b"four\n",
                      b"five\n"])
    for body in bodies(bm):
        assert b"half" not in body and b"killed" not in body


def test_editor_saves_are_one_message(tmp_path, mesh):
    """vim's :w then :wq (two writes of outbox/bob by one process within
    the undo-send window) send one message: the second replaces the
    first. Later saves, after the window, are messages of their own."""
    need("vim")
    am, bm = pair(mesh, delay=3)
    env = dict(os.environ, HOME=str(tmp_path))
    vim = ["vim", "-u", "NONE", "-i", "NONE", "-N", "-es"]
    r = subprocess.run(vim + ["-c", "normal ihello", "-c", "w", "-c",
                              "normal ogoodbye", "-c", "wq", "outbox/bob"],
                       cwd=am.mnt, env=env, capture_output=True, timeout=20)
    assert r.returncode == 0, r.stderr
    assert "replaced by a new save of outbox/bob" in events(am)
    assert len(am.ls("queue")) == 1
    # The swap file vim kept in outbox/ is gone, and was never sent.
    assert not [n for n in am.ls("outbox") if n.endswith(".swp")]
    sentinel(am, bm, [b"hello\ngoodbye\n"])


def test_addresses_temp_files_blocking_listing(tmp_path, mesh):
    am, bm = pair(mesh)
    a = am.user
    # outbox/ lists whom you can write to, as empty writable files.
    assert am.ls("outbox") == ["bob"]
    st = os.stat(am.path("outbox/bob"))
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 0
    assert am.read("outbox/bob") == b""
    # An unknown name: ENOENT, and .events names `dmp contacts add`.
    assert am.write("outbox/nobody", b"x") == E.ENOENT
    assert "outbox/nobody: no such contact: pin it with `dmp contacts add" \
        in events(am)
    # An unpinned user@zone is fetched and pinned, as `dmp send` does.
    a.run("contacts", "remove", "bob", check=True)
    assert am.ls("outbox") == []
    am.sh("echo 'by address' > outbox/bob@%s" % ZONE)
    assert am.kv("contacts/bob")["address"] == "bob@" + ZONE
    # ...and an address with no identity record says why.
    assert am.write("outbox/nobody@" + ZONE, b"x") == E.ENOENT
    assert "cannot pin nobody@%s" % ZONE in events(am)
    # mkstemp in outbox/, then rename onto a contact: sent on rename.
    fd, tmp = tempfile.mkstemp(dir=am.path("outbox"))
    os.write(fd, b"via mkstemp\n")
    os.close(fd)
    assert os.path.basename(tmp) in am.ls("outbox")
    os.rename(tmp, am.path("outbox/bob"))
    am.sh("t=$(mktemp -p outbox) && echo 'via mktemp' > $t && "
          "mv $t outbox/bob")
    # A temporary file never renamed is reported at unmount, as is an
    # editor's scratch file.
    fd, tmp = tempfile.mkstemp(dir=am.path("outbox"))
    os.write(fd, b"forgotten\n")
    os.close(fd)
    assert am.write("outbox/.bob.swp", b"scratch") == 0
    # Blocking is per key: another alias of a blocked key is refused,
    # and neither is listed.
    fp = bm.read("identity/fingerprint").decode().strip()
    assert am.write("contacts/robert", ("address=bob@%s\nfingerprint=%s\n"
                                        % (ZONE, fp)).encode()) == 0
    assert sorted(n for n in am.ls("outbox") if n[0] != "." and
                  not n.startswith("tmp")) == ["bob", "robert"]
    a.run("contacts", "block", "bob", check=True)
    assert am.write("outbox/robert", b"blocked") == E.EACCES
    assert a.run("send", "robert", "-", input=b"blocked").returncode != 0
    assert stat.S_IMODE(os.stat(am.path("outbox/robert")).st_mode) == 0o400
    assert "robert" not in am.ls("outbox")
    a.run("contacts", "unblock", "bob", check=True)
    assert am.write("outbox/robert", b"unblocked\n") == 0
    sentinel(am, bm, [b"by address\n", b"via mkstemp\n", b"via mktemp\n",
                      b"unblocked\n"])
    assert am.stop() == 0
    log = "\n".join(a.events())
    assert "(10 bytes, a temporary file) discarded at unmount" in log, log
    assert "outbox/.bob.swp (7 bytes, an editor's scratch file) " \
        "discarded at unmount" in log, log
