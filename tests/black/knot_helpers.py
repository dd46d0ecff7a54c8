"""A throw-away Knot DNS secondary on loopback for the zone-transfer tests
(test_node_dns, test_node_ops, test_node_ixfr)."""
import contextlib
import shutil
import subprocess

import pytest


def knotd_or_skip(why="the Knot secondary part is not checked (the checks "
                  "before it passed)"):
    """knotd's path, looked up as the Popen below does, so a knotd that
    cannot be started is a skip, never a pass."""
    knotd = shutil.which("knotd") or shutil.which("knotd",
                                                  path="/usr/sbin:/sbin")
    if knotd is None:
        pytest.skip("knotd not installed: " + why)
    return knotd


@contextlib.contextmanager
def knot_secondary(tmp_path, host, port, conf):
    """Run knotd listening on host@port with @conf (its key, remote, acl
    and zone sections; "%(dir)s" is its directory) after the common
    server, database and log sections; its log is tmp_path/knot.log.
    Stopped on leaving the block."""
    knotd = knotd_or_skip()
    kd = tmp_path / "knot"
    kd.mkdir()
    (kd / "knot.conf").write_text(
        "server:\n  rundir: %s\n  listen: %s@%d\n"
        "database:\n  storage: %s\n"
        "log:\n  - target: stderr\n    any: info\n" % (kd, host, port, kd) +
        conf % {"dir": kd})
    log = open(tmp_path / "knot.log", "wb")
    k = subprocess.Popen([knotd, "-c", str(kd / "knot.conf")],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        yield tmp_path / "knot.log"
    finally:
        k.terminate()
        try:
            k.wait(timeout=10)
        except subprocess.TimeoutExpired:
            k.kill()
            k.wait(timeout=5)
        log.close()
