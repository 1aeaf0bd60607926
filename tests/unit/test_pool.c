/* The shared pool, driven directly: where acquire finds a slab, how
 * release files it, the warm cache, trimming and prewarm. Tests run in
 * order and each starts from the state the previous one left (checked
 * as a precondition). No thread cache is involved in this program. */
#include "pool_util.h"
#include "env.h"
#include "registry.h"

#define MID_CLS (HAK_TINY_CLASSES + 4)  /* stride 2576 */
#define MID_CLS2 (HAK_TINY_CLASSES + 6) /* stride 3600 */
#define TINY_CLS 13                     /* stride 528 */
#define PREWARM_CLS 4                   /* stride 80 */
#define RETURN_CLS 9                    /* stride 208 */
#define MID_SLABS (1u << (HAK_SS_SHIFT_MID - HAK_SLAB_SHIFT_MID))
#define TINY_SLAB_PAGES ((1u << HAK_SLAB_SHIFT_TINY) / HAK_PAGE)

static struct hak_pool *tiny = &hak_pools[HAK_POOL_TINY];
static struct hak_pool *mid = &hak_pools[HAK_POOL_MID];

static int setup(void **state)
{
	(void)state;
	/* Nothing is purged or unmapped behind the tests' backs, even when a
	 * failed test left other settings behind. */
	hak_env.purge_delay_ms = -1;
	hak_env.warm_superslabs = 4;
	return 0;
}

/* No slab in service: nothing active, nothing on partial or empty lists. */
static void assert_idle(struct hak_pool *pl)
{
	check_pool_invariants(pl->kind);
	assert_int_equal(pl->active.n, 0);
	assert_int_equal(pl->empty.n + pl->empty_purged.n, 0);
	for (unsigned c = 0; c < pl->class_count; c++)
		assert_int_equal(pl->partial[c].n, 0);
}

