/* Out of address space on the shipped libraries (no fault-injection
 * build): RLIMIT_AS a little above what the process maps, then every kind
 * of allocation until each one fails. Each failure must be NULL with
 * errno ENOMEM (posix_memalign: the ENOMEM return), the heap must pass
 * hak_heap_check(), a failed realloc must leave its block whole, and once
 * the memory is freed every kind must succeed again, still under the limit.
 *
 * The blocks are chained through themselves, so the test needs no memory
 * of its own while the allocator is starved.
 *
 * usage: oom_rlimit [HEADROOM_MIB]      exit 0 = pass */
#include "hakmem.h"
#include "problem.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum kind {
	K_TINY,
	K_SMALL,
	K_MID,
	K_MID_BIG,
	K_LARGE,
	K_HUGE,
	K_MEMALIGN,
	K_CALLOC,
	K_POSIX,
	NKINDS
};
static const char *const kind_name[NKINDS] = {
    "malloc(16)",           "malloc(700)",      "malloc(5000)",
    "malloc(30000)",        "malloc(200000)",   "malloc(3 MiB)",
    "memalign(4096, 3000)", "calloc(100, 100)", "posix_memalign(65536, 100000)"};

struct node {
	struct node *next;
	uint32_t size;
	uint32_t tag;
};

static void *allocate(enum kind k, size_t *size)
{
	void *p = NULL;
	errno = 0;
	switch (k) {
	case K_TINY:
		*size = 16;
		return malloc(16);
	case K_SMALL:
		*size = 700;
		return malloc(700);
	case K_MID:
		*size = 5000;
		return malloc(5000);
	case K_MID_BIG:
		*size = 30000;
		return malloc(30000);
	case K_LARGE:
		*size = 200000;
		return malloc(200000);
	case K_HUGE:
		*size = 3u << 20;
		return malloc(3u << 20);
	case K_MEMALIGN:
		*size = 3000;
		p = memalign(4096, 3000);
		if (p && (uintptr_t)p % 4096) PROBLEM("memalign(4096) returned %p", p);
		return p;
	case K_CALLOC: {
		*size = 10000;
		unsigned char *c = calloc(100, 100);
		if (c)
			for (size_t i = 0; i < 10000; i += 97)
				if (c[i]) {
					PROBLEM("calloc memory not zero at byte %zu", i);
					break;
				}
		return c;
	}
	case K_POSIX: {
		*size = 100000;
		int rc = posix_memalign(&p, 65536, 100000);
		if (rc) {
			if (rc != ENOMEM) PROBLEM("posix_memalign returned %d, not ENOMEM", rc);
			errno = ENOMEM; /* for the common check below */
			return NULL;
		}
		if ((uintptr_t)p % 65536) PROBLEM("posix_memalign(65536) returned %p", p);
		return p;
	}
	default:
		return NULL;
	}
}

/* The block's first bytes link it; its last byte is a check. */
static void push(struct node **list, void *p, size_t size, unsigned tag)
{
	struct node *n = p;
	n->next = *list;
	n->size = (uint32_t)size;
	n->tag = tag;
	((unsigned char *)p)[size - 1] = (unsigned char)tag;
	*list = n;
}

static long free_all(struct node **list)
{
	long n = 0;
	while (*list) {
		struct node *b = *list;
		*list = b->next;
		if (((unsigned char *)b)[b->size - 1] != (unsigned char)b->tag)
			PROBLEM("block %p (%u bytes) lost its last byte", (void *)b, b->size);
		free(b);
		n++;
	}
	return n;
}

static size_t mapped_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long pages = 0;
	if (f) {
		if (fscanf(f, "%lu", &pages) != 1) pages = 0;
		fclose(f);
	}
	return pages * (size_t)sysconf(_SC_PAGESIZE);
}

