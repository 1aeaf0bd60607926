/* Force-included (-include) into tests/mt_stress.c, thread_churn.c, remote_reuse.c
 * and large_stress.c for the ThreadSanitizer build: under TSan the process's malloc is TSan's
 * own, so the tests call the hak_* API of a TSan-instrumented allocator
 * instead. Declarations are read with their real names first. */
#ifndef HAKMEM_TSAN_SHIM_H
#define HAKMEM_TSAN_SHIM_H
#include <malloc.h>
#include <stdlib.h>

#include "hakmem.h"

/* linked_check.h would insist that malloc lives in libhakmem.so. */
#define HAKMEM_TESTS_LINKED_CHECK_H
static inline void expect_hakmem_malloc(void) {}

#define malloc hak_malloc
#define free hak_free
#define calloc hak_calloc
#define realloc hak_realloc
#define posix_memalign hak_posix_memalign
#define memalign hak_memalign
#define aligned_alloc hak_aligned_alloc
#define malloc_usable_size hak_malloc_usable_size
#endif
