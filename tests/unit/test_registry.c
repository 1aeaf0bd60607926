/* The SuperSlab registry: lookups never touch the address, so ranges
 * that are not even mapped can be registered to test the radix edges. */
#include "unit.h"
#include "os.h"
#include "registry.h"

#define MIB ((uintptr_t)1 << 20)
#define GRAIN ((uintptr_t)1 << HAK_REG_GRAIN_SHIFT)
#define LEAF_SPAN (GRAIN << HAK_REG_LEAF_BITS) /* bytes covered by one leaf */

static void add_lookup_remove_on_real_mapping(void **state)
{
	(void)state;
	size_t size = 2 * MIB;
	uint8_t *ss = hak_os_map_aligned(size, size);
	assert_non_null(ss);
	assert_int_equal((uintptr_t)ss & (size - 1), 0);
	assert_int_equal(hak_registry_kind(ss), 0);

	assert_int_equal(hak_registry_add(ss, size, HAK_POOL_MID), 0);
	const uint8_t *inside[] = {ss, ss + 1, ss + MIB - 1, ss + MIB, ss + size - 1};
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(hak_registry_kind(inside[i]), HAK_POOL_MID + 1);
	/* The neighbours are not ours (nothing else registers in this test). */
	assert_int_equal(hak_registry_kind(ss - 1), 0);
	assert_int_equal(hak_registry_kind(ss + size), 0);
	assert_int_equal(hak_registry_kind(ss - size), 0);

	/* Re-registering changes the kind in place. */
	assert_int_equal(hak_registry_add(ss, size, HAK_POOL_TINY), 0);
	assert_int_equal(hak_registry_kind(ss + size - 1), HAK_POOL_TINY + 1);

	hak_registry_remove(ss, size);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(hak_registry_kind(inside[i]), 0);
	hak_os_unmap(ss, size);
}

/* A 1 MiB SuperSlab (Small-Mid's size) marks exactly its own grain. */
static void one_grain(void **state)
{
	(void)state;
	uint8_t *m = hak_os_map_aligned(2 * MIB, 2 * MIB);
	assert_non_null(m);
	assert_int_equal(hak_registry_add(m + MIB, MIB, HAK_POOL_SMALLMID), 0);
	assert_int_equal(hak_registry_kind(m), 0);
	assert_int_equal(hak_registry_kind(m + MIB - 1), 0);
	assert_int_equal(hak_registry_kind(m + MIB), HAK_POOL_SMALLMID + 1);
	assert_int_equal(hak_registry_kind(m + 2 * MIB - 1), HAK_POOL_SMALLMID + 1);
	assert_int_equal(hak_registry_kind(m + 2 * MIB), 0);
	hak_registry_remove(m + MIB, MIB);
	assert_int_equal(hak_registry_kind(m + MIB), 0);
	hak_os_unmap(m, 2 * MIB);
}

static void null_and_high_addresses(void **state)
{
	(void)state;
	assert_int_equal(hak_registry_kind(NULL), 0);
	assert_int_equal(hak_registry_kind((void *)(uintptr_t)1), 0);
	/* Above the 47-bit user space: rejected before any table is read. */
	assert_int_equal(hak_registry_kind((void *)((uintptr_t)1 << 47)), 0);
	assert_int_equal(hak_registry_kind((void *)((uintptr_t)1 << 63)), 0);
	assert_int_equal(hak_registry_kind((void *)UINTPTR_MAX), 0);
	assert_int_equal(hak_registry_kind((void *)(UINTPTR_MAX - (2 * MIB - 1))), 0);

	assert_int_equal(hak_registry_add((void *)((uintptr_t)1 << 47), 2 * MIB, HAK_POOL_TINY),
	                 -1);
	/* Straddling the top of the address space. */
	assert_int_equal(
	    hak_registry_add((void *)(((uintptr_t)1 << 47) - MIB), 2 * MIB, HAK_POOL_TINY), -1);
	assert_int_equal(hak_registry_kind((void *)(((uintptr_t)1 << 47) - MIB)), 0);
}

/* The last grain below 2^47 is a valid SuperSlab address. */
static void highest_grain(void **state)
{
	(void)state;
	uint8_t *top = (uint8_t *)(((uintptr_t)1 << 47) - MIB);
	assert_int_equal(hak_registry_add(top, MIB, HAK_POOL_TINY), 0);
	assert_int_equal(hak_registry_kind(top), HAK_POOL_TINY + 1);
	assert_int_equal(hak_registry_kind(top + MIB - 1), HAK_POOL_TINY + 1);
	assert_int_equal(hak_registry_kind(top - 1), 0);
	hak_registry_remove(top, MIB);
	assert_int_equal(hak_registry_kind(top), 0);
}

/* A range across a leaf boundary needs both leaves. The range is only
 * registered, never mapped or touched. */
static void range_across_leaves(void **state)
{
	(void)state;
	uint8_t *b = (uint8_t *)(7 * LEAF_SPAN - MIB);
	assert_int_equal(hak_registry_add(b, 2 * MIB, HAK_POOL_MID), 0);
	assert_int_equal(hak_registry_kind(b), HAK_POOL_MID + 1);
	assert_int_equal(hak_registry_kind(b + MIB), HAK_POOL_MID + 1);
	assert_int_equal(hak_registry_kind(b + 2 * MIB - 1), HAK_POOL_MID + 1);
	assert_int_equal(hak_registry_kind(b - 1), 0);
	assert_int_equal(hak_registry_kind(b + 2 * MIB), 0);
	assert_non_null(atomic_load(&hak_registry_root[6]));
	assert_non_null(atomic_load(&hak_registry_root[7]));
	hak_registry_remove(b, 2 * MIB);
	assert_int_equal(hak_registry_kind(b), 0);
	assert_int_equal(hak_registry_kind(b + MIB), 0);
}

/* A leaf that was never created answers 0 without being created. The
 * leaf for 32..48 GiB: far below where Linux places mappings. */
static void lookup_does_not_create_leaves(void **state)
{
	(void)state;
	unsigned idx = 2;
	assert_null(atomic_load(&hak_registry_root[idx]));
	assert_int_equal(hak_registry_kind((void *)((uintptr_t)idx * LEAF_SPAN + 5 * MIB)), 0);
	assert_null(atomic_load(&hak_registry_root[idx]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(add_lookup_remove_on_real_mapping),
	    cmocka_unit_test(one_grain),
	    cmocka_unit_test(null_and_high_addresses),
	    cmocka_unit_test(highest_grain),
	    cmocka_unit_test(range_across_leaves),
	    cmocka_unit_test(lookup_does_not_create_leaves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
