/* The slab of a pointer on the checked free paths (fast and full mode),
 * inline: the registry says which pool, and each pool's geometry is a
 * constant, so the slab's fields load while the registry is still read
 * (the branch is predicted), not after it. */
#ifndef HAKMEM_SLAB_LOOKUP_H
#define HAKMEM_SLAB_LOOKUP_H

#include "registry.h"
#include "superslab.h"

/* The slab holding p, and in *data the start of its blocks; NULL when no
 * registered SuperSlab holds p. */
static inline __attribute__((always_inline)) struct hak_slab *hak_ptr_slab(const void *p,
                                                                           uint8_t **data)
{
	unsigned kind = hak_registry_kind(p);
	struct hak_slab *s;
	if (HAK_LIKELY(kind == HAK_POOL_TINY + 1))
		s = hak_addr_slab_base(p, HAK_POOL_TINY + 1, data);
	else if (kind == HAK_POOL_MID + 1)
		s = hak_addr_slab_base(p, HAK_POOL_MID + 1, data);
	else if (kind == HAK_POOL_SMALLMID + 1)
		s = hak_addr_slab_base(p, HAK_POOL_SMALLMID + 1, data);
	else
		return NULL;
	*data += s->data_offset;
	return s;
}

/* As hak_ptr_slab, with in *off p's offset from the slab's block 0
 * (hak_addr_slab_off): fast mode's inline free. */
static inline __attribute__((always_inline)) struct hak_slab *hak_ptr_slab_off(const void *p,
                                                                               size_t *off)
{
	unsigned kind = hak_registry_kind(p);
	if (HAK_LIKELY(kind == HAK_POOL_TINY + 1))
		return hak_addr_slab_off(p, HAK_POOL_TINY + 1, off);
	if (kind == HAK_POOL_MID + 1) return hak_addr_slab_off(p, HAK_POOL_MID + 1, off);
	if (kind == HAK_POOL_SMALLMID + 1) return hak_addr_slab_off(p, HAK_POOL_SMALLMID + 1, off);
	return NULL;
}

#endif
