/* Full mode's fill patterns (freed-block fill, canary after the request),
 * written and checked 16 bytes at a time, inline. Every free writes one
 * and checks another, every malloc checks one and writes another: a byte
 * loop or a libc call each time cost more than the rest of the path. */
#ifndef HAKMEM_FILL_H
#define HAKMEM_FILL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* GCC/Clang generic vectors: SSE2 on x86-64, plain words elsewhere. */
typedef uint64_t hak_fill_vec __attribute__((vector_size(16)));

static inline uint64_t hak_fill_word(uint8_t v)
{
	return 0x0101010101010101ull * v;
}

/* Nonzero when some byte of [p, p + n) is not v. Lengths that are not a
 * multiple of the chunk end with one more chunk flush with the end,
 * overlapping the one before: never a byte outside the span. */
static inline int hak_fill_differs(const uint8_t *p, size_t n, uint8_t v)
{
	uint64_t w = hak_fill_word(v);
	if (n >= 16) {
		hak_fill_vec pat = {w, w}, acc = {0, 0}, x;
		size_t i = 0;
		/* Unrolled when n is a constant (full mode's 128-byte fill). */
#pragma GCC unroll 8
		for (; i + 16 <= n; i += 16) {
			memcpy(&x, p + i, 16);
			acc |= x ^ pat;
		}
		if (i < n) {
			memcpy(&x, p + n - 16, 16);
			acc |= x ^ pat;
		}
		return (acc[0] | acc[1]) != 0;
	}
	if (n >= 8) {
		uint64_t a, b;
		memcpy(&a, p, 8);
		memcpy(&b, p + n - 8, 8);
		return ((a ^ w) | (b ^ w)) != 0;
	}
	if (n >= 4) {
		uint32_t a, b;
		memcpy(&a, p, 4);
		memcpy(&b, p + n - 4, 4);
		return ((a ^ (uint32_t)w) | (b ^ (uint32_t)w)) != 0;
	}
	uint8_t d = 0;
	for (size_t i = 0; i < n; i++)
		d |= p[i] ^ v;
	return d != 0;
}

/* hak_fill_differs for n <= 32 (canaries): two chunks at most, no loop. */
static inline int hak_fill_differs32(const uint8_t *p, size_t n, uint8_t v)
{
	if (n >= 16) {
		uint64_t w = hak_fill_word(v);
		hak_fill_vec pat = {w, w}, x, y;
		memcpy(&x, p, 16);
		memcpy(&y, p + n - 16, 16);
		x = (x ^ pat) | (y ^ pat);
		return (x[0] | x[1]) != 0;
	}
	return hak_fill_differs(p, n, v);
}

/* The first byte of [p, p + n) that is not v, or NULL. */
static inline const uint8_t *hak_fill_find(const uint8_t *p, size_t n, uint8_t v)
{
	if (!hak_fill_differs(p, n, v)) return NULL;
	for (size_t i = 0; i < n; i++)
		if (p[i] != v) return p + i;
	return NULL;
}

/* memset(p, v, n), with the same chunks as hak_fill_differs. */
static inline void hak_fill(uint8_t *p, size_t n, uint8_t v)
{
	uint64_t w = hak_fill_word(v);
	if (n >= 16) {
		hak_fill_vec pat = {w, w};
		size_t i = 0;
#pragma GCC unroll 8
		for (; i + 16 <= n; i += 16)
			memcpy(p + i, &pat, 16);
		if (i < n) memcpy(p + n - 16, &pat, 16);
		return;
	}
	if (n >= 8) {
		memcpy(p, &w, 8);
		memcpy(p + n - 8, &w, 8);
		return;
	}
	if (n >= 4) {
		uint32_t h = (uint32_t)w;
		memcpy(p, &h, 4);
		memcpy(p + n - 4, &h, 4);
		return;
	}
	for (size_t i = 0; i < n; i++)
		p[i] = v;
}

