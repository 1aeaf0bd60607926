"""The report page: headline, overview of all processes, then one section
per process with its charts and tables."""

import os

import charts
import story
import tune
from markup import Raw, chart, code, facts, join, page, setting, table, tag
from model import is_number
from story import num, pct


def duration(ns):
    if ns is None:
        return "n/a"
    if ns < 10e9:
        return "%s ms" % num(round(ns / 1e6, 1) if ns < 1e7 else
                             round(ns / 1e6))
    return "%s s" % num(round(ns / 1e9, 1))


def ms(proc, ns):
    return num(round(proc.ms(ns), 1))


def banners(raw):
    out = []
    lost = raw["lost_events"]
    if lost:
        out.append(tag("div", "The trace lost %s events, so the counts below "
                       "are lower bounds. Record again with larger buffers "
                       "(hakmem trace sizes them for the bundled benchmarks)."
                       % num(lost), class_="banner warn"))
    if raw.get("incomplete") is True:
        out.append(tag("div", "The analysis marked this trace incomplete "
                       "(truncated or partly unreadable); figures may be "
                       "short.", class_="banner warn"))
    if isinstance(raw.get("note"), str):
        out.append(tag("div", raw["note"], class_="banner warn"))
    sel = raw.get("selection")
    left = sel.get("processes_left_out") if isinstance(sel, dict) else None
    if is_number(left) and left > 0:
        picked = [what % sel[k] for k, what in (("pid", "with pid %s"),
                                                ("process", "named %s"))
                  if sel.get(k) is not None]
        out.append(tag("div", "Only the processes %s: %s more in the trace "
                       "are left out." % (" and ".join(picked) or "selected",
                                          num(left)), class_="banner"))
    return out


def folded_names(report):
    """"bash x12, python3 x25": the folded processes by name, most first."""
    counts = {}
    for p in report.folded:
        counts[p.name] = counts.get(p.name, 0) + 1
    order = sorted(counts, key=lambda n: (-counts[n], n))
    return ", ".join(n if counts[n] == 1 else "%s x%d" % (n, counts[n])
                     for n in order)


def folded_summary(report):
    """One sentence for the processes the analysis folded (they keep no
    section), or None."""
    folded = report.folded
    if not folded:
        return None
    total = sum(p.total for p in report.processes)
    faults = sum(p.total for p in folded)
    most = max(p.total for p in folded)
    share = pct(most, total)
    each = "" if len(folded) == 1 else " each"
    share = ("under 1%" + each if share in ("<1%", "0%") else
             ("at most " if len(folded) > 1 else "") + share)
    return ("%s with %s faults in all (%s): %s. 'hakmem report --top N' or "
            "'--pid PID' shows %s in full." % (
                story.plural(len(folded), "more process", "more processes"),
                num(faults), share, folded_names(report),
                "it" if len(folded) == 1 else "them"))


def overview(report):
    rows = []
    for p in report.shown:
        rec = p.top_recommendation()
        rec_cell = join(code(rec["env"]), " %s ~%s" % (
            story.rec_effect(rec), num(story.rec_claimed(rec)))) if rec else Raw(
            '<span class="muted">none</span>')
        rows.append([p.raw["host"], str(p.raw["pid"]),
                     tag("a", p.name, href="#" + p.anchor), num(p.total),
                     pct(p.allocator, p.total), rec_cell])
    folded = report.folded
    if folded:
        faults = sum(p.total for p in folded)
        alloc = sum(p.allocator for p in folded)
        rows.append(["", "", tag("span", "%s more" % num(len(folded)),
                                 class_="muted"),
                     num(faults), pct(alloc, faults),
                     Raw('<span class="muted">folded: see below</span>')])
    return join(tag("h2", "Overview", id="overview"), table(
        ["host", "pid", "process", "total faults", "allocator share",
         "top recommendation"], rows, numeric=(1, 3, 4)),
        tag("p", folded_summary(report), class_="note", id="folded")
        if folded else None)


