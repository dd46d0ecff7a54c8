"""`DESTDIR=... cmake --install` (into the build directory) puts binaries,
libdmp (shared with its soname, and static), headers, dmp.pc, the CMake
package, man pages and examples in place; the man pages render with
`man -l`; a program builds against the installed libdmp through pkg-config
(shared and --static) and through find_package(dmp), and runs; the shared
library exports exactly the public API; the programs and the library carry
the hardening flags (PIE, full RELRO, stack protector, FORTIFY_SOURCE); a
/usr prefix gives a multiarch libdir in dmp.pc."""
import glob
import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD, need

MAN_PAGES = ["man1/dmp.1", "man1/dmpfs.1", "man5/dmp.yaml.5",
             "man8/dmp-node.8"]
SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HELLO = (
    '#include <stdio.h>\n#include "dmp/err.h"\n#include "dmp/common.h"\n'
    'int main(void) { if (dmp_init() != 0) return 1;\n'
    '  printf("%s %s\\n", dmp_version(), dmp_strerror(DMP_EREPLAY));\n'
    '  return 0; }\n')


def cache():
    out = {}
    with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
        for line in f:
            m = re.match(r"^([A-Za-z_0-9]+):[A-Z]+=(.*)$", line.rstrip("\n"))
            if m:
                out[m.group(1)] = m.group(2)
    return out


CACHE = cache() if BUILD else {}
PREFIX = CACHE.get("CMAKE_INSTALL_PREFIX", "/usr/local")
LIBDIR = CACHE.get("CMAKE_INSTALL_LIBDIR", "lib")
SANITIZE = CACHE.get("DMP_SANITIZE", "")
OPTIMISED = CACHE.get("CMAKE_BUILD_TYPE", "") in (
    "Release", "RelWithDebInfo", "MinSizeRel")
WITH_FS = CACHE.get("DMP_BUILD_FS", "ON") not in ("OFF", "0", "FALSE")
# A sanitizer build's library needs the runtime on every consumer's link.
SAN_FLAGS = ["-fsanitize=" + SANITIZE] if SANITIZE else []


def run(cmd, **kw):
    kw.setdefault("timeout", 300)
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def destdir():
    d = os.path.join(BUILD, "test-install")
    shutil.rmtree(d, ignore_errors=True)
    r = run(["cmake", "--install", BUILD], env=dict(os.environ, DESTDIR=d))
    assert r.returncode == 0, r.stdout + r.stderr
    return d


@pytest.fixture(scope="module")
def root(destdir):
    """The installed prefix, inside DESTDIR."""
    return destdir + PREFIX


@pytest.fixture(scope="module")
def libdir(root):
    return os.path.join(root, LIBDIR)


def pc_env(destdir, libdir):
    # dmp.pc holds the real (absolute) paths; the sysroot maps them into
    # DESTDIR as a packager's staging tree would.
    return dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"),
                PKG_CONFIG_SYSROOT_DIR=destdir)


def test_units_name_the_installed_programs(root):
    """Issue 14: the units' ExecStart must be where `cmake --install` put
    the program (dmp-node in sbin, dmpfs in bin), for this prefix, and the
    node's YAML goes in readable by its service user's group only."""
    units = {"lib/systemd/system/dmp-node.service": "sbin/dmp-node"}
    if WITH_FS:
        units["lib/systemd/user/dmpfs.service"] = "bin/dmpfs"
    for unit, prog in units.items():
        text = open(os.path.join(root, unit)).read()
        m = re.search(r"^ExecStart=(\S+)", text, re.M)
        assert m, unit
        assert m.group(1) == os.path.join(PREFIX, prog), (unit, m.group(1))
        assert os.access(os.path.join(root, prog), os.X_OK), prog
    # The source units name the default prefix's paths, which the install
    # rules replace; anything else would be left stale.
    for name, prog in (("dmp-node.service", "/usr/local/sbin/dmp-node"),
                       ("dmpfs.service", "/usr/local/bin/dmpfs")):
        text = open(os.path.join(SOURCE, "contrib", name)).read()
        assert "ExecStart=%s " % prog in text, name
    node = open(os.path.join(SOURCE, "contrib", "dmp-node.service")).read()
    assert "install -m 0640 -o root -g dmp-node contrib/dmp-node.yaml" \
        in node


