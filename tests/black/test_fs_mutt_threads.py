"""Mail that mutt threads (issue 14, item 15), with real mutt on real
mounts: `set sendmail="dmp sendmail"` sends a mail that arrives with its
Subject and Message-ID; a reply carries In-Reply-To and mutt draws the
thread; a binary body arrives as an attachment that mutt saves byte for
byte; `dmp sendmail` exit codes; delivery receipts on and off; dmpfs
reloads config.yaml on SIGHUP and on a write to .reload (docs/user-guide.md,
"Mail headers, mutt and sendmail", "Delivery receipts", "Reloading the
configuration")."""
import errno
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from fs_helpers import (ZONE, mesh, pair, split_mail, wait_for,  # noqa: F401
                        wait_keys)


def need_mutt():
    if shutil.which("mutt") is None or shutil.which("script") is None:
        pytest.skip("mutt or script(1) not installed (contrib/deps.sh)")


def mutt_env(tmp_path, user, folder, extra=""):
    """A muttrc of our own (nothing of the machine's is read) whose
    sendmail is `dmp sendmail` for @p user."""
    home = tmp_path / ("mutt-" + user.name)
    home.mkdir(exist_ok=True)
    rc = home / "muttrc"
    rc.write_text(
        "set mbox_type=Maildir\nset folder=%s\nset spoolfile=%s\n"
        "set move=no\nset mark_old=no\nset quit=yes\nset wait_key=no\n"
        "set pager_stop=yes\nset confirmappend=no\nset header_cache=\"\"\n"
        "set maildir_trash=no\nset ascii_chars=yes\nset record=\"\"\n"
        "set copy=no\nset hostname=%s\n"
        "set sendmail=\"%s --home %s sendmail\"\n%s"
        % (folder, folder, ZONE, user.bin, user.home, extra))
    env = dict(os.environ, HOME=str(home), TERM="xterm", COLUMNS="100",
               LINES="24", DMP_PASSPHRASE=user.passphrase)
    return str(rc), env


def mutt_batch(tmp_path, user, args, stdin=b""):
    """mutt in batch mode (stdin not a terminal): composes and sends
    through `dmp sendmail` without a screen."""
    rc, env = mutt_env(tmp_path, user, str(tmp_path))
    return subprocess.run(["mutt", "-n", "-F", rc, *args], input=stdin,
                          capture_output=True, env=env, timeout=60)


def mutt_screen(tmp_path, user, folder, keys, extra=""):
    """mutt on a pty (script(1)) driven by pushed keys; its screen."""
    rc, env = mutt_env(tmp_path, user, folder, extra)
    cmd = "mutt -n -F %s -f %s -e 'push %s'" % (rc, folder, keys)
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"],
                       capture_output=True, timeout=30, env=env,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(errors="replace")


def header(head, name):
    m = re.search(r"^%s: (.*)$" % re.escape(name), head, re.M | re.I)
    return m.group(1) if m else None