/* partial, then empty, then a free slot, then a warm SuperSlab, then mmap. */
static void acquire_order(void **state)
{
	(void)state;
	struct hak_slab *all[4 * MID_SLABS];
	unsigned nall = 0;
	void *h0, *t0, *h1, *t1;

	assert_idle(mid);
	struct hak_stats st0 = stats_now();
	struct hak_slab *s0 = acquire(MID_CLS);
	struct hak_superslab *ss1 = hak_slab_ss(s0);
	assert_int_equal(stats_now().superslabs_mapped, st0.superslabs_mapped + 1);
	assert_int_equal(s0->index, 0);
	struct hak_slab *s1 = acquire(MID_CLS);
	assert_ptr_equal(hak_slab_ss(s1), ss1); /* the free slot next door */
	assert_int_equal(s1->index, 1);
	assert_int_equal(stats_now().superslabs_mapped, st0.superslabs_mapped + 1);

	/* s0 partial (2 blocks out), s1 empty (its one block came back). */
	assert_int_equal(take(s0, 2, &h0, &t0), 2);
	hak_pool_release(s0);
	assert_int_equal(s0->state, SLAB_PARTIAL);
	assert_true(on_slab_list(&mid->partial[MID_CLS - HAK_TINY_CLASSES], s0));
	assert_int_equal(take(s1, 1, &h1, &t1), 1);
	hak_pool_release(s1);
	assert_int_equal(s1->state, SLAB_PARTIAL);
	hak_pool_return_blocks(s1, h1, t1, 1);
	assert_int_equal(s1->state, SLAB_EMPTY);
	assert_true(on_slab_list(&mid->empty, s1));
	assert_int_equal(stats_now().slab_empty, st0.slab_empty + 1);
	check_pool_invariants(HAK_POOL_MID);

	/* Partial before empty. */
	assert_ptr_equal(acquire(MID_CLS), s0);
	assert_int_equal(stats_now().slab_reuse, st0.slab_reuse);
	/* Empty before a free slot (six are free in ss1). */
	assert_ptr_equal(acquire(MID_CLS), s1);
	struct hak_stats st = stats_now();
	assert_int_equal(st.slab_reuse, st0.slab_reuse + 1);
	assert_int_equal(st.slab_class_changes, st0.slab_class_changes);

	/* An empty slab serves another class too, re-formatted. */
	hak_pool_release(s1);
	assert_int_equal(s1->state, SLAB_EMPTY);
	assert_ptr_equal(acquire(MID_CLS2), s1);
	st = stats_now();
	assert_int_equal(st.slab_reuse, st0.slab_reuse + 2);
	assert_int_equal(st.slab_class_changes, st0.slab_class_changes + 1);
	assert_int_equal(s1->stride, hak_class_stride[MID_CLS2]);
	assert_int_equal(s1->capacity,
	                 ((1u << HAK_SLAB_SHIFT_MID) - HAK_ALIGN) / hak_class_stride[MID_CLS2]);
	assert_int_equal(s1->carved, 0);
	all[nall++] = s0;
	all[nall++] = s1;

	/* The other six free slots of ss1, in order, without a new mapping. */
	for (unsigned i = 2; i < MID_SLABS; i++) {
		struct hak_slab *s = acquire(MID_CLS);
		assert_ptr_equal(hak_slab_ss(s), ss1);
		assert_int_equal(s->index, i);
		all[nall++] = s;
	}
	assert_int_equal(stats_now().superslabs_mapped, st0.superslabs_mapped + 1);
	assert_int_equal(ss1->free_slots, 0);

	/* ss2 filled, then one slab of ss3; then ss2 empties wholly: warm. */
	struct hak_slab *ss2_slabs[MID_SLABS];
	for (unsigned i = 0; i < MID_SLABS; i++)
		ss2_slabs[i] = acquire(MID_CLS);
	struct hak_superslab *ss2 = hak_slab_ss(ss2_slabs[0]);
	assert_ptr_not_equal(ss2, ss1);
	struct hak_slab *c0 = acquire(MID_CLS);
	struct hak_superslab *ss3 = hak_slab_ss(c0);
	assert_ptr_not_equal(ss3, ss2);
	all[nall++] = c0;
	assert_int_equal(stats_now().superslabs_mapped, st0.superslabs_mapped + 3);
	for (unsigned i = 0; i < MID_SLABS; i++)
		hak_pool_release(ss2_slabs[i]);
	st = stats_now();
	assert_int_equal(st.superslabs_warm, st0.superslabs_warm + 1);
	assert_int_equal(ss2->warm, 1);
	assert_true(ss_on_list(&mid->warm, ss2));
	for (unsigned i = 0; i < MID_SLABS; i++)
		assert_int_equal(ss2->slabs[i].state, SLAB_FREE);
	check_pool_invariants(HAK_POOL_MID);

	/* A free slot (in ss3) before the warm SuperSlab. */
	for (unsigned i = 1; i < MID_SLABS; i++) {
		struct hak_slab *s = acquire(MID_CLS);
		assert_ptr_equal(hak_slab_ss(s), ss3);
		all[nall++] = s;
	}
	assert_int_equal(stats_now().superslabs_reused, st0.superslabs_reused);

	/* The warm SuperSlab before a new mapping. */
	struct hak_slab *e = acquire(MID_CLS);
	assert_ptr_equal(hak_slab_ss(e), ss2);
	all[nall++] = e;
	st = stats_now();
	assert_int_equal(st.superslabs_reused, st0.superslabs_reused + 1);
	assert_int_equal(st.superslabs_mapped, st0.superslabs_mapped + 3);
	assert_int_equal(st.superslabs_warm, st0.superslabs_warm);
	assert_int_equal(ss2->warm, 0);
	for (unsigned i = 1; i < MID_SLABS; i++)
		all[nall++] = acquire(MID_CLS);

	/* Nothing left anywhere: mmap. */
	struct hak_slab *f = acquire(MID_CLS);
	assert_true(hak_slab_ss(f) != ss1 && hak_slab_ss(f) != ss2 && hak_slab_ss(f) != ss3);
	all[nall++] = f;
	st = stats_now();
	assert_int_equal(st.superslabs_mapped, st0.superslabs_mapped + 4);
	assert_int_equal(st.superslabs_live, st0.superslabs_live + 4);
	assert_int_equal(st.mapped_bytes, st0.mapped_bytes + 4 * ((size_t)1 << HAK_SS_SHIFT_MID));
	assert_int_equal(st.classes[MID_CLS].slabs_live, 3 * MID_SLABS);
	assert_int_equal(st.classes[MID_CLS2].slabs_live, 1);
	assert_int_equal(st.classes[MID_CLS].blocks_held, 2);
	check_pool_invariants(HAK_POOL_MID);

	/* Give everything back: four warm SuperSlabs. */
	for (unsigned i = 0; i < nall; i++)
		hak_pool_release(all[i]);
	hak_pool_return_blocks(s0, h0, t0, 2);
	st = stats_now();
	assert_int_equal(mid->warm.n, 4);
	assert_int_equal(st.superslabs_warm, st0.superslabs_warm + 4);
	assert_int_equal(st.classes[MID_CLS].blocks_held, 0);
	assert_int_equal(st.classes[MID_CLS].slabs_live, 0);
	assert_idle(mid);
}

