#!/bin/sh
# trace.concurrent: two `hakmem trace` runs at the same time, as happens
# when several people or CI jobs share one lttng-sessiond. Each must set up
# and record its own session: lttng commands that name no session act on
# the user's "current" session (~/.lttngrc), which the other run's
# `lttng create` has just changed.
. "$(dirname "$0")/lib.sh"
need_env HAKMEM_CLI COUNTS_WORKLOAD
need_lttng
ensure_sessiond
make_work

for run in 1 2 3; do
	timeout 60 "$HAKMEM_CLI" trace -o "$WORK/t$run" -- "$COUNTS_WORKLOAD" 1 >"$WORK/$run.out" 2>"$WORK/$run.err" &
	eval "job$run=\$!"
done
bad=
for run in 1 2 3; do
	eval "wait \$job$run"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "run $run exited $rc:" >&2
		cat "$WORK/$run.err" >&2
		bad="$bad $run"
	fi
done
[ -z "$bad" ] || fail "concurrent hakmem trace runs failed:$bad"
for run in 1 2 3; do
	assert_no_session "$(session_name "$WORK/$run.err")"
	p=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$WORK/$run.out")
	trace_vpids "$WORK/t$run" | grep -qx "$p" || fail "run $run: its trace has no events of its pid $p"
done
note "PASS"
