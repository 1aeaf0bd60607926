#!/usr/bin/python3
"""The pages as a reader sees them: laid out by headless Chromium at
1400 px (nothing past the column, no chart text on top of other text or
on a bar), legends whose swatches are the colours of the marks they
name, words rather than implementation text, captions that describe what
is drawn, and bench/compare's table formatted as the bench page is.

  test_pages.py [TestCase ...]

Environment as for test_viz.py (VIZ_RENDER, VIZ_OUT)."""

import copy
import importlib.machinery
import importlib.util
import io
import json
import os
import re
import sys
import unittest
from contextlib import redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import layout  # noqa: E402
from test_viz import (FIXTURES, OUT, SVG_NS, fixture, parse_page,  # noqa: E402
                      render_file)

SOURCE = os.path.normpath(os.path.join(HERE, "..", ".."))
WIDTH = 1400


def write_json(data, name):
    path = os.path.join(OUT, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f)
    return path


def load_compare():
    """bench/compare as a module (it has no .py suffix)."""
    path = os.path.join(SOURCE, "bench", "compare")
    loader = importlib.machinery.SourceFileLoader("bench_compare", path)
    spec = importlib.util.spec_from_loader("bench_compare", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def every_workload_bench():
    """The bench fixture with one entry per workload bench/compare runs
    today (its results copied from the fixture's first workload), so the
    overview chart holds as many names as a full run does."""
    data = fixture("bench_compare.json")
    proto = data["workloads"][0]
    names = [w["name"] for w in load_compare().WORKLOADS]
    data["workloads"] = []
    for i, name in enumerate(names):
        w = copy.deepcopy(proto)
        w["name"] = name
        for res in w["results"].values():   # bars of different heights
            if isinstance(res.get("vs_glibc"), (int, float)):
                res["vs_glibc"] *= 1 + (i % 5) / 10
        data["workloads"].append(w)
    return data


def rss_over_bench():
    """The bench fixture with hakmem-release holding 2x the leanest
    peer's peak RSS on its first workload."""
    data = fixture("bench_compare.json")
    res = data["workloads"][0]["results"]
    lean = min(r["median"]["maxrss_kb"] for n, r in res.items()
               if not n.startswith("hakmem"))
    hak = res["hakmem-release"]
    hak["median"]["maxrss_kb"] = 2 * lean
    for run in hak["runs"]:   # bench/compare takes the median from these
        run["values"]["maxrss_kb"] = 2 * lean
    return data


def still_mapped_report():
    """rich.json with every SuperSlab still mapped at the end of the
    trace: a short run's usual lifecycle."""
    data = fixture("rich.json")
    for s in data["processes"][0]["superslab_lifecycle"]:
        s["unmap_ns"] = None
    return data


# ---- layout ----------------------------------------------------------------

class Layout:
    """Mixed in: a page laid out at 1400 px, checked."""

    def check_layout(self, html_name):
        got = layout.probe(os.path.join(OUT, html_name), WIDTH)
        self.assertLessEqual(got["scroll_width"], WIDTH,
                             "%s is wider than the window" % html_name)
        self.assertEqual(got["outside"], [], "%s: elements past the "
                         "column %s" % (html_name, got["column"]))
        self.assertEqual(got["text_overlaps"], [],
                         "%s: chart text on top of other text" % html_name)
        self.assertEqual(got["text_on_bars"], [],
                         "%s: chart text drawn over a bar" % html_name)
        return got


class BenchLayout(unittest.TestCase, Layout):
    def test_fixture(self):
        render_file(["--bench", os.path.join(FIXTURES, "bench_compare.json")],
                    "layout-bench.html")
        self.check_layout("layout-bench.html")

    def test_every_workload(self):
        """As many workload names on the overview's x axis as
        bench/compare runs: the names must not run into each other."""
        path = write_json(every_workload_bench(), "bench-every.json")
        render_file(["--bench", path], "layout-bench-every.html")
        self.check_layout("layout-bench-every.html")

    def test_rss_over(self):
        path = write_json(rss_over_bench(), "bench-rss-over.json")
        render_file(["--bench", path], "layout-bench-rss.html")
        self.check_layout("layout-bench-rss.html")


class ReportLayout(unittest.TestCase, Layout):
    def test_pages(self):
        for name in ("rich", "minimal", "multi", "callsites"):
            with self.subTest(fixture=name):
                render_file([os.path.join(FIXTURES, name + ".json")],
                            "layout-%s.html" % name)
                self.check_layout("layout-%s.html" % name)


# ---- legends ---------------------------------------------------------------

def _style(el):
    out = {}
    for part in (el.get("style") or "").split(";"):
        k, _, v = part.partition(":")
        if k.strip():
            out[k.strip()] = v.strip()
    for k in ("fill", "stroke", "fill-opacity", "stroke-opacity"):
        if el.get(k):
            out[k] = el.get(k)
    return out


def _paints(el, what=("fill", "stroke")):
    """(colour, opacity) of what the element paints: its fill and its
    stroke; white and none are the background, not a mark."""
    st = _style(el)
    out = set()
    for what in what:
        colour = st.get(what)
        if not colour or colour in ("none", "#ffffff", "white"):
            continue
        opacity = float(st.get(what + "-opacity", st.get("opacity", "1")))
        out.add((colour.lower(), round(opacity, 2)))
    return out


def _is_group(el, kind):
    return el.tag == SVG_NS + "g" and re.search(r"-%s_\d+$" % kind,
                                                el.get("id") or "")


def legend_and_marks(svg):
    """The legend's swatch colours, and the colours of everything drawn
    outside the legend (text excluded), as (colour, opacity) sets."""
    swatches, marks = set(), set()

    def walk(el, in_legend):
        in_legend = in_legend or bool(_is_group(el, "legend"))
        if el.tag in (SVG_NS + "text", SVG_NS + "defs", SVG_NS + "clipPath"):
            return
        if el.tag in (SVG_NS + "path", SVG_NS + "use", SVG_NS + "rect"):
            (swatches if in_legend else marks).update(_paints(el))
        for child in el:
            walk(child, in_legend)
    walk(svg, False)
    return swatches, marks


def series_colours(svg, kind, paint):
    """Colours of the data series drawn as kind groups (LineCollection:
    the lifecycle's rows, paint "stroke"; patch: bars, paint "fill"),
    outside any legend and without the white backgrounds."""
    out = set()

    def walk(el, in_legend):
        in_legend = in_legend or bool(_is_group(el, "legend"))
        if not in_legend and _is_group(el, kind):
            for p in el.iter(SVG_NS + "path"):
                out.update(_paints(p, (paint,)))
            return
        for child in el:
            walk(child, in_legend)
    walk(svg, False)
    return out


class Legends(unittest.TestCase):
    """Every legend swatch is a colour the chart draws; the lifecycle's
    rows and the bench overview's bars are all in their legend."""

    def charts(self, args, name):
        root = parse_page(self, render_file(args, name))
        return {fig.get("id"): next(fig.iter(SVG_NS + "svg"))
                for fig in root.iter("figure")}

    def check_swatches(self, charts):
        for fid, svg in charts.items():
            swatches, marks = legend_and_marks(svg)
            with self.subTest(chart=fid):
                self.assertEqual(swatches - marks, set(),
                                 "legend swatches in colours no mark has")

    def test_report(self):
        for name, path in (
                ("rich", os.path.join(FIXTURES, "rich.json")),
                ("still-mapped", write_json(still_mapped_report(),
                                            "still-mapped.json"))):
            with self.subTest(report=name):
                charts = self.charts([path], "legend-%s.html" % name)
                self.check_swatches(charts)
                life = [svg for fid, svg in charts.items()
                        if fid.endswith("-lifecycle")]
                self.assertEqual(len(life), 1)
                swatches, _ = legend_and_marks(life[0])
                rows = series_colours(life[0], "LineCollection", "stroke")
                self.assertTrue(rows)
                self.assertEqual(rows - swatches, set(),
                                 "lifecycle rows in colours the legend "
                                 "does not name")

    def test_bench(self):
        charts = self.charts(["--bench", os.path.join(
            FIXTURES, "bench_compare.json")], "legend-bench.html")
        self.check_swatches(charts)
        swatches, _ = legend_and_marks(charts["bench-overview"])
        bars = series_colours(charts["bench-overview"], "patch", "fill")
        self.assertGreaterEqual(len(bars), 6)
        self.assertEqual(bars - swatches, set(),
                         "overview bars in colours the legend does not name")


# ---- words -----------------------------------------------------------------

def input_strings(obj):
    """Every string value in the input JSON: text the analysis wrote,
    which the page quotes as given."""
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in input_strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in input_strings(v)]
    return [obj] if isinstance(obj, str) else []


