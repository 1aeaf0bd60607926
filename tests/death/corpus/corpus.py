#!/usr/bin/env python3
"""The heap-bug corpus: each program run under hakmem fast, hakmem full and
(for the table) valgrind.

  corpus.py check --bin DIR --lib LIBHAKMEM NAME MODE
      runs one program, checks the kind and the symbolized file:line of the
      frames named in EXPECT; exit 0 on success, 1 with the output otherwise
  corpus.py table --bin DIR --lib LIBHAKMEM [--valgrind]
      runs every program every way and prints the Markdown table of
      docs/guide-heap-corruption.md

Frame checks read hakmem's report format: a section header ("this call:",
"allocated at:", "freed at:", ...) and frames "#0 FUNC at FILE:LINE (...)".
The expected line is the one carrying "MARK:<name>" in the program's source.
"""

import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# The section of the call that found the error.
CALL = "this call|detected at"

# name -> {mode: (kind or None, [(section, mark), ...], extra env)}
# kind None: hakmem cannot see this bug at that level; the run must end
# normally (exit 0), never in a signal inside hakmem.
EXPECT = {
    "double_free": {
        "fast": ("double-free", [(CALL, "free2")], {}),
        "full": ("double-free", [(CALL, "free2"), ("allocated at", "alloc"),
                                 ("freed at", "free1")], {}),
    },
    "invalid_free": {
        "fast": ("invalid-free", [(CALL, "free")], {}),
        "full": ("invalid-free", [(CALL, "free")], {}),
    },
    "interior_free": {
        "fast": ("interior-free", [(CALL, "free")], {}),
        "full": ("interior-free", [(CALL, "free"), ("allocated at", "alloc")], {}),
    },
    "overflow_by_one": {
        "fast": (None, [], {}),
        "full": ("overflow", [(CALL, "free"), ("allocated at", "alloc")], {}),
    },
    "overflow_usable": {
        "fast": ("header-corrupt", [(CALL, "free_b")], {}),
        "full": ("overflow", [(CALL, "free"), ("allocated at", "alloc")], {}),
    },
    "underflow_header": {
        "fast": ("header-corrupt", [(CALL, "free")], {}),
        "full": ("header-corrupt", [(CALL, "free"), ("allocated at", "alloc")], {}),
    },
    "uaf_read": {
        "fast": (None, [], {}),
        "full": (None, [], {}),
    },
    "uaf_write_link": {
        "fast": ("use-after-free-write", [(CALL, "malloc2")], {}),
        "full": ("use-after-free-write", [("allocated at", "alloc"), ("freed at", "free")], {}),
    },
    "uaf_write_middle": {
        "fast": (None, [], {}),
        "full": ("use-after-free-write", [("allocated at", "alloc"), ("freed at", "free")], {}),
    },
    "uaf_write_large": {
        "fast": (None, [], {}),
        "full": ("use-after-free-write", [("allocated at", "alloc"), ("freed at", "free")], {}),
    },
    "free_stack": {
        "fast": ("foreign-pointer", [(CALL, "free")], {}),
        "full": ("foreign-pointer", [(CALL, "free")], {}),
    },
    "free_global": {
        "fast": ("foreign-pointer", [(CALL, "free")], {}),
        "full": ("foreign-pointer", [(CALL, "free")], {}),
    },
    "mismatch_delete": {
        "fast": (None, [], {}),
        "full": ("mismatched-free", [(CALL, "free"), ("allocated at", "alloc")], {}),
    },
    "leak": {
        "fast": (None, [], {}),
        "full": ("leak", [("allocated from", "alloc")], {"HAKMEM_LEAKS": "1"}),
    },
}

SOURCES = {n: n + (".cc" if n == "mismatch_delete" else ".c") for n in EXPECT}


def marks(name):
    """MARK:<label> -> line number, from the program's source."""
    out = {}
    with open(os.path.join(HERE, SOURCES[name])) as f:
        for i, line in enumerate(f, 1):
            m = re.search(r"MARK:(\w+)", line)
            if m:
                out[m.group(1)] = i
    return out


def run(cmd, env_extra, timeout=60):
    env = dict(os.environ)
    env.update(env_extra)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p.returncode, p.stderr.decode("utf-8", "replace")


def hakmem_run(bindir, lib, name, mode):
    kind, frames, extra = EXPECT[name][mode]
    env = {"LD_PRELOAD": lib, "HAKMEM_CHECK": mode, "HAKMEM_LOG": "", "HAKMEM_ON_ERROR": "abort"}
    env.update(extra)
    rc, err = run([os.path.join(bindir, "corpus_" + name)], env)
    return rc, err


FRAME0 = re.compile(r"^\s*#0\s+(\S+)(?: at (\S+):(\d+))?")


