"""dmpfs end to end: alice and bob each mount their home, talk through a
real dmp-node on loopback, and use nothing but ordinary shell commands."""
import os
import signal
import subprocess
import threading
import time

from fs_helpers import (E, ZONE, errno_of, mesh, pair, wait_for,  # noqa: F401
                        wait_keys)


def inbox_bodies(m, folder="inbox"):
    return sorted(b for _, b in m.messages(folder))


def test_cp_reaches_bob_inbox(tmp_path, mesh):
    am, bm = pair(mesh)
    src = tmp_path / "letter.txt"
    src.write_bytes(b"Dear bob,\nthis came through cp.\n")
    am.sh("cp %s outbox/bob" % src)
    # Queued durably at close; outbox/ lists the contact, empty again.
    assert am.ls("outbox") == ["bob"]
    assert os.stat(am.path("outbox/bob")).st_size == 0
    got = wait_for(lambda: bm.messages("inbox"), what="bob's inbox")
    assert len(got) == 1
    head, body = got[0]
    assert body == src.read_bytes()
    assert "From: alice <alice@%s>" % ZONE in head
    assert "To: bob@%s" % ZONE in head
    assert "X-DMP-Verified: yes" in head
    assert "Message-ID: <" in head and "Date: " in head
    assert "X-DMP-Msg-Id: " in head and "X-DMP-Sender-Key: " in head
    # File names start with the arrival time; mtime is the arrival.
    name = bm.ls("inbox/new")[0]
    st = os.stat(bm.path("inbox/new", name))
    assert abs(int(name.split(".")[0]) - st.st_mtime) < 5
    # Same bytes as the real Maildir.
    real = os.path.join(bm.user.home, "mail", "inbox", "new", name)
    assert open(real, "rb").read() == bm.read("inbox/new/" + name)
    # alice: queue drains, a copy lands in sent/.
    wait_for(lambda: am.ls("queue") == [] and am.messages("sent"),
             what="alice's sent/")
    assert am.messages("sent")[0][1] == src.read_bytes()
    ev = am.read(".events").decode()
    assert " QUEUED " in ev and " PUBLISHED " in ev
    assert " RECEIVED " in bm.read(".events").decode()


def test_echo_cat_dd(tmp_path, mesh):
    am, bm = pair(mesh)
    am.sh("echo 'one by echo' > outbox/bob")
    am.sh("printf 'two by ' > /tmp/.dmpfs-two-$$; "
          "cat /tmp/.dmpfs-two-$$ - >> outbox/bob <<EOF\ncat\nEOF\n"
          "rm -f /tmp/.dmpfs-two-$$")
    blob = os.urandom(3000)
    (tmp_path / "blob").write_bytes(blob)
    am.sh("dd if=%s of=outbox/bob bs=512 status=none" % (tmp_path / "blob"))
    # Children that inherit the descriptor and exit first do not end the
    # message: the opener's close does.
    am.sh("(echo three; sleep 0.3; /bin/echo by; sleep 0.3; echo subshell)"
          " > outbox/bob")
    want = sorted([b"one by echo\n", b"two by cat\n", blob,
                   b"three\nby\nsubshell\n"])
    wait_for(lambda: len(bm.messages("inbox")) == 4, timeout=30,
             what="four messages")
    assert inbox_bodies(bm) == want
    # Exactly one message per open-write-close.
    time.sleep(2.5)
    assert len(bm.messages("inbox")) == 4


def test_contact_pin_by_echo_and_unpin(mesh):
    am, bm = pair(mesh)
    kv = am.kv("contacts/bob")
    assert kv["address"] == "bob@" + ZONE
    assert kv["fingerprint"] == bm.read("identity/fingerprint").decode().strip()
    assert kv["ed25519"] == bm.read("identity/ed25519").decode().strip()
    assert kv["blocked"] == "no" and kv["pinned_how"] == "fetched"
    assert am.ls("contacts") == ["bob"]
    # Pin under another alias with the fingerprint, key=value style.
    assert am.write("contacts/robert", ("address=bob@%s\nfingerprint=%s\n" % (
        ZONE, kv["fingerprint"])).encode()) == 0
    assert am.kv("contacts/robert")["pinned_how"] == "fingerprint"
    # A wrong fingerprint is refused at close, and nothing is pinned.
    assert am.write("contacts/bobby", b"bob@%s 0000000000000000\n" %
                    ZONE.encode()) == E.EKEYREJECTED
    # No such user: ENOENT at close, nothing pinned, reason in .events.
    assert am.write("contacts/nobody", b"nobody@%s\n" % ZONE.encode()) == \
        E.ENOENT
    assert sorted(am.ls("contacts")) == ["bob", "robert"]
    os.unlink(am.path("contacts/robert"))
    assert am.ls("contacts") == ["bob"]
    assert errno_of(os.stat, am.path("contacts/robert")) == E.ENOENT
    # Unpinned: outbox/robert is now an unknown contact.
    assert am.write("outbox/robert", b"x") == E.ENOENT


