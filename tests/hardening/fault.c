/* Fault injection: mmap fails in the middle of every allocator path that
 * maps memory, and hakmem must not be the thing that fails.
 *
 * Linked to the hakmem-fault archive (HAKMEM_FAULT_INJECTION): the hak_*
 * API only, so this program's own malloc stays glibc's. The internal
 * hak_fault_mmap_set(first, count) makes the first-th to (first+count-1)-th
 * mmap from now fail with ENOMEM; HAKMEM_FAULT_MMAP=N[:K] does the same
 * from process start.
 *
 * One fixed workload touches every path that maps: the first SuperSlab
 * (refill), its registry leaf, a later SuperSlab once the first is full,
 * the Mid pool's SuperSlab, large spans, the large-span table (first map
 * and its growth), full mode's per-slab record tables, the quarantine ring
 * and the stack depot, a second thread's own ring.
 *
 *   fault matrix          run it once without faults and print, for every
 *                         mmap, its number, size, the workload step and the
 *                         path it serves (the fault-injection matrix)
 *   fault sweep [K]       for every N, in a fresh child: fail mmap N..N+K-1
 *                         and check that the step that needed it returned
 *                         NULL with ENOMEM (or, for full mode's extras,
 *                         degraded silently), that nothing crashed, that
 *                         hak_heap_check() is 0 and that every later
 *                         allocation succeeds
 *   fault all             every mmap fails: every allocation is NULL/ENOMEM
 *   fault env             HAKMEM_FAULT_MMAP from the environment (ctest sets
 *                         it), with HAKMEM_PREWARM: the failed prewarm warns
 *                         and the workload still runs
 *   fault one STEP-KIND   a single named scenario (see scenarios[] below)
 *
 * Full mode is chosen with HAKMEM_CHECK=full in the environment. */
#include "hakmem.h"
#include "problem.h"
#include "large.h"      /* HAK_LARGE_OWN_MAP */
#include "page_heap.h"  /* the region size, which the matrix names */
#include "quarantine.h" /* the ring's size, which the matrix names */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* Internal, hidden but linkable from the archive (src/os.h). */
void hak_fault_mmap_set(long first, long count);
/* The check level, in src/check.h's entry gate (declared there only with
 * HAKMEM_CHECKS, which this program is not built with): the same tag and
 * members, so the same type. */
extern union hak_entry_gate {
	struct {
		int level;
		int per_call;
	} f;
	uint64_t word;
} hak_entry_gate;
#define hak_check_level (hak_entry_gate.f.level)

/* ---- mmap log: the archive's mmap calls bind to this definition ---- */

#define MAXLOG 8192
static struct {
	size_t len;
	int step;
} mlog[MAXLOG];
static int nmlog;
static int cur_step;

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED && nmlog < MAXLOG) {
		mlog[nmlog].len = len;
		mlog[nmlog].step = cur_step;
		nmlog++;
	}
	return p;
}

/* ---- blocks with a pattern ---- */

struct blk {
	unsigned char *p;
	size_t n;
	unsigned seed;
};

#define MAXBLK 4096
static struct blk live[MAXBLK];
static int nlive;
static unsigned next_seed = 1;

static unsigned char pat(unsigned seed, size_t i)
{
	return (unsigned char)(seed * 131u + i * 7u + (i >> 8));
}

/* Blocks past 8 KiB are filled in their first and last 4 KiB and one byte
 * every 64 KiB: enough to see an overlap, cheap for multi-MiB blocks. */
static int sampled(size_t n, size_t i)
{
	return n <= 8192 || i < 4096 || i >= n - 4096 || !(i & 65535);
}

static void fill(struct blk *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (sampled(b->n, i)) b->p[i] = pat(b->seed, i);
}

static int verify(const struct blk *b, size_t upto)
{
	for (size_t i = 0; i < upto && i < b->n; i++) {
		if (!sampled(b->n, i)) continue;
		if (b->p[i] != pat(b->seed, i)) return 0;
	}
	return 1;
}

static void keep(void *p, size_t n)
{
	if (nlive == MAXBLK) {
		PROBLEM("block table full");
		return;
	}
	struct blk *b = &live[nlive++];
	b->p = p;
	b->n = n;
	b->seed = next_seed++;
	fill(b);
}

static void verify_all(const char *when)
{
	for (int i = 0; i < nlive; i++)
		if (!verify(&live[i], live[i].n))
			PROBLEM("%s: block %p (%zu bytes) lost its contents", when,
			        (void *)live[i].p, live[i].n);
}

