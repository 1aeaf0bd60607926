"""Loading and checking the JSON of sink.hakmem.report (docs/reference.md#report-json),
and the derived figures every part of the page needs (time origin,
duration, allocator share).

Required keys are the ones docs/reference.md lists; a missing one is an
InputError naming its path. The analysis adds optional keys (timeline,
superslab_lifecycle, begin_ns, ...); when one of those is absent or has
another shape, its chart is left out with a note instead."""

import json
import math
from dataclasses import dataclass, field

REPORT_HINT = "is this sink.hakmem.report JSON (hakmem report --format json)?"

CAUSES = ("superslab_carve", "refault_after_purge", "large")


class InputError(Exception):
    """Input the renderer cannot use; the message says what and where."""


def load_json(path, what):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise InputError("cannot read %s: %s" % (path, e.strerror or e))
    except UnicodeDecodeError:
        raise InputError("%s is not JSON (not UTF-8 text); expected %s"
                         % (path, what))
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError("%s is not JSON (line %d column %d: %s); expected %s"
                         % (path, e.lineno, e.colno, e.msg, what))


def is_number(v):
    # bool is an int subclass in Python, but true is not a fault count.
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v))


def type_name(v):
    if v is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number",
            str: "a string", list: "a list", dict: "an object"}.get(
                type(v), type(v).__name__)


class Checker:
    """Typed access to a JSON tree that names the failing path."""

    def __init__(self, hint):
        self.hint = hint

    def fail(self, path, problem):
        raise InputError("%s %s: %s" % (path, problem, self.hint))

    def get(self, obj, path, key, kind):
        if not isinstance(obj, dict):
            self.fail(path, "is %s, expected an object" % type_name(obj))
        full = "%s.%s" % (path, key) if path else key
        if key not in obj:
            self.fail(full, "missing")
        return self.check(obj[key], full, kind)

    def check(self, v, path, kind):
        ok = {"number": is_number, "string": lambda x: isinstance(x, str),
              "list": lambda x: isinstance(x, list),
              "object": lambda x: isinstance(x, dict)}[kind](v)
        if not ok:
            article = "an" if kind == "object" else "a"
            self.fail(path, "is %s, expected %s %s"
                      % (type_name(v), article, kind))
        return v


@dataclass
class Process:
    index: int
    raw: dict
    anchor: str
    t0_ns: float          # time origin of this process's charts
    end_ns: float         # last instant shown
    duration_ns: float    # None when the JSON gives no time at all
    timeline: list = None
    bucket_ns: float = None
    lifecycle: list = None
    notes: list = field(default_factory=list)  # why a chart is missing

    @property
    def faults(self):
        return self.raw["faults"]

    @property
    def total(self):
        return self.faults["total"]

    @property
    def allocator(self):
        return self.faults["allocator"]

    @property
    def share(self):
        """Allocator faults as a fraction of all, None with no faults."""
        return self.allocator / self.total if self.total else None

    @property
    def name(self):
        return self.raw["procname"]

    @property
    def folded(self):
        """The analysis folded it into the summary of minor processes."""
        return self.raw.get("folded") is True

    def exec_words(self):
        """"exec'd by bash; then exec'd python3", or None: the other
        images of the same pid."""
        parts = []
        for key, words in (("exec_from", "exec'd by %s"),
                           ("exec_into", "then exec'd %s")):
            if isinstance(self.raw.get(key), str):
                parts.append(words % self.raw[key])
        return "; ".join(parts) or None

    @property
    def command(self):
        cmd = self.raw.get("command")
        if isinstance(cmd, list):
            cmd = " ".join(map(str, cmd))
        return cmd if isinstance(cmd, str) and cmd else None

    def ms(self, ns):
        """A trace timestamp as ms since this process's time origin."""
        return (ns - self.t0_ns) / 1e6

    def top_recommendation(self):
        """The first: the analysis ranks them (measured savings before
        rough estimates), so the biggest number is not always the best."""
        recs = self.raw["recommendations"]
        return recs[0] if recs else None


@dataclass
class Report:
    raw: dict
    processes: list

    @property
    def hosts(self):
        return sorted({p.raw["host"] for p in self.processes})

    @property
    def shown(self):
        """The processes that get a section: all but the folded ones."""
        return [p for p in self.processes if not p.folded]

    @property
    def folded(self):
        return [p for p in self.processes if p.folded]


def _check_process(c, p, path):
    for k in ("pid",):
        c.get(p, path, k, "number")
    for k in ("procname", "host"):
        c.get(p, path, k, "string")
    faults = c.get(p, path, "faults", "object")
    fp = path + ".faults"
    for k in ("total", "allocator", "other"):
        c.get(faults, fp, k, "number")
    by_cause = c.get(faults, fp, "by_cause", "object")
    for k in CAUSES:
        c.get(by_cause, fp + ".by_cause", k, "number")
    by_class = c.get(faults, fp, "by_class", "object")
    for k, v in by_class.items():
        c.check(v, "%s.by_class[%s]" % (fp, json.dumps(k)), "number")
    c.get(faults, fp, "source", "string")
    for name, keys in (("superslabs", ("mapped", "reused", "unmapped",
                                       "churn")),
                       ("refill", ("count", "from_freelist", "from_carve",
                                   "new_slab")),
                       ("slabs", ("empty", "reused", "class_changes"))):
        obj = c.get(p, path, name, "object")
        for k in keys:
            c.get(obj, "%s.%s" % (path, name), k, "number")
    for name, keys in (("storms", (("begin_ns", "number"),
                                   ("end_ns", "number"),
                                   ("faults", "number"),
                                   ("cause", "string"))),
                       ("heap_errors", (("kind", "string"),
                                        ("addr", "number"),
                                        ("ts_ns", "number"))),
                       ("recommendations", (("action", "string"),
                                            ("env", "string"),
                                            ("saves_faults", "number"),
                                            ("why", "string")))):
        items = c.get(p, path, name, "list")
        for i, item in enumerate(items):
            for k, kind in keys:
                c.get(item, "%s.%s[%d]" % (path, name, i), k, kind)


