"""The charts of one process. Each function draws one matplotlib figure and
returns (svg, data): data holds the numbers read back from the drawn
artists (bar lengths, line points, span edges), so a test can hold every
chart to the JSON it came from. A function returns None when its input is
absent; the page then says so instead."""

import itertools

from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

import story
from svgfig import COUNTS, OKABE_ITO as C, new_figure, plain, to_svg

CAUSE_COLOURS = {
    "superslab_carve": C["vermillion"],
    "refault_after_purge": C["sky"],
    "large": C["purple"],
    "other": C["grey"],
}
POOL_COLOURS = {"tiny": C["blue"], "mid": C["green"],
                "small-mid": C["orange"]}
STORM = C["yellow"]
WIDE, HALF = 10.0, 5.2   # figure widths in inches: full row, half row


def _bar_label(ax, bar, text):
    """The value just past the end of a horizontal bar."""
    x = bar.get_x() + bar.get_width()
    ax.annotate(text, (x, bar.get_y() + bar.get_height() / 2),
                xytext=(4, 0), textcoords="offset points", va="center",
                fontsize=9)


# ---- fault timeline -------------------------------------------------------

def _ss_markers(proc):
    """(map times, unmap times in ms, where they came from). The lifecycle
    has exact times; the timeline only per-bucket counts."""
    if proc.lifecycle:
        maps = [proc.ms(s["map_ns"]) for s in proc.lifecycle
                if s.get("map_ns") is not None]
        unmaps = [proc.ms(s["unmap_ns"]) for s in proc.lifecycle
                  if s.get("unmap_ns") is not None]
        return sorted(maps), sorted(unmaps), "superslab_lifecycle"
    tl = proc.timeline
    if tl and any("ss_maps" in b for b in tl):
        half = proc.bucket_ns / 2e6
        maps = [proc.ms(b["t_ns"]) + half for b in tl if b.get("ss_maps")]
        unmaps = [proc.ms(b["t_ns"]) + half for b in tl
                  if b.get("ss_unmaps")]
        return maps, unmaps, "timeline"
    return [], [], None


def _ticks(ax, xs, y, colour):
    """Short vertical ticks at xs on row y, as one path: thousands of
    markers would otherwise be thousands of SVG elements. Returns the x of
    each tick drawn."""
    if not xs:
        return []
    px, py = [], []
    for x in xs:
        px += [x, x, float("nan")]
        py += [y - 0.3, y + 0.3, float("nan")]
    line, = ax.plot(px, py, color=colour, lw=1.6, solid_capstyle="butt")
    return list(line.get_xdata()[::3])


