/* ptr_inspect: what a pointer handed to free or realloc is, found without
 * writing a byte (a live block of ours, a large span, or what is wrong
 * with it), and the per-block records full mode keeps beside each slab.
 * Below ptr_track, the quarantine and the reports, which all ask it, and
 * called by the slabs for their records: it calls none of them
 * (docs/architecture.md, "Module map"). Only the full library has it. */
#ifndef HAKMEM_PTR_INSPECT_H
#define HAKMEM_PTR_INSPECT_H

#include "check.h"
#include "superslab.h"

#include <stdatomic.h>

/* Full mode, one per block of a slab: who allocated it, who freed it. */
struct hak_track_rec {
	uint32_t requested;
	uint32_t alloc_stack;
	uint32_t free_stack; /* while live: enum hak_alloc_kind (check.h) */
	uint32_t state;      /* TRACK_* */
};

enum { TRACK_NONE = 0, TRACK_LIVE = 1, TRACK_FREED = 2 };

/* What a pointer is, as hak_track_inspect found it. */
struct hak_ptr_info {
	int error;    /* 0, or enum hak_error_kind */
	int large;    /* a large span rather than a slab block */
	unsigned cls; /* slab blocks */
	struct hak_superslab *ss;
	struct hak_slab *slab;
	long index;     /* block index in the slab */
	uint8_t *block; /* block start: differs from p for aligned pointers */
	size_t usable;  /* from p to the end of the block */
	uint8_t found, expected;
	struct hak_track_rec *rec; /* full mode, when known */
};

/* Classifies p without writing anything. */
HAK_INTERNAL void hak_track_inspect(void *p, struct hak_ptr_info *info);

/* Full mode: a slab's table of records (one per HAK_ALIGN bytes), mapped
 * by ptr_track the first time a block of the slab is handed out. */
static inline size_t hak_track_bytes(struct hak_slab *s)
{
	return (hak_ss_slab_size(hak_slab_ss(s)) / HAK_ALIGN) * sizeof(struct hak_track_rec);
}
static inline struct hak_track_rec *hak_track_table(struct hak_slab *s)
{
	return atomic_load_explicit((_Atomic(void *) *)&s->track, memory_order_acquire);
}
/* The record of block index in slab s, or NULL while the slab has none. */
HAK_INTERNAL struct hak_track_rec *hak_track_rec(struct hak_slab *s, long index);
/* A slab formatted anew must not show its old blocks' stacks (slab.c);
 * a SuperSlab unmapped takes its slabs' tables along (superslab.c). */
HAK_INTERNAL void hak_track_slab_reset(struct hak_slab *s);
HAK_INTERNAL void hak_track_slab_release(struct hak_slab *s);

/* Large spans freed lately (ptr_track adds them), so that a second free
 * of one says double free rather than foreign pointer. */
HAK_INTERNAL void hak_recent_large_add(const void *p);
HAK_INTERNAL void hak_recent_large_fork_prepare(void);
HAK_INTERNAL void hak_recent_large_fork_parent(void);
HAK_INTERNAL void hak_recent_large_fork_child(void);

#endif
