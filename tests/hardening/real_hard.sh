#!/usr/bin/env bash
# Heavier real programs under LD_PRELOAD=LIBRARY, each compared with a
# glibc run of the same workload:
#   redis     redis-server on 127.0.0.1 (a random free port), redis-benchmark
#             -n 100000 -r 100000 -d 64 -P 16 -t get,set,lpush, then SET/GET/LPUSH/HSET/...
#             of known keys through redis-cli, then SHUTDOWN: every reply
#             and the exit status must match
#   pytests   Python's own regression tests (PYTHONMALLOC=malloc, so every
#             object goes through malloc): the pass/fail summary must match
#   xz        xz -T2 round trip of a generated 20 MB file: checksums match
#   selfbuild cmake + gcc (+ make) configure and build hakmem's own
#             hakmem-release target: the built library is bit-identical
#
# usage: real_hard.sh PROGRAM WORKDIR [LIBRARY]
#   Without LIBRARY: runs the glibc side and keeps its output in WORKDIR
#   (the ctest fixture). With it: runs the preloaded side and compares.
# The preloaded side also runs with HAKMEM_CHECK_AT_EXIT=1 and HAKMEM_LOG:
# every process it starts must exit with a clean heap and report nothing.
# A missing program is a failure naming the Debian package to install.
set -euo pipefail

prog=${1:?usage: real_hard.sh PROGRAM WORKDIR [LIBRARY]}
work=${2:?usage: real_hard.sh PROGRAM WORKDIR [LIBRARY]}
lib=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)

# shellcheck source=../real_lib.sh
. "$here/../real_lib.sh"

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---- redis ----
scenario_redis() {
	local port pid i rc=0
	for attempt in 1 2 3; do
		port=$(free_port)
		env ${PRELOAD:+LD_PRELOAD="$PRELOAD"} redis-server --port "$port" --bind 127.0.0.1 --save '' \
			--appendonly no --dir "$PWD" --logfile "$PWD/redis.log" --daemonize no \
			2>redis-server.err &
		pid=$!
		for i in $(seq 1 100); do
			redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
			break
		fi
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
		grep -q 'Address already in use' redis.log 2>/dev/null || { cat redis.log >&2; break; }
	done
	[ -n "$pid" ] || { echo "redis-server did not start" >&2; cat redis-server.err >&2; return 1; }
	cli() { run redis-cli -h 127.0.0.1 -p "$port" "$@"; }

	# Bounded load; only the names of the tests are deterministic.
	timeout 120 env ${PRELOAD:+LD_PRELOAD="$PRELOAD"} redis-benchmark -h 127.0.0.1 -p "$port" -q \
		-n 100000 -r 100000 -d 64 -P 16 -t get,set,lpush >bench.txt 2>&1 || echo "[redis-benchmark failed $?]" >&3
	tr '\r' '\n' <bench.txt | sed -n 's/^\([A-Z]*\): .*requests per second.*/\1 done/p' | sort -u
	# The benchmark's random keys (-r) differ from run to run: start clean.
	cli FLUSHALL

	# Known keys, known replies.
	awk 'BEGIN {
		for (i = 1; i <= 300; i++) {
			v = ""; for (j = 0; j < i % 50 + 1; j++) v = v sprintf("%c", 97 + (i * 7 + j) % 26)
			printf "SET key:%d %s-%d\n", i, v, i
		}
		for (i = 1; i <= 300; i += 7) printf "GET key:%d\n", i
		for (i = 1; i <= 200; i++) printf "RPUSH list %d-%s\n", i, substr("abcdefghijklmnopqrstuvwxyz", 1, i % 26 + 1)
		print "LRANGE list 0 -1"
		for (i = 1; i <= 200; i++) printf "HSET hash field%d value-%d\n", i, i * i
		print "HGETALL hash"
		for (i = 1; i <= 100; i++) printf "SADD set m%d\n", i % 37
		print "SCARD set"
		for (i = 1; i <= 100; i++) printf "ZADD zset %d z%d\n", (i * 37) % 101, i
		print "ZRANGE zset 0 -1 WITHSCORES"
		for (i = 1; i <= 500; i++) print "APPEND grow 0123456789abcdef"
		print "STRLEN grow"
		for (i = 1; i <= 300; i++) print "INCR counter"
		print "GET counter"
		for (i = 1; i <= 300; i += 3) printf "DEL key:%d\n", i
		print "LLEN mylist"
		print "DBSIZE"
	}' >commands.txt
	run redis-cli -h 127.0.0.1 -p "$port" <commands.txt | cksum
	cli GET key:2
	cli LINDEX list 150
	cli HGET hash field77
	cli SHUTDOWN NOSAVE >/dev/null 2>&1 || true
	wait "$pid" || rc=$?
	echo "[redis-server exit $rc]" >&3
	cat redis-server.err >&2
	grep -q 'ready to exit, bye bye' redis.log || echo "redis-server did not shut down cleanly" >&2
}