def key_facts(proc):
    raw = proc.raw
    ss, r = raw["superslabs"], raw["refill"]
    return facts([
        ("total faults", num(proc.total), None),
        ("from the allocator", num(proc.allocator),
         pct(proc.allocator, proc.total)),
        ("elsewhere", num(proc.faults["other"]),
         pct(proc.faults["other"], proc.total)),
        ("duration", duration(proc.duration_ns), None),
        ("SuperSlabs mapped", num(ss["mapped"]),
         "%s reused, %s churn" % (num(ss["reused"]), num(ss["churn"]))),
        ("refills", num(r["count"]), "%s new slabs" % num(r["new_slab"])),
        ("fault storms", num(len(raw["storms"])), None),
        ("heap errors", num(len(raw["heap_errors"])), None),
    ])


def figure(proc, kind, drawn, caption, missing):
    """A chart, or the sentence saying why there is none."""
    if drawn is None:
        return tag("p", missing, class_="note")
    svg, data = drawn
    return chart("%s-%s" % (proc.anchor, kind), kind, svg, data, caption,
                 data_process=str(proc.index))


def timeline_figure(proc, chart_id):
    drawn = charts.timeline(proc, chart_id)
    if drawn is None:
        return figure(proc, "timeline", None, "", "No timeline chart: the "
                      "analysis gave no fault timeline for this process. "
                      "The storm table below still gives the hot windows.")
    data = drawn[1]
    what = "all faults and those caused inside the allocator" if data[
        "allocator_rate_per_ms"] is not None else "all faults (the " \
        "analysis gave no per-bucket allocator share)"
    caption = ("Top: faults per millisecond in each %s ms bucket, %s. "
               "Middle: running total." % (num(round(data["bucket_ms"], 3)),
                                          what))
    if data["storms_ms"]:
        caption += " Yellow bands are fault storms (S1, S2, ... in the " \
                   "storm table)."
    if data["ss_panel"]:   # drawn only when something was mapped
        caption += " Bottom: each tick is a SuperSlab mmap or munmap%s." % (
            "" if data["ss_markers_from"] == "superslab_lifecycle"
            else " (per bucket)")
    return figure(proc, "timeline", drawn, caption, "")


def storms_table(proc):
    storms = proc.raw["storms"]
    if not storms:
        return tag("p", "No fault storm: no time window's fault rate rose far "
                   "above the run's median.", class_="note")
    rows = []
    for i, s in enumerate(storms):
        length_ms = (s["end_ns"] - s["begin_ns"]) / 1e6
        cause = story.cause_words(s["cause"])
        if isinstance(s.get("class"), str):
            cause += ", " + story.class_words(s["class"])
        rows.append(["S%d" % (i + 1), ms(proc, s["begin_ns"]),
                     ms(proc, s["end_ns"]), num(s["faults"]),
                     num(round(s["faults"] / length_ms, 1)) if length_ms > 0
                     else "n/a", cause])
    headers = ["storm", "from (ms)", "to (ms)", "faults", "rate (faults/ms)",
               "dominant cause"]
    if any(s.get("callsites") for s in storms):
        headers.append("top call sites")
        for row, s in zip(rows, storms):
            row.append(join(*[x for c in s.get("callsites") or () for x in (
                code(c["site"]), " %s" % pct(c["share"], 1), Raw("<br />"))]))
    return table(headers, rows, numeric=(1, 2, 3, 4))


def callsites_table(proc):
    """Faults by call site: which of the program's mallocs made the
    allocator touch fresh pages (hakmem:callsite, symbolized offline)."""
    cs = proc.raw.get("callsites")
    if not cs or not cs.get("sites"):
        return tag("p", "No call sites in this trace (recorded before hakmem "
                   "traced them, or no allocator faults).", class_="note")
    rows = []
    shown = cs["sites"][:15]
    for s in shown:
        classes = sorted(s["classes"].items(), key=lambda kv: -kv[1])[:3]
        words = ", ".join(story.class_words(k) for k, _ in classes)
        if s["by_cause"].get("large"):
            words = (words + ", " if words else "") + "large spans"
        stack = [f["function"] or "?" for f in s.get("stack") or ()
                 if not (f["function"] or "").startswith(("__libc_start", "_start"))][1:4]
        site = code(s["site"])
        if stack:
            site = join(site, Raw("<br />"), tag("small", "called from " + " < ".join(stack)))
        rows.append([site, pct(s["share"], 1), num(s["faults"]), words,
                     ", ".join("S%d" % (i + 1) for i in s["storms"])])
    # The analysis lists the first 50 and counts them all.
    count = cs.get("count")
    rest = max(count if isinstance(count, int) else 0, len(cs["sites"])) - len(shown)
    more = tag("p", "And %s more call site%s with fewer faults." % (
        num(rest), "" if rest == 1 else "s"), class_="note") if rest > 0 else None
    return join(table(["call site", "share", "allocator faults", "classes", "storms"], rows,
                      numeric=(1, 2)), more)