def timeline(proc, chart_id):
    tl = proc.timeline
    if not tl:
        return None
    width_ms = proc.bucket_ns / 1e6
    starts = [proc.ms(b["t_ns"]) for b in tl]
    faults = [b["faults"] for b in tl]
    alloc = [b.get("allocator_faults") for b in tl]
    if not all(isinstance(a, (int, float)) for a in alloc):
        alloc = None
    maps, unmaps, marker_source = _ss_markers(proc)
    strip = bool(maps or unmaps)

    # The legend gets the last row to itself: inside a panel it would sit
    # on a storm band or on the lines wherever it went.
    ratios = ([3, 2, 0.7] if strip else [3, 2]) + [0.35]
    fig, axes = new_figure(WIDE, (5.6 if strip else 5.0) + 0.35,
                           nrows=len(ratios), sharex=True,
                           gridspec_kw={"height_ratios": ratios})
    axes, ax_key = list(axes[:-1]), axes[-1]
    ax_rate, ax_cum = axes[0], axes[1]

    # Rate as a step per bucket; the last step is closed at the bucket end.
    edges = starts + [starts[-1] + width_ms]

    def step(ax, values, colour, label, fill):
        ys = [v / width_ms for v in values]
        line, = ax.plot(edges, ys + ys[-1:], drawstyle="steps-post",
                        color=colour, lw=1.4, label=label)
        if fill:
            ax.fill_between(edges, ys + ys[-1:], step="post", color=colour,
                            alpha=0.25, lw=0)
        return line

    rate_total = step(ax_rate, faults, C["blue"], "all faults", False)
    rate_alloc = step(ax_rate, alloc, C["vermillion"], "allocator faults",
                      True) if alloc else None
    ax_rate.set_ylabel("fault rate\n(faults/ms)")

    def cumulative(ax, values, colour, label):
        xs = [starts[0]] + [s + width_ms for s in starts]
        ys = [0] + list(itertools.accumulate(values))
        line, = ax.plot(xs, ys, color=colour, lw=1.6, label=label)
        return line

    cum_total = cumulative(ax_cum, faults, C["blue"], "all faults")
    cum_alloc = cumulative(ax_cum, alloc, C["vermillion"],
                           "allocator faults") if alloc else None
    ax_cum.set_ylabel("cumulative\n(faults)")
    for ax in (ax_rate, ax_cum):
        ax.yaxis.set_major_formatter(COUNTS)
        ax.set_ylim(bottom=0)

    spans = []
    storms = proc.raw["storms"]
    for i, s in enumerate(storms):
        b, e = proc.ms(s["begin_ns"]), proc.ms(s["end_ns"])
        span = ax_rate.axvspan(b, e, color=STORM, alpha=0.55, lw=0,
                               zorder=0)
        ax_cum.axvspan(b, e, color=STORM, alpha=0.55, lw=0, zorder=0)
        xs = [p[0] for p in span.get_xy()]
        spans.append([min(xs), max(xs)])
        if len(storms) > 20:
            continue   # the labels would overprint each other
        ax_rate.annotate("S%d" % (i + 1), ((b + e) / 2, 1), xycoords=(
            "data", "axes fraction"), ha="center", va="bottom", fontsize=8,
            fontweight="bold")

    handles = [rate_total] + ([rate_alloc] if rate_alloc else [])
    if spans:
        handles.append(Patch(color=STORM, alpha=0.55, label="fault storm"))
    ax_key.axis("off")
    ax_key.legend(handles=handles, loc="center", ncol=len(handles))

    drawn_maps, drawn_unmaps = [], []
    if strip:
        ax_ss = axes[2]
        drawn_maps = _ticks(ax_ss, maps, 1, C["green"])
        drawn_unmaps = _ticks(ax_ss, unmaps, 0, C["black"])
        ax_ss.set_yticks([0, 1], ["munmap", "mmap"])
        ax_ss.set_ylim(-0.7, 1.7)
        ax_ss.grid(axis="y", visible=False)
        ax_ss.set_ylabel("SuperSlab")
    end_ms = max(proc.ms(proc.end_ns), edges[-1])
    axes[-1].set_xlim(min(0, edges[0]), end_ms)
    axes[-1].set_xlabel("time since the first event (ms)")
    axes[-1].xaxis.set_major_formatter(COUNTS)
    # Shared x shows tick labels on the bottom row only: the key's.
    axes[-1].tick_params(axis="x", labelbottom=True)

    data = {
        "bucket_ms": width_ms,
        "t_ms": starts,
        "rate_per_ms": list(rate_total.get_ydata()[:-1]),
        "cumulative_faults": list(cum_total.get_ydata()[1:]),
        "allocator_rate_per_ms": list(rate_alloc.get_ydata()[:-1])
        if rate_alloc else None,
        "allocator_cumulative_faults": list(cum_alloc.get_ydata()[1:])
        if cum_alloc else None,
        "storms_ms": spans,
        "ss_markers_from": marker_source,
        "ss_panel": strip,
        "ss_map_ms": drawn_maps,
        "ss_unmap_ms": drawn_unmaps,
    }
    label = "Fault rate and cumulative faults over %s ms" % story.num(
        round(end_ms))
    return to_svg(fig, chart_id, label), plain(data)


