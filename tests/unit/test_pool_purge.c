/* A slab that was purged once, reused, and then emptied together with
 * the rest of its SuperSlab. Its own program: when this goes wrong the
 * pool's lists are corrupt and nothing after it could be trusted. */
#include "pool_util.h"
#include "env.h"

#define CLS (HAK_TINY_CLASSES + 4)

static void purged_slab_emptied_with_its_superslab(void **state)
{
	(void)state;
	struct hak_pool *pl = &hak_pools[HAK_POOL_MID];
	void *h, *t;
	hak_env.purge_delay_ms = -1;

	struct hak_slab *a = acquire(CLS);
	struct hak_slab *b = acquire(CLS); /* keeps the SuperSlab in service */
	struct hak_superslab *ss = hak_slab_ss(a);
	assert_ptr_equal(hak_slab_ss(b), ss);

	/* a: used once, emptied, purged. */
	assert_int_equal(take(a, 1, &h, &t), 1);
	hak_pool_release(a);
	hak_pool_return_blocks(a, h, t, 1);
	assert_int_equal(a->state, SLAB_EMPTY);
	hak_pool_trim(1);
	assert_true(on_slab_list(&pl->empty_purged, a));
	check_pool_invariants(HAK_POOL_MID);

	/* a again, from the purged list; then both slabs empty out, a last. */
	assert_ptr_equal(acquire(CLS), a);
	hak_pool_release(b);
	assert_int_equal(b->state, SLAB_EMPTY);
	check_pool_invariants(HAK_POOL_MID);
	hak_pool_release(a);

	/* The SuperSlab is warm now and both its slabs are FREE slots; no
	 * pool list may still hold either of them. */
	assert_int_equal(ss->warm, 1);
	assert_int_equal(a->state, SLAB_FREE);
	/* Nothing else of this pool exists, so both empty lists must be void. */
	if (pl->empty.n || pl->empty.head || pl->empty.tail || pl->empty_purged.n ||
	    pl->empty_purged.head || pl->empty_purged.tail)
		fail_msg(
		    "empty lists corrupt after the SuperSlab went warm: empty {n=%u head=%p "
		    "tail=%p}, "
		    "empty_purged {n=%u head=%p tail=%p}, slabs a=%p b=%p. slab_to_empty() filed a "
		    "on "
		    "pl->empty, but a->purged is still 1 from the earlier purge, so ss_to_warm() "
		    "unlinked it from pl->empty_purged instead",
		    pl->empty.n, (void *)pl->empty.head, (void *)pl->empty.tail, pl->empty_purged.n,
		    (void *)pl->empty_purged.head, (void *)pl->empty_purged.tail, (void *)a,
		    (void *)b);
	check_pool_invariants(HAK_POOL_MID);

	/* And the consequence: one slab handed out twice. */
	struct hak_slab *x = acquire(CLS);
	struct hak_slab *y = acquire(CLS);
	assert_ptr_not_equal(x, y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(purged_slab_emptied_with_its_superslab),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