def recommendations_table(proc):
    recs = proc.raw["recommendations"]   # in the analysis's ranking
    if not recs:
        return tag("p", "No recommendation: nothing in this trace points at "
                   "a setting that would save faults.", class_="note")
    rows = [[r["action"], setting(r["env"]), effect_cell(r, proc.total),
             r["why"]] for r in recs]
    headers = ["action", "setting", "effect on faults (est.)", "why"]
    if any("measured" in r for r in recs):  # hakmem report --tune
        for row, r in zip(rows, recs):
            row.insert(3, tune.measured_cell(r))
        headers.insert(3, "measured (hakmem tune)")
    return table(headers, rows, numeric=(2,), class_="recs")


def active_prewarm(proc):
    """What HAKMEM_PREWARM did before tracing began: a prewarm setting
    above replaces that whole list, so the reader sees what it was."""
    entries = proc.raw.get("prewarm") or []
    if not entries:
        return None
    listed = ", ".join("%s:%s" % (e["size"], e["slabs"]) for e in entries)
    pages = sum(e.get("pages", 0) for e in entries)
    return tag("p", "Prewarm at start-up, before tracing: ", code(listed),
               " (%s pages faulted then). A HAKMEM_PREWARM setting above "
               "replaces this list: it names every class to prewarm, "
               "with its total." % num(pages), class_="note")


def effect_cell(rec, total):
    """'saves 1,440 / 16% of all', or 'moves 3,640 / to start-up, none
    saved': a prewarm does not lower the process's faults."""
    n = story.rec_claimed(rec)
    if story.rec_effect(rec) == "moves":
        return join("moves " + num(n), Raw("<br />"), tag(
            "small", "to start-up, none saved"))
    return join("saves " + num(n), Raw("<br />"), tag(
        "small", "%s of all" % pct(n, total)))


def heap_errors_table(proc):
    errors = proc.raw["heap_errors"]
    if not errors:
        return tag("p", "No heap errors were recorded.", class_="note")
    has_bytes = any("found" in e or "expected" in e for e in errors)
    rows = []
    for e in errors:
        row = [code(e["kind"]), code("0x%x" % int(e["addr"])),
               ms(proc, e["ts_ns"])]
        if has_bytes:
            row += [_byte(e.get("expected")), _byte(e.get("found"))]
        rows.append(row)
    headers = ["kind", "address", "time (ms)"]
    if has_bytes:
        headers += ["header expected", "header found"]
    dropped = proc.raw.get("heap_errors_dropped")
    more = tag("p", "%s further heap errors were not kept by the analysis."
               % num(dropped), class_="note") if dropped else None
    return join(table(headers, rows, numeric=(2,)), more)


def _byte(v):
    return code("0x%02x" % int(v)) if isinstance(v, (int, float)) else "n/a"


def _is_trivial(proc):
    raw = proc.raw
    return not (proc.total or proc.timeline or proc.lifecycle
                or raw["heap_errors"] or raw["recommendations"]
                or raw["refill"]["count"] or raw["storms"])


