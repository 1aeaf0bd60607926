#!/usr/bin/env bash
# The hakmem command with bad flags: every one exits 2 with a message that
# starts with "hakmem:" (or the usage text), never a Python traceback.
#
# usage: cli_flags.sh BUILD/bin/hakmem TRACE_DIR
#   TRACE_DIR: a real trace (the hostile.record fixture), so that the same
#   command lines with good values succeed: the bad value is the only cause.
#   Without one, a directory with an empty 'metadata' file stands in and
#   the good-value controls are skipped.
set -uo pipefail
hakmem=${1:?usage: cli_flags.sh HAKMEM TRACE_DIR}
trace=${2:?usage: cli_flags.sh HAKMEM TRACE_DIR}
real=1
if ! find "$trace" -name metadata 2>/dev/null | grep -q .; then
	real=0
	mkdir -p "$trace" && touch "$trace/metadata"
fi

fails=0
n=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
expect2() { # expect2 ARGS...: exit 2, a message, no traceback
	local out err rc=0
	timeout 60 "$hakmem" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	out=$(<"$tmp/out")
	err=$(<"$tmp/err")
	n=$((n + 1))
	if [ $rc -ne 2 ]; then
		echo "FAIL: hakmem $*: exit $rc, want 2: $(tail -3 <<<"$err")" >&2
		fails=$((fails + 1))
	elif grep -q 'Traceback' <<<"$err"; then
		echo "FAIL: hakmem $*: a Python traceback: $(tail -2 <<<"$err")" >&2
		fails=$((fails + 1))
	elif ! grep -q '^hakmem:\|^usage:' <<<"$err$out"; then
		echo "FAIL: hakmem $*: exit 2 without a message" >&2
		fails=$((fails + 1))
	else
		echo "ok   hakmem $* -> 2: $(grep -m1 '^hakmem:\|^usage:' <<<"$err$out" | cut -c1-100)"
	fi
}

expect2
expect2 bogus
expect2 --bogus
expect2 run
expect2 run --bogus -- /bin/true
expect2 run --check=bogus -- /bin/true
expect2 run --check= -- /bin/true
expect2 run --check
expect2 trace --bogus -- /bin/true
expect2 trace -o
expect2 trace --relay
expect2 trace --relay bogus://x -- /bin/true
expect2 trace --check=bogus -- /bin/true
expect2 report
expect2 report --bogus "$trace"
expect2 report --format xml "$trace"
expect2 report --format
expect2 report -o
expect2 report --html
expect2 report --storm-window-ms
expect2 report --storm-window-ms abc "$trace"
expect2 report --storm-window-ms=-5 "$trace"
expect2 report --storm-window-ms=0 "$trace"
expect2 report --storm-threshold x "$trace"
expect2 report --storm-threshold=-1 "$trace"
expect2 report --storm-threshold=nan "$trace"
expect2 report --storm-threshold=inf "$trace"
expect2 report --storm-threshold=0.5 "$trace"
expect2 report --storm-window-ms=99999999999 "$trace"

# Controls: the same options with good values work on the real trace.
if [ $real -eq 1 ]; then
	for args in "--storm-threshold=4" "--storm-window-ms=10" "--storm-threshold 1.5 --storm-window-ms 3600000" \
		"--format json"; do
		n=$((n + 1))
		# shellcheck disable=SC2086
		if ! timeout 60 "$hakmem" report $args "$trace" >/dev/null 2>"$tmp/err"; then
			echo "FAIL: control hakmem report $args (good values) failed: $(tail -3 "$tmp/err")" >&2
			fails=$((fails + 1))
		fi
	done
fi

if [ $fails -ne 0 ]; then
	echo "$fails of $n bad command lines misbehaved" >&2
	exit 1
fi
echo "cli_flags: $n bad command lines, each exit 2 with a message"
