/* libFuzzer harness for the hak_* API (never the process's malloc:
 * libFuzzer itself allocates through glibc).
 *
 * The input is a sequence of operations. Each op's first byte picks the
 * thread (bit 7) and the operation; the bytes after it are its arguments.
 * Two threads run their halves concurrently: the fuzzer's thread and a
 * long-lived worker. A block can be handed to the other thread through a
 * mutex-protected inbox, where that thread verifies it and frees it,
 * reallocates it or adopts it: blocks routinely die on the thread that did
 * not allocate them.
 *
 * A reference model checks every block: filled with a per-block pattern,
 * verified before every free and realloc (and the kept prefix after it);
 * usable size >= the request; alignment; calloc zeroing; errno and return
 * values of impossible requests. At the end of each input everything is
 * freed and hak_heap_check() must be 0. Any failure aborts, which
 * libFuzzer records as a crash with the input that caused it.
 *
 * The ptr_track level is HAKMEM_CHECK (off, fast or full), read at the
 * first call; heap errors abort under the default HAKMEM_ON_ERROR.
 *
 * Built twice (tests/hardening/clang): fuzz_hak, the allocator with
 * coverage and UBSan; fuzz_hak_asan (FUZZ_ASAN), the allocator's ASan
 * flavour, which poisons freed and unrequested bytes by hand, with this
 * harness under AddressSanitizer. */
#include "hakmem.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 64
#define INBOX 128
#define MAX_OPS 4096

struct blk {
	uint8_t *p;
	size_t n; /* bytes the model owns (request, or usable after op_usable) */
	uint32_t seed;
	size_t align;
};

struct inbox {
	pthread_mutex_t lock;
	struct blk q[INBOX];
	unsigned head, count;
};

struct ctx {
	int id;
	struct blk slot[SLOTS];
	struct inbox in;
	const uint8_t *ops[MAX_OPS]; /* start of each op of this thread */
	size_t lens[MAX_OPS];
	unsigned nops;
	uint32_t seed;
};

static struct ctx ctxs[2];
static int level; /* 0 off, 1 fast, 2 full: full's usable size is the request */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "fuzz_hak: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/* ---- the pattern ---- */

static inline uint8_t pat(uint32_t seed, size_t i)
{
	return (uint8_t)((seed ^ (uint32_t)(i >> 3)) * 0x9e3779b1u >> 24) ^ (uint8_t)i;
}

/* Big blocks: first and last 2 KiB and one byte per 64 KiB. The
 * harness's own loops need no coverage feedback: they only slow it down. */
#define NOCOV __attribute__((no_sanitize("coverage")))

#define GAP 65535u
static inline int sampled(size_t n, size_t i)
{
	return n <= 4096 || i < 2048 || i >= n - 2048 || !(i & GAP);
}

/* Calls fn on each sampled index of [from, upto) for a block of n bytes. */
#define FOR_SAMPLED(n, from, upto, i)                                                              \
	for (size_t i = (from); i < (upto);                                                        \
	     i = (n) <= 4096 || i < 2047 || i + 1 >= (n)-2048                                      \
	             ? i + 1                                                                       \
	             : ((i | GAP) + 1 < (n)-2048 ? (i | GAP) + 1 : (n)-2048))

NOCOV static void fill_from(struct blk *b, size_t from)
{
	FOR_SAMPLED(b->n, from, b->n, i)
	if (sampled(b->n, i)) b->p[i] = pat(b->seed, i);
}

NOCOV static void check(const struct blk *b, size_t upto, const char *when)
{
	if (upto > b->n) upto = b->n;
	FOR_SAMPLED(b->n, 0, upto, i)
	if (sampled(b->n, i) && b->p[i] != pat(b->seed, i))
		die("%s: block %p (%zu bytes, align %zu) byte %zu is 0x%02x, expected 0x%02x", when,
		    (void *)b->p, b->n, b->align, i, b->p[i], pat(b->seed, i));
}

NOCOV static size_t nonzero_at(const uint8_t *p, size_t n)
{
	FOR_SAMPLED(n, 0, n, i)
	if (sampled(n, i) && p[i]) return i;
	return SIZE_MAX;
}

