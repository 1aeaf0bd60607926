/* LTTng-UST provider "hakmem": one event per allocator decision that can
 * cost page faults. Every field is an integer; see docs/reference.md for
 * the meaning of each enum value. */
/* LTTng-UST event macros read best as LTTng lays them out. */
/* clang-format off */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER hakmem

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "./hakmem_tp.h"

#if !defined(HAKMEM_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define HAKMEM_TP_H

#include <lttng/tracepoint.h>
#include <stdint.h>
#include "hakmem_tp_abi.h"

/* pool: 0 tiny, 1 mid, 2 small-mid. reason: 0 refill, 1 prewarm.
 * callsite: the hakmem:callsite id of the malloc that caused it, 0 none. */
LTTNG_UST_TRACEPOINT_EVENT(hakmem, superslab_mmap,
	LTTNG_UST_TP_ARGS(uint64_t, ss, uint64_t, size, uint32_t, pool, uint32_t, reason, uint64_t, ns,
			  uint64_t, callsite),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, ss, ss)
		lttng_ust_field_integer(uint64_t, size, size)
		lttng_ust_field_integer(uint32_t, pool, pool)
		lttng_ust_field_integer(uint32_t, reason, reason)
		lttng_ust_field_integer(uint64_t, ns, ns)
		lttng_ust_field_integer_hex(uint64_t, callsite, callsite)))

/* reason: 0 beyond the warm-cache limit, 1 purge delay, 2 failed set-up. */
LTTNG_UST_TRACEPOINT_EVENT(hakmem, superslab_munmap,
	LTTNG_UST_TP_ARGS(uint64_t, ss, uint64_t, size, uint32_t, pool, uint32_t, reason),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, ss, ss)
		lttng_ust_field_integer(uint64_t, size, size)
		lttng_ust_field_integer(uint32_t, reason, reason)
		lttng_ust_field_integer(uint32_t, pool, pool)))

LTTNG_UST_TRACEPOINT_EVENT(hakmem, superslab_reuse,
	LTTNG_UST_TP_ARGS(uint64_t, ss, uint32_t, pool),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, ss, ss)
		lttng_ust_field_integer(uint32_t, pool, pool)))

/* new_pages: pages the refill's carving touched for the first time (or
 * again after a purge, when refault is 1). from_remote: blocks other
 * threads freed into the slab, collected off its remote list before any
 * carving. remote_waiting: when it carved, the freed blocks that sat on
 * the class's partial slabs meanwhile (0 when it carved nothing). */
LTTNG_UST_TRACEPOINT_EVENT(hakmem, refill,
	LTTNG_UST_TP_ARGS(const struct hakmem_tp_refill *, r),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, class, r->cls)
		lttng_ust_field_integer(uint32_t, want, r->want)
		lttng_ust_field_integer(uint32_t, got, r->got)
		lttng_ust_field_integer(uint32_t, from_freelist, r->from_freelist)
		lttng_ust_field_integer(uint32_t, from_carve, r->from_carve)
		lttng_ust_field_integer(uint32_t, new_slab, r->new_slab)
		lttng_ust_field_integer(uint32_t, new_pages, r->new_pages)
		lttng_ust_field_integer(uint32_t, refault, r->refault)
		lttng_ust_field_integer(uint32_t, block_size, r->block_size)
		lttng_ust_field_integer(uint32_t, pool, r->pool)
		lttng_ust_field_integer_hex(uint64_t, callsite, r->callsite)
		lttng_ust_field_integer(uint32_t, from_remote, r->from_remote)
		lttng_ust_field_integer(uint32_t, remote_waiting, r->remote_waiting)))

LTTNG_UST_TRACEPOINT_EVENT(hakmem, slab_empty,
	LTTNG_UST_TP_ARGS(uint64_t, ss, uint32_t, slab, uint32_t, cls, uint32_t, pool),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, ss, ss)
		lttng_ust_field_integer(uint32_t, slab, slab)
		lttng_ust_field_integer(uint32_t, class, cls)
		lttng_ust_field_integer(uint32_t, pool, pool)))

LTTNG_UST_TRACEPOINT_EVENT(hakmem, slab_reuse,
	LTTNG_UST_TP_ARGS(uint64_t, ss, uint32_t, slab, uint32_t, old_class, uint32_t, new_class,
			  uint32_t, resident_pages, uint32_t, pool),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, ss, ss)
		lttng_ust_field_integer(uint32_t, slab, slab)
		lttng_ust_field_integer(uint32_t, old_class, old_class)
		lttng_ust_field_integer(uint32_t, new_class, new_class)
		lttng_ust_field_integer(uint32_t, resident_pages, resident_pages)
		lttng_ust_field_integer(uint32_t, pool, pool)))

/* slab 255: the whole SuperSlab (a warm one) was purged. */
LTTNG_UST_TRACEPOINT_EVENT(hakmem, slab_purge,
	LTTNG_UST_TP_ARGS(uint64_t, ss, uint32_t, slab, uint32_t, pages, uint32_t, pool),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, ss, ss)
		lttng_ust_field_integer(uint32_t, slab, slab)
		lttng_ust_field_integer(uint32_t, pages, pages)
		lttng_ust_field_integer(uint32_t, pool, pool)))

LTTNG_UST_TRACEPOINT_EVENT(hakmem, large_mmap,
	LTTNG_UST_TP_ARGS(uint64_t, addr, uint64_t, size, uint64_t, new_pages, uint64_t, callsite),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, addr, addr)
		lttng_ust_field_integer(uint64_t, size, size)
		lttng_ust_field_integer(uint64_t, new_pages, new_pages)
		lttng_ust_field_integer_hex(uint64_t, callsite, callsite)))

