/* The ASan flavour: a program using the hak_* API gets AddressSanitizer's
 * reports for touching bytes it did not ask for, while correct use stays
 * silent.
 *
 * usage: asan_api MODE, MODE one of
 *   clean          a random workload of the whole hak_* family: no report
 *   uaf-read       read a freed block                -> use-after-poison
 *   overflow-read  read past the requested size      -> use-after-poison
 *   uncarved-read  read slab space never handed out  -> use-after-poison
 *   realloc-shrink read past a block's new, smaller size */
#include <hakmem.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile char sink;

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Every byte of every live block is written and checked: ASan must agree
 * that all of them are addressable. */
static int clean(void)
{
	enum { SLOTS = 512 };
	char *slot[SLOTS] = {0};
	size_t len[SLOTS] = {0};
	uint32_t s = 42;
	for (int i = 0; i < 200000; i++) {
		unsigned k = rnd(&s) % SLOTS;
		if (slot[k]) {
			for (size_t j = 0; j < len[k]; j++)
				if (slot[k][j] != (char)(k + j)) {
					fprintf(stderr, "content mismatch\n");
					return 1;
				}
			if (rnd(&s) % 4 == 0) {
				size_t n = rnd(&s) % 70000 + 1;
				char *q = hak_realloc(slot[k], n);
				if (!q) return 1;
				for (size_t j = len[k] < n ? len[k] : n; j < n; j++)
					q[j] = (char)(k + j);
				slot[k] = q;
				len[k] = n;
				continue;
			}
			hak_free(slot[k]);
			slot[k] = NULL;
			continue;
		}
		size_t n = rnd(&s) % (rnd(&s) % 8 ? 1100 : 40000);
		switch (rnd(&s) % 4) {
		case 0:
			slot[k] = hak_calloc(1, n);
			break;
		case 1:
			slot[k] = hak_memalign((size_t)1 << (rnd(&s) % 13), n);
			break;
		default:
			slot[k] = hak_malloc(n);
		}
		if (!slot[k]) return 1;
		len[k] = n;
		for (size_t j = 0; j < n; j++)
			slot[k][j] = (char)(k + j);
	}
	for (unsigned k = 0; k < SLOTS; k++)
		hak_free(slot[k]);
	long bad = hak_heap_check();
	printf("clean: %s\n", bad ? "heap check FAILED" : "ok");
	return bad != 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "clean";
	if (!strcmp(mode, "clean")) return clean();
	char *p = hak_malloc(64);
	memset(p, 1, 64);
	if (!strcmp(mode, "uaf-read")) {
		hak_free(p);
		sink = p[3];
	} else if (!strcmp(mode, "overflow-read")) {
		sink = p[64 + 4];
	} else if (!strcmp(mode, "uncarved-read")) {
		sink = p[64 * 1024 - 200]; /* same slab, far past the carved blocks */
	} else if (!strcmp(mode, "realloc-shrink")) {
		p = hak_realloc(p, 40);
		sink = p[50];
	} else {
		fprintf(stderr, "asan_api: unknown mode %s\n", mode);
		return 2;
	}
	printf("%s: not caught\n", mode);
	return 0;
}
