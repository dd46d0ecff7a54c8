"""The quick start as an ordinary user with sudo, not root.

Runs only as root (CI's throw-away machine): it creates a user with
password-less sudo, gives /dev/fuse the mode Debian normally gives it
(0666; this sandbox ships it 0600) for the duration, and runs
contrib/demo.sh as that user from a fresh HOME."""
import os
import pwd
import shutil
import stat
import subprocess
import time

import pytest

from conftest import BUILD
from test_quickstart import DEMO, PASS, TOP, free_port, mounted

# One user per test process: two checkouts testing at once on one machine
# must not delete each other's user, sudoers entry or processes.
USER = "dmpnew%d" % (os.getpid() % 1000000)


@pytest.fixture
def user(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to create a user")
    if not shutil.which("sudo") or not shutil.which("useradd"):
        pytest.skip("no sudo/useradd")
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse")
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", USER], check=True)
    sudoers = "/etc/sudoers.d/dmp-test-" + USER
    with open(sudoers, "w") as f:
        f.write("%s ALL=(ALL) NOPASSWD: ALL\n" % USER)
    os.chmod(sudoers, 0o440)
    old_mode = stat.S_IMODE(os.stat("/dev/fuse").st_mode)
    os.chmod("/dev/fuse", 0o666)
    home = pwd.getpwnam(USER).pw_dir
    # The build tree must be readable by the user (it usually is).
    yield home
    subprocess.run(["runuser", "-u", USER, "--", DEMO, "--stop"],
                   env=dict(os.environ, HOME=home, DMP_DEMO_BUILD=BUILD),
                   timeout=60, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    os.chmod("/dev/fuse", old_mode)
    os.unlink(sudoers)
    subprocess.run(["pkill", "-u", USER])
    time.sleep(0.5)
    subprocess.run(["userdel", "-r", USER], stderr=subprocess.DEVNULL)


def as_user(home, args, env_extra=None, timeout=600):
    env = {"HOME": home, "USER": USER, "PATH": os.environ["PATH"],
           "DMP_DEMO_BUILD": BUILD}
    env.update(env_extra or {})
    return subprocess.run(["runuser", "-u", USER, "--", "env"] +
                          ["%s=%s" % kv for kv in env.items()] + args,
                          capture_output=True, text=True, timeout=timeout)


def test_quick_start_as_user_with_sudo(user):
    home = user
    port = str(free_port())
    r = as_user(home, ["sudo", "-n", "true"])
    assert r.returncode == 0, "sudo not usable: " + r.stderr
    r = as_user(home, [DEMO], {"DMP_DEMO_PORT": port})
    assert r.returncode == 0, r.stdout + r.stderr
    mnt = os.path.join(home, "dmp")
    assert mounted(mnt), r.stdout
    st = os.stat(os.path.join(home, ".dmp-demo"))
    assert st.st_uid == pwd.getpwnam(USER).pw_uid, "demo data owned by user"
    r = as_user(home, ["sh", "-c", "echo hi from a user > %s/outbox/demo"
                       % mnt])
    assert r.returncode == 0, r.stderr
    dmp = os.path.join(BUILD, "tools", "dmp")
    got = ""
    deadline = time.time() + 60
    while time.time() < deadline and "hi from a user" not in got:
        r = as_user(home, [dmp, "--home",
                           os.path.join(home, ".dmp-demo", "home-demo"),
                           "recv"], {"DMP_PASSPHRASE": PASS}, timeout=60)
        got += r.stdout
        time.sleep(1)
    assert "hi from a user" in got, got
    r = as_user(home, [DEMO, "--stop"], {"DMP_DEMO_PORT": port})
    assert r.returncode == 0, r.stdout + r.stderr
    assert not mounted(mnt)