def frame0_after(report, section):
    """The #0 frame printed under the first header that matches section."""
    lines = report.splitlines()
    for i, line in enumerate(lines):
        if line.strip().endswith(":") and re.search(section, line):
            for nxt in lines[i + 1:i + 3]:
                m = FRAME0.match(nxt)
                if m:
                    return m
            return None
    return None


def reported_kind(report):
    m = re.search(r"^hakmem: ([a-z-]+)(?: at | of )", report, re.M)
    return m.group(1) if m else None


def check(bindir, lib, name, mode):
    kind, frames, _ = EXPECT[name][mode]
    rc, err = hakmem_run(bindir, lib, name, mode)
    problems = []
    if kind is None:
        if rc != 0:
            problems.append("expected a normal exit (hakmem cannot see this bug in %s mode), "
                            "got status %d" % (mode, rc))
    else:
        got = reported_kind(err)
        if got != kind:
            problems.append("expected a '%s' report, got %s" % (kind, got or "none"))
        if rc < 0 and "hakmem: " not in err:
            problems.append("killed by signal %d with no hakmem report" % -rc)
        where = marks(name)
        src = os.path.basename(SOURCES[name])
        for section, mark in frames:
            m = frame0_after(err, section)
            want = "%s:%d" % (src, where[mark])
            if not m:
                problems.append("no '#0' frame under a '%s' header" % section)
            elif not m.group(2) or os.path.basename(m.group(2)) + ":" + m.group(3) != want:
                problems.append("'%s' #0 is %s, expected %s" % (section, m.group(0).strip(), want))
    if problems:
        print("corpus %s %s: FAILED" % (name, mode))
        for p in problems:
            print("  " + p)
        print("---- stderr (status %d) ----\n%s" % (rc, err))
        return 1
    print("corpus %s %s: ok (%s)" % (name, mode, kind or "not visible at this level, clean exit"))
    return 0


def valgrind_summary(bindir, name):
    rc, err = run(["valgrind", "--leak-check=full", "--error-exitcode=99",
                   os.path.join(bindir, "corpus_" + name)], {}, timeout=300)
    m = re.search(r"^==\d+== (Invalid \w+(?: of size \d+)?|Invalid free\(\)|Mismatched free\(\)"
                  r"|[\d,]+ bytes in [\d,]+ blocks are definitely lost)", err, re.M)
    if not m:
        return "not caught", ""
    what = m.group(1)
    tail = err[m.end():]
    f = re.search(r"\((\S+:\d+)\)", tail)
    return what, f.group(1) if f else ""


def table(bindir, lib, with_valgrind):
    rows = ["| program | bug | hakmem fast | hakmem full | valgrind |", "|---|---|---|---|---|"]
    for name in EXPECT:
        with open(os.path.join(HERE, SOURCES[name])) as f:
            head = []
            for line in f:
                if not line.lstrip().startswith(("/", "*")):
                    break
                head.append(line.strip().lstrip("/*").strip())
                if "*/" in line:
                    break
            bug = " ".join(head).replace("*/", "").replace("Corpus: ", "").strip()
            bug = bug.split(". ")[0].rstrip(".")
        cells = []
        for mode in ("fast", "full"):
            kind, frames, _ = EXPECT[name][mode]
            rc, err = hakmem_run(bindir, lib, name, mode)
            got = reported_kind(err)
            if not got:
                cells.append("not caught (exit %d)" % rc if rc >= 0 else "signal %d" % -rc)
                continue
            cell = "`%s`" % got
            if frames:
                m = frame0_after(err, frames[0][0])
                if m and m.group(2):
                    where = "this call" if frames[0][0] == CALL else frames[0][0]
                    cell += "; %s #0 %s at %s:%s" % (where, m.group(1),
                                                     os.path.basename(m.group(2)), m.group(3))
            cells.append(cell)
        if with_valgrind:
            what, where = valgrind_summary(bindir, name)
            cells.append(what + (" at " + where if where else ""))
        else:
            cells.append("-")
        rows.append("| `%s` | %s | %s |" % (SOURCES[name], bug, " | ".join(cells)))
    print("\n".join(rows))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["check", "table"])
    ap.add_argument("--bin", required=True, help="directory of the corpus_* programs")
    ap.add_argument("--lib", required=True, help="path of libhakmem.so")
    ap.add_argument("--valgrind", action="store_true", help="table: run valgrind too")
    ap.add_argument("name", nargs="?", choices=sorted(EXPECT))
    ap.add_argument("mode", nargs="?", choices=["fast", "full"])
    a = ap.parse_intermixed_args()
    if a.command == "check":
        if not a.name or not a.mode:
            ap.error("check needs NAME and MODE")
        return check(a.bin, a.lib, a.name, a.mode)
    return table(a.bin, a.lib, a.valgrind)


if __name__ == "__main__":
    sys.exit(main())
