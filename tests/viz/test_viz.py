#!/usr/bin/python3
"""Tests of viz/render.py: the HTML report and the benchmark page.

  test_viz.py [TestCase ...]      e.g. test_viz.py RichReport Screenshot

Environment (ctest sets both):
  VIZ_RENDER  render.py to test (default: the source tree's viz/render.py)
  VIZ_OUT     where the HTML and PNG artifacts go (default: a temp dir)

Every chart carries a JSON data island with the numbers it drew, read
back from matplotlib's artists; the tests hold those to the fixture JSON.
"""

import html.parser
import itertools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True   # keep the source tree clean
sys.path.insert(0, HERE)
import pngread  # noqa: E402

FIXTURES = os.path.join(HERE, "fixtures")
PYTHON = "/usr/bin/python3"
RENDER = os.environ.get("VIZ_RENDER") or os.path.join(
    HERE, "..", "..", "viz", "render.py")
OUT = os.environ.get("VIZ_OUT") or tempfile.mkdtemp(prefix="viz-test-")
SVG_NS = "{http://www.w3.org/2000/svg}"


def fixture(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as f:
        return json.load(f)


def run_render(*args):
    if not os.path.isfile(RENDER):
        raise AssertionError(
            "%s does not exist: configure the build with viz/ added "
            "(add_subdirectory(viz) in the top-level CMakeLists.txt)" % RENDER)
    return subprocess.run([PYTHON, RENDER] + list(args), capture_output=True,
                          text=True, timeout=180)


def render_file(args, out_name):
    """Render into OUT/out_name and return the page's text."""
    out = os.path.join(OUT, out_name)
    if os.path.exists(out):
        os.unlink(out)
    p = run_render(*args, "-o", out)
    if p.returncode != 0 or "Traceback" in p.stderr:
        raise AssertionError("render.py %s failed (exit %d):\n%s"
                             % (" ".join(args), p.returncode, p.stderr))
    with open(out, encoding="utf-8") as f:
        return f.read()


# ---- structural checks shared by every page ---------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "area",
        "base", "source", "track", "embed", "param"}


