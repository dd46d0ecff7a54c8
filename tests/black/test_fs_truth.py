"""The mailbox tells the truth, on a real dmpfs mount with real dmp-node
processes (issue 14, items 6, 7, 12 and 14):

- after the node comes back the queue goes out by itself, oldest first,
  without waiting out its backoff; .status says failing/degraded while it
  waits and keeps the resolved error apart once it is gone;
- .status says "rejected" with the next step while the node refuses our
  TSIG key;
- accepting an intro by mv moves the sender's other intro/ messages to
  inbox/ and every copy says verified;
- an expired message keeps its text in queue/<id>; rm queue/<id> is
  logged; times are given in ISO 8601 next to the Unix numbers."""
import re
import time

from cli_helpers import wait_keys, ZONE
from fs_helpers import mesh, pair, wait_for  # noqa: F401 (fixture)

ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def ids(m, kind):
    return [re.search(r"msg=([0-9a-f]{32})", l).group(1)
            for l in m.read(".events").decode().splitlines()
            if " %s " % kind in l]


def test_auto_flush_in_order_and_status(mesh):
    am, bm = pair(mesh)
    wait_for(lambda: am.kv(".status")["state"] == "online", what="online")
    mesh.node.stop()
    assert am.write("outbox/bob", b"one") == 0
    assert am.write("outbox/bob", b"two") == 0
    st = wait_for(lambda: am.kv(".status") if am.kv(".status")[
        "failing"] == "1" else None, timeout=30, what="a failed attempt")
    assert st["state"] in ("offline", "degraded"), st
    assert st["queued"] == "2" and st["last_error"], st
    assert re.fullmatch(ISO, st["last_error_at_utc"]), st
    assert "dmp flush" in st["hint"], st
    # As after hours of backoff: the next retry an hour away.
    with am.user.db() as c:
        c.execute("UPDATE outbox SET next_attempt = strftime('%s','now') "
                  "+ 3600 WHERE attempts > 0")
    mesh.node.start()
    t0 = time.time()
    wait_for(lambda: am.ls("queue") == [], timeout=20, what="auto flush")
    took = time.time() - t0
    assert took < 15, took
    assert ids(am, "PUBLISHED") == ids(am, "QUEUED")
    assert " FLUSH " in am.read(".events").decode()
    st = wait_for(lambda: am.kv(".status") if am.kv(".status")[
        "state"] == "online" else None, timeout=15, what="online again")
    assert st["last_error"] == "" and st["resolved_error"], st
    assert int(st["resolved_at"]) >= int(st["last_error_at"]) > 0, st
    bodies = wait_for(lambda: sorted(b for _, b in bm.messages("inbox"))
                      if len(bm.messages("inbox")) == 2 else None,
                      what="both delivered")
    assert bodies == [b"one", b"two"]


def test_status_rejected_key(mesh):
    am, bm = pair(mesh)
    mesh.node.cli("key", "revoke", "alice." + ZONE)
    wait_keys()
    assert am.write("outbox/bob", b"refused") == 0
    st = wait_for(lambda: am.kv(".status") if am.kv(".status")[
        "state"] == "rejected" else None, timeout=30, what="rejected")
    assert "dmp tsig register" in st["hint"], st


def test_intro_mv_settles_the_others(mesh):
    am, bm = pair(mesh)
    carol, _ = mesh.user("carol", mount=False)
    wait_keys()
    carol.publish()
    carol.run("contacts", "add", "bob@" + ZONE, check=True)
    for body in (b"hello from carol", b"and again"):
        assert carol.send("bob", body).returncode == 0
    got = wait_for(lambda: bm.ls("intro/new") if len(
        bm.ls("intro/new")) == 2 else None, what="two intros")
    for head, _ in bm.messages("intro"):
        assert "X-DMP-Verified: no" in head
    bm.sh("mv intro/new/%s inbox/new/" % got[0])
    wait_for(lambda: bm.ls("intro/new") == [] and len(
        bm.ls("inbox/new")) == 2, what="the other moved too")
    # The pin's event comes once every copy is rewritten; the kernel's
    # cached attributes and pages of the rewritten files are dropped on
    # that event by the expiry thread (at most a tick later).
    wait_for(lambda: "moved from intro/ to inbox/" in
             bm.read(".events").decode(), what="the pin's event")

    def settled():
        msgs = bm.messages("inbox")
        return msgs if all("X-DMP-Verified: yes" in h for h, _ in msgs) \
            else None
    msgs = wait_for(settled, timeout=5, what="both copies re-headed")
    assert sorted(b for _, b in msgs) == [b"and again", b"hello from carol"]
    for head, _ in msgs:
        assert "X-DMP-Verified: yes" in head, head
        assert "X-DMP-Verified: no" not in head, head
        assert "From: carol <carol@%s>" % ZONE in head, head


def test_failed_body_kept_times_and_rm_logged(mesh):
    am, bm = pair(mesh)
    pub = am.read("identity/published").decode().split()
    assert int(pub[0]) > 0 and re.fullmatch(ISO, pub[1]), pub
    mesh.node.stop()
    assert am.write("outbox/bob", b"recover me\nline two\n") == 0
    q = wait_for(lambda: am.ls("queue"), what="queued")[0]
    kv = am.kv("queue/" + q)
    assert re.fullmatch(ISO, kv["created_utc"]), kv
    assert re.fullmatch(ISO, kv["expires_utc"]), kv
    with am.user.db() as c:
        c.execute("UPDATE outbox SET expires = 1")
    raw = wait_for(lambda: am.read("queue/" + q) if b"state=failed" in
                   am.read("queue/" + q) else None, timeout=30,
                   what="expired")
    _, _, body = raw.partition(b"\n\n")
    assert body == b"recover me\nline two\n"
    st = am.kv(".status")
    assert st["failed"] == "1" and "expired" in st["hint"], st
    # rm queue/<id> drops it, and says so in .events.
    import os
    os.unlink(am.path("queue", q))
    ev = am.read(".events").decode().splitlines()
    assert " CANCELLED " in ev[-1], ev[-3:]
    assert re.match(r"\d+ " + ISO + " CANCELLED peer=bob ", ev[-1]), ev[-1]
