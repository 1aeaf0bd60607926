/* Deterministic single-threaded workload for the trace.counts test.
 *
 * It makes the allocator take every path whose counter process_stats
 * carries: SuperSlab maps, refills, slabs going empty, empty slabs reused
 * for another class, warm SuperSlabs reused, large spans, and (with
 * HAKMEM_PURGE_DELAY_MS=0 HAKMEM_WARM_SUPERSLABS=0) purges and unmaps.
 * Then it prints hak_stats_get() as "stat NAME VALUE" lines, so the test
 * can compare the allocator's own totals with the last process_stats
 * event and with the events counted in the trace.
 *
 * usage: counts_workload [ROUNDS]     prints "pid N" first */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hakmem.h"

enum { MAX_BLOCKS = 1 << 17, PINS = 8 };

/* Two disjoint size sets, tiny and mid, so the second phase needs slabs of
 * classes the first one never used: its slabs come from the first phase's
 * empty ones (slab_reuse with a class change). */
static const size_t sizes_a[] = {24, 56, 120, 248, 504, 1000, 2000, 6000, 14000, 30000};
static const size_t sizes_b[] = {40, 88, 184, 376, 760, 3000, 10000, 20000};

static void *blocks[MAX_BLOCKS];
static size_t nblocks;

/* Tiny slabs are 64 KiB, mid slabs 256 KiB. Several slabs a class, so
 * all but the thread's current slab can go empty; many mid ones, so whole
 * SuperSlabs go warm and the next phase takes them back (superslab_reuse). */
static size_t count_for(size_t size)
{
	if (size <= 1024) return 4 * (64u << 10) / size;
	return 10 * (256u << 10) / size;
}

static void die(const char *what)
{
	fprintf(stderr, "counts_workload: %s\n", what);
	exit(2);
}

/* Interleaved, so that slabs of different classes share SuperSlabs. */
static void alloc_phase(const size_t *sizes, size_t n)
{
	size_t most = 0;
	for (size_t k = 0; k < n; k++)
		if (count_for(sizes[k]) > most) most = count_for(sizes[k]);
	for (size_t i = 0; i < most; i++)
		for (size_t k = 0; k < n; k++) {
			if (i >= count_for(sizes[k])) continue;
			if (nblocks == MAX_BLOCKS) die("too many blocks");
			unsigned char *p = malloc(sizes[k]);
			if (!p) die("malloc failed");
			p[0] = (unsigned char)i; /* touch, like a real program */
			p[sizes[k] - 1] = (unsigned char)k;
			blocks[nblocks++] = p;
		}
}

static void free_phase(void)
{
	/* Reverse order: thread-cache flushes then empty whole slabs. */
	while (nblocks)
		free(blocks[--nblocks]);
	hak_thread_flush();
}

static void put(const char *name, uint64_t v)
{
	/* snprintf+write: no stdio buffer is allocated after the snapshot. */
	char line[96];
	int n = snprintf(line, sizeof line, "stat %s %llu\n", name, (unsigned long long)v);
	if (write(1, line, (size_t)n) != n) exit(3);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 3;
	printf("pid %d\n", (int)getpid());
	fflush(stdout);

	/* Pins, allocated first, keep the first tiny and mid SuperSlab in use,
	 * so their emptied slabs stay EMPTY (reusable) instead of the whole
	 * SuperSlab going to the warm cache. */
	void *pins[2 * PINS];
	for (int i = 0; i < PINS; i++) {
		pins[i] = malloc(16);
		pins[PINS + i] = malloc(1500);
		if (!pins[i] || !pins[PINS + i]) die("malloc failed");
	}

	for (int r = 0; r < rounds; r++) {
		alloc_phase(sizes_a, sizeof sizes_a / sizeof *sizes_a);
		free_phase();
		alloc_phase(sizes_b, sizeof sizes_b / sizeof *sizes_b);
		free_phase();
	}

	/* Large spans: each size once, then again (cache hits are not maps). */
	for (int r = 0; r < 2; r++) {
		static const size_t large[] = {100000, 300000, 1u << 20};
		void *l[3];
		for (int k = 0; k < 3; k++) {
			if (!(l[k] = malloc(large[k]))) die("malloc failed");
			memset(l[k], 1, 4096);
		}
		for (int k = 0; k < 3; k++)
			free(l[k]);
	}

	for (int i = 0; i < 2 * PINS; i++)
		free(pins[i]);
	hak_thread_flush();

	struct hak_stats st;
	hak_stats_get(&st);
	put("superslabs_mapped", st.superslabs_mapped);
	put("superslabs_reused", st.superslabs_reused);
	put("superslabs_unmapped", st.superslabs_unmapped);
	put("refills", st.refills);
	put("slab_empty", st.slab_empty);
	put("slab_reuse", st.slab_reuse);
	put("slab_purge", st.slab_purge);
	put("large_mapped", st.large_mapped);
	return 0;
}
