/* Workloads built to make sink.hakmem.report's rules fire. Plain C on
 * the ordinary malloc family: run it with libhakmem.so preloaded.
 *
 *   workload storm [SIZE]
 *                     2 s of quiet background faults (one page per 5 ms),
 *                     a burst of 16 MiB of fresh SIZE-byte blocks (64; a
 *                     carve storm in one class), then 1 s quiet again
 *   workload refault  free 3/4 of many 256-byte blocks, then allocate
 *                     again: with HAKMEM_PURGE_DELAY_MS=0 the emptied
 *                     slabs are purged and refault when reused
 *   workload churn    alloc-all/free-all rounds: with
 *                     HAKMEM_WARM_SUPERSLABS=0 every round unmaps its
 *                     SuperSlabs and the next maps new ones
 *   workload large    rounds of 1 MiB blocks, fully written and freed:
 *                     with HAKMEM_LARGE_CACHE_MB=0 each round maps anew
 *   workload threads  4 threads, each allocating, writing and freeing a
 *                     mix of small blocks, some freed by another thread
 *   workload larson   4 threads replace random blocks of 16..1024 bytes in
 *                     1000 slots each, every 10th in another thread's
 *                     slots: remote frees while every thread allocates
 *   workload handover 64 threads each allocate 16 blocks of 1000 bytes
 *                     (a slab each), hand them over and exit; the main
 *                     thread frees 15 of each 16 (remote frees arriving
 *                     after their owners carved and left), then allocates
 *                     4096 more
 *   workload samples  2 threads, 128 MiB of 1000-byte blocks each, the
 *                     first process_stats sample after start-up held
 *                     300 ms between reading the counters and going out
 *                     (this program's getrusage, which hakmem's sampling
 *                     calls), while the other thread maps on and samples
 *   workload heaperror  one double free (run with HAKMEM_ON_ERROR=report)
 *   workload exec PROGRAM [ARG...]
 *                     36 MiB of 256-byte blocks (18 SuperSlabs, so that
 *                     hakmem samples process_stats again after start-up),
 *                     then execv(PROGRAM): the same pid runs a new image
 *
 * The pointer arrays live in mmap'd memory, so only the blocks themselves
 * come from the allocator under test. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void *array(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED) {
		perror("workload: mmap");
		exit(1);
	}
	return p;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Always inlined, whatever the build type: the call sites' names must
 * pass over an inlined wrapper to its caller (analysis.callsite_storm). */
static inline __attribute__((always_inline)) void *xmalloc(size_t n)
{
	char *p = malloc(n);
	if (!p) {
		fprintf(stderr, "workload: malloc(%zu) failed\n", n);
		exit(1);
	}
	p[0] = 1;
	return p;
}

/* A few faults per millisecond-ish outside the allocator: first touches of
 * a private mapping, one page every `step_us`. */
static void background(double seconds, unsigned step_us)
{
	static char *region;
	static size_t next;
	const size_t size = 256u << 20;
	if (!region) {
		region =
		    mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (region == MAP_FAILED) {
			perror("workload: mmap");
			exit(1);
		}
	}
	double end = now() + seconds;
	struct timespec step = {0, (long)step_us * 1000};
	while (now() < end && next < size) {
		region[next] = 1;
		next += 4096;
		nanosleep(&step, NULL);
	}
}

static int storm(size_t size)
{
	/* warm-up: the allocator's own start-up carving happens here */
	void *warm[64];
	for (int i = 0; i < 64; i++)
		warm[i] = xmalloc(16 + (size_t)i * 16);
	background(2.0, 5000);
	/* the burst: 16 MiB of fresh blocks, as fast as possible */
	size_t n = (16u << 20) / size;
	char **p = array(n * sizeof *p);
	double t0 = now();
	for (size_t i = 0; i < n; i++)
		p[i] = xmalloc(size);
	double t1 = now();
	background(1.0, 5000);
	for (size_t i = 0; i < n; i++)
		free(p[i]);
	for (int i = 0; i < 64; i++)
		free(warm[i]);
	printf("workload storm blocks=%zu burst_ms=%.1f\n", n, (t1 - t0) * 1e3);
	return 0;
}

static int refault(void)
{
	size_t n = (32u << 20) / 256;
	char **p = array(n * sizeof *p);
	for (size_t i = 0; i < n; i++) {
		p[i] = xmalloc(256);
		memset(p[i], 0x5a, 256);
	}
	/* Every 1000th block stays: no SuperSlab ever becomes wholly empty,
	 * so only slabs are purged, and they are reused in place. */
	for (size_t i = 0; i < n; i++)
		if (i % 1000) {
			free(p[i]);
			p[i] = NULL;
		}
	for (size_t i = 0; i < n; i++)
		if (!p[i]) {
			p[i] = xmalloc(256);
			memset(p[i], 0x5a, 256);
		}
	for (size_t i = 0; i < n; i++)
		if (i % 1000) free(p[i]);
	printf("workload refault blocks=%zu\n", n);
	return 0;
}

