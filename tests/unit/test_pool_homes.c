/* Where fresh slabs come from (pool.c take_free_slot, superslab.c
 * ss_address): each thread cache carves in SuperSlabs of its own (its
 * homes), which go back to everyone when it exits; and a pool maps its
 * SuperSlabs a run at a time, 1, 2, 4, 8, then 16 at once. Driven with
 * stand-in owners on the Mid pool, which nothing here has used before. */
#include "pool_util.h"
#include "pool.h"
#include "superslab.h"

#include <sys/wait.h>
#include <unistd.h>

static char owner_a, owner_b, owner_c;

static unsigned mid_class(void)
{
	return HAK_TINY_CLASSES + 2;
}

static struct hak_slab *fresh(const void *owner)
{
	struct hak_slab *s = hak_pool_acquire(mid_class(), (void *)owner);
	assert_non_null(s);
	assert_ptr_equal(s->owner, owner);
	assert_int_equal(s->cls, mid_class());
	return s;
}

static struct hak_superslab *ss_of(struct hak_slab *s)
{
	return hak_slab_ss(s);
}

static void two_owners_carve_in_two_superslabs(void **state)
{
	(void)state;
	const size_t ss_size = (size_t)1 << HAK_SS_SHIFT_MID;
	const unsigned per_ss = 1u << (HAK_SS_SHIFT_MID - HAK_SLAB_SHIFT_MID);
	uint64_t mapped0 = stats_now().superslabs_mapped;

	/* The pool's first SuperSlab is mapped alone, and is a's. */
	struct hak_slab *a[2 * HAK_MAX_SLABS_PER_SS];
	a[0] = fresh(&owner_a);
	struct hak_superslab *home_a = ss_of(a[0]);
	assert_ptr_equal(home_a->home, &owner_a);
	assert_int_equal(stats_now().superslabs_mapped, mapped0 + 1);

	/* b gets none of a's free slots: a SuperSlab of its own. */
	struct hak_slab *b = fresh(&owner_b);
	struct hak_superslab *home_b = ss_of(b);
	assert_ptr_not_equal(home_b, home_a);
	assert_ptr_equal(home_b->home, &owner_b);
	assert_int_equal(stats_now().superslabs_mapped, mapped0 + 2);

	/* a's next fresh slabs fill its home first. */
	for (unsigned i = 1; i < per_ss; i++) {
		a[i] = fresh(&owner_a);
		assert_ptr_equal(ss_of(a[i]), home_a);
	}
	/* Full: the next SuperSlab is the other half of b's run of two,
	 * mapped with b's, right after it. */
	a[per_ss] = fresh(&owner_a);
	struct hak_superslab *next_a = ss_of(a[per_ss]);
	assert_ptr_equal((uint8_t *)next_a, (uint8_t *)home_b + ss_size);
	assert_ptr_equal(next_a->home, &owner_a);
	assert_int_equal(stats_now().superslabs_mapped, mapped0 + 3);

	/* a exits: its home with free slots is anyone's, and c takes it
	 * rather than map one. */
	hak_pool_forget_home(&owner_a);
	assert_null(next_a->home);
	struct hak_slab *c = fresh(&owner_c);
	assert_ptr_equal(ss_of(c), next_a);
	assert_ptr_equal(next_a->home, &owner_c);
	assert_int_equal(stats_now().superslabs_mapped, mapped0 + 3);
	/* b's home is still b's. */
	assert_ptr_equal(home_b->home, &owner_b);

	hak_pool_release(c);
	hak_pool_release(b);
	for (unsigned i = 0; i <= per_ss; i++)
		hak_pool_release(a[i]);
	hak_pool_forget_home(&owner_b);
	hak_pool_forget_home(&owner_c);
}

/* Runs double up to 16 SuperSlabs, each run one mapping: the SuperSlabs
 * of a run are adjacent, and a new run starts only when one is spent. */
static void superslabs_come_in_runs(void **state)
{
	(void)state;
	const size_t ss_size = (size_t)1 << HAK_SS_SHIFT_MID;
	const unsigned per_ss = 1u << (HAK_SS_SHIFT_MID - HAK_SLAB_SHIFT_MID);
	/* Runs so far: 1 and 2 (the test above). Take 4 + 8 + 16 more whole
	 * SuperSlabs, one owner each so none shares. */
	static char owners[28];
	static struct hak_slab *held[28][HAK_MAX_SLABS_PER_SS];
	struct hak_superslab *ss[28];
	for (unsigned k = 0; k < 28; k++) {
		for (unsigned i = 0; i < per_ss; i++)
			held[k][i] = fresh(&owners[k]);
		ss[k] = ss_of(held[k][0]);
		for (unsigned i = 1; i < per_ss; i++)
			assert_ptr_equal(ss_of(held[k][i]), ss[k]);
	}
	/* Within each run of 4, 8 and 16, one after another. The slabs let go
	 * above are taken first (empty, or their SuperSlab warm), so the new
	 * runs start a few SuperSlabs in: at most 3 + 7 + 15 pairs, and at
	 * least 20 (one SuperSlab mapped at a time, as before runs, the
	 * kernel places each below the last: none). */
	unsigned adjacent = 0;
	for (unsigned k = 1; k < 28; k++)
		if ((uint8_t *)ss[k] == (uint8_t *)ss[k - 1] + ss_size) adjacent++;
	print_message("%u of 27 SuperSlabs right after the one before\n", adjacent);
	assert_true(adjacent >= 20);
	for (unsigned k = 0; k < 28; k++) {
		for (unsigned i = 0; i < per_ss; i++)
			hak_pool_release(held[k][i]);
		hak_pool_forget_home(&owners[k]);
	}
}

/* In a fork's child only the forking thread lives on: every home is
 * anyone's there, and the parent's stay as they were. */
static void fork_child_forgets_homes(void **state)
{
	(void)state;
	struct hak_slab *a = fresh(&owner_a);
	struct hak_superslab *home = ss_of(a);
	assert_ptr_equal(home->home, &owner_a);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int homes = 0;
		for (struct hak_superslab *ss = hak_pools[HAK_POOL_MID].with_free; ss;
		     ss = ss->free_next)
			homes += ss->home != NULL;
		_exit(homes == 0 && home->home == NULL ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_ptr_equal(home->home, &owner_a);
	hak_pool_release(a);
	hak_pool_forget_home(&owner_a);
}

static int group_setup(void **state)
{
	(void)state;
	hak_free(hak_malloc(1));
	/* The Mid pool is untouched until here. */
	assert_null(hak_pools[HAK_POOL_MID].active.head);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(two_owners_carve_in_two_superslabs),
	    cmocka_unit_test(superslabs_come_in_runs),
	    cmocka_unit_test(fork_child_forgets_homes),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