def input_keys(obj):
    if isinstance(obj, dict):
        return set(obj) | {k for v in obj.values() for k in input_keys(v)}
    if isinstance(obj, list):
        return {k for v in obj for k in input_keys(v)}
    return set()


def own_words(root, data):
    """The page's visible words that viz wrote: body text outside the
    footer, <code>, <script> and the charts, less the strings the input
    gave."""
    parts = []

    def walk(el):
        if el.tag in ("footer", "code", "script", "style", "svg") or \
                el.tag.startswith(SVG_NS):
            if el.tail:
                parts.append(el.tail)
            return
        if el.text:
            parts.append(el.text)
        for child in el:
            walk(child)
        if el.tail:
            parts.append(el.tail)
    walk(root.find("body"))
    text = re.sub(r"\s+", " ", " ".join(parts))
    for s in sorted(set(input_strings(data)), key=len, reverse=True):
        if len(s) > 2:
            text = text.replace(s, " ")
    return text


class Wording(unittest.TestCase):
    """No implementation text on the pages: no 'JSON', no key names of
    the input, no Python values."""

    def check_words(self, data, text):
        root = parse_page(self, text)
        words = own_words(root, data)
        self.assertNotRegex(words, r"(?i)\bjson\b")
        keys = sorted(k for k in input_keys(data) if "_" in k)
        found = [k for k in keys if re.search(r"\b%s\b" % re.escape(k),
                                               words)]
        self.assertEqual(found, [], "input key names in the page's text")
        self.assertNotRegex(words, r"\b(None|True|False|nan|inf)\b|"
                            r"[\[{]'|'[\]}]|\\n")
        return words

    def test_reports(self):
        for name in ("rich", "minimal", "multi", "callsites"):
            with self.subTest(fixture=name):
                path = os.path.join(FIXTURES, name + ".json")
                words = self.check_words(fixture(name + ".json"), render_file(
                    [path], "words-%s.html" % name))
                if name == "minimal":
                    self.assertIn("No timeline chart", words)
                    self.assertIn("No lifecycle chart", words)

    def test_active_prewarm(self):
        """The prewarm a process ran with is named beside the advice (a
        HAKMEM_PREWARM recommendation replaces it); none, no line."""
        data = fixture("rich.json")
        data["processes"][0]["prewarm"] = [
            {"size": 1039, "class": 35, "pool": "small-mid", "slabs": 250,
             "done": 250, "pages": 3984},
            {"size": 64, "class": 3, "pool": "tiny", "slabs": 2, "done": 2,
             "pages": 64}]
        path = write_json(data, "prewarm.json")
        text = render_file([path], "words-prewarm.html")
        self.check_words(data, text)
        notes = ["".join(p.itertext()) for p in parse_page(self, text).iter("p")]
        line = [n for n in notes if n.startswith("Prewarm at start-up")]
        self.assertEqual(len(line), 1, notes)
        self.assertTrue(line[0].startswith("Prewarm at start-up, before tracing: "
                                           "1039:250, 64:2 (4,048 pages faulted then)."),
                        line[0])
        text = render_file([os.path.join(FIXTURES, "rich.json")], "words-noprewarm.html")
        self.assertNotIn("Prewarm at start-up", text)

    def test_more_call_sites(self):
        """20 call sites: the table lists 15, and the rest are counted in
        words, from the analysis's count (it lists 50 at most)."""
        data = fixture("callsites.json")
        text = render_file([os.path.join(FIXTURES, "callsites.json")],
                           "words-callsites-more.html")
        words = self.check_words(data, text)
        self.assertIn("And 5 more call sites with fewer faults.", words)
        sites = data["processes"][0]["callsites"]["sites"]
        tables = [t for t in parse_page(self, text).iter("table")
                  if "".join(t.find("thead/tr/th").itertext()) == "call site"]
        self.assertEqual(len(tables), 1)
        listed = ["".join(tr.find("td/code").itertext())
                  for tr in tables[0].findall("tbody/tr")]
        self.assertEqual(listed, [s["site"] for s in sites[:15]])
        # The old sentence would have failed the check.
        old = text.replace("And 5 more call sites with fewer faults.",
                           "5 more call sites in the JSON report.")
        self.assertNotEqual(old, text)
        with self.assertRaises(AssertionError):
            self.check_words(data, old)
        data["processes"][0]["callsites"]["count"] = 80
        words = self.check_words(data, render_file(
            [write_json(data, "callsites-80.json")], "words-callsites-80.html"))
        self.assertIn("And 65 more call sites with fewer faults.", words)

    def test_bench(self):
        data = rss_over_bench()
        self.check_words(data, render_file(
            ["--bench", write_json(data, "words-bench.json")],
            "words-bench.html"))


