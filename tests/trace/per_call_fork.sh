#!/bin/sh
# trace.per_call_fork: fork + exec under `hakmem trace --per-call`. Every
# malloc and free is an event, so the child emits right after fork(),
# before liblttng-ust has re-initialised it (and with the parent's perf
# page-fault counter mapping gone). Every child must exit 0, the command
# must not hang, and the children's events (after exec) must be there.
. "$(dirname "$0")/lib.sh"
need_env HAKMEM_CLI FORK_EXEC
need_lttng
ensure_sessiond
make_work

timeout 40 "$HAKMEM_CLI" trace --per-call -o "$WORK/t" -- "$FORK_EXEC" 4 >"$WORK/out" 2>"$WORK/err"
rc=$?
cat "$WORK/err"
[ $rc -ne 124 ] || fail "hung: hakmem trace did not finish within 40 s"
[ $rc -eq 0 ] || fail "exit status $rc (the children's statuses are above)"
assert_no_session "$(session_name "$WORK/err")"
children=$(sed -n 's/^child \([0-9]*\)$/\1/p' "$WORK/out")
[ "$(echo "$children" | wc -w)" -eq 4 ] || fail "expected 4 children, got: $children"
trace_vpids "$WORK/t" >"$WORK/vpids"
for p in $children; do
	grep -qx "$p" "$WORK/vpids" || fail "no hakmem events of child $p"
done
note "PASS"
