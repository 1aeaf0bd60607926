/* The contract between libhakmem.so and its tracepoint provider,
 * libhakmem-tp.so. libhakmem.so never links liblttng-ust: it dlopens the
 * provider only when HAKMEM_TRACE=1 and calls through this table. */
#ifndef HAKMEM_TP_ABI_H
#define HAKMEM_TP_ABI_H

#include "../src/geometry.h"

#include <stdint.h>

#define HAKMEM_TP_ABI_VERSION 4
#define HAKMEM_TP_OPS_SYMBOL "hakmem_tp_ops"
/* Frames of a call site: the program's own, innermost first. */
#define HAKMEM_TP_CALLSITE_FRAMES 8

/* Every `pool` argument is an enum hak_pool_kind, the geometry's pool
 * (src/geometry.h), which the analysis reads from each event. The other
 * enum-like fields are in docs/reference.md. */

/* The allocator's own running totals, carried by process_stats so that an
 * analysis can check its event counts (and spot lost events). */
struct hakmem_tp_counters {
	uint64_t superslabs_mapped, superslabs_reused, superslabs_unmapped;
	uint64_t refills, slab_empty, slab_reuse, slab_purge, large_mapped;
};

/* A refill: more fields than a tracepoint takes arguments. */
struct hakmem_tp_refill {
	uint32_t cls, pool, want, got, from_freelist, from_carve, new_slab, new_pages, refault,
	    block_size;
	/* from_remote: blocks collected off the slab's remote list (other
	 * threads' frees) into its freelist. remote_waiting: when the refill
	 * carved, the freed blocks on its class's partial slabs meanwhile. */
	uint32_t from_remote, remote_waiting;
	uint64_t callsite;
};

struct hakmem_tp_ops {
	uint32_t abi_version;
	void (*superslab_mmap)(uint64_t ss, uint64_t size, uint32_t pool, uint32_t reason,
	                       uint64_t ns, uint64_t callsite);
	void (*superslab_munmap)(uint64_t ss, uint64_t size, uint32_t pool, uint32_t reason);
	void (*superslab_reuse)(uint64_t ss, uint32_t pool);
	void (*refill)(const struct hakmem_tp_refill *r);
	void (*slab_empty)(uint64_t ss, uint32_t slab, uint32_t cls, uint32_t pool);
	void (*slab_reuse)(uint64_t ss, uint32_t slab, uint32_t old_class, uint32_t new_class,
	                   uint32_t resident_pages, uint32_t pool);
	void (*slab_purge)(uint64_t ss, uint32_t slab, uint32_t pages, uint32_t pool);
	void (*large_mmap)(uint64_t addr, uint64_t size, uint64_t new_pages, uint64_t callsite);
	void (*large_munmap)(uint64_t addr, uint64_t size);
	void (*heap_error)(uint32_t kind, uint64_t addr, uint32_t found, uint32_t expected);
	void (*process_stats)(uint64_t minflt, uint64_t majflt, uint64_t rss_kb,
	                      uint64_t mapped_bytes, const struct hakmem_tp_counters *c);
	void (*malloc_call)(uint64_t ptr, uint64_t size);
	void (*free_call)(uint64_t ptr);
	/* hakmem:tick: reason 0 periodic, 1 thread exit */
	void (*tick)(uint32_t reason);
	/* A call site's frames (at most HAKMEM_TP_CALLSITE_FRAMES), once per
	 * process; the fault events carry its id. */
	void (*callsite)(uint64_t id, const uint64_t *frames, uint32_t n);
	/* One HAKMEM_PREWARM entry, done at start-up before the tracer loaded:
	 * emitted once tracing starts, so the analysis knows the setting. */
	void (*prewarm)(uint32_t cls, uint32_t block_size, uint32_t pool, uint32_t slabs,
	                uint32_t done, uint64_t pages);
};

#endif
