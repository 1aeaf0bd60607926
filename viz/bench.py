"""The benchmark page: bench/compare JSON (see bench/compare's docstring)
as a throughput overview across workloads, one chart per workload
(against glibc, minor faults, peak RSS) and the full table."""

import math
import os

from matplotlib.ticker import MaxNLocator

from matplotlib.lines import Line2D

import benchfmt as fmt
import story
from markup import Raw, chart, code, join, page, table, tag
from model import Checker, InputError, is_number, type_name
from svgfig import (COUNTS, OKABE_ITO as C, new_figure, plain, to_svg,
                    untangle_xticklabels)

BENCH_HINT = "is this bench/compare JSON (bench/compare --json FILE)?"

# hakmem in the warm colours, glibc neutral, peers in the cool ones.
ALLOCATOR_COLOURS = {
    "hakmem-release": C["vermillion"], "hakmem-full": C["orange"],
    "glibc": C["grey"], "jemalloc": C["sky"], "tcmalloc": C["green"],
    "mimalloc": C["purple"],
}
SPARE = [C["blue"], C["yellow"], C["black"]]


def colour(name, order):
    if name in ALLOCATOR_COLOURS:
        return ALLOCATOR_COLOURS[name]
    extra = [a for a in order if a not in ALLOCATOR_COLOURS]
    return SPARE[extra.index(name) % len(SPARE)]


def check(data):
    """The JSON, checked: every workload has a metric and per-allocator
    medians. Values may be null (a failed allocator)."""
    c = Checker(BENCH_HINT)
    if not isinstance(data, dict):
        c.fail("the top level", "is %s, expected an object"
               % type_name(data))
    workloads = c.get(data, "", "workloads", "list")
    for i, w in enumerate(workloads):
        path = "workloads[%d]" % i
        c.get(w, path, "name", "string")
        metric = c.get(w, path, "metric", "string")
        results = c.get(w, path, "results", "object")
        for name, res in results.items():
            rpath = "%s.results.%s" % (path, name)
            med = c.get(res, rpath, "median", "object")
            for k in (metric, "minflt", "maxrss_kb"):
                if k not in med:
                    c.fail("%s.median.%s" % (rpath, k), "missing")
                if med[k] is not None and not is_number(med[k]):
                    c.fail("%s.median.%s" % (rpath, k), "is not a number")
            if "vs_glibc" not in res:
                c.fail(rpath + ".vs_glibc", "missing")
    if not workloads:
        raise InputError("workloads is empty: the comparison ran nothing")
    return data


def allocator_order(data):
    order = [a["name"] for a in data.get("allocators") or ()
             if isinstance(a, dict) and isinstance(a.get("name"), str)]
    for w in data["workloads"]:
        order += [n for n in w["results"] if n not in order]
    return order


def is_ratio(w):
    return w.get("compare", "ratio") == "ratio"


def failed_runs(res):
    runs = res.get("runs") if isinstance(res.get("runs"), list) else []
    return sum(1 for r in runs if isinstance(r, dict) and not r.get("ok")), \
        len(runs)


def geomean(values):
    values = [v for v in values if is_number(v) and v > 0]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


# ---- charts ---------------------------------------------------------------

def overview_chart(data, order):
    """Grouped bars: one group per throughput workload, one bar per
    allocator, height = ratio to glibc."""
    wls = [w for w in data["workloads"] if is_ratio(w)]
    if not wls:
        return None
    names = [a for a in order if any(a in w["results"] for w in wls)]
    # The legend gets a row of its own under the (perhaps slanted) names.
    fig, (ax, ax_key) = new_figure(10.0, 4.8, nrows=2, gridspec_kw={
        "height_ratios": [4.4, 0.4]})
    width = 0.8 / len(names)
    drawn = {}
    for j, name in enumerate(names):
        xs, hs = [], []
        for i, w in enumerate(wls):
            v = w["results"].get(name, {}).get("vs_glibc")
            if is_number(v):
                xs.append(i - 0.4 + width * (j + 0.5))
                hs.append(v)
        bars = ax.bar(xs, hs, width=width * 0.92, label=name,
                      color=colour(name, order))
        it = iter(bars)
        drawn[name] = [next(it).get_height() if is_number(
            w["results"].get(name, {}).get("vs_glibc")) else None
            for w in wls]
    # The dashed line is named in the legend: a label beside it would sit
    # on whichever bars end there.
    ax.axhline(1.0, color=C["black"], lw=1, ls="--")
    ax.set_xticks(range(len(wls)), [w["name"] for w in wls])
    ax.set_ylabel("throughput ratio to glibc (× glibc ops/s)")
    ax.set_title("Throughput against glibc (higher is better)")
    ax.grid(axis="x", visible=False)
    ax.set_xlim(-0.5, len(wls) - 0.5)
    untangle_xticklabels(fig, ax)
    handles = ax.get_legend_handles_labels()[0] + [Line2D(
        [], [], color=C["black"], lw=1, ls="--", label="glibc = 1")]
    ax_key.axis("off")
    ax_key.legend(handles=handles, loc="center", ncol=len(handles))
    svg = to_svg(fig, "bench-overview", "Throughput ratio to glibc per "
                 "workload and allocator")
    return svg, plain({"workloads": [w["name"] for w in wls],
                        "allocators": names, "vs_glibc": drawn})