static void heap_check(const char *when)
{
	long bad = hak_heap_check();
	if (bad) PROBLEM("%s: hak_heap_check() = %ld", when, bad);
}

/* ---- one allocation step, retried while mmap fails ---- */

enum op { OP_MALLOC, OP_CALLOC, OP_MEMALIGN, OP_POSIX_MEMALIGN, OP_ALIGNED_ALLOC, OP_REALLOC };

static int fail_forever; /* "fault all": nothing ever succeeds */
static long enomem_seen;

static void *do_op(enum op op, size_t a, size_t n, void *old, int *rc)
{
	void *p = NULL;
	*rc = 0;
	switch (op) {
	case OP_MALLOC:
		return hak_malloc(n);
	case OP_CALLOC:
		return hak_calloc(a, n);
	case OP_MEMALIGN:
		return hak_memalign(a, n);
	case OP_ALIGNED_ALLOC:
		return hak_aligned_alloc(a, n);
	case OP_REALLOC:
		return hak_realloc(old, n);
	case OP_POSIX_MEMALIGN:
		*rc = hak_posix_memalign(&p, a, n);
		return *rc ? NULL : p;
	}
	return NULL;
}

/* Runs op until it succeeds (at most 8 times); each failure must be NULL
 * with ENOMEM and leave the heap consistent. Returns the block, kept. */
static void *step(const char *name, enum op op, size_t a, size_t n, struct blk *old)
{
	size_t total = op == OP_CALLOC ? a * n : n;
	for (int attempt = 0; attempt < 8; attempt++) {
		int rc;
		errno = 0;
		void *p = do_op(op, a, n, old ? old->p : NULL, &rc);
		if (p) {
			size_t align =
			    op == OP_MEMALIGN || op == OP_POSIX_MEMALIGN || op == OP_ALIGNED_ALLOC
			        ? a
			        : 16;
			if ((uintptr_t)p % (align < 16 ? 16 : align))
				PROBLEM("%s: %p is not %zu-aligned", name, p, align);
			if (hak_malloc_usable_size(p) < total)
				PROBLEM("%s: usable size %zu < %zu", name,
				        hak_malloc_usable_size(p), total);
			if (op == OP_CALLOC)
				for (size_t i = 0; i < total; i++)
					if (((unsigned char *)p)[i]) {
						PROBLEM("%s: calloc block not zeroed at %zu", name,
						        i);
						break;
					}
			if (op == OP_REALLOC) {
				struct blk moved = *old;
				moved.p = p;
				if (!verify(&moved, n < old->n ? n : old->n))
					PROBLEM("%s: realloc lost the old contents", name);
				old->p = p;
				old->n = n;
				fill(old);
				return p;
			}
			keep(p, total);
			return p;
		}
		enomem_seen++;
		int err = op == OP_POSIX_MEMALIGN ? rc : errno;
		if (err != ENOMEM) PROBLEM("%s: failed with %s, not ENOMEM", name, strerror(err));
		if (op == OP_POSIX_MEMALIGN && errno != 0)
			PROBLEM("%s: posix_memalign changed errno to %d on failure", name, errno);
		if (op == OP_REALLOC && !verify(old, old->n))
			PROBLEM("%s: a failed realloc damaged the old block", name);
		if (getenv("FAULT_VERBOSE"))
			fprintf(stderr, "  %s: ENOMEM (attempt %d)\n", name, attempt + 1);
		heap_check(name);
		if (fail_forever) return NULL;
	}
	PROBLEM("%s: still failing after 8 attempts", name);
	return NULL;
}

static void free_block(int i)
{
	if (!verify(&live[i], live[i].n))
		PROBLEM("block %p lost its contents before free", (void *)live[i].p);
	hak_free(live[i].p);
	live[i] = live[--nlive];
}

/* ---- the workload ---- */

static const char *const step_names[] = {
    "init",         "first-tiny",     "first-free",    "tiny-fill",        "mid",
    "large",        "large-align",    "memalign-slab", "posix-memalign",   "calloc-large",
    "realloc-grow", "realloc-shrink", "thread",        "large-table-grow", "after",
};
enum {
	S_INIT,
	S_FIRST_TINY,
	S_FIRST_FREE,
	S_TINY_FILL,
	S_MID,
	S_LARGE,
	S_LARGE_ALIGN,
	S_MEMALIGN_SLAB,
	S_POSIX_MEMALIGN,
	S_CALLOC,
	S_REALLOC_GROW,
	S_REALLOC_SHRINK,
	S_THREAD,
	S_LARGE_TABLE,
	S_AFTER,
	S_COUNT
};

