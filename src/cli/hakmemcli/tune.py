"""hakmem tune: trace CMD once, then measure every recommended setting on
the whole process (untraced runs, alternating with the baseline) and say
whether the report's claim holds."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from . import lttng as lt
from . import report, trace, tuneresult
from .common import ArgParser, check_command, die, exit_status, note, preload, split_command

HELP = """usage: hakmem tune [--runs N] [--keep DIR] [--json FILE] [--html FILE]
                  [--try ENV=VALUE]... -- CMD [ARGS...]

Traces CMD once (as 'hakmem trace' does), reads the recommendations of the
process that faulted most, then runs CMD untraced on libhakmem.so without
any setting (the baseline) and with each recommended setting, alternating
(baseline, setting 1, setting 2, ..., baseline, ...), N times each. It
prints one row per setting: the claim, the whole-process minor faults
(median and range), the faults inside the baseline's storm windows, wall
time and peak RSS, each against the baseline, and a verdict: holds, partly
or refuted. Figures come from the kernel (wait4's rusage of CMD, which
includes the children CMD waited for).

  --runs N          untraced runs per arm, 1 to 1000 (default 5)
  --keep DIR        keep the traces, the run logs and tune.json in DIR
                    (default: a temporary directory, removed at the end)
  --json FILE       write the result as JSON to FILE
  --html FILE       render the result as a self-contained HTML page
  --try ENV=VALUE   also measure this setting (several VAR=VALUE pairs in
                    one quoted word for a combination); repeatable

'hakmem report TRACE --tune FILE' shows the measured figures beside the
report's estimates. docs/guide-postmortem.md gives the verdict rules.
"""

DEFAULT_RUNS = 5


def runs(text):
    return report.number(text, int, "--runs", "a whole number of runs from 1 to 1000", 1, 1000)


def setting(text):
    """--try's value: one or more VAR=VALUE pairs, in one word."""
    if tuneresult.parse_env(text) is None:
        die("--try %s: expected ENV=VALUE (or several, space-separated, in one word), "
            "e.g. --try HAKMEM_WARM_SUPERSLABS=8" % text)
    return " ".join(text.split())


def parse(args):
    opts, cmd = split_command(args)
    ap = ArgParser("tune", HELP)
    ap.add_argument("--runs", type=runs, default=DEFAULT_RUNS)
    ap.add_argument("--keep")
    ap.add_argument("--json")
    ap.add_argument("--html")
    ap.add_argument("--try", type=setting, action="append", default=[])
    ns = ap.parse(opts)
    if ns is None:
        sys.exit(0)
    o = {"runs": ns.runs, "keep": ns.keep, "json": ns.json, "html": ns.html, "try": getattr(ns, "try")}
    if not cmd:
        die("no command given; put it after '--', e.g. hakmem tune -- ./service --once")
    for opt in ("json", "html"):
        d = os.path.dirname(os.path.abspath(o[opt])) if o[opt] else None
        if d and not os.access(d, os.W_OK):
            die("--%s %s: cannot write in %s (%s); choose another file" % (
                opt, o[opt], d, "no such directory" if not os.path.isdir(d) else "permission denied"))
    return o, cmd


def base_env():
    """The environment every run starts from: the user's, untraced."""
    env = dict(os.environ)
    for k in ("HAKMEM_TRACE", "HAKMEM_TRACE_PER_CALL"):
        env.pop(k, None)
    return env


def with_setting(env, setting):
    env = dict(env)
    for k, v in tuneresult.parse_env(setting) if setting else ():
        env[k] = v
    return env


def spawn(cmd, env, log):
    """Runs CMD with its output appended to LOG; returns (status, rusage,
    pid, wall seconds, start and end in ns since the epoch)."""
    with open(log, "ab") as out:
        t0, w0 = time.time_ns(), time.monotonic()
        try:
            p = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        except OSError as e:
            die("cannot run %s: %s" % (cmd[0], e.strerror), 126)
        while True:
            try:
                _pid, status, ru = os.wait4(p.pid, 0)
                break
            except InterruptedError:
                continue
        wall = time.monotonic() - w0
        p.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait again
    return exit_status(p.returncode), ru, p.pid, wall, t0, time.time_ns()


def traced_run(layout, cmd, env, out, log):
    """CMD under an LTTng session set up as 'hakmem trace' sets it up."""
    o = {"live": False, "snapshot": False, "relay": None, "per_call": False}
    lt.ensure_sessiond()
    name = "hakmem-tune-%d-%s" % (os.getpid(), os.path.basename(out))
    trace.create_session(name, o, out)
    try:
        trace.setup_channel(o, name)
        lt.lttng("start", name)
        env = dict(env)
        preload(env, layout.library(False), "liblttng-ust-fork.so.1")
        env["HAKMEM_TRACE"] = "1"
        env["HAKMEM_TP_PATH"] = layout.provider()
        got = spawn(cmd, env, log)
        lt.lttng("stop", name)
        lost, packets = lt.discarded_events(name)
    finally:
        trace.destroy(name)
    if lost or packets:
        note("WARNING: the trace %s lost %d events; its counts are lower bounds" % (out, lost or 0))
    return got


