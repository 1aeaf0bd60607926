/* Fill patterns: the chunked fills write exactly [p, p + n), and the
 * chunked checks see a single wrong byte anywhere in it, whatever the
 * length and the alignment. Full mode relies on both for every block. */
#include "unit.h"

#include "fill.h"

#define SPAN 160
#define GUARD 32
#define PAT 0xdf
#define OTHER 0x5a

static uint8_t buf[GUARD + SPAN + GUARD + 16] __attribute__((aligned(16)));

static void fills_exactly_the_span(void **state)
{
	(void)state;
	for (size_t align = 0; align < 16; align++)
		for (size_t n = 0; n <= SPAN; n++)
			for (int small = 0; small <= (n <= 32); small++) {
				memset(buf, OTHER, sizeof buf);
				uint8_t *p = buf + GUARD + align;
				if (small)
					hak_fill32(p, n, PAT);
				else
					hak_fill(p, n, PAT);
				for (size_t i = 0; i < sizeof buf; i++) {
					int inside = buf + i >= p && buf + i < p + n;
					assert_int_equal(buf[i], inside ? PAT : OTHER);
				}
			}
}

static void one_wrong_byte_is_found(void **state)
{
	(void)state;
	for (size_t align = 0; align < 16; align++)
		for (size_t n = 1; n <= SPAN; n++) {
			uint8_t *p = buf + GUARD + align;
			memset(buf, OTHER, sizeof buf);
			memset(p, PAT, n);
			/* Bytes around the span never count. */
			assert_false(hak_fill_differs(p, n, PAT));
			assert_null(hak_fill_find(p, n, PAT));
			if (n <= 32) assert_false(hak_fill_differs32(p, n, PAT));
			for (size_t bad = 0; bad < n; bad++) {
				p[bad] = PAT ^ 0x01; /* one bit off */
				assert_true(hak_fill_differs(p, n, PAT));
				assert_ptr_equal(hak_fill_find(p, n, PAT), p + bad);
				if (n <= 32) assert_true(hak_fill_differs32(p, n, PAT));
				p[bad] = PAT;
			}
		}
}

static void empty_span_is_intact(void **state)
{
	(void)state;
	memset(buf, OTHER, sizeof buf);
	assert_false(hak_fill_differs(buf + GUARD, 0, PAT));
	assert_null(hak_fill_find(buf + GUARD, 0, PAT));
	hak_fill(buf + GUARD, 0, PAT);
	hak_fill32(buf + GUARD, 0, PAT);
	for (size_t i = 0; i < sizeof buf; i++)
		assert_int_equal(buf[i], OTHER);
}

/* The 32-byte window of the canary: inside the block whatever the request,
 * it ends where the canary ends, and its check sees exactly the bytes from
 * n on, at every request size of a block. */
static void window_covers_the_canary(void **state)
{
	(void)state;
	uint8_t win[64 + 32];
	for (size_t usable = 32; usable <= 64; usable += 16)
		for (size_t n = 0; n <= usable; n++) {
			size_t start = hak_window32_start(n, usable);
			size_t end = n + 32 < usable ? n + 32 : usable;
			assert_true(start + 32 == end && start <= n && end <= usable);
			memset(win, 0x11, sizeof win);
			hak_fill_window32(win + start, 0xcb);
			for (size_t i = 0; i < sizeof win; i++)
				assert_int_equal(win[i], i >= start && i < end ? 0xcb : 0x11);
			assert_false(hak_fill_differs_window32(win + start, n - start, 0xcb));
			for (size_t i = start; i < end; i++) {
				win[i] ^= 0x40;
				assert_int_equal(
				    hak_fill_differs_window32(win + start, n - start, 0xcb),
				    i >= n);
				win[i] ^= 0x40;
			}
		}
}

/* The loop-free fill of up to 128 bytes writes exactly its span and sees
 * every byte of it, at every length. */
static void upto128_fills_and_sees_every_byte(void **state)
{
	(void)state;
	uint8_t span[16 + 128 + 16];
	for (size_t n = 0; n <= 128; n++) {
		memset(span, 0x11, sizeof span);
		hak_fill_upto128(span + 16, n, 0xdf);
		for (size_t i = 0; i < sizeof span; i++)
			assert_int_equal(span[i], i >= 16 && i < 16 + n ? 0xdf : 0x11);
		assert_false(hak_fill_differs_upto128(span + 16, n, 0xdf));
		for (size_t i = 0; i < n; i++) {
			span[16 + i] = 0x41;
			assert_true(hak_fill_differs_upto128(span + 16, n, 0xdf));
			span[16 + i] = 0xdf;
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(fills_exactly_the_span),
	    cmocka_unit_test(one_wrong_byte_is_found),
	    cmocka_unit_test(empty_span_is_intact),
	    cmocka_unit_test(window_covers_the_canary),
	    cmocka_unit_test(upto128_fills_and_sees_every_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