def test_errnos(tmp_path, mesh):
    am, bm = pair(mesh)
    a = am.user
    # Unknown contact: open(O_CREAT) fails.
    assert am.write("outbox/carol", b"hi") == E.ENOENT
    assert am.write("outbox/carol@" + ZONE, b"hi") == E.ENOENT
    # user@zone of a pinned contact works like its alias.
    assert am.write("outbox/bob@" + ZONE, b"by address") == 0
    # Editor scratch names are accepted, listed, readable, never sent.
    for name in (".bob.swp", "bob~", "4913", "#bob#", ".#bob"):
        assert am.write("outbox/" + name, b"draft " + name.encode()) == 0
        assert am.read("outbox/" + name) == b"draft " + name.encode()
    assert sorted(am.ls("outbox")) == sorted(
        [".bob.swp", "bob~", "4913", "#bob#", ".#bob", "bob"])
    for name in ("4913", "#bob#", ".#bob", "bob~"):
        os.unlink(am.path("outbox", name))
    # An editor saving by rename: the scratch becomes the message.
    os.rename(am.path("outbox/.bob.swp"), am.path("outbox/bob"))
    assert am.ls("outbox") == ["bob"]
    wait_for(lambda: len(bm.messages("inbox")) == 2, what="two messages")
    assert inbox_bodies(bm) == [b"by address", b"draft .bob.swp"]
    # EFBIG at write time, past the largest body: the whole message is
    # refused at close (never a cut-short prefix; test_fs_outbox.py).
    fd = os.open(am.path("outbox/bob"), os.O_WRONLY | os.O_CREAT)
    os.write(fd, b"x" * 3600)
    assert errno_of(os.write, fd, b"y") == E.EFBIG
    assert errno_of(os.close, fd) == E.EFBIG
    assert am.write("outbox/bob", b"x" * 3600) == 0  # the largest body
    wait_for(lambda: len(bm.messages("inbox")) == 3, what="3600-byte one")
    assert max(len(b) for b in inbox_bodies(bm)) == 3600
    # Blocked contact: EACCES at open.
    a.run("contacts", "block", "bob", check=True)
    assert am.write("outbox/bob", b"nope") == E.EACCES
    a.run("contacts", "unblock", "bob", check=True)
    # Contact gone between open and close: close() returns the error.
    fd = os.open(am.path("outbox/bob"), os.O_WRONLY | os.O_CREAT)
    os.write(fd, b"orphan")
    a.run("contacts", "remove", "bob", check=True)
    assert errno_of(os.close, fd) == E.ENOENT
    # Read-only areas.
    for rel in ("identity/address", ".status", ".events", "resolvers"):
        assert errno_of(open, am.path(rel), "wb") == E.EACCES, rel
        assert errno_of(os.unlink, am.path(rel)) == E.EACCES, rel
    assert errno_of(open, am.path("identity/new"), "wb") == E.EACCES
    assert errno_of(open, am.path("peers/x"), "wb") == E.EACCES
    assert errno_of(os.mkdir, am.path("newdir")) == E.EACCES
    assert errno_of(os.mkdir, am.path("queue/9")) == E.EACCES
    assert errno_of(open, am.path("newfile"), "wb") == E.EACCES
    assert errno_of(os.rename, am.path("identity/address"),
                    am.path("identity/x")) == E.EACCES
    # statfs: the home's filesystem, never zero free space.
    sv = os.statvfs(am.mnt)
    assert sv.f_bavail > 0 and sv.f_blocks > 0
    real = os.statvfs(a.home)
    assert sv.f_blocks == real.f_blocks
    # Only the 3 messages went out.
    time.sleep(2)
    assert len(bm.messages("inbox")) == 3


