#include "ptr_inspect.h"
#include "large.h"
#include "lock.h"
#include "os.h"
#include "pool.h"
#include "registry.h"

#include <string.h>

/* ---- per-block records (full mode) ---- */

struct hak_track_rec *hak_track_rec(struct hak_slab *s, long index)
{
	struct hak_track_rec *t = hak_track_table(s);
	return t ? &t[index] : NULL;
}

/* A slab formatted anew must not show its old blocks' stacks. */
void hak_track_slab_reset(struct hak_slab *s)
{
	if (s->track) hak_os_purge(s->track, hak_track_bytes(s));
}

void hak_track_slab_release(struct hak_slab *s)
{
	if (s->track) {
		hak_os_unmap(s->track, hak_track_bytes(s));
		s->track = NULL;
	}
}

/* ---- large spans freed lately, so a second free says double-free ---- */

#define RECENT_LARGE 64
static const void *recent_large[RECENT_LARGE];
static unsigned recent_next;
static hak_spin_t recent_lock;

void hak_recent_large_add(const void *p)
{
	hak_spin_lock(&recent_lock);
	recent_large[recent_next++ % RECENT_LARGE] = p;
	hak_spin_unlock(&recent_lock);
}

void hak_recent_large_fork_prepare(void)
{
	hak_spin_lock(&recent_lock);
}

void hak_recent_large_fork_parent(void)
{
	hak_spin_unlock(&recent_lock);
}

void hak_recent_large_fork_child(void)
{
	hak_spin_init(&recent_lock);
}

static int recent_large_has(const void *p)
{
	int hit = 0;
	hak_spin_lock(&recent_lock);
	for (unsigned i = 0; i < RECENT_LARGE; i++)
		hit |= recent_large[i] == p;
	hak_spin_unlock(&recent_lock);
	return hit;
}

/* ---- classification ---- */

static void inspect_large(void *p, struct hak_ptr_info *in)
{
	struct hak_large_hdr *h = hak_large_hdr(p);
	in->large = 1;
	in->found = h->tag;
	in->expected = HAK_HDR_LARGE;
	if (h->magic != HAK_LARGE_MAGIC || h->tag != HAK_HDR_LARGE)
		in->error = HAK_ERR_HEADER_CORRUPT;
	else
		in->usable = hak_large_usable(p);
}

/* The common case, a live slab block passed by its start, in fewer steps
 * than the general walk below (realloc, malloc_usable_size); the same
 * answer. 0 leaves everything else to the general walk, which says what
 * is wrong. The header is read only once the block is known carved. */
static inline int inspect_live_block(void *p, struct hak_ptr_info *in)
{
	unsigned kind = hak_registry_kind(p);
	if (HAK_UNLIKELY(!kind)) return 0;
	struct hak_superslab *ss;
	struct hak_slab *s = hak_addr_slab(p, kind, &ss);
	unsigned cls = s->cls;
	uint8_t *u = p, *data = hak_slab_data(ss, s);
	if (HAK_UNLIKELY(HAK_RELAXED_LOAD(s->state) == SLAB_FREE || cls >= HAK_NUM_CLASSES ||
	                 u < data))
		return 0;
	size_t off = (size_t)(u - data), idx = hak_slab_div(s, off);
	if (HAK_UNLIKELY(idx * s->stride != off || idx >= HAK_RELAXED_LOAD(s->carved))) return 0;
	uint8_t found = HAK_RELAXED_LOAD(u[-1]);
	if (HAK_UNLIKELY(found != hak_hdr_live(cls))) return 0;
	struct hak_track_rec *t = hak_check_level == HAK_CHECK_FULL ? hak_track_table(s) : NULL;
	*in = (struct hak_ptr_info){.cls = cls,
	                            .ss = ss,
	                            .slab = s,
	                            .index = (long)idx,
	                            .block = u,
	                            .usable = hak_class_usable(cls),
	                            .found = found,
	                            .expected = found,
	                            .rec = t ? &t[idx] : NULL};
	return 1;
}

/* Reads only memory that the registry or the large-span set vouches for. */
void hak_track_inspect(void *p, struct hak_ptr_info *in)
{
	if (inspect_live_block(p, in)) return;
	memset(in, 0, sizeof *in);
	in->index = -1;
	unsigned kind = hak_registry_kind(p);
	if (!kind) {
		if (hak_large_owns(p))
			inspect_large(p, in);
		else if (recent_large_has(p)) {
			in->large = 1;
			in->error = HAK_ERR_DOUBLE_FREE;
		} else
			in->error = HAK_ERR_FOREIGN_POINTER;
		return;
	}
	struct hak_superslab *ss;
	struct hak_slab *s = hak_addr_slab(p, kind, &ss);
	in->ss = ss;
	in->slab = s;
	unsigned cls = s->cls;
	if (HAK_RELAXED_LOAD(s->state) == SLAB_FREE || cls >= HAK_NUM_CLASSES) {
		in->error = HAK_ERR_INVALID_FREE;
		return;
	}
	in->cls = cls;
	in->expected = hak_hdr_live(cls);
	uint8_t *data = hak_slab_data(ss, s);
	uint8_t *u = p;
	if (u < data) {
		in->error = HAK_ERR_INVALID_FREE;
		return;
	}
	size_t idx = hak_slab_div(s, (size_t)(u - data));
	if (idx >= HAK_RELAXED_LOAD(s->carved)) {
		in->error = HAK_ERR_INVALID_FREE;
		return;
	}
	uint8_t *b = data + idx * s->stride;
	in->index = (long)idx;
	in->block = b;
	in->found = HAK_RELAXED_LOAD(b[-1]);
	if (b != u && !(HAK_RELAXED_LOAD(u[-1]) == HAK_HDR_ALIGNED && u - 16 >= b &&
	                *(uintptr_t *)(u - 16) == ((uintptr_t)b ^ HAK_ALIGNED_KEY))) {
		in->error = HAK_ERR_INTERIOR_FREE;
		/* The report names the block the pointer is inside of. */
		if (hak_check_level == HAK_CHECK_FULL) in->rec = hak_track_rec(s, (long)idx);
		return;
	}
	in->usable = (size_t)(b + hak_class_usable(cls) - u);
	if (hak_check_level == HAK_CHECK_FULL) in->rec = hak_track_rec(s, (long)idx);
	if (in->found == hak_hdr_freed(cls))
		in->error = HAK_ERR_DOUBLE_FREE;
	else if (in->found != in->expected)
		in->error = HAK_ERR_HEADER_CORRUPT;
}