class Balance(html.parser.HTMLParser):
    """Every non-void element closed, in order, as an HTML5 parser sees
    the page (inline SVG elements included)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes <%s> at line %d" % (
                tag, self.stack[-1] if self.stack else "nothing",
                self.getpos()[0]))
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
        else:
            self.stack.pop()


def parse_page(test, text):
    """Well-formed: the HTML parser balances every tag, and the whole page
    (inline SVG included) parses as XML once the doctype is removed."""
    test.assertTrue(text.startswith("<!DOCTYPE html>"), "no HTML5 doctype")
    b = Balance()
    b.feed(text)
    b.close()
    test.assertEqual(b.errors, [], "unbalanced tags")
    test.assertEqual(b.stack, [], "unclosed tags")
    body = text[len("<!DOCTYPE html>"):]
    try:
        root = ET.fromstring(body)
    except ET.ParseError as e:
        test.fail("page is not well-formed XML: %s" % e)
    test.assertEqual(root.tag, "html")
    test.assertIsNotNone(root.find("head/title"))
    test.assertIsNotNone(root.find("head/style"))
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    test.assertEqual(dupes, [], "duplicate element ids")
    for svg in re.findall(r"<svg\b.*?</svg>", text, flags=re.S):
        ET.fromstring(svg)   # each chart is well-formed on its own
    return root


def assert_self_contained(test, text):
    """Nothing the page could fetch: no URL at all but the SVG namespace
    name (an identifier, never fetched), no src, only in-page hrefs."""
    scrubbed = text.replace('xmlns="http://www.w3.org/2000/svg"', "")
    test.assertIsNone(re.search(r"(?i)(https?:|ftp:)?//[a-z0-9.-]+\.[a-z]",
                                scrubbed), "a URL in the page")
    test.assertNotRegex(scrubbed, r"(?i)https?:")
    test.assertNotRegex(text, r"(?i)\bsrc\s*=", "a src= attribute")
    for href in re.findall(r"""(?i)\bhref\s*=\s*["']([^"']*)["']""", text):
        test.assertTrue(href.startswith("#"), "href=%r leaves the page" % href)
    for url in re.findall(r"(?i)url\(\s*['\"]?([^)'\"]*)", text):
        test.assertTrue(url.startswith("#"), "url(%s) leaves the page" % url)
    test.assertNotRegex(text, r"(?i)<(link|img|iframe|object|embed|base)\b")
    test.assertNotRegex(text, r"(?i)@import|@font-face")
    for m in re.finditer(r"(?i)<script\b([^>]*)>", text):
        test.assertIn('type="application/json"', m.group(1),
                      "a script that would run")


def figures(root):
    """{figure id: (kind, process index or None, data island)}."""
    out = {}
    for fig in root.iter("figure"):
        island = [s for s in fig.iter("script")
                  if s.get("class") == "chart-data"]
        svgs = list(fig.iter(SVG_NS + "svg"))
        assert len(island) == 1 and len(svgs) == 1, fig.get("id")
        proc = fig.get("data-process")
        out[fig.get("id")] = (fig.get("data-chart"),
                              int(proc) if proc is not None else None,
                              json.loads(island[0].text))
    return out


def svg_text(root):
    return " ".join(t for svg in root.iter(SVG_NS + "svg")
                    for t in svg.itertext())


def page_text(root):
    return re.sub(r"\s+", " ", " ".join(root.find("body").itertext()))


# ---- the charts, held to the JSON -----------------------------------------

def time_origin(p):
    if isinstance(p.get("begin_ns"), (int, float)):
        return p["begin_ns"]
    stamps = [s["begin_ns"] for s in p["storms"]]
    stamps += [h["ts_ns"] for h in p["heap_errors"]]
    stamps += [b["t_ns"] for b in p.get("timeline") or ()]
    stamps += [s[k] for s in p.get("superslab_lifecycle") or ()
               for k in ("map_ns", "unmap_ns") if s.get(k) is not None]
    return min(stamps)


def time_end(p, t0):
    if isinstance(p.get("end_ns"), (int, float)):
        return p["end_ns"]
    return t0 + p["duration_ns"]


class ChartChecks:
    """Mixed into the TestCases: one check per chart kind."""

    def close(self, got, want, what):
        self.assertEqual(len(got), len(want), what)
        for i, (g, w) in enumerate(zip(got, want)):
            self.assertTrue(math.isclose(g, w, rel_tol=1e-9, abs_tol=1e-6),
                            "%s[%d]: drew %r, JSON says %r" % (what, i, g, w))

    def check_timeline(self, d, p):
        tl = p["timeline"]
        t0 = time_origin(p)
        faults = [b["faults"] for b in tl]
        self.assertEqual(d["cumulative_faults"],
                         list(itertools.accumulate(faults)))
        self.close([r * d["bucket_ms"] for r in d["rate_per_ms"]], faults,
                   "rate x bucket")
        self.close(d["t_ms"], [(b["t_ns"] - t0) / 1e6 for b in tl], "t_ms")
        if "timeline_bucket_ns" in p:
            self.assertEqual(d["bucket_ms"], p["timeline_bucket_ns"] / 1e6)
        if all("allocator_faults" in b for b in tl):
            self.assertEqual(d["allocator_cumulative_faults"], list(
                itertools.accumulate(b["allocator_faults"] for b in tl)))
        else:
            self.assertIsNone(d["allocator_cumulative_faults"])
        self.assertEqual(len(d["storms_ms"]), len(p["storms"]))
        for got, s in zip(d["storms_ms"], p["storms"]):
            self.close(got, [(s["begin_ns"] - t0) / 1e6,
                             (s["end_ns"] - t0) / 1e6], "storm span")
        life = p.get("superslab_lifecycle")
        if life:
            self.assertEqual(d["ss_markers_from"], "superslab_lifecycle")
            self.close(d["ss_map_ms"], sorted(
                (s["map_ns"] - t0) / 1e6 for s in life
                if s.get("map_ns") is not None), "mmap markers")
            self.close(d["ss_unmap_ms"], sorted(
                (s["unmap_ns"] - t0) / 1e6 for s in life
                if s.get("unmap_ns") is not None), "munmap markers")

    def check_by_cause(self, d, p):
        f = p["faults"]
        self.assertEqual(d["causes"], ["superslab_carve",
                                       "refault_after_purge", "large",
                                       "other"])
        self.assertEqual(d["faults"], [f["by_cause"]["superslab_carve"],
                                       f["by_cause"]["refault_after_purge"],
                                       f["by_cause"]["large"], f["other"]])

    def check_by_class(self, d, p):
        self.assertEqual(dict(zip(d["classes"], d["faults"])),
                         p["faults"]["by_class"])
        sizes = [int(c) for c in d["classes"]]
        self.assertEqual(sizes, sorted(sizes), "classes in size order")

    def check_lifecycle(self, d, p):
        life = p["superslab_lifecycle"]
        t0 = time_origin(p)
        end_ms = (time_end(p, t0) - t0) / 1e6
        self.assertEqual(d["total"], len(life))
        want = sorted(life, key=lambda s: (s.get("map_ns") is not None,
                                           s.get("map_ns") or 0))
        self.assertEqual(len(d["rows"]), len(want))
        for row, s in zip(d["rows"], want):
            self.assertEqual(row["ss"], s["ss"])
            self.assertEqual(row["pool"], s["pool"])
            self.assertEqual(row["reuses"], s.get("reuses") or 0)
            self.assertEqual(row["unmapped"], s.get("unmap_ns") is not None)
            start = 0 if s.get("map_ns") is None else \
                (s["map_ns"] - t0) / 1e6
            end = end_ms if s.get("unmap_ns") is None else \
                (s["unmap_ns"] - t0) / 1e6
            self.close([row["start_ms"], row["end_ms"]], [start, end],
                       "SuperSlab 0x%x" % s["ss"])

    def check_refill(self, d, p):
        r = p["refill"]
        self.assertEqual(d["blocks"], {"from_freelist": r["from_freelist"],
                                       "from_carve": r["from_carve"]})
        self.assertEqual(d["refills"], {"same_slab": r["count"] -
                                        r["new_slab"],
                                        "new_slab": r["new_slab"]})

    def check_recycling(self, d, p):
        want = {"superslabs." + k: p["superslabs"][k]
                for k in ("mapped", "reused", "unmapped", "churn")}
        want.update({"slabs." + k: p["slabs"][k]
                     for k in ("empty", "reused", "class_changes")})
        self.assertEqual(d, want)

    def check_report_charts(self, root, data):
        """Every chart against its process; returns the kinds per
        process."""
        kinds = {}
        for fid, (kind, proc, d) in figures(root).items():
            with self.subTest(chart=fid):
                self.assertIsNotNone(proc)
                getattr(self, "check_" + kind)(d, data["processes"][proc])
                kinds.setdefault(proc, set()).add(kind)
        return kinds


# ---- the tests --------------------------------------------------------------

class RichReport(unittest.TestCase, ChartChecks):
    """One process with every optional part: timeline, lifecycle, storms,
    heap errors, recommendations."""

    @classmethod
    def setUpClass(cls):
        cls.data = fixture("rich.json")
        cls.text = render_file([os.path.join(FIXTURES,
                                                         "rich.json")],
                               "rich.html")

    def setUp(self):
        self.root = parse_page(self, self.text)

    def test_structure(self):
        self.assertGreaterEqual(self.text.count("<svg"), 4)
        assert_self_contained(self, self.text)

    def test_every_chart_matches_json(self):
        kinds = self.check_report_charts(self.root, self.data)
        self.assertEqual(kinds, {0: {"timeline", "by_cause", "by_class",
                                     "lifecycle", "refill", "recycling"}})

    def test_headline_and_tables(self):
        text = page_text(self.root)
        head = "".join(self.root.find(".//p[@id='headline']").itertext())
        self.assertIn("76% of 37,960 page faults came from the allocator, "
                      "mostly fresh SuperSlab carve in the 1039-byte class",
                      head)
        self.assertIn("HAKMEM_PREWARM=1039:24", head)
        codes = ["".join(c.itertext()) for c in self.root.iter("code")]
        for rec in self.data["processes"][0]["recommendations"]:
            self.assertIn(rec["env"], codes)
            self.assertIn(rec["why"], text)
        for err in self.data["processes"][0]["heap_errors"]:
            self.assertIn("0x%x" % err["addr"], codes)
        self.assertIn("double-free", codes)
        self.assertIn("12,750", text)          # storm S1's faults
        # the analysis's explanations, in its words, before the charts
        details = "".join(self.root.find(".//ul[@class='details']").itertext())
        for x in self.data["processes"][0]["explanations"]:
            self.assertIn(x["text"], details)
        self.assertIn("pid 4242 on buildbox", text)
        self.assertIn("1,500 ms", text)        # duration

    def test_moves_are_not_savings(self):
        """A prewarm moves faults to start-up: the headline and the table
        say so and never call it a saving (rule 2 in the fixture has no
        effect field, as JSON from before it: a saving)."""
        head = "".join(self.root.find(".//p[@id='headline']").itertext())
        self.assertIn("would move about 9,100 faults out of the storm at "
                      "+300..+900 ms into start-up", head)
        self.assertNotIn("save", head)
        cells = ["".join(td.itertext()) for td in self.root.iter("td")]
        self.assertIn("moves 9,100to start-up, none saved", cells)
        self.assertIn("saves 2,100" + "6% of all", cells)
        self.assertIn("saves 5,300" + "14% of all", cells)

    def test_axis_units(self):
        labels = svg_text(self.root)
        for unit in ("(ms)", "(faults/ms)", "(faults)", "(bytes)",
                     "(blocks)", "(count)"):
            self.assertIn(unit, labels)

    def test_deterministic(self):
        again = render_file([os.path.join(FIXTURES, "rich.json")],
                            "rich-again.html")
        self.assertEqual(again, self.text)

    def test_title_option(self):
        text = render_file([os.path.join(FIXTURES, "rich.json"),
                                  "--title", "Ticket <42> & co"],
                           "rich-title.html")
        root = parse_page(self, text)
        self.assertEqual(root.find("head/title").text, "Ticket <42> & co")


class MultiReport(unittest.TestCase, ChartChecks):
    """Four processes on two hosts: overview, escaping, a malformed
    optional part, a process with nothing to show."""

    @classmethod
    def setUpClass(cls):
        cls.data = fixture("multi.json")
        cls.text = render_file([os.path.join(FIXTURES,
                                                         "multi.json")],
                               "multi.html")

    def setUp(self):
        self.root = parse_page(self, self.text)

    def test_structure(self):
        assert_self_contained(self, self.text)
        kinds = self.check_report_charts(self.root, self.data)
        self.assertIn("timeline", kinds[0])
        self.assertIn("lifecycle", kinds[1])
        self.assertNotIn("timeline", kinds[2])   # its timeline is malformed
        self.assertNotIn(3, kinds)               # no faults: no charts

    def test_overview(self):
        ov = self.root.find(".//h2[@id='overview']")
        self.assertIsNotNone(ov)
        rows = self.root.findall(".//table")[0].findall("tbody/tr")
        self.assertEqual(len(rows), 4)
        sections = {s.get("id") for s in self.root.iter("section")}
        for row, p in zip(rows, self.data["processes"]):
            cells = ["".join(td.itertext()) for td in row.findall("td")]
            self.assertEqual(cells[0], p["host"])
            self.assertEqual(cells[1], str(p["pid"]))
            self.assertEqual(cells[2], p["procname"])
            self.assertEqual(cells[3], "{:,}".format(p["faults"]["total"]))
            href = row.find(".//a").get("href")
            self.assertIn(href[1:], sections)
        top = "".join(rows[0].itertext())
        self.assertIn("HAKMEM_PREWARM=1039:32", top)

    def test_escaping_and_notes(self):
        self.assertNotIn("<script>alert", self.text)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", self.text)
        text = page_text(self.root)
        self.assertIn("a<b>&\"c'", text)
        self.assertIn("lost 12 events", text)
        self.assertIn("The fault timeline is left out", text)
        self.assertIn("allocator's own counts", text)
        self.assertIn("4 processes on 2 hosts", text)


class FoldedReport(unittest.TestCase, ChartChecks):
    """The analysis folded the minor processes: they keep a row in the
    overview and one sentence, no section and no chart. An exec'd image
    says what it was exec'd by."""

    @classmethod
    def setUpClass(cls):
        data = fixture("multi.json")
        procs = data["processes"]
        procs[0].update(image=2, exec_from="bash", exec_into=None)
        for p in procs:
            p["folded"] = False
        procs[2]["folded"] = procs[3]["folded"] = True
        procs[3]["procname"] = procs[2]["procname"]
        data["selection"] = {"pid": 100, "process": None, "top": None,
                             "processes_left_out": 3}
        cls.data = data
        path = os.path.join(OUT, "folded.json")
        with open(path, "w") as f:
            json.dump(data, f)
        cls.text = render_file([path], "folded.html")

    def setUp(self):
        self.root = parse_page(self, self.text)

    def test_sections(self):
        assert_self_contained(self, self.text)
        kinds = self.check_report_charts(self.root, self.data)
        self.assertEqual(sorted(kinds), [0, 1])   # none for the folded
        sections = [s.get("id") for s in self.root.iter("section")]
        self.assertEqual(len(sections), 2)

    def test_overview_row_and_sentence(self):
        procs = self.data["processes"]
        rows = self.root.findall(".//table")[0].findall("tbody/tr")
        self.assertEqual(len(rows), 3)
        last = ["".join(td.itertext()) for td in rows[2].findall("td")]
        folded = procs[2]["faults"]["total"] + procs[3]["faults"]["total"]
        self.assertEqual(last[2], "2 more")
        self.assertEqual(last[3], "{:,}".format(folded))
        note = "".join(self.root.find(".//p[@id='folded']").itertext())
        self.assertIn("2 more processes with {:,} faults in all".format(
            folded), note)
        self.assertIn("%s x2" % procs[2]["procname"], note)
        self.assertIn("--top N", note)
        self.assertIn("(2 folded into one line)", page_text(self.root))

    def test_exec(self):
        sub = "".join(self.root.find(".//section/p[@class='sub']").itertext())
        self.assertIn("exec'd by bash", sub)

    def test_selection(self):
        self.assertIn("Only the processes with pid 100: 3 more in the trace "
                      "are left out.", page_text(self.root))


