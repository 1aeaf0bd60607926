/* Stack depot: identical stacks share one id, distinct ones do not, depth
 * is capped, and the frame walk never leaves the given stack bounds. */
#include "unit.h"

#include "stack_depot.h"

#include <pthread.h>

static void same_stack_same_id(void **state)
{
	(void)state;
	void *a[3] = {(void *)0x1000, (void *)0x2000, (void *)0x3000};
	void *b[3] = {(void *)0x1000, (void *)0x2000, (void *)0x3001};
	uint32_t ia = hak_stack_intern(a, 3), ia2 = hak_stack_intern(a, 3),
	         ib = hak_stack_intern(b, 3);
	assert_true(ia != 0);
	assert_int_equal(ia, ia2);
	assert_true(ib != 0 && ib != ia);
	/* A prefix is a different stack. */
	uint32_t ip = hak_stack_intern(a, 2);
	assert_true(ip != ia && ip != ib);

	void *out[HAK_STACK_MAX_DEPTH];
	assert_int_equal(hak_stack_get(ia, out), 3);
	assert_ptr_equal(out[2], (void *)0x3000);
	assert_int_equal(hak_stack_get(ip, out), 2);
	assert_int_equal(hak_stack_get(0, out), 0);
	assert_int_equal(hak_stack_get(hak_stack_count() + 1, out), 0);
}

static void depth_is_capped(void **state)
{
	(void)state;
	void *deep[HAK_STACK_MAX_DEPTH + 10];
	for (unsigned i = 0; i < HAK_STACK_MAX_DEPTH + 10; i++)
		deep[i] = (void *)(uintptr_t)(0x10000 + i);
	uint32_t id = hak_stack_intern(deep, HAK_STACK_MAX_DEPTH + 10);
	void *out[HAK_STACK_MAX_DEPTH];
	assert_int_equal(hak_stack_get(id, out), HAK_STACK_MAX_DEPTH);
	assert_ptr_equal(out[HAK_STACK_MAX_DEPTH - 1], deep[HAK_STACK_MAX_DEPTH - 1]);
}

static void many_stacks_dedup(void **state)
{
	(void)state;
	uint32_t before = hak_stack_count();
	for (int round = 0; round < 2; round++)
		for (uintptr_t i = 0; i < 5000; i++) {
			void *f[2] = {(void *)(0x500000 + i), (void *)0x42};
			assert_true(hak_stack_intern(f, 2) != 0);
		}
	/* Second round found every stack already stored. */
	assert_int_equal(hak_stack_count() - before, 5000);
}

/* A fake chain of frames on our own stack: [saved fp, return address]. */
static void walk_follows_frames_within_bounds(void **state)
{
	(void)state;
	void *frames[8][2];
	for (int i = 0; i < 7; i++) {
		frames[i][0] = frames[i + 1];
		frames[i][1] = (void *)(uintptr_t)(0x7000 + i);
	}
	frames[7][0] = (void *)0xfffffffffffffff8ull; /* garbage near the top: must not wrap */
	frames[7][1] = (void *)0x7007;
	uintptr_t lo = (uintptr_t)frames, hi = (uintptr_t)(frames + 8);
	uint32_t id = hak_stack_capture((void *)0x6fff, frames[0], lo, hi);
	void *out[HAK_STACK_MAX_DEPTH];
	unsigned n = hak_stack_get(id, out);
	/* ret, then the return addresses of frames 1..7 (frame 0 is the
	 * malloc-level frame whose caller is ret itself). */
	assert_int_equal(n, 8);
	assert_ptr_equal(out[0], (void *)0x6fff);
	assert_ptr_equal(out[1], (void *)0x7001);
	assert_ptr_equal(out[7], (void *)0x7007);

	/* Unknown bounds: only the caller. */
	id = hak_stack_capture((void *)0x6ffe, frames[0], 0, 0);
	assert_int_equal(hak_stack_get(id, out), 1);
}

/* Lookups take no lock: threads interning the same stacks at once must
 * still agree on one id per stack and store each stack once. */
#define RACE_THREADS 4
#define RACE_STACKS 3000

static uint32_t race_ids[RACE_THREADS][RACE_STACKS];

static void race_frames(unsigned i, void **f)
{
	f[0] = (void *)(uintptr_t)(0x900000 + 16 * i);
	f[1] = (void *)(uintptr_t)(0xa00000 + (i % 7));
	f[2] = (void *)(uintptr_t)0xb00000;
}