/* Released slabs are filed by their counts: nothing out -> empty, free
 * blocks left -> partial, else full (on no list) until a free. */
static void release_classification(void **state)
{
	(void)state;
	struct hak_slab_list *partial = &tiny->partial[TINY_CLS];
	void *h, *t, *h2, *t2;

	assert_idle(tiny);
	struct hak_stats st0 = stats_now();
	struct hak_slab *keep = acquire(TINY_CLS); /* keeps the SuperSlab in service */
	struct hak_slab *s = acquire(TINY_CLS);
	uint32_t cap = s->capacity;
	assert_int_equal(take(s, cap + 5, &h, &t), cap);
	assert_int_equal(stats_now().classes[TINY_CLS].blocks_held, cap);

	hak_pool_release(s);
	assert_int_equal(s->state, SLAB_FULL);
	assert_null(s->owner);
	assert_false(on_slab_list(partial, s));
	assert_false(on_slab_list(&tiny->empty, s));
	check_pool_invariants(HAK_POOL_TINY);

	/* One block back: partial. */
	void *rest = hak_block_next(h);
	hak_pool_return_blocks(s, h, h, 1);
	assert_int_equal(s->state, SLAB_PARTIAL);
	assert_int_equal(s->used, cap - 1);
	assert_true(on_slab_list(partial, s));
	/* The rest: empty. */
	hak_pool_return_blocks(s, rest, t, cap - 1);
	assert_int_equal(s->state, SLAB_EMPTY);
	assert_int_equal(s->used, 0);
	assert_false(on_slab_list(partial, s));
	assert_true(on_slab_list(&tiny->empty, s));
	struct hak_stats st = stats_now();
	assert_int_equal(st.slab_empty, st0.slab_empty + 1);
	assert_int_equal(st.classes[TINY_CLS].blocks_held, 0);
	check_pool_invariants(HAK_POOL_TINY);

	/* An owned slab stays put whatever comes back to it: the blocks wait
	 * on its remote list, still counted out, until the owner looks. */
	assert_ptr_equal(acquire(TINY_CLS), s);
	assert_int_equal(take(s, 3, &h2, &t2), 3);
	hak_pool_return_blocks(s, h2, t2, 3);
	assert_int_equal(s->state, SLAB_OWNED);
	assert_int_equal(s->used, 3);
	assert_ptr_equal(HAK_REMOTE_HEAD(s->remote), h2);
	assert_int_equal(HAK_REMOTE_COUNT(s->remote), 3);
	/* Released with nothing out (the close takes the list): empty. */
	hak_pool_release(s);
	assert_int_equal(s->remote, 0);
	assert_int_equal(s->state, SLAB_EMPTY);
	/* Released with free blocks and some out: partial. */
	assert_ptr_equal(acquire(TINY_CLS), s);
	assert_int_equal(take(s, 1, &h2, &t2), 1);
	hak_pool_release(s);
	assert_int_equal(s->state, SLAB_PARTIAL);
	assert_true(on_slab_list(partial, s));
	hak_pool_return_blocks(s, h2, t2, 1);
	assert_int_equal(s->state, SLAB_EMPTY);
	check_pool_invariants(HAK_POOL_TINY);

	/* Last slab in use goes: the SuperSlab goes warm, its slabs FREE. */
	struct hak_superslab *ss = hak_slab_ss(keep);
	hak_pool_release(keep);
	assert_int_equal(ss->warm, 1);
	assert_int_equal(keep->state, SLAB_FREE);
	assert_int_equal(s->state, SLAB_FREE);
	assert_int_equal(stats_now().superslabs_warm, st0.superslabs_warm + 1);
	assert_idle(tiny);
}