# ---- Python's regression tests ----
# About 40 s a run at -j2 (test_threading alone takes 20).
PYTESTS="test_list test_dict test_set test_bytes test_unicode test_json test_threading test_gc"
scenario_pytests() {
	local rc=0
	# -j2: each test in a child process (the preload is inherited); the
	# order of the output varies, so only the verdicts are compared.
	# test_find_periodic_pattern draws random strings and fails, under
	# any allocator, when it draws p = text = '' (CPython gh-105639, fixed
	# after Debian's 3.11): it failed one CI run under full mode.
	env ${PRELOAD:+LD_PRELOAD="$PRELOAD"} PYTHONMALLOC=malloc PYTHONHASHSEED=0 timeout 600 \
		/usr/bin/python3 -m test -j2 --timeout 300 -i test_find_periodic_pattern \
		$PYTESTS >pytest.log 2>&1 || rc=$?
	echo "[python3 -m test exit $rc]" >&3
	grep -E '^(== )?Tests result:' pytest.log | head -1
	grep -E '^(All )?[0-9]+ tests? (OK|failed|skipped|omitted)' pytest.log || true
	sed -n '/tests\? failed:/,/^$/p' pytest.log
	[ $rc -eq 0 ] || tail -40 pytest.log >&2
}

# ---- xz ----
scenario_xz() {
	# The input, generated once without the preload (every side reads the
	# same file): text and noise, ~20 MB.
	local in=$work/xz-input.dat
	if [ ! -s "$in.sha" ]; then
		/usr/bin/python3 - "$in" <<'EOF'
import random, sys
r = random.Random(7)
words = ["alloc", "free", "slab", "superslab", "page", "fault", "class", "block", "cache", "hakmem"]
with open(sys.argv[1], "wb") as f:
    for chunk in range(215):
        lines = "".join("%d %s %s %d\n" % (i, r.choice(words), r.choice(words), r.randrange(10**6))
                        for i in range(2500))
        f.write(lines.encode())
        f.write(r.randbytes(32768))
EOF
		sha256sum "$in" | cut -d' ' -f1 >"$in.sha"
	fi
	# -T2 with 2 MiB blocks: both threads compress; -1 keeps it quick.
	run xz -T2 --block-size=2MiB -1 -k -c "$in" >input.dat.xz
	run xz -T2 -d -c input.dat.xz >output.dat
	run xz -T2 -t input.dat.xz
	echo "input $(stat -c %s "$in") bytes, sha256 $(cat "$in.sha")"
	echo "compressed sha256 $(sha256sum <input.dat.xz | cut -d' ' -f1)"
	echo "round trip sha256 $(sha256sum <output.dat | cut -d' ' -f1)"
	[ "$(sha256sum <output.dat | cut -d' ' -f1)" = "$(cat "$in.sha")" ] || echo "ROUND TRIP MISMATCH"
	rm -f output.dat input.dat.xz
}

# ---- hakmem builds itself ----
scenario_selfbuild() {
	# The same path on both sides, so the objects (and their debug info)
	# are bit-identical.
	local b=$work/selfbuild-tree
	rm -rf "$b"
	# Everything but tests and benchmarks: the four libraries, the
	# tracepoint provider and the Babeltrace2 plugin where their -dev
	# packages are installed (the same on both sides).
	run cmake -S "$repo" -B "$b" -DHAKMEM_TESTS=OFF -DHAKMEM_BENCH=OFF \
		-DCMAKE_BUILD_TYPE=RelWithDebInfo >configure.log 2>&1
	run cmake --build "$b" -j2 >build.log 2>&1
	grep -iE 'warning|error' build.log || true
	(cd "$b" && find . -name '*.o' -o -name '*.so*' -type f -o -name '*.a' | LC_ALL=C sort | xargs sha256sum) || true
	rm -rf "$b"
}