class MinimalReport(unittest.TestCase, ChartChecks):
    """Only the keys docs/reference.md guarantees."""

    def test_minimal(self):
        data = fixture("minimal.json")
        text = render_file([os.path.join(FIXTURES, "minimal.json")],
                           "minimal.html")
        root = parse_page(self, text)
        assert_self_contained(self, text)
        kinds = self.check_report_charts(root, data)
        self.assertEqual(kinds, {0: {"by_cause", "by_class", "refill",
                                     "recycling"}})
        body = page_text(root)
        self.assertIn("No timeline chart", body)
        self.assertIn("No lifecycle chart", body)
        self.assertIn("no change is recommended", body)
        self.assertIn("No heap errors were recorded", body)
        self.assertIn("38% of 2,480 page faults", body)


    def test_no_process(self):
        """A trace without hakmem events: a page that says so."""
        data = fixture("minimal.json")
        data["processes"] = []
        data["events"] = 0
        data["note"] = "no hakmem events in the trace"
        path = os.path.join(OUT, "empty.json")
        with open(path, "w") as f:
            json.dump(data, f)
        text = render_file([path], "empty.html")
        root = parse_page(self, text)
        assert_self_contained(self, text)
        self.assertEqual(text.count("<svg"), 0)
        body = page_text(root)
        self.assertIn("no process with hakmem events", body)
        self.assertIn("no hakmem events in the trace", body)