/* A warm SuperSlab comes back with its pages: carving the same blocks
 * again faults nothing in. */
static void warm_superslab_reused_with_its_pages(void **state)
{
	(void)state;
	void *h, *t;
	assert_idle(tiny);
	assert_int_equal(tiny->warm.n, 1);
	struct hak_superslab *wss = tiny->warm.tail;
	uint32_t touched1 = wss->slabs[1].touched_pages;
	assert_int_equal(touched1, TINY_SLAB_PAGES); /* carved wholly above */
	struct hak_stats st0 = stats_now();

	struct hak_slab *a = acquire(TINY_CLS);
	struct hak_slab *b = acquire(TINY_CLS);
	assert_ptr_equal(hak_slab_ss(a), wss);
	assert_int_equal(a->index, 0);
	assert_int_equal(b->index, 1);
	struct hak_stats st = stats_now();
	assert_int_equal(st.superslabs_reused, st0.superslabs_reused + 1);
	assert_int_equal(st.superslabs_mapped, st0.superslabs_mapped);
	assert_int_equal(st.superslabs_warm, st0.superslabs_warm - 1);
	assert_int_equal(wss->warm, 0);
	assert_true(ss_on_list(&tiny->active, wss));

	/* Fresh format (carved 0), but the pages are still counted and resident. */
	assert_int_equal(b->carved, 0);
	assert_int_equal(b->touched_pages, touched1);
	struct hak_take tk;
	hak_spin_lock(&b->lock);
	hak_slab_take(wss, b, b->capacity, &h, &t, &tk);
	hak_spin_unlock(&b->lock);
	assert_int_equal(tk.got, b->capacity);
	assert_int_equal(tk.new_pages, 0);
	assert_int_equal(resident_pages(hak_slab_base(wss, b), hak_ss_slab_size(wss)),
	                 TINY_SLAB_PAGES);

	hak_pool_release(b);
	hak_pool_return_blocks(b, h, t, tk.got);
	hak_pool_release(a);
	assert_int_equal(wss->warm, 1);
	assert_idle(tiny);
}

/* Warm SuperSlabs past HAKMEM_WARM_SUPERSLABS are unmapped once the
 * purge delay has passed; the ones kept are purged. */
