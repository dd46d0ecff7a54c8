"""The README's first command, as a newcomer runs it: contrib/demo.sh in a
fresh HOME starts a node on loopback, creates identities, mounts the
mailbox; a message written to the demo contact arrives; running it again is
safe; --stop removes everything."""
import os
import socket
import subprocess
import time

import pytest

from conftest import BUILD

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO = os.path.join(TOP, "contrib", "demo.sh")
PASS = "demo passphrase, not a secret"


def free_port():
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            u.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            t.close()
            u.close()
    pytest.fail("no free port")


def mounted(path):
    with open("/proc/mounts") as f:
        return any(line.split()[1] == str(path) for line in f)


@pytest.fixture
def demo(tmp_path):
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse")
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), DMP_DEMO_BUILD=BUILD,
               DMP_DEMO_PORT=str(free_port()), USER="newcomer")
    env.pop("DMP_PASSPHRASE", None)
    yield home, env
    subprocess.run([DEMO, "--stop"], env=env, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if mounted(home / "dmp"):
        subprocess.run(["fusermount3", "-u", "-z", str(home / "dmp")])


def run_demo(env, *args):
    return subprocess.run([DEMO, *args], env=env, timeout=600,
                          capture_output=True, text=True)


def test_demo_mounts_and_delivers(demo):
    home, env = demo
    mnt = home / "dmp"
    r = run_demo(env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "mounted your mailbox at" in r.stdout
    assert mounted(mnt), r.stdout
    for d in ("outbox", "inbox", "contacts", "identity", ".status"):
        assert (mnt / d).exists(), d
    assert "newcomer@mesh.local" in (mnt / ".status").read_text()

    # Running it again is safe: same node, same mount, same identities.
    r2 = run_demo(env)
    assert r2.returncode == 0, r2.stdout + r2.stderr
    assert "already running" in r2.stdout
    assert mounted(mnt)

    # What the demo suggests: write to the demo contact, read it as demo.
    (mnt / "outbox" / "demo").write_text("hello from the quick start\n")
    dmp = os.path.join(BUILD, "tools", "dmp")
    demo_home = home / ".dmp-demo" / "home-demo"
    got = ""
    deadline = time.time() + 60
    while time.time() < deadline and "hello from the quick start" not in got:
        r = subprocess.run([dmp, "--home", str(demo_home), "recv"],
                           env=dict(env, DMP_PASSPHRASE=PASS),
                           capture_output=True, text=True, timeout=60)
        got += r.stdout
        time.sleep(1)
    assert "hello from the quick start" in got, got
    assert "From: newcomer <newcomer@mesh.local>" in got
    sent = list((mnt / "sent" / "new").iterdir())
    assert len(sent) == 1

    # --stop unmounts, stops the node and removes the demo's data.
    r = run_demo(env, "--stop")
    assert r.returncode == 0, r.stdout + r.stderr
    assert not mounted(mnt)
    assert not (home / ".dmp-demo").exists()
    out = subprocess.run(["pgrep", "-f", str(home / ".dmp-demo")],
                         capture_output=True, text=True)
    assert out.stdout.strip() == "", "demo processes left behind"
