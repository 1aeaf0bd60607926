# Shared by the trace tests (sourced, POSIX sh). CMake passes the paths in
# the environment: HAKMEM_CLI (bin/hakmem), HAKMEM_LIB (libhakmem.so),
# HAKMEM_TP (libhakmem-tp.so), TRACETOOL (tracetool.py) and the test
# programs. Exit 77 = skipped (a tool is missing), 1 = failed.

set -u

T_NAME=$(basename "$0" .sh)
WORK=

fail() {
	echo "FAIL ($T_NAME): $*" >&2
	exit 1
}

skip() {
	echo "SKIP ($T_NAME): $*" >&2
	exit 77
}

note() { echo "-- $*"; }

need_env() {
	for v in "$@"; do
		eval "val=\${$v:-}"
		[ -n "$val" ] || fail "$v is not set (run through ctest)"
	done
}

need_lttng() {
	for t in lttng lttng-sessiond babeltrace2; do
		command -v "$t" >/dev/null 2>&1 || skip "$t is not installed (apt-get install lttng-tools babeltrace2)"
	done
	[ -f "${HAKMEM_TP:-}" ] || skip "the tracepoint provider ${HAKMEM_TP:-} was not built"
}

# bt2 is Debian's python3-bt2, importable only by the system python.
need_bt2() {
	/usr/bin/python3 -c 'import bt2' 2>/dev/null || skip "python3-bt2 is not installed"
}

# Another user's daemon is fine; never kill one we did not start.
ensure_sessiond() {
	pgrep -x lttng-sessiond >/dev/null 2>&1 && return 0
	# Exits 1 when another one won the race: that one will do.
	lttng-sessiond --daemonize >/dev/null 2>&1 || pgrep -x lttng-sessiond >/dev/null 2>&1 ||
		fail "cannot start lttng-sessiond"
	i=0
	while [ $i -lt 50 ]; do
		lttng list >/dev/null 2>&1 && return 0
		sleep 0.1
		i=$((i + 1))
	done
	fail "lttng-sessiond started but does not answer 'lttng list'"
}

# A scratch directory, removed when the test passes, kept (and named) when
# it fails so the traces can be looked at.
make_work() {
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-$T_NAME.XXXXXX") || fail "mktemp"
	trap 'on_exit' EXIT
}

on_exit() {
	rc=$?
	[ -n "${CLEANUP_HOOK:-}" ] && eval "$CLEANUP_HOOK"
	if [ -n "$WORK" ]; then
		if [ $rc -eq 0 ] || [ $rc -eq 77 ]; then
			rm -rf "$WORK"
		else
			echo "(kept $WORK)" >&2
		fi
	fi
	exit $rc
}

# "hakmem: tracing session NAME: CMD" on hakmem trace's stderr.
session_name() {
	sed -n 's/^hakmem: tracing session \([^:]*\):.*/\1/p' "$1" | head -n 1
}

# Fails if the session NAME (or any session of CLI pid PID, with -p) still exists.
assert_no_session() {
	if [ "$1" = "-p" ]; then
		pat="hakmem-$2-"
	else
		pat="$1"
	fi
	[ -n "$pat" ] || fail "no session name to check"
	if lttng list 2>/dev/null | grep -F -- "$pat" >/dev/null; then
		left=$(lttng list 2>/dev/null | grep -F -- "$pat")
		fail "session left behind: $left"
	fi
}

# Distinct vpids of the hakmem events under DIR, one a line.
trace_vpids() {
	babeltrace2 "$1" 2>/dev/null | grep ' hakmem:' | sed -n 's/.*vpid = \([0-9]*\).*/\1/p' | sort -u
}

# Waits up to SECONDS for PID to exit; its status is in $WAIT_RC. Returns 1 on timeout.
wait_pid() {
	pid=$1
	limit=$(($2 * 10))
	i=0
	# An exited child stays a zombie until waited for: kill -0 cannot tell.
	while st=$(sed -n 's/^[0-9]* (.*) \(.\).*/\1/p' "/proc/$pid/stat" 2>/dev/null) && [ -n "$st" ] &&
		[ "$st" != Z ]; do
		[ $i -ge $limit ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
	wait "$pid"
	WAIT_RC=$?
	return 0
}
