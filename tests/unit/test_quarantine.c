/* Quarantine: bounded by HAKMEM_QUARANTINE_KB and by its slot count, first
 * in first out, blocks leaving in batches down to 15/16 of the bound (in
 * full mode into per-class stashes), and drained completely at thread
 * exit. */
#include "unit.h"

#include "env.h"
#include "quarantine.h"

static struct hak_quarantined q(uintptr_t addr, uint32_t bytes)
{
	return (struct hak_quarantined){.block = (void *)addr, .cls = 3, .bytes = bytes};
}

static void drain_all(void)
{
	struct hak_quarantined out[64];
	while (hak_quarantine_drain(out, 64))
		;
}

static void byte_bound_holds_fifo(void **state)
{
	(void)state;
	drain_all();
	hak_env.quarantine_kb = 1; /* 1024 bytes */
	struct hak_quarantined out[8];
	for (uintptr_t i = 0; i < 16; i++)
		assert_int_equal(hak_quarantine_push(q(0x1000 + i * 16, 64), out, 8), 0);
	assert_int_equal(hak_quarantine_bytes(), 1024);
	/* The 17th is over the bound: the oldest leave, down to 15/16 of it
	 * (960 bytes with the new block), oldest first. */
	assert_int_equal(hak_quarantine_push(q(0x9000, 64), out, 8), 2);
	assert_ptr_equal(out[0].block, (void *)0x1000);
	assert_ptr_equal(out[1].block, (void *)0x1010);
	assert_int_equal(hak_quarantine_bytes(), 960);
	/* Under the bound again: no block leaves. */
	assert_int_equal(hak_quarantine_push(q(0x9100, 64), out, 8), 0);
	assert_int_equal(hak_quarantine_bytes(), 1024);
	/* A big one pushes out as many as needed, at most max. */
	unsigned n = hak_quarantine_push(q(0xa000, 512), out, 8);
	assert_int_equal(n, 8);
	assert_ptr_equal(out[0].block, (void *)0x1020);
	assert_ptr_equal(out[7].block, (void *)0x1090);
	assert_int_equal(hak_quarantine_bytes(), 1024);
	drain_all();
	assert_int_equal(hak_quarantine_count(), 0);
}

static void zero_or_oversize_passes_through(void **state)
{
	(void)state;
	struct hak_quarantined out[8];
	hak_env.quarantine_kb = 0;
	assert_int_equal(hak_quarantine_push(q(0x2000, 64), out, 8), 1);
	assert_ptr_equal(out[0].block, (void *)0x2000);
	hak_env.quarantine_kb = 1;
	assert_int_equal(hak_quarantine_push(q(0x3000, 4096), out, 8), 1);
	assert_ptr_equal(out[0].block, (void *)0x3000);
	assert_int_equal(hak_quarantine_count(), 0);
}

static void slot_bound_holds(void **state)
{
	(void)state;
	hak_env.quarantine_kb = 1u << 20; /* bytes never the limit */
	struct hak_quarantined out[8];
	unsigned evicted = 0;
	uintptr_t pushed = HAK_QUARANTINE_SLOTS + 100;
	for (uintptr_t i = 0; i < pushed; i++) {
		unsigned n = hak_quarantine_push(q(0x100000 + i * 16, 16), out, 8);
		/* Oldest first, in the order they went in. */
		for (unsigned k = 0; k < n; k++)
			assert_ptr_equal(out[k].block,
			                 (void *)(uintptr_t)(0x100000 + (evicted + k) * 16));
		evicted += n;
		assert_true(hak_quarantine_count() <= HAK_QUARANTINE_SLOTS);
	}
	/* Full at the 4097th push: a batch of max (8) left each time. */
	assert_int_equal(evicted, 8 * ((100 + 7) / 8));
	assert_int_equal(hak_quarantine_count(), pushed - evicted);
	unsigned drained = 0, n;
	struct hak_quarantined big[64];
	while ((n = hak_quarantine_drain(big, 64)))
		drained += n;
	assert_int_equal(drained, pushed - evicted);
}

/* Full mode: the blocks that leave the ring wait in their class's stash
 * (newest taken first) for a malloc of the class; a full stash sends the
 * rest back to the caller, and thread exit drains the stashes too. */
static void stash_holds_what_left_the_ring(void **state)
{
	(void)state;
	drain_all();
	hak_env.quarantine_kb = 1; /* 1024 bytes: 16 blocks of 64 */
	struct hak_quarantined out[8];
	for (uintptr_t i = 0; i < 16; i++)
		assert_int_equal(hak_quarantine_push_stash(q(0x4000 + i * 16, 64), out, 8), 0);
	/* The 17th pushes 2 out, into class 3's stash: none comes back. */
	assert_int_equal(hak_quarantine_push_stash(q(0x5000, 64), out, 8), 0);
	assert_int_equal(hak_quarantine_count(), 15);
	void *rec = (void *)1;
	assert_ptr_equal(hak_quarantine_take(3, &rec), (void *)0x4010);
	assert_null(rec);
	assert_ptr_equal(hak_quarantine_take(3, &rec), (void *)0x4000);
	assert_null(hak_quarantine_take(3, &rec));
	assert_null(hak_quarantine_take(4, &rec));
	drain_all();
}

static void full_stash_sends_the_rest_back(void **state)
{
	(void)state;
	drain_all();
	hak_env.quarantine_kb = 1;
	struct hak_quarantined out[8];
	unsigned back = 0;
	for (uintptr_t i = 0; i < 200; i++) {
		unsigned n = hak_quarantine_push_stash(q(0x10000 + i * 16, 64), out, 8);
		for (unsigned k = 0; k < n; k++)
			assert_int_equal(out[k].cls, 3);
		back += n;
	}
	unsigned cap = hak_my_ring->stash[3].cap, left = 200 - hak_quarantine_count();
	assert_true(cap >= 2 && cap <= HAK_STASH_SLOTS);
	assert_int_equal(atomic_load(&hak_my_ring->stash[3].count), cap);
	assert_int_equal(back, left - cap);
	/* Thread exit: the stash and the ring, everything comes out. */
	unsigned held = cap + hak_quarantine_count(), drained = 0, n;
	struct hak_quarantined big[64];
	while ((n = hak_quarantine_drain(big, 64)))
		drained += n;
	assert_int_equal(drained, held);
	assert_null(hak_my_ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(byte_bound_holds_fifo),
	    cmocka_unit_test(zero_or_oversize_passes_through),
	    cmocka_unit_test(slot_bound_holds),
	    cmocka_unit_test(stash_holds_what_left_the_ring),
	    cmocka_unit_test(full_stash_sends_the_rest_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