static void check_new(struct ctx *c, struct blk *b, void *p, size_t n, size_t align,
                      const char *what)
{
	if (!p) die("%s(%zu, align %zu) returned NULL (errno %d)", what, n, align, errno);
	size_t a = align < 16 ? 16 : align;
	if ((uintptr_t)p % a) die("%s(%zu): %p is not %zu-aligned", what, n, p, a);
	size_t u = hak_malloc_usable_size(p);
	if (u < n) die("%s(%zu): usable size %zu is smaller", what, n, u);
	/* Full mode reports the request for slab blocks; large spans (header
	 * byte 0x8e) still report the span (bug 7, hardening.security.large-*). */
	if (level == 2 && u != n && ((uint8_t *)p)[-1] != 0x8e)
		die("%s(%zu): full mode usable size %zu is not the request", what, n, u);
	b->p = p;
	b->n = n;
	b->align = align;
	b->seed = ++c->seed * 2654435761u + (uint32_t)c->id;
	fill_from(b, 0);
}

static void release(struct blk *b, const char *when)
{
	if (!b->p) return;
	check(b, b->n, when);
	hak_free(b->p);
	b->p = NULL;
}

/* ---- argument decoding ---- */

struct rd {
	const uint8_t *p, *end;
};

static uint8_t u8(struct rd *r)
{
	return r->p < r->end ? *r->p++ : 0;
}
static uint16_t u16(struct rd *r)
{
	return (uint16_t)(u8(r) | u8(r) << 8);
}
static uint32_t u24(struct rd *r)
{
	return (uint32_t)u16(r) | (uint32_t)u8(r) << 16;
}

static const size_t edges[] = {
    0,    1,    15,    16,    17,    31,    32,    33,    47,    63,     64,      255,
    256,  257,  511,   512,   1023,  1024,  1039,  1040,  1041,  1295,   1296,    4095,
    4096, 4097, 16399, 16400, 32767, 32768, 32769, 32783, 65536, 131072, 1 << 20, (1 << 20) + 1};

static size_t size_arg(struct rd *r)
{
	uint8_t k = u8(r);
	switch (k % 8) {
	case 0:
	case 1:
		return u16(r) % 1041; /* Tiny */
	case 2:
		return u8(r); /* small */
	case 3:
		return 1040 + u16(r) % (32769 - 1040); /* Mid */
	case 4:
		return edges[u8(r) % (sizeof edges / sizeof edges[0])];
	case 5:
		return 32769 + u24(r) % (2u << 20); /* large */
	case 6:
		return (k & 0xf0) == 0xf0 ? (size_t)u24(r) * 8 % (8u << 20)
		                          : u16(r) % 300; /* rare huge */
	default:
		return u16(r) % 4200;
	}
}

static size_t align_arg(struct rd *r)
{
	uint8_t k = u8(r);
	return (size_t)1 << (k % 23); /* 1 .. 4 MiB */
}

/* ---- inboxes ---- */

static int inbox_put(struct ctx *to, const struct blk *b)
{
	pthread_mutex_lock(&to->in.lock);
	int ok = to->in.count < INBOX;
	if (ok) {
		to->in.q[(to->in.head + to->in.count) % INBOX] = *b;
		to->in.count++;
	}
	pthread_mutex_unlock(&to->in.lock);
	return ok;
}

static int inbox_take(struct ctx *c, struct blk *b)
{
	pthread_mutex_lock(&c->in.lock);
	int ok = c->in.count > 0;
	if (ok) {
		*b = c->in.q[c->in.head];
		c->in.head = (c->in.head + 1) % INBOX;
		c->in.count--;
	}
	pthread_mutex_unlock(&c->in.lock);
	return ok;
}

/* ---- one operation ---- */

enum {
	OP_MALLOC,
	OP_CALLOC,
	OP_REALLOC,
	OP_FREE,
	OP_MEMALIGN,
	OP_POSIX_MEMALIGN,
	OP_ALIGNED_ALLOC,
	OP_USABLE,
	OP_HANDOFF,
	OP_TAKE,
	OP_VALLOC,
	OP_FLUSH,
	OP_REALLOC_EDGE,
	OP_BAD,
	OP_FREE_NULL,
	OP_HEAP_CHECK,
	OP_REALLOCARRAY,
	NOPS
};