def test_intro_accept_by_mv(tmp_path, mesh):
    am, bm = pair(mesh)
    carol, cm = mesh.user("carol")
    wait_keys()
    cm.start()
    wait_for(lambda: cm.read("identity/published").strip() != b"0",
             what="carol published")
    assert cm.write("contacts/bob", b"bob@%s\n" % ZONE.encode()) == 0
    assert cm.write("outbox/bob", b"hello, I am carol") == 0
    got = wait_for(lambda: bm.ls("intro/new"), what="bob's intro")
    assert bm.ls("inbox/new") == []
    head, body = bm.messages("intro")[0]
    assert body == b"hello, I am carol"
    assert "X-DMP-Verified: no" in head
    assert "carol" not in bm.ls("contacts")
    # mv intro/new/X inbox/new/: a plain rename on the real Maildirs, and
    # carol is pinned by the key that signed the message.
    bm.sh("mv intro/new/%s inbox/new/" % got[0])
    assert bm.ls("intro/new") == []
    assert bm.ls("inbox/new") == got
    assert os.listdir(os.path.join(bm.user.home, "mail", "inbox", "new")) \
        == got
    wait_for(lambda: "carol" in bm.ls("contacts"), what="carol pinned")
    assert bm.kv("contacts/carol")["fingerprint"] == \
        cm.read("identity/fingerprint").decode().strip()
    # Her next message goes straight to the inbox.
    assert cm.write("outbox/bob", b"second") == 0
    wait_for(lambda: len(bm.ls("inbox/new")) == 2, what="second in inbox")
    assert bm.ls("intro/new") == []
    assert b"second" in inbox_bodies(bm)


def test_new_to_cur_rename_and_rm(mesh):
    am, bm = pair(mesh)
    assert am.write("outbox/bob", b"read me") == 0
    name = wait_for(lambda: bm.ls("inbox/new"), what="delivery")[0]
    # mutt marks a message read by renaming it into cur/ with flags.
    os.rename(bm.path("inbox/new", name), bm.path("inbox/cur", name + ":2,S"))
    assert bm.ls("inbox/new") == []
    assert bm.ls("inbox/cur") == [name + ":2,S"]
    real = os.path.join(bm.user.home, "mail", "inbox")
    assert os.listdir(os.path.join(real, "cur")) == [name + ":2,S"]
    assert bm.read("inbox/cur/" + name + ":2,S").endswith(b"\n\nread me")
    # grep and ls -t work as on any directory.
    r = bm.sh("grep -l 'read me' inbox/cur/*")
    assert name in r.stdout.decode()
    # rm deletes locally only; the replay cache keeps it from coming back.
    os.unlink(bm.path("inbox/cur", name + ":2,S"))
    assert os.listdir(os.path.join(real, "cur")) == []
    time.sleep(3)
    assert bm.ls("inbox/new") == [] and bm.ls("inbox/cur") == []


