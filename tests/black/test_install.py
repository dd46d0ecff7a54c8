"""`cmake --install` into a temporary prefix puts binaries, the library,
headers, the pkg-config file, man pages and examples in place; the man
pages render with `man -l`; a program builds against the installed libdmp
through pkg-config and runs."""
import os
import re
import subprocess

import pytest

from conftest import BUILD

MAN_PAGES = ["man1/dmp.1", "man1/dmpfs.1", "man5/dmp.yaml.5",
             "man8/dmp-node.8"]


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    p = tmp_path_factory.mktemp("prefix")
    r = subprocess.run(["cmake", "--install", BUILD, "--prefix", str(p)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return p


def test_layout(prefix):
    for rel in ["bin/dmp", "bin/dmpfs", "sbin/dmp-node", "lib/libdmp.a",
                "lib/pkgconfig/dmp.pc", "include/dmp/engine.h",
                "include/dmp/pipeline.h", "share/doc/dmp/user-guide.md",
                "share/doc/dmp/examples/dmp-node.yaml",
                "lib/systemd/system/dmp-node.service",
                "lib/systemd/user/dmpfs.service"]:
        assert (prefix / rel).exists(), rel
    for rel in ["bin/dmp", "bin/dmpfs", "sbin/dmp-node"]:
        assert os.access(prefix / rel, os.X_OK), rel


@pytest.mark.parametrize("page", MAN_PAGES)
def test_man_page_renders(prefix, page):
    path = prefix / "share" / "man" / page
    assert path.exists(), page
    r = subprocess.run(["man", "-l", "-Tutf8", str(path)],
                       capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANWIDTH="80"))
    assert r.returncode == 0, r.stderr
    text = re.sub(r".\x08", "", r.stdout)  # overstrike bold/underline
    name = os.path.basename(page).rsplit(".", 1)[0]
    assert "NAME" in text and name in text, text[:400]
    assert len(text.splitlines()) > 20
    assert "warning" not in r.stderr.lower(), r.stderr


def test_pkg_config_build(prefix, tmp_path):
    src = tmp_path / "hello.c"
    src.write_text(
        '#include <stdio.h>\n#include "dmp/err.h"\n#include "dmp/common.h"\n'
        'int main(void) { if (dmp_init() != 0) return 1;\n'
        '  printf("%s %s\\n", dmp_version(), dmp_strerror(DMP_EREPLAY));\n'
        '  return 0; }\n')
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "dmp"], env=env, capture_output=True, text=True)
    assert flags.returncode == 0, flags.stderr
    exe = tmp_path / "hello"
    # Sanitizer builds need the runtime on the link line too.
    extra = os.environ.get("DMP_TEST_LDFLAGS", "").split()
    r = subprocess.run(["cc", str(src), "-o", str(exe)] +
                       flags.stdout.split() + extra,
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0 and "asan" in r.stderr:
        r = subprocess.run(["cc", str(src), "-o", str(exe),
                            "-fsanitize=address,undefined"] +
                           flags.stdout.split(),
                           capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    assert out.returncode == 0
    assert "replay" in out.stdout