static void bad_requests(struct rd *r)
{
	void *p = (void *)&p;
	errno = 0;
	switch (u8(r) % 10) {
	case 0:
		if (hak_malloc(SIZE_MAX - u8(r)) || errno != ENOMEM)
			die("malloc(SIZE_MAX - k): not NULL/ENOMEM (errno %d)", errno);
		break;
	case 1:
		if (hak_malloc((size_t)PTRDIFF_MAX + 1 + u8(r)) || errno != ENOMEM)
			die("malloc(PTRDIFF_MAX + 1): not NULL/ENOMEM");
		break;
	case 2:
		if (hak_calloc(SIZE_MAX / 2 + 1 + u8(r), 2) || errno != ENOMEM)
			die("calloc overflow: not NULL/ENOMEM");
		break;
	case 3: {
		size_t a = (size_t)u8(r) | 1; /* odd: never a valid alignment */
		if (a == 1) a = 3;
		if (hak_posix_memalign(&p, a, 10) != EINVAL || p != (void *)&p)
			die("posix_memalign(align %zu): not EINVAL, or *out written", a);
		if (hak_posix_memalign(&p, 4, 10) != EINVAL || p != (void *)&p)
			die("posix_memalign(align 4 < sizeof(void *)): not EINVAL");
		break;
	}
	case 4:
		if (hak_aligned_alloc(24 + 16 * (size_t)(u8(r) % 4), 10) || errno != EINVAL)
			die("aligned_alloc(non power of two): not NULL/EINVAL");
		break;
	case 5:
		if (hak_memalign(SIZE_MAX, 1) || errno != EINVAL)
			die("memalign(SIZE_MAX): not NULL/EINVAL");
		break;
	case 6:
		if (hak_pvalloc(SIZE_MAX - u8(r)) || errno != ENOMEM)
			die("pvalloc(SIZE_MAX): not NULL/ENOMEM");
		break;
	case 7:
		if (hak_reallocarray(NULL, SIZE_MAX / 3, 4) || errno != ENOMEM)
			die("reallocarray overflow: not NULL/ENOMEM");
		break;
	case 8:
		if (hak_memalign(4096, SIZE_MAX - 100) || errno != ENOMEM)
			die("memalign(4096, huge): not NULL/ENOMEM");
		break;
	default:
		if (hak_posix_memalign(&p, 64, SIZE_MAX - 10) != ENOMEM || p != (void *)&p)
			die("posix_memalign(huge): not ENOMEM, or *out written");
		break;
	}
}