static int churn(void)
{
	size_t n = (24u << 20) / 256;
	char **p = array(n * sizeof *p);
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < n; i++) {
			p[i] = xmalloc(256);
			memset(p[i], 0x5a, 256);
		}
		for (size_t i = 0; i < n; i++)
			free(p[i]);
	}
	printf("workload churn blocks=%zu rounds=3\n", n);
	return 0;
}

static int large(void)
{
	enum { N = 8, ROUNDS = 12 };
	const size_t size = 1u << 20;
	char *p[N];
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < N; i++) {
			p[i] = xmalloc(size);
			memset(p[i], 0x5a, size);
		}
		for (int i = 0; i < N; i++)
			free(p[i]);
	}
	printf("workload large blocks=%d rounds=%d\n", N, ROUNDS);
	return 0;
}

enum { NTHREADS = 4, PER_THREAD = 60000 };
static char **handoff[NTHREADS];

static void *thread_main(void *arg)
{
	size_t id = (size_t)arg;
	char **mine = array(PER_THREAD * sizeof *mine);
	uint32_t x = 2463534242u + (uint32_t)id;
	for (int round = 0; round < 3; round++) {
		for (size_t i = 0; i < PER_THREAD; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			mine[i] = xmalloc(16 + x % 1024);
		}
		for (size_t i = 0; i < PER_THREAD; i++)
			free(mine[i]);
	}
	/* the last batch is freed by the next thread (cross-thread frees) */
	for (size_t i = 0; i < PER_THREAD; i++)
		mine[i] = xmalloc(64 + i % 512);
	handoff[id] = mine;
	return NULL;
}

static int threads(void)
{
	pthread_t t[NTHREADS];
	for (size_t i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, thread_main, (void *)i)) {
			fputs("workload: pthread_create failed\n", stderr);
			return 1;
		}
	for (size_t i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (size_t i = 0; i < NTHREADS; i++)
		for (size_t j = 0; j < PER_THREAD; j++)
			free(handoff[(i + 1) % NTHREADS][j]);
	printf("workload threads threads=%d\n", NTHREADS);
	return 0;
}

/* larson's shape: each replacement frees the block it finds, and one in
 * ten is in another thread's slots, so its block goes home to another
 * thread's slab (a remote free). */
enum { LARSON_SLOTS = 1000, LARSON_OPS = 250000 };
static char *larson_slots[NTHREADS * LARSON_SLOTS];

static void *larson_main(void *arg)
{
	size_t id = (size_t)arg;
	uint32_t x = 88675123u + (uint32_t)id * 7919u;
	for (size_t op = 0; op < LARSON_OPS; op++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		size_t owner = x % 10 ? id : (id + 1 + x / 10 % (NTHREADS - 1)) % NTHREADS;
		size_t slot = owner * LARSON_SLOTS + x / 40 % LARSON_SLOTS;
		char *p = xmalloc(16 + x / 7 % 1009);
		p[0] = 1;
		free(__atomic_exchange_n(&larson_slots[slot], p, __ATOMIC_ACQ_REL));
	}
	return NULL;
}

static int larson(void)
{
	pthread_t t[NTHREADS];
	for (size_t i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, larson_main, (void *)i)) {
			fputs("workload: pthread_create failed\n", stderr);
			return 1;
		}
	for (size_t i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (size_t i = 0; i < NTHREADS * LARSON_SLOTS; i++)
		free(larson_slots[i]);
	printf("workload larson threads=%d ops=%d\n", NTHREADS, NTHREADS * LARSON_OPS);
	return 0;
}

/* Frees in flight when their owners exit: each thread carves 16 blocks
 * from a slab of its own (all alive at once, so no two share one), and
 * the slabs it leaves at exit get those blocks back from the main thread
 * afterwards. Then the main thread allocates the same class. */
enum { HANDOVER_THREADS = 64, HANDOVER_BLOCKS = 16, HANDOVER_AFTER = 4096, HANDOVER_SIZE = 1000 };
static char *handed[HANDOVER_THREADS][HANDOVER_BLOCKS];
static pthread_barrier_t handover_all_allocated;

static void *handover_main(void *arg)
{
	char **mine = handed[(size_t)arg];
	for (int i = 0; i < HANDOVER_BLOCKS; i++) {
		mine[i] = xmalloc(HANDOVER_SIZE);
		memset(mine[i], 1, HANDOVER_SIZE);
	}
	pthread_barrier_wait(&handover_all_allocated);
	return NULL;
}

