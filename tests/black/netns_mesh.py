"""tests/black/netns_mesh.py - N network namespaces joined by veth pairs,
for the relay tests of DMP-RELAY/1 (docs/protocol.md 8.7.10, issue 16).

A helper module, not a test (no test_ prefix: ctest does not run it).

    reason = netns_mesh.skip_reason()
    if reason:
        pytest.skip(reason)
    with netns_mesh.Mesh(5, "line") as m:      # or "ring"
        m.addr(0, 1)            # A's address on its link to B, "10.77.0.1"
        p = m.popen(0, [node_binary(), ...])   # runs inside A's namespace
        m.cut(0, 1); m.restore(0, 1)           # link down / up, both ends
        m.hosts(0, {"relay-b.test": m.addr(1, 0)})  # /etc/hosts in A's
        with m.inside(0):       # this thread's sockets are in A's namespace
            urllib.request.urlopen("http://%s:8080/" % m.addr(0, 1))
        m.wire_bytes()          # bytes sent, summed over every veth end

Layout. Nodes are 0..n-1, named a, b, c, ... Link k joins nodes i and j
(i < j): line links are (0,1), (1,2), ...; a ring adds (n-1, 0). Link k is
the /30 10.77.k.0: node i holds 10.77.k.1, node j 10.77.k.2. In node i's
namespace the interface to node j is called "to-<j's name>". IP
forwarding is off in every namespace, so a node reaches its neighbours
only: anything further must be relayed by the nodes themselves.

Safety. Everything lives inside namespaces named "dmpm<pid>-<name>"; no
address or route is added to the namespace the tests run in, and
10.77.0.0/16 exists only inside them. Set-up is bounded (every command
has a timeout, the whole set-up a deadline) and tear-down is guaranteed:
a failed set-up removes what it made, __exit__ and atexit remove the
namespaces (deleting a namespace deletes its veth ends), and namespaces
left by a process that died (pid no longer alive) are removed at the next
set-up.

Names. hosts(i, {name: address}) writes /etc/netns/<ns>/hosts, which
`ip netns exec` (so popen() and run()) bind-mounts over /etc/hosts: the
same name can lead each neighbour to the address of its own link (a
node with two links has one name and two addresses). The directory is
removed by teardown()."""
import atexit
import contextlib
import ctypes
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

NET = "10.77"
NETNS_ETC = "/etc/netns"
CLONE_NEWNET = 0x40000000
CMD_TIMEOUT = 10  # seconds for one `ip` command
SETUP_DEADLINE = 30  # seconds for the whole set-up
MAX_NODES = 16
_NAME = re.compile(r"^dmpm(\d+)-[a-z]$")


def _ip_path():
    return shutil.which("ip") or shutil.which("ip", path="/usr/sbin:/sbin")


def _run(argv, check=True):
    """Run one command with a timeout; return CompletedProcess."""
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=CMD_TIMEOUT)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (
            " ".join(argv), r.returncode, r.stderr.strip()))
    return r


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _list_netns(ip):
    r = _run([ip, "netns", "list"], check=False)
    if r.returncode != 0:
        return []
    return [line.split()[0] for line in r.stdout.splitlines() if line.strip()]


def skip_reason():
    """None when namespaces and veth pairs can be made here, else a
    sentence saying why not (for pytest.skip)."""
    if not sys.platform.startswith("linux"):
        return "network namespaces need Linux (this is %s)" % sys.platform
    if os.geteuid() != 0:
        return ("the mesh tests make network namespaces and need root "
                "(run tests/run as root, or in a container with CAP_NET_ADMIN"
                " and CAP_SYS_ADMIN)")
    ip = _ip_path()
    if not ip:
        return "ip (iproute2) not installed (contrib/deps.sh installs it)"
    probe = "dmpm%d-z" % os.getpid()
    try:
        r = _run([ip, "netns", "add", probe], check=False)
        if r.returncode != 0:
            return "ip netns add failed here: %s" % r.stderr.strip()
        r = _run([ip, "-n", probe, "link", "add", "p0", "type", "veth",
                  "peer", "name", "p1"], check=False)
        if r.returncode != 0:
            return "veth pairs cannot be made here: %s" % r.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return "ip netns is unusable here: %s" % e
    finally:
        try:
            _run([ip, "netns", "del", probe], check=False)
        except (OSError, subprocess.TimeoutExpired):
            pass
    return None


def _stale(name):
    """@name is one of ours and its process is gone."""
    m = _NAME.match(name)
    return bool(m) and int(m.group(1)) != os.getpid() and \
        not _pid_alive(int(m.group(1)))


def reap_stale():
    """Remove namespaces of this module, and their /etc/netns files, left
    by processes that are gone."""
    ip = _ip_path()
    if not ip:
        return
    for ns in _list_netns(ip):
        if _stale(ns):
            _run([ip, "netns", "del", ns], check=False)
    if os.path.isdir(NETNS_ETC):
        for ns in os.listdir(NETNS_ETC):
            if _stale(ns):
                shutil.rmtree(os.path.join(NETNS_ETC, ns),
                              ignore_errors=True)


