/* Security invariants of ptr_track, against libhakmem.so (linked first,
 * so this program's malloc family is hakmem's), with HAKMEM_ON_ERROR=report:
 *
 *   readonly   free / realloc / malloc_usable_size of pointers into a
 *              PROT_READ mapping and into a static const buffer: a
 *              foreign-pointer report each time, no write (a write would
 *              be SIGSEGV for the mapping; the buffer is checked byte for
 *              byte), and the program goes on
 *   unmapped   free / realloc / usable_size of pointers just past an
 *              munmap'd region, at the start of a PROT_NONE guard page,
 *              just past a freed large span, and at addresses with the
 *              bits of a SuperSlab but no SuperSlab: ptr_track must not
 *              read them (SIGSEGV if it did); each is reported
 *   linkwrite-bin, linkwrite-deep
 *              the same, one thread, deterministic: the write hits the
 *              link of a block in the thread cache's bin (its head, or ten
 *              links down) and the bin is used and flushed afterwards
 *   linkwrite-first  the process's first report is a damaged link at the
 *              head of a bin, in every Tiny class at once. The report runs
 *              mid-pop and mallocs (glibc's first backtrace() dlopens
 *              libgcc_s): that nested malloc must not pop the damaged head
 *              too, or the loader and the program share a block (the
 *              crash behind a flaky security.linkwrite.full)
 *   linkwrite-near, linkwrite-near-deep
 *              a dangling write flips bit 4 of a link (its low byte), so
 *              it still decodes to a 16-aligned address in the same slab,
 *              16 bytes off a block: that address is never handed out nor
 *              returned to a slab (the bin's head's link, the second malloc
 *              reaches it; or ten links down, the flush reaches it)
 *   linkwrite  HAKMEM_CHECK=full: threads free blocks, write into the
 *              first 8 bytes (the encoded free-list link) of blocks they
 *              freed, and other threads allocate: every damaged link is
 *              caught as use-after-free-write when the list is used, no
 *              crash, no wild pointer handed out, heap consistent
 *
 *   large-overflow  HAKMEM_CHECK=full: large blocks report their request as
 *              usable size and an overrun past it is caught, as for slab
 *              blocks
 *   first-call the first allocator call of the process is such a free:
 *              HAKMEM_LOG and HAKMEM_ON_ERROR must already apply
 *
 * The report lines ("hakmem: foreign-pointer ...") go to HAKMEM_LOG; the
 * program counts them itself. Exit 0 = pass. */
#include "hakmem.h"
#include "problem.h"
#include "linked_check.h"

#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *log_path;

/* Lines of HAKMEM_LOG that start with "hakmem: KIND". */
static int count_reports(const char *kind)
{
	FILE *f = fopen(log_path, "r");
	if (!f) return 0;
	char line[512], want[64];
	snprintf(want, sizeof want, "hakmem: %s ", kind);
	int n = 0;
	while (fgets(line, sizeof line, f))
		n += !strncmp(line, want, strlen(want));
	fclose(f);
	return n;
}

static void *(*volatile realloc_fn)(void *, size_t) = realloc;
static void (*volatile free_fn)(void *) = free;
static size_t (*volatile usable_fn)(void *) = malloc_usable_size;

/* The three entry points on p: each must report and return harmlessly. */
static void poke(void *p, const char *what, int *expected)
{
	int before = getenv("FOREIGN_VERBOSE") ? count_reports("foreign-pointer") : 0;
	free_fn(p);
	errno = 0;
	void *q = realloc_fn(p, 100);
	if (q) {
		PROBLEM("realloc(%s) returned %p", what, q);
		free(q);
	}
	size_t u = usable_fn(p);
	if (u) PROBLEM("malloc_usable_size(%s) = %zu", what, u);
	*expected += 2; /* free and realloc report; usable_size is silent */
	if (getenv("FOREIGN_VERBOSE"))
		fprintf(stderr, "poke %s: %d reports\n", what,
		        count_reports("foreign-pointer") - before);
}

static const unsigned char static_buf[256] __attribute__((aligned(64))) = {
    0x11,        0x22,         0x33,         0x44,         [63] = 0xa1,
    [64] = 0x55, [127] = 0x8e, [128] = 0x66, [143] = 0x8f, [200] = 0x77};