# ---- faults by cause and by class ------------------------------------------

def by_cause(proc, chart_id):
    if not proc.total:
        return None
    keys = ["superslab_carve", "refault_after_purge", "large", "other"]
    values = [proc.faults["by_cause"][k] for k in keys[:3]]
    values.append(proc.faults["other"])
    labels = ["fresh SuperSlab\ncarve", "refault after\npurge",
              "large spans", "outside the\nallocator"]
    fig, ax = new_figure(HALF, 3.0)
    bars = ax.barh(labels, values, color=[CAUSE_COLOURS[k] for k in keys])
    ax.invert_yaxis()
    for bar, v in zip(bars, values):
        _bar_label(ax, bar, "%s (%s)" % (story.num(v),
                                         story.pct(v, proc.total)))
    ax.set_xlim(0, max(max(values), 1) * 1.38)
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_formatter(COUNTS)
    ax.set_xlabel("page faults (faults)")
    ax.set_title("Faults by cause")
    ax.grid(axis="y", visible=False)
    data = {"causes": keys, "faults": [b.get_width() for b in bars]}
    return to_svg(fig, chart_id, "Page faults by cause"), plain(data)


def _class_order(label):
    return (0, int(label), "") if label.isdigit() else (1, 0, label)


def by_class(proc, chart_id):
    by_cls = proc.faults["by_class"]
    if not by_cls:
        return None
    labels = sorted(by_cls, key=_class_order)
    values = [by_cls[k] for k in labels]
    top = max(values)
    fig, ax = new_figure(HALF, 3.0)
    bars = ax.bar(labels, values, color=[
        C["vermillion"] if v == top else "#E8A27A" for v in values])
    many = len(labels) > 10
    ax.tick_params(axis="x", labelrotation=90 if many else 0,
                   labelsize=8 if many else 9)
    if len(labels) <= 16:
        for bar, v in zip(bars, values):
            ax.annotate(story.num(v), (bar.get_x() + bar.get_width() / 2,
                                       bar.get_height()),
                        xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, top * 1.18 if top else 1)
    ax.yaxis.set_major_formatter(COUNTS)
    ax.set_xlabel("size class (bytes)")
    ax.set_ylabel("allocator faults (faults)")
    ax.set_title("Allocator faults by size class")
    ax.grid(axis="x", visible=False)
    data = {"classes": labels, "faults": [b.get_height() for b in bars]}
    return to_svg(fig, chart_id, "Allocator page faults by size class"), \
        plain(data)


# ---- SuperSlab lifecycle ---------------------------------------------------

MAX_LIFECYCLE_ROWS = 600   # past this, rows thinner than a pixel say nothing


