"""dmpfs's relay fallback (docs/protocol.md 8.7.8): alice's mount cannot
reach her home node H, so the engine thread hands the message written to
outbox/bob to the relay in network.relays (node B, serving bob's zone,
relay on, `relay_accept: any`). The queue/ entry says which path was
used (path=relay:<B>), .events has the RELAYED line, the sent/ copy is
made, and bob reads the message from B, verified. `dmp send` does the same
(test_cli_relay_fallback.py); this is the mounted mailbox's side."""
from conftest import stop_and_check
from fs_helpers import Mount, need_fuse, wait_for
from mesh_helpers import alice_and_bob
from test_mesh_relay_dest import make, metric


def test_mount_relays_when_home_is_down(tmp_path):
    need_fuse()
    h = make(tmp_path, "h", "")
    b = make(tmp_path, "b", "mesh:\n  relay_enabled: true\n"
             "  relay_accept: any\n")
    nodes = [h, b]
    m = None
    try:
        for n in nodes:
            n.start()
        alice, bob = alice_and_bob(tmp_path, h)
        alice.set_config("network.timeout_ms", "500")
        alice.set_config("privacy.delay", "off")
        cfg = alice.home + "/config.yaml"
        text = open(cfg).read()
        assert "  relays: []" in text, text
        open(cfg, "w").write(
            text.replace("  relays: []", '  relays: ["%s"]' % b.url))
        h.stop()  # alice's home: no answer from now on

        m = Mount(alice, tmp_path, poll=1).start()
        assert m.write("outbox/bob", b"relayed from a mount\n") == 0
        q = m.ls("queue")
        assert len(q) <= 1, q

        def relayed():
            return " RELAYED " in m.read(".events").decode()
        wait_for(relayed, timeout=30, what="a RELAYED event in .events")
        ev = [ln for ln in m.read(".events").decode().splitlines()
              if " RELAYED " in ln]
        assert len(ev) == 1 and b.url in ev[0], ev
        assert " 200 stored" in ev[0], ev
        # The queue entry, while it is listed, or the sent/ copy after:
        # either way the message left through B.
        wait_for(lambda: m.ls("queue") == [], timeout=20,
                 what="queue/ to empty")
        wait_for(lambda: len(m.messages("sent")) == 1, timeout=20,
                 what="the sent/ copy")
        assert metric(b, "dmp_relay_stored_total") == 1

        # bob, homed at H too, reads his zone at B instead.
        bcfg = bob.home + "/config.yaml"
        text = open(bcfg).read()
        old = "%s:%d" % (h.host, h.port)
        assert old in text
        open(bcfg, "w").write(
            text.replace(old, "%s:%d" % (b.host, b.port)))
        r = bob.recv()
        assert r.returncode == 0, r.stderr_text
        got = [body for _, body in bob.maildir("inbox")]
        assert got == [b"relayed from a mount\n"], got
        assert not bob.rejections(), bob.events()
    finally:
        if m:
            m.stop()
        stop_and_check(nodes)
