#!/usr/bin/python3
"""Reads LTTng traces with the bt2 Python bindings for the trace tests.

  tracetool.py summary TRACE_DIR...
      per vpid: hakmem event counts, first and last process_stats; plus
      the number of discarded-event records (JSON on stdout)
  tracetool.py counts TRACE_DIR VPID STATS_FILE [REQUIRED_NONZERO,...]
      checks that each counted event matches the delta of its process_stats
      counter (first to last sample) and that the last sample equals the
      "stat NAME VALUE" lines the program printed; exit 0 when all agree
  tracetool.py channels TRACE_DIR VPID
      checks that every hakmem event of VPID is on the channel hakmem
      trace puts it on (the perf context on the events that can claim
      faults and hakmem:tick, none on the others) and prints, as JSON, the
      process's fault total summed from its threads' counted events and
      its ticks; exit 0 when every event is where it belongs

Runs under /usr/bin/python3: bt2 is Debian's python3-bt2, not on PyPI.
"""

import json
import os
import sys

import bt2

# The channel plan of hakmem trace (src/cli/hakmemcli/trace.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "cli"))
from hakmemcli import trace as hktrace  # noqa: E402

# event name -> process_stats counter it increments
EVENT_COUNTER = {
    "hakmem:superslab_mmap": "superslabs_mapped",
    "hakmem:superslab_reuse": "superslabs_reused",
    "hakmem:superslab_munmap": "superslabs_unmapped",
    "hakmem:refill": "refills",
    "hakmem:slab_empty": "slab_empty",
    "hakmem:slab_reuse": "slab_reuse",
    "hakmem:slab_purge": "slab_purge",
    "hakmem:large_mmap": "large_mapped",
}


def read(paths):
    procs = {}
    discarded = 0
    for path in paths:
        for msg in bt2.TraceCollectionMessageIterator(path):
            if isinstance(msg, bt2._DiscardedEventsMessageConst):
                discarded += msg.count if msg.count is not None else 1
                continue
            if not isinstance(msg, bt2._EventMessageConst):
                continue
            ev = msg.event
            if not ev.name.startswith("hakmem:"):
                continue
            ctx = ev.common_context_field
            vpid = int(ctx["vpid"]) if ctx is not None and "vpid" in ctx else -1
            p = procs.setdefault(vpid, {"counts": {}, "first_stats": None, "last_stats": None,
                                        "heap_errors": [], "before_first_stats": 0,
                                        "after_last_stats": 0})
            p["counts"][ev.name] = p["counts"].get(ev.name, 0) + 1
            if ev.name == "hakmem:process_stats":
                s = {k: int(v) for k, v in ev.payload_field.items()}
                if p["first_stats"] is None:
                    p["first_stats"] = s
                p["last_stats"] = s
                p["after_last_stats"] = 0
            else:
                p["after_last_stats"] += 1
                if p["first_stats"] is None:
                    p["before_first_stats"] += 1
            if ev.name == "hakmem:heap_error":
                p["heap_errors"].append({k: int(v) for k, v in ev.payload_field.items()})
    return procs, discarded


def summary(paths):
    procs, discarded = read(paths)
    json.dump({"discarded": discarded, "procs": {str(k): v for k, v in procs.items()}}, sys.stdout,
              indent=1, sort_keys=True)
    print()
    return 0


def counts(path, vpid, stats_file, required):
    printed = {}
    with open(stats_file) as f:
        for line in f:
            w = line.split()
            if len(w) == 3 and w[0] == "stat":
                printed[w[1]] = int(w[2])
    procs, discarded = read([path])
    p = procs.get(vpid)
    if p is None or p["first_stats"] is None:
        print("FAIL: no hakmem events (or no process_stats) with vpid %d in %s" % (vpid, path))
        return 1
    first, last, seen = p["first_stats"], p["last_stats"], p["counts"]
    ok = True
    if discarded:
        print("FAIL: the trace has %d discarded events; counts cannot agree" % discarded)
        ok = False
    if seen.get("hakmem:process_stats", 0) < 2:
        print("FAIL: fewer than two process_stats events (start and exit)")
        ok = False
    print("%-26s %8s %8s %8s %8s" % ("event", "events", "delta", "last", "printed"))
    for name, ctr in sorted(EVENT_COUNTER.items()):
        n = seen.get(name, 0)
        delta = last[ctr] - first[ctr]
        verdict = ""
        if n != delta:
            verdict += "  MISMATCH events/delta"
        if ctr in printed and printed[ctr] != last[ctr]:
            verdict += "  MISMATCH last/printed"
        if ctr in required and n == 0:
            verdict += "  ZERO (the workload must cause it)"
        ok = ok and not verdict
        print("%-26s %8d %8d %8d %8s%s" % (name, n, delta, last[ctr], printed.get(ctr, "-"), verdict))
    # Where a mismatch comes from: events outside the sampled window.
    print("events before the first process_stats: %d, after the last: %d"
          % (p["before_first_stats"], p["after_last_stats"]))
    missing = [c for c in EVENT_COUNTER.values() if c not in printed]
    if missing:
        print("FAIL: the program printed no stat for %s" % ", ".join(missing))
        ok = False
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def channels(path, vpid):
    """The perf context where hakmem trace puts it; a thread's faults
    summed over its counted events (a count that goes back starts a new
    segment, as in trace/analysis/attribution.c)."""
    bad, placed = [], {}
    threads, ticks = {}, {"periodic": 0, "thread_exit": 0}
    for msg in bt2.TraceCollectionMessageIterator(path):
        if not isinstance(msg, bt2._EventMessageConst):
            continue
        ev = msg.event
        if not ev.name.startswith("hakmem:"):
            continue
        ctx = ev.common_context_field
        if ctx is None or int(ctx["vpid"]) != vpid:
            continue
        counted = "perf_thread_page_fault" in ctx
        if ev.name == "hakmem:refill":
            want = int(ev.payload_field["new_pages"]) > 0
        else:
            want = ev.name in hktrace.COUNTED_EVENTS
            if not want and ev.name not in hktrace.PLAIN_EVENTS:
                bad.append("%s is on no channel of hakmem trace" % ev.name)
        key = "%s %s" % (ev.name, "counted" if counted else "plain")
        placed[key] = placed.get(key, 0) + 1
        if counted != want:
            bad.append("%s %s the perf context" % (ev.name, "has" if counted else "lacks"))
        if ev.name == "hakmem:tick":
            ticks["thread_exit" if int(ev.payload_field["reason"]) == 1 else "periodic"] += 1
        if counted:
            v = int(ctx["perf_thread_page_fault"])
            t = threads.setdefault(int(ctx["vtid"]), {"first": v, "last": v, "done": 0})
            if v < t["last"]:
                t["done"] += t["last"] - t["first"]
                t["first"] = v
            t["last"] = v
    total = sum(t["done"] + t["last"] - t["first"] for t in threads.values())
    json.dump({"total": total, "threads": len(threads), "ticks": ticks, "events": placed}, sys.stdout,
              indent=1, sort_keys=True)
    print()
    for b in sorted(set(bad)):
        print("FAIL: %s (%d events)" % (b, bad.count(b)))
    return 1 if bad else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "summary":
        return summary(argv[2:])
    if len(argv) in (5, 6) and argv[1] == "counts":
        required = set(argv[5].split(",")) if len(argv) == 6 else set()
        return counts(argv[2], int(argv[3]), argv[4], required)
    if len(argv) == 4 and argv[1] == "channels":
        return channels(argv[2], int(argv[3]))
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