def lifecycle(proc, chart_id):
    ss = proc.lifecycle
    if not ss:
        return None
    rows = sorted(ss, key=lambda s: (s.get("map_ns") is not None,
                                     s.get("map_ns") or 0))
    shown = rows[:MAX_LIFECYCLE_ROWS]
    n = len(shown)
    end_ms = proc.ms(proc.end_ns)
    height = min(7.5, 1.5 + 0.2 * n) + 0.4
    # The legend gets a row of its own, so constrained layout makes room.
    fig, (ax, ax_key) = new_figure(WIDE, height, nrows=2, gridspec_kw={
        "height_ratios": [height - 0.4, 0.4]})
    per_row_pt = (height - 1.6) * 72 / max(n, 1)
    lw = max(0.6, min(9.0, per_row_pt * 0.65))

    spans = {}   # pool -> [(row, start, end, unmapped)]
    for y, s in enumerate(shown):
        start = proc.ms(s["map_ns"]) if s.get("map_ns") is not None else 0.0
        unmapped = s.get("unmap_ns") is not None
        end = proc.ms(s["unmap_ns"]) if unmapped else end_ms
        spans.setdefault(str(s.get("pool", "unknown")), []).append(
            (y, start, end, unmapped))

    # One colour per pool, the same in the rows and in the legend (a
    # paler shade for rows still mapped matched no swatch); a row still
    # mapped at the end is the one without a munmap tick.
    drawn = {}   # row -> (start, end) as read back from the collections
    handles = []
    known = list(POOL_COLOURS)
    for pool, items in sorted(spans.items(), key=lambda kv: (
            known.index(kv[0]) if kv[0] in known else len(known), kv[0])):
        colour = POOL_COLOURS.get(pool, C["grey"])
        coll = ax.hlines([it[0] for it in items], [it[1] for it in items],
                         [it[2] for it in items], colors=colour, lw=lw)
        for seg in coll.get_segments():
            drawn[int(round(seg[0][1]))] = (float(seg[0][0]),
                                            float(seg[1][0]))
        handles.append(Line2D([], [], color=colour, lw=6,
                              label=story.pool_words(pool) + " pool"))

    unmap_x = [drawn[y][1] for y, s in enumerate(shown)
               if s.get("unmap_ns") is not None]
    unmap_y = [y for y, s in enumerate(shown) if s.get("unmap_ns") is not None]
    if unmap_x:
        ax.plot(unmap_x, unmap_y, ls="none", marker="|", color=C["black"],
                ms=max(4, min(12, lw * 1.6)), mew=1.4)
        handles.append(Line2D([], [], ls="none", marker="|", ms=10, mew=1.4,
                              color=C["black"], label="munmap"))
    reused = [(y, s.get("reuses") or 0) for y, s in enumerate(shown)
              if (s.get("reuses") or 0) > 0]
    if reused:
        ax.scatter([drawn[y][0] for y, _ in reused], [y for y, _ in reused],
                   marker="o", s=max(3, min(46, (lw * 1.3) ** 2)), zorder=3,
                   facecolors="white", edgecolors=C["black"],
                   linewidths=min(1.2, max(0.4, lw / 3)))
        handles.append(Line2D([], [], ls="none", marker="o", mfc="white",
                              mec=C["black"], label="reused from warm cache"
                              + (" (× count)" if n <= 40 else "")))
        if n <= 40:
            for y, k in reused:
                ax.annotate("×%d" % k, (drawn[y][0], y), xytext=(6, 0),
                            textcoords="offset points", va="center",
                            fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)
    if n <= 40:
        ax.set_yticks(range(n), [_hex(s.get("ss")) for s in shown],
                      fontsize=7 if n > 20 else 8)
        ax.set_ylabel("SuperSlab (address)")
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("SuperSlab, in order of mmap\n(row number)")
    ax.grid(axis="y", visible=False)
    ax.set_xlim(min([0] + [v[0] for v in drawn.values()]), max(end_ms, 1e-6))
    ax.xaxis.set_major_formatter(COUNTS)
    ax.set_xlabel("time since the first event (ms)")
    title = "SuperSlab lifecycle: mmap to munmap"
    if len(rows) > n:
        title += " (first %d of %d)" % (n, len(rows))
    ax.set_title(title)
    ax_key.axis("off")
    ax_key.legend(handles=handles, loc="center", ncol=len(handles),
                  fontsize=8)
    data = {"rows": [
        {"ss": s.get("ss"), "pool": s.get("pool"),
         "start_ms": drawn[y][0], "end_ms": drawn[y][1],
         "unmapped": s.get("unmap_ns") is not None,
         "reuses": s.get("reuses") or 0} for y, s in enumerate(shown)],
        "total": len(rows), "shown": n}
    return to_svg(fig, chart_id, "SuperSlab lifecycle, %d SuperSlabs" % n), \
        plain(data)


def _hex(v):
    return "0x%x" % int(v) if isinstance(v, (int, float)) else str(v)


# ---- refill sources and recycling -----------------------------------------

