"""The plain-English sentences at the top of the report and of each
process: what share of the faults the allocator caused, why, and what to
change. Numbers come straight from the JSON; nothing is estimated here.
Sentences that name a setting return markup, with the setting in <code>."""

from markup import code, join
from model import CAUSES

CAUSE_WORDS = {
    "superslab_carve": "fresh SuperSlab carve",
    "refault_after_purge": "refaults after purge",
    "large": "large spans",
    "other": "faults outside the allocator",
}

POOL_WORDS = {"tiny": "Tiny", "mid": "Mid", "small-mid": "Small-Mid"}

# Where a process's fault counts come from (faults.source).
SOURCE_WORDS = {
    "perf-context": "the kernel's page-fault events (perf context)",
    "allocator-counts": "the allocator's own counters",
}


def num(n):
    """12345 -> '12,345'; fractional values keep one decimal."""
    if n is None:
        return "n/a"
    if float(n).is_integer():
        return "{:,}".format(int(n))
    return "{:,.1f}".format(n)


def pct(part, whole):
    if not whole:
        return "n/a"
    p = 100.0 * part / whole
    # 0.4% is not 0%, and 99.6% is not 100%.
    if 0 < p < 1:
        return "<1%"
    if 99 < p < 100:
        return ">99%"
    return "%d%%" % round(p)


def pool_words(pool):
    return POOL_WORDS.get(pool, str(pool))


def source_words(source):
    return SOURCE_WORDS.get(source, source.replace("-", " "))


def plural(n, word, words=None):
    return "%s %s" % (num(n), word if n == 1 else (words or word + "s"))


def cause_words(cause):
    return CAUSE_WORDS.get(cause, cause.replace("_", " "))


def class_words(label):
    """'1039' -> 'the 1039-byte class'; anything else is shown as given."""
    return "the %s-byte class" % label if label.isdigit() else label


def dominant_cause(proc):
    # Only the allocator's own causes: the analysis may add more keys.
    by_cause = {k: proc.faults["by_cause"][k] for k in CAUSES}
    cause = max(by_cause, key=lambda k: by_cause[k])
    return cause if by_cause[cause] > 0 else None


def top_class(proc):
    by_class = proc.faults["by_class"]
    if not by_class:
        return None
    label = max(by_class, key=lambda k: by_class[k])
    return label if by_class[label] > 0 else None


def fault_sentence(proc):
    """'62% of 48,120 page faults came from the allocator, mostly ...'"""
    total, alloc = proc.total, proc.allocator
    if not total:
        return "No page faults were recorded."
    if not alloc:
        return ("None of the %s page faults came from the allocator; they "
                "happened elsewhere in the program." % num(total))
    s = "%s of %s page faults came from the allocator" % (
        pct(alloc, total), num(total))
    cause = dominant_cause(proc)
    if cause:
        s += ", mostly %s" % cause_words(cause)
        cls = top_class(proc)
        if cls and cause != "large":
            s += " in %s" % class_words(cls)
    return s


def rec_effect(rec):
    """'saves' (fewer faults) or 'moves' (the same faults at start-up).
    JSON written before the field existed only had savings."""
    return "moves" if rec.get("effect") == "moves" else "saves"


def rec_claimed(rec):
    """The faults a recommendation saves or moves."""
    n = rec.get("claimed_faults")
    return n if isinstance(n, (int, float)) else rec["saves_faults"]


def moved_where(rec):
    """'out of the storm at +0..+20 ms into start-up', from the analysis's
    claim ('moves ~N faults out of ...')."""
    claim = rec.get("claim")
    if isinstance(claim, str) and " faults " in claim:
        return claim.split(" faults ", 1)[1]
    return "into start-up"


def claim_words(rec, total):
    """'would save about 1,440 faults (16%)' or 'would move about 3,640
    faults out of the storm at +0..+20 ms into start-up (...)'."""
    n = rec_claimed(rec)
    if not n:
        return ""
    if rec_effect(rec) == "moves":
        return ("would move about %s faults %s (lower latency there; the "
                "process takes as many faults in all)" % (num(n), moved_where(rec)))
    s = "would save about %s faults" % num(n)
    if total:
        s += " (%s)" % pct(n, total)
    return s


def recommendation_sentence(proc):
    rec = proc.top_recommendation()
    if rec is None:
        return "no change is recommended."
    s = claim_words(rec, proc.total)
    where = rec.get("callsite")
    return join("see the recommendation: ", code(rec["env"]), " " + s if s else "",
                "; " + where if isinstance(where, str) and where else "", ".")


def process_headline(proc):
    """One or two sentences: the faults, then the fix."""
    first = fault_sentence(proc)
    if not proc.total:
        return first
    return join(first, "; ", recommendation_sentence(proc))


def process_details(proc):
    """Further sentences worth reading before the charts."""
    out = []
    raw = proc.raw
    storms = raw["storms"]
    if storms:
        big = max(storms, key=lambda s: s["faults"])
        out.append("%s, the largest at %s ms with %s faults, mostly %s." % (
            plural(len(storms), "fault storm"), num(round(proc.ms(
                big["begin_ns"]), 1)), num(big["faults"]),
            cause_words(big["cause"])))
    errors = raw["heap_errors"]
    if errors:
        kinds = sorted({e["kind"] for e in errors})
        out.append("%s recorded (%s): the program has a memory bug." % (
            plural(len(errors), "heap error was", "heap errors were"),
            ", ".join(kinds)))
    # The analysis's own findings in plain words (remote frees that waited
    # while fresh space was carved, or came home first).
    for x in raw.get("explanations") or ():
        if isinstance(x, dict) and isinstance(x.get("text"), str):
            out.append(x["text"])
    if proc.faults["source"] != "perf-context":
        out.append("The trace had no perf page-fault context, so these "
                   "figures are the allocator's own counts.")
    return out


def report_headline(report):
    """The sentence at the very top of the page."""
    procs = report.processes
    if not procs:
        return ("The trace holds no process with hakmem events: was the "
                "program run with HAKMEM_TRACE=1 under hakmem trace?")
    if len(procs) == 1:
        return process_headline(procs[0])
    total = sum(p.total for p in procs)
    alloc = sum(p.allocator for p in procs)
    hosts = report.hosts
    s = "%s on %s: %s page faults in all" % (
        plural(len(procs), "process", "processes"),
        plural(len(hosts), "host"), num(total))
    if total:
        s += ", %s of them from the allocator." % pct(alloc, total)
        worst = max(procs, key=lambda p: p.allocator)
        if worst.allocator:
            s = join(s, " Most allocator faults: %s (pid %s on %s): " % (
                worst.raw["procname"], worst.raw["pid"], worst.raw["host"]),
                process_headline(worst))
    else:
        s += "."
    return s
