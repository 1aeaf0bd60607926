/* The allocator's only contact with the kernel's memory calls. */
#ifndef HAKMEM_OS_H
#define HAKMEM_OS_H

#include "config.h"

/* size-aligned mapping of size bytes (size a power of two); NULL on failure. */
HAK_INTERNAL void *hak_os_map_aligned(size_t size, size_t align);
HAK_INTERNAL void *hak_os_map(size_t size);
HAK_INTERNAL void hak_os_unmap(void *p, size_t size);
/* Gives pages back; they read as zero and fault again on next touch. */
HAK_INTERNAL void hak_os_purge(void *p, size_t size);
/* Faults pages in for writing, in one call: for pages about to be
 * written whole, which would otherwise fault one at a time. */
HAK_INTERNAL void hak_os_populate(void *p, size_t size);
HAK_INTERNAL uint64_t hak_now_ns(void);

#if defined(HAKMEM_FAULT_INJECTION)
/* Fail count mmap calls starting with the first-th from now (-1: off). */
HAK_INTERNAL void hak_fault_mmap_set(long first, long count);
#endif

#endif