def _stacked(ax, parts, unit):
    """One horizontal bar split into (key, label, value, colour) parts,
    each labelled on the bar (or past its end when too narrow); returns
    {key: drawn length}."""
    total = sum(p[2] for p in parts)
    left, out, outside = 0, {}, []
    for key, label, value, colour in parts:
        bar = ax.barh([0], [value], left=[left], color=colour, height=0.7)[0]
        out[key] = bar.get_width()
        text = "%s\n%s %s (%s)" % (label, story.num(value), unit,
                                    story.pct(value, total))
        if total and value / total >= 0.3:
            ax.text(left + value / 2, 0, text, ha="center", va="center",
                    color="white", fontsize=8.5, fontweight="bold")
        elif value:
            outside.append((text, colour))
        left += value
    for i, (text, colour) in enumerate(outside):
        ax.annotate(text, (total, 0), xytext=(6 + 120 * i, 0),
                    textcoords="offset points", va="center", fontsize=8.5,
                    color="black")
    ax.set_xlim(0, max(total, 1) * (1.45 if outside else 1.0))
    return out


def refill(proc, chart_id):
    r = proc.raw["refill"]
    blocks = r["from_freelist"] + r["from_carve"]
    if not blocks and not r["count"]:
        return None
    fig, (ax_b, ax_r) = new_figure(HALF, 3.3, nrows=2)
    got_blocks = _stacked(ax_b, [
        ("from_freelist", "freelist (reused)", r["from_freelist"],
         C["green"]),
        ("from_carve", "carved (fresh pages)", r["from_carve"],
         C["vermillion"])], "blocks")
    ax_b.set_title("Refill sources")
    ax_b.set_xlabel("blocks handed to thread caches (blocks)")
    new = min(r["new_slab"], r["count"])
    got_refills = _stacked(ax_r, [
        ("same_slab", "from the current slab", r["count"] - new, C["blue"]),
        ("new_slab", "needed a new slab", new, C["orange"])], "refills")
    ax_r.set_xlabel("refills (count)")
    for ax in (ax_b, ax_r):
        ax.set_yticks([])
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_formatter(COUNTS)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.set_ylim(-0.5, 0.5)
    data = {"blocks": got_blocks, "refills": got_refills}
    return to_svg(fig, chart_id, "Refill sources: freelist versus carve, "
                  "and refills that needed a new slab"), plain(data)


def recycling(proc, chart_id):
    ss, sl = proc.raw["superslabs"], proc.raw["slabs"]
    items = [
        ("superslabs.mapped", "SuperSlabs mapped", ss["mapped"], C["blue"]),
        ("superslabs.reused", "SuperSlabs reused", ss["reused"], C["green"]),
        ("superslabs.unmapped", "SuperSlabs unmapped", ss["unmapped"],
         C["black"]),
        ("superslabs.churn", "churn (munmap,\nthen mmap soon)", ss["churn"],
         C["vermillion"]),
        ("slabs.empty", "slabs emptied", sl["empty"], C["sky"]),
        ("slabs.reused", "slabs reused", sl["reused"], C["green"]),
        ("slabs.class_changes", "slab class changes", sl["class_changes"],
         C["orange"]),
    ]
    if not any(v for _, _, v, _ in items):
        return None
    fig, ax = new_figure(HALF, 3.3)
    bars = ax.barh([it[1] for it in items], [it[2] for it in items],
                   color=[it[3] for it in items])
    ax.invert_yaxis()
    for bar, it in zip(bars, items):
        _bar_label(ax, bar, story.num(it[2]))
    top = max(it[2] for it in items)
    ax.set_xlim(0, max(top, 1) * 1.2)
    ax.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    ax.xaxis.set_major_formatter(COUNTS)
    ax.set_xlabel("events (count)")
    ax.set_title("SuperSlab and slab recycling")
    ax.grid(axis="y", visible=False)
    data = {it[0]: b.get_width() for it, b in zip(items, bars)}
    return to_svg(fig, chart_id, "SuperSlab and slab recycling counts"), \
        plain(data)