/* hak_fill for n <= 32. */
static inline void hak_fill32(uint8_t *p, size_t n, uint8_t v)
{
	if (n >= 16) {
		uint64_t w = hak_fill_word(v);
		hak_fill_vec pat = {w, w};
		memcpy(p, &pat, 16);
		memcpy(p + n - 16, &pat, 16);
		return;
	}
	hak_fill(p, n, v);
}

/* hak_fill and hak_fill_differs for n <= 128 without a loop: up to 64
 * bytes from the start and as many flush with the end, overlapping (1, 2
 * or 4 chunks each way). Full mode's classes under 128 bytes fill their
 * whole block: a loop's exit went with the class. */
static inline void hak_fill_upto128(uint8_t *p, size_t n, uint8_t v)
{
	if (n < 16) {
		hak_fill(p, n, v);
		return;
	}
	uint64_t w = hak_fill_word(v);
	hak_fill_vec pat = {w, w};
	memcpy(p, &pat, 16);
	memcpy(p + n - 16, &pat, 16);
	if (n > 32) {
		memcpy(p + 16, &pat, 16);
		memcpy(p + n - 32, &pat, 16);
	}
	if (n > 64) {
		memcpy(p + 32, &pat, 16);
		memcpy(p + 48, &pat, 16);
		memcpy(p + n - 48, &pat, 16);
		memcpy(p + n - 64, &pat, 16);
	}
}

static inline int hak_fill_differs_upto128(const uint8_t *p, size_t n, uint8_t v)
{
	if (n < 16) return hak_fill_differs(p, n, v);
	uint64_t w = hak_fill_word(v);
	hak_fill_vec pat = {w, w}, a, b, c, d;
	memcpy(&a, p, 16);
	memcpy(&b, p + n - 16, 16);
	a = (a ^ pat) | (b ^ pat);
	if (n > 32) {
		memcpy(&c, p + 16, 16);
		memcpy(&d, p + n - 32, 16);
		a |= (c ^ pat) | (d ^ pat);
	}
	if (n > 64) {
		memcpy(&b, p + 32, 16);
		memcpy(&c, p + 48, 16);
		memcpy(&d, p + n - 48, 16);
		a |= (b ^ pat) | (c ^ pat) | (d ^ pat);
		memcpy(&d, p + n - 64, 16);
		a |= d ^ pat;
	}
	return (a[0] | a[1]) != 0;
}

/* ---- a 32-byte window, without a branch on where the span starts ----
 * Full mode's canary covers [n, min(n + 32, usable)) after an n-byte
 * request: with random request sizes, a branch on its length mispredicts
 * often. Blocks of 32 usable bytes or more use the 32 bytes that end where
 * the canary ends instead: written whole when the block is handed out (the
 * bytes below n are not the program's yet), checked from n on at free. */

/* Where the window of an n-byte request in a block of usable >= 32 starts. */
static inline size_t hak_window32_start(size_t n, size_t usable)
{
	size_t end = n + 32 < usable ? n + 32 : usable;
	return end - 32;
}

static inline void hak_fill_window32(uint8_t *w, uint8_t v)
{
	uint64_t x = hak_fill_word(v);
	hak_fill_vec pat = {x, x};
	memcpy(w, &pat, 16);
	memcpy(w + 16, &pat, 16);
}

/* Nonzero when some byte of w[skip..32) is not v (skip <= 32). */
static inline int hak_fill_differs_window32(const uint8_t *w, size_t skip, uint8_t v)
{
	/* keep + 32 - skip: skip zero bytes, then 0xff. */
	static const uint8_t keep[64] = {[32 ... 63] = 0xff};
	uint64_t x = hak_fill_word(v);
	hak_fill_vec pat = {x, x}, a, b, ma, mb;
	memcpy(&a, w, 16);
	memcpy(&b, w + 16, 16);
	memcpy(&ma, keep + 32 - skip, 16);
	memcpy(&mb, keep + 48 - skip, 16);
	a = ((a ^ pat) & ma) | ((b ^ pat) & mb);
	return (a[0] | a[1]) != 0;
}

#endif
