#!/bin/sh
# trace.errors: what `hakmem trace` does when CMD cannot run, how CMD's
# exit status comes back, and SIGTERM: forwarded to CMD, status 143, the
# session closed (not left recording in the shared sessiond).
. "$(dirname "$0")/lib.sh"
need_env HAKMEM_CLI
need_lttng
ensure_sessiond
make_work

timeout 30 "$HAKMEM_CLI" trace -o "$WORK/e1" -- hakmem-no-such-command-xyz >"$WORK/e1.out" 2>"$WORK/e1.err"
rc=$?
cat "$WORK/e1.err"
[ $rc -eq 127 ] || fail "command not on PATH: exit $rc, expected 127"
grep -q 'hakmem-no-such-command-xyz.*not found' "$WORK/e1.err" || fail "no 'not found' message naming the command"

timeout 30 "$HAKMEM_CLI" trace -o "$WORK/e2" -- "$WORK/no/such/program" >"$WORK/e2.out" 2>"$WORK/e2.err"
rc=$?
cat "$WORK/e2.err"
[ $rc -eq 127 ] || fail "missing program path: exit $rc, expected 127"
grep -q 'no/such/program' "$WORK/e2.err" || fail "the message does not name the missing program"

timeout 30 "$HAKMEM_CLI" trace -o "$WORK/e3" -- sh -c 'exit 7' >"$WORK/e3.out" 2>"$WORK/e3.err"
rc=$?
[ $rc -eq 7 ] || { cat "$WORK/e3.err"; fail "sh -c 'exit 7': exit $rc, expected 7"; }
assert_no_session "$(session_name "$WORK/e3.err")"

# SIGTERM once CMD runs: forwarded, and the session is still destroyed.
"$HAKMEM_CLI" trace -o "$WORK/e4" -- sleep 30 >"$WORK/e4.out" 2>"$WORK/e4.err" &
cli=$!
i=0
until [ -n "$(session_name "$WORK/e4.err")" ] && pgrep -P $cli -x sleep >/dev/null; do
	[ $i -lt 150 ] || { kill -KILL $cli; cat "$WORK/e4.err"; fail "sleep never started under hakmem trace"; }
	sleep 0.1
	i=$((i + 1))
done
name=$(session_name "$WORK/e4.err")
sleeper=$(pgrep -P $cli -x sleep)
lttng list | grep -qF "$name" || fail "session $name is not listed while CMD runs"
kill -TERM $cli
if ! wait_pid $cli 10; then
	kill -KILL $cli
	fail "hakmem trace still runs 10 s after SIGTERM"
fi
cat "$WORK/e4.err"
[ "$WAIT_RC" -eq 143 ] || fail "after SIGTERM: exit $WAIT_RC, expected 143"
kill -0 "$sleeper" 2>/dev/null && { kill -KILL "$sleeper"; fail "CMD (sleep, pid $sleeper) survived the SIGTERM"; }
assert_no_session "$name"
note "PASS"
