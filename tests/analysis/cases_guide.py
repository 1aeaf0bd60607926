"""Cases on the docs and channels: docs/guide-postmortem.md's quoted
reports stay real, and the channels' events agree."""
import os
import re
import shutil

from analysis_lib import Fail, check, check_claim, env_of, main_proc, rec, run


# ---- docs/guide-postmortem.md: its quoted reports stay real ----

GUIDE_MARK = re.compile(r"^<!-- checked by analysis\.guide: (\w+) -->\s*$")


def guide_blocks(text):
    """The fenced blocks that follow a '<!-- checked by analysis.guide:
    NAME -->' line, by NAME."""
    lines, out = text.splitlines(), {}
    for i, line in enumerate(lines):
        m = GUIDE_MARK.match(line)
        if not m:
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            raise Fail("guide: the %s mark is not followed by a fenced block" % m.group(1))
        end = lines.index("```", i + 2)
        out[m.group(1)] = lines[i + 2:end]
    return out


def shape(line, procname):
    """A report line without what differs between runs and machines: the
    pid, host, paths, addresses and every number. The process_stats check
    may miss an event LTTng drops while it sets itself up: its verdict is
    not the rules' output either."""
    if line.startswith("Check against process_stats:"):
        return "Check against process_stats:"
    line = line.replace(procname, "reuse")
    line = re.sub(r"pid \d+ on [^\s),]+", "pid N on HOST", line)
    line = re.sub(r"\S*/\S*", "PATH", line)
    line = re.sub(r"0x[0-9a-f]+", "ADDR", line)
    return re.sub(r"\d+(\.\d+)?", "#", line)


CLAIM = re.compile(r"(saves|moves) ~(\d+) faults")


def compare_block(name, quoted, real, procname):
    """Each run of quoted lines between '...' lines matches consecutive
    report lines, in order, shape for shape; the faults a recommendation
    claims are within 20% of the quoted figure."""
    segments, cur = [], []
    for q in quoted:
        if q.strip() == "...":
            segments.append(cur)
            cur = []
        else:
            cur.append(q)
    segments.append(cur)
    real = real.splitlines()
    shapes = [shape(r, procname) for r in real]
    at = 0
    for seg in segments:
        if not seg:
            continue
        want = [shape(q, procname) for q in seg]
        found = next((i for i in range(at, len(real) - len(seg) + 1) if shapes[i:i + len(seg)] == want), None)
        if found is None:
            near = next((i for i in range(at, len(real)) if shapes[i] == want[0]), at)
            diff = [(q, r) for q, r in zip(seg, real[near:near + len(seg)]) if shape(q, procname) != shape(r, procname)]
            raise Fail("guide block %s no longer matches the report; first difference:\n  guide:  %s\n  report: %s\n"
                       "(the whole report:)\n%s" % (name, diff[0][0] if diff else seg[0], diff[0][1] if diff else "-",
                                                    "\n".join(real)))
        for q, r in zip(seg, real[found:found + len(seg)]):
            for (qe, qn), (re_, rn) in zip(CLAIM.findall(q), CLAIM.findall(r)):
                check(qe == re_ and abs(int(rn) - int(qn)) <= 0.2 * int(qn),
                      "guide %s: the claim '%s ~%s faults' is within 20%% of today's %s ~%s" % (name, qe, qn, re_, rn))
        at = found + len(seg)
    check(True, "guide block %s matches the report (%d lines)" % (name, len(quoted)))


def case_guide(c):
    """docs/guide-postmortem.md's example, run again: its quoted reports
    are what the current rules print, its recommendation saves what it
    claims, and once applied no rule fires."""
    with open(os.path.join(c.a.source, "docs", "guide-postmortem.md"), encoding="utf-8") as f:
        blocks = guide_blocks(f.read())
    check(set(blocks) == {"mistuned", "applied"}, "the guide marks its two reports: %s" % sorted(blocks))
    # reuse under the procname the session records
    bindir = os.path.join(c.out, "bin-guide-reuse")
    shutil.rmtree(bindir, ignore_errors=True)
    os.makedirs(bindir)
    reuse = os.path.join(bindir, c.wl_name)
    os.symlink(os.path.abspath(c.a.reuse), reuse)
    cmd = [reuse, "16", "256", "in-order"]
    base = {"HAKMEM_PURGE_DELAY_MS": "0", "HAKMEM_WARM_SUPERSLABS": "0"}
    path, _ = c.record("guide-mistuned", cmd, env=base, statedump=True)
    t = c.bt([path])
    compare_block("mistuned", blocks["mistuned"], t.stdout, c.wl_name)
    p = main_proc(c.report_json([path]), c.wl_name)
    r = p["recommendations"][0]
    check_claim(c, cmd, base, r)
    applied = dict(base)
    applied.update(env_of(r["env"]))
    path, _ = c.record("guide-applied", cmd, env=applied, statedump=True)
    compare_block("applied", blocks["applied"], c.bt([path]).stdout, c.wl_name)

def case_channels(c):
    """What hakmem trace records (docs/architecture.md, "Two channels"):
    the page-fault counter on the events that can claim and on
    hakmem:tick only. The storm is still found, in its class and with its
    advice; counts and attribution stay exact, with threads too."""
    if not c.a.hakmem:
        raise Fail("--hakmem (bin/hakmem) is needed")

    def trace(name, cmd):
        path = os.path.join(c.out, name)
        shutil.rmtree(path, ignore_errors=True)
        r = run([c.a.hakmem, "trace", "-o", path, "--"] + cmd)
        check("hakmem: 0 events discarded" in r.stderr, "%s: no event discarded" % name)
        return path

    path = trace("channels-storm", [c.workload, "storm"])
    p = main_proc(c.report_json([path], ",storm-window-ms=50"), c.wl_name)
    check(p["faults"]["source"] == "perf-context", "perf context used")
    sc = p["stats_check"]
    check(sc["match"] and sc["exact"], "event counts equal the process_stats counters: %s" % sc)
    late = [s for s in p["storms"] if s["begin_ns"] - p["begin_ns"] >= 1000 * 10**6]
    check(len(late) >= 1, "a storm after the quiet period: %s" % p["storms"])
    check(all(s["cause"] == "superslab_carve" and s.get("class") == "79" for s in late),
          "storm cause superslab_carve, class 79: %s" % late)
    carve = sum(s["by_cause"]["superslab_carve"] for s in late)
    check(carve >= 2048, "the storms hold most of the burst's 4096 carved pages (%d)" % carve)
    r = rec(p, 1)
    check(r is not None and "79:" in r["env"], "rule 1 prewarms the 79-byte class: %s" % (r and r["env"]))
    path = trace("channels-threads", [c.workload, "threads"])
    p = main_proc(c.report_json([path]), c.wl_name)
    check(p["faults"]["allocator"] > 0 and p["refill"]["count"] > 0, "threads analysed")
    for name, v in p["stats_check"]["counters"].items():
        gap = v["process_stats"] - v["events"]
        check(0 <= gap <= max(3, v["process_stats"] // 1000),
              "threads: %s: %d events for %d counted" % (name, v["events"], v["process_stats"]))
