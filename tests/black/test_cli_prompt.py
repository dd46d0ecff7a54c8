"""The interactive passphrase prompt (no DMP_PASSPHRASE, no file): `dmp`
reads it from the controlling terminal with echo off. A real pseudo
terminal comes from script(1)."""
import os
import shlex
import subprocess
import time

from cli_helpers import dmp_binary


def on_tty(args, lines, home):
    """Run dmp under a pty, typing @p lines one at a time."""
    env = dict(os.environ)
    env.pop("DMP_PASSPHRASE", None)
    cmd = " ".join(shlex.quote(a) for a in [dmp_binary(), "--home", home,
                                             *args])
    p = subprocess.Popen(["script", "-qec", cmd, "/dev/null"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=env)
    for line in lines:
        time.sleep(0.4)
        p.stdin.write(line.encode() + b"\n")
        p.stdin.flush()
    out, _ = p.communicate(timeout=60)
    return p.returncode, out.decode(errors="replace")


def test_prompted_passphrase(tmp_path):
    home = str(tmp_path / "home")
    init = ["init", "carol", "--domain", "p.test", "--node", "127.0.0.1:1"]
    rc, out = on_tty(init, ["one passphrase", "another one"], home)
    assert rc != 0 and "passphrases differ" in out, out
    assert "one passphrase" not in out  # echo was off
    rc, out = on_tty(init, ["the right one", "the right one"], home)
    assert rc == 0 and "initialised carol@p.test" in out, out
    assert "the right one" not in out
    rc, out = on_tty(["identity", "show"], ["the right one"], home)
    assert rc == 0 and "carol@p.test" in out, out
    rc, out = on_tty(["identity", "show"], ["the wrong one"], home)
    assert rc != 0 and "passphrase" in out, out