static int handover(void)
{
	pthread_t t[HANDOVER_THREADS];
	pthread_barrier_init(&handover_all_allocated, NULL, HANDOVER_THREADS);
	for (size_t i = 0; i < HANDOVER_THREADS; i++)
		if (pthread_create(&t[i], NULL, handover_main, (void *)i)) {
			fputs("workload: pthread_create failed\n", stderr);
			return 1;
		}
	for (size_t i = 0; i < HANDOVER_THREADS; i++)
		pthread_join(t[i], NULL);
	/* One block of each slab stays out until the end: the slabs hold
	 * freed blocks, partial, rather than going empty. */
	for (size_t i = 0; i < HANDOVER_THREADS; i++)
		for (size_t j = 1; j < HANDOVER_BLOCKS; j++)
			free(handed[i][j]);
	char **after = array(HANDOVER_AFTER * sizeof *after);
	for (size_t i = 0; i < HANDOVER_AFTER; i++) {
		after[i] = xmalloc(HANDOVER_SIZE);
		memset(after[i], 2, HANDOVER_SIZE);
	}
	for (size_t i = 0; i < HANDOVER_AFTER; i++)
		free(after[i]);
	for (size_t i = 0; i < HANDOVER_THREADS; i++)
		free(handed[i][0]);
	printf("workload handover threads=%d blocks=%d after=%d\n", HANDOVER_THREADS,
	       HANDOVER_THREADS * HANDOVER_BLOCKS, HANDOVER_AFTER);
	return 0;
}

/* Stands in for libc's (exported: -Wl,--export-dynamic-symbol), so that
 * hakmem's process_stats sampling calls it: armed, the next call sleeps
 * after hakmem has read its counters and before the sample goes out. */
static atomic_int sample_delay_armed;

int getrusage(__rusage_who_t who, struct rusage *ru)
{
	if (atomic_exchange(&sample_delay_armed, 0)) {
		struct timespec ts = {0, 300 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return (int)syscall(SYS_getrusage, who, ru);
}

enum { SAMPLES_THREADS = 2, SAMPLES_BLOCKS = 128 * 1024, SAMPLES_SIZE = 1000 };

static void *samples_main(void *arg)
{
	(void)arg;
	char **p = array(SAMPLES_BLOCKS * sizeof *p);
	for (size_t i = 0; i < SAMPLES_BLOCKS; i++) {
		p[i] = xmalloc(SAMPLES_SIZE);
		p[i][0] = 1;
	}
	for (size_t i = 0; i < SAMPLES_BLOCKS; i++)
		free(p[i]);
	return NULL;
}

static int samples(void)
{
	pthread_t t[SAMPLES_THREADS];
	atomic_store(&sample_delay_armed, 1);
	for (size_t i = 0; i < SAMPLES_THREADS; i++)
		if (pthread_create(&t[i], NULL, samples_main, NULL)) {
			fputs("workload: pthread_create failed\n", stderr);
			return 1;
		}
	for (size_t i = 0; i < SAMPLES_THREADS; i++)
		pthread_join(t[i], NULL);
	printf("workload samples threads=%d blocks=%d delayed=%d\n", SAMPLES_THREADS,
	       SAMPLES_THREADS * SAMPLES_BLOCKS, !atomic_load(&sample_delay_armed));
	return 0;
}

static int heaperror(void)
{
	char *volatile p = xmalloc(48);
	free(p);
	free(p); /* deliberate: the double free hakmem must report */
	printf("workload heaperror addr=%p\n", (void *)p);
	return 0;
}

static int exec_into(char **argv)
{
	size_t n = (36u << 20) / 256;
	char **p = array(n * sizeof *p);
	for (size_t i = 0; i < n; i++) {
		p[i] = xmalloc(256);
		memset(p[i], 0x5a, 256);
	}
	printf("workload exec pid=%d blocks=%zu\n", (int)getpid(), n);
	fflush(stdout);
	execv(argv[0], argv);
	perror("workload: execv");
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "storm")) return storm(64);
	if (argc == 3 && !strcmp(argv[1], "storm") && atoi(argv[2]) > 0 && atoi(argv[2]) <= 32768)
		return storm((size_t)atoi(argv[2]));
	if (argc == 2 && !strcmp(argv[1], "refault")) return refault();
	if (argc == 2 && !strcmp(argv[1], "churn")) return churn();
	if (argc == 2 && !strcmp(argv[1], "large")) return large();
	if (argc == 2 && !strcmp(argv[1], "threads")) return threads();
	if (argc == 2 && !strcmp(argv[1], "larson")) return larson();
	if (argc == 2 && !strcmp(argv[1], "handover")) return handover();
	if (argc == 2 && !strcmp(argv[1], "heaperror")) return heaperror();
	if (argc == 2 && !strcmp(argv[1], "samples")) return samples();
	if (argc >= 3 && !strcmp(argv[1], "exec")) return exec_into(argv + 2);
	fprintf(stderr, "usage: workload storm "
	                "[SIZE]|refault|churn|large|threads|larson|handover|samples|heaperror|exec "
	                "PROGRAM [ARG...]\n");
	return 2;
}