/* The program's stack at a malloc that touched fresh pages: return
 * addresses, innermost first, hakmem's own frames left out. Written the
 * first time the stack is seen in the process; the fault events name it
 * by id. lttng_ust_statedump and lttng_ust_dl events map the addresses
 * to binaries (docs/architecture.md, "Call sites"). */
LTTNG_UST_TRACEPOINT_EVENT(hakmem, callsite,
	LTTNG_UST_TP_ARGS(uint64_t, id, const uint64_t *, frames, uint32_t, n),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, id, id)
		lttng_ust_field_sequence_hex(uint64_t, frames, frames, uint32_t, n)))

LTTNG_UST_TRACEPOINT_EVENT(hakmem, large_munmap,
	LTTNG_UST_TP_ARGS(uint64_t, addr, uint64_t, size),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, addr, addr)
		lttng_ust_field_integer(uint64_t, size, size)))

/* kind: 1 double-free, 2 invalid-free, 3 interior-free, 4 header-corrupt,
 * 5 overflow, 6 use-after-free-write, 7 foreign-pointer, 8 mismatched-free. */
LTTNG_UST_TRACEPOINT_EVENT(hakmem, heap_error,
	LTTNG_UST_TP_ARGS(uint32_t, kind, uint64_t, addr, uint32_t, found, uint32_t, expected),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, kind, kind)
		lttng_ust_field_integer_hex(uint64_t, addr, addr)
		lttng_ust_field_integer_hex(uint32_t, found, found)
		lttng_ust_field_integer_hex(uint32_t, expected, expected)))

/* The allocator's totals since the process started ride along, so the
 * analysis can cross-check its event counts. */
LTTNG_UST_TRACEPOINT_EVENT(hakmem, process_stats,
	LTTNG_UST_TP_ARGS(uint64_t, minflt, uint64_t, majflt, uint64_t, rss_kb, uint64_t, mapped_bytes,
			  const struct hakmem_tp_counters *, c),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint64_t, minflt, minflt)
		lttng_ust_field_integer(uint64_t, majflt, majflt)
		lttng_ust_field_integer(uint64_t, rss_kb, rss_kb)
		lttng_ust_field_integer(uint64_t, mapped_bytes, mapped_bytes)
		lttng_ust_field_integer(uint64_t, superslabs_mapped, c->superslabs_mapped)
		lttng_ust_field_integer(uint64_t, superslabs_reused, c->superslabs_reused)
		lttng_ust_field_integer(uint64_t, superslabs_unmapped, c->superslabs_unmapped)
		lttng_ust_field_integer(uint64_t, refills, c->refills)
		lttng_ust_field_integer(uint64_t, slab_empty, c->slab_empty)
		lttng_ust_field_integer(uint64_t, slab_reuse, c->slab_reuse)
		lttng_ust_field_integer(uint64_t, slab_purge, c->slab_purge)
		lttng_ust_field_integer(uint64_t, large_mapped, c->large_mapped)))

/* The thread's page-fault count, read at most every 5 ms while it emits
 * events and once as it exits, on the channel that has the perf context:
 * the events on the channel without it carry no count (docs/architecture.md,
 * "Two channels"). reason: 0 periodic, 1 thread exit. */
LTTNG_UST_TRACEPOINT_EVENT(hakmem, tick,
	LTTNG_UST_TP_ARGS(uint32_t, reason),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, reason, reason)))

/* One HAKMEM_PREWARM entry (class: its class number and usable bytes;
 * slabs asked, slabs done, pages faulted in). The prewarm runs at
 * start-up, before the tracer loads; the event follows the first
 * process_stats. Its faults are not in the trace: it claims none. */
LTTNG_UST_TRACEPOINT_EVENT(hakmem, prewarm,
	LTTNG_UST_TP_ARGS(uint32_t, cls, uint32_t, block_size, uint32_t, pool, uint32_t, slabs,
			  uint32_t, done, uint64_t, pages),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer(uint32_t, class, cls)
		lttng_ust_field_integer(uint32_t, block_size, block_size)
		lttng_ust_field_integer(uint32_t, pool, pool)
		lttng_ust_field_integer(uint32_t, slabs, slabs)
		lttng_ust_field_integer(uint32_t, done, done)
		lttng_ust_field_integer(uint64_t, pages, pages)))

/* Per-call events: only with hakmem trace --per-call (HAKMEM_TRACE_PER_CALL=1). */
LTTNG_UST_TRACEPOINT_EVENT(hakmem, malloc,
	LTTNG_UST_TP_ARGS(uint64_t, ptr, uint64_t, size),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, ptr, ptr)
		lttng_ust_field_integer(uint64_t, size, size)))
LTTNG_UST_TRACEPOINT_LOGLEVEL(hakmem, malloc, LTTNG_UST_TRACEPOINT_LOGLEVEL_DEBUG)

LTTNG_UST_TRACEPOINT_EVENT(hakmem, free,
	LTTNG_UST_TP_ARGS(uint64_t, ptr),
	LTTNG_UST_TP_FIELDS(
		lttng_ust_field_integer_hex(uint64_t, ptr, ptr)))
LTTNG_UST_TRACEPOINT_LOGLEVEL(hakmem, free, LTTNG_UST_TRACEPOINT_LOGLEVEL_DEBUG)

#endif

#include <lttng/tracepoint-event.h>
/* clang-format on */