static void *thread_body(void *arg)
{
	(void)arg;
	/* A new thread: its own thread cache, its own quarantine ring. */
	void *a = step("thread-malloc", OP_MALLOC, 0, 64, NULL);
	void *b = step("thread-malloc-mid", OP_MALLOC, 0, 5000, NULL);
	for (int i = nlive - 1; i >= 0; i--)
		if (live[i].p == a || live[i].p == b) free_block(i);
	return NULL;
}

static void workload(void)
{
	cur_step = S_FIRST_TINY;
	int ok = step("first-tiny", OP_MALLOC, 0, 16, NULL) != NULL;

	cur_step = S_FIRST_FREE; /* full mode: the quarantine ring */
	if (ok) free_block(nlive - 1);
	step("second-tiny", OP_MALLOC, 0, 24, NULL);

	cur_step = S_TINY_FILL; /* past the first 2 MiB Tiny SuperSlab */
	for (int i = 0; i < 2100 && !problems; i++)
		if (!step("tiny-fill", OP_MALLOC, 0, 1000, NULL) && fail_forever) break;

	cur_step = S_MID;
	step("mid", OP_MALLOC, 0, 20000, NULL);
	cur_step = S_LARGE;
	step("large", OP_MALLOC, 0, 1 << 20, NULL);
	step("large", OP_MALLOC, 0, HAK_LARGE_OWN_MAP, NULL); /* a mapping of its own */
	cur_step = S_LARGE_ALIGN;
	step("large-align", OP_ALIGNED_ALLOC, 65536, 200000, NULL);
	cur_step = S_MEMALIGN_SLAB;
	step("memalign-slab", OP_MEMALIGN, 256, 3000, NULL);
	cur_step = S_POSIX_MEMALIGN;
	step("posix-memalign", OP_POSIX_MEMALIGN, 4096, 5000, NULL);
	cur_step = S_CALLOC;
	step("calloc-large", OP_CALLOC, 1000, 100, NULL);

	cur_step = S_REALLOC_GROW;
	if (step("realloc-base", OP_MALLOC, 0, 100, NULL)) {
		struct blk *b = &live[nlive - 1];
		step("realloc-grow", OP_REALLOC, 0, 2 << 20, b);
		cur_step = S_REALLOC_SHRINK;
		step("realloc-shrink", OP_REALLOC, 0, 100, b);
	}

	cur_step = S_THREAD;
	pthread_t t;
	if (pthread_create(&t, NULL, thread_body, NULL) == 0)
		pthread_join(t, NULL);
	else
		PROBLEM("pthread_create failed");

	/* 520 live large blocks: the span table grows from 1024 to 2048 slots
	 * at the 512th. Their spans are carved from the page heap's region,
	 * with no mmap of their own. */
	cur_step = S_LARGE_TABLE;
	for (int i = 0; i < 520 && !problems; i++)
		if (!step("large-table-grow", OP_MALLOC, 0, 40000 + (size_t)i * 64, NULL) &&
		    fail_forever)
			break;
}

static void finish(void)
{
	cur_step = S_AFTER;
	verify_all("end of workload");
	heap_check("end of workload");
	while (nlive)
		free_block(nlive - 1);
	heap_check("after freeing everything");
	if (!fail_forever) {
		/* Later allocations succeed, whatever failed before. */
		hak_fault_mmap_set(-1, 0);
		void *p[6] = {hak_malloc(16),
		              hak_malloc(20000),
		              hak_malloc(3 << 20),
		              hak_calloc(10, 10),
		              hak_aligned_alloc(4096, 100),
		              hak_memalign(1 << 16, 1 << 17)};
		for (int i = 0; i < 6; i++) {
			if (!p[i]) PROBLEM("allocation %d after the faults failed", i);
			hak_free(p[i]);
		}
		heap_check("after the faults");
	}
}

/* ---- path names for the matrix ---- */

