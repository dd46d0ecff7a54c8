"""close() of outbox/<contact> on a full disk: the message is either queued
durably (close returns 0) or close fails (ENOSPC; EIO for other store
failures); never silent loss. The home lives on a small tmpfs (skipped where we may not mount)."""
import errno
import os
import subprocess

import pytest

from fs_helpers import Mount, User, need_fuse, wait_keys


@pytest.fixture
def small_fs(tmp_path):
    d = tmp_path / "small"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m,mode=0700",
                        "tmpfs", str(d)], capture_output=True, timeout=20)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs: %s" % r.stderr.decode())
    yield d
    subprocess.run(["umount", "-l", str(d)], capture_output=True, timeout=20)


def fill(d):
    """Fill the filesystem holding d, leaving nothing free."""
    fd = os.open(os.path.join(d, "filler"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as e:
                assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_full_disk_close_fails_or_queues(tmp_path, small_fs, node):
    need_fuse()
    node.start()
    alice = User(small_fs, "alice", node)
    bob = User(tmp_path, "bob", node)
    wait_keys()
    alice.publish()
    bob.publish()
    alice.add_contact(bob)
    m = Mount(alice, tmp_path, poll=3600).start()
    try:
        assert m.write("outbox/bob", b"fits") == 0
        fill(small_fs)
        # Several attempts, sizes that need new pages in the WAL.
        results = []
        for i in range(5):
            results.append(m.write("outbox/bob", os.urandom(3000)))
        print("close results on a full disk:", results)
        assert set(results) <= {0, errno.ENOSPC, errno.EIO}, results
        assert errno.ENOSPC in results, results
        # Every close that returned 0 is a queued message; no other is.
        os.unlink(os.path.join(small_fs, "filler"))
        with alice.db() as c:
            n = c.execute("SELECT count(*) FROM outbox").fetchone()[0]
        assert n == 1 + results.count(0), (n, results)
        # The mount survived: a send works again once there is room.
        assert m.write("outbox/bob", b"after") == 0
    finally:
        m.stop()