static void trim_purges_and_unmaps_warm(void **state)
{
	(void)state;
	assert_idle(mid);
	assert_idle(tiny);
	assert_int_equal(mid->warm.n, 4);
	assert_int_equal(tiny->warm.n, 1);
	struct hak_superslab *mid_ss[4];
	unsigned i = 0;
	for (struct hak_superslab *ss = mid->warm.head; ss; ss = ss->next)
		mid_ss[i++] = ss;
	struct hak_superslab *tiny_ss = tiny->warm.head;
	/* What purging the two survivors gives back: every touched page but
	 * the header page. The newest Mid one survives. */
	uint64_t expect_pages = 0;
	for (struct hak_superslab **pp = (struct hak_superslab *[]){tiny_ss, mid_ss[3], NULL}; *pp;
	     pp++)
		for (i = 0; i < (*pp)->nslabs; i++)
			expect_pages += (*pp)->slabs[i].touched_pages - (i == 0);
	assert_true(expect_pages >= TINY_SLAB_PAGES); /* slab 1 of tiny_ss was carved wholly */
	struct hak_stats st0 = stats_now();

	/* Never purge; then a delay that has not passed: nothing moves. */
	hak_env.purge_delay_ms = -1;
	hak_pool_trim(0);
	hak_env.purge_delay_ms = 3600000;
	hak_pool_trim(0);
	struct hak_stats st = stats_now();
	assert_int_equal(st.superslabs_unmapped, st0.superslabs_unmapped);
	assert_int_equal(st.slab_purge, st0.slab_purge);
	assert_int_equal(mid->warm.n, 4);

	/* Delay 0, keep one per pool: three Mid ones go, the rest are purged. */
	unsigned saved_warm = hak_env.warm_superslabs;
	hak_env.purge_delay_ms = 0;
	hak_env.warm_superslabs = 1;
	hak_pool_trim(0);
	st = stats_now();
	assert_int_equal(st.superslabs_unmapped, st0.superslabs_unmapped + 3);
	assert_int_equal(st.superslabs_live, st0.superslabs_live - 3);
	assert_int_equal(st.superslabs_warm, st0.superslabs_warm - 3);
	assert_int_equal(st.mapped_bytes, st0.mapped_bytes - 3 * ((size_t)1 << HAK_SS_SHIFT_MID));
	assert_int_equal(st.slab_purge, st0.slab_purge + 2);
	assert_int_equal(st.pages_purged, st0.pages_purged + expect_pages);
	assert_int_equal(mid->warm.n, 0);
	assert_int_equal(mid->warm_purged.n, 1);
	assert_int_equal(tiny->warm_purged.n, 1);
	unsigned still = 0;
	for (i = 0; i < 4; i++) {
		unsigned kind = hak_registry_kind(mid_ss[i]);
		if (mid_ss[i] == mid->warm_purged.head)
			assert_int_equal(kind, HAK_POOL_MID + 1), still++;
		else
			assert_int_equal(kind, 0);
	}
	assert_int_equal(still, 1);
	/* The oldest go first; the newest (hottest) one stays. */
	assert_ptr_equal(mid->warm_purged.head, mid_ss[3]);
	/* Purged: nothing resident but the header page. */
	assert_int_equal(resident_pages(tiny_ss, 2 * hak_ss_slab_size(tiny_ss)), 1);
	assert_int_equal(tiny_ss->slabs[1].touched_pages, 0);
	check_pool_invariants(HAK_POOL_MID);
	check_pool_invariants(HAK_POOL_TINY);

	/* force with no warm cache: everything goes. */
	hak_env.warm_superslabs = 0;
	hak_pool_trim(1);
	st = stats_now();
	assert_int_equal(st.superslabs_unmapped, st0.superslabs_unmapped + 5);
	assert_int_equal(st.superslabs_live, 0);
	assert_int_equal(st.superslabs_warm, 0);
	assert_int_equal(hak_registry_kind(tiny_ss), 0);
	assert_int_equal(mid->warm_purged.n + tiny->warm_purged.n, 0);

	hak_env.warm_superslabs = saved_warm;
	hak_env.purge_delay_ms = -1;
}

/* An empty slab sitting past the delay is purged; it is handed out again
 * before any fresh slot, and its next carve reports refaults. */
