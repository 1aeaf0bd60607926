#!/usr/bin/python3
"""Faults by call site, end to end: `hakmem trace` records a program whose
three call sites touch fresh pages in the ratio 3:2:1 (callsite/csprog.c,
one of them in its own shared library), `hakmem report` names each one,
and the test checks the names, file:line, order and shares. Real
lttng-sessiond, real babeltrace2.

  linked    csprog built -g -O0 (PIE), libcsfill.so linked in
  dlopen    the same, with libcsfill.so dlopen'd by main after tracing started
  o2        csprog and libcsfill.so built -g -O2 (no frame pointers)
  stripped  linked, with both binaries stripped: module+offset rows
  debugdir  stripped, with the debug files under DIR/.build-id: function
            (file:line) again, from the sink parameter debug-dir and from
            hakmem report --debug-dir DIR; without it, module+offset
  storm     the analysis workload's carve storm: the storm's row names its
            call site in workload.c (the caller of xmalloc, a wrapper
            inlined into it), and so does the prewarm advice

Exit status: 0 pass, 1 fail, 77 skip.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
from analysis_lib import SKIP, Fail, check, run  # noqa: E402

TRUTH = {"load_index": 50.0, "cache_fill": 100.0 / 3, "read_records": 100.0 / 6}
SOURCE = {"load_index": ("csprog.c", "malloc(256)"), "cache_fill": ("csfill.c", "malloc(block)"),
          "read_records": ("csprog.c", "malloc(1000)")}


def malloc_line(src_dir, name):
    """The line of the malloc call of call site `name` in its source."""
    path, call = SOURCE[name]
    with open(os.path.join(src_dir, path)) as f:
        for i, line in enumerate(f, 1):
            if call in line:
                return path, i
    raise Fail("%s not found in %s" % (call, path))


def strip_copy(src, dst, debug_dir=None):
    shutil.copy(src, dst)
    if debug_dir:
        # What a Debian -dbgsym package installs: the debug file under its build id.
        out = run(["readelf", "-n", dst]).stdout
        bid = re.search(r"Build ID: ([0-9a-f]+)", out).group(1)
        d = os.path.join(debug_dir, ".build-id", bid[:2])
        os.makedirs(d, exist_ok=True)
        run(["objcopy", "--only-keep-debug", src, os.path.join(d, bid[2:] + ".debug")])
    run(["strip", "--strip-all", dst])


def the_process(js, name):
    d = json.loads(js)
    ps = [p for p in d["processes"] if p["procname"] == name]
    check(len(ps) == 1, "one process named %s in the report" % name)
    return ps[0]


def trace_and_report(a, work, name, prog_args, debug=None):
    tdir = os.path.join(work, "trace")
    run([a.hakmem, "trace", "-o", tdir, "--"] + prog_args, timeout=600)
    report = [a.hakmem, "report", tdir, "--process", name]
    if debug:
        # the sink's own parameter, then hakmem report --debug-dir: the same report
        bt = ["babeltrace2", "--plugin-path=" + a.plugin_dir, tdir, "-c", "sink.hakmem.report", "-p"]
        par = 'process="%s",debug-dir="%s"' % (name, debug)
        check_named(a, the_process(run(bt + [par + ',format="json"']).stdout, name), run(bt + [par]).stdout)
        report += ["--debug-dir", os.path.relpath(debug)]
    txt = run(report).stdout
    js = run(report + ["--format", "json"]).stdout
    print(txt)
    return the_process(js, name), txt


def top_sites(p):
    cs = p.get("callsites")
    check(cs is not None and cs["sites"], "the report has faults by call site")
    # the three big ones; the program's own bookkeeping (keep's realloc) is small
    big = [s for s in cs["sites"] if s["share"] >= 0.05]
    check(len(big) == 3, "three call sites hold at least 5%% each (%s)" %
          ", ".join("%s %.1f%%" % (s["site"], 100 * s["share"]) for s in cs["sites"][:6]))
    return big


def check_shares(big):
    for s, (name, truth) in zip(big, sorted(TRUTH.items(), key=lambda kv: -kv[1])):
        check(abs(100 * s["share"] - truth) <= 5,
              "%s: %.1f%% of the allocator faults, truth %.1f%% (within 5 points)" % (s["site"], 100 * s["share"],
                                                                                    truth))


def check_named(a, p, txt):
    big = top_sites(p)
    want = sorted(TRUTH, key=lambda n: -TRUTH[n])
    check([s["function"] for s in big] == want, "call sites in order %s (got %s)" % (
        want, [s["site"] for s in big]))
    for s in big:
        path, line = malloc_line(a.src, s["function"])
        check(s["file"] and os.path.basename(s["file"]) == path and s["line"] == line,
              "%s at %s:%d (got %s:%s)" % (s["function"], path, line, s["file"], s["line"]))
        label = "%s (%s:%d)" % (s["function"], path, line)
        check(label in txt, "the text report names %s" % label)
        check(len(s["stack"]) >= 2 and s["stack"][1]["function"] == "main",
              "%s's stack goes on to main" % s["function"])
    check_shares(big)


def programs(a, work, kind):
    """Copies of the test programs under a name of this run's own (the
    session records every traced process of the user)."""
    tag = "cs%d" % (os.getpid() % 100000)
    name = tag + ("dl" if kind == "dlopen" else "")
    bindir = os.path.join(work, "bin")
    os.makedirs(bindir)
    debug = os.path.join(work, "debug") if kind == "debugdir" else None
    if kind in ("stripped", "debugdir"):
        strip_copy(a.csprog, os.path.join(bindir, name), debug)
        strip_copy(a.csfill, os.path.join(bindir, "libcsfill.so"), debug)
    else:
        src = {"dlopen": a.csprog_dl, "o2": a.csprog_o2}.get(kind, a.csprog)
        lib = a.csfill_o2 if kind == "o2" else a.csfill
        shutil.copy(src, os.path.join(bindir, name))
        shutil.copy(lib, os.path.join(bindir, "libcsfill.so"))
    return name, bindir, debug


def debugdir_cli_checks(a, work, name):
    """Without --debug-dir the stripped binaries are module+offset rows
    (so the names come from DIR), and a DIR that is not there is a usage
    error that names it."""
    tdir = os.path.join(work, "trace")
    p = the_process(run([a.hakmem, "report", tdir, "--process", name, "--format", "json"]).stdout, name)
    check(all(not s["file"] for s in top_sites(p)), "without --debug-dir: no file:line")
    missing = os.path.join(work, "no-such-dir")
    e = subprocess.run([a.hakmem, "report", tdir, "--debug-dir", missing], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    check(e.returncode == 2 and "--debug-dir %s: no such directory" % missing in e.stderr,
          "--debug-dir on a missing directory: exit 2 naming it (%d: %s)" % (e.returncode, e.stderr.strip()))
    e = subprocess.run([a.hakmem, "report", tdir, "--debug-dir"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True)
    check(e.returncode == 2 and "--debug-dir needs a value" in e.stderr,
          "--debug-dir without a value: exit 2 (%d: %s)" % (e.returncode, e.stderr.strip()))


def case_storm(a, work):
    name = "cs%dwl" % (os.getpid() % 100000)
    prog = os.path.join(work, name)
    shutil.copy(a.workload, prog)
    tdir = os.path.join(work, "trace")
    run([a.hakmem, "trace", "-o", tdir, "--", prog, "storm"], timeout=600)
    # 50 ms windows, as analysis.storm: the burst is one storm even when a
    # loaded machine stretches it
    par = ["--process", name, "--storm-window-ms", "50"]
    p = json.loads(run([a.hakmem, "report", tdir, "--format", "json"] + par).stdout)
    p = [x for x in p["processes"] if x["procname"] == name][0]
    txt = run([a.hakmem, "report", tdir] + par).stdout
    print(txt)
    late = [s for s in p["storms"] if s["begin_ns"] - p["begin_ns"] >= 1000 * 10**6]
    check(late, "a storm after the quiet period")
    # xmalloc, a wrapper always inlined into storm(), names its caller at
    # the line of the burst's call
    with open(os.path.join(a.src, "..", "workload.c")) as f:
        src = f.read().splitlines()
    begin = next(i for i, l in enumerate(src) if l.startswith("static int storm("))
    line = next(i + 1 for i in range(begin, len(src)) if "p[i] = xmalloc(size);" in src[i])
    want = "storm (workload.c:%d)" % line
    for s in late:
        top = s["callsites"][0] if s.get("callsites") else None
        check(top and top["site"] == want and top["share"] >= 0.5,
              "the storm's top call site is %s with most of its faults: %s" % (want, top))
    r = [x for x in p["recommendations"] if x["rule"] == 1]
    check(r and r[0]["callsite"] and "workload.c:" in r[0]["callsite"],
          "the prewarm advice names the call site: %s" % (r and r[0]["callsite"]))
    check(re.search(r"^Answer: .*Do: .*; most of the storm(?:'s|s') faults come from `[^`]*workload\.c:\d+\)`",
                    txt, re.M), "the Do line names the call site")
    check(re.search(r"^  \+\d+\.\.\+\d+ ms: .*; from [^ ]+ \(workload\.c:\d+\) \d+%", txt, re.M),
          "the storm's row names its call site")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=["linked", "dlopen", "o2", "stripped", "debugdir", "storm"])
    ap.add_argument("--hakmem", required=True)
    ap.add_argument("--csprog", required=True)
    ap.add_argument("--csprog-dl", required=True)
    ap.add_argument("--csprog-o2", required=True)
    ap.add_argument("--csfill", required=True)
    ap.add_argument("--csfill-o2", required=True)
    ap.add_argument("--src", required=True, help="tests/analysis/callsite")
    ap.add_argument("--plugin-dir", required=True)
    ap.add_argument("--workload", required=True, help="tests/analysis/workload")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    for tool in ("lttng", "babeltrace2", "lttng-sessiond", "strip", "objcopy", "readelf"):
        if not shutil.which(tool):
            print("SKIP: %s not installed" % tool)
            return SKIP
    work = os.path.join(os.path.abspath(a.out), "callsite-" + a.case)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        if a.case == "storm":
            case_storm(a, work)
            shutil.rmtree(work, ignore_errors=True)
            print("PASS")
            return 0
        name, bindir, debug = programs(a, work, a.case)
        # libcsfill.so is found beside the program (csprog's RPATH is $ORIGIN)
        args = [os.path.join(bindir, name)] + ([bindir] if a.case == "dlopen" else [])
        p, txt = trace_and_report(a, work, name, args, debug)
        if a.case == "debugdir":
            debugdir_cli_checks(a, work, name)
        if a.case == "stripped":
            big = top_sites(p)
            for s in big:
                check(re.search(r"\+0x[0-9a-f]+", s["site"]) and not s["file"],
                      "stripped: %s is a module+offset row" % s["site"])
            check_shares(big)
        else:
            check_named(a, p, txt)
    except Fail as e:
        print("FAIL:", e)
        print("(kept %s)" % work)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
