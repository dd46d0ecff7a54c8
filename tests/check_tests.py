#!/usr/bin/env python3
"""tests/check_tests.py SRC_DIR - the tests' own hygiene, checked.

  plan       every TAP test (a C file under tests/ that includes tap.h and
             has a main) declares its plan: plan(N) with N > 0; no plan(0),
             no no_plan, no done_testing() without a plan;
  ok1        no ok(1, ...) / ok(true, ...): a check that cannot fail;
  diagskip   a C test that cannot run part of its checks calls skip(n, why)
             (counted against the plan, shown as "# skip"), not diag();
  assert1    no `assert True` / `assert 1` in the black-box tests;
  silent     a black-box test whose tool is missing reports a skip
             (pytest.skip, conftest.need) instead of returning early and
             passing: no `if not shutil.which(...):` followed by `return`.

tests/tap.allow lists known offenders as `path rule` lines (# comments),
kept only while other work is in flight; it should be empty.
Exit 0 if clean, 1 with one line per offence."""
import os
import re
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..")
tests = os.path.join(src, "tests")

PLAN = re.compile(r"\bplan\s*\(\s*([^)]*)\)")
DIAGSKIP = re.compile(r"\bdiag\s*\([^;]*skipped")
OK1 = re.compile(r"\bok\s*\(\s*(1|true)\s*,")
ASSERT1 = re.compile(r"^\s*assert\s+(True|1)\s*(,|$)", re.M)
SILENT = re.compile(
    r"^(\s*)if\s+(not\s+shutil\.which\([^)]*\)|shutil\.which\([^)]*\)\s+is\s+None)"
    r"[^:\n]*:\s*\n\1\s+return\b", re.M)


def strip_c_comments(text):
    return re.sub(r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)


def offences():
    for root, _, files in os.walk(tests):
        for f in sorted(files):
            path = os.path.join(root, f)
            rel = os.path.relpath(path, src)
            if f.endswith(".c") and not rel.startswith("tests/lib/"):
                text = strip_c_comments(open(path, errors="replace").read())
                if '"tap.h"' not in text or not re.search(r"\bmain\s*\(", text):
                    continue
                plans = PLAN.findall(text)
                if not plans:
                    yield rel, "plan", "no plan(N) (done_testing without a count)"
                for arg in plans:
                    if arg.strip() in ("0", "") or "no_plan" in arg:
                        yield rel, "plan", "plan(%s): declare the number of checks" % arg
                if OK1.search(text):
                    yield rel, "ok1", "ok(1, ...) cannot fail"
                if DIAGSKIP.search(text):
                    yield rel, "diagskip", ("checks skipped with diag(): "
                                            "use skip(n, reason)")
            elif f.endswith(".py") and "black" in rel.split(os.sep):
                text = open(path, errors="replace").read()
                if ASSERT1.search(text):
                    yield rel, "assert1", "assert True cannot fail"
                for m in SILENT.finditer(text):
                    line = text.count("\n", 0, m.start()) + 1
                    yield rel, "silent", ("line %d: a missing tool returns "
                                          "(passes); use pytest.skip / "
                                          "conftest.need" % line)


def main():
    allow = set()
    allow_file = os.path.join(tests, "tap.allow")
    if os.path.exists(allow_file):
        for line in open(allow_file):
            line = line.split("#", 1)[0].split()
            if len(line) == 2:
                allow.add(tuple(line))
    bad = 0
    seen = set()
    for rel, rule, why in offences():
        seen.add((rel, rule))
        if (rel, rule) in allow:
            continue
        print("check_tests: %s: %s (%s)" % (rel, why, rule))
        bad += 1
    for rel, rule in sorted(allow - seen):
        print("check_tests: note: tests/tap.allow lists %s %s, which is "
              "clean now: remove the line" % (rel, rule))
    if not bad:
        print("check_tests: ok")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