static void empty_slab_purged_then_reused(void **state)
{
	(void)state;
	void *h, *t;
	assert_idle(mid);
	struct hak_slab *keep = acquire(MID_CLS);
	struct hak_slab *s = acquire(MID_CLS);
	struct hak_superslab *ss = hak_slab_ss(s);
	madvise(ss, ss->size, MADV_NOHUGEPAGE);
	assert_int_equal(take(s, 50, &h, &t), 50);
	for (void *p = h;; p = hak_block_next(p)) {
		memset((uint8_t *)p + sizeof(void *), 0x33,
		       hak_class_usable(MID_CLS) - sizeof(void *));
		if (p == t) break;
	}
	uint32_t touched = s->touched_pages;
	assert_int_equal(touched,
	                 (HAK_ALIGN + 50 * hak_class_stride[MID_CLS] + HAK_PAGE - 1) / HAK_PAGE);
	assert_int_equal(resident_pages(hak_slab_base(ss, s), hak_ss_slab_size(ss)), touched);
	hak_pool_release(s);
	hak_pool_return_blocks(s, h, t, 50);
	assert_int_equal(s->state, SLAB_EMPTY);

	struct hak_stats st0 = stats_now();
	hak_env.purge_delay_ms = 0;
	hak_pool_trim(0);
	hak_env.purge_delay_ms = -1;
	struct hak_stats st = stats_now();
	assert_int_equal(st.slab_purge, st0.slab_purge + 1);
	assert_int_equal(st.pages_purged, st0.pages_purged + touched);
	assert_true(on_slab_list(&mid->empty_purged, s));
	assert_false(on_slab_list(&mid->empty, s));
	assert_int_equal(s->purged, 1);
	assert_int_equal(s->touched_pages, 0);
	assert_int_equal(s->carved, 0);
	assert_null(s->freelist);
	assert_int_equal(resident_pages(hak_slab_base(ss, s), hak_ss_slab_size(ss)), 0);
	assert_int_equal(ss->warm, 0); /* keep is still in service */
	check_pool_invariants(HAK_POOL_MID);

	/* Purged empty slab before the six free slots. */
	assert_ptr_equal(acquire(MID_CLS), s);
	struct hak_take tk;
	hak_spin_lock(&s->lock);
	hak_slab_take(ss, s, 1, &h, &t, &tk);
	hak_spin_unlock(&s->lock);
	assert_int_equal(tk.got, 1);
	assert_int_equal(tk.new_pages, 1);
	assert_int_equal(tk.refault, 1);
	assert_int_equal(stats_now().slab_reuse, st0.slab_reuse + 1);
	/* keep and s stay owned: emptying a once-purged slab together with its
	 * SuperSlab is test_pool_purge's business. */
	(void)keep;
}

/* The Small-Mid pool hands out slabs of 1 MiB SuperSlabs, 16 to each,
 * whether or not HAKMEM_SMALLMID routes requests to it. */
static void smallmid_pool(void **state)
{
	(void)state;
	struct hak_pool *sm = &hak_pools[HAK_POOL_SMALLMID];
	const unsigned c = HAK_SMALLMID_FIRST + 2;
	assert_idle(sm);
	struct hak_stats st0 = stats_now();
	struct hak_slab *s[17];
	for (unsigned i = 0; i < 17; i++)
		s[i] = acquire(c);
	struct hak_superslab *ss = hak_slab_ss(s[0]);
	assert_int_equal(ss->size, (size_t)1 << HAK_SS_SHIFT_SMALLMID);
	assert_int_equal(ss->nslabs, 16);
	assert_int_equal(hak_registry_kind(ss), HAK_POOL_SMALLMID + 1);
	for (unsigned i = 0; i < 16; i++)
		assert_ptr_equal(hak_slab_ss(s[i]), ss);
	assert_ptr_not_equal(hak_slab_ss(s[16]), ss); /* the 17th needs a second one */
	assert_int_equal(s[0]->capacity,
	                 ((1u << HAK_SLAB_SHIFT_SMALLMID) - HAK_PAGE) / hak_class_stride[c]);
	assert_int_equal(stats_now().superslabs_mapped, st0.superslabs_mapped + 2);
	void *h, *t;
	assert_int_equal(take(s[3], 5, &h, &t), 5);
	assert_int_equal(((uint8_t *)h)[-1] & 0xb0, 0xb0); /* Small-Mid header family */
	check_pool_invariants(HAK_POOL_SMALLMID);
	for (unsigned i = 0; i < 17; i++)
		hak_pool_release(s[i]);
	hak_pool_return_blocks(s[3], h, t, 5);
	assert_int_equal(sm->warm.n, 2);
	assert_idle(sm);
}

/* Prewarm maps, formats and faults in the slabs it is asked for, and
 * leaves them on the class's partial list for the first refills. */