# ---- captions --------------------------------------------------------------

class TimelineCaption(unittest.TestCase):
    """The caption speaks of the SuperSlab panel only when it is drawn."""

    def timeline(self, data, name):
        root = parse_page(self, render_file([write_json(data, name + ".json")],
                                            name + ".html"))
        fig = [f for f in root.iter("figure")
               if f.get("data-chart") == "timeline"][0]
        caption = "".join(fig.find("figcaption").itertext())
        # Panels: axes with axis lines (the legend's row has none).
        axes = [g for g in fig.iter(SVG_NS + "g")
                if re.search(r"-axes_\d+$", g.get("id") or "") and any(
                    re.search(r"-matplotlib\.axis_\d+$", a.get("id") or "")
                    for a in g.iter(SVG_NS + "g"))]
        # The time axis keeps its numbers under the last panel.
        ticks = [t for g in fig.iter(SVG_NS + "g")
                 if re.search(r"-xtick_\d+$", g.get("id") or "")
                 for t in g.iter(SVG_NS + "text") if (t.text or "").strip()]
        self.assertGreaterEqual(len(ticks), 3, "no time tick labels")
        return caption, len(axes)

    def test_nothing_mapped(self):
        data = fixture("rich.json")
        p = data["processes"][0]
        del p["superslab_lifecycle"]
        for b in p["timeline"]:
            b["ss_maps"] = b["ss_unmaps"] = 0
        caption, axes = self.timeline(data, "timeline-unmapped")
        self.assertEqual(axes, 2)
        self.assertNotIn("Bottom", caption)
        self.assertNotIn("mmap", caption)

    def test_mapped(self):
        caption, axes = self.timeline(fixture("rich.json"), "timeline-mapped")
        self.assertEqual(axes, 3)
        self.assertIn("Bottom: each tick is a SuperSlab mmap or munmap",
                      caption)