def analyse(layout, trace_dir, path):
    report.main(layout, [trace_dir, "--format", "json", "-o", path])
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def cmd_processes(data, pid, t0, t1):
    """The processes of CMD in a report, most faults first, folded (small)
    ones left out: the process CMD started (its exec'd images included);
    failing that, those that lived within CMD's run (its children). The
    session records every traced process of the user, so others are not
    taken when CMD's own process is there."""
    slack = 500 * 10**6
    live = [p for p in data.get("processes") or () if not p.get("folded")]
    procs = [p for p in live if p.get("pid") == pid]
    if not procs:
        procs = [p for p in live if isinstance(p.get("begin_ns"), (int, float)) and t0 - slack <= p["begin_ns"]
                 and isinstance(p.get("end_ns"), (int, float)) and p["end_ns"] <= t1 + slack]
    return sorted(procs, key=lambda p: -p["faults"]["total"])


def recommendations(procs):
    """Rows for the recommendations of the process that faulted most (and
    of any other with at least half its faults), one per setting."""
    rows, seen, skipped = [], set(), []
    if not procs:
        return rows, skipped
    top = procs[0]["faults"]["total"]
    for p in procs:
        if p["faults"]["total"] * 2 < top:
            break
        for rec in p.get("recommendations") or ():
            env = " ".join(str(rec.get("env", "")).split())
            if tuneresult.parse_env(env) is None:
                skipped.append(env)
                continue
            if env in seen:
                continue
            seen.add(env)
            effect = rec.get("effect", "saves")
            claimed = rec.get("claimed_faults", rec.get("saves_faults"))
            rows.append({"env": env, "source": "recommendation", "action": rec.get("action"),
                         "rule": rec.get("rule"), "estimate": rec.get("estimate"),
                         "effect": "moves" if effect == "moves" else "saves",
                         "claimed_faults": claimed if isinstance(claimed, (int, float)) else 0,
                         "process": {"pid": p.get("pid"), "procname": p.get("procname")}})
    return rows, skipped


def output(path, keep, n=12):
    """The end of a run's output, for an error message."""
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    where = " (all of it in %s)" % path if keep else ""
    if not lines:
        return "It printed nothing%s." % where
    return "Its output ended%s:\n  %s" % (where, "\n  ".join(lines[-n:]))


