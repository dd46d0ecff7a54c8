"""dmpfs cache lifetimes (fs/cache.c): Maildir files keep the kernel's
cached names and attributes for a long time, generated files lose theirs
within a fraction of a second. Nothing may look stale: new mail shows up
in a listing within the poll interval, a flag rename through dmpfs is
seen at once, and a generated file's size always matches its content."""
import errno
import os
import time

import pytest

from fs_helpers import mesh, pair, wait_for, wait_keys  # noqa: F401

# cache.c drops a generated file's attributes within a tick (250 ms) of
# its getattr; allow for a loaded machine.
EXPIRY = 1.5


def stat_then_read(m, rel):
    """The size stat gives and the bytes a read gives, in that order (a
    read makes the kernel ask for attributes again, so a stat that comes
    after one proves nothing)."""
    size = os.stat(m.path(rel)).st_size
    return size, m.read(rel)


def test_generated_files_never_keep_stale_attributes(mesh):
    # alice holds her message in queue/ for 3 s (undo send). Its file is
    # read and stat'ed (attributes and name cached), then the engine
    # thread publishes it and it leaves queue/ behind the kernel's back:
    # a stat (no read through the mount meanwhile) must say it is gone.
    am, bm = pair(mesh, alice_options=("send_delay=3",))
    assert am.write("outbox/bob", b"held for a moment") == 0
    qid = wait_for(lambda: am.ls("queue"), timeout=10, what="queue/")[0]
    rel = "queue/" + qid
    data = am.read(rel)
    assert os.stat(am.path(rel)).st_size == len(data)
    wait_for(lambda: bm.messages("inbox"), timeout=30, what="delivery")
    wait_for(lambda: am.ls("queue") == [], timeout=10, what="queue drained")
    time.sleep(EXPIRY)
    with pytest.raises(FileNotFoundError):
        os.stat(am.path(rel))
    # .status, resolvers and .events, sampled for a while: stat-then-read
    # agree every time (the counters and times in them change with each
    # poll; a sample may catch a change between the two, so one retry).
    for _ in range(4):
        time.sleep(0.6)
        for rel in (".status", "resolvers", ".events"):
            size, data = stat_then_read(bm, rel)
            if size != len(data):
                time.sleep(EXPIRY)
                size, data = stat_then_read(bm, rel)
            assert size == len(data), (rel, size, len(data))


def test_new_mail_and_flag_renames_are_fresh(mesh):
    am, bm = pair(mesh)
    new_dir, cur_dir = bm.path("inbox/new"), bm.path("inbox/cur")
    real = os.path.join(bm.user.home, "mail", "inbox")
    # Cache the empty folders' names and attributes (ls -l).
    assert bm.ls("inbox/new") == [] and bm.ls("inbox/cur") == []
    os.stat(new_dir)
    os.stat(cur_dir)
    t0 = time.time()
    assert am.write("outbox/bob", b"fresh mail") == 0
    # bob polls every second: the listing shows it within that, plus the
    # publish and the poll itself (bounded).
    name = wait_for(lambda: bm.ls("inbox/new"), timeout=20,
                    what="new mail in a listing")[0]
    took = time.time() - t0
    st = os.stat(os.path.join(new_dir, name))
    assert st.st_size == os.stat(os.path.join(real, "new", name)).st_size
    assert bm.read("inbox/new/" + name).endswith(b"fresh mail")
    # The folder's own attributes follow (the engine thread invalidates
    # them after the pass that delivered).
    wait_for(lambda: os.stat(new_dir).st_mtime ==
             os.stat(os.path.join(real, "new")).st_mtime, timeout=EXPIRY,
             what="inbox/new mtime")

    # mutt marks it seen, then replied: renames through dmpfs, seen at
    # once (no wait) under the new names only.
    seen = name + ":2,S"
    os.rename(os.path.join(new_dir, name), os.path.join(cur_dir, seen))
    assert bm.ls("inbox/new") == [] and bm.ls("inbox/cur") == [seen]
    with pytest.raises(FileNotFoundError):
        os.stat(os.path.join(new_dir, name))
    assert os.stat(os.path.join(cur_dir, seen)).st_size == st.st_size
    replied = name + ":2,RS"
    os.rename(os.path.join(cur_dir, seen), os.path.join(cur_dir, replied))
    assert bm.ls("inbox/cur") == [replied]
    with pytest.raises(FileNotFoundError):
        os.stat(os.path.join(cur_dir, seen))
    assert os.listdir(os.path.join(real, "cur")) == [replied]
    assert bm.read("inbox/cur/" + replied).endswith(b"fresh mail")
    # rm through dmpfs: gone at once.
    os.unlink(os.path.join(cur_dir, replied))
    try:
        os.stat(os.path.join(cur_dir, replied))
        pytest.fail("removed message still stats")
    except OSError as e:
        assert e.errno == errno.ENOENT
    assert bm.ls("inbox/cur") == []
    # A second message arrives into a folder whose listing is cached.
    assert am.write("outbox/bob", b"second") == 0
    wait_for(lambda: len(bm.ls("inbox/new")) == 1, timeout=20,
             what="second message in a listing")
    assert took < 20