static void prewarm_leaves_faulted_slabs_on_partial(void **state)
{
	(void)state;
	struct hak_slab_list *partial = &tiny->partial[PREWARM_CLS];
	assert_int_equal(partial->n, 0);
	struct hak_stats st0 = stats_now();

	uint64_t pages = 0;
	assert_int_equal(hak_pool_prewarm(PREWARM_CLS, 3, &pages), 3);
	check_pool_invariants(HAK_POOL_TINY);
	/* Three distinct slabs, not one slab prewarmed three times. */
	if (partial->n != 3)
		fail_msg(
		    "hak_pool_prewarm(cls, 3) left %u slab(s) on the partial list, expected 3: "
		    "each round's pool_find_slab takes back the slab the previous round prewarmed",
		    partial->n);
	for (struct hak_slab *s = partial->head; s; s = s->next) {
		assert_int_equal(s->state, SLAB_PARTIAL);
		assert_null(s->owner);
		assert_int_equal(s->used, 0);
		assert_int_equal(s->touched_pages, TINY_SLAB_PAGES);
		assert_int_equal(s->purged, 0);
		struct hak_superslab *ss = hak_slab_ss(s);
		assert_int_equal(resident_pages(hak_slab_base(ss, s), hak_ss_slab_size(ss)),
		                 TINY_SLAB_PAGES);
	}
	struct hak_stats st = stats_now();
	assert_int_equal(st.superslabs_mapped, st0.superslabs_mapped + 1);
	/* The header page at mmap, then every page of the three slabs but the
	 * one slab 0 shares with the header. */
	assert_int_equal(st.pages_touched, st0.pages_touched + 3 * TINY_SLAB_PAGES);
	/* What hakmem:prewarm reports: all but the header page, the map's. */
	assert_int_equal(pages, 3 * TINY_SLAB_PAGES - 1);
	assert_int_equal(st.classes[PREWARM_CLS].slabs_live, 3);

	/* The first acquire takes one of them, and carving faults nothing. */
	struct hak_slab *s = acquire(PREWARM_CLS);
	assert_int_equal(s->touched_pages, TINY_SLAB_PAGES);
	void *h, *t;
	struct hak_take tk;
	hak_spin_lock(&s->lock);
	hak_slab_take(hak_slab_ss(s), s, 16, &h, &t, &tk);
	hak_spin_unlock(&s->lock);
	assert_int_equal(tk.got, 16);
	assert_int_equal(tk.new_pages, 0);
	assert_int_equal(partial->n, 2);
}

/* Freed blocks before fresh space: a slab filed with freed blocks goes to
 * the tail of its partial list, counted in with_returned; one let go with
 * only uncarved space goes to the head, so acquire takes it last. */
static void returned_blocks_before_fresh_space(void **state)
{
	(void)state;
	struct hak_slab_list *partial = &tiny->partial[RETURN_CLS];
	void *ha, *ta, *hb, *tb, *h, *t;
	struct hak_take tk;
	assert_int_equal(partial->n, 0);
	assert_false(hak_pool_has_returned(RETURN_CLS));

	/* a: carved out and let go (full); b: current, two blocks carved. */
	struct hak_slab *a = acquire(RETURN_CLS);
	uint32_t cap = a->capacity;
	assert_int_equal(take(a, cap, &ha, &ta), cap);
	hak_pool_release(a);
	assert_int_equal(a->state, SLAB_FULL);
	struct hak_slab *b = acquire(RETURN_CLS);
	assert_int_equal(take(b, 2, &hb, &tb), 2);

	/* Two of a's blocks come back, as another thread's flush would. */
	void *second = hak_block_next(ha), *rest = hak_block_next(second);
	hak_pool_return_blocks(a, ha, second, 2);
	assert_int_equal(a->state, SLAB_PARTIAL);
	assert_ptr_equal(partial->tail, a);
	assert_true(hak_pool_has_returned(RETURN_CLS));
	check_pool_invariants(HAK_POOL_TINY);

	/* b's freelist is empty, and the refill would not carve it now. */
	hak_spin_lock(&b->lock);
	hak_slab_take_ex(hak_slab_ss(b), b, 4, !hak_pool_has_returned(RETURN_CLS), &h, &t, &tk);
	hak_spin_unlock(&b->lock);
	assert_int_equal(tk.got, 0);
	assert_int_equal(b->carved, 2);
	hak_pool_release(b);
	assert_int_equal(b->state, SLAB_PARTIAL);
	assert_ptr_equal(partial->head, b);
	assert_ptr_equal(partial->tail, a);
	assert_int_equal(atomic_load(&tiny->with_returned[RETURN_CLS]), 1);
	check_pool_invariants(HAK_POOL_TINY);

	/* The freed blocks first, then the fresh space. */
	assert_ptr_equal(acquire(RETURN_CLS), a);
	assert_false(hak_pool_has_returned(RETURN_CLS));
	assert_int_equal(take(a, 4, &h, &t), 2);
	assert_ptr_equal(acquire(RETURN_CLS), b);
	check_pool_invariants(HAK_POOL_TINY);

	/* Everything back: both empty, nothing counted. */
	hak_pool_release(b);
	hak_pool_return_blocks(b, hb, tb, 2);
	assert_int_equal(b->state, SLAB_EMPTY);
	hak_pool_release(a);
	hak_pool_return_blocks(a, h, t, 2);
	assert_int_equal(atomic_load(&tiny->with_returned[RETURN_CLS]), 1);
	hak_pool_return_blocks(a, rest, ta, cap - 2);
	assert_int_equal(a->state, SLAB_EMPTY);
	assert_int_equal(partial->n, 0);
	assert_false(hak_pool_has_returned(RETURN_CLS));
	check_pool_invariants(HAK_POOL_TINY);
}

