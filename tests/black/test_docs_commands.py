"""Every shell command shown in README.md and the guides must exist and
parse.

The fenced ```sh blocks of README.md, docs/*-guide.md,
docs/performance.md and docs/troubleshooting.md are split into simple commands. Then:

- our programs (dmp, dmp-node, dmpfs): `PROGRAM [COMMAND] --help` must
  exit 0, the command and subcommand words must be ones the help lists,
  and every documented long flag (and dmpfs -o option) must appear in
  that help text, so a renamed or misspelt flag fails the test;
- repository scripts and build outputs must exist (scripts with a --help
  are run with it, and their documented flags checked the same way);
- other programs must be in the explicit table below: either on PATH, or
  listed as absent on purpose (systemd tools in a container, sudo when
  running as root);
- documented `dig` queries against 127.0.0.1 are run for real against a
  dmp-node this test starts;
- the user guide's sh blocks are run, in order and as written, in one
  bash against a real node and a real mount (test_user_guide_walkthrough;
  the few lines that cannot run here are listed with the reason);
- messages the troubleshooting guide quotes are produced by the real
  programs and compared with the quote.

Anything not recognised fails: the tables are the honest list of what the
docs ask a reader to run."""
import os
import re
import shlex
import shutil
import subprocess

import pytest

from conftest import BUILD, free_addr, node_binary

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOCS = ["README.md", "docs/user-guide.md", "docs/operator-guide.md",
        "docs/performance.md",
        "docs/troubleshooting.md"]

# Programs outside the tree the docs use. True: must be on PATH here.
# False: may be absent on a test machine, with the reason.
EXTERNAL = {
    "cmake": True, "ctest": True, "dig": True, "nsupdate": True,
    "curl": True, "sqlite3": True, "tar": True, "grep": True, "find": True,
    "tail": True, "cat": True, "ls": True, "cp": True, "mv": True,
    "rm": True, "mkdir": True, "head": True, "printf": True, "awk": True,
    "xargs": True, "install": True, "fusermount3": True, "man": True,
    "chmod": True, "useradd": True, "/bin/echo": True,
    "sudo": False,        # absent when the tests run as root in a container
    "systemctl": False,   # systemd is not PID 1 in CI containers
    "journalctl": False,
    "mutt": True,         # contrib/deps.sh installs it (test_fs_mutt.py)
}
# Shell builtins and keywords: nothing to check.
BUILTINS = {"cd", "export", "echo", "kill", "sleep", "for", "do", "done",
            "then", "fi", "if", "while", "true", "false", ":", "set",
            "umask"}
OURS = {"dmp": "tools/dmp", "dmp-node": "tools/dmp-node",
        "dmpfs": "fs/dmpfs"}
# Wrappers whose first non-option argument is the real command.
WRAPPERS = {"sudo": {"-u", "-g"}, "timeout": set(), "nice": {"-n"},
            "env": set(), "xargs": {"-n", "-I"}}
REDIR = {">", ">>", "<", "2>", "&>", ">&", "2>&1", "<<"}


def doc_lines(path):
    """(line number, text) of each command line in the sh blocks."""
    return [x for block in doc_blocks(path) for x in block]