static void *race_worker(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	for (unsigned k = 0; k < RACE_STACKS; k++) {
		/* Each thread walks the stacks in its own order. */
		unsigned i = (k * 7919u + t * 1237u) % RACE_STACKS;
		void *f[3];
		race_frames(i, f);
		race_ids[t][i] = hak_stack_intern(f, 3);
	}
	return NULL;
}

static void concurrent_interns_agree(void **state)
{
	(void)state;
	uint32_t before = hak_stack_count();
	pthread_t th[RACE_THREADS];
	for (uintptr_t t = 0; t < RACE_THREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, race_worker, (void *)t), 0);
	for (unsigned t = 0; t < RACE_THREADS; t++)
		pthread_join(th[t], NULL);
	assert_int_equal(hak_stack_count() - before, RACE_STACKS);
	for (unsigned i = 0; i < RACE_STACKS; i++) {
		assert_true(race_ids[0][i] != 0);
		for (unsigned t = 1; t < RACE_THREADS; t++)
			assert_int_equal(race_ids[t][i], race_ids[0][i]);
		void *f[3], *out[HAK_STACK_MAX_DEPTH];
		race_frames(i, f);
		assert_int_equal(hak_stack_get(race_ids[0][i], out), 3);
		assert_memory_equal(out, f, sizeof f);
	}
}

/* The capture's per-thread cache and the depot name a stack alike. */
static void capture_and_intern_agree(void **state)
{
	(void)state;
	void *frames[4][2];
	for (int i = 0; i < 3; i++) {
		frames[i][0] = frames[i + 1];
		frames[i][1] = (void *)(uintptr_t)(0x8100 + i);
	}
	frames[3][0] = NULL;
	frames[3][1] = (void *)0x8103;
	uintptr_t lo = (uintptr_t)frames, hi = (uintptr_t)(frames + 4);
	void *expect[4] = {(void *)0x80ff, (void *)0x8101, (void *)0x8102, (void *)0x8103};
	uint32_t first = hak_stack_capture((void *)0x80ff, frames[0], lo, hi);
	uint32_t again = hak_stack_capture((void *)0x80ff, frames[0], lo, hi); /* cached */
	assert_true(first != 0);
	assert_int_equal(again, first);
	assert_int_equal(hak_stack_intern(expect, 4), first);
	/* Same return address, one frame fewer: another stack. */
	frames[2][0] = NULL;
	assert_true(hak_stack_capture((void *)0x80ff, frames[0], lo, hi) != first);
}

/* A stack of ret alone (no frame to walk) is named by ret through the
 * second cache, the same id the depot gives it; a walk that goes deeper
 * from the same ret is another stack. */
static void ret_alone_is_its_own_stack(void **state)
{
	(void)state;
	void *frames[2][2];
	frames[0][0] = frames[1];
	frames[0][1] = (void *)0x9101;
	frames[1][0] = NULL;
	frames[1][1] = (void *)0x9102;
	uintptr_t lo = (uintptr_t)frames, hi = (uintptr_t)(frames + 2);
	void *ret = (void *)0x90ff;
	uint32_t alone = hak_stack_capture(ret, NULL, lo, hi);
	assert_true(alone != 0);
	assert_int_equal(hak_stack_leaf[hak_stack_leaf_slot(ret)].id, alone);
	assert_int_equal(hak_stack_capture(ret, frames[0], 0, 0), alone); /* bounds unknown */
	void *one[1] = {ret};
	assert_int_equal(hak_stack_intern(one, 1), alone);
	uint32_t deep = hak_stack_capture(ret, frames[0], lo, hi);
	assert_true(deep != 0 && deep != alone);
	assert_int_equal(hak_stack_capture(ret, frames[0], lo, hi), deep);
	assert_int_equal(hak_stack_capture(ret, NULL, lo, hi), alone);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(same_stack_same_id),
	    cmocka_unit_test(depth_is_capped),
	    cmocka_unit_test(many_stacks_dedup),
	    cmocka_unit_test(walk_follows_frames_within_bounds),
	    cmocka_unit_test(concurrent_interns_agree),
	    cmocka_unit_test(capture_and_intern_agree),
	    cmocka_unit_test(ret_alone_is_its_own_stack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
