#!/usr/bin/env bash
# Runs a real program's workload twice, on glibc's malloc and with
# LD_PRELOAD=LIBRARY, and fails unless stdout, stderr and every exit status
# are identical.
#
# usage: real_programs.sh PROGRAM LIBRARY
#   PROGRAM: python3 | sqlite3 | git | sort | gcc
# A missing program is a failure that names the Debian package to install:
# a skipped test would pass CI without testing anything.
set -euo pipefail

prog=${1:?usage: real_programs.sh PROGRAM LIBRARY}
lib=${2:?usage: real_programs.sh PROGRAM LIBRARY}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)

# shellcheck source=real_lib.sh
. "$here/real_lib.sh"

# ---- the workloads: each runs in an empty directory, prints only what
# ---- is deterministic, and names no path.

scenario_python3() {
	cat >work.py <<'EOF'
import hashlib, json, random
random.seed(12345)
h = hashlib.sha256()
d = {}
for i in range(200000):
    d["key%d-%s" % (i, "x" * (i % 37))] = [i, str(i) * (i % 13), {"v": i * 3}]
for i in range(0, 200000, 3):
    del d["key%d-%s" % (i, "x" * (i % 37))]
for k in sorted(d)[::97]:
    h.update(k.encode()); h.update(repr(d[k]).encode())
words = ["".join(chr(97 + (i * j) % 26) for j in range(1 + i % 40)) for i in range(50000)]
random.shuffle(words)
words.sort()
h.update("|".join(words).encode())
buf = bytearray()
for i in range(100000):
    buf += bytes([i % 251]) * (i % 50)   # grows by realloc
h.update(buf)
blob = json.dumps({str(i): list(range(i % 100)) for i in range(5000)}, sort_keys=True)
h.update(json.dumps(json.loads(blob), sort_keys=True).encode())
sets = [set(range(i, i + 500)) for i in range(0, 20000, 7)]
h.update(str(sum(len(s) for s in sets)).encode())
print(len(d), len(words), len(buf), len(blob), h.hexdigest())
EOF
	# PYTHONMALLOC=malloc sends every object through malloc, not only the
	# large ones pymalloc passes on.
	PYTHONHASHSEED=0 PYTHONMALLOC=malloc run /usr/bin/python3 -I work.py
	PYTHONHASHSEED=0 run /usr/bin/python3 -I work.py
}

scenario_sqlite3() {
	cat >work.sql <<'EOF'
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, name TEXT, val REAL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO t SELECT x, x % 97, printf('name-%d-%s', x, substr('abcdefghijklmnopqrstuvwxyz', 1 + x % 26)),
                     x * 1.5 FROM c;
CREATE INDEX t_grp ON t(grp);
SELECT count(*), sum(id), sum(val), min(name), max(name) FROM t;
SELECT grp, count(*), sum(id), avg(val), max(length(name)) FROM t GROUP BY grp ORDER BY grp;
SELECT length(group_concat(name, ',')) FROM (SELECT name FROM t ORDER BY name DESC);
UPDATE t SET name = name || '/' || name WHERE id % 3 = 0;
DELETE FROM t WHERE id % 7 = 0;
VACUUM;
SELECT count(*), sum(length(name)), total(val) FROM t;
SELECT a.grp, count(*) FROM t a JOIN t b ON a.id = b.id + 1 AND a.grp = b.grp + 1 GROUP BY a.grp ORDER BY 2 DESC, 1 LIMIT 5;
PRAGMA integrity_check;
EOF
	run sqlite3 work.db <work.sql
}

scenario_git() {
	export HOME=$PWD GIT_CONFIG_NOSYSTEM=1
	export GIT_AUTHOR_NAME=hakmem GIT_AUTHOR_EMAIL=hakmem@example.org GIT_AUTHOR_DATE='2020-01-01T00:00:00+0000'
	export GIT_COMMITTER_NAME=hakmem GIT_COMMITTER_EMAIL=hakmem@example.org GIT_COMMITTER_DATE='2020-01-01T00:00:00+0000'
	run git init -q -b main repo
	cd repo
	mkdir -p src doc
	for i in $(seq 1 300); do
		seq "$i" $((i * 7)) >"src/file$i.txt"
	done
	seq 1 20000 | sed 's/$/ line of documentation/' >doc/big.txt
	run git add -A
	run git commit -q -m 'first commit'
	for i in $(seq 1 300 | awk 'NR % 6 == 0'); do
		echo "change $i" >>"src/file$i.txt"
	done
	sed -i '500,900d' doc/big.txt
	run git mv src/file1.txt src/renamed.txt
	run git commit -q -am 'second commit'
	run git log --stat --format='%H %an %ad %s' --date=iso
	run git diff --stat HEAD~1
	run git diff -M HEAD~1 HEAD -- doc src/file6.txt
	run git grep -c 'documentation' HEAD
	run git blame -s src/file12.txt
	run git -c pack.threads=1 gc --quiet
	run git fsck --full --no-progress
	run git rev-list --objects --all
	run git count-objects -v >count
	grep -E '^(count|in-pack|packs|garbage):' count
	run git cat-file -p HEAD
	cd ..
}

