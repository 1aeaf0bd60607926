# Shared by tests/real_programs.sh and tests/hardening/real_hard.sh, which
# source it: run a workload on glibc and under LD_PRELOAD=$PRELOAD and
# compare everything it prints.

fail() { echo "FAIL: $*" >&2; exit 1; }

# A missing program is a failure that names the Debian package to install:
# a skipped test would pass CI without testing anything.
need() { # need COMMAND PACKAGE
	command -v "$1" >/dev/null 2>&1 || fail "'$1' is not installed; install it with: apt-get install $2"
}

# Runs one tested command, under the preload when there is one, and logs
# its exit status to fd 3 so statuses are compared too.
run() {
	local rc=0
	env ${PRELOAD:+LD_PRELOAD="$PRELOAD"} "$@" || rc=$?
	echo "[$(basename "$1") exit $rc]" >&3
}

# same_output GLIBC HAKMEM WHAT: GLIBC.out/.err against HAKMEM.out/.err;
# prints the difference and returns 1 when they differ.
same_output() {
	local rc=0 stream
	for stream in out err; do
		if ! cmp -s "$1.$stream" "$2.$stream"; then
			echo "FAIL: std$stream differs between glibc and $3:" >&2
			diff -u "$1.$stream" "$2.$stream" | head -80 >&2 || true
			rc=1
		fi
	done
	return $rc
}
