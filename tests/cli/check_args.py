#!/usr/bin/python3
"""The command line of every hakmem command, parsed one way (argparse,
hakmemcli.common.ArgParser): usage errors name the option and the command's
--help and exit 2; options are never abbreviated; a missing value says
so; --help prints the command's own help; everything after '--' is CMD's,
options included.

usage: check_args.py --hakmem BUILD/bin/hakmem --work DIR
Prints one line per finding, then 'N passed, N failed'; exits 1 on failure.
"""

import argparse
import os
import re
import subprocess
import sys

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print("ok    %s" % what)
    else:
        failed += 1
        print("FAIL  %s" % what)


def run(argv):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)


def usage_error(h, argv, pattern):
    p = run([h] + argv)
    msg = p.stderr.strip()
    check(p.returncode == 2 and re.search(pattern, msg) is not None,
          "hakmem %s: exit 2 and %r (got %d: %s)" % (" ".join(argv), pattern, p.returncode, msg))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hakmem", required=True, help="the configured hakmem command")
    ap.add_argument("--work", required=True, help="scratch directory")
    a = ap.parse_args()
    h = a.hakmem
    os.makedirs(a.work, exist_ok=True)

    for cmd in ("run", "trace", "report", "tune"):
        p = run([h, cmd, "--help"])
        check(p.returncode == 0 and p.stdout.startswith("usage: hakmem %s " % cmd),
              "hakmem %s --help prints its usage and exits 0" % cmd)
        usage_error(h, [cmd, "--frobnicate"] + (["x"] if cmd == "report" else ["--", "true"]),
                    r"^hakmem: %s: unknown option --frobnicate \(see hakmem %s --help\)$" % (cmd, cmd))

    # Abbreviations are unknown options, not the option they begin.
    usage_error(h, ["run", "--rel", "--", "true"], r"unknown option --rel ")
    usage_error(h, ["report", "--form", "json", "x"], r"unknown option --form ")
    usage_error(h, ["tune", "--run", "3", "--", "true"], r"unknown option --run ")
    usage_error(h, ["trace", "--snap", "--", "true"], r"unknown option --snap ")
    # A missing value is named.
    usage_error(h, ["report", "x", "-o"], r"report: -o/--output needs a value \(see hakmem report --help\)")
    usage_error(h, ["tune", "--runs", "--", "true"], r"tune: --runs needs a value")
    usage_error(h, ["trace", "--relay", "--", "true"], r"trace: --relay needs a value")
    # Values are checked with what was expected.
    usage_error(h, ["run", "--check=most", "--", "true"], r"--check=most: expected off, fast or full")
    usage_error(h, ["trace", "--check=most", "--", "true"], r"--check=most: expected off, fast or full")
    usage_error(h, ["report", "x", "--format", "xml"], r"--format xml: expected text or json")
    usage_error(h, ["report", "x", "--top", "0"], r"--top 0: expected a number of processes")
    usage_error(h, ["tune", "--runs", "0", "--", "true"], r"--runs 0: expected a whole number of runs")
    usage_error(h, ["trace", "--snapshot", "--live", "--", "true"], r"--snapshot and --live do not combine")
    # report's traces may come before, between and after options; all are read.
    missing = os.path.join(a.work, "no-such-trace")
    usage_error(h, ["report", "--format", "json", missing, "--top", "2"], r"no-such-trace: no such trace directory")
    usage_error(h, ["report", "--top", "2"], r"no trace given")
    # After '--' every word is CMD's, options included.
    p = run([h, "run", "--check=off", "--", "/bin/echo", "--check=most", "--frobnicate", "-o"])
    check(p.returncode == 0 and p.stdout == "--check=most --frobnicate -o\n",
          "hakmem run -- CMD passes CMD's options through (%d: %r %s)" % (p.returncode, p.stdout, p.stderr.strip()))
    p = run([h, "run", "/bin/echo", "--release"])
    check(p.returncode == 0 and p.stdout == "--release\n",
          "hakmem run CMD (no '--'): options after CMD are CMD's (%d: %r)" % (p.returncode, p.stdout))

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
