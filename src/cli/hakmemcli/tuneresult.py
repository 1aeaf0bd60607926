"""What hakmem tune measured, judged and written down: summaries of the
runs, the faults inside storm windows, the verdict rules, the text table,
and the measured figures added to a report (hakmem report --tune).

The rules are documented in docs/guide-postmortem.md ("Measuring the
advice: hakmem tune"); keep the two in step."""

import json
import re
import statistics

from .common import die

TOOL = "hakmem tune"
SCHEMA = 1

# A claim holds when at least this share of it is measured.
HOLDS_SHARE = 0.70
# Whole-process faults may rise by this much before a setting counts as
# costing faults (a prewarm moves faults, it must not add them).
RISE_LIMIT = 0.02
# Changes smaller than this share of the baseline's median are noise.
NOISE_SHARE = 0.01

ENV_PAIR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=\S*\Z")


def parse_env(text):
    """'A=1 B=2' -> [('A', '1'), ('B', '2')]; None when a word is not VAR=VALUE."""
    words = text.split()
    if not words or not all(ENV_PAIR.match(w) for w in words):
        return None
    return [tuple(w.split("=", 1)) for w in words]


def summary(values):
    """Median, min, max and every run of a list of numbers."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": list(values)}


def change(arm, base):
    """Difference and percent of two medians (None without a baseline)."""
    diff = arm - base
    return {"diff": diff, "pct": 100.0 * diff / base if base else None}


def window_faults(proc, windows):
    """Faults of PROC's timeline inside WINDOWS (pairs of ns since the
    process's first event). A bucket straddling a window edge counts in
    proportion to its overlap."""
    timeline, width = proc.get("timeline"), proc.get("timeline_bucket_ns") or proc.get("storm_window_ns")
    if not isinstance(timeline, list) or not width or not isinstance(proc.get("begin_ns"), (int, float)):
        return None
    total = 0.0
    for b in timeline:
        start = b["t_ns"] - proc["begin_ns"]
        for lo, hi in windows:
            overlap = min(start + width, hi) - max(start, lo)
            if overlap > 0:
                total += b["faults"] * overlap / width
    return int(round(total))


def storm_windows(proc):
    """The storms of PROC as (start, end) ns since its first event."""
    return [(s["begin_ns"] - proc["begin_ns"], s["end_ns"] - proc["begin_ns"])
            for s in proc.get("storms") or ()]


def verdict(row, base):
    """(verdict, why) for one arm against the baseline, by the documented rules."""
    if row.get("failed"):
        return "failed", "CMD exited with status %d under this setting" % row["failed"]
    b, a = base["faults"]["median"], row["faults"]["median"]
    saving = b - a
    noise = max(NOISE_SHARE * b, 1)
    rose = a > b * (1 + RISE_LIMIT)
    effect, claim = row.get("effect"), row.get("claimed_faults")
    if effect is None:  # a --try arm claims nothing
        if saving > noise:
            return "saves", "whole-process faults fell by %d (%.1f%%)" % (saving, 100.0 * saving / b)
        if -saving > noise:
            return "worse", "whole-process faults rose by %d (%.1f%%)" % (-saving, -100.0 * saving / b)
        return "no effect", "whole-process faults changed by %s, within %.0f%% of the baseline" % (
            _signed(-saving), 100 * NOISE_SHARE)
    if effect == "moves":
        after = row.get("traced_faults")
        v, why = _moves(row, b, a, saving, rose, claim)
        if after:
            why += "; after start-up the traced run took %d faults, against %d" % (after["arm"], after["baseline"])
        return v, why
    return _saves(row, b, a, saving, noise, claim)


def _moves(row, b, a, saving, rose, claim):
    """A setting that moves CLAIM faults out of the storms into start-up."""
    storm = row.get("storm_faults")
    if storm is None:
        return "n/a", "the baseline trace has no storm window to measure the move in"
    fell = storm["baseline"] - storm["arm"]
    if rose:
        return "refuted", "whole-process faults rose by %d (%.1f%%, more than %d%%)" % (
            -saving, -100.0 * saving / b, 100 * RISE_LIMIT)
    if fell <= 0:
        return "refuted", "the faults inside the storm windows did not fall (%d -> %d)" % (
            storm["baseline"], storm["arm"])
    share = fell / claim if claim else 1.0
    if share >= HOLDS_SHARE:
        return "holds", "%d of the %d faults claimed left the storm windows (%d%%); whole process %s" % (
            fell, claim, round(100 * share), _signed(-saving))
    return "partly", "only %d of the %d faults claimed left the storm windows (%d%%)" % (
        fell, claim, round(100 * share))


def _saves(row, b, a, saving, noise, claim):
    """A setting that saves CLAIM faults on the whole process."""
    if saving <= noise:
        return "refuted", "whole-process faults %s: %d -> %d (%+.1f%%; changes within %d%% are noise)" % (
            "rose" if saving < 0 else "did not fall", b, a, -100.0 * saving / b, 100 * NOISE_SHARE)
    share = saving / claim if claim else 1.0
    if share >= HOLDS_SHARE and row["faults"]["max"] < b:
        return "holds", "saved %d of the %d faults claimed (%d%%)" % (saving, claim, round(100 * share))
    if share >= HOLDS_SHARE:
        return "partly", "saved %d of the %d claimed (%d%%), but the worst run (%d) was no better than " \
            "the baseline's median (%d)" % (saving, claim, round(100 * share), row["faults"]["max"], b)
    return "partly", "saved %d of the %d faults claimed (%d%%, below %d%%)" % (
        saving, claim, round(100 * share), 100 * HOLDS_SHARE)


# ---- the text table ------------------------------------------------------


def _n(v):
    return "n/a" if v is None else "{:,}".format(int(round(v)))


def _pct(c):
    return "" if c["pct"] is None else " (%+.1f%%)" % c["pct"]


def _signed(v):
    return "%+d" % v if float(v).is_integer() else "%+.1f" % v


def _faults(s):
    return "%s (%s..%s)" % (_n(s["median"]), _n(s["min"]), _n(s["max"]))


def claim_words(row):
    if row.get("effect") is None:
        return "(--try)"
    verb = "moves" if row["effect"] == "moves" else "saves"
    return "%s ~%s" % (verb, _n(row["claimed_faults"]))


def _arm_cells(row, base):
    if row.get("failed"):
        return ["exit %d" % row["failed"]] + [""] * 4
    storm = row.get("storm_faults")
    return [
        _faults(row["faults"]),
        _signed(row["faults_change"]["diff"]) + _pct(row["faults_change"]),
        "n/a" if storm is None else "%s (%+d)" % (_n(storm["arm"]), storm["arm"] - storm["baseline"]),
        "%.3f s%s" % (row["wall_s"]["median"], _pct(row["wall_change"])),
        "%s KiB%s" % (_n(row["maxrss_kb"]["median"]), _pct(row["maxrss_change"])),
    ]


def table_text(result):
    """The result as the table hakmem tune prints."""
    base = result["baseline"]
    storm = base.get("storm_faults")
    head = ["setting", "claim", "minor faults (median, min..max)", "vs baseline", "in storm windows",
            "wall (median)", "peak RSS (median)", "verdict"]
    rows = [["baseline (no setting)", "", _faults(base["faults"]), "", _n(storm) if storm is not None else "n/a",
             "%.3f s" % base["wall_s"]["median"], "%s KiB" % _n(base["maxrss_kb"]["median"]), ""]]
    for r in result["rows"]:
        rows.append([r["env"], claim_words(r)] + _arm_cells(r, base) + [r["verdict"]])
    widths = [max(len(x[i]) for x in [head] + rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(x, widths)).rstrip() for x in [head] + rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in result["rows"]:
        lines.append("%s: %s: %s" % (r["env"], r["verdict"], r["verdict_why"]))
    return "\n".join(lines) + "\n"


def header_text(result):
    return "hakmem tune: %s\n  %s, %d untraced runs per arm, alternating; library %s\n" % (
        " ".join(result["command"]), result["date"], result["runs"], result["library"])


# ---- hakmem report --tune ------------------------------------------------


def load(path):
    """A tune result written by hakmem tune --json or --keep, checked."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as e:
        die("--tune %s: cannot read it (%s)" % (path, e.strerror))
    except ValueError as e:
        die("--tune %s: not JSON (%s); pass the file hakmem tune --json wrote" % (path, e))
    if not isinstance(data, dict) or data.get("tool") != TOOL or not isinstance(data.get("rows"), list) \
            or not isinstance(data.get("baseline"), dict):
        die("--tune %s: not a hakmem tune result (no \"tool\": \"%s\" with baseline and rows); pass the "
            "file hakmem tune --json wrote" % (path, TOOL))
    return data