def simple_commands(line):
    """Split a shell line into simple commands (lists of words)."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=";&|<>()")
    lex.whitespace_split = True
    lex.commenters = "#"
    words, cmds, skip = [], [], False
    for tok in lex:
        if skip:
            skip = False
            continue
        if tok in (";", "&", "&&", "|", "||", "(", ")", ";;"):
            if words:
                cmds.append(words)
            words = []
            continue
        if tok in REDIR or set(tok) <= set("<>&"):
            if words and words[-1].isdigit():
                words.pop()
            skip = not tok.endswith("&1")
            continue
        words.append(tok)
    if words:
        cmds.append(words)
    out = []
    for w in cmds:
        while w and w[0] in ("do", "then", "else"):
            w = w[1:]
        while w and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w[0]):
            w = w[1:]          # VAR=value prefix
        if w and w[0] not in ("for", "done", "fi", "while", "if"):
            out.append(w)
    return out


def unwrap(words):
    """Strip sudo/timeout/env/xargs wrappers; returns the inner command."""
    while words and words[0] in WRAPPERS:
        opts_with_arg = WRAPPERS[words[0]]
        i = 1
        while i < len(words) and (words[i].startswith("-") or
                                  re.match(r"^\w+=", words[i]) or
                                  (words[0] == "timeout" and
                                   words[i][0].isdigit())):
            i += 2 if words[i] in opts_with_arg else 1
        if i >= len(words):
            return words
        words = words[i:]
    return words


def run_help(argv):
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=30, env=dict(os.environ, DMP_PASSPHRASE=""))
    return r.returncode, r.stdout.decode(errors="replace")


def has(text, word):
    """word appears in text as a whole flag or word (so "--zon" is not
    found in "--zone", nor "key ad" in "key add")."""
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(word), text) \
        is not None


def long_flags(words):
    return [w.split("=", 1)[0] for w in words if w.startswith("--")]


def check_dmp(words, binary):
    errs = []
    rc, top = run_help([binary, "--help"])
    if rc != 0:
        return ["dmp --help exits %d" % rc]
    i = 1
    while i < len(words) and words[i].startswith("-"):
        flag = words[i].split("=", 1)[0]
        if flag.startswith("--") and not has(top, flag):
            errs.append("dmp: global flag %s not in dmp --help" % flag)
        i += 2 if flag in ("--home", "--passphrase-file") and \
            "=" not in words[i] else 1
    if i >= len(words):
        return errs
    cmd = words[i]
    if not re.search(r"^  %s\b" % re.escape(cmd), top, re.M):
        return errs + ["dmp: command %r not in dmp --help" % cmd]
    rc, sub = run_help([binary, cmd, "--help"])
    if rc != 0:
        return errs + ["dmp %s --help exits %d" % (cmd, rc)]
    rest = words[i + 1:]
    if cmd in ("identity", "contacts") and rest:
        if not re.search(r"\b%s\b" % re.escape(rest[0]), sub):
            errs.append("dmp %s: subcommand %r not in its --help" %
                        (cmd, rest[0]))
    for flag in long_flags(rest):
        if not has(sub, flag):
            errs.append("dmp %s: flag %s not in its --help" % (cmd, flag))
    return errs


def check_node(words, binary):
    rc, text = run_help([binary, "--help"])
    if rc != 0:
        return ["dmp-node --help exits %d" % rc]
    errs = ["dmp-node: flag %s not in --help" % f
            for f in long_flags(words) if not has(text, f)]
    if "key" in words[1:]:
        k = words.index("key")
        if k + 1 >= len(words) or not has(text, "key " + words[k + 1]):
            errs.append("dmp-node: %r not in --help" %
                        " ".join(words[k:k + 2]))
    for short in (w for w in words[1:] if re.match(r"^-[a-z]$", w)):
        if not has(text, short):
            errs.append("dmp-node: flag %s not in --help" % short)
    return errs


def check_dmpfs(words, binary):
    rc, text = run_help([binary, "--help"])
    if rc != 0:
        return ["dmpfs --help exits %d" % rc]
    errs = []
    for i, w in enumerate(words):
        if w == "-o" and i + 1 < len(words):
            for opt in words[i + 1].split(","):
                name = opt.split("=", 1)[0]
                if not re.search(r"-o \[?(no)?\]?%s\b" % re.escape(name),
                                 text):
                    errs.append("dmpfs: -o %s not in dmpfs --help" % name)
        elif w.startswith("--") and not has(text, w):
            errs.append("dmpfs: flag %s not in dmpfs --help" % w)
    return errs


def check_script(words):
    path = os.path.join(TOP, words[0])
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        return ["%s: not an executable file in the tree" % words[0]]
    if words[0] in ("contrib/demo.sh", "tests/run"):
        rc, text = run_help([path, "--help"])
        if rc != 0:
            return ["%s --help exits %d" % (words[0], rc)]
        return ["%s: flag %s not in its --help" % (words[0], f)
                for f in long_flags(words) if not has(text, f)]
    return []


def build_path(prog):
    """build/<dir>/X in the docs -> X in this build, if it is ours."""
    m = re.match(r"^build(?:/[^/]+)?/((?:tools|fs|bench)/.+)$", prog)
    return m.group(1) if m else None


def check_words(words):
    """Errors for one simple command (a list of words)."""
    words = unwrap(words)
    if not words:
        return []
    prog = words[0]
    if prog in BUILTINS:
        return []
    if prog in OURS:
        binary = os.path.join(BUILD, OURS[prog])
        if not os.access(binary, os.X_OK):
            return ["%s not built in %s" % (prog, BUILD)]
        return {"dmp": check_dmp, "dmp-node": check_node,
                "dmpfs": check_dmpfs}[prog](words, binary)
    rel = build_path(prog)
    if rel:
        name = os.path.basename(rel)
        if name in OURS:
            return check_words([name] + words[1:])
        ok = os.access(os.path.join(BUILD, rel), os.X_OK)
        return [] if ok else ["%s: not built (%s)" % (prog, rel)]
    if "/" in prog and not prog.startswith("/"):
        return check_script(words)
    if prog in EXTERNAL:
        if EXTERNAL[prog] and not shutil.which(prog):
            return ["%s: not installed" % prog]
        return []
    return ["%s: unknown program (add it to EXTERNAL if the docs mean it)" %
            prog]


def all_lines():
    for doc in DOCS:
        for n, line in doc_lines(doc):
            yield doc, n, line


def test_each_document_has_commands():
    counts = {}
    for doc, _, _ in all_lines():
        counts[doc] = counts.get(doc, 0) + 1
    assert counts.get("README.md", 0) >= 5, counts
    assert counts.get("docs/user-guide.md", 0) >= 30, counts
    assert counts.get("docs/operator-guide.md", 0) >= 20, counts


def test_quick_start_is_two_commands():
    lines = doc_lines("README.md")
    assert [l.split()[0] for _, l in lines[:2]] == ["contrib/demo.sh",
                                                    "tests/run"]


def test_every_documented_command_parses():
    node_binary()  # fails clearly if the build dir is wrong
    errors = []
    for doc, n, line in all_lines():
        for words in simple_commands(line):
            for e in check_words(words):
                errors.append("%s:%d: %s\n    %s" % (doc, n, e, line))
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("line", [
    "dmp send --lifetme 3600 bob note.txt",        # misspelt flag
    "dmp identity publsh",                          # misspelt subcommand
    "dmp contacts add bob --fingerprnt 0011223344556677",
    "dmp --hme /tmp/x status",                      # misspelt global flag
    "dmp sned bob",                                 # unknown command
    "dmp-node key ad bob.mesh.test --scope mesh.test",
    "dmp-node -f --zon mesh.test",
    "dmpfs -o pol=5 ~/dmp",
    "contrib/demo.sh --stp",
    "contrib/nosuch.sh",
    "dmpctl status",                                # unknown program
])
def test_checker_catches_typos(line):
    """The checker itself must fail on a typo, or the test above proves
    nothing."""
    errs = [e for w in simple_commands(line) for e in check_words(w)]
    assert errs, line


def test_splitting():
    cmds = simple_commands(
        'for f in r/*.txt; do cp "$f" ~/dmp/outbox/bob; done')
    assert cmds == [["cp", "$f", "~/dmp/outbox/bob"]]
    cmds = simple_commands("grep -h x ~/q/* 2>/dev/null || echo 'empty'")
    assert cmds == [["grep", "-h", "x", "~/q/*"], ["echo", "empty"]]
    assert unwrap(["sudo", "-u", "dmp-node", "dmp-node", "key", "list"]) \
        == ["dmp-node", "key", "list"]


def test_documented_dig_queries_run(node):
    """Run the docs' dig queries that target the loopback node on port
    5353, against a real node serving mesh.test."""
    node.start()
    ran = 0
    for doc, n, line in all_lines():
        for words in simple_commands(line):
            if words[0] != "dig" or "@127.0.0.1" not in words:
                continue
            argv = ["dig", "+time=2", "+tries=1"]
            skip = False
            for w in words[1:]:
                if skip:
                    skip = False
                    argv.append(str(node.port))
                    continue
                if w == "-p":
                    skip = True
                    argv.append(w)
                    continue
                argv.append("@" + node.host if w == "@127.0.0.1" else w)
            r = subprocess.run(argv, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=20)
            out = r.stdout.decode(errors="replace")
            assert r.returncode == 0, "%s:%d: %s\n%s" % (doc, n, line, out)
            assert re.search(r"status: (NOERROR|NXDOMAIN)", out), \
                "%s:%d: %s\n%s" % (doc, n, line, out)
            ran += 1
    assert ran >= 2


# ---- the user guide, run as written (issue 14) --------------------------------
#
# Every command of the sh blocks of docs/user-guide.md runs, in order, in one
# bash, as a reader would type it: the same words, with only these
# substitutions so that it stays on this machine and in a scratch directory:
# the guide's node address 127.0.0.1:5353 becomes a free 127.0.0.x port,
# /tmp/... paths and ~ (HOME) move into the test's directory, and our programs
# come from this build. What cannot run here is listed below with the reason;
# a new command in the guide runs unless it is listed, and must then succeed.

# Whole blocks not run (matched by one of their lines).
WALK_SKIP_BLOCKS = {
    "contrib/deps.sh": "builds and installs the tree (CI does; "
                       "test_install.py checks cmake --install)",
    "dmp tsig register --node-http http://127.0.0.1:8053":
        "the self-registration path, an alternative to the operator's key "
        "(test_cli_register.py)",
}
# Single lines not run.
WALK_SKIP_LINES = {
    "dmp resolvers discover 9.9.9.9 1.1.1.1":
        "asks public resolvers and /etc/resolv.conf's servers; tests stay on "
        "loopback (test_cli_discover.py)",
    "dmp resolvers discover --save 9.9.9.9 1.1.1.1": "as above",
}
# Lines that never end by themselves, bounded (same words after the bound).
WALK_BOUND = {
    "dmp recv --watch --interval 5":
        "timeout -s INT --preserve-status 4 dmp recv --watch --interval 5",
    "tail -F ~/dmp/.events | grep --line-buffered -E "
    "'RECEIVED|FAILED|REJECTED'":
        # the whole log, not tail's last ten lines: under load more
        # events (STATE, FLUSH, ...) follow the delivery it looks for
        "timeout 2 tail -n +1 -F ~/dmp/.events | grep --line-buffered -E "
        "'RECEIVED|FAILED|REJECTED'",
}
# Lines the guide itself shows failing, with their exit status.
WALK_FAILS = {
    # carol has published nothing yet at that point of the guide
    "dmp contacts add carol@mesh.test --fingerprint 8038e511d5a31cd4": 11,
    # the guide's example of a failed pin ("No such file or directory")
    "/bin/echo dave@mesh.test > ~/dmp/contacts/dave": 1,
    # nothing in alice's inbox mentions an invoice: grep finds nothing
    "grep -l '^From: alice' -r ~/dmp/inbox | xargs grep -l invoice": 123,
    # receipts are off by default (the guide turns them on in a text
    # block, not a command): "no line means no receipt yet"
    "grep -rl '^X-DMP-Delivered:' ~/dmp/sent": 1,
    "grep RECEIPT ~/dmp/.events": 1,
}


def doc_blocks(path):
    """The sh blocks of a document: lists of (line number, command)."""
    blocks, cur, lang, buf, start = [], None, None, "", 0
    with open(os.path.join(TOP, path)) as f:
        for n, line in enumerate(f, 1):
            s = line.rstrip("\n")
            if s.startswith("```"):
                lang = None if lang is not None else (s[3:].strip() or "-")
                cur = [] if lang in ("sh", "bash", "shell") else None
                if cur is not None:
                    blocks.append(cur)
                continue
            if cur is None:
                continue
            if not buf:
                start = n
            if s.endswith("\\"):
                buf += s[:-1] + " "
                continue
            buf += s
            if buf.strip() and not buf.strip().startswith("#"):
                cur.append((start, buf.strip()))
            buf = ""
    return [b for b in blocks if b]


def test_walk_plan_covers_the_guide():
    """Every skipped, bounded or failing line is still in the guide (a
    stale entry would hide a command that no longer exists)."""
    lines = {l for b in doc_blocks("docs/user-guide.md") for _, l in b}
    for table in (WALK_SKIP_BLOCKS, WALK_SKIP_LINES, WALK_BOUND,
                  WALK_FAILS):
        for line in table:
            assert line in lines, line


def _glue(before, work, node_addr, b):
    """What the guide leaves to the reader between its blocks (another
    person's side), as shell. @p before: the block's first command."""
    bob = ("( export DMP_PASSPHRASE=bob-horse-battery; "
           "dmp --home {g}/bob init bob --domain mesh.test --node {a} "
           "--tsig-file bob.key && dmp --home {g}/bob identity publish ) "
           ">>{g}/glue.log 2>&1 || echo 'glue bob' >&3").format(
               g=work, a=node_addr)
    carol = (
        "( dmp-node key add carol.mesh.test --scope mesh.test --db node.db "
        "> {g}/carol.key && "
        "export DMP_PASSPHRASE=carol-horse-battery && "
        "dmp --home {g}/carol init carol --domain mesh.test --node {a} "
        "--tsig-file {g}/carol.key && "
        # the node loads new keys about once a second; a loaded machine
        # may take longer: publish until the key works (bounded, 10 s)
        "ok=; for i in $(seq 20); do dmp --home {g}/carol identity "
        "publish && ok=1 && break; sleep 0.5; done; [ -n \"$ok\" ] "
        "&& echo 'hello from a stranger' | dmp --home {g}/carol send "
        "alice@mesh.test ) >>{g}/glue.log 2>&1 || echo 'glue carol' >&3\n"
        "for i in $(seq 100); do ls ~/dmp/intro/new | grep -q . && break; "
        "sleep 0.2; done").format(g=work, a=node_addr)
    files = ("printf 'a note\\n' > note.txt; printf 'a letter\\n' > "
             "letter.txt; mkdir -p reports; printf 'r1\\n' > reports/1.txt; "
             "printf 'r2\\n' > reports/2.txt")
    return {"dmp contacts add bob": bob + "\n" + files,
            "ls ~/dmp/intro/new": carol}.get(before)


def test_user_guide_walkthrough(tmp_path):
    """docs/user-guide.md, every sh block in order, run for real: the node,
    init, publish, contacts, send and recv, the mount, outbox/intro/
    contacts through the filesystem, the scripting recipes and the backup."""
    from fs_helpers import dmpfs_binary, need_fuse, is_mounted
    need_fuse()
    host, port = free_addr()
    addr = "%s:%d" % (host, port)
    work = str(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for name, rel in OURS.items():
        os.symlink(os.path.join(BUILD, rel), bindir / name)
    subs = [("127.0.0.1:5353", addr), ("/tmp/dmp-try", work + "/dmp-try"),
            ("/tmp/state-backup.db", work + "/state-backup.db")]
    status = tmp_path / "status"
    script, plan = ["exec 3>%s" % status, "cd %s" % work], {}
    for block in doc_blocks("docs/user-guide.md"):
        texts = [l for _, l in block]
        skip = [r for k, r in WALK_SKIP_BLOCKS.items() if k in texts]
        if skip:
            continue
        glue = _glue(texts[0], work, addr, block)
        if glue:
            script.append(glue)
        for n, line in block:
            if line in WALK_SKIP_LINES:
                continue
            run = WALK_BOUND.get(line, line)
            for a, b in subs:
                run = run.replace(a, b)
            plan[n] = (line, WALK_FAILS.get(line, 0))
            script.append(run)
            script.append('echo "%d $?" >&3' % n)
            if run.endswith("&"):
                script.append('echo "bg $!" >&3')
    env = {"HOME": str(home), "PATH": "%s:%s" % (bindir, os.environ["PATH"]),
           "LANG": "C.UTF-8"}
    bg = []
    try:
        # Output to a file: the node the guide starts with `&` keeps
        # its descriptors open after bash ends.
        log = tmp_path / "walk.log"
        stuck = None
        with open(log, "wb") as f:
            try:
                subprocess.run(["bash", "-c", "\n".join(script)],
                               stdin=subprocess.DEVNULL, stdout=f,
                               stderr=subprocess.STDOUT, env=env,
                               timeout=240, cwd=work)
            except subprocess.TimeoutExpired:
                stuck = True
        out = log.read_text(errors="replace")
        got = {}
        for l in status.read_text().splitlines():
            k, v = l.split()
            if k == "bg":
                bg.append(int(v))
            elif k == "glue":
                pytest.fail("glue step %s failed: %s" % (
                    v, (tmp_path / "glue.log").read_text()))
            else:
                got[int(k)] = int(v)
        if stuck:
            # Name the step that did not finish, and what it printed.
            todo = [n for n in sorted(plan) if n not in got]
            pytest.fail("walk-through stuck for 240 s at user-guide.md:%s: "
                        "%s\n---\n%s" % (
                            todo[0] if todo else "?",
                            plan[todo[0]][0] if todo else "?", out[-4000:]))
        errors = ["user-guide.md:%d: %s: exit %s, want %d" % (
            n, line, got.get(n), want)
            for n, (line, want) in sorted(plan.items())
            if got.get(n) != want]
        assert not errors, "\n".join(errors) + "\n---\n" + out[-4000:]
        assert len(plan) >= 40, len(plan)
        # The walk reached the end: unmounted, backed up.
        assert not is_mounted(str(home / "dmp"))
        assert (tmp_path / "dmp-try" / "dmp-backup.tar.gz").exists() or \
            (home / "dmp-backup.tar.gz").exists() or \
            (tmp_path / "dmp-backup.tar.gz").exists()
        assert (tmp_path / "state-backup.db").exists()
    finally:
        if is_mounted(str(home / "dmp")):
            subprocess.run(["fusermount3", "-uz", str(home / "dmp")],
                           capture_output=True, timeout=20)
        for pid in bg:
            try:
                os.kill(pid, 9)
            except OSError:
                pass


# ---- the troubleshooting guide's messages, produced for real -------------------
#
# Each entry: a message as docs/troubleshooting.md quotes it (FILE, DIR, X,
# N, ... stand for the part that varies) and a way to make the programs
# print it. The test checks the quote is in the guide and that the real
# output matches it, so the guide and the programs cannot drift apart.
PLACEHOLDERS = r"\b(?:FILE|DIR|KEY|X|N|M|A|RULE|ZONE|ADDR|V|MIN|MAX|S|HOST|" \
    r"USER|PORT|NEW|REASON)\b"


def _norm(text):
    return re.sub(r"\s+", " ", text).strip()


def _quote_re(quote):
    parts = re.split(PLACEHOLDERS, _norm(quote))
    return ".+?".join(re.escape(p) for p in parts)


def test_troubleshooting_messages_as_printed(tmp_path, node):
    from cli_helpers import User
    from fs_helpers import dmpfs_binary
    guide = _norm(open(os.path.join(TOP, "docs/troubleshooting.md")).read())
    u = User(tmp_path, "alice", node)
    cases = []

    def case(quote, out):
        cases.append((quote, out))

    r = u.run("status", env={"DMP_PASSPHRASE": ""})
    case("dmp: no passphrase: set DMP_PASSPHRASE, use --passphrase-file, "
         "or run on a terminal", r.stderr_text)
    r = u.run("--home", str(tmp_path / "nohome"), "status")
    case("dmp: no identity in DIR: run `dmp init` first", r.stderr_text)
    r = u.run("contacts", "add", "bob@mesh.test", "a/b")
    case("dmp: alias 'A' RULE; choose another", r.stderr_text)
    r = u.run("send", "--lifetime", "0", "bob", input=b"x")
    case("dmp: --lifetime X: out of range (allowed 60..2592000)",
         r.stderr_text)
    r = u.run("send", "--lifetime", "abc", "bob", input=b"x")
    case("dmp: --lifetime 'X': not an integer (allowed 60..2592000)",
         r.stderr_text)
    cfg = os.path.join(u.home, "config.yaml")
    good = open(cfg).read()
    open(cfg, "w").write(good.replace("  lifetime: 604800", "  lifetime: 5"))
    r = u.run("status")
    case("KEY: out of range: V (allowed MIN..MAX)", r.stderr_text)
    os.rename(cfg, cfg + ".away")
    r = u.run("status")
    case("dmp: DIR/config.yaml is missing, but state.db holds an identity.",
         r.stderr_text)
    os.rename(cfg + ".away", cfg)
    open(cfg, "w").write(good)
    r = node.cli("key", "add", "alice.mesh.test", "--scope", "mesh.test",
                 check=False)
    case("dmp-node: key add X: the key exists (scopes S); its user would "
         "be locked out.", r.stderr)
    v = User(tmp_path, "vera", node, init=False)
    r = v.run("init", "vera", "--domain", "mesh.test", "--node",
              "no_such_host:53")
    assert r.returncode == 0, r.stderr_text
    r = v.run("identity", "publish")
    case("dmp: publish: no TSIG key: this home has none (network.tsig is "
         "empty), and the node takes writes only with one.", r.stderr_text)
    r = v.run("contacts", "add", "bob@other.test")
    case("config: network.nodes: X is neither an IP address nor a host name "
         "that resolves (check the spelling and this machine's DNS)",
         r.stderr_text)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    r = subprocess.run([dmpfs_binary(), "-f", "-o",
                        "home=%s,poll=0" % u.home, str(mnt)],
                       capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, DMP_PASSPHRASE=u.passphrase))
    case("dmpfs: -o poll=N: out of range (allowed 1..86400 seconds)",
         r.stderr)
    errors = []
    for quote, out in cases:
        if _norm(quote) not in guide:
            errors.append("not in troubleshooting.md: %s" % quote)
        elif not re.search(_quote_re(quote), _norm(out)):
            errors.append("printed differently: %s\n    got: %s" % (
                quote, _norm(out)[:300]))
    assert not errors, "\n".join(errors)
    assert len(cases) >= 11
