#!/bin/sh
# trace.signal_setup: SIGTERM (or Ctrl-C) may arrive while `hakmem trace`
# is still creating its session, before CMD runs. Wherever it lands, the
# command must end and leave no session of its own behind: a leftover
# session stays active in the shared sessiond and keeps recording every
# later traced process of the user.
. "$(dirname "$0")/lib.sh"
need_env HAKMEM_CLI
need_lttng
ensure_sessiond
make_work

left=
for delay in 0.05 0.1 0.15 0.2 0.25 0.3 0.4 0.5 0.6 0.8; do
	# Own process group (setsid execs in place: $! is the CLI), so a CMD
	# orphaned by a dying CLI can be cleaned up with the group.
	setsid "$HAKMEM_CLI" trace -o "$WORK/t$delay" -- sleep 20 >/dev/null 2>"$WORK/$delay.err" &
	cli=$!
	sleep $delay
	kill -TERM $cli
	if ! wait_pid $cli 15; then
		kill -KILL $cli
		fail "SIGTERM after $delay s: hakmem trace still runs 15 s later"
	fi
	kill -KILL -- -$cli 2>/dev/null # a CMD orphaned by a dead CLI
	if lttng list 2>/dev/null | grep -F "hakmem-$cli-" >/dev/null; then
		s=$(lttng list | sed -n "s/.*\(hakmem-$cli-[0-9-]*\).*/\1/p" | head -n 1)
		left="$left $delay:$s"
		lttng destroy "$s" >/dev/null 2>&1 # ours: do not leave it to record others
	fi
	note "SIGTERM after $delay s: exit $WAIT_RC"
done
[ -z "$left" ] || fail "sessions left behind by SIGTERM during set-up (delay:session):$left"
note "PASS"
