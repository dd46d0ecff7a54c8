"""Helpers for the `dmp` CLI black-box tests: users with their own homes,
talking to real dmp-node processes (conftest.Node)."""
import base64
import os
import sqlite3
import subprocess
import time

import pytest

from conftest import BUILD, Node

ZONE = "mesh.test"


def dmp_binary():
    for p in ("tools/dmp", "tools/dmp/dmp"):
        full = os.path.join(BUILD, p)
        if os.path.isfile(full) and os.access(full, os.X_OK):
            return full
    pytest.fail("dmp not built (DMP_BUILD_DIR=%r)" % BUILD)


def split_mail(raw):
    """(header, body) of a delivered Maildir file. A binary body, which
    dmp delivers as a base64 attachment (docs/protocol.md, mail headers),
    is given back decoded, as it was sent."""
    head, _, body = raw.partition(b"\n\n")
    if b'boundary="dmp-' in head:
        import email
        import email.policy
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        for part in msg.walk():
            if part.get_content_type() == "application/octet-stream":
                body = part.get_payload(decode=True)
    return head.decode(), body


class User:
    """One CLI user: a home directory, a passphrase, a TSIG key.

    The random publish delay (privacy.delay) is @delay, off unless a test
    is about it: it adds its mean (200 ms) and up to 1 s to every send."""

    def __init__(self, tmp_path, name, node, passphrase=None, nodes=None,
                 resolvers=(), key=None, init=True, extra_init=(),
                 zone=ZONE, delay="off"):
        self.name = name
        self.zone = zone
        self.home = str(tmp_path / ("home-" + name))
        self.passphrase = passphrase or ("pass-%s-horse" % name)
        self.node = node
        self.bin = dmp_binary()
        self.env_extra = {}
        if key is None:
            key, _ = node.add_key("%s.%s" % (name, zone), zone)
        self.key = key
        if init:
            args = ["init", name, "--domain", zone]
            for n in (nodes or [node]):
                args += ["--node", "%s:%d" % (n.host, n.port)]
            for r in resolvers:
                args += ["--resolver", r]
            # The secret on standard input, never on argv (issue 12).
            args += ["--tsig", "-"]
            args += list(extra_init)
            r = self.run(*args, input=(key + "\n").encode())
            assert r.returncode == 0, r.stderr
            if delay is not None:
                with open(os.path.join(self.home, "config.yaml"), "a") as f:
                    f.write("privacy:\n  delay: %s\n" % delay)

    @property
    def address(self):
        return "%s@%s" % (self.name, self.zone)

    def run(self, *args, input=None, passphrase=None, env=None, timeout=60,
            check=False):
        e = dict(os.environ)
        e["DMP_PASSPHRASE"] = passphrase or self.passphrase
        e.pop("DMP_FAKE_NOW", None)
        e.update(self.env_extra)
        if env:
            e.update(env)
        r = subprocess.run([self.bin, "--home", self.home, *args],
                           input=input, capture_output=True, env=e,
                           timeout=timeout)
        r.stdout_text = r.stdout.decode(errors="replace")
        r.stderr_text = r.stderr.decode(errors="replace")
        if check:
            assert r.returncode == 0, (args, r.stderr_text)
        return r

    def popen(self, *args, input=None, env=None):
        e = dict(os.environ)
        e["DMP_PASSPHRASE"] = self.passphrase
        if env:
            e.update(env)
        p = subprocess.Popen([self.bin, "--home", self.home, *args],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=e)
        return p

    def publish(self):
        self.run("identity", "publish", check=True)

    def add_contact(self, other, alias=None):
        args = ["contacts", "add", other.address]
        if alias:
            args.append(alias)
        self.run(*args, check=True)

    def send(self, to, body, *extra, env=None):
        return self.run("send", *extra, to, "-", input=body, env=env)

    def recv(self, env=None):
        return self.run("recv", env=env)

    def maildir(self, folder):
        """Bodies of the messages in mail/<folder>/new, oldest first."""
        d = os.path.join(self.home, "mail", folder, "new")
        out = []
        for f in sorted(os.listdir(d)):
            raw = open(os.path.join(d, f), "rb").read()
            out.append(split_mail(raw))
        return out

    def events(self):
        p = os.path.join(self.home, "events.log")
        if not os.path.exists(p):
            return []
        return open(p).read().splitlines()

    def rejections(self):
        return [l for l in self.events() if " REJECTED " in l]

    def db(self):
        return sqlite3.connect(os.path.join(self.home, "state.db"))

    def outbox_records(self):
        """(seq, name, value, ttl, published) of every queued record."""
        with self.db() as c:
            return c.execute(
                "SELECT seq, name, value, ttl, published FROM outbox_record "
                "ORDER BY outbox_id, seq").fetchall()

    def set_config(self, section_key, value):
        """Replace one `  key: ...` line of config.yaml."""
        path = os.path.join(self.home, "config.yaml")
        lines = open(path).read().splitlines()
        key = section_key.split(".")[1]
        for i, l in enumerate(lines):
            if l.strip().startswith(key + ":"):
                lines[i] = "  %s: %s" % (key, value)
        open(path, "w").write("\n".join(lines) + "\n")


def wait_keys(*nodes):
    """dmp-node picks up keys added by `dmp-node key add` within a second
    (its maintenance tick): wait until @nodes (default: every node whose
    keys changed while it ran) have (conftest.Node.wait_keys)."""
    for n in (nodes or list(Node.keys_changed)):
        n.wait_keys()


def admin_key(node):
    """A key over the whole zone, for the test to tamper with records."""
    key, _ = node.add_key("admin-%d.%s" % (int(time.time() * 1000) % 100000,
                                         ZONE), ZONE)
    wait_keys()
    return key


def quote_txt(value):
    """nsupdate's TXT syntax: quoted strings of at most 255 bytes."""
    parts = [value[i:i + 255] for i in range(0, len(value), 255)]
    return " ".join('"%s"' % p.replace("\\", "\\\\").replace('"', '\\"')
                    for p in parts)


def ns_add(node, key, name, value, ttl=300):
    r = node.nsupdate(key, "zone %s\nupdate add %s. %d TXT %s" % (
        ZONE, name, ttl, quote_txt(value)))
    assert r.returncode == 0, r.stderr


def ns_delete(node, key, name):
    r = node.nsupdate(key, "zone %s\nupdate delete %s. TXT" % (ZONE, name))
    assert r.returncode == 0, r.stderr


def flip_b64(value, pos_from_end=10):
    """Change one base64 character of a record value, keeping it valid
    base64 (the payload bytes change, the framing does not)."""
    prefix, _, b64 = value.partition(";d=")
    raw = bytearray(base64.b64decode(b64))
    raw[len(raw) - pos_from_end] ^= 0x01
    return prefix + ";d=" + base64.b64encode(bytes(raw)).decode()