class Mesh:
    """n namespaces in a "line" or a "ring", made on __enter__ (or
    setup()) and removed on __exit__ (or teardown(), idempotent)."""

    def __init__(self, n=5, topology="line"):
        if not 2 <= n <= MAX_NODES:
            raise ValueError("n must be 2..%d, not %d" % (MAX_NODES, n))
        if topology not in ("line", "ring"):
            raise ValueError("topology must be line or ring, not %r" %
                             topology)
        if topology == "ring" and n < 3:
            raise ValueError("a ring needs at least 3 nodes")
        self.n = n
        self.topology = topology
        self.ip = _ip_path()
        self.names = [chr(ord("a") + i) for i in range(n)]
        self.ns = ["dmpm%d-%s" % (os.getpid(), x) for x in self.names]
        self.links = [(i, i + 1) for i in range(n - 1)]
        if topology == "ring":
            self.links.append((0, n - 1))
        self._made = []
        self._procs = []
        self._etc = []
        self._atexit = False

    # ---- topology queries ----

    def _link(self, i, j):
        for k, (a, b) in enumerate(self.links):
            if (a, b) in ((i, j), (j, i)):
                return k, a == i
        raise KeyError("nodes %s and %s are not neighbours in this %s" % (
            self.names[i], self.names[j], self.topology))

    def neighbours(self, i):
        return sorted([b for a, b in self.links if a == i] +
                      [a for a, b in self.links if b == i])

    def addr(self, i, j):
        """Node i's IPv4 address on its link to node j."""
        k, low = self._link(i, j)
        return "%s.%d.%d" % (NET, k, 1 if low else 2)

    def addrs(self, i):
        return [self.addr(i, j) for j in self.neighbours(i)]

    def ifname(self, i, j):
        """The interface in node i's namespace that leads to node j."""
        self._link(i, j)
        return "to-" + self.names[j]

    # ---- set-up and tear-down ----

    def __enter__(self):
        self.setup()
        return self

    def __exit__(self, *exc):
        self.teardown()
        return False

    def _in(self, i, *argv):
        return _run([self.ip, "-n", self.ns[i]] + list(argv))

    def setup(self):
        if not self.ip:
            raise RuntimeError("ip (iproute2) not installed")
        if not self._atexit:
            atexit.register(self.teardown)
            self._atexit = True
        deadline = time.monotonic() + SETUP_DEADLINE
        reap_stale()
        try:
            for i, ns in enumerate(self.ns):
                self._check_deadline(deadline)
                _run([self.ip, "netns", "del", ns], check=False)
                _run([self.ip, "netns", "add", ns])
                self._made.append(ns)
                self._in(i, "link", "set", "lo", "up")
                _run([self.ip, "netns", "exec", ns, "sh", "-c",
                      "echo 0 > /proc/sys/net/ipv4/ip_forward"])
            for k, (i, j) in enumerate(self.links):
                self._check_deadline(deadline)
                a, b = self.ifname(i, j), self.ifname(j, i)
                self._in(i, "link", "add", a, "type", "veth", "peer",
                         "name", b, "netns", self.ns[j])
                self._in(i, "addr", "add", "%s.%d.1/30" % (NET, k), "dev", a)
                self._in(j, "addr", "add", "%s.%d.2/30" % (NET, k), "dev", b)
                self._in(i, "link", "set", a, "up")
                self._in(j, "link", "set", b, "up")
        except BaseException:
            self.teardown()
            raise

    @staticmethod
    def _check_deadline(deadline):
        if time.monotonic() > deadline:
            raise RuntimeError("namespace set-up took over %d s" %
                               SETUP_DEADLINE)

    def teardown(self):
        """Kill what popen() started, then delete the namespaces."""
        for p in self._procs:
            if p.poll() is None:
                p.kill()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
        self._procs = []
        for d in self._etc:
            shutil.rmtree(d, ignore_errors=True)
        if self._etc:
            try:
                os.rmdir(NETNS_ETC)  # only when empty: others may use it
            except OSError:
                pass
        self._etc = []
        for ns in self._made:
            try:
                _run([self.ip, "netns", "del", ns], check=False)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._made = []

    # ---- running things and cutting links ----

    def exec_argv(self, i, argv):
        return [self.ip, "netns", "exec", self.ns[i]] + list(argv)

    def run(self, i, argv, timeout=CMD_TIMEOUT, **kw):
        """Run @argv in node i's namespace to completion (bounded)."""
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        return subprocess.run(self.exec_argv(i, argv), timeout=timeout,
                              text=True, **kw)

    def popen(self, i, argv, **kw):
        """Start @argv in node i's namespace; killed by teardown()."""
        p = subprocess.Popen(self.exec_argv(i, argv), **kw)
        self._procs.append(p)
        return p

    def cut(self, i, j):
        """Take the link between i and j down at both ends."""
        self._in(i, "link", "set", self.ifname(i, j), "down")
        self._in(j, "link", "set", self.ifname(j, i), "down")

    def restore(self, i, j):
        self._in(i, "link", "set", self.ifname(i, j), "up")
        self._in(j, "link", "set", self.ifname(j, i), "up")

    # ---- names, this process's sockets, counters ----

    def hosts(self, i, names):
        """/etc/hosts for what runs in node i's namespace through `ip
        netns exec`: localhost plus @names ({name: IPv4 address})."""
        d = os.path.join(NETNS_ETC, self.ns[i])
        os.makedirs(d, exist_ok=True)
        if d not in self._etc:
            self._etc.append(d)
        with open(os.path.join(d, "hosts"), "w") as f:
            f.write("127.0.0.1 localhost\n")
            for name, a in sorted(names.items()):
                f.write("%s %s\n" % (a, name))

    @contextlib.contextmanager
    def inside(self, i):
        """Sockets this thread opens meanwhile (and processes it starts)
        live in node i's namespace; the thread's own namespace is back
        afterwards, whatever happens. setns() moves the calling thread
        only, so other threads may be inside other namespaces meanwhile."""
        libc = ctypes.CDLL(None, use_errno=True)
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        fd = -1
        try:
            fd = os.open("/run/netns/" + self.ns[i], os.O_RDONLY)
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns to %s failed" %
                              self.ns[i])
            yield self
        finally:
            if libc.setns(own, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back failed")
            os.close(own)
            if fd >= 0:
                os.close(fd)

    def wire_bytes(self):
        """Bytes sent by every veth end of every namespace (`ip -s -j
        link`, Ethernet frames with their headers): what went on the
        wires, each frame counted once."""
        total = 0
        for i in range(self.n):
            r = self._in(i, "-s", "-j", "link", "show", "type", "veth")
            for dev in json.loads(r.stdout or "[]"):
                st = dev.get("stats64") or dev.get("stats") or {}
                total += st.get("tx", {}).get("bytes", 0)
        return total


_PROBE = r"""
import socket, sys
s = socket.socket(); s.settimeout(2)
try:
    s.connect((sys.argv[1], int(sys.argv[2]))); print("reached")
except OSError as e:
    print("unreached", e)
"""
_LISTEN = r"""
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(8); s.settimeout(1)
end = time.monotonic() + float(sys.argv[2])
print("listening", flush=True)
while time.monotonic() < end:
    try:
        s.accept()[0].close()
    except OSError:
        pass
"""


def self_check(n=5, topology="line", port=7777):
    """Build a mesh, check that node 0 reaches its neighbours and nothing
    further (no forwarding), tear it down. Returns a list of failures."""
    bad = []
    t0 = time.monotonic()
    with Mesh(n, topology) as m:
        up = time.monotonic() - t0
        for i in range(n):
            p = m.popen(i, [sys.executable, "-c", _LISTEN, str(port), "20"],
                        stdout=subprocess.PIPE, text=True)
            p.stdout.readline()
        far = [j for j in range(1, n) if j not in m.neighbours(0)]
        for j in m.neighbours(0):
            out = m.run(0, [sys.executable, "-c", _PROBE, m.addr(j, 0),
                            str(port)]).stdout
            if not out.startswith("reached"):
                bad.append("%s does not reach neighbour %s: %s" % (
                    m.names[0], m.names[j], out.strip()))
        j = m.neighbours(0)[0]
        m.hosts(0, {"peer.test": m.addr(j, 0)})
        out = m.run(0, [sys.executable, "-c", _PROBE, "peer.test",
                        str(port)]).stdout
        if not out.startswith("reached"):
            bad.append("hosts(): peer.test does not lead to %s: %s" % (
                m.names[j], out.strip()))
        with m.inside(j):
            try:
                socket.create_connection((m.addr(j, 0), port), 2).close()
            except OSError as e:
                bad.append("inside(%s): %s" % (m.names[j], e))
        sent = m.wire_bytes()
        if sent <= 0:
            bad.append("wire_bytes() counted %d bytes sent" % sent)
        for j in far:
            k = m.neighbours(j)[0]
            out = m.run(0, [sys.executable, "-c", _PROBE, m.addr(j, k),
                            str(port)]).stdout
            if out.startswith("reached"):
                bad.append("%s reaches non-neighbour %s" % (
                    m.names[0], m.names[j]))
    print("%s of %d: set up in %.2f s, all in %.2f s" % (
        topology, n, up, time.monotonic() - t0))
    return bad


if __name__ == "__main__":
    why = skip_reason()
    if why:
        print("skipped:", why)
        sys.exit(77)
    topo = sys.argv[1] if len(sys.argv) > 1 else "line"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    failures = self_check(count, topo)
    for f in failures:
        print("FAIL:", f)
    sys.exit(1 if failures else 0)