class BadInput(unittest.TestCase):
    def bad(self, data_or_text, bench=False):
        """Render data_or_text (JSON-encoded unless a string); the page
        must not be written."""
        path = os.path.join(OUT, "bad-input.json")
        with open(path, "w", encoding="utf-8") as f:
            f.write(data_or_text if isinstance(data_or_text, str)
                    else json.dumps(data_or_text))
        out = os.path.join(OUT, "bad-output.html")
        if os.path.exists(out):
            os.unlink(out)
        p = run_render(*(["--bench", path] if bench else [path]), "-o", out)
        self.assertNotIn("Traceback", p.stderr)
        self.assertFalse(os.path.exists(out), "a page was written anyway")
        return p

    def assert_error(self, p, *needles):
        self.assertEqual(p.returncode, 2, p.stderr)
        for n in needles:
            self.assertIn(n, p.stderr)

    def test_missing_keys(self):
        for path, needle in [
                (("processes", 0, "faults", "total"),
                 "processes[0].faults.total missing"),
                (("processes", 0, "faults", "by_cause", "large"),
                 "processes[0].faults.by_cause.large missing"),
                (("processes", 0, "recommendations", 0, "env"),
                 "processes[0].recommendations[0].env missing"),
                (("processes", 0, "refill"), "processes[0].refill missing"),
                (("processes",), "processes missing"),
                (("lost_events",), "lost_events missing")]:
            with self.subTest(path=path):
                data = fixture("rich.json")
                obj = data
                for k in path[:-1]:
                    obj = obj[k]
                del obj[path[-1]]
                self.assert_error(self.bad(data), needle,
                                  "sink.hakmem.report JSON")

    def test_wrong_types(self):
        data = fixture("minimal.json")
        data["processes"][0]["faults"]["total"] = "2480"
        self.assert_error(self.bad(data), "processes[0].faults.total is a "
                          "string, expected a number")
        data = fixture("minimal.json")
        data["processes"][0]["storms"] = {}
        self.assert_error(self.bad(data), "processes[0].storms is an object, "
                          "expected a list")
        self.assert_error(self.bad("[1, 2]"), "the top level is a list")

    def test_not_json(self):
        self.assert_error(self.bad("hakmem report: 3 processes\n"),
                          "is not JSON", "line 1 column 1")
        self.assert_error(self.bad('{"traces": [}'), "is not JSON")
        self.assert_error(self.bad(""), "is not JSON")

    def test_no_file(self):
        p = run_render(os.path.join(OUT, "no-such.json"), "-o",
                       os.path.join(OUT, "x.html"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("cannot read", p.stderr)
        self.assertNotIn("Traceback", p.stderr)

    def test_swapped_inputs(self):
        bench = json.dumps(fixture("bench_compare.json"))
        self.assert_error(self.bad(bench), "traces missing")
        report = json.dumps(fixture("minimal.json"))
        self.assert_error(self.bad(report, bench=True),
                          "workloads missing", "bench/compare JSON")

    def test_bad_arguments(self):
        p = run_render("-o", os.path.join(OUT, "x.html"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("JSON_FILE", p.stderr)
        p = run_render(os.path.join(FIXTURES, "minimal.json"))
        self.assertEqual(p.returncode, 2)
        self.assertIn("-o", p.stderr)

    def test_unwritable_output(self):
        p = run_render(os.path.join(FIXTURES, "minimal.json"), "-o",
                       os.path.join(OUT, "no-such-dir", "x.html"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot write", p.stderr)
        self.assertNotIn("Traceback", p.stderr)


class Bench(unittest.TestCase):
    """bench/compare JSON: overview, one chart per workload, the table."""

    def check_page(self, data, text):
        root = parse_page(self, text)
        assert_self_contained(self, text)
        figs = figures(root)
        wls = data["workloads"]
        self.assertEqual(text.count("<svg"), 1 + len(wls))
        kind, _, ov = figs["bench-overview"]
        self.assertEqual(kind, "bench_overview")
        ratio_wls = [w for w in wls if w.get("compare", "ratio") == "ratio"]
        self.assertEqual(ov["workloads"], [w["name"] for w in ratio_wls])
        for name in ov["allocators"]:
            self.assertEqual(ov["vs_glibc"][name], [
                w["results"][name]["vs_glibc"] for w in ratio_wls])
        for i, w in enumerate(wls):
            kind, _, d = figs["bench-w%d" % i]
            self.assertEqual(kind, "bench_workload")
            res = w["results"]
            self.assertEqual(d["allocators"], list(res))
            for key, get in (("vs_glibc", lambda r: r["vs_glibc"]),
                             ("minflt", lambda r: r["median"]["minflt"]),
                             ("maxrss_kb",
                              lambda r: r["median"]["maxrss_kb"])):
                for name, got in zip(d["allocators"], d[key]):
                    want = get(res[name])
                    if want is None:
                        self.assertIsNone(got)
                    else:
                        self.assertTrue(math.isclose(got, want,
                                                     rel_tol=1e-9),
                                        "%s %s %s" % (w["name"], name, key))
        rows = root.findall(".//table/tbody/tr")
        self.assertEqual(len(rows), sum(len(w["results"]) for w in wls))
        self.assertIn("(MiB)", svg_text(root))
        self.assertIn("(faults)", svg_text(root))
        return root

    def test_bench(self):
        data = fixture("bench_compare.json")
        text = render_file(["--bench", os.path.join(
            FIXTURES, "bench_compare.json")], "bench.html")
        root = self.check_page(data, text)
        head = "".join(root.find(".//p[@id='headline']").itertext())
        self.assertIn("hakmem-release runs at", head)

    def test_failed_allocator(self):
        data = fixture("bench_compare.json")
        w = data["workloads"][0]
        res = w["results"]["mimalloc"]
        res["median"] = {w["metric"]: None, "minflt": None, "maxrss_kb": None}
        res["vs_glibc"] = res["vs_best_peer"] = None
        for r in res["runs"]:
            r.update(ok=False, error="killed by SIGSEGV")
            r.pop("values", None)
        path = os.path.join(OUT, "bench-failed.json")
        with open(path, "w") as f:
            json.dump(data, f)
        text = render_file(["--bench", path], "bench-failed.html")
        root = self.check_page(data, text)
        self.assertIn("failed", svg_text(root))
        self.assertIn("FAIL", page_text(root))


def chromium():
    for c in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if c and os.access(c, os.X_OK):
            return c
    return None


def screenshot(test, html_path, png_path):
    exe = chromium()
    if exe is None:
        test.fail("chromium is not installed: install the chromium package "
                  "(apt-get install chromium); the screenshot test needs it")
    if os.path.exists(png_path):
        os.unlink(png_path)
    profile = tempfile.mkdtemp(prefix="viz-chromium-")
    try:
        p = subprocess.run(
            [exe, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars",
             "--user-data-dir=" + profile, "--screenshot=" + png_path,
             "--window-size=1280,2000",
             "file://" + os.path.abspath(html_path)],
            capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    test.assertTrue(os.path.isfile(png_path), "chromium wrote no screenshot "
                    "(exit %d):\n%s" % (p.returncode, p.stderr[-2000:]))
    return pngread.read(png_path)


def pixel_stats(width, height, channels, rows, colours):
    """Luminance variance, the non-white share, and how many sampled
    pixels are near each of colours (RGB tuples)."""
    n = total = total_sq = non_white = 0
    near = [0] * len(colours)
    for y in range(0, height, 3):
        row = rows[y]
        for x in range(0, width, 3):
            i = x * channels
            r, g, b = row[i], row[i + 1], row[i + 2]
            lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
            n += 1
            total += lum
            total_sq += lum * lum
            if lum < 235:
                non_white += 1
            for k, (cr, cg, cb) in enumerate(colours):
                if abs(r - cr) + abs(g - cg) + abs(b - cb) < 40:
                    near[k] += 1
    mean = total / n
    return total_sq / n - mean * mean, non_white / n, near


VERMILLION, BLUE, GREEN = (0xD5, 0x5E, 0x00), (0x00, 0x72, 0xB2), \
    (0x00, 0x9E, 0x73)


class Screenshot(unittest.TestCase):
    """Headless Chromium renders the pages offline; the PNGs are kept in
    VIZ_OUT (report.png, bench.png) as artifacts."""

    def check(self, html_path, png_name, colours):
        png = os.path.join(OUT, png_name)
        width, height, channels, rows = screenshot(self, html_path, png)
        self.assertEqual((width, height), (1280, 2000))
        var, ink, near = pixel_stats(width, height, channels, rows, colours)
        self.assertGreater(var, 200, "%s looks blank (luminance variance "
                           "%.1f)" % (png, var))
        self.assertGreater(ink, 0.03, "%s is almost all white" % png)
        self.assertLess(ink, 0.9, "%s is almost all dark" % png)
        for colour, count in zip(colours, near):
            # The charts' palette on screen: the SVG was drawn.
            self.assertGreater(count, 150, "%s: too few pixels of chart "
                               "colour #%02x%02x%02x (%d)"
                               % ((png,) + colour + (count,)))

    def test_report(self):
        html_path = os.path.join(OUT, "report.html")
        render_file([os.path.join(FIXTURES, "rich.json")],
                    "report.html")
        self.check(html_path, "report.png", [VERMILLION, BLUE])

    def test_bench(self):
        html_path = os.path.join(OUT, "bench-page.html")
        render_file(["--bench", os.path.join(
            FIXTURES, "bench_compare.json")], "bench-page.html")
        self.check(html_path, "bench.png", [VERMILLION, GREEN])


if __name__ == "__main__":
    unittest.main(verbosity=2)
