#!/usr/bin/python3
"""docs/guide-postmortem.md's quoted output, produced again: run the
guide's commands against the build (the mis-tuned reuse trace, its
report, the trace with the setting that report recommends, its report,
the JSON one-liner, hakmem tune and report --tune) and check that every
quoted line of the blocks marked '<!-- docs.guide_output: NAME -->' is a
line of the real output, once numbers, addresses, pids, dates, hosts and
paths are wildcards. Words, sections and field names must stay as quoted.

Exit status: 0 pass, 1 fail, 77 skip (no lttng or session daemon).
"""
import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys

SKIP = 77
MARK = re.compile(r"^<!-- docs\.guide_output: (\w+) -->\s*$")
# what each marked block quotes, in the order the guide runs them
BLOCKS = ("trace", "report", "reuse_applied", "report_applied", "json", "tune", "report_tune")
MISTUNED = {"HAKMEM_PURGE_DELAY_MS": "0", "HAKMEM_WARM_SUPERSLABS": "0"}
STATS_CHECK = "Check against process_stats:"
# The tracer's own allocations (LTTng-UST's thread) fault now and then: the
# quoted top of these lists must lead today's, which may be longer.
TOP_LISTS = ("top classes: ", "top SuperSlabs: ")
TUNE_VERDICTS = ("holds", "partly", "refuted", "saves", "no effect", "worse", "failed", "n/a")


class Fail(Exception):
    pass


def run(cmd, env=None, cwd=None, timeout=120, shell=False):
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run(cmd, env=full_env, cwd=cwd, shell=shell, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, errors="replace", timeout=timeout)
    if p.returncode != 0:
        raise Fail("%s exited %d\nstdout: %s\nstderr: %s" % (cmd if shell else " ".join(cmd), p.returncode,
                                                            p.stdout[-2000:], p.stderr[-2000:]))
    return p


def guide_blocks(lines):
    """{NAME: (first line index, quoted lines)} of the fenced block after
    each mark (other HTML comments may stand between the two)."""
    out = {}
    for i, line in enumerate(lines):
        m = MARK.match(line)
        if not m:
            continue
        j = i + 1
        while j < len(lines) and lines[j].startswith("<!--"):
            j += 1
        if j >= len(lines) or lines[j] != "```":
            raise Fail("guide line %d: the mark %s is not followed by a fenced block" % (i + 1, m.group(1)))
        end = lines.index("```", j + 1)
        out[m.group(1)] = (j + 1, lines[j + 1:end])
    return out


def command_before(lines, start):
    """The fenced block that ends closest above line index START (the
    command whose output the block at START quotes)."""
    end = max(i for i in range(start - 1) if lines[i] == "```")
    begin = max(i for i in range(end) if lines[i] == "```")
    return "\n".join(lines[begin + 1:end])


def shape(line):
    """A line without what differs between runs and machines."""
    line = re.sub(r"(pid \S+ on )[^\s),]+", r"\1HOST", line)
    line = re.sub(r"\S*/\S*", "PATH", line)
    line = re.sub(r"0x[0-9a-f]+", "ADDR", line)
    line = re.sub(r"[+-]?\d(?:[\d,]*\d)?(?:\.\d+)?", "#", line)
    line = re.sub(r"-{3,}", "---", line)  # table rules as wide as their column
    line = re.sub(r"\b(call site|trace)s\b", r"\1", line)  # plural or not as the count says
    return " ".join(line.split())


def matches(quoted, real):
    """A quoted line with '...' in it stands for any text there. An event
    LTTng drops while it sets up can turn the process_stats check to
    MISMATCH (the guide says so): that verdict is not the quote's."""
    if quoted.startswith(STATS_CHECK) and real.startswith(STATS_CHECK + " MISMATCH"):
        return True
    if quoted.startswith(TOP_LISTS) and real.startswith(quoted + ","):
        return True
    if "..." not in quoted:
        return quoted == real
    return re.fullmatch(".*".join(re.escape(part) for part in quoted.split("...")), real) is not None


FAILURES = []


def answers(real):
    """With several processes traced (every hakmem process of the user is),
    the report's Answer is one line each after 'Answer: ': each is compared
    as if it had the prefix."""
    out, inside = [], False
    for r in real:
        if not r:
            inside = False
        elif r.startswith("Answer: "):
            inside = True
        elif inside:
            r = "Answer: " + r
        out.append(r)
    return out


def compare(name, quoted, real_text):
    """Every quoted line (but a lone '...') is a line of the real output.
    A block that differs is noted in FAILURES, and the next is checked."""
    real = real_text.splitlines()
    shapes = [shape(r) for r in answers(real)]
    missing = []
    for q in quoted:
        if q.strip() == "...":
            continue
        sq = shape(q)
        if not any(matches(sq, s) for s in shapes):
            near = max(range(len(real)), key=lambda i: difflib.SequenceMatcher(None, sq, shapes[i]).ratio(),
                       default=None)
            missing.append("  guide:   %s\n  nearest: %s\n  (as compared: %r\n           vs %r)"
                           % (q, real[near] if near is not None else "-", sq,
                              shapes[near] if near is not None else "-"))
    if missing:
        FAILURES.append("guide block %s: %d line(s) differ from today's output:\n%s\n(today's output:)\n%s"
                        % (name, len(missing), "\n".join(missing), real_text))
        print("FAIL: guide block %s: %d line(s) differ from today's output" % (name, len(missing)))
        return
    print("ok: guide block %s: %d quoted lines are in today's output" % (name, len(quoted)))


