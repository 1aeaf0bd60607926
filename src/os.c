#include "os.h"
#include "asan_hooks.h"

#include <errno.h>
#include <sys/mman.h>
#include <time.h>

#if defined(HAKMEM_FAULT_INJECTION)
/* Test builds only (the hakmem-fault archive): HAKMEM_FAULT_MMAP=N[:K]
 * makes K mmap calls fail (default 1), starting with the N-th, so tests can
 * fail a refill, a SuperSlab map or a large span on purpose. */
#include "log.h"

#include <stdatomic.h>
#include <stdlib.h>

static atomic_long fault_calls;
static long fault_first = -1, fault_count;

void hak_fault_mmap_set(long first, long count)
{
	fault_first = first;
	fault_count = count;
	atomic_store(&fault_calls, 0);
}

static int fault_now(void)
{
	static int loaded;
	if (!loaded) {
		const char *v = getenv("HAKMEM_FAULT_MMAP");
		char *end;
		loaded = 1;
		if (v && *v) {
			long n = strtol(v, &end, 10), k = 1;
			if (*end == ':') k = strtol(end + 1, &end, 10);
			if (n > 0 && k > 0 && !*end) {
				hak_fault_mmap_set(n, k);
			} else {
				char quoted[256];
				hak_log_quote(quoted, sizeof quoted, v);
				hak_log("hakmem: ignoring HAKMEM_FAULT_MMAP=\"%s\": expected N or "
				        "N:K (fail K mmaps from the Nth, both >= 1); no fault is "
				        "injected\n",
				        quoted);
			}
		}
	}
	if (fault_first < 0) return 0;
	long call = atomic_fetch_add(&fault_calls, 1) + 1;
	return call >= fault_first && call < fault_first + fault_count;
}
#else
static inline int fault_now(void)
{
	return 0;
}
#endif

static void *map_raw(size_t size)
{
	if (fault_now()) {
		errno = ENOMEM;
		return NULL;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void *hak_os_map(size_t size)
{
	return map_raw(size);
}

/* Over-map by the alignment and trim both ends: two extra munmaps, once
 * per SuperSlab, buy a pointer-to-SuperSlab lookup that is a single mask. */
void *hak_os_map_aligned(size_t size, size_t align)
{
	if (size + align < size) {
		errno = ENOMEM;
		return NULL;
	}
	uint8_t *raw = map_raw(size + align);
	if (!raw) return NULL;
	uint8_t *p = (uint8_t *)hak_align_up((uintptr_t)raw, align);
	if (p > raw) munmap(raw, (size_t)(p - raw));
	size_t tail = (size_t)((raw + size + align) - (p + size));
	if (tail) munmap(p + size, tail);
	return p;
}

void hak_os_unmap(void *p, size_t size)
{
	if (p) {
		/* A later mapping at this address must not inherit our poison. */
		HAK_ASAN_UNPOISON(p, size);
		munmap(p, size);
	}
}

void hak_os_purge(void *p, size_t size)
{
	if (size) madvise(p, size, MADV_DONTNEED);
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

void hak_os_populate(void *p, size_t size)
{
	if (!size) return;
	/* Older kernels answer EINVAL: no harm, but a realloc that succeeds
	 * must not leave errno changed. */
	int saved = errno;
	madvise(p, size, MADV_POPULATE_WRITE);
	errno = saved;
}

uint64_t hak_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