int main(int argc, char **argv)
{
	size_t headroom = (size_t)(argc > 1 ? atol(argv[1]) : 64) << 20;
	struct node *list = NULL;
	long count[NKINDS] = {0};
	int failed[NKINDS] = {0};

	/* Warm up every path first (full mode maps its stack depot and
	 * record tables on first use), and stdio's buffers. */
	for (int k = 0; k < NKINDS; k++) {
		size_t size;
		void *p = allocate((enum kind)k, &size);
		if (!p) {
			PROBLEM("%s failed before any limit", kind_name[k]);
			return 1;
		}
		free(p);
	}
	printf("warm-up done\n");
	fflush(stdout);

	struct rlimit old, lim;
	getrlimit(RLIMIT_AS, &old);
	size_t base = mapped_bytes();
	lim.rlim_cur = base + headroom;
	lim.rlim_max = old.rlim_max;
	if (setrlimit(RLIMIT_AS, &lim)) {
		perror("setrlimit");
		return 1;
	}

	/* Round robin until every kind has failed at least once. */
	void *keep = malloc(100);
	if (!keep) {
		PROBLEM("malloc(100) failed right after the limit");
		return 1;
	}
	memset(keep, 0x5a, 100);
	for (int left = NKINDS; left > 0;) {
		for (int k = 0; k < NKINDS; k++) {
			if (failed[k]) continue;
			size_t size;
			void *p = allocate((enum kind)k, &size);
			if (!p) {
				if (errno != ENOMEM)
					PROBLEM("%s returned NULL with errno %d, not ENOMEM",
					        kind_name[k], errno);
				failed[k] = 1;
				left--;
				continue;
			}
			if ((uintptr_t)p % 16)
				PROBLEM("%s returned %p, not 16-byte aligned", kind_name[k], p);
			push(&list, p, size, (unsigned)k + 1);
			count[k]++;
		}
	}
	size_t at_limit = mapped_bytes();

	/* A realloc that cannot grow leaves the block as it was. */
	errno = 0;
	void *big = realloc(keep, 512u << 20);
	if (big)
		PROBLEM("realloc to 512 MiB succeeded under a %zu MiB limit",
		        (size_t)(lim.rlim_cur >> 20));
	else if (errno != ENOMEM)
		PROBLEM("failed realloc: errno %d, not ENOMEM", errno);
	for (int i = 0; i < 100; i++)
		if (((unsigned char *)keep)[i] != 0x5a) {
			PROBLEM("a failed realloc changed byte %d of the block", i);
			break;
		}
	errno = 0;
	if (calloc((size_t)1 << 40, 1) || errno != ENOMEM)
		PROBLEM("calloc(1 TiB) did not fail with ENOMEM");

	long bad = hak_heap_check();
	if (bad) PROBLEM("hak_heap_check() = %ld at the limit", bad);

	long n = free_all(&list);
	free(keep);
	bad = hak_heap_check();
	if (bad) PROBLEM("hak_heap_check() = %ld after freeing everything", bad);

	/* Still under the limit: every kind works again. */
	for (int round = 0; round < 3; round++)
		for (int k = 0; k < NKINDS; k++) {
			size_t size;
			void *p = allocate((enum kind)k, &size);
			if (!p) {
				PROBLEM("%s failed after everything was freed (round %d, errno %d)",
				        kind_name[k], round, errno);
				continue;
			}
			push(&list, p, size, 0x40u + (unsigned)k);
		}
	free_all(&list);

	setrlimit(RLIMIT_AS, &old);
	void *after = malloc(256u << 20);
	if (!after) PROBLEM("malloc(256 MiB) failed once the limit was lifted");
	free(after);
	bad = hak_heap_check();
	if (bad) PROBLEM("hak_heap_check() = %ld at the end", bad);

	printf("limit %zu MiB above %zu MiB mapped; at the limit %zu MiB mapped, %ld blocks:\n",
	       headroom >> 20, base >> 20, at_limit >> 20, n);
	for (int k = 0; k < NKINDS; k++)
		printf("  %-30s %8ld allocations, then NULL/ENOMEM\n", kind_name[k], count[k]);
	printf("%s\n", problems
	                   ? "FAILED"
	                   : "PASS: every failure NULL/ENOMEM, heap clean, allocations work again");
	return problems != 0;
}