static void run_op(struct ctx *c, const uint8_t *op, size_t len)
{
	struct rd r = {op + 1, op + len};
	unsigned kind = (op[0] & 0x7f) % NOPS;
	struct ctx *other = &ctxs[!c->id];
	struct blk *b = &c->slot[u8(&r) % SLOTS];
	size_t n, a;
	void *p;
	int rc;

	switch (kind) {
	case OP_MALLOC:
		n = size_arg(&r);
		release(b, "malloc over a slot");
		check_new(c, b, hak_malloc(n), n, 16, "malloc");
		break;
	case OP_CALLOC: {
		size_t m = u8(&r) % 17;
		n = size_arg(&r);
		if (m && n > (4u << 20) / m) /* calloc zeroes it all: keep it cheap */
			n = (4u << 20) / m;
		release(b, "calloc over a slot");
		p = hak_calloc(m, n);
		if (!p) die("calloc(%zu, %zu) returned NULL", m, n);
		size_t z = nonzero_at(p, m * n);
		if (z != SIZE_MAX)
			die("calloc(%zu, %zu): byte %zu is 0x%02x", m, n, z, ((uint8_t *)p)[z]);
		check_new(c, b, p, m * n, 16, "calloc");
		break;
	}
	case OP_REALLOC:
	case OP_REALLOCARRAY: {
		n = size_arg(&r);
		if (!b->p) {
			check_new(c, b, hak_realloc(NULL, n), n, 16, "realloc(NULL)");
			break;
		}
		check(b, b->n, "before realloc");
		if (kind == OP_REALLOCARRAY) {
			size_t m = 1 + u8(&r) % 4;
			n = n / m ? n / m : 1;
			p = hak_reallocarray(b->p, m, n);
			n *= m;
		} else {
			p = hak_realloc(b->p, n ? n : 1);
			n = n ? n : 1;
		}
		if (!p) die("realloc(%p, %zu) returned NULL", (void *)b->p, n);
		if ((uintptr_t)p % 16) die("realloc: %p not 16-aligned", p);
		if (hak_malloc_usable_size(p) < n)
			die("realloc(%zu): usable size %zu", n, hak_malloc_usable_size(p));
		struct blk moved = *b;
		moved.p = p;
		check(&moved, n, "kept prefix after realloc");
		b->p = p;
		b->n = n;
		b->align = 16;
		/* sampling depends on the size: rewrite the whole block */
		fill_from(b, 0);
		break;
	}
	case OP_FREE:
		release(b, "free");
		break;
	case OP_MEMALIGN:
		a = align_arg(&r);
		if (u8(&r) & 1) a += a > 1 ? a / 2 : 2; /* not a power of two: rounded up */
		n = size_arg(&r);
		release(b, "memalign over a slot");
		p = hak_memalign(a, n);
		{
			size_t want = 1;
			while (want < a)
				want <<= 1;
			check_new(c, b, p, n, want, "memalign");
		}
		break;
	case OP_POSIX_MEMALIGN:
		a = align_arg(&r);
		if (a < sizeof(void *)) a = sizeof(void *);
		n = size_arg(&r);
		release(b, "posix_memalign over a slot");
		p = NULL;
		rc = hak_posix_memalign(&p, a, n);
		if (rc) die("posix_memalign(%zu, %zu) = %d", a, n, rc);
		check_new(c, b, p, n, a, "posix_memalign");
		break;
	case OP_ALIGNED_ALLOC:
		a = align_arg(&r);
		n = size_arg(&r);
		release(b, "aligned_alloc over a slot");
		check_new(c, b, hak_aligned_alloc(a, n), n, a, "aligned_alloc");
		break;
	case OP_USABLE:
		/* What malloc_usable_size promises is the program's to use. */
		if (b->p) {
			size_t u = hak_malloc_usable_size(b->p);
			if (u < b->n)
				die("usable size %zu of %p shrank below %zu", u, (void *)b->p,
				    b->n);
#if defined(FUZZ_ASAN)
			/* The ASan flavour poisons [request, usable): bug 2, tested by
			 * hardening.security.asan-usable-size, not here. */
			if (0) {
#else
			if (u <= (1u << 20) && (u8(&r) & 1)) {
#endif
				size_t old = b->n;
				b->n = u;
				if (old <= 4096 && u > 4096)
					fill_from(b, 0); /* sampling changes with the size */
				else
					fill_from(b, old);
			}
		}
		break;
	case OP_HANDOFF:
		if (b->p) {
			check(b, b->n, "handoff");
			if (inbox_put(other, b)) b->p = NULL;
		}
		break;
	case OP_TAKE: {
		struct blk t;
		if (!inbox_take(c, &t)) break;
		check(&t, t.n, "taken from the other thread");
		switch (u8(&r) % 3) {
		case 0:
			hak_free(t.p);
			break;
		case 1:
			n = size_arg(&r);
			p = hak_realloc(t.p, n ? n : 1);
			if (!p) die("realloc of a handed-off block returned NULL");
			t.p = p;
			check(&t, n ? n : 1, "handed-off block after realloc");
			t.n = n ? n : 1;
			fill_from(&t, 0);
			/* fall through: adopt it */
		default:
			release(b, "adopt over a slot");
			*b = t;
			break;
		}
		break;
	}
	case OP_VALLOC:
		n = size_arg(&r);
		release(b, "valloc over a slot");
		if (u8(&r) & 1)
			check_new(c, b, hak_valloc(n), n, 4096, "valloc");
		else {
			/* pvalloc asks for whole pages */
			size_t pages = n ? (n + 4095) & ~(size_t)4095 : 4096;
			check_new(c, b, hak_pvalloc(n), pages, 4096, "pvalloc");
		}
		break;
	case OP_FLUSH:
		hak_thread_flush();
		break;
	case OP_REALLOC_EDGE:
		/* realloc(p, 0) frees and returns NULL, as glibc's does */
		if (b->p) {
			check(b, b->n, "before realloc(p, 0)");
			if (hak_realloc(b->p, 0)) die("realloc(p, 0) did not return NULL");
			b->p = NULL;
		}
		break;
	case OP_BAD:
		bad_requests(&r);
		break;
	case OP_FREE_NULL:
		hak_free(NULL);
		if (hak_malloc_usable_size(NULL)) die("usable_size(NULL) != 0");
		break;
	case OP_HEAP_CHECK:
		/* while the other thread runs */
		if (hak_heap_check()) die("hak_heap_check() failed mid-run");
		break;
	}
}

/* ---- threads ---- */

static pthread_mutex_t go_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static unsigned go_gen, done_gen;
static int worker_exit, worker_cleanup;
static pthread_t worker;

static void run_all(struct ctx *c)
{
	for (unsigned i = 0; i < c->nops; i++)
		run_op(c, c->ops[i], c->lens[i]);
}

static void cleanup(struct ctx *c)
{
	struct blk t;
	while (inbox_take(c, &t))
		release(&t, "inbox at the end");
	for (unsigned i = 0; i < SLOTS; i++)
		release(&c->slot[i], "end of input");
}

static void *worker_main(void *arg)
{
	/* the generation already served when this worker was started: a new
	 * worker must not replay the last input's ops (freed by now) */
	unsigned seen = (unsigned)(uintptr_t)arg;
	for (;;) {
		pthread_mutex_lock(&go_lock);
		while (go_gen == seen)
			pthread_cond_wait(&go_cond, &go_lock);
		seen = go_gen;
		int stop = worker_exit;
		pthread_mutex_unlock(&go_lock);
		if (stop) return NULL;
		if (worker_cleanup)
			cleanup(&ctxs[1]);
		else
			run_all(&ctxs[1]);
		pthread_mutex_lock(&go_lock);
		done_gen = seen;
		pthread_cond_broadcast(&go_cond);
		pthread_mutex_unlock(&go_lock);
	}
}

static void worker_round(void)
{
	pthread_mutex_lock(&go_lock);
	go_gen++;
	pthread_cond_broadcast(&go_cond);
	pthread_mutex_unlock(&go_lock);
}

static void worker_wait(void)
{
	pthread_mutex_lock(&go_lock);
	while (done_gen != go_gen)
		pthread_cond_wait(&go_cond, &go_lock);
	pthread_mutex_unlock(&go_lock);
}

static void worker_start(void)
{
	worker_exit = 0;
	if (pthread_create(&worker, NULL, worker_main, (void *)(uintptr_t)go_gen))
		die("pthread_create");
}

static void worker_stop(void)
{
	pthread_mutex_lock(&go_lock);
	worker_exit = 1;
	go_gen++;
	pthread_cond_broadcast(&go_cond);
	pthread_mutex_unlock(&go_lock);
	pthread_join(worker, NULL);
	done_gen = go_gen;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	const char *v = getenv("HAKMEM_CHECK");
	level = v && !strcmp(v, "full") ? 2 : v && !strcmp(v, "off") ? 0 : 1;
#if defined(FUZZ_ASAN)
	if (level == 2) level = 1; /* the ASan flavour has no full mode */
#endif
	for (int i = 0; i < 2; i++) {
		ctxs[i].id = i;
		pthread_mutex_init(&ctxs[i].in.lock, NULL);
	}
	worker_start();
	return 0;
}

/* Argument bytes each operation takes at most (the rest belongs to the
 * next op). */
static size_t op_len(uint8_t b)
{
	switch ((b & 0x7f) % NOPS) {
	case OP_FLUSH:
	case OP_FREE_NULL:
	case OP_HEAP_CHECK:
		return 1;
	case OP_FREE:
	case OP_HANDOFF:
	case OP_REALLOC_EDGE:
		return 2;
	case OP_BAD:
		return 4;
	default:
		return 9;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ctxs[0].nops = ctxs[1].nops = 0;
	int restart = 0;
	for (size_t i = 0; i < size;) {
		size_t len = op_len(data[i]);
		if (len > size - i) len = size - i;
		struct ctx *c = &ctxs[data[i] >> 7];
		/* The op byte 0x7f (thread 0) asks for a fresh worker thread at
		 * the end of the input: thread exit returns its caches. */
		if (data[i] == 0x7f)
			restart = 1;
		else if (c->nops < MAX_OPS) {
			c->ops[c->nops] = data + i;
			c->lens[c->nops] = len;
			c->nops++;
		}
		i += len;
	}
	worker_round();
	run_all(&ctxs[0]);
	worker_wait();

	/* Each thread frees what it still holds (the worker in a cleanup round
	 * of its own), then both are idle and the heap must be clean. */
	cleanup(&ctxs[0]);
	worker_cleanup = 1;
	worker_round();
	worker_wait();
	worker_cleanup = 0;
	if (restart) {
		worker_stop();
		worker_start();
	}
	long bad = hak_heap_check();
	if (bad) die("hak_heap_check() = %ld at the end of the input", bad);
	return 0;
}