def measured(row):
    """What a report shows beside an estimate."""
    keys = ("verdict", "verdict_why", "faults", "faults_change", "storm_faults", "wall_s", "wall_change",
            "maxrss_kb", "maxrss_change", "runs")
    return {k: row.get(k) for k in keys if k in row}


def measured_words(row):
    if row.get("failed"):
        return "measured: CMD failed (exit %d) with this setting" % row["failed"]
    s = "measured by hakmem tune: %s; whole process %s faults%s (median of %d runs)" % (
        row["verdict"], _signed(row["faults_change"]["diff"]), _pct(row["faults_change"]), len(row["faults"]["runs"]))
    if row.get("storm_faults") is not None:
        st = row["storm_faults"]
        s += ", storm windows %s -> %s" % (_n(st["baseline"]), _n(st["arm"]))
    return s


def annotate_json(report, tune):
    """Adds 'measured' to each recommendation tune measured (matched by its
    setting), and the whole tune result under 'tune'."""
    by_env = {" ".join(r["env"].split()): r for r in tune["rows"]}
    for proc in report.get("processes") or ():
        for rec in proc.get("recommendations") or ():
            row = by_env.get(" ".join(str(rec.get("env", "")).split()))
            if row:
                rec["measured"] = measured(row)
    report["tune"] = tune
    return report