def test_mutt_sendmail_subject_thread_and_attachment(tmp_path, mesh):
    need_mutt()
    am, bm = pair(mesh)
    alice, bob = am.user, bm.user

    # alice sends with mutt through `dmp sendmail`.
    r = mutt_batch(tmp_path, alice, ["-s", "lunch on friday?",
                                     "bob@" + ZONE], b"at noon?\n")
    assert r.returncode == 0, r.stderr
    got = wait_for(lambda: bm.messages("inbox"), timeout=30,
                   what="alice's mail in bob's inbox")
    head, body = got[0]
    assert header(head, "Subject") == "lunch on friday?", head
    assert header(head, "From") == "alice <alice@%s>" % ZONE, head
    mid = header(head, "Message-ID")
    assert mid and mid.startswith("<") and not mid.endswith("@dmp>"), head
    assert head.count("\nFrom:") == 0 and head.count("Date:") == 1, head
    assert body == b"at noon?\n"

    # bob's mutt shows the subject.
    rc, screen = mutt_screen(tmp_path, bob, bm.path("inbox"), "<exit>")
    assert rc == 0 and "lunch on friday?" in screen, screen

    # bob replies with mutt (a draft carrying the threading fields).
    draft = tmp_path / "reply"
    draft.write_text("To: alice@%s\nSubject: Re: lunch on friday?\n"
                     "In-Reply-To: %s\nReferences: %s\n\nyes, noon\n"
                     % (ZONE, mid, mid))
    r = mutt_batch(tmp_path, bob, ["-H", str(draft)])
    assert r.returncode == 0, r.stderr
    got = wait_for(lambda: am.messages("inbox"), timeout=30,
                   what="bob's reply in alice's inbox")
    rhead, rbody = got[0]
    assert header(rhead, "In-Reply-To") == mid, rhead
    assert header(rhead, "Subject") == "Re: lunch on friday?", rhead
    assert rbody == b"yes, noon\n"

    # alice's sent/ copy has the same Message-ID, so her mutt threads
    # the reply under it.
    sent = wait_for(lambda: am.ls("sent/new"), what="alice's sent copy")
    assert header(split_mail(am.read("sent/new/" + sent[0]))[0],
                  "Message-ID") == mid
    both = tmp_path / "both"
    for d in ("new", "cur", "tmp"):
        (both / d).mkdir(parents=True)
    shutil.copy(am.path("sent/new", sent[0]), both / "cur" / "1.a:2,S")
    shutil.copy(am.path("inbox/new", am.ls("inbox/new")[0]),
                both / "cur" / "2.b:2,S")
    rc, screen = mutt_screen(tmp_path, alice, str(both), "<exit>",
                             "set sort=threads\n")
    assert rc == 0, screen
    assert re.search(r"lunch on friday\?", screen), screen
    assert re.search(r"`->", screen), screen  # the reply, threaded
    rc, flat = mutt_screen(tmp_path, alice, str(both), "<exit>",
                           "set sort=date\n")
    assert rc == 0 and "lunch on friday?" in flat and "`->" not in flat

    # A binary body arrives as an attachment mutt saves byte for byte.
    blob = bytes(range(256)) * 4 + os.urandom(500)
    assert am.write("outbox/bob", blob) == 0
    wait_for(lambda: len(bm.ls("inbox/new")) == 2, timeout=30,
             what="the binary message")
    raw = [bm.read("inbox/new/" + f) for f in bm.ls("inbox/new")]
    raw = [x for x in raw if b"lunch" not in x][0]
    assert b"Content-Type: multipart/mixed" in raw
    assert b"Content-Transfer-Encoding: base64" in raw
    saved = tmp_path / "saved.bin"
    one = tmp_path / "one"
    for d in ("new", "cur", "tmp"):
        (one / d).mkdir(parents=True)
    (one / "new" / "1.bin").write_bytes(raw)
    rc, screen = mutt_screen(
        tmp_path, bob, str(one),
        "\"<view-attachments><next-entry><save-entry><kill-line>%s"
        "<enter><exit><exit><quit>\"" % saved)
    assert rc == 0, screen
    assert saved.read_bytes() == blob


def test_sendmail_exit_codes_and_headers(tmp_path, mesh):
    alice, _ = mesh.user("alice", mount=False)
    bob, _ = mesh.user("bob", mount=False)
    wait_keys()
    for u in (alice, bob):
        u.publish()
    alice.add_contact(bob)
    msg = (b"From: someone@else\nTo: bob@%s\nDate: 1 Jan 1990\n"
           b"Subject: via sendmail\nReceived: by mx\n\nhello\n.\nafter\n"
           % ZONE.encode())
    r = alice.run("sendmail", "-oem", "-f", "x@y", "-F", "X", "--",
                  "nobody@" + ZONE, "bob", input=msg)
    assert r.returncode == 67, r.stderr_text  # EX_NOUSER, nothing sent
    assert "nobody@" in r.stderr_text
    assert alice.run("sendmail", input=msg).returncode == 64  # EX_USAGE
    assert alice.run("sendmail", "-bs", "bob", input=msg).returncode == 64
    assert alice.run("sendmail", "bob",
                     input=b"Subject: big\n\n" + b"x" * 4000).returncode == 65
    with alice.db() as db:
        assert db.execute("select count(*) from outbox").fetchone()[0] == 0
    # -t takes To; without -i a lone "." ends the message (sendmail's).
    r = alice.run("sendmail", "-t", input=msg)
    assert r.returncode == 0, r.stderr_text
    bob.add_contact(alice)
    r = bob.recv()
    assert r.returncode == 0, r.stderr_text
    head, body = bob.maildir("inbox")[0]
    assert header(head, "Subject") == "via sendmail"
    assert "someone@else" not in head and "Received" not in head
    assert header(head, "Date") != "1 Jan 1990"
    assert body == b"hello\n"