# The optional parts, as the page names them when one cannot be drawn.
OPTIONAL_WORDS = {"timeline": "The fault timeline",
                  "superslab_lifecycle": "The SuperSlab lifecycle"}


def _optional_list(proc, key, fields, nullable=()):
    """proc.raw[key] when it is a list of objects with numeric fields
    (absent or null allowed for those in nullable); otherwise None and a
    note saying why."""
    items = proc.raw.get(key)
    if items is None:
        return None
    problem = None
    if not isinstance(items, list):
        problem = "it came as %s instead of a list" % type_name(items)
    else:
        for i, it in enumerate(items):
            for f in fields + nullable:
                if not isinstance(it, dict):
                    problem = "its entry %d is %s" % (i + 1, type_name(it))
                    break
                v = it.get(f)
                if v is None and f in nullable:
                    continue
                if not is_number(v):
                    problem = "its entry %d lacks a time or count" % (i + 1)
                    break
            if problem:
                break
    if problem:
        proc.notes.append("%s is left out: the analysis output is "
                          "malformed there (%s)." % (
                              OPTIONAL_WORDS.get(key, key), problem))
        return None
    return items


def _time_frame(proc):
    """Time origin and end: begin_ns/end_ns when given, else the earliest
    and latest timestamp anywhere in the process's data."""
    raw = proc.raw
    stamps = []
    for s in raw["storms"]:
        stamps += [s["begin_ns"], s["end_ns"]]
    stamps += [h["ts_ns"] for h in raw["heap_errors"]]
    if proc.timeline:
        stamps += [b["t_ns"] for b in proc.timeline]
        stamps.append(proc.timeline[-1]["t_ns"] + (proc.bucket_ns or 0))
    for ss in proc.lifecycle or ():
        stamps += [v for v in (ss.get("map_ns"), ss.get("unmap_ns"))
                   if is_number(v)]
    begin = raw.get("begin_ns") if is_number(raw.get("begin_ns")) else None
    end = raw.get("end_ns") if is_number(raw.get("end_ns")) else None
    duration = raw.get("duration_ns")
    duration = duration if is_number(duration) and duration >= 0 else None
    if begin is None:
        begin = min(stamps) if stamps else None
    if end is None and begin is not None and duration is not None:
        end = begin + duration
    if end is None:
        end = max(stamps) if stamps else None
    if duration is None and begin is not None and end is not None:
        duration = max(0, end - begin)
    if begin is None:
        begin = 0
    # Storms are whole windows and may reach past the last event: show
    # them whole.
    end = max([end if end is not None else begin] + stamps)
    return begin, end, duration


def _bucket_ns(proc):
    width = proc.raw.get("timeline_bucket_ns")
    if is_number(width) and width > 0:
        return width
    ts = [b["t_ns"] for b in proc.timeline]
    steps = sorted(b - a for a, b in zip(ts, ts[1:]) if b > a)
    if steps:
        return steps[len(steps) // 2]
    return 1e6  # one bucket and nothing to tell its width: call it 1 ms


def _anchor(index, pid):
    return "p%d-%s" % (index, str(pid).replace(".", "_").replace("-", "m"))


def check_report(data):
    """The validated report, or InputError naming the first bad key."""
    c = Checker(REPORT_HINT)
    if not isinstance(data, dict):
        c.fail("the top level", "is %s, expected an object"
               % type_name(data))
    c.get(data, "", "traces", "list")
    c.get(data, "", "events", "number")
    c.get(data, "", "lost_events", "number")
    procs = c.get(data, "", "processes", "list")
    out = []
    for i, p in enumerate(procs):
        path = "processes[%d]" % i
        if not isinstance(p, dict):
            c.fail(path, "is %s, expected an object" % type_name(p))
        _check_process(c, p, path)
        proc = Process(index=i, raw=p, anchor=_anchor(i, p["pid"]),
                       t0_ns=0, end_ns=0, duration_ns=None)
        proc.timeline = _optional_list(proc, "timeline", ("t_ns", "faults"))
        if proc.timeline is not None:
            if proc.timeline:
                proc.timeline = sorted(proc.timeline, key=lambda b: b["t_ns"])
                proc.bucket_ns = _bucket_ns(proc)
            else:
                proc.timeline = None
        proc.lifecycle = _optional_list(
            proc, "superslab_lifecycle", (),
            nullable=("map_ns", "unmap_ns", "reuses")) or None
        proc.t0_ns, proc.end_ns, proc.duration_ns = _time_frame(proc)
        out.append(proc)
    return Report(raw=data, processes=out)
