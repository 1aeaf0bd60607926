#!/bin/sh
# trace.channels: hakmem trace's two channels (docs/architecture.md, "Two
# channels"). Every tracepoint of trace/hakmem_tp.h is on one of them; a
# short larson run (4 threads) loses no event; each event carries the perf
# context exactly when it can claim faults (and hakmem:tick); every worker
# thread ends with an exit tick; and the report's fault total is the sum
# of the threads' counted deltas, with allocator + other == total and the
# counts equal to process_stats's.
. "$(dirname "$0")/lib.sh"
need_env HAKMEM_CLI TRACETOOL
[ -n "${LARSON:-}" ] || skip "bench/larson was not built (-DHAKMEM_BENCH=ON builds it)"
need_lttng
need_bt2
ensure_sessiond
make_work

src=$(dirname "$TRACETOOL")/../..
/usr/bin/python3 - "$src" <<'PY' || fail "a tracepoint is on no channel, or on both, or the help misplaces it"
import re, sys
sys.path.insert(0, sys.argv[1] + "/src/cli")
from hakmemcli import trace
names = re.findall(r"LTTNG_UST_TRACEPOINT_EVENT\(hakmem, (\w+),", open(sys.argv[1] + "/trace/hakmem_tp.h").read())
ok = True
for n in names:
    on = (("hakmem:" + n) in trace.COUNTED_EVENTS) + (("hakmem:" + n) in trace.PLAIN_EVENTS)
    if n == "refill":
        on = 1  # split by a filter on new_pages
    if on != 1:
        print("hakmem:%s is on %d channels of hakmem trace" % (n, on))
        ok = False
print("%d tracepoints, each on one channel" % len(names))
# hakmem trace --help names each event under its channel
help_ = trace.HELP.split("\n  hakmem ", 1)[1].split("\nCMD's exit status")[0]
counted_par, plain_par = help_.split("\n  hakmem_nofault ")
for events, par, other in ((trace.COUNTED_EVENTS, counted_par, plain_par),
                           (trace.PLAIN_EVENTS, plain_par, counted_par)):
    for e in events:
        word = re.compile(r"\b%s\b" % e.split(":")[1])
        if not word.search(par) or word.search(other):
            print("hakmem trace --help does not name %s under its channel only" % e)
            ok = False
sys.exit(0 if ok else 1)
PY

"$HAKMEM_CLI" trace -o "$WORK/t" -- "$LARSON" 4 200000 1000 16 1024 10 >"$WORK/out" 2>"$WORK/err" ||
	{ cat "$WORK/err" >&2; fail "hakmem trace exited $?"; }
grep -q '^hakmem: 0 events discarded' "$WORK/err" ||
	{ cat "$WORK/err" >&2; fail "events were discarded (or not reported) on a short larson run"; }
for ch in hakmem hakmem_nofault; do
	find "$WORK/t" -name "${ch}_[0-9]*" | grep -q . || fail "no stream of channel $ch in the trace"
done
pid=$(babeltrace2 "$WORK/t" 2>/dev/null | grep 'procname = "larson"' | sed -n 's/.*vpid = \([0-9]*\).*/\1/p' | head -n 1)
[ -n "$pid" ] || fail "no larson events in the trace"
/usr/bin/python3 "$TRACETOOL" channels "$WORK/t" "$pid" >"$WORK/channels.json" ||
	{ cat "$WORK/channels.json"; fail "events on the wrong channel (above)"; }
cat "$WORK/channels.json"
"$HAKMEM_CLI" report --format json -o "$WORK/report.json" "$WORK/t" >/dev/null 2>"$WORK/report.err" ||
	{ cat "$WORK/report.err" >&2; fail "hakmem report failed"; }
/usr/bin/python3 - "$WORK/report.json" "$WORK/channels.json" "$pid" <<'PY' || fail "the report does not add up (above)"
import json, sys
rep, ch, pid = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
p = [q for q in rep["processes"] if q["pid"] == pid][0]
f, sc = p["faults"], p["stats_check"]
print("faults:", {k: f[k] for k in ("source", "total", "allocator", "other", "process_minflt")})
ok = True
def check(cond, what):
    global ok
    print(("ok: " if cond else "FAIL: ") + what)
    ok = ok and cond
check(f["source"] == "perf-context", "perf context used")
check(f["allocator"] + f["other"] == f["total"], "allocator %d + other %d == total %d" % (f["allocator"], f["other"], f["total"]))
check(f["total"] == ch["total"], "total %d == the threads' counted deltas %d" % (f["total"], ch["total"]))
check(f["total"] > 0 and f["allocator"] > 0, "faults measured")
check(ch["ticks"]["thread_exit"] >= 4, "an exit tick from each of the 4 worker threads (%d)" % ch["ticks"]["thread_exit"])
# Both halves of the refill filter (new_pages) see refills; which half has
# more is the workload's, not the channels' (a short larson run on a fast
# machine carves most of its refills: 1182 against 1042).
check(ch["events"].get("hakmem:refill plain", 0) > 0 and ch["events"].get("hakmem:refill counted", 0) > 0,
      "refills on both channels (those that touched new pages on the counted one)")
check(sc["match"], "event counts match process_stats: %s" % sc.get("counters"))
check(not any("perf_thread_page_fault" in n for n in p["notes"]), "no note about events without the context: %s" % p["notes"])
sys.exit(0 if ok else 1)
PY
note "PASS"
