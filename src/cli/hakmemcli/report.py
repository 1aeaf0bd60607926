"""hakmem report: analyse traces with the sink.hakmem.report Babeltrace2
component, and optionally render the HTML report."""

import os
import shutil
import subprocess
import sys
import tempfile

from .common import die, note, option_value

HELP = """usage: hakmem report TRACE... [--format text|json] [-o FILE] [--html FILE]
                    [--storm-window-ms N] [--storm-threshold X]

Analyses one or more LTTng traces recorded by 'hakmem trace' (a trace
directory, a snapshot directory, or an lttng-relayd output tree holding
several hosts) and says why page faults dominate and what to change.

  --format F     text (default) or json (the input of viz)
  -o FILE        write the report to FILE instead of stdout
  --html FILE    also render a self-contained HTML report to FILE
  --storm-window-ms N, --storm-threshold X
                 storm detection: windows of N ms whose fault rate is more
                 than X times the run's median (defaults 10 and 4)
"""


def has_ctf(path):
    for root, _dirs, files in os.walk(path):
        if "metadata" in files:
            return True
    return False


def run_sink(layout, traces, fmt, out, extra):
    plugin_dir = layout.plugin_dir()
    if not os.path.exists(os.path.join(plugin_dir, "babeltrace-plugin-hakmem.so")):
        die("the analysis plugin is missing from %s; build hakmem with libbabeltrace2-dev installed" % plugin_dir)
    params = ['format="%s"' % fmt]
    if out:
        params.append('path="%s"' % out.replace('"', '\\"'))
    params += extra
    cmd = ["babeltrace2", "--plugin-path=" + plugin_dir] + traces + \
          ["-c", "sink.hakmem.report", "-p", ",".join(params)]
    p = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        msg = p.stderr.strip().splitlines()
        why = next((l for l in msg if "ERROR" in l or "rror" in l), msg[-1] if msg else "")
        die("could not analyse %s: babeltrace2 failed (exit %d). The trace may be truncated or corrupt "
            "(for example the traced process or the session daemon was killed mid-write). babeltrace2 said:\n  %s"
            % (" ".join(traces), p.returncode, "\n  ".join(msg[-8:]) if msg else why), 1)
    if p.stderr:
        sys.stderr.write(p.stderr)


def number(text, kind, name, expected):
    try:
        v = kind(text)
    except ValueError:
        v = None
    if v is None or v <= 0:
        die("%s %s: expected %s" % (name, text, expected))
    return v


def main(layout, args):
    traces, fmt, out, html, extra = [], "text", None, None, []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-h", "--help"):
            sys.stdout.write(HELP)
            return 0
        if a == "--format" or a.startswith("--format="):
            fmt, i = option_value(args, i, "--format")
            if fmt not in ("text", "json"):
                die("--format %s: expected text or json" % fmt)
            continue
        if a in ("-o", "--output") or a.startswith("--output="):
            out, i = option_value(args, i, "-o")
            continue
        if a == "--html" or a.startswith("--html="):
            html, i = option_value(args, i, "--html")
            continue
        if a == "--storm-window-ms" or a.startswith("--storm-window-ms="):
            v, i = option_value(args, i, "--storm-window-ms")
            extra.append("storm-window-ms=%d" % number(v, int, "--storm-window-ms", "a whole number of ms >= 1"))
            continue
        if a == "--storm-threshold" or a.startswith("--storm-threshold="):
            v, i = option_value(args, i, "--storm-threshold")
            extra.append("storm-threshold=%f" % number(v, float, "--storm-threshold", "a number > 1, e.g. 4"))
            continue
        if a.startswith("-"):
            die("report: unknown option %s (see hakmem report --help)" % a)
        traces.append(a)
        i += 1
    if not traces:
        die("no trace given; usage: hakmem report TRACE... (see hakmem report --help)")
    if shutil.which("babeltrace2") is None:
        die("babeltrace2 not found; install it with: apt-get install babeltrace2")
    for t in traces:
        if not os.path.isdir(t):
            die("%s: no such trace directory" % t)
        if not has_ctf(t):
            die("%s holds no CTF trace (no 'metadata' file below it); pass the directory 'hakmem trace' "
                "printed" % t)
    run_sink(layout, traces, fmt, out, extra)
    if html:
        with tempfile.TemporaryDirectory() as tmp:
            js = os.path.join(tmp, "report.json")
            run_sink(layout, traces, "json", js, extra)
            render = os.path.join(layout.viz_dir(), "render.py")
            if not os.path.exists(render):
                die("the HTML renderer is missing (%s)" % render)
            p = subprocess.run(["/usr/bin/python3", render, js, "-o", html])
            if p.returncode != 0:
                die("rendering %s failed" % html, 1)
            note("HTML report written to %s" % html)
    return 0
