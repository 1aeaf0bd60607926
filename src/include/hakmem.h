/* hakmem: a malloc you can see into.
 *
 * The hak_* API is what programs that embed hakmem (libhakmem.a) call.
 * libhakmem.so and libhakmem-release.so export the same functions and,
 * in addition, the malloc family itself for LD_PRELOAD or linking. */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HAKMEM_VERSION_STRING "0.1.0"

void *hak_malloc(size_t size);
void hak_free(void *ptr);
void *hak_calloc(size_t nmemb, size_t size);
void *hak_realloc(void *ptr, size_t size);
void *hak_reallocarray(void *ptr, size_t nmemb, size_t size);
void *hak_memalign(size_t alignment, size_t size);
int hak_posix_memalign(void **out, size_t alignment, size_t size);
void *hak_aligned_alloc(size_t alignment, size_t size);
void *hak_valloc(size_t size);
void *hak_pvalloc(size_t size);
size_t hak_malloc_usable_size(void *ptr);

/* "0.1.0 (full)" or "0.1.0 (release)". */
const char *hak_version(void);

/* Walks every SuperSlab and large span and validates headers, freelists
 * and slab metadata. Returns the number of problems found (0 = clean);
 * each problem is reported like a heap error. */
long hak_heap_check(void);

/* glibc's malloc_trim(): the calling thread's cache goes back to its slabs,
 * and every empty slab, warm SuperSlab and cached large span is given back
 * to the kernel now, whatever HAKMEM_PURGE_DELAY_MS says. Returns 1. */
int hak_malloc_trim(size_t pad);

/* Returns the calling thread's cached blocks to their slabs. Useful
 * before hak_stats_get() when exact in-use counts matter. */
void hak_thread_flush(void);

#define HAK_STATS_MAX_CLASSES 64

struct hak_class_stats {
	uint32_t block_size;    /* usable bytes of a block of this class */
	uint32_t pool;          /* 0 = tiny, 1 = mid, 2 = small-mid */
	uint64_t blocks_held;   /* blocks out of their slabs: in use or in a thread cache */
	uint64_t refills;       /* thread-cache refills */
	uint64_t refill_blocks; /* blocks moved by those refills */
	uint64_t from_freelist; /* ... of which came from slab freelists */
	uint64_t from_carve;    /* ... of which were carved fresh */
	uint64_t new_slabs;     /* slabs taken from the pool for this class */
	uint64_t pages_touched; /* pages first touched by carving */
	uint64_t slabs_live;    /* slabs currently formatted for this class */
};

struct hak_stats {
	uint64_t superslabs_mapped;   /* SuperSlab mmaps */
	uint64_t superslabs_reused;   /* taken back from the warm cache */
	uint64_t superslabs_unmapped; /* munmaps */
	uint64_t superslabs_live;     /* mapped now, warm ones included */
	uint64_t superslabs_warm;     /* in the warm cache now */
	uint64_t slab_empty;          /* slab used count dropped to 0 */
	uint64_t slab_reuse;          /* empty slab handed out again */
	uint64_t slab_class_changes;  /* ... of which for another class */
	uint64_t slab_purge;          /* slabs madvise'd away */
	uint64_t pages_purged;
	uint64_t refills;
	uint64_t pages_touched; /* all pages first touched by slabs */
	uint64_t large_mapped;  /* large spans mmap'd */
	uint64_t large_unmapped;
	uint64_t large_reused; /* served from the large cache */
	uint64_t large_live;   /* live large blocks */
	uint64_t large_live_bytes;
	uint64_t mapped_bytes; /* SuperSlabs + large spans mapped now */
	uint32_t nclasses;
	struct hak_class_stats classes[HAK_STATS_MAX_CLASSES];
};

/* Fills *out with a consistent-enough snapshot (counters are read
 * without stopping other threads). */
void hak_stats_get(struct hak_stats *out);

/* Prints the per-class table that HAKMEM_STATS=1 prints at exit. */
void hak_stats_print(int fd);

#ifdef __cplusplus
}
#endif
#endif