def check_tune_table(quoted, real_text):
    """The table's header and rule as quoted; one row per arm, each ending
    in a verdict word (or none for the baseline)."""
    real = real_text.splitlines()
    head = next((i for i, r in enumerate(real) if r.startswith("setting ")), None)
    if head is None or not real[head + 1].startswith("---"):
        raise Fail("tune: no table header in today's output:\n%s" % real_text)
    qhead = next(i for i, q in enumerate(quoted) if q.startswith("setting "))
    for q, r in ((quoted[qhead], real[head]), (quoted[qhead + 1], real[head + 1])):
        if shape(q) != shape(r):
            raise Fail("tune: the table header changed:\n  guide: %s\n  today: %s" % (q, r))
    rows = []
    for r in real[head + 2:]:
        if not r.startswith(("baseline", "HAKMEM_")) or ": " in r.split("  ")[0]:
            break
        rows.append(r)
    if not rows or not rows[0].startswith("baseline (no setting)") or len(rows) < 3:
        raise Fail("tune: expected a baseline row, a recommendation row and the --try row:\n%s" % real_text)
    ncols = len(real[head + 1].split())
    for r in rows[1:]:
        if not any(r.rstrip().endswith("  " + v) for v in TUNE_VERDICTS):
            raise Fail("tune: row without a verdict word (%s): %s" % ("/".join(TUNE_VERDICTS), r))
        cells = re.split(r" {2,}", r.strip())
        if len(cells) != ncols:
            raise Fail("tune: row has %d columns, the header %d: %s" % (len(cells), ncols, r))
    print("ok: tune table: header as quoted, %d rows with %d columns and verdicts" % (len(rows), ncols))


def env_of(setting):
    return dict(kv.split("=", 1) for kv in setting.split())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hakmem", required=True, help="the build's bin/hakmem")
    ap.add_argument("--reuse", required=True, help="the build's bench/reuse")
    ap.add_argument("--guide", required=True, help="docs/guide-postmortem.md, or an edited copy")
    ap.add_argument("--out", required=True, help="directory for the traces (replaced)")
    a = ap.parse_args()

    if not shutil.which("lttng"):
        print("SKIP: lttng not found")
        return SKIP
    if subprocess.run(["pgrep", "-x", "lttng-sessiond"], stdout=subprocess.DEVNULL).returncode != 0:
        print("SKIP: no lttng-sessiond running (lttng-sessiond --daemonize)")
        return SKIP
    with open(a.guide, encoding="utf-8") as f:
        lines = f.read().splitlines()
    blocks = guide_blocks(lines)
    if sorted(blocks) != sorted(BLOCKS):
        raise Fail("the guide marks %s; expected exactly %s" % (sorted(blocks), sorted(BLOCKS)))
    quoted = {k: v[1] for k, v in blocks.items()}

    out = os.path.abspath(a.out)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    hakmem = os.path.abspath(a.hakmem)
    # hakmem trace records every hakmem process of the user, tune's tests
    # run bench/reuse too: ours runs under a name of its own (a procname
    # has at most 15 characters), read back as "reuse".
    name = "hkgo%d" % (os.getpid() % 100000)
    reuse = os.path.join(out, "bin", name)
    os.makedirs(os.path.dirname(reuse))
    os.symlink(os.path.abspath(a.reuse), reuse)
    cmd = [reuse, "16", "256", "in-order"]

    def real(p):
        return p.stdout.replace(name, "reuse")

    def trace(trace_dir, env):
        p = run([hakmem, "trace", "-o", os.path.join(out, trace_dir), "--"] + cmd, env=env)
        return real(p) + p.stderr

    compare("trace", quoted["trace"], trace("t1", MISTUNED))
    compare("report", quoted["report"], real(run([hakmem, "report", os.path.join(out, "t1")])))
    d = json.loads(run([hakmem, "report", "--format", "json", os.path.join(out, "t1")]).stdout)
    ps = sorted((p for p in d["processes"] if p["procname"] == name), key=lambda p: -p["faults"]["total"])
    if not ps or not ps[0]["recommendations"]:
        raise Fail("the mis-tuned reuse run has no recommendation: %s" % [p.get("procname") for p in d["processes"]])
    setting = ps[0]["recommendations"][0]["env"]
    print("ok: the first report recommends %s" % setting)
    applied = dict(MISTUNED)
    applied.update(env_of(setting))
    compare("reuse_applied", quoted["reuse_applied"], trace("t1e", applied))
    compare("report_applied", quoted["report_applied"], real(run([hakmem, "report", os.path.join(out, "t1e")])))

    # the guide's own loop, in the directory of these traces
    loop = command_before(lines, blocks["json"][0]).replace("/tmp/pm2", out).replace('"reuse"', '"%s"' % name)
    path = os.path.dirname(hakmem) + os.pathsep + os.environ.get("PATH", "")
    compare("json", quoted["json"], run(loop, env={"PATH": path}, cwd=out, shell=True).stdout)

    keep = os.path.join(out, "tune")
    t = run([hakmem, "tune", "--runs", "2", "--keep", keep, "--try", "HAKMEM_LARGE_CACHE_MB=128", "--"] + cmd,
            env=MISTUNED, timeout=180)
    check_tune_table(quoted["tune"], real(t))
    compare("tune", quoted["tune"], real(t))
    r = run([hakmem, "report", os.path.join(keep, "trace-baseline"), "--tune", os.path.join(keep, "tune.json")])
    compare("report_tune", quoted["report_tune"], real(r))
    if FAILURES:
        raise Fail("\n\n".join(FAILURES) + "\n\ndocs/guide-postmortem.md quotes output that the tools no longer "
                   "print: quote a real run (the traces are kept in %s)" % out)
    shutil.rmtree(out)  # passed
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Fail as e:
        print("FAIL:", e)
        sys.exit(1)