def config_set(user, old, new):
    p = os.path.join(user.home, "config.yaml")
    text = open(p).read()
    assert old in text, text
    open(p, "w").write(text.replace(old, new))


def config_events(m, n):
    ev = [l for l in m.read(".events").decode().splitlines()
          if " CONFIG " in l]
    return ev if len(ev) >= n else None


def sent_with(m, text):
    for f in m.ls("sent/new") + m.ls("sent/cur"):
        sub = "sent/new/" if f in m.ls("sent/new") else "sent/cur/"
        raw = m.read(sub + f)
        if text in raw:
            return raw
    return None


def test_receipts_on_off_and_reload(tmp_path, mesh):
    am, bm = pair(mesh)

    # Off by default: no request goes out, nothing comes back.
    assert am.write("outbox/bob", b"first\n") == 0
    head, body = wait_for(lambda: bm.messages("inbox"), timeout=30,
                          what="first")[0]
    assert "Disposition-Notification-To" not in head and body == b"first\n"

    # alice turns receipts on with .reload; bob with SIGHUP, together
    # with a setting that cannot change while mounted.
    config_set(am.user, "receipts: false", "receipts: true")
    assert am.write(".reload", b"\n") == 0
    ev = wait_for(lambda: config_events(am, 1), what="alice's CONFIG")
    assert "applied messages.receipts" in ev[-1], ev
    config_set(bm.user, "receipts: false", "receipts: true")
    config_set(bm.user, "timeout_ms: 2000", "timeout_ms: 2500")
    bm.proc.send_signal(signal.SIGHUP)
    ev = wait_for(lambda: config_events(bm, 1), timeout=15,
                  what="bob's CONFIG after SIGHUP")
    assert "applied messages.receipts" in ev[-1], ev
    assert "next start" in ev[-1] and "network.timeout_ms" in ev[-1], ev
    assert bm.proc.poll() is None and bm.ls("inbox/new")  # still mounted

    # Both on: alice's sent/ copy is marked once bob has decrypted it.
    assert am.write("outbox/bob", b"second\n") == 0
    wait_for(lambda: len(bm.messages("inbox")) == 2, timeout=30,
             what="second")
    head, _ = bm.messages("inbox")[1]
    assert header(head, "Disposition-Notification-To") == \
        "alice@" + ZONE, head
    raw = wait_for(lambda: (sent_with(am, b"second") or b"").find(
        b"X-DMP-Delivered:") >= 0 and sent_with(am, b"second"),
        timeout=30, what="X-DMP-Delivered on alice's sent copy")
    assert b"(receipt from bob)" in raw
    assert " RECEIPT " in am.read(".events").decode()
    assert " RECEIPT " in bm.read(".events").decode()
    assert am.ls("inbox/new") == []  # a receipt is never a message

    # bob turns them off again: alice still asks, no receipt comes.
    config_set(bm.user, "receipts: true", "receipts: false")
    assert bm.write(".reload", b"") == 0
    wait_for(lambda: config_events(bm, 2), what="bob's second CONFIG")
    assert am.write("outbox/bob", b"third\n") == 0
    wait_for(lambda: len(bm.messages("inbox")) == 3, timeout=30,
             what="third")
    time.sleep(3)  # three of alice's polls: a receipt would be in
    raw = sent_with(am, b"third")
    assert raw and b"X-DMP-Delivered" not in raw
    assert am.ls("inbox/new") == []

    # A broken file changes nothing and says why.
    config_set(am.user, "messages:", "messages: [")
    # the write waits for the reload and fails with it (issue 14)
    assert am.write(".reload", b"x") == errno.EIO
    ev = config_events(am, 2)
    assert "not reloaded" in ev[-1], ev
    assert am.write("outbox/bob", b"fourth\n") == 0
    wait_for(lambda: len(bm.messages("inbox")) == 4, timeout=30,
             what="fourth, after the refused reload")