scenario_sort() {
	# Generated without the preload; both runs get the same input.
	awk 'BEGIN { s = 42; for (i = 0; i < 200000; i++) { s = (s * 1103515245 + 12345) % 2147483648;
		printf "%d %s%d line-%d\n", s % 1000003, substr("qwertyuiopasdfghjklzxcvbnm", 1 + s % 26, 1 + s % 7), s % 97, i } }' >in.txt
	run sort in.txt >out1
	run sort -n -k1,1 -k3 -S 1M in.txt >out2 # 1 MiB buffer: temp files and merges
	run sort -u -t ' ' -k2,2 --parallel=2 in.txt >out3
	run sort -r -k3 -S 64M --parallel=2 in.txt >out4
	wc -l out1 out2 out3 out4
	cksum out1 out2 out3 out4
}

scenario_gcc() {
	cat >prog.c <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct rec { int key; char name[24]; };
static int cmp(const void *a, const void *b) { return ((const struct rec *)a)->key - ((const struct rec *)b)->key; }
static unsigned long fib(unsigned n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
int main(void)
{
	enum { N = 100000 };
	struct rec *r = malloc(N * sizeof(*r));
	unsigned s = 1, sum = 0, primes = 0;
	for (int i = 0; i < N; i++) {
		s = s * 1103515245u + 12345u;
		r[i].key = (int)(s >> 8) % 1000000;
		snprintf(r[i].name, sizeof(r[i].name), "rec-%d", i);
	}
	qsort(r, N, sizeof(*r), cmp);
	for (int i = 0; i < N; i += 1000)
		sum = sum * 31 + (unsigned)r[i].key + (unsigned)strlen(r[i].name);
	for (int n = 2; n < 200000; n++) {
		int p = 1;
		for (int d = 2; d * d <= n && p; d++)
			p = n % d != 0;
		primes += p;
	}
	printf("%u %u %lu %s\n", sum, primes, fib(27), r[N / 2].name);
	free(r);
	return 0;
}
EOF
	run gcc -O2 -Wall -S -o - prog.c
	run gcc -O2 -Wall -o prog prog.c
	run ./prog
	# A larger unit with system headers: one of our own tests.
	run gcc -O2 -S -o mt_stress.s -I "$repo/src/include" -I "$repo/tests" "$repo/tests/mt_stress.c"
	grep -vE '^\s*\.(file|ident)' mt_stress.s | cksum
}

case $prog in
python3) need /usr/bin/python3 python3 ;;
sqlite3) need sqlite3 sqlite3 ;;
git) need git git ;;
sort) need sort coreutils; need awk mawk ;;
gcc) need gcc gcc; need as binutils ;;
*) fail "unknown program '$prog' (python3, sqlite3, git, sort or gcc)" ;;
esac

[ -f "$lib" ] || fail "library $lib does not exist; build it first"
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")
unset LD_PRELOAD

# A preload that fails to load is only a warning from ld.so, and the
# comparison would pass on glibc alone. Make sure it is really mapped.
maps=$(LD_PRELOAD=$lib cat /proc/self/maps 2>&1) || true
grep -q libhakmem <<<"$maps" || fail "LD_PRELOAD=$lib did not load: $(head -3 <<<"$maps")"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-$prog.XXXXXX")
export LC_ALL=C TZ=UTC

for side in glibc hakmem; do
	PRELOAD=
	[ "$side" = hakmem ] && PRELOAD=$lib
	mkdir "$tmp/$side"
	(cd "$tmp/$side" && "scenario_$prog") >"$tmp/$side.out" 2>"$tmp/$side.err" 3>&1 ||
		echo "[scenario exit $?]" >>"$tmp/$side.out"
done

status=0
if grep -q '^hakmem:' "$tmp/hakmem.err"; then
	echo "FAIL: hakmem reported heap errors:" >&2
	grep -A20 '^hakmem:' "$tmp/hakmem.err" | head -60 >&2
	status=1
fi
same_output "$tmp/glibc" "$tmp/hakmem" "$prog under LD_PRELOAD=$lib" || status=1
# The glibc side must itself have worked, or the comparison means little.
if grep -v '^\[.* exit 0\]$' "$tmp/glibc.out" | grep -q '^\[.* exit [1-9]'; then
	echo "FAIL: the workload fails even on glibc:" >&2
	grep '^\[.* exit' "$tmp/glibc.out" >&2
	cat "$tmp/glibc.err" >&2
	status=1
fi

if [ $status -eq 0 ]; then
	echo "$prog: identical output on glibc and $(basename "$lib") ($(grep -c '^\[.* exit' "$tmp/glibc.out") commands)"
	rm -rf "$tmp"
else
	echo "outputs kept in $tmp" >&2
fi
exit $status
