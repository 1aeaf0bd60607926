#!/bin/sh
# trace.killed: a traced program killed with SIGKILL while it allocates
# (OOM killer, a watchdog, a crash), which a malloc tracer will see often.
# With --per-call nearly every instant is inside an event, so the kill
# leaves a sub-buffer of the shared per-uid ring buffer reserved and never
# committed. `hakmem trace` must still finish promptly (saying the trace
# may be incomplete), pass status 137 through and leave no session behind.
. "$(dirname "$0")/lib.sh"
need_env HAKMEM_CLI
[ -x "${RANDOM_MIXED:-}" ] || skip "bench/random_mixed was not built (-DHAKMEM_BENCH=OFF)"
need_lttng
ensure_sessiond
make_work

for round in 1 2 3; do
	"$HAKMEM_CLI" trace --per-call -o "$WORK/t$round" -- "$RANDOM_MIXED" 400000000 8192 42 \
		>"$WORK/$round.out" 2>"$WORK/$round.err" &
	cli=$!
	i=0
	until bench=$(pgrep -P $cli -x random_mixed); do
		[ $i -lt 100 ] || { kill -KILL $cli; fail "round $round: random_mixed never started"; }
		sleep 0.1
		i=$((i + 1))
	done
	sleep 1 # well into the run: events flowing
	kill -KILL "$bench"
	if ! wait_pid $cli 20; then
		stuck=$(pgrep -a -P $cli)
		kill -TERM $cli
		wait_pid $cli 5 || kill -KILL $cli
		fail "round $round: hakmem trace still runs 20 s after its command was killed (waiting in: $stuck)"
	fi
	cat "$WORK/$round.err"
	[ "$WAIT_RC" -eq 137 ] || fail "round $round: exit $WAIT_RC, expected 137 (SIGKILL passed through)"
	assert_no_session "$(session_name "$WORK/$round.err")"
done
note "PASS"