/* A slab let go with only fresh space sits at the head; blocks freed into
 * it afterwards (an exited owner's, say) move it to the tail and count it
 * in with_returned, so refills take them before they carve. */
static void fresh_only_slab_freed_into_moves_to_tail(void **state)
{
	(void)state;
	struct hak_slab_list *partial = &tiny->partial[RETURN_CLS];
	void *ha, *ta, *hb, *tb;
	hak_pool_trim(1); /* the empty slabs earlier tests left are purged: no freelist */
	struct hak_slab *a = acquire(RETURN_CLS);
	assert_int_equal(take(a, 2, &ha, &ta), 2);
	struct hak_slab *b = acquire(RETURN_CLS);
	assert_int_equal(take(b, 3, &hb, &tb), 3);
	void *second = hak_block_next(hb);
	hak_pool_release(a);
	hak_pool_release(b);
	assert_ptr_equal(partial->head, b);
	assert_ptr_equal(partial->tail, a);
	assert_false(hak_pool_has_returned(RETURN_CLS));

	hak_pool_return_blocks(b, hb, hb, 1);
	assert_int_equal(b->state, SLAB_PARTIAL);
	assert_ptr_equal(partial->tail, b);
	assert_int_equal(atomic_load(&tiny->with_returned[RETURN_CLS]), 1);
	check_pool_invariants(HAK_POOL_TINY);
	/* a second block does not file it again */
	hak_pool_return_blocks(b, second, second, 1);
	assert_int_equal(atomic_load(&tiny->with_returned[RETURN_CLS]), 1);
	assert_ptr_equal(partial->tail, b);
	assert_int_equal(partial->n, 2);
	hak_pool_return_blocks(b, tb, tb, 1);
	assert_int_equal(b->state, SLAB_EMPTY);
	assert_false(hak_pool_has_returned(RETURN_CLS));

	assert_ptr_equal(acquire(RETURN_CLS), a);
	hak_pool_release(a);
	hak_pool_return_blocks(a, ha, ta, 2);
	assert_int_equal(a->state, SLAB_EMPTY);
	assert_int_equal(partial->n, 0);
	check_pool_invariants(HAK_POOL_TINY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(acquire_order, setup),
	    cmocka_unit_test_setup(release_classification, setup),
	    cmocka_unit_test_setup(warm_superslab_reused_with_its_pages, setup),
	    cmocka_unit_test_setup(trim_purges_and_unmaps_warm, setup),
	    cmocka_unit_test_setup(empty_slab_purged_then_reused, setup),
	    cmocka_unit_test_setup(smallmid_pool, setup),
	    cmocka_unit_test_setup(prewarm_leaves_faulted_slabs_on_partial, setup),
	    cmocka_unit_test_setup(returned_blocks_before_fresh_space, setup),
	    cmocka_unit_test_setup(fresh_only_slab_freed_into_moves_to_tail, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
