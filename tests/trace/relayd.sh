#!/bin/sh
# trace.relayd: `hakmem trace --relay` streams to an lttng-relayd of our
# own (loopback, non-default ports, own output directory). Two traced
# processes, one after the other, must each leave a session directory
# there, readable by babeltrace2, with the hakmem events of their pid.
# --relay to a port nobody listens on must fail at once, naming lttng-relayd.
. "$(dirname "$0")/lib.sh"
need_env HAKMEM_CLI COUNTS_WORKLOAD
need_lttng
command -v lttng-relayd >/dev/null 2>&1 || skip "lttng-relayd is not installed"
ensure_sessiond
make_work

# Unreachable relay first: quick, and needs no relayd.
start=$(date +%s)
timeout 20 "$HAKMEM_CLI" trace --relay net://127.0.0.1:1 -- true >"$WORK/bad.out" 2>"$WORK/bad.err"
rc=$?
took=$(($(date +%s) - start))
cat "$WORK/bad.err"
if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
	fail "--relay net://127.0.0.1:1: exit status $rc, expected a quick failure"
fi
[ $took -le 5 ] || fail "--relay to a closed port took $took s to fail"
grep -q 'lttng-relayd' "$WORK/bad.err" || fail "the error does not name lttng-relayd"

# Three free loopback ports (bound then released: a small race we accept).
ports=$(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
set -- $ports
ctrl=$1 data=$2 live=$3
mkdir "$WORK/relay"
# Foreground relayd in the background: $! is its pid, the only one we kill.
lttng-relayd -o "$WORK/relay" -C "tcp://127.0.0.1:$ctrl" -D "tcp://127.0.0.1:$data" \
	-L "tcp://127.0.0.1:$live" >"$WORK/relayd.log" 2>&1 &
relayd=$!
CLEANUP_HOOK='kill $relayd 2>/dev/null; wait $relayd 2>/dev/null'
i=0
until /usr/bin/python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
	"$ctrl" 2>/dev/null; do
	kill -0 $relayd 2>/dev/null || { cat "$WORK/relayd.log" >&2; fail "lttng-relayd did not start"; }
	[ $i -lt 50 ] || fail "lttng-relayd does not listen on $ctrl"
	sleep 0.1
	i=$((i + 1))
done
note "lttng-relayd pid $relayd on 127.0.0.1:$ctrl/$data/$live"

pids=
for run in 1 2; do
	timeout 60 "$HAKMEM_CLI" trace --relay "net://127.0.0.1:$ctrl:$data" -- "$COUNTS_WORKLOAD" 1 \
		>"$WORK/$run.out" 2>"$WORK/$run.err"
	rc=$?
	cat "$WORK/$run.err"
	[ $rc -eq 0 ] || fail "run $run: hakmem trace --relay exited $rc"
	assert_no_session "$(session_name "$WORK/$run.err")"
	p=$(sed -n 's/^pid \([0-9]*\)$/\1/p' "$WORK/$run.out")
	[ -n "$p" ] || fail "run $run: no pid printed"
	pids="$pids $p"
done

# relayd's layout: OUT/HOST/SESSION-DATETIME/ust/...
sessions=$(find "$WORK/relay" -mindepth 2 -maxdepth 2 -type d -name 'hakmem-*' | sort)
n=$(echo "$sessions" | grep -c .)
note "session directories: $(echo $sessions)"
[ "$n" -eq 2 ] || fail "expected 2 session directories under the relayd output, found $n"
for s in $sessions; do
	# relayd may still be closing the files just after the session ends.
	i=0
	until babeltrace2 "$s" >/dev/null 2>"$WORK/bt.err"; do
		[ $i -lt 30 ] || { cat "$WORK/bt.err" >&2; fail "babeltrace2 cannot read $s"; }
		sleep 0.2
		i=$((i + 1))
	done
done
trace_vpids "$WORK/relay" >"$WORK/vpids"
for p in $pids; do
	grep -qx "$p" "$WORK/vpids" || fail "no hakmem events of pid $p in the relayd output (seen: $(tr '\n' ' ' <"$WORK/vpids"))"
done
note "both pids ($pids ) streamed"
note "PASS"