case $prog in
redis) need redis-server redis-server; need redis-cli redis-tools; need redis-benchmark redis-tools ;;
pytests) need /usr/bin/python3 python3
	/usr/bin/python3 -c 'import test.libregrtest' 2>/dev/null ||
		fail "Python's test suite is not installed; install it with: apt-get install libpython3.11-testsuite"
	for t in $PYTESTS; do
		/usr/bin/python3 -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('test.$t') is None)" ||
			fail "test.$t is missing; install it with: apt-get install libpython3.11-testsuite"
	done ;;
xz) need xz xz-utils; need /usr/bin/python3 python3 ;;
selfbuild) need cmake cmake; need gcc gcc; need make make ;;
*) fail "unknown program '$prog' (redis, pytests, xz or selfbuild)" ;;
esac

unset LD_PRELOAD HAKMEM_LOG HAKMEM_CHECK_AT_EXIT
export LC_ALL=C TZ=UTC
mkdir -p "$work"
work=$(cd "$work" && pwd)

# Runs one side into $work/$prog.$side.{out,err}.
side() { # side NAME PRELOAD
	local name=$1 d=$work/$prog.$1
	PRELOAD=$2
	rm -rf "$d" && mkdir -p "$d"
	(cd "$d" && "scenario_$prog") >"$d.out" 2>"$d.err" 3>&1 || echo "[scenario exit $?]" >>"$d.out"
}

if [ -z "$lib" ]; then
	side glibc ""
	if grep -q '^\[.* exit [1-9]' "$work/$prog.glibc.out"; then
		echo "FAIL: the workload fails even on glibc:" >&2
		grep '^\[.* exit' "$work/$prog.glibc.out" >&2
		tail -30 "$work/$prog.glibc.err" >&2
		rm -f "$work/$prog.glibc.out"
		exit 1
	fi
	echo "$prog: glibc baseline in $work/$prog.glibc.out"
	cat "$work/$prog.glibc.out"
	exit 0
fi

[ -f "$lib" ] || fail "library $lib does not exist; build it first"
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
maps=$(LD_PRELOAD=$lib cat /proc/self/maps 2>&1) || true
grep -q libhakmem <<<"$maps" || fail "LD_PRELOAD=$lib did not load: $(head -3 <<<"$maps")"
# The baseline normally comes from the glibc fixture test; make it if missing.
[ -s "$work/$prog.glibc.out" ] || "$0" "$prog" "$work" >/dev/null || fail "the glibc baseline failed"

tag=$(basename "$lib" .so)${HAKMEM_CHECK:+-$HAKMEM_CHECK}
log=$work/$prog.$tag.hakmem.log
rm -f "$log"
export HAKMEM_CHECK_AT_EXIT=1 HAKMEM_LOG=$log
side "$tag" "$lib"
unset HAKMEM_CHECK_AT_EXIT HAKMEM_LOG

status=0
if grep -vE '^hakmem: heap check at exit: clean' "$log" 2>/dev/null | grep -q .; then
	echo "FAIL: hakmem reported problems (HAKMEM_LOG):" >&2
	grep -vE '^hakmem: heap check at exit: clean' "$log" | head -60 >&2
	status=1
fi
checked=$(grep -c 'heap check at exit: clean' "$log" 2>/dev/null || true)
[ "${checked:-0}" -gt 0 ] || { echo "FAIL: no process reported its exit heap check: was hakmem active?" >&2; status=1; }
same_output "$work/$prog.glibc" "$work/$prog.$tag" "$prog under LD_PRELOAD=$lib" || status=1
if [ $status -eq 0 ]; then
	echo "$prog: identical results on glibc and $(basename "$lib")${HAKMEM_CHECK:+ (HAKMEM_CHECK=$HAKMEM_CHECK)}; $checked processes exited with a clean heap"
	cat "$work/$prog.$tag.out"
	rm -rf "$work/$prog.$tag" "$log"
else
	echo "outputs kept in $work" >&2
fi
exit $status