static int mode_readonly(void)
{
	int expected = 0;
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char *ro =
	    mmap(NULL, 4 * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* Bytes that look like hakmem headers in front of each probe. */
	memset(ro, 0, 4 * (size_t)pg);
	ro[15] = 0xa1;  /* live Tiny header */
	ro[63] = 0x8e;  /* large header */
	ro[127] = 0x8f; /* aligned-pointer header */
	ro[pg - 1] = 0x91;
	mprotect(ro, 4 * (size_t)pg, PROT_READ);
	unsigned char copy[256];
	memcpy(copy, static_buf, sizeof copy);

	const size_t offs[] = {0, 16, 64, 128, 144, 4096, 4096 + 16};
	for (unsigned i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		char what[64];
		snprintf(what, sizeof what, "PROT_READ mapping + %zu", offs[i]);
		poke(ro + offs[i], what, &expected);
	}
	for (unsigned off = 0; off < 256; off += 16) {
		char what[64];
		snprintf(what, sizeof what, "static const buffer + %u", off);
		poke((void *)(static_buf + off), what, &expected);
	}
	if (memcmp(copy, static_buf, sizeof copy)) PROBLEM("the static const buffer was written");
	/* A stack address and the address of a function, too. */
	char local[64] = "stack";
	poke(local + 16, "a stack buffer", &expected);
	if (strcmp(local, "stack")) PROBLEM("the stack buffer was written");
	poke((void *)(uintptr_t)&mode_readonly, "a function", &expected);

	int got = count_reports("foreign-pointer");
	printf("readonly: %d foreign-pointer reports for %d bad calls\n", got, expected);
	if (got != expected) PROBLEM("expected %d foreign-pointer reports, got %d", expected, got);
	munmap(ro, 4 * (size_t)pg);
	return problems != 0;
}

static int mode_unmapped(void)
{
	int expected = 0;
	long pg = sysconf(_SC_PAGESIZE);

	/* The first report maps memory (its malloc goes to a span of its own):
	 * have it now, so nothing lands in the holes made below. */
	poke((void *)(static_buf + 16), "a static buffer", &expected);

	/* Just past an munmap'd region: the page before each probe is gone. */
	unsigned char *r =
	    mmap(NULL, 8 * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(r, 8 * (size_t)pg);
	const size_t offs[] = {0, 16, 64, (size_t)pg, (size_t)pg + 16, 7 * (size_t)pg + 64};
	for (unsigned i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		char what[64];
		snprintf(what, sizeof what, "an unmapped region + %zu", offs[i]);
		poke(r + offs[i], what, &expected);
	}

	/* Into a guard page: readable page, then PROT_NONE. p-1 and p-16 are
	 * readable, p itself is not; and the other way round. */
	unsigned char *g =
	    mmap(NULL, 3 * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(g, 0xa1, (size_t)pg);
	mprotect(g + pg, (size_t)pg, PROT_NONE);
	poke(g + pg, "the start of a guard page", &expected);
	poke(g + pg + 16, "inside a guard page", &expected);
	poke(g + 2 * pg, "just past a guard page", &expected);
	poke(g + 2 * pg + 64, "64 bytes past a guard page", &expected);
	munmap(g, 3 * (size_t)pg);

	/* A freed large span (unmapped when the cache is off) and an address
	 * 2 MiB-aligned like a SuperSlab, but not one. */
	void *big = malloc(8 << 20);
	free(big); /* the legitimate free */
	int before = count_reports("double-free");
	poke(big, "a freed large span", &expected);
	expected -= 2;
	int df = count_reports("double-free") - before;
	if (df < 2)
		PROBLEM("free/realloc of a freed large span: %d double-free reports, want 2", df);
	/* munmap'd by now or sitting in the large cache: either way a report */
	unsigned char *ss = mmap(NULL, 4u << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *al =
	    (unsigned char *)(((uintptr_t)ss + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
	poke(al + 4096 + 16, "a PROT_NONE 2 MiB-aligned region", &expected);
	munmap(ss, 4u << 20);

	/* Non-canonical and near-NULL addresses. */
	poke((void *)(uintptr_t)16, "address 16", &expected);
	poke((void *)(uintptr_t)4096, "address 4096", &expected);
	poke((void *)(uintptr_t)0x800000000010ull, "a non-canonical address", &expected);
	poke((void *)(uintptr_t)0xffff800000000010ull, "a kernel address", &expected);
	poke((void *)(uintptr_t)-16, "address -16", &expected);

	int got = count_reports("foreign-pointer");
	printf("unmapped: %d foreign-pointer reports for %d bad calls, %d double-free\n", got,
	       expected, df);
	if (got != expected) PROBLEM("expected %d foreign-pointer reports, got %d", expected, got);
	return problems != 0;
}

/* ---- linkwrite: use-after-free writes into links, several threads ---- */

#define NT 4
#define ROUNDS 200
static pthread_barrier_t bar;
static volatile uintptr_t garbage_seen;

static void *linkwrite_thread(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint32_t r = id * 2654435761u | 1;
	for (int round = 0; round < ROUNDS; round++) {
		void *b[32];
		size_t n = 16 + (id * 16 + (unsigned)round) % 200;
		for (int i = 0; i < 32; i++) {
			b[i] = malloc(n);
			if (!b[i]) {
				PROBLEM("malloc failed");
				return NULL;
			}
			/* A block on a free list never comes back with a wild link. */
			uintptr_t v = (uintptr_t)b[i];
			if (v & 15) garbage_seen = v;
			memset(b[i], 0x5a, n);
		}
		for (int i = 0; i < 32; i++)
			free(b[i]);
		/* The dangling writes: the link word of a few freed blocks. */
		for (int i = 0; i < 32; i += 8) {
			r ^= r << 13, r ^= r >> 17, r ^= r << 5;
			uint64_t junk = 0x4141414141414141ull ^ r;
			memcpy(b[i], &junk, sizeof junk);
		}
		if (round % 16 == 0)
			pthread_barrier_wait(&bar); /* mix: others allocate meanwhile */
	}
	return NULL;
}

/* Single-threaded and deterministic (HAKMEM_QUARANTINE_KB=0): a dangling
 * write into the link of a block in the thread cache's bin. deep=0: the
 * bin's head (the block freed last), which the next malloc pops; deep=1: a
 * block ten links down, which the bin's next flush walks through. The
 * report must be followed by a working allocator.
 * 250 frees put a 32-byte class's bin near its cap (256 blocks, tcache.c
 * hak_bin_cap), so the flush that follows keeps 128 blocks: it walks 127
 * links of a list that the cut left much shorter than its count. */
#define LW_BLOCKS 600
#define LW_FREED 250
static int mode_linkwrite_bin(int deep)
{
	static void *b[LW_BLOCKS];
	for (int i = 0; i < LW_BLOCKS; i++)
		b[i] = malloc(32);
	hak_thread_flush(); /* the bin starts empty: the next 250 frees all stay in it */
	for (int i = 0; i < LW_FREED; i++)
		free(b[i]);
	uint64_t junk = 0x4141414141414141ull;
	memcpy(b[deep ? LW_FREED - 11 : LW_FREED - 1], &junk, sizeof junk);
	void *x = deep ? NULL : malloc(32); /* pops the damaged head */
	void *y = deep ? NULL : malloc(32);
	for (int i = LW_FREED; i < LW_BLOCKS; i++)
		free(b[i]); /* the bin reaches its cap and is flushed */
	free(x);
	free(y);
	hak_thread_flush();
	for (int i = 0; i < LW_BLOCKS; i++)
		b[i] = malloc(32);
	for (int i = 0; i < LW_BLOCKS; i++)
		free(b[i]);
	hak_thread_flush();
	long bad = hak_heap_check();
	int uaf = count_reports("use-after-free-write");
	printf("linkwrite-bin%s: %d use-after-free-write report(s), heap_check %ld\n",
	       deep ? " (deep)" : "", uaf, bad);
	if (uaf != 1) PROBLEM("expected one use-after-free-write report, got %d", uaf);
	if (bad) PROBLEM("hak_heap_check() = %ld", bad);
	return problems != 0;
}

static int mode_linkwrite_near(int deep)
{
	static unsigned char *b[LW_BLOCKS];
	for (int i = 0; i < LW_BLOCKS; i++) {
		b[i] = malloc(32);
		memset(b[i], 0x5a, 32);
	}
	hak_thread_flush();
	for (int i = 0; i < LW_FREED; i++)
		free(b[i]);
	/* The bin is LIFO: b[k]'s link leads to b[k - 1]. */
	int k = deep ? LW_FREED - 11 : LW_FREED - 1;
	unsigned char *wrong = (unsigned char *)((uintptr_t)b[k - 1] ^ 0x10);
	b[k][0] ^= 0x10;
	void *got[4] = {0};
	for (int i = 0; i < 4 && !deep; i++)
		if ((got[i] = malloc(32)) == wrong)
			PROBLEM("malloc handed out %p, 16 bytes off a block", wrong);
	for (int i = LW_FREED; i < LW_BLOCKS; i++)
		free(b[i]); /* the bin reaches its cap and is flushed */
	for (int i = 0; i < 4; i++)
		free(got[i]);
	hak_thread_flush();
	for (int i = 0; i < LW_BLOCKS; i++)
		if ((b[i] = malloc(32)) == wrong)
			PROBLEM("%p, 16 bytes off a block, came back from a slab", wrong);
	for (int i = 0; i < LW_BLOCKS; i++)
		free(b[i]);
	hak_thread_flush();
	long bad = hak_heap_check();
	int uaf = count_reports("use-after-free-write");
	printf("linkwrite-near%s: %d use-after-free-write report(s), heap_check %ld\n",
	       deep ? "-deep" : "", uaf, bad);
	if (uaf != 1) PROBLEM("expected one use-after-free-write report, got %d", uaf);
	if (bad) PROBLEM("hak_heap_check() = %ld", bad);
	return problems != 0;
}

static int mode_linkwrite_first(void)
{
	enum { CLASSES = 16, PER = 4 };
	/* One size per Tiny class (src/size_class.c strides, minus 8). */
	static const size_t size[CLASSES] = {8,   24,  40,  56,  72,  88,  104, 136,
	                                     168, 200, 264, 328, 392, 520, 776, 1032};
	static unsigned char *b[CLASSES][PER];
	for (int c = 0; c < CLASSES; c++)
		for (int i = 0; i < PER; i++)
			b[c][i] = malloc(size[c]);
	hak_thread_flush();
	for (int c = 0; c < CLASSES; c++)
		for (int i = 0; i < PER; i++)
			free(b[c][i]);
	uint64_t junk = 0x4141414141414141ull;
	for (int c = 0; c < CLASSES; c++)
		memcpy(b[c][PER - 1], &junk, sizeof junk); /* each bin's head */
	/* Pop every damaged head; fill what we get, as a program would. */
	unsigned char *got[CLASSES][2];
	for (int c = 0; c < CLASSES; c++)
		for (int i = 0; i < 2; i++) {
			got[c][i] = malloc(size[c]);
			if (got[c][i]) memset(got[c][i], 0x5a, size[c]);
		}
	/* The loader must still work: it shared no block with us. */
	void *h = dlopen("libm.so.6", RTLD_NOW);
	if (!h || !dlsym(h, "cos")) PROBLEM("dlopen/dlsym failed after the reports: %s", dlerror());
	for (int c = 0; c < CLASSES; c++)
		for (int i = 0; i < 2; i++)
			free(got[c][i]);
	hak_thread_flush();
	long bad = hak_heap_check();
	int uaf = count_reports("use-after-free-write");
	printf("linkwrite-first: %d use-after-free-write reports for %d damaged bins, heap_check "
	       "%ld\n",
	       uaf, CLASSES, bad);
	if (uaf != CLASSES)
		PROBLEM("expected %d use-after-free-write reports, got %d", CLASSES, uaf);
	if (bad) PROBLEM("hak_heap_check() = %ld", bad);
	return problems != 0;
}

static int mode_linkwrite(void)
{
	pthread_t t[NT];
	pthread_barrier_init(&bar, NULL, NT);
	for (unsigned i = 0; i < NT; i++)
		pthread_create(&t[i], NULL, linkwrite_thread, (void *)(uintptr_t)(i + 1));
	for (unsigned i = 0; i < NT; i++)
		pthread_join(t[i], NULL);
	/* The damaged lists are used again here: flush caches, allocate a lot. */
	hak_thread_flush();
	void *keep[4096];
	for (int i = 0; i < 4096; i++) {
		keep[i] = malloc(16 + (size_t)(i % 13) * 16);
		if (keep[i] && ((uintptr_t)keep[i] & 15))
			PROBLEM("a wild pointer %p was handed out", keep[i]);
	}
	for (int i = 0; i < 4096; i++)
		free(keep[i]);
	long bad = hak_heap_check();
	int uaf = count_reports("use-after-free-write");
	int other = count_reports("double-free") + count_reports("invalid-free") +
	            count_reports("header-corrupt") + count_reports("foreign-pointer") +
	            count_reports("interior-free");
	printf("linkwrite: %d use-after-free-write reports, %d other reports, heap_check %ld\n",
	       uaf, other, bad);
	if (garbage_seen) PROBLEM("a misaligned block %p was handed out", (void *)garbage_seen);
	if (uaf < NT)
		PROBLEM("only %d use-after-free-write reports for %d threads that wrote into freed "
		        "links",
		        uaf, NT);
	if (other) PROBLEM("%d reports of the wrong kind", other);
	/* Cut lists leak blocks but stay consistent. */
	if (bad) PROBLEM("hak_heap_check() = %ld after the damaged lists were cut", bad);
	return problems != 0;
}

/* Full mode and large blocks (> 32 KiB): malloc_usable_size must be the
 * request, as for slab blocks (docs/reference.md), and a write just past
 * the request must be reported as an overflow when the block is freed, as
 * it is for slab blocks. */
static int mode_large_overflow(void)
{
	static const size_t sizes[] = {100, 5000, 40000, 100000, 3u << 20};
	int want = 0;
	for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		char *p = malloc(sizes[i]);
		size_t u = malloc_usable_size(p);
		if (u != sizes[i])
			PROBLEM("malloc(%zu): malloc_usable_size %zu, not the request", sizes[i],
			        u);
		int before = count_reports("overflow");
		p[sizes[i] + 3] = 'x'; /* 4 bytes past the request, inside the slack */
		free(p);
		want++;
		if (count_reports("overflow") == before)
			PROBLEM("malloc(%zu): a write 4 bytes past the request went unreported",
			        sizes[i]);
	}
	printf("large-overflow: %d overflow reports for %d overruns\n", count_reports("overflow"),
	       want);
	return problems != 0;
}

/* The process's very first allocator call is a free of a foreign pointer
 * (nothing before main allocates in this program): the settings must
 * already apply. HAKMEM_ON_ERROR=ignore: not a byte anywhere; report: the
 * report goes to HAKMEM_LOG, not to stderr. */
static int mode_first_call(void)
{
	const char *on_error = getenv("HAKMEM_ON_ERROR");
	char errpath[] = "/tmp/hakmem-first-call-XXXXXX";
	int fd = mkstemp(errpath);
	int saved = dup(2);
	dup2(fd, 2);
	free_fn((void *)(static_buf + 16)); /* the first call into hakmem */
	dup2(saved, 2);
	off_t err_bytes = lseek(fd, 0, SEEK_END);
	close(fd);
	unlink(errpath);
	int got = count_reports("foreign-pointer");
	int want = !strcmp(on_error, "ignore") ? 0 : 1;
	printf("first-call (HAKMEM_ON_ERROR=%s): %d report(s) in HAKMEM_LOG, %ld bytes on stderr\n",
	       on_error, got, (long)err_bytes);
	if (got != want) PROBLEM("%d foreign-pointer reports in HAKMEM_LOG, want %d", got, want);
	if (err_bytes)
		PROBLEM("%ld bytes went to stderr instead of HAKMEM_LOG (or nowhere)",
		        (long)err_bytes);
	free(malloc(10));
	return problems != 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	const char *on_error = getenv("HAKMEM_ON_ERROR");
	log_path = getenv("HAKMEM_LOG");
	if (!log_path || !on_error || (strcmp(on_error, "report") && strcmp(mode, "first-call"))) {
		fprintf(stderr, "run with HAKMEM_ON_ERROR=report and HAKMEM_LOG=FILE\n");
		return 2;
	}
	/* HAKMEM_LOG is appended to: start afresh. Truncated, not unlinked:
	 * hakmem may have opened it already (libhakmem.so's constructor). */
	if (truncate(log_path, 0) && errno != ENOENT) perror("truncate");
	if (!strcmp(mode, "first-call")) return mode_first_call();
	expect_hakmem_malloc();
	free(malloc(1)); /* hakmem reads its settings and opens HAKMEM_LOG */
	int rc;
	if (!strcmp(mode, "readonly"))
		rc = mode_readonly();
	else if (!strcmp(mode, "unmapped"))
		rc = mode_unmapped();
	else if (!strcmp(mode, "linkwrite"))
		rc = mode_linkwrite();
	else if (!strcmp(mode, "large-overflow"))
		rc = mode_large_overflow();
	else if (!strcmp(mode, "linkwrite-bin"))
		rc = mode_linkwrite_bin(0);
	else if (!strcmp(mode, "linkwrite-deep"))
		rc = mode_linkwrite_bin(1);
	else if (!strcmp(mode, "linkwrite-first"))
		rc = mode_linkwrite_first();
	else if (!strcmp(mode, "linkwrite-near"))
		rc = mode_linkwrite_near(0);
	else if (!strcmp(mode, "linkwrite-near-deep"))
		rc = mode_linkwrite_near(1);
	else {
		fprintf(stderr, "usage: foreign "
		                "readonly|unmapped|linkwrite|linkwrite-bin|linkwrite-deep|"
		                "linkwrite-first|linkwrite-near|linkwrite-near-deep|first-call|"
		                "large-overflow\n");
		return 2;
	}
	if (rc) {
		FILE *f = fopen(log_path, "r");
		char line[512];
		int n = 0;
		fprintf(stderr, "--- %s (first lines)\n", log_path);
		while (f && fgets(line, sizeof line, f) && n++ < 40)
			fputs(line, stderr);
		if (f) fclose(f);
	}
	return rc;
}
