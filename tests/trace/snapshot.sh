#!/bin/sh
# trace.snapshot: `hakmem trace --snapshot` on a double free. The program
# dies of SIGABRT (HAKMEM_ON_ERROR=abort, the default) and its status 134
# is passed through; the trigger on hakmem:heap_error and the snapshot at
# exit each write a snapshot under DIR, holding the heap_error (kind 1,
# double-free) of that pid; neither the session nor the trigger survives.
. "$(dirname "$0")/lib.sh"
need_env HAKMEM_CLI TRACETOOL DOUBLE_FREE
need_lttng
need_bt2
ensure_sessiond
make_work

unset HAKMEM_ON_ERROR
timeout 60 "$HAKMEM_CLI" trace --snapshot -o "$WORK/s" -- "$DOUBLE_FREE" >"$WORK/out" 2>"$WORK/err"
rc=$?
cat "$WORK/err" | grep -v '^    #'
[ $rc -eq 134 ] || fail "exit status $rc, expected 134 (SIGABRT passed through)"
grep -q '^hakmem: double-free at ' "$WORK/err" || fail "no double-free report on stderr"
name=$(session_name "$WORK/err")
assert_no_session "$name"
if lttng list-triggers 2>/dev/null | grep -F -- "$name-heap-error" >/dev/null; then
	fail "trigger $name-heap-error left behind"
fi

pid=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$WORK/out")
[ -n "$pid" ] || fail "the program printed no pid"
snaps=$(find "$WORK/s" -mindepth 1 -maxdepth 1 -type d -name 'snapshot-*' | sort)
n=$(echo "$snaps" | grep -c .)
note "$n snapshot(s): $(echo $snaps)"
# One from the heap_error trigger, one when the command exited.
[ "$n" -ge 2 ] || fail "expected a snapshot from the trigger and one at exit, found $n"
found=0
for d in $snaps; do
	/usr/bin/python3 "$TRACETOOL" summary "$d" >"$WORK/sum.json" || fail "cannot read snapshot $d"
	if /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
p = d["procs"].get(sys.argv[2], {})
sys.exit(0 if any(e["kind"] == 1 for e in p.get("heap_errors", [])) else 1)' "$WORK/sum.json" "$pid"; then
		found=$((found + 1))
	fi
done
[ $found -ge 1 ] || fail "no snapshot holds hakmem:heap_error kind=1 of pid $pid"
note "$found snapshot(s) hold the heap_error of pid $pid"
note "PASS"