def workload_chart(w, order, index):
    """Three panels for one workload: against glibc, minor faults and
    peak RSS, one bar per allocator."""
    names = [a for a in order if a in w["results"]]
    res = w["results"]
    ratio = is_ratio(w)
    label = w.get("label") or w["metric"]
    panels = [
        ("vs_glibc", "ratio to glibc (× glibc)" if ratio else
         "%s minus glibc\n(percentage points)" % label,
         "against glibc", lambda r: r.get("vs_glibc")),
        ("minflt", "minor page faults (faults)", "minor faults",
         lambda r: r["median"]["minflt"]),
        ("maxrss_kb", "peak RSS (MiB)", "peak RSS",
         lambda r: r["median"]["maxrss_kb"] / 1024
         if is_number(r["median"]["maxrss_kb"]) else None),
    ]
    fig, axes = new_figure(10.0, 3.0, ncols=3)
    lean, lean_kb = fmt.leanest_peer(res)
    data = {"allocators": names, "leanest_peer": lean,
            "rss_limit_kb": lean_kb * fmt.RSS_LIMIT if lean_kb else None}
    for ax, (key, ylabel, title, get) in zip(axes, panels):
        vals = [get(res[n]) for n in names]
        bars = ax.bar(range(len(names)), [v if is_number(v) else 0
                                          for v in vals],
                      color=[colour(n, order) for n in names])
        heights = []
        for i, (bar, v) in enumerate(zip(bars, vals)):
            if not is_number(v):
                ax.annotate("failed", (i, 0), xytext=(0, 3),
                            textcoords="offset points", ha="center",
                            rotation=90, fontsize=8, color=C["vermillion"])
                heights.append(None)
            else:
                heights.append(bar.get_height())
                if key == "vs_glibc":
                    ax.annotate("%.2f" % v if ratio else "%+.1f" % v,
                                (i, v), xytext=(0, 2 if v >= 0 else -2),
                                textcoords="offset points", ha="center",
                                va="bottom" if v >= 0 else "top",
                                fontsize=7.5)
        if key == "vs_glibc" and ratio:
            ax.axhline(1.0, color=C["black"], lw=1, ls="--")
        if key == "maxrss_kb" and lean_kb:
            # Named in the caption: a label here would sit on a bar.
            ax.axhline(lean_kb * fmt.RSS_LIMIT / 1024, color=C["black"],
                       lw=1, ls=":")
        ax.axhline(0, color=C["black"], lw=0.8)
        if key == "maxrss_kb":
            heights = [h * 1024 if h is not None else None for h in heights]
        data[key] = heights
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right",
                      fontsize=8)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.yaxis.set_major_locator(MaxNLocator(5))
        ax.margins(y=0.15)   # room for the value labels
        if key == "minflt":
            ax.yaxis.set_major_formatter(COUNTS)
        ax.grid(axis="x", visible=False)
    fig.suptitle(w["name"], fontweight="bold")
    svg = to_svg(fig, "bench-w%d" % index, "Workload %s: against glibc, "
                 "minor faults, peak RSS" % w["name"])
    return svg, plain(data)


# ---- page -----------------------------------------------------------------

def headline(data, order):
    wls = [w for w in data["workloads"] if is_ratio(w)]
    hak = [a for a in order if a.startswith("hakmem")]
    if not wls or not hak:
        return "Benchmark comparison of %s on %s." % (
            story.plural(len(data["workloads"]), "workload"),
            ", ".join(order))
    parts = []
    for a in hak:
        g = geomean([w["results"].get(a, {}).get("vs_glibc") for w in wls])
        if g is None:
            parts.append("%s has no successful throughput run" % a)
            continue
        by = [(w["results"][a]["vs_glibc"], w["name"]) for w in wls
              if is_number(w["results"].get(a, {}).get("vs_glibc"))]
        parts.append("%s runs at %s glibc's throughput (best %s %s, "
                     "worst %s %s)" % (a, fmt.ratio(g, "×"), max(by)[1],
                                       fmt.ratio(max(by)[0], "×"),
                                       min(by)[1],
                                       fmt.ratio(min(by)[0], "×")))
    peers = [a for a in order if a not in hak and a != "glibc"]
    best = None
    for p in peers:
        g = geomean([w["results"].get(p, {}).get("vs_glibc") for w in wls])
        if g is not None and (best is None or g > best[0]):
            best = (g, p)
    s = "Over %s: %s." % (story.plural(len(wls), "throughput workload"),
                           "; ".join(parts))
    if best:
        s += " The fastest peer, %s, averages %s." % (
            best[1], fmt.ratio(best[0], "×"))
    return s + " (Geometric means of the median ratios.)"