static const char *path_of(size_t len, int step, int idx)
{
	(void)idx;
	if (len == (4u << 20)) return "SuperSlab (2 MiB, mapped 4 MiB for alignment)";
	if (len == (2u << 20) && step <= S_FIRST_TINY) return "stack depot index (full)";
	if (len == (2u << 20) && step == S_TINY_FILL)
		return "Small-Mid SuperSlab (1 MiB, mapped 2 MiB)";
	if (len == 16384 && step <= S_FIRST_TINY) return "registry leaf";
	if (len == (size_t)(1u << 18) * 144) return "stack depot records (full)";
	if (len == 65536 && step != S_LARGE && step != S_LARGE_TABLE)
		return "per-slab record table, Tiny slab (full)";
	if (len == 262144 && (step == S_MID || step == S_POSIX_MEMALIGN ||
	                      step == S_MEMALIGN_SLAB || step == S_THREAD))
		return "per-slab record table, Mid slab (full)";
	if (len == sizeof(struct hak_qring)) return "quarantine ring (full)";
	if (len == 8192 && step == S_LARGE) return "large-span table, first (1024 slots)";
	if (len == 16384 && step == S_LARGE_TABLE) return "large-span table growth (2048 slots)";
	if (step == S_AFTER && len < HAK_PAGE) return "heap check's damage list (full)";
	if (len == HAK_PH_REGION_BYTES) return "page-heap region (large spans are carved from it)";
	return "large span of its own (>= HAK_LARGE_OWN_MAP)";
}

static void matrix(void)
{
	workload();
	finish();
	printf("fault-injection matrix (HAKMEM_CHECK=%s): mmap number -> path\n",
	       hak_check_level == 2   ? "full"
	       : hak_check_level == 1 ? "fast"
	                              : "off");
	printf("%6s  %-18s %10s  %s\n", "mmap", "step", "bytes", "path");
	/* Runs of identical lines are folded: "N-M". */
	for (int i = 0; i < nmlog;) {
		int j = i;
		const char *path = path_of(mlog[i].len, mlog[i].step, i);
		while (j + 1 < nmlog && mlog[j + 1].step == mlog[i].step &&
		       !strcmp(path_of(mlog[j + 1].len, mlog[j + 1].step, j + 1), path) &&
		       (mlog[j + 1].len == mlog[i].len || !strncmp(path, "large span", 10)))
			j++;
		char num[32];
		if (j > i)
			snprintf(num, sizeof num, "%d-%d", i + 1, j + 1);
		else
			snprintf(num, sizeof num, "%d", i + 1);
		int same = 1;
		for (int k = i; k <= j; k++)
			same &= mlog[k].len == mlog[i].len;
		char bytes[32];
		if (same)
			snprintf(bytes, sizeof bytes, "%zu", mlog[i].len);
		else
			snprintf(bytes, sizeof bytes, "various");
		printf("%6s  %-18s %10s  %s%s\n", num, step_names[mlog[i].step], bytes, path,
		       j > i ? " (each)" : "");
		i = j + 1;
	}
	printf("total %d mmaps\n", nmlog);

	/* The single scenarios (fault one ...) count on these positions: if
	 * the allocator maps in another order, they must be updated. */
	static const size_t fast_first[] = {4u << 20, 16384};
	static const size_t full_first[] = {
	    4u << 20, 16384, 65536, (size_t)(1u << 18) * 144, 2u << 20, sizeof(struct hak_qring)};
	const size_t *want = hak_check_level == 2 ? full_first : fast_first;
	int nwant = hak_check_level == 2 ? 6 : 2;
	if (getenv("HAKMEM_SMALLMID") == NULL || hak_check_level == 2)
		for (int i = 0; i < nwant; i++)
			if (i >= nmlog || mlog[i].len != want[i])
				PROBLEM("mmap %d is %zu bytes, the scenarios expect %zu: update "
				        "fault.c's positions",
				        i + 1, i < nmlog ? mlog[i].len : 0, want[i]);
}

/* ---- sweep: one child per fault position ---- */

