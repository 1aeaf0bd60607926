/* Stack depot: identical stacks share one id, distinct ones do not, depth
 * is capped, and the frame walk never leaves the given stack bounds. */
#include "unit.h"

#include "stack_depot.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(same_stack_same_id),
	    cmocka_unit_test(depth_is_capped),
	    cmocka_unit_test(many_stacks_dedup),
	    cmocka_unit_test(walk_follows_frames_within_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