REC_LINE = re.compile(r"^(\s*)\d+\. ")


def annotate_text(text, tune):
    """Puts a 'measured' line under each recommendation of the text report
    whose setting tune measured; rows no recommendation matched, and the
    baseline, follow in a block of their own."""
    by_env = {" ".join(r["env"].split()): r for r in tune["rows"]}
    used, out = set(), []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        out.append(line)
        m = REC_LINE.match(line)
        row = None
        if m:  # "  1. ACTION: SETTING  (saves ...)": the whole setting, not a part of a combination
            flat = " ".join(line.split())
            row = next((r for env, r in by_env.items() if ": %s (" % env in flat or flat.endswith(": " + env)),
                       None)
        if row is None:
            i += 1
            continue
        indent = len(m.group(1))
        i += 1
        while i < len(lines) and lines[i].strip() and len(lines[i]) - len(lines[i].lstrip()) > indent:
            out.append(lines[i])
            i += 1
        out.append(" " * (indent + 3) + measured_words(row))
        used.add(" ".join(row["env"].split()))
    out.append("")
    out.append("Measured by hakmem tune (%s, %d runs per arm): %s" % (
        tune["date"], tune["runs"], " ".join(tune["command"])))
    base = tune["baseline"]
    out.append("  baseline: %s minor faults (median), %.3f s, %s KiB peak RSS" % (
        _n(base["faults"]["median"]), base["wall_s"]["median"], _n(base["maxrss_kb"]["median"])))
    for r in tune["rows"]:
        if " ".join(r["env"].split()) not in used:
            out.append("  %s %s: %s" % (r["env"], claim_words(r), measured_words(r)))
    return "\n".join(out) + "\n"