# ---- one formatter -----------------------------------------------------------

class SharedFormat(unittest.TestCase):
    """bench/compare's markdown table and the bench page print the same
    figures the same way (both through viz/benchfmt.py)."""

    def test_table_cells_on_page(self):
        compare = load_compare()
        sys.path.append(os.path.dirname(os.environ.get("VIZ_RENDER") or
                                        os.path.join(SOURCE, "viz", "x")))
        import benchfmt
        data = rss_over_bench()
        for w in data["workloads"]:
            compare.summarize(w, w["results"], benchfmt)
        out = io.StringIO()
        with redirect_stdout(out):
            compare.print_table(data, benchfmt)
        table = out.getvalue()
        self.assertIn("!: hakmem holds more than 1.25x the leanest peer's "
                      "peak RSS", table)
        marked = [line for line in table.splitlines()
                  if line.startswith("| ") and " ! |" in line]
        self.assertEqual(len(marked), 1)
        self.assertIn("| hakmem-release |", marked[0])
        root = parse_page(self, render_file(
            ["--bench", write_json(data, "format-bench.json")],
            "format-bench.html"))
        rows = root.findall(".//table[@class='results']/tbody/tr")
        page_rows = ["|".join("".join(td.itertext()).replace("×", "x")
                              for td in tr.findall("td")) for tr in rows]
        lines = [line for line in table.splitlines()
                 if line.startswith("| ") and "---" not in line][1:]
        self.assertEqual(len(lines), len(page_rows))
        for line, page_row in zip(lines, page_rows):
            cells = [c.strip() for c in line.strip("| ").split(" | ")]
            for cell in cells:
                # "0.73x (tcmalloc)" is "0.73x" over "tcmalloc" on the page.
                for part in re.split(r" \(|\)", cell):
                    if part:
                        self.assertIn(part.strip(), page_row, line)
        over = [tr for tr in rows if tr.get("class") == "rss-over"]
        self.assertEqual(len(over), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
