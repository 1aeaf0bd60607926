"""How bench/compare's results read, in its text table and on viz's bench
page alike: the numbers (ops/s, ratios, percentage points, MiB, faults)
and the figures derived from the medians (peak RSS against the leanest
peer, and which rows hold too much of it).

Standard library only: bench/compare imports this module from viz/
(benchlib.import_viz_module), viz/bench.py from its own directory."""

import math

# A hakmem row holding more than this multiple of the leanest peer's peak
# RSS is marked (issue 16's bound: throughput must not be bought with
# memory).
RSS_LIMIT = 1.25


def is_hakmem(name):
    """hakmem-release, hakmem-full: the allocators being compared, as
    against the peers (glibc, jemalloc, tcmalloc, mimalloc)."""
    return name.startswith("hakmem")


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) \
        and math.isfinite(v)


def count(v):
    """ops/s and faults: 12,345,678; None is 'n/a'."""
    return "n/a" if not is_number(v) else f"{round(v):,}"


def ratio(x, times="x"):
    """1.34x (times="×" on the page)."""
    return "n/a" if not is_number(x) else f"{x:.2f}{times}"


def points(x):
    """A difference of percentages: +0.11 pp."""
    return "n/a" if not is_number(x) else f"{x:+.2f} pp"


def versus(x, compare, times="x"):
    """A result set against another: a ratio, or for workloads scored in
    percentages (compare == "diff") a difference in points."""
    return points(x) if compare == "diff" else ratio(x, times)


def metric(v, compare):
    """A workload's median: ops/s, or a percentage for "diff" workloads;
    FAIL when no run succeeded."""
    if not is_number(v):
        return "FAIL"
    return f"{v:.2f}%" if compare == "diff" else count(v)


def mib(kb):
    """Peak RSS (VmHWM, in KiB) as MiB with one decimal: 59.6 MiB."""
    return "n/a" if not is_number(kb) else f"{kb / 1024:,.1f} MiB"


def leanest_peer(results):
    """(name, peak RSS in KiB) of the peer with the smallest median peak
    RSS, or (None, None) when no peer has one. results: allocator name ->
    {"median": {"maxrss_kb": ...}}."""
    peers = [(r["median"].get("maxrss_kb"), n) for n, r in results.items()
             if not is_hakmem(n) and is_number(r["median"].get("maxrss_kb"))]
    if not peers:
        return None, None
    kb, name = min(peers)
    return name, kb


def rss_versus_leanest(res, lean_kb):
    """This allocator's median peak RSS over the leanest peer's, or None."""
    kb = res["median"].get("maxrss_kb")
    if not is_number(kb) or not is_number(lean_kb) or lean_kb <= 0:
        return None
    return kb / lean_kb


def rss_over(name, vs_lean):
    """A hakmem row past RSS_LIMIT times the leanest peer's peak RSS."""
    return is_hakmem(name) and is_number(vs_lean) and vs_lean > RSS_LIMIT


RSS_OVER_NOTE = ("hakmem holds more than %sx the leanest peer's peak RSS"
                 % RSS_LIMIT)
