#!/usr/bin/env bash
# Heap-report stacks name function, file and line: symprog's double frees,
# in the executable and in its shared library, PIE and non-PIE, fast and
# full, under LD_PRELOAD and `hakmem run`; stripped copies and a libdw
# without its functions give module+offset rows instead; a clean run never
# maps libdw.
#
# usage: check.sh SRC_DIR LIBHAKMEM HAKMEM_CLI BIN_DIR FAKE_LIBDW_DIR
set -u
src=$1 lib=$2 cli=$3 bin=$4 fake=$5
failures=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
	echo "FAIL: $1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/    | /'
	failures=$((failures + 1))
}

# The line of the marker comment "MARK: $2" in source file $1.
line_of() {
	grep -n "MARK: $2 \*/" "$src/$1" | cut -d: -f1
}

# The frame rows under "  $2:" in report $1.
frames() {
	printf '%s\n' "$1" | awk -v t="  $2:" '$0 == t { on = 1; next } on && /^    #/ { print; next } on { exit }'
}

# expect_frame REPORT TITLE N REGEX WHAT: frame #N of stack TITLE matches.
expect_frame() {
	local row
	row=$(frames "$1" "$2" | grep "^    #$3 ")
	printf '%s\n' "$row" | grep -Eq "^    #$3 $4\$" || fail "$5: '$2' #$3 is not /$4/" "$1"
}

no_startup_frames() {
	if printf '%s\n' "$1" | grep -Eq 'libhakmem|__libc_start|[( ]_start|ld-linux'; then
		fail "$2: a frame of hakmem or of the C start-up is shown" "$1"
	fi
}

# check_named REPORT CASE MODE EXE WHAT: the stacks of a symbolized report.
check_named() {
	local out=$1 case=$2 mode=$3 exe=$4 what=$5 fn file module
	if [ "$case" = main ]; then
		fn=main_double_free file=symprog.c module=$exe
	else
		fn=symlib_double_free file=symlib.c module=libsymlib.so
	fi
	local at="(.*/)?$file:" mod="\\($module\\+0x[0-9a-f]+\\)"
	printf '%s\n' "$out" | grep -q "^hakmem: double-free at 0x" || fail "$what: no report" "$out"
	expect_frame "$out" "this call" 0 "$fn at $at$(line_of $file "$case second free") $mod" "$what"
	expect_frame "$out" "this call" 1 \
	    "main at (.*/)?symprog.c:$(line_of symprog.c "$case call") \\($exe\\+0x[0-9a-f]+\\)" "$what"
	[ "$(frames "$out" "this call" | wc -l)" -eq 2 ] ||
		fail "$what: 'this call' should end at main" "$out"
	no_startup_frames "$out" "$what"
	if [ "$mode" = full ]; then
		expect_frame "$out" "allocated at" 0 "$fn at $at$(line_of $file "$case malloc") $mod" "$what"
		expect_frame "$out" "first freed at" 0 \
		    "$fn at $at$(line_of $file "$case first free") $mod" "$what"
		[ "$(frames "$out" "allocated at" | wc -l)" -eq 2 ] ||
			fail "$what: 'allocated at' should end at main" "$out"
	fi
}

export HAKMEM_ON_ERROR=report
for exe in symprog symprog_nopie; do
	for mode in fast full; do
		for case in main lib; do
			out=$(LD_LIBRARY_PATH=$bin LD_PRELOAD=$lib HAKMEM_CHECK=$mode "$bin/$exe" $case 2>&1)
			check_named "$out" $case $mode $exe "LD_PRELOAD $exe $case $mode"
		done
	done
done
for mode in fast full; do
	for case in main lib; do
		out=$(LD_LIBRARY_PATH=$bin "$cli" run --check=$mode -- "$bin/symprog" $case 2>&1)
		check_named "$out" $case $mode symprog "hakmem run symprog $case $mode"
	done
done

# Only a report loads libdw.
for mode in fast full; do
	out=$(LD_LIBRARY_PATH=$bin LD_PRELOAD=$lib HAKMEM_CHECK=$mode "$bin/symprog" clean 2>&1)
	[ "$out" = "libdw not mapped" ] || fail "clean run, $mode: libdw was loaded" "$out"
done
out=$(LD_LIBRARY_PATH=$bin LD_PRELOAD=$lib "$bin/symprog" main 2>&1)
printf '%s\n' "$out" | grep -qx "libdw mapped" || fail "a report did not load libdw" "$out"

# Without debug info or without libdw: module+offset rows, with the
# function where a symbol table still names it.
row="(\\w+ \\()?(symprog|libsymlib\\.so)\\+0x[0-9a-f]+\\)?"
check_unnamed() {
	local out=$1 what=$2
	printf '%s\n' "$out" | grep -q "^hakmem: double-free at 0x" || fail "$what: no report" "$out"
	expect_frame "$out" "this call" 0 "$row" "$what"
	printf '%s\n' "$out" | grep -Eq '^    #.* at .*:[0-9]+ ' && fail "$what: a line without DWARF" "$out"
	no_startup_frames "$out" "$what"
}
for strip in "strip" "objcopy --strip-debug"; do
	mkdir -p "$tmp/s" && cp "$bin/symprog" "$bin/libsymlib.so" "$tmp/s/"
	$strip "$tmp/s/symprog" && $strip "$tmp/s/libsymlib.so"
	for case in main lib; do
		out=$(LD_LIBRARY_PATH=$tmp/s LD_PRELOAD=$lib HAKMEM_CHECK=full "$tmp/s/symprog" $case 2>&1)
		check_unnamed "$out" "$strip, $case"
	done
done
out=$(LD_LIBRARY_PATH=$tmp/s LD_PRELOAD=$lib "$tmp/s/symprog" main 2>&1)
expect_frame "$out" "this call" 0 "main_double_free \\(symprog\\+0x[0-9a-f]+\\)" "strip-debug keeps names"
# Debug info split off beside the program, found through .gnu_debuglink
# (and its CRC): lines again.
mkdir -p "$tmp/d" && cp "$bin/symprog" "$bin/libsymlib.so" "$tmp/d/"
for f in symprog libsymlib.so; do
	objcopy --only-keep-debug "$tmp/d/$f" "$tmp/d/$f.debug"
	(cd "$tmp/d" && objcopy --strip-debug --add-gnu-debuglink="$f.debug" "$f")
done
for mode in fast full; do
	for case in main lib; do
		out=$(LD_LIBRARY_PATH=$tmp/d LD_PRELOAD=$lib HAKMEM_CHECK=$mode "$tmp/d/symprog" $case 2>&1)
		check_named "$out" $case $mode symprog "debuglink $case $mode"
	done
done
# A debug file whose CRC does not match is not used, right as its DWARF is.
printf x >>"$tmp/d/symprog.debug"
out=$(LD_LIBRARY_PATH=$tmp/d LD_PRELOAD=$lib "$tmp/d/symprog" main 2>&1)
expect_frame "$out" "this call" 0 "main_double_free \\(symprog\\+0x[0-9a-f]+\\)" "debuglink, CRC mismatch"

for case in main lib; do
	out=$(LD_LIBRARY_PATH=$fake:$bin LD_PRELOAD=$lib HAKMEM_CHECK=full "$bin/symprog" $case 2>&1)
	check_unnamed "$out" "libdw without its functions, $case"
done

if [ $failures -ne 0 ]; then
	echo "symbolize: $failures checks failed"
	exit 1
fi
echo "symbolize: every check passed"
