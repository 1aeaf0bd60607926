/* realloc_grow: buffers that grow, as strings, vectors and read buffers
 * do. BUFFERS buffers grow side by side from 16 bytes to MAX, first
 * geometrically (doubling), then, after all are freed, linearly (STEP
 * bytes at a time). Growing them in turns means a neighbour often sits
 * where a buffer would like to extend, as in a real heap. Each growth
 * writes the bytes it added and checks that the old ones survived.
 * Reports realloc calls per second and how many of them moved the
 * buffer. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "measure.h"

#define USAGE "BUFFERS MAX STEP [ROUNDS]   (sizes in bytes; ROUNDS 1 by default)"

#define START 16

struct buf {
	unsigned char *p;
	size_t size;
};

static uint64_t calls, moved;

static void grow(struct buf *b, size_t to, unsigned char tag)
{
	unsigned char *p = realloc(b->p, to);

	if (!p) {
		fprintf(stderr, "realloc_grow: realloc(%zu) failed\n", to);
		exit(1);
	}
	calls++;
	if (b->p && p != b->p) moved++;
	/* The first and the last old byte must have come along. */
	if (b->size && (p[0] != tag || p[b->size - 1] != tag)) {
		fprintf(stderr, "realloc_grow: contents lost growing %zu -> %zu\n", b->size, to);
		exit(1);
	}
	memset(p + b->size, tag, to - b->size);
	b->p = p;
	b->size = to;
}

static unsigned char tag_of(uint64_t i)
{
	return (unsigned char)(i * 2 + 1);
}

/* One phase: grow every buffer one step per turn until all reach MAX,
 * then free them. NEXT gives a buffer's next size. */
static void phase(struct buf *bufs, uint64_t n, size_t max, size_t (*next)(size_t, size_t),
                  size_t step)
{
	int busy = 1;

	for (uint64_t i = 0; i < n; i++)
		grow(&bufs[i], START < max ? START : max, tag_of(i));
	while (busy) {
		busy = 0;
		for (uint64_t i = 0; i < n; i++) {
			if (bufs[i].size >= max) continue;
			size_t to = next(bufs[i].size, step);

			grow(&bufs[i], to < max ? to : max, tag_of(i));
			busy = 1;
		}
	}
	for (uint64_t i = 0; i < n; i++) {
		free(bufs[i].p);
		bufs[i].p = NULL;
		bufs[i].size = 0;
	}
}

static size_t doubled(size_t size, size_t step)
{
	(void)step;
	return size * 2;
}

static size_t stepped(size_t size, size_t step)
{
	return size + step;
}

int main(int argc, char **argv)
{
	uint64_t nbufs, max, step, rounds = 1, first = 0;
	struct buf *bufs;
	double t0, secs;

	args_init("realloc_grow", USAGE);
	if (argc != 4 && argc != 5) args_fail("expected 3 or 4 arguments, got %d", argc - 1);
	nbufs = args_u64("BUFFERS", argv[1], 1, UINT64_C(1) << 20);
	max = args_u64("MAX", argv[2], 1, UINT64_C(1) << 32);
	step = args_u64("STEP", argv[3], 1, UINT64_C(1) << 32);
	if (argc == 5) rounds = args_u64("ROUNDS", argv[4], 1, UINT64_C(1) << 20);

	bufs = measure_array(nbufs * sizeof(*bufs));
	t0 = measure_now();
	for (uint64_t r = 0; r < rounds; r++) {
		phase(bufs, nbufs, max, doubled, 0);
		phase(bufs, nbufs, max, stepped, step);
	}
	secs = measure_now() - t0;
	/* realloc(NULL, 16) starts each buffer and cannot move anything. */
	first = 2 * rounds * nbufs;
	measure_array_free(bufs, nbufs * sizeof(*bufs));

	printf("realloc_grow buffers=%" PRIu64 " max=%" PRIu64 " step=%" PRIu64 " rounds=%" PRIu64
	       " reallocs=%" PRIu64 " ops_per_sec=%.0f seconds=%.6f moved_pct=%.2f"
	       " minflt=%" PRIu64 " maxrss_kb=%" PRIu64 "\n",
	       nbufs, max, step, rounds, calls, secs > 0 ? (double)calls / secs : 0.0, secs,
	       calls > first ? 100.0 * (double)moved / (double)(calls - first) : 0.0,
	       measure_minflt(), measure_maxrss_kb());
	return 0;
}
