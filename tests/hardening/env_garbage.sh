#!/usr/bin/env bash
# Garbage in every HAKMEM_* variable that docs/reference.md lists, under
# LD_PRELOAD=LIBRARY, running /bin/echo: the program must exit 0 with its
# output intact, and hakmem may print at most one line per variable, which
# names it. Then all of them garbage at once, and with HAKMEM_LOG: nothing
# on stderr at all.
#
# usage: env_garbage.sh LIBRARY REFERENCE.md [hostile]
#   hostile: values that are not merely wrong but awkward to print: very
#   long, with a newline, with bytes that are not UTF-8, with a '%'.
set -uo pipefail

lib=${1:?usage: env_garbage.sh LIBRARY REFERENCE.md [hostile]}
ref=${2:?usage: env_garbage.sh LIBRARY REFERENCE.md [hostile]}
mode=${3:-plain}
[ -f "$lib" ] || { echo "FAIL: $lib does not exist; build it first" >&2; exit 1; }
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")

# The variables: first column of the reference's environment table.
mapfile -t vars < <(sed -n 's/^| `\(HAKMEM_[A-Z_]*\)`.*/\1/p' "$ref" | sort -u)
[ ${#vars[@]} -ge 10 ] || { echo "FAIL: found only ${#vars[@]} variables in $ref" >&2; exit 1; }

if [ "$mode" = hostile ]; then
	long=$(printf 'x%.0s' $(seq 1 3000))
	values=("$long" $'1\nhakmem: double-free at 0x1234 (forged)' $'\xff\xfe\x80' '%s%s%s%n%n' '1 ' ' 1' '0x10' '+5'
		'1e3' '9223372036854775808' '-9223372036854775809')
else
	values=("" "-1" "999999999999999999999" "abc" "1x" "full,fast")
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-env.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
unset LD_PRELOAD $(env | sed -n 's/^\(HAKMEM_[A-Z_]*\)=.*/\1/p')
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

# check RC WHAT NAME... : the last run's files against the rules for those
# variables. Shell builtins only: this runs a few hundred times.
check() {
	local rc=$1 what=$2 out="" err="" line named v
	shift 2
	IFS= read -r -d '' out <out
	IFS= read -r -d '' err <err
	if [ "$rc" -ne 0 ]; then
		fail "$what: exit $rc: ${err:0:300}"
		return
	fi
	[ "$out" = $'hello world\n' ] || fail "$what: echo's output changed: ${out:0:200}"
	[[ $err == *Segmentation* || $err == *"core dumped"* ]] && fail "$what: crash"
	[ -z "$err" ] && return
	# every line is whole: a warning cut short without its newline runs
	# into the next one
	[[ $err == *$'\n' ]] || fail "$what: the last line has no newline (cut short?): ...${err: -80}"
	local rest=${err//$'\n'/} nlines
	nlines=$(( ${#err} - ${#rest} ))
	[[ $err == *$'\n' ]] || nlines=$((nlines + 1))
	if [ "$nlines" -gt "$#" ]; then
		fail "$what: $nlines lines of output for $# variable(s): ${err:0:600}"
	fi
	while IFS= read -r line; do
		# a value with a newline must not start a line of its own
		[[ $line == "hakmem: "* ]] || fail "$what: a line that is not a hakmem message: ${line:0:200}"
		[[ $line == *"(forged)"* && $line != *"\\x0a"* ]] && fail "$what: a value's newline reached the log raw"
		[[ $line == "hakmem: double-free"* ]] && fail "$what: a value forged a report line: ${line:0:200}"
		named=0
		for v in "$@"; do
			[[ $line == *"$v"* ]] && named=1 && break
		done
		[ $named -eq 1 ] || fail "$what: a line names none of the variables: ${line:0:200}"
	done <<<"${err%$'\n'}"
}

printable() { local v=${1:0:40}; printf '%s' "${v//$'\n'/\\n}"; }

runs=0
for var in "${vars[@]}"; do
	for val in "${values[@]}"; do
		# HAKMEM_LOG=garbage is a file name: it is created here, in $tmp.
		env "$var=$val" LD_PRELOAD="$lib" /bin/echo hello world >out 2>err
		check $? "$var=\"$(printable "$val")\"" "$var"
		runs=$((runs + 1))
	done
done

# All at once: one line per variable at most.
for val in "${values[@]}"; do
	args=()
	for var in "${vars[@]}"; do
		[ "$var" = HAKMEM_LOG ] && continue
		args+=("$var=$val")
	done
	env "${args[@]}" LD_PRELOAD="$lib" /bin/echo hello world >out 2>err
	check $? "all variables=\"$(printable "$val")\"" "${vars[@]}"
	# With HAKMEM_LOG, stderr stays empty: every word goes to the log.
	env "${args[@]}" HAKMEM_LOG="$tmp/hakmem.log" LD_PRELOAD="$lib" /bin/echo hello world >out 2>err
	rc=$?
	[ $rc -eq 0 ] || fail "all variables + HAKMEM_LOG: exit $rc"
	[ -s err ] && fail "all variables + HAKMEM_LOG: stderr is not empty: $(head -c 300 err)"
	runs=$((runs + 2))
done

# HAKMEM_TRACE=1 with a provider that is not there: one line, still runs.
env HAKMEM_TRACE=1 HAKMEM_TP_PATH="$tmp/nonexistent.so" LD_PRELOAD="$lib" /bin/echo hello world >out 2>err
check $? "HAKMEM_TRACE=1 HAKMEM_TP_PATH=nonexistent" HAKMEM_TRACE HAKMEM_TP_PATH
env HAKMEM_TRACE=1 HAKMEM_TP_PATH=/bin/echo LD_PRELOAD="$lib" /bin/echo hello world >out 2>err
check $? "HAKMEM_TRACE=1 HAKMEM_TP_PATH=/bin/echo (not a library)" HAKMEM_TRACE HAKMEM_TP_PATH
# A HAKMEM_LOG that cannot be opened: one line naming it, on stderr.
env HAKMEM_LOG=/nonexistent-dir/x.log HAKMEM_CHECK=bogus LD_PRELOAD="$lib" /bin/echo hello world >out 2>err
check $? "HAKMEM_LOG=/nonexistent-dir/x.log + HAKMEM_CHECK=bogus" HAKMEM_LOG HAKMEM_CHECK
runs=$((runs + 3))

if [ $fails -ne 0 ]; then
	echo "$fails failure(s) in $runs runs" >&2
	exit 1
fi
echo "env_garbage ($mode): ${#vars[@]} variables, ${#values[@]} values, $runs runs of /bin/echo under $(basename "$lib"): all clean"