def test_layout(root, libdir):
    progs = ["bin/dmp", "sbin/dmp-node"] + (["bin/dmpfs"] if WITH_FS else [])
    for rel in progs + [
            "include/dmp/engine.h", "include/dmp/pipeline.h",
            "share/doc/dmp/user-guide.md", "share/doc/dmp/dependencies.md",
            "share/doc/dmp/examples/dmp-node.yaml",
            "lib/systemd/system/dmp-node.service",
            "lib/systemd/user/dmpfs.service"]:
        assert os.path.exists(os.path.join(root, rel)), rel
    for rel in progs:
        assert os.access(os.path.join(root, rel), os.X_OK), rel
    for rel in ["libdmp.a", "libdmp.so.0.1.0", "pkgconfig/dmp.pc",
                "cmake/dmp/dmpConfig.cmake",
                "cmake/dmp/dmpConfigVersion.cmake",
                "cmake/dmp/dmpTargets.cmake"]:
        assert os.path.exists(os.path.join(libdir, rel)), rel
    assert os.readlink(os.path.join(libdir, "libdmp.so")) == "libdmp.so.0"
    assert os.readlink(os.path.join(libdir, "libdmp.so.0")) == \
        "libdmp.so.0.1.0"
    # The layer libraries are internal: not installed.
    assert not glob.glob(os.path.join(libdir, "libdmp-*"))


@pytest.mark.parametrize("page", MAN_PAGES)
def test_man_page_renders(root, page):
    need("man")
    path = os.path.join(root, "share", "man", page)
    assert os.path.exists(path), page
    r = run(["man", "-l", "-Tutf8", path], timeout=60,
            env=dict(os.environ, MANWIDTH="80"))
    assert r.returncode == 0, r.stderr
    text = re.sub(r".\x08", "", r.stdout)  # overstrike bold/underline
    name = os.path.basename(page).rsplit(".", 1)[0]
    assert "NAME" in text and name in text, text[:400]
    assert len(text.splitlines()) > 20
    assert "warning" not in r.stderr.lower(), r.stderr


def public_names(root):
    names = set()
    for h in glob.glob(os.path.join(root, "include", "dmp", "*.h")):
        text = re.sub(r"/\*.*?\*/", "", open(h).read(), flags=re.S)
        names.update(re.findall(r"\b(dmp_[a-z0-9_]+)\s*\(", text))
        names.update(re.findall(r"extern[^;(]*?\b(dmp_[a-z0-9_]+)", text))
    return names


def test_shared_library_exports_the_public_api(root, libdir):
    so = os.path.join(libdir, "libdmp.so.0.1.0")
    r = run(["readelf", "-dW", so])
    assert "Library soname: [libdmp.so.0]" in r.stdout, r.stdout
    r = run(["nm", "-D", "--defined-only", so])
    assert r.returncode == 0, r.stderr
    exported = {ln.split()[-1].split("@")[0] for ln in r.stdout.splitlines()
                if len(ln.split()) == 3 and ln.split()[1] != "A"}
    public = public_names(root)
    assert {"dmp_init", "dmp_version", "dmp_strerror"} <= exported
    assert exported <= public, sorted(exported - public)[:20]
    # Internals (core/src/*/*.h) stay hidden even though they are dmp_*.
    assert len(exported) > 100, len(exported)


def test_pkg_config_shared(destdir, libdir, tmp_path):
    need("pkg-config", "cc")
    env = pc_env(destdir, libdir)
    text = open(os.path.join(libdir, "pkgconfig", "dmp.pc")).read()
    assert "libdir=%s\n" % os.path.join(PREFIX, LIBDIR) in text, text
    assert "Requires.private:" in text and "Libs.private:" in text, text
    flags = run(["pkg-config", "--cflags", "--libs", "dmp"], env=env)
    assert flags.returncode == 0, flags.stderr
    assert destdir in flags.stdout, flags.stdout  # the sysroot applied
    (tmp_path / "hello.c").write_text(HELLO)
    exe = str(tmp_path / "hello")
    r = run(["cc", str(tmp_path / "hello.c"), "-o", exe] + SAN_FLAGS +
            flags.stdout.split() + ["-Wl,-rpath," + libdir])
    assert r.returncode == 0, r.stderr
    needed = run(["readelf", "-dW", exe]).stdout
    assert "[libdmp.so.0]" in needed, needed
    out = run([exe])
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "0.1.0" and "replay" in out.stdout


