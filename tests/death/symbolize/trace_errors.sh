#!/usr/bin/env bash
# A report's own mallocs and frees are no heap errors: a traced full-mode
# run of symprog's one double free records exactly one hakmem:heap_error.
# (The symbolizer's memory once had no canary after its request, and each
# of its frees fired the event as an overflow.)
#
# usage: trace_errors.sh HAKMEM_CLI BIN_DIR
set -u
cli=$1 bin=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! LD_LIBRARY_PATH=$bin HAKMEM_ON_ERROR=report "$cli" trace -o "$tmp/trace" --check=full \
	-- "$bin/symprog" lib >"$tmp/out" 2>&1; then
	echo "FAIL: hakmem trace failed"
	cat "$tmp/out"
	exit 1
fi
n=$(babeltrace2 "$tmp/trace" | grep -c 'hakmem:heap_error')
if [ "$n" -ne 1 ]; then
	echo "FAIL: $n hakmem:heap_error events for one double free"
	babeltrace2 "$tmp/trace" | grep 'hakmem:heap_error'
	exit 1
fi
echo "trace_errors: one double free, one hakmem:heap_error"
