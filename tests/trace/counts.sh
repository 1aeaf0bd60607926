#!/bin/sh
# trace.counts: the events in a trace agree with the allocator's own totals.
# A deterministic single-threaded workload runs under `hakmem trace` twice
# (purging off; purging at once with no warm cache). For each counted event
# kind, the number of events of the workload's vpid must equal the delta of
# its counter between the first and the last hakmem:process_stats, and the
# last process_stats must equal what hak_stats_get() printed at exit.
. "$(dirname "$0")/lib.sh"
need_env HAKMEM_CLI TRACETOOL COUNTS_WORKLOAD
need_lttng
need_bt2
ensure_sessiond
make_work

run_case() {
	name=$1 required=$2
	shift 2
	note "case $name: $*"
	env "$@" timeout 60 "$HAKMEM_CLI" trace -o "$WORK/$name" -- "$COUNTS_WORKLOAD" 2 \
		>"$WORK/$name.out" 2>"$WORK/$name.err"
	rc=$?
	[ $rc -eq 0 ] || { cat "$WORK/$name.err" >&2; fail "$name: hakmem trace exited $rc"; }
	grep -q '^hakmem: 0 events discarded' "$WORK/$name.err" ||
		{ cat "$WORK/$name.err" >&2; fail "$name: events were discarded (or not reported)"; }
	assert_no_session "$(session_name "$WORK/$name.err")"
	pid=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$WORK/$name.out")
	[ -n "$pid" ] || fail "$name: the workload printed no pid"
	/usr/bin/python3 "$TRACETOOL" counts "$WORK/$name" "$pid" "$WORK/$name.out" "$required" ||
		fail "$name: trace events and allocator counters disagree (table above)"
}

# Purging off: maps, refills, empties, cross-class slab reuse, warm reuse, large maps.
run_case no_purge superslabs_mapped,refills,slab_empty,slab_reuse,superslabs_reused,large_mapped \
	HAKMEM_PURGE_DELAY_MS=-1
# Purge at once, no warm SuperSlabs: adds purges and unmaps.
run_case purge_now superslabs_mapped,refills,slab_empty,slab_reuse,slab_purge,superslabs_unmapped \
	HAKMEM_PURGE_DELAY_MS=0 HAKMEM_WARM_SUPERSLABS=0
note "PASS"