def test_status_events_tail_and_resolvers(mesh):
    am, bm = pair(mesh)
    st = wait_for(lambda: bm.kv(".status") if bm.kv(".status")["state"] ==
                  "online" else None, what="online")
    assert st["address"] == "bob@" + ZONE
    assert int(st["last_poll"]) > 0 and int(st["next_poll"]) >= int(
        st["last_poll"])
    assert st["queued"] == "0"
    # .events is the engine's log byte for byte, size and mtime exact.
    real = os.path.join(bm.user.home, "events.log")
    assert bm.read(".events") == open(real, "rb").read()
    tail = subprocess.Popen(["tail", "-n", "0", "-F", bm.path(".events")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    got = []

    def read_tail():
        for line in iter(tail.stdout.readline, b""):
            got.append(line)
    reader = threading.Thread(target=read_tail, daemon=True)
    reader.start()
    try:
        # tail has .events open (the RECEIVED line comes a poll later).
        events = os.path.realpath(bm.path(".events"))
        wait_for(lambda: any(
            os.readlink("/proc/%d/fd/%s" % (tail.pid, fd)) == events
            for fd in os.listdir("/proc/%d/fd" % tail.pid)),
            timeout=10, what="tail -F opening .events")
        assert am.write("outbox/bob", b"watch me") == 0
        wait_for(lambda: bm.messages("inbox"), what="delivery")
        # tail -F polls (no inotify events on FUSE): bounded, not fixed.
        deadline = time.time() + 15
        while time.time() < deadline and \
                b" RECEIVED peer=alice " not in b"".join(got):
            time.sleep(0.1)
    finally:
        tail.terminate()
        tail.wait(timeout=10)
        reader.join(timeout=10)
    out = b"".join(got).decode()
    assert " RECEIVED peer=alice " in out, out
    s1, s2 = os.stat(bm.path(".events")), os.stat(real)
    assert s1.st_size == s2.st_size
    lines = bm.read("resolvers").decode().splitlines()
    assert lines and "state=" in lines[0]


def test_queue_render_and_cancel(mesh):
    am, bm = pair(mesh)
    mesh.node.stop()
    assert am.write("outbox/bob", b"will be cancelled") == 0
    assert am.write("outbox/bob", b"will wait") == 0
    q = wait_for(lambda: am.ls("queue") if len(am.ls("queue")) == 2 else
                 None, what="two queued")
    kv = am.kv("queue/" + q[0])
    assert kv["recipient"] == "bob" and kv["state"] in ("queued",
                                                        "publishing")
    assert int(kv["chunks"]) >= 1 and kv["size"] == str(len(
        b"will be cancelled"))
    kv = wait_for(lambda: am.kv("queue/" + q[0]) if am.kv(
        "queue/" + q[0])["last_error"] else None,
        timeout=30, what="a failed attempt")
    assert int(kv["attempts"]) >= 1 and kv["state"] == "queued", kv
    assert am.kv(".status")["queued"] == "2"
    assert errno_of(open, am.path("queue", q[0]), "wb") == E.EACCES
    os.unlink(am.path("queue", q[0]))
    assert am.ls("queue") == [q[1]]
    # Network back: the remaining one goes out (forced retry time).
    mesh.node.start()
    with am.user.db() as c:
        c.execute("UPDATE outbox SET next_attempt = 0")
    wait_for(lambda: bm.messages("inbox"), timeout=40, what="delivery")
    time.sleep(2)
    assert inbox_bodies(bm) == [b"will wait"]


def test_unmount_remount_nothing_lost(mesh):
    am, bm = pair(mesh)
    assert am.write("outbox/bob", b"before remount") == 0
    wait_for(lambda: bm.messages("inbox"), what="first")
    name = bm.ls("inbox/new")[0]
    assert bm.stop() == 0
    assert am.stop() == 0
    # Sent while bob is away, queued while alice is away.
    am.start()
    assert am.write("outbox/bob", b"while bob was away") == 0
    assert am.stop() == 0
    am.start()
    bm.start()
    wait_for(lambda: len(bm.messages("inbox")) == 2, what="second")
    # The first file is untouched (names sort by arrival second; two in
    # one second would tie, so look it up rather than by position).
    assert name in bm.ls("inbox/new")
    assert inbox_bodies(bm) == [b"before remount", b"while bob was away"]
    assert bm.ls("contacts") == ["alice"] and am.ls("contacts") == ["bob"]


def test_kill9_right_after_close_sent_once(mesh):
    am, bm = pair(mesh)
    assert am.write("outbox/bob", b"exactly once") == 0
    am.kill9()
    am.start()
    wait_for(lambda: bm.messages("inbox"), what="delivery")
    # Several more passes on both sides: still one copy.
    time.sleep(4)
    assert inbox_bodies(bm) == [b"exactly once"]
    wait_for(lambda: am.ls("queue") == [], what="queue drained")
    assert len(am.messages("sent")) == 1


def test_kill9_mid_publish_sent_once(mesh):
    """The node is frozen, so the publish that the close started is still
    in flight when dmpfs dies; after the remount the same records go out
    once."""
    am, bm = pair(mesh)
    node = mesh.node
    node.proc.send_signal(signal.SIGSTOP)
    try:
        assert am.write("outbox/bob", b"in flight") == 0
        time.sleep(0.5)
        am.kill9()
    finally:
        node.proc.send_signal(signal.SIGCONT)
    with am.user.db() as c:
        assert c.execute("SELECT count(*) FROM outbox").fetchone()[0] == 1
        c.execute("UPDATE outbox SET next_attempt = 0")
    am.start()
    wait_for(lambda: bm.messages("inbox"), timeout=40, what="delivery")
    time.sleep(4)
    assert inbox_bodies(bm) == [b"in flight"]
    wait_for(lambda: am.ls("queue") == [], what="queue drained")
    assert len(am.messages("sent")) == 1
