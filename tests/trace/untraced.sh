#!/bin/sh
# trace.untraced: libhakmem.so maps liblttng-ust only when HAKMEM_TRACE=1
# (docs/architecture.md, LTTng safety rule 3: the provider costs ~2 ms of start-up).
. "$(dirname "$0")/lib.sh"
need_env HAKMEM_LIB HAKMEM_TP
[ -f "$HAKMEM_TP" ] || skip "the tracepoint provider was not built"

maps_count() {
	# cat reads its own /proc/self/maps: the preloaded library is in it.
	env "$@" LD_PRELOAD="$HAKMEM_LIB" cat /proc/self/maps >"$WORK/maps" || fail "cat under LD_PRELOAD failed"
	grep -q 'libhakmem' "$WORK/maps" || fail "libhakmem.so is not mapped: LD_PRELOAD did not take"
	grep -c 'liblttng-ust\|libhakmem-tp' "$WORK/maps"
}
make_work
unset HAKMEM_TRACE HAKMEM_TP_PATH

n=$(maps_count)
note "no HAKMEM_TRACE: $n lttng mappings"
[ "$n" -eq 0 ] || fail "liblttng-ust is mapped in an untraced process: $(grep 'lttng\|hakmem-tp' "$WORK/maps")"
n=$(maps_count HAKMEM_TRACE=0)
note "HAKMEM_TRACE=0: $n lttng mappings"
[ "$n" -eq 0 ] || fail "liblttng-ust is mapped with HAKMEM_TRACE=0"
# The provider is found beside libhakmem.so (hakmem/libhakmem-tp.so), with no HAKMEM_TP_PATH.
n=$(maps_count HAKMEM_TRACE=1)
note "HAKMEM_TRACE=1: $n lttng mappings"
grep -q 'liblttng-ust\.so' "$WORK/maps" || fail "HAKMEM_TRACE=1 did not load liblttng-ust"
grep -q 'libhakmem-tp\.so' "$WORK/maps" || fail "HAKMEM_TRACE=1 did not load libhakmem-tp.so"
note "PASS"
