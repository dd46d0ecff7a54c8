"""`dmp config list|get|set|unset` (issue 14, item 15): one setting of a
home's config.yaml changed with the loader's own checks, the user's other
lines and comments kept, the file replaced atomically with its mode.
No node is needed: config.yaml is written by hand here."""
import os
import stat
import subprocess

from cli_helpers import dmp_binary
from fs_helpers import mesh  # noqa: F401 (the fixture)

CONFIG = """\
# my own notes, kept
identity:
  username: "alice"
  domain: "mesh.test"   # the zone
network:
  nodes:
    - "127.0.0.1:5353"
messages:
  # an hour, for tests
  lifetime: 3600
"""


def run(home, *args):
    return subprocess.run([dmp_binary(), "--home", str(home), "config"] +
                          list(args), capture_output=True, text=True,
                          timeout=20)


def make_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.yaml").write_text(CONFIG)
    os.chmod(home / "config.yaml", 0o640)
    return home


def test_list_get(tmp_path):
    home = make_home(tmp_path)
    r = run(home, "list")
    assert r.returncode == 0, r.stderr
    lines = {l.split()[1] if l.startswith("*") else l.split()[0]: l
             for l in r.stdout.splitlines()}
    # every setting, the non-default ones marked
    assert lines["messages.lifetime"].startswith("* ")
    assert "3600" in lines["messages.lifetime"]
    assert "default 604800 (60..2592000)" in lines["messages.lifetime"]
    assert lines["messages.poll_interval"].startswith("  ")
    assert "network.nodes" in lines and "discovery.interval" in lines
    r = run(home, "get", "messages.lifetime")
    assert (r.returncode, r.stdout) == (0, "3600\n")
    r = run(home, "get", "messages.nope")
    assert r.returncode == 2 and "unknown setting" in r.stderr


def test_set_keeps_the_rest(tmp_path):
    home = make_home(tmp_path)
    cfg = home / "config.yaml"
    r = run(home, "set", "messages.lifetime", "7200")
    assert r.returncode == 0, r.stderr
    assert ".reload" in r.stdout and "SIGHUP" in r.stdout
    assert cfg.read_text() == CONFIG.replace("lifetime: 3600",
                                             "lifetime: 7200")
    assert stat.S_IMODE(cfg.stat().st_mode) == 0o640
    # a key the file lacks goes under its section; a new section at the end
    assert run(home, "set", "messages.receipts", "yes").returncode == 0
    assert run(home, "set", "discovery.interval", "60").returncode == 0
    assert run(home, "set", "network.nodes",
               "127.0.0.1:5353, 127.0.0.2:53").returncode == 0
    text = cfg.read_text()
    assert "  lifetime: 7200\n  receipts: true\n" in text
    assert text.endswith("discovery:\n  interval: 60\n")
    assert '  nodes: ["127.0.0.1:5353", "127.0.0.2:53"]\n' in text
    assert "# my own notes, kept\n" in text and "# the zone" in text
    assert run(home, "get", "network.nodes").stdout == \
        "127.0.0.1:5353,127.0.0.2:53\n"
    assert not (home / "config.yaml.edit").exists()


def test_bad_values_refused(tmp_path):
    home = make_home(tmp_path)
    cfg = home / "config.yaml"
    for key, val, why in (
            ("messages.lifetime", "59", "allowed 60..2592000"),
            ("messages.lifetime", "1h", "not an integer"),
            ("messages.lifetime", "0x10", "not an integer"),
            ("messages.receipts", "maybe", "true or false"),
            ("messages.nope", "1", "unknown setting"),
            ("nosection", "1", "unknown setting")):
        r = run(home, "set", key, val)
        assert r.returncode == 9, (key, val, r.stdout, r.stderr)
        assert why in r.stderr, (key, val, r.stderr)
        assert cfg.read_text() == CONFIG
    assert run(home, "set", "messages.lifetime").returncode == 2


def test_unset(tmp_path):
    home = make_home(tmp_path)
    cfg = home / "config.yaml"
    r = run(home, "unset", "messages.lifetime")
    assert r.returncode == 0, r.stderr
    assert "lifetime" not in cfg.read_text()
    assert "# an hour, for tests" in cfg.read_text()
    assert run(home, "get", "messages.lifetime").stdout == "604800\n"
    r = run(home, "unset", "messages.lifetime")
    assert r.returncode == 0 and "already the default" in r.stdout


def test_no_home(tmp_path):
    r = run(tmp_path / "none", "list")
    assert r.returncode == 4 and "dmp init" in r.stderr


def test_set_then_reload_is_synchronous(mesh):
    """After `dmp config set`, a write to .reload returns once the mount
    has read the file: its CONFIG event is in .events at once (issue 14:
    it used to come a moment later), and a refused file fails the write
    with EIO."""
    import errno
    user, m = mesh.user("alice")
    m.start()

    def config_lines():
        return [l for l in m.read(".events").decode().splitlines()
                if " CONFIG " in l]

    for i, value in enumerate(("7", "9", "11", "13", "15")):
        r = run(user.home, "set", "messages.poll_interval", value)
        assert r.returncode == 0, r.stderr
        assert m.write(".reload", b"\n") == 0
        ev = config_lines()  # no waiting: the write waited
        assert len(ev) == i + 1, ev
        assert "messages.poll_interval" in ev[-1], ev
    cfg = os.path.join(user.home, "config.yaml")
    with open(cfg, "a") as f:
        f.write("bogus: [\n")
    assert m.write(".reload", b"\n") == errno.EIO
    ev = config_lines()
    assert len(ev) == 6 and "not reloaded" in ev[-1], ev