def measure(layout, o, cmd, work):
    lib = layout.library(False)
    env0 = base_env()
    logs = os.path.join(work, "logs")
    os.makedirs(logs, exist_ok=True)

    # 1. the traced baseline and its recommendations
    note("tracing %s" % " ".join(cmd))
    base_trace = os.path.join(work, "trace-baseline")
    log = os.path.join(logs, "trace-baseline.log")
    status, _ru, pid, _w, t0, t1 = traced_run(layout, cmd, env0, base_trace, log)
    if status:
        die("%s exited with status %d in the traced baseline run; tune measures a command that succeeds. %s"
            % (" ".join(cmd), status, output(log, o["keep"])), 1)
    data = analyse(layout, base_trace, os.path.join(work, "report-baseline.json"))
    procs = cmd_processes(data, pid, t0, t1)
    notes = []
    if procs and all(p.get("pid") != pid for p in procs):
        notes.append("CMD's own process (pid %d) did little; measuring for the processes that ran within it: %s"
                     % (pid, ", ".join("%s (pid %s)" % (p["procname"], p["pid"]) for p in procs[:5])))
    if not procs:
        notes.append("the trace holds no hakmem process of CMD (was it run on libhakmem.so?)")
    rows, skipped = recommendations(procs)
    for env in skipped:
        notes.append("recommendation %r is not VAR=VALUE pairs; not measured" % env)
    if not rows:
        notes.append("the report has no recommendation for %s" % (
            "%s (pid %s)" % (procs[0]["procname"], procs[0]["pid"]) if procs else "CMD"))
    for env in o["try"]:
        if env not in [r["env"] for r in rows]:
            rows.append({"env": env, "source": "try", "effect": None, "claimed_faults": None})
    for n in notes:
        note(n)
    if not rows:
        die("nothing to measure: the report recommends no setting and no --try was given; add --try "
            "ENV=VALUE to measure a setting of your own", 1)

    # 2. one traced run per arm, for the faults inside the storm windows
    top = procs[0] if procs else None
    windows = tuneresult.storm_windows(top) if top else []
    base_storm = tuneresult.window_faults(top, windows) if windows else None
    if windows:
        for k, r in enumerate(rows, 1):
            note("tracing arm %d: %s" % (k, r["env"]))
            out = os.path.join(work, "trace-arm%d" % k)
            st, _ru, apid, _w, a0, a1 = traced_run(layout, cmd, with_setting(env0, r["env"]), out,
                                                   os.path.join(logs, "trace-arm%d.log" % k))
            if st:
                r["failed"] = st
                continue
            r["trace"] = out
            arm = cmd_processes(analyse(layout, out, os.path.join(work, "report-arm%d.json" % k)), apid, a0, a1)
            same = [p for p in arm if p.get("procname") == top.get("procname")] or arm
            got = tuneresult.window_faults(same[0], windows) if same else None
            if got is not None and base_storm is not None:
                r["storm_faults"] = {"baseline": base_storm, "arm": got, "diff": got - base_storm}
            if same:  # what the traced run took after its first event: less when faults moved to start-up
                r["traced_faults"] = {"baseline": top["faults"]["total"], "arm": same[0]["faults"]["total"]}

    # 3. the untraced runs, alternating
    arms = [None] + rows
    samples = [{"faults": [], "wall": [], "rss": []} for _ in arms]
    for n in range(o["runs"]):
        for k, r in enumerate(arms):
            if r is not None and r.get("failed"):
                continue
            env = with_setting(env0, r["env"] if r else None)
            preload(env, lib)
            what = "baseline" if r is None else "arm %d" % k
            note("run %d/%d, %s%s" % (n + 1, o["runs"], what, "" if r is None else ": " + r["env"]))
            alog = os.path.join(logs, "run-%s.log" % ("baseline" if r is None else "arm%d" % k))
            st, ru, _pid, wall, _a, _b = spawn(cmd, env, alog)
            if st and r is None:
                die("%s exited with status %d in baseline run %d (untraced); tune needs a command that "
                    "succeeds every time. %s" % (" ".join(cmd), st, n + 1, output(alog, o["keep"])), 1)
            if st:
                note("arm %d (%s) exited with status %d; not measured further" % (k, r["env"], st))
                r["failed"] = st
                continue
            samples[k]["faults"].append(ru.ru_minflt)
            samples[k]["wall"].append(wall)
            samples[k]["rss"].append(ru.ru_maxrss)

    def stats(s):
        return {"faults": tuneresult.summary(s["faults"]), "wall_s": tuneresult.summary(s["wall"]),
                "maxrss_kb": tuneresult.summary(s["rss"])}

    baseline = stats(samples[0])
    baseline["storm_faults"] = base_storm
    for k, r in enumerate(rows, 1):
        if not r.get("failed"):
            r.update(stats(samples[k]))
            r["faults_change"] = tuneresult.change(r["faults"]["median"], baseline["faults"]["median"])
            r["wall_change"] = tuneresult.change(r["wall_s"]["median"], baseline["wall_s"]["median"])
            r["maxrss_change"] = tuneresult.change(r["maxrss_kb"]["median"], baseline["maxrss_kb"]["median"])
        r["verdict"], r["verdict_why"] = tuneresult.verdict(r, baseline)
    return {
        "tool": tuneresult.TOOL, "schema": tuneresult.SCHEMA, "command": cmd,
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "runs": o["runs"], "library": lib,
        "host": os.uname().nodename,
        "process": {"pid": top["pid"], "procname": top["procname"], "faults": top["faults"]["total"]}
        if top else None,
        "storm_windows_ms": [[lo / 1e6, hi / 1e6] for lo, hi in windows],
        "baseline": baseline, "rows": rows, "notes": notes,
        "kept": os.path.abspath(o["keep"]) if o["keep"] else None,
    }


def write_json(path, result):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def render_html(layout, json_path, html):
    render = os.path.join(layout.viz_dir(), "render.py")
    if not os.path.exists(render):
        die("the HTML renderer is missing (%s)" % render)
    if subprocess.run(["/usr/bin/python3", render, "--tune", json_path, "-o", html]).returncode != 0:
        die("rendering %s failed" % html, 1)
    note("HTML written to %s" % html)


def main(layout, args):
    o, cmd = parse(args)
    lt.require_tools()
    check_command(cmd, dict(os.environ))
    layout.library(False)
    if not os.path.exists(layout.provider()):
        die("the tracepoint provider %s is missing; build hakmem with -DHAKMEM_TRACE=ON (the default) "
            "and liblttng-ust-dev installed" % layout.provider())
    if shutil.which("babeltrace2") is None:
        die("babeltrace2 not found; install it with: apt-get install babeltrace2")
    if o["keep"]:
        work = os.path.abspath(o["keep"])
        if os.path.isdir(work) and os.listdir(work):
            die("--keep %s exists and is not empty; choose another directory" % o["keep"])
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix="hakmem-tune-")
    try:
        try:
            result = measure(layout, o, cmd, work)
        except KeyboardInterrupt:
            die("interrupted; nothing was measured to the end%s" % (
                " (what ran is in %s)" % work if o["keep"] else ""), 130)
        sys.stdout.write(tuneresult.header_text(result))
        sys.stdout.write(tuneresult.table_text(result))
        sys.stdout.flush()
        js = os.path.join(work, "tune.json")
        write_json(js, result)
        if o["keep"]:
            note("traces, logs and tune.json kept in %s" % work)
        if o["json"]:
            write_json(o["json"], result)
        if o["html"]:
            render_html(layout, js, o["html"])
    finally:
        if not o["keep"]:
            shutil.rmtree(work, ignore_errors=True)
    return 0