def _with_peer(value, peer):
    """A ratio with the peer it is taken against in small print below."""
    return join(value, Raw("<br />"), tag("small", peer)) if peer else value


def results_table(data, order):
    """Every workload and allocator: the median with its peak RSS beside
    it, then the ratios; numbers through benchfmt, as in bench/compare's
    text table. A hakmem row past benchfmt.RSS_LIMIT times the leanest
    peer's peak RSS is marked."""
    rows, classes, over = [], [], False
    for w in data["workloads"]:
        how = w.get("compare", "ratio")
        res = w["results"]
        lean, lean_kb = fmt.leanest_peer(res)
        for name in [a for a in order if a in res]:
            r = res[name]
            med = r["median"]
            v = med[w["metric"]]
            vs_lean = fmt.rss_versus_leanest(r, lean_kb)
            rss_over = fmt.rss_over(name, vs_lean)
            over |= rss_over
            bad, runs = failed_runs(r)
            best = r.get("best_peer") if is_number(r.get("vs_best_peer")) \
                else None
            rows.append([
                w["name"], name, fmt.metric(v, how), fmt.mib(med["maxrss_kb"]),
                fmt.versus(r.get("vs_glibc"), how, "×"),
                _with_peer(fmt.versus(r.get("vs_best_peer"), how, "×"),
                           best if isinstance(best, str) else None),
                _with_peer(join(fmt.ratio(vs_lean, "×"),
                                " !" if rss_over else None),
                           lean if vs_lean is not None else None),
                fmt.count(med["minflt"]),
                "%d of %d" % (bad, runs) if runs else "n/a"])
            classes.append("fail" if v is None or bad else
                           "rss-over" if rss_over else None)
    note = tag("p", "! marks a row where %s." % fmt.RSS_OVER_NOTE,
               class_="note") if over else None
    diff = sorted({w.get("label") or w["metric"] for w in data["workloads"]
                   if not is_ratio(w)})
    if diff:
        note = join(note, tag("p", "Workloads scored in percentages (%s, "
                              "lower is better) show that percentage as "
                              "their median and differences in percentage "
                              "points (pp) as their comparisons."
                              % ", ".join(diff), class_="note"))
    return join(table(["workload", "allocator", "median ops/s", "peak RSS",
                       "vs glibc", "vs best peer", "peak RSS vs leanest peer",
                       "minor faults", "failed runs"], rows,
                      numeric=(2, 3, 4, 5, 6, 7, 8), row_classes=classes,
                      class_="results"), note)


def render(data, title, source):
    order = allocator_order(data)
    title = title or "hakmem benchmark comparison"
    meta = data.get("meta") if isinstance(data.get("meta"), dict) else {}
    sub = ", ".join("%s %s" % (k, meta[k]) for k in ("host", "kernel", "cpus",
                                                       "runs", "started")
                    if meta.get(k) is not None)
    if meta.get("quick"):
        sub += " (--quick)"
    body = [tag("h1", title), tag("p", sub or "bench/compare", class_="sub"),
            tag("p", headline(data, order), class_="headline",
                id="headline")]
    ov = overview_chart(data, order)
    if ov:
        body.append(chart("bench-overview", "bench_overview", ov[0], ov[1],
                          "Each group is a workload; each bar an allocator's "
                          "median throughput divided by glibc's. Above the "
                          "dashed line is faster than glibc."))
    body.append(tag("h2", "Workloads"))
    for i, w in enumerate(data["workloads"]):
        svg, d = workload_chart(w, order, i)
        note = "" if is_ratio(w) else (
            " This workload scores %s, lower is better; the left panel is "
            "the difference from glibc in percentage points."
            % (w.get("label") or w["metric"]))
        if d["leanest_peer"]:
            note += (" The dotted line in the peak RSS panel is %s the "
                     "leanest peer's (%s) peak RSS: a hakmem bar above it "
                     "holds too much memory." % (
                         fmt.ratio(fmt.RSS_LIMIT, "×"), d["leanest_peer"]))
        argv = w.get("argv")
        cmd = join(" Command: ", code(" ".join(map(str, argv))), ".") \
            if isinstance(argv, list) else ""
        body.append(chart("bench-w%d" % i, "bench_workload", svg, d, join(
            "Medians per allocator. Faults and RSS are whole-process "
            "figures." + note, cmd), data_workload=w["name"]))
    body += [tag("h2", "All results"), results_table(data, order)]
    footer = join("Rendered by hakmem viz from ", code(os.path.basename(source)),
                  " (bench/compare JSON).")
    return page(title, join(*body), footer)
