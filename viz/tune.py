"""The hakmem tune page, and the measured figures a report page shows
beside its estimates: one row per setting with the claim, the
whole-process minor faults, the faults inside the storm windows, wall time
and peak RSS against the baseline, and the verdict; a chart of claimed
against measured faults."""

from markup import Raw, chart, code, join, page, setting, table, tag
from model import Checker, InputError
from story import num
from svgfig import COUNTS, OKABE_ITO as C, new_figure, plain, to_svg

TUNE_HINT = "is this a hakmem tune result (hakmem tune --json FILE)?"
VERDICT_CLASS = {"refuted": "fail", "worse": "fail", "failed": "fail"}


def check(data):
    """The tune JSON, checked: a baseline and rows with their figures."""
    c = Checker(TUNE_HINT)
    if not isinstance(data, dict) or data.get("tool") != "hakmem tune":
        raise InputError("the JSON has no \"tool\": \"hakmem tune\": %s" % TUNE_HINT)
    c.get(data, "", "command", "list")
    c.get(data, "", "runs", "number")
    base = c.get(data, "", "baseline", "object")
    for k in ("faults", "wall_s", "maxrss_kb"):
        c.get(c.get(base, "baseline", k, "object"), "baseline." + k, "median", "number")
    for i, r in enumerate(c.get(data, "", "rows", "list")):
        path = "rows[%d]" % i
        c.get(r, path, "env", "string")
        c.get(r, path, "verdict", "string")
        if not r.get("failed"):
            for k in ("faults", "faults_change", "wall_s", "maxrss_kb"):
                c.get(r, path, k, "object")
    return data


def signed(v, unit=""):
    return ("+" if v > 0 else "") + num(round(v)) + unit


def change(c):
    if c.get("pct") is None:
        return signed(c["diff"])
    return "%s (%+.1f%%)" % (signed(c["diff"]), c["pct"])


def claim(r):
    if r.get("effect") is None:
        return Raw('<span class="muted">--try</span>')
    return "%s ~%s" % ("moves" if r["effect"] == "moves" else "saves", num(r.get("claimed_faults") or 0))


def two(value, small):
    """A figure with its small print under it."""
    return join(value, Raw("<br />"), tag("small", small)) if small else value


def pct_words(c):
    return "" if c.get("pct") is None else "%+.1f%%" % c["pct"]


def rows_table(result):
    base = result["baseline"]
    storm = base.get("storm_faults")
    head = ["setting", "claim", "minor faults (median, range)", "vs baseline", "in storm windows",
            "wall (median)", "peak RSS (median)", "verdict"]
    rows = [[tag("em", "baseline (no setting)"), "",
             two(num(base["faults"]["median"]), "%s..%s" % (num(base["faults"]["min"]), num(base["faults"]["max"]))),
             "", num(storm) if storm is not None else "n/a", "%.3f s" % base["wall_s"]["median"],
             "%s KiB" % num(base["maxrss_kb"]["median"]), ""]]
    classes = [None]
    for r in result["rows"]:
        if r.get("failed"):
            cells = ["exit %d" % r["failed"]] + [""] * 4
        else:
            st = r.get("storm_faults")
            fc = r["faults_change"]
            cells = [two(num(r["faults"]["median"]), "%s..%s" % (num(r["faults"]["min"]), num(r["faults"]["max"]))),
                     two(signed(fc["diff"]), pct_words(fc)),
                     "n/a" if st is None else two(num(st["arm"]), signed(st["arm"] - st["baseline"])),
                     two("%.3f s" % r["wall_s"]["median"], pct_words(r["wall_change"])),
                     two("%s KiB" % num(r["maxrss_kb"]["median"]), pct_words(r["maxrss_change"]))]
        rows.append([setting(r["env"]), claim(r)] + cells + [tag("strong", r["verdict"])])
        classes.append(VERDICT_CLASS.get(r["verdict"]))
    return table(head, rows, numeric=(2, 3, 4, 5, 6), row_classes=classes, class_="tune")


def reasons(result):
    return tag("ul", *[tag("li", code(r["env"]), ": ", tag("strong", r["verdict"]), ", ",
                           r.get("verdict_why", "")) for r in result["rows"]])


