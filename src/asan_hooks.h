/* Manual poisoning for the AddressSanitizer flavour of libhakmem.a
 * (-DHAKMEM_ASAN=ON). The allocator itself is not instrumented, so it may
 * touch its own metadata in poisoned memory; the program linked against
 * it is, so its reads and writes outside a live block's requested bytes
 * are reported. Elsewhere these hooks compile to nothing. */
#ifndef HAKMEM_ASAN_HOOKS_H
#define HAKMEM_ASAN_HOOKS_H

#include <stddef.h>

#if defined(HAKMEM_ASAN)
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define HAK_ASAN_POISON(p, n) __asan_poison_memory_region((p), (n))
#define HAK_ASAN_UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define HAK_ASAN_POISON(p, n) ((void)(p), (void)(n))
#define HAK_ASAN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#endif
