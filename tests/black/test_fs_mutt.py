"""mutt opens dmpfs's inbox/ as a Maildir unchanged, shows a received
message, and on quit its new -> cur rename marks it read (:2,S), with the
bytes untouched (the user guide's mutt section)."""
import os
import re
import shutil
import subprocess

import pytest

from fs_helpers import mesh, pair, wait_for  # noqa: F401


def run_mutt(tmp_path, folder, keys, timeout=30):
    """Drive real mutt headless under a pty (script(1)) with its own
    muttrc and HOME, so nothing of the machine's config is read."""
    home = tmp_path / "mutt-home"
    home.mkdir(exist_ok=True)
    rc = home / "muttrc"
    rc.write_text(
        "set mbox_type=Maildir\n"
        "set folder=%s\n"
        "set spoolfile=%s\n"
        "set move=no\nset mark_old=no\nset quit=yes\nset wait_key=no\n"
        "set pager_stop=yes\nset confirmappend=no\n"
        "set sendmail=/bin/false\nset header_cache=\"\"\n"
        "set maildir_trash=no\nset sort=date\n" % (folder, folder))
    env = dict(os.environ, HOME=str(home), TERM="xterm", COLUMNS="80",
               LINES="24")
    cmd = "mutt -n -F %s -f %s -e 'push %s'" % (rc, folder, keys)
    r = subprocess.run(["script", "-qec", cmd, "/dev/null"],
                       capture_output=True, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(errors="replace")


def test_mutt_reads_inbox_and_marks_read(tmp_path, mesh):
    if shutil.which("mutt") is None or shutil.which("script") is None:
        pytest.skip("mutt or script(1) not installed (contrib/deps.sh)")
    am, bm = pair(mesh)
    body = b"Dear bob,\nread me with mutt.\n"
    assert am.write("outbox/bob", body) == 0
    names = wait_for(lambda: bm.ls("inbox/new"), what="bob's inbox")
    assert len(names) == 1
    name = names[0]
    raw = bm.read("inbox/new/" + name)
    assert raw.endswith(body)

    # Only listing: mutt opens the folder and changes nothing.
    rc, out = run_mutt(tmp_path, bm.path("inbox"), "<exit>")
    assert rc == 0, out
    # The index shows one new message from alice.
    assert re.search(r"1 N +\w{3} \d+ alice ", out), out
    assert bm.ls("inbox/new") == [name] and bm.ls("inbox/cur") == []

    # Read the message, quit: new/X -> cur/X:2,S with the same bytes.
    # curses skips drawing the pager while keys are pending, so mutt
    # also pipes the message it read to a file: what it got through the
    # mount.
    piped = tmp_path / "piped"
    rc, out = run_mutt(tmp_path, bm.path("inbox"),
                       "\"<display-message><exit><pipe-message>cat > %s"
                       "<enter><quit>\"" % piped)
    assert rc == 0, out
    assert piped.read_bytes() == raw
    assert bm.ls("inbox/new") == []
    assert bm.ls("inbox/cur") == [name + ":2,S"], bm.ls("inbox/cur")
    assert bm.read("inbox/cur/" + name + ":2,S") == raw
    # The real Maildir behind the mount agrees.
    real = os.path.join(bm.user.home, "mail", "inbox", "cur",
                        name + ":2,S")
    assert open(real, "rb").read() == raw
