#!/bin/sh
# trace.mt_fork: four threads allocate and free while the main thread forks
# children that allocate in two threads each, all under `hakmem trace`
# (which preloads liblttng-ust-fork and records perf page-fault context).
# Nothing may hang or crash, the program must exit 0, and the trace must
# hold hakmem events of the parent and of every child.
. "$(dirname "$0")/lib.sh"
need_env HAKMEM_CLI MT_FORK
need_lttng
ensure_sessiond
make_work

note "hakmem trace -- mt_fork 8 20000"
timeout 60 "$HAKMEM_CLI" trace -o "$WORK/t" -- "$MT_FORK" 8 20000 >"$WORK/out" 2>"$WORK/err"
rc=$?
grep -v '^    #' "$WORK/err" | head -n 40 >&2
[ $rc -ne 124 ] || fail "hung: hakmem trace did not finish within 60 s"
[ $rc -eq 0 ] || fail "exit status $rc (children that failed are listed above)"
assert_no_session "$(session_name "$WORK/err")"

parent=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$WORK/out")
children=$(sed -n 's/^child \([0-9]*\)$/\1/p' "$WORK/out")
[ -n "$parent" ] || fail "the program printed no pid"
[ "$(echo "$children" | wc -w)" -eq 8 ] || fail "expected 8 children, got: $children"
trace_vpids "$WORK/t" >"$WORK/vpids"
missing=
for p in $parent $children; do
	grep -qx "$p" "$WORK/vpids" || missing="$missing $p"
done
[ -z "$missing" ] || fail "no hakmem events with vpid$missing (vpids seen: $(tr '\n' ' ' <"$WORK/vpids"))"
note "events from parent $parent and children $(echo $children)"
note "PASS"