static int run_child(long first, long count)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		hak_fault_mmap_set(first, count);
		workload();
		finish();
		_exit(problems ? 1 : 0);
	}
	int st;
	waitpid(pid, &st, 0);
	if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static int sweep(long count)
{
	/* The positions come from a fault-free run in a child of its own. */
	int pfd[2];
	if (pipe(pfd)) return 1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		workload();
		finish();
		if (write(pfd[1], &nmlog, sizeof nmlog) != sizeof nmlog ||
		    write(pfd[1], mlog, sizeof mlog[0] * (size_t)nmlog) < 0)
			_exit(2);
		_exit(problems ? 1 : 0);
	}
	close(pfd[1]);
	int n = 0;
	if (read(pfd[0], &n, sizeof n) != sizeof n)
		n = -1;
	else {
		size_t want = sizeof mlog[0] * (size_t)n, got = 0;
		while (got < want) {
			ssize_t r = read(pfd[0], (char *)mlog + got, want - got);
			if (r <= 0) break;
			got += (size_t)r;
		}
	}
	close(pfd[0]);
	int st;
	waitpid(pid, &st, 0);
	if (n < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "FAIL: the fault-free run failed\n");
		return 1;
	}
	int bad = 0, tried = 0;
	for (int i = 0; i < n; i++) {
		const char *path = path_of(mlog[i].len, mlog[i].step, i);
		/* Of a run of one path in one step (large spans, record tables):
		 * its first two and its last. */
		int start = i;
		while (start > 0 && mlog[start - 1].step == mlog[i].step &&
		       !strcmp(path_of(mlog[start - 1].len, mlog[start - 1].step, start - 1), path))
			start--;
		int last = i + 1 == n || mlog[i + 1].step != mlog[i].step ||
		           strcmp(path_of(mlog[i + 1].len, mlog[i + 1].step, i + 1), path);
		if (i - start >= 2 && !last) continue;
		tried++;
		int rc = run_child(i + 1, count);
		if (rc) {
			bad++;
			fprintf(stderr,
			        "FAIL: HAKMEM_FAULT_MMAP=%d:%ld (mmap %d: %s, in step %s): %s %d\n",
			        i + 1, count, i + 1, path, step_names[mlog[i].step],
			        rc >= 128 ? "killed by signal" : "exit", rc >= 128 ? rc - 128 : rc);
		}
	}
	printf("sweep: %d of %d mmap positions failed (%d in the workload)\n", bad, tried, n);
	return bad != 0;
}

/* ---- single scenarios, each in this process ---- */