def test_pkg_config_static(destdir, libdir, tmp_path):
    need("pkg-config", "cc")
    env = pc_env(destdir, libdir)
    flags = run(["pkg-config", "--static", "--cflags", "--libs", "dmp"],
                env=env)
    assert flags.returncode == 0, flags.stderr
    for lib in ("-ldmp", "-lsodium", "-lfec", "-lknot", "-lyaml"):
        assert lib in flags.stdout.split(), (lib, flags.stdout)
    # libdmp.a against the shared system libraries (Debian ships no static
    # closure of libcurl's dependencies): the archive, its Requires.private
    # modules and its Libs.private.
    req = run(["pkg-config", "--print-requires-private", "dmp"], env=env)
    assert req.returncode == 0, req.stderr
    mods = [ln.split()[0] for ln in req.stdout.splitlines() if ln.strip()]
    deps = run(["pkg-config", "--libs"] + mods)
    assert deps.returncode == 0, deps.stderr
    text = open(os.path.join(libdir, "pkgconfig", "dmp.pc")).read()
    private = re.search(r"^Libs.private:(.*)$", text, re.M).group(1).split()
    cflags = run(["pkg-config", "--cflags", "dmp"], env=env).stdout.split()
    (tmp_path / "hello.c").write_text(HELLO)
    exe = str(tmp_path / "hello")
    r = run(["cc", str(tmp_path / "hello.c"), "-o", exe] + SAN_FLAGS +
            cflags + [os.path.join(libdir, "libdmp.a")] +
            deps.stdout.split() + private)
    assert r.returncode == 0, r.stderr
    assert "libdmp.so" not in run(["readelf", "-dW", exe]).stdout
    out = run([exe])
    assert out.returncode == 0 and "replay" in out.stdout, out.stderr


def test_find_package(root, tmp_path):
    need("cc")
    src = tmp_path / "src"
    src.mkdir()
    (src / "hello.c").write_text(HELLO)
    (src / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.18)\n"
        "project(consumer C)\n"
        "find_package(dmp 0.1 REQUIRED)\n"
        "add_executable(hello hello.c)\n"
        "target_link_libraries(hello PRIVATE dmp::dmp)\n"
        "add_executable(hello_static hello.c)\n"
        "target_link_libraries(hello_static PRIVATE dmp::dmp_static)\n")
    b = tmp_path / "build"
    r = run(["cmake", "-S", str(src), "-B", str(b),
             "-DCMAKE_PREFIX_PATH=" + root,
             "-DCMAKE_C_FLAGS=" + " ".join(SAN_FLAGS),
             "-DCMAKE_BUILD_RPATH=" + os.path.join(root, LIBDIR)])
    assert r.returncode == 0, r.stdout + r.stderr
    r = run(["cmake", "--build", str(b)])
    assert r.returncode == 0, r.stdout + r.stderr
    for exe, shared in (("hello", True), ("hello_static", False)):
        path = str(b / exe)
        needed = run(["readelf", "-dW", path]).stdout
        assert ("[libdmp.so.0]" in needed) == shared, (exe, needed)
        out = run([path])
        assert out.returncode == 0 and "replay" in out.stdout, \
            (exe, out.stderr)


def test_hardening(root, libdir):
    """What Debian's hardening-check looks at, with readelf and nm."""
    need("readelf", "nm")
    files = ["bin/dmp", "sbin/dmp-node"] + (["bin/dmpfs"] if WITH_FS else [])
    files = [os.path.join(root, f) for f in files]
    files.append(os.path.join(libdir, "libdmp.so.0.1.0"))
    for f in files:
        name = os.path.basename(f)
        dyn = run(["readelf", "-dW", f]).stdout
        seg = run(["readelf", "-lW", f]).stdout
        hdr = run(["readelf", "-hW", f]).stdout
        syms = run(["nm", "-D", "--undefined-only", f]).stdout
        assert "GNU_RELRO" in seg, (name, "RELRO")
        assert "BIND_NOW" in dyn or re.search(r"FLAGS_1.*\bNOW\b", dyn), \
            (name, "BIND_NOW (full RELRO)")
        assert "DYN" in hdr, (name, "PIE/PIC")
        if not name.startswith("libdmp"):
            assert re.search(r"FLAGS_1.*\bPIE\b", dyn), (name, "PIE")
        if not SANITIZE:
            assert "__stack_chk_fail" in syms, (name, "stack protector")
            if OPTIMISED:
                assert re.search(r"__\w+_chk\b", syms), \
                    (name, "FORTIFY_SOURCE")


def test_multiarch_pc(tmp_path):
    """With prefix /usr on Debian, dmp.pc's libdir is the multiarch one
    (configure only: the template is what is under test)."""
    need("cc", "dpkg-architecture")
    arch = run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"]).stdout.strip()
    b = tmp_path / "b"
    r = run(["cmake", "-S", SOURCE, "-B", str(b), "-DCMAKE_INSTALL_PREFIX=/usr",
             "-DDMP_BUILD_TESTS=OFF", "-DDMP_BUILD_BENCH=OFF",
             "-DDMP_BUILD_FS=OFF"])
    assert r.returncode == 0, r.stdout + r.stderr
    text = (b / "core" / "dmp.pc").read_text()
    assert "libdir=/usr/lib/%s\n" % arch in text, text
    assert "includedir=/usr/include\n" in text, text
