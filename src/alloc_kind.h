/* Full mode remembers how each block was allocated (malloc, new, new[];
 * enum hak_alloc_kind in check.h) and reports a release of the wrong kind:
 * free() of new[] memory, delete of malloc'd memory. */
#ifndef HAKMEM_ALLOC_KIND_H
#define HAKMEM_ALLOC_KIND_H

#include "ptr_track.h"

/* A live block p, just allocated by new or new[] (cxx_new.c). */
HAK_INTERNAL void hak_track_set_kind(void *p, unsigned kind);
/* p passed the free checks (in from hak_track_inspect) and is released as
 * how: reports mismatched-free when it was allocated another way. The
 * caller then frees it as usual (HAKMEM_ON_ERROR=report). */
HAK_INTERNAL void hak_track_check_kind(void *p, struct hak_ptr_info *in, unsigned how, void *ret);

/* The malloc family's paths for C++ new and delete (alloc.c, called from
 * cxx_new.c), with ret and frame taken at the program's call; kind says how
 * a released block must have been allocated. */
HAK_INTERNAL void *hak_malloc_from(size_t n, void *ret, void *frame);
HAK_INTERNAL void *hak_aligned_from(size_t align, size_t n, void *ret, void *frame);
HAK_INTERNAL void hak_free_from(void *p, unsigned kind, void *ret, void *frame);

#endif
