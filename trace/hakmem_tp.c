/* libhakmem-tp.so: the probes of the hakmem provider, and the table
 * libhakmem.so calls them through. */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#define LTTNG_UST_TRACEPOINT_DEFINE
#include "hakmem_tp.h"
#include "hakmem_tp_abi.h"

/* Each emitter is only the tracepoint: when the session has not enabled
 * the event, lttng_ust_tracepoint costs its own predictable branch. */
static void tp_superslab_mmap(uint64_t ss, uint64_t size, uint32_t pool, uint32_t reason,
                              uint64_t ns, uint64_t callsite)
{
	lttng_ust_tracepoint(hakmem, superslab_mmap, ss, size, pool, reason, ns, callsite);
}

static void tp_superslab_munmap(uint64_t ss, uint64_t size, uint32_t pool, uint32_t reason)
{
	lttng_ust_tracepoint(hakmem, superslab_munmap, ss, size, pool, reason);
}

static void tp_superslab_reuse(uint64_t ss, uint32_t pool)
{
	lttng_ust_tracepoint(hakmem, superslab_reuse, ss, pool);
}

static void tp_refill(const struct hakmem_tp_refill *r)
{
	lttng_ust_tracepoint(hakmem, refill, r);
}

static void tp_slab_empty(uint64_t ss, uint32_t slab, uint32_t cls, uint32_t pool)
{
	lttng_ust_tracepoint(hakmem, slab_empty, ss, slab, cls, pool);
}

static void tp_slab_reuse(uint64_t ss, uint32_t slab, uint32_t old_class, uint32_t new_class,
                          uint32_t resident_pages, uint32_t pool)
{
	lttng_ust_tracepoint(hakmem, slab_reuse, ss, slab, old_class, new_class, resident_pages,
	                     pool);
}

static void tp_slab_purge(uint64_t ss, uint32_t slab, uint32_t pages, uint32_t pool)
{
	lttng_ust_tracepoint(hakmem, slab_purge, ss, slab, pages, pool);
}

static void tp_large_mmap(uint64_t addr, uint64_t size, uint64_t new_pages, uint64_t callsite)
{
	lttng_ust_tracepoint(hakmem, large_mmap, addr, size, new_pages, callsite);
}

static void tp_callsite(uint64_t id, const uint64_t *frames, uint32_t n)
{
	lttng_ust_tracepoint(hakmem, callsite, id, frames, n);
}

static void tp_large_munmap(uint64_t addr, uint64_t size)
{
	lttng_ust_tracepoint(hakmem, large_munmap, addr, size);
}

static void tp_heap_error(uint32_t kind, uint64_t addr, uint32_t found, uint32_t expected)
{
	lttng_ust_tracepoint(hakmem, heap_error, kind, addr, found, expected);
}

static void tp_process_stats(uint64_t minflt, uint64_t majflt, uint64_t rss_kb,
                             uint64_t mapped_bytes, const struct hakmem_tp_counters *c)
{
	lttng_ust_tracepoint(hakmem, process_stats, minflt, majflt, rss_kb, mapped_bytes, c);
}

static void tp_malloc(uint64_t ptr, uint64_t size)
{
	lttng_ust_tracepoint(hakmem, malloc, ptr, size);
}
static void tp_free(uint64_t ptr)
{
	lttng_ust_tracepoint(hakmem, free, ptr);
}

static void tp_tick(uint32_t reason)
{
	lttng_ust_tracepoint(hakmem, tick, reason);
}

static void tp_prewarm(uint32_t cls, uint32_t block_size, uint32_t pool, uint32_t slabs,
                       uint32_t done, uint64_t pages)
{
	lttng_ust_tracepoint(hakmem, prewarm, cls, block_size, pool, slabs, done, pages);
}

__attribute__((visibility("default"))) const struct hakmem_tp_ops hakmem_tp_ops = {
    .abi_version = HAKMEM_TP_ABI_VERSION,
    .superslab_mmap = tp_superslab_mmap,
    .superslab_munmap = tp_superslab_munmap,
    .superslab_reuse = tp_superslab_reuse,
    .refill = tp_refill,
    .slab_empty = tp_slab_empty,
    .slab_reuse = tp_slab_reuse,
    .slab_purge = tp_slab_purge,
    .large_mmap = tp_large_mmap,
    .large_munmap = tp_large_munmap,
    .heap_error = tp_heap_error,
    .process_stats = tp_process_stats,
    .malloc_call = tp_malloc,
    .free_call = tp_free,
    .tick = tp_tick,
    .callsite = tp_callsite,
    .prewarm = tp_prewarm,
};
