/* Heap-error kinds, described once: the number a heap_error event carries
 * (`kind`) and the name both the allocator's report and the trace
 * analysis print. Plain C, <stdint.h> only, so trace/analysis includes it
 * too. */
#ifndef HAKMEM_ERROR_KINDS_H
#define HAKMEM_ERROR_KINDS_H

#include <stdint.h>

/* X(enumerator, number, name) */
#define HAK_ERROR_KINDS(X)                                                                         \
	X(HAK_ERR_DOUBLE_FREE, 1, "double-free")                                                   \
	X(HAK_ERR_INVALID_FREE, 2, "invalid-free")                                                 \
	X(HAK_ERR_INTERIOR_FREE, 3, "interior-free")                                               \
	X(HAK_ERR_HEADER_CORRUPT, 4, "header-corrupt")                                             \
	X(HAK_ERR_OVERFLOW, 5, "overflow")                                                         \
	X(HAK_ERR_USE_AFTER_FREE_WRITE, 6, "use-after-free-write")                                 \
	X(HAK_ERR_FOREIGN_POINTER, 7, "foreign-pointer")                                           \
	X(HAK_ERR_MISMATCHED_FREE, 8, "mismatched-free")

#define HAK_ERROR_KIND_ENUM(id, n, name) id = n,
enum hak_error_kind { HAK_ERROR_KINDS(HAK_ERROR_KIND_ENUM) };
#undef HAK_ERROR_KIND_ENUM

/* "unknown" for a number that names no kind (a corrupt or newer trace). */
static inline const char *hak_error_kind_name(uint32_t kind)
{
#define HAK_ERROR_KIND_NAME(id, n, name) [n] = name,
	static const char *const names[] = {HAK_ERROR_KINDS(HAK_ERROR_KIND_NAME)};
#undef HAK_ERROR_KIND_NAME
	return kind < sizeof names / sizeof names[0] && names[kind] ? names[kind] : "unknown";
}

#endif