def claims_chart(result, chart_id):
    """Faults each setting was claimed to save or move against what was
    measured (whole-process saving; for a move, the faults that left the
    storm windows)."""
    rows = [r for r in result["rows"] if not r.get("failed")]
    if not rows:
        return None
    labels, claimed, got = [], [], []
    for r in rows:
        labels.append(r["env"] if len(r["env"]) <= 40 else r["env"][:37] + "...")
        claimed.append(r.get("claimed_faults") or 0)
        st = r.get("storm_faults")
        if r.get("effect") == "moves" and st is not None:
            got.append(st["baseline"] - st["arm"])
        else:
            got.append(-r["faults_change"]["diff"])
    fig, ax = new_figure(10.0, 0.6 + 0.55 * len(rows))
    ys = list(range(len(rows)))
    h = 0.38
    b1 = ax.barh([y - h / 2 for y in ys], claimed, height=h, color=C["grey"], label="claimed")
    b2 = ax.barh([y + h / 2 for y in ys], got, height=h, color=C["blue"], label="measured")
    ax.set_yticks(ys, labels)
    ax.invert_yaxis()
    ax.axvline(0, color=C["black"], linewidth=0.8)
    ax.xaxis.set_major_formatter(COUNTS)
    ax.set_xlabel("faults saved (or moved out of the storms)")
    ax.legend(loc="lower right")
    data = plain({"settings": [r["env"] for r in rows],
                  "claimed": [b.get_width() for b in b1], "measured": [b.get_width() for b in b2]})
    return to_svg(fig, chart_id, "claimed and measured faults per setting"), data


def section(result, anchor="tune", heading="Measured with hakmem tune"):
    """The measured table, the reasons and the chart, for either page."""
    base = result["baseline"]
    sub = join("command ", code(" ".join(map(str, result["command"]))), "; %s; %s untraced runs per arm, "
               "alternating with the baseline; medians, from each run's rusage" % (
                   result.get("date", "date unknown"), num(result["runs"])))
    parts = [tag("h2", heading, id=anchor), tag("p", sub, class_="sub")]
    if result.get("notes"):
        parts.append(tag("ul", *[tag("li", n) for n in result["notes"]], class_="details"))
    parts += [rows_table(result), reasons(result)]
    drawn = claims_chart(result, anchor + "-claims")
    if drawn:
        svg, data = drawn
        parts.append(chart(anchor + "-claims", "tune_claims", svg, data,
                           "Grey: the faults the report claimed a setting saves (or moves out of the storms). "
                           "Blue: what the runs measured: the whole-process saving, or for a move the faults "
                           "that left the baseline's storm windows. Baseline: %s faults." % num(
                               base["faults"]["median"])))
    return tag("section", *parts)


def headline(result):
    verdicts = [r["verdict"] for r in result["rows"]]
    counts = ", ".join("%d %s" % (verdicts.count(v), v) for v in dict.fromkeys(verdicts))
    return "%s measured against the baseline (%s minor faults): %s." % (
        "1 setting" if len(verdicts) == 1 else "%d settings" % len(verdicts),
        num(result["baseline"]["faults"]["median"]), counts or "none")


def render(result, title, source):
    title = title or "hakmem tune: %s" % " ".join(map(str, result["command"]))[:80]
    body = join(tag("h1", title), tag("p", headline(result), class_="headline", id="headline"),
                section(result))
    return page(title, body, join("Rendered by hakmem viz from ", code(source.rsplit("/", 1)[-1]),
                                  " (hakmem tune JSON)"))


def measured_cell(rec):
    """The report page's cell beside an estimate: the verdict and the
    whole-process change, or a dash when tune did not measure it."""
    m = rec.get("measured")
    if not isinstance(m, dict) or "verdict" not in m:
        return Raw('<span class="muted">not measured</span>')
    if "faults_change" not in m:
        return tag("strong", m["verdict"])
    return join(tag("strong", m["verdict"]), Raw("<br />"),
                tag("small", "%s faults" % change(m["faults_change"])))