def process_section(proc, single):
    raw = proc.raw
    title = "%s (pid %s on %s)" % (proc.name, raw["pid"], raw["host"])
    sub = []
    if proc.exec_words():
        sub.append(proc.exec_words())
    if proc.command:
        sub.append(join("command ", code(proc.command)))
    if isinstance(raw.get("trace"), str) and raw["trace"]:
        sub.append(join("trace ", code(raw["trace"])))
    sub.append("fault counts from %s"
               % story.source_words(proc.faults["source"]))
    seps = [s for part in sub for s in ("; ", part)][1:]
    parts = [tag("h2", title), tag("p", *seps, class_="sub")]
    if not single:
        parts.append(tag("p", story.process_headline(proc),
                         class_="headline"))
    details = story.process_details(proc)
    if details:
        parts.append(tag("ul", *[tag("li", d) for d in details],
                         class_="details"))
    for note in proc.notes:
        parts.append(tag("div", note, class_="banner warn"))
    parts.append(key_facts(proc))
    if _is_trivial(proc):
        parts.append(tag("p", "This process recorded no page faults, "
                         "refills or heap errors: nothing to chart.",
                         class_="note"))
        return tag("section", *parts, id=proc.anchor)

    cid = lambda kind: "%s-%s" % (proc.anchor, kind)  # noqa: E731
    parts += [
        tag("h3", "Fault timeline"),
        timeline_figure(proc, cid("timeline")),
        tag("div",
            figure(proc, "by_cause", charts.by_cause(proc, cid("by_cause")),
                   "Where the faults came from. Carve: first touch of fresh "
                   "SuperSlab pages. Refault: pages touched again after a "
                   "purge gave them back. Large: mmap'd large spans.",
                   "No page faults, so no causes to show."),
            figure(proc, "by_class", charts.by_class(proc, cid("by_class")),
                   "Allocator faults per size class; the darkest bar is the "
                   "class that faulted most.",
                   "No allocator faults were attributed to a size class."),
            class_="row2"),
        tag("h3", "Faults by call site"),
        callsites_table(proc),
        tag("h3", "SuperSlab lifecycle"),
        figure(proc, "lifecycle", charts.lifecycle(proc, cid("lifecycle")),
               "One row per SuperSlab, from its mmap to its munmap (the "
               "tick), or to the end of the trace if it stayed mapped; the "
               "colour is its pool. Short rows followed by new ones are "
               "churn: the warm cache was too small to keep them." + (
                   " The analysis kept no record of %s more SuperSlabs."
                   % num(raw["superslab_lifecycle_dropped"])
                   if raw.get("superslab_lifecycle_dropped") else ""),
               "No lifecycle chart: the analysis kept no record of each "
               "SuperSlab for this process. In all: %s mapped, %s reused, "
               "%s unmapped, %s churn." % tuple(num(raw["superslabs"][k]) for k in (
                   "mapped", "reused", "unmapped", "churn"))),
        tag("div",
            figure(proc, "refill", charts.refill(proc, cid("refill")),
                   "Top: blocks that refills took from a slab's freelist "
                   "(memory already faulted in) versus freshly carved "
                   "(new pages). Bottom: refills that had to take a new "
                   "slab from the pool.",
                   "No refills were recorded."),
            figure(proc, "recycling", charts.recycling(proc,
                                                       cid("recycling")),
                   "How often memory went back to the pool and came out "
                   "again.", "No SuperSlab or slab was mapped or recycled."),
            class_="row2"),
        tag("h3", "Recommendations"),
        recommendations_table(proc),
        active_prewarm(proc),
        tag("h3", "Fault storms"),
        storms_table(proc),
        tag("h3", "Heap errors"),
        heap_errors_table(proc),
    ]
    notes = [n for n in raw.get("notes") or () if isinstance(n, str)]
    if notes:
        parts += [tag("h3", "Analysis notes"),
                  tag("ul", *[tag("li", n) for n in notes])]
    return tag("section", *parts, id=proc.anchor)


def default_title(report):
    procs = report.shown
    if len(procs) == 1:
        return "hakmem page faults: %s" % procs[0].name
    return "hakmem page-fault report"


def render(report, title, source):
    raw = report.raw
    title = title or default_title(report)
    procs = report.processes
    traces = [t for t in raw["traces"] if isinstance(t, str)]
    sub = "%s, %s, %s events" % (
        story.plural(len(procs), "process", "processes"),
        story.plural(len(report.hosts), "host"), num(raw["events"]))
    if report.folded:
        sub += " (%s folded into one line)" % num(len(report.folded))
    body = [tag("h1", title), tag("p", sub, class_="sub"),
            tag("p", story.report_headline(report), class_="headline",
                id="headline")]
    body += banners(raw)
    if len(procs) > 1:
        body.append(overview(report))
    body += [process_section(p, len(procs) == 1) for p in report.shown]
    if isinstance(raw.get("tune"), dict):  # hakmem report --tune
        body.append(tune.section(raw["tune"]))
    footer = join("Rendered by hakmem viz from ", code(
        os.path.basename(source)), " (sink.hakmem.report JSON)",
        ". Traces: " if traces else "",
        *[join(code(t), " ") for t in traces])
    return page(title, join(*body), footer)