static int scenario(const char *name)
{
	long n = -1;
	/* Positions relative to "now", for a fresh process in fast mode: the
	 * refill's first SuperSlab is mmap 1 and its registry leaf mmap 2. */
	if (!strcmp(name, "refill-superslab")) {
		hak_fault_mmap_set(1, 1);
		step("first-tiny", OP_MALLOC, 0, 16, NULL);
		n = enomem_seen;
	} else if (!strcmp(name, "registry-leaf")) {
		hak_fault_mmap_set(2, 1);
		step("first-tiny", OP_MALLOC, 0, 16, NULL);
		n = enomem_seen;
	} else if (!strcmp(name, "later-superslab")) {
		/* Fill the first Tiny SuperSlab, then fail the next map: the run
		 * of two SuperSlabs, and the one it falls back to. */
		step("first-tiny", OP_MALLOC, 0, 1000, NULL);
		struct hak_stats st;
		hak_stats_get(&st);
		uint64_t before = st.superslabs_mapped;
		/* fast mode only: in full mode every new slab maps its record
		 * table first (the sweep covers that). */
		hak_fault_mmap_set(1, 2);
		for (int i = 0; i < 2100 && !problems; i++) {
			step("tiny-fill", OP_MALLOC, 0, 1000, NULL);
			if (enomem_seen) break;
		}
		hak_stats_get(&st);
		if (st.superslabs_mapped != before + 1)
			PROBLEM("expected exactly one more SuperSlab, got %llu",
			        (unsigned long long)(st.superslabs_mapped - before));
		n = enomem_seen;
	} else if (!strcmp(name, "large-span")) {
		step("first-tiny", OP_MALLOC, 0, 16, NULL);
		hak_fault_mmap_set(1, 1);
		step("large", OP_MALLOC, 0, 1 << 20, NULL);
		n = enomem_seen;
	} else if (!strcmp(name, "large-table-first")) {
		step("first-tiny", OP_MALLOC, 0, 16, NULL);
		hak_fault_mmap_set(2, 1); /* the page-heap region 1, the table 2 */
		step("large", OP_MALLOC, 0, 1 << 20, NULL);
		n = enomem_seen;
	} else if (!strcmp(name, "large-table-growth")) {
		/* 1024 slots, grown when an insert would fill half: at the 513th. */
		for (int i = 0; i < 512; i++)
			step("large-fill", OP_MALLOC, 0, 40000 + (size_t)i * 64, NULL);
		/* The 513th: its span comes from the page heap's first region, so
		 * the table's growth is the first mmap. */
		hak_fault_mmap_set(1, 1);
		step("large-513", OP_MALLOC, 0, 40000 + (size_t)512 * 64, NULL);
		n = enomem_seen;
	} else if (!strcmp(name, "realloc-grow")) {
		step("base", OP_MALLOC, 0, 100, NULL);
		hak_fault_mmap_set(1, 1);
		step("realloc-grow", OP_REALLOC, 0, 2 << 20, &live[nlive - 1]);
		n = enomem_seen;
	} else if (!strcmp(name, "track-table")) {
		/* full: mmaps of the first malloc are SuperSlab, leaf, record
		 * table, depot records, depot index. The record table fails:
		 * the block is served without records (silently). */
		hak_fault_mmap_set(3, 1);
		step("first-tiny", OP_MALLOC, 0, 16, NULL);
		free_block(nlive - 1);
		step("second-tiny", OP_MALLOC, 0, 16, NULL);
		n = enomem_seen ? -2 : 0;
	} else if (!strcmp(name, "depot-records")) {
		hak_fault_mmap_set(4, 1);
		step("first-tiny", OP_MALLOC, 0, 16, NULL);
		step("second", OP_MALLOC, 0, 200, NULL); /* another stack */
		free_block(nlive - 1);
		n = enomem_seen ? -2 : 0;
	} else if (!strcmp(name, "depot-index")) {
		hak_fault_mmap_set(5, 1);
		step("first-tiny", OP_MALLOC, 0, 16, NULL);
		step("second", OP_MALLOC, 0, 200,
		     NULL); /* another stack: the depot is used again */
		free_block(nlive - 1);
		n = enomem_seen ? -2 : 0;
	} else if (!strcmp(name, "quarantine-ring")) {
		step("first-tiny", OP_MALLOC, 0, 16, NULL);
		step("second-tiny", OP_MALLOC, 0, 16, NULL);
		hak_fault_mmap_set(1, 1);
		free_block(nlive - 1); /* the ring cannot be mapped: freed at once */
		free_block(nlive - 1); /* the ring maps now */
		n = enomem_seen ? -2 : 0;
	} else {
		fprintf(stderr, "unknown scenario %s\n", name);
		return 2;
	}
	if (n == 0 && strcmp(name, "track-table") && strcmp(name, "depot-records") &&
	    strcmp(name, "depot-index") && strcmp(name, "quarantine-ring"))
		PROBLEM("%s: the injected fault was never seen as ENOMEM", name);
	if (n == -2) PROBLEM("%s: a full-mode extra failing made an allocation fail", name);
	finish();
	if (!problems) printf("%s: ok (%ld ENOMEM seen)\n", name, enomem_seen);
	return problems != 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "matrix";
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(mode, "matrix")) {
		matrix();
		return problems != 0;
	}
	if (!strcmp(mode, "sweep")) return sweep(argc > 2 ? atol(argv[2]) : 1);
	if (!strcmp(mode, "all")) {
		fail_forever = 1;
		hak_fault_mmap_set(1, 1L << 40);
		workload();
		if (nlive) PROBLEM("%d allocations succeeded although every mmap failed", nlive);
		finish();
		printf("all: %ld allocations failed with ENOMEM, heap clean\n", enomem_seen);
		return problems != 0;
	}
	if (!strcmp(mode, "env")) {
		if (getenv("HAKMEM_LOG")) /* appended to: start afresh (hakmem opens it at its first
		                             call) */
			unlink(getenv("HAKMEM_LOG"));
		workload();
		finish();
		/* The failed prewarm must have said so, once, in HAKMEM_LOG. */
		const char *log = getenv("HAKMEM_LOG");
		if (log) {
			char buf[4096] = {0};
			FILE *f = fopen(log, "r");
			size_t got = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
			if (f) fclose(f);
			buf[got] = 0;
			char *hit = strstr(buf, "HAKMEM_PREWARM");
			if (!hit)
				PROBLEM("no HAKMEM_PREWARM warning in %s: %s", log, buf);
			else if (strstr(hit + 1, "HAKMEM_PREWARM"))
				PROBLEM("more than one HAKMEM_PREWARM warning: %s", buf);
			else
				printf("env: the log says: %s", hit - strlen("hakmem: "));
		}
		printf("env: %ld ENOMEM seen, heap clean\n", enomem_seen);
		return problems != 0;
	}
	if (!strcmp(mode, "one") && argc > 2) return scenario(argv[2]);
	fprintf(stderr, "usage: fault matrix|sweep [K]|all|env|one SCENARIO\n");
	return 2;
}
