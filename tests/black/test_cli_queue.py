"""`dmp queue [show ID]` and `dmp send`'s reason (issue 14): the queue as
dmpfs's queue/ shows it, without a mount, a failed (expired) message's
text read back, and a send that stays queued says why (the last error, or
the older message it waits behind), never "?"."""
import re

import pytest

from test_cli_exchange import pair

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.fixture
def started(node):
    return node.start()


def test_queue_and_why(tmp_path, started):
    alice, _ = pair(tmp_path, started)
    r = alice.run("queue", check=True)
    assert "the queue is empty" in r.stdout_text
    started.stop()
    r = alice.send("bob", b"first, kept for show")
    assert r.returncode in (5, 75), r.stderr_text
    m = re.search(r"queued \(id (\d+)\) but not yet published: (.*)",
                  r.stderr_text)
    assert m and "node unreachable" in m.group(2), r.stderr_text
    first = m.group(1)
    r = alice.send("bob", b"second")
    assert r.returncode in (5, 75), r.stderr_text
    assert "?" not in r.stderr_text.splitlines()[0], r.stderr_text
    assert ("queued behind message %s to the same recipient" % first) \
        in r.stderr_text, r.stderr_text
    r = alice.run("queue", check=True)
    rows = r.stdout_text.splitlines()
    assert rows[0].split()[:4] == ["ID", "STATE", "ATTEMPTS", "CREATED"]
    assert len(rows) == 3, rows
    assert re.match(r"%s +queued +\d+ +%s +bob: node unreachable; next attempt "
                    % (first, ISO), rows[1]), rows
    assert "bob: queued behind message %s" % first in rows[2], rows
    # Expired: given up, its text still readable until cancelled.
    with alice.db() as c:
        c.execute("UPDATE outbox SET expires = 1 WHERE id = ?", (first,))
    alice.run("flush")
    r = alice.run("queue", "show", first, check=True)
    head, _, body = r.stdout_text.partition("\n\n")
    assert "state=failed" in head and re.search("created_utc=" + ISO, head)
    assert "last_error=expired" in head, head
    assert body == "first, kept for show"
    r = alice.run("queue", "show", "999")
    assert r.returncode == 11 and "no queued message 999" in r.stderr_text
    r = alice.run("queue", "show", "x1")
    assert r.returncode == 2, r.stderr_text
