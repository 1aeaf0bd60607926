/* Threads and fork under tracing: four threads allocate and free without
 * pause while the main thread forks children; each child allocates in two
 * threads of its own and exits 0. Tracing makes the allocator call into
 * LTTng, which allocates and has its own fork handlers, so this is where a
 * recursion or a lock-order deadlock between the two would show.
 *
 * usage: mt_fork [FORKS [CHILD_OPS]]
 * Prints "pid N" and one "child N" line per child (the test looks for
 * hakmem events of each), then "stat NAME VALUE" lines for this process.
 * Exit 0 = every child exited 0 within its timeout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hakmem.h"
#include "../../bench/xorshift.h"

enum { WORKERS = 4, CHILD_THREADS = 2, SLOTS = 512, CHILD_TIMEOUT_MS = 20000 };

static atomic_int stop;

/* Mostly tiny and mid sizes (refills, slab turnover), now and then a
 * large one (large_mmap), so every kind of event fires from every thread. */
static size_t pick_size(uint32_t *s)
{
	uint32_t r = xorshift32(s);
	if (r % 512 == 0) return 40000 + r % 200000;
	if (r % 8 == 0) return 1040 + r % 30000;
	return 1 + r % 1024;
}

/* OPS allocator calls on a private window of slots; ops == 0: until stop. */
static void churn(uint32_t seed, unsigned long ops)
{
	void *slot[SLOTS] = {0};
	uint32_t s = seed ? seed : 1;
	for (unsigned long i = 0;
	     ops ? i < ops : !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
		unsigned k = xorshift32(&s) % SLOTS;
		if (slot[k]) {
			free(slot[k]);
			slot[k] = NULL;
		} else {
			size_t n = pick_size(&s);
			unsigned char *p = malloc(n);
			if (!p) _exit(4);
			p[0] = p[n - 1] = (unsigned char)k;
			slot[k] = p;
		}
	}
	for (unsigned k = 0; k < SLOTS; k++)
		free(slot[k]);
}

static void *worker(void *arg)
{
	churn((uint32_t)(uintptr_t)arg, 0);
	return NULL;
}

struct child_arg {
	uint32_t seed;
	unsigned long ops;
};

static void *child_thread(void *arg)
{
	const struct child_arg *a = arg;
	churn(a->seed, a->ops);
	return NULL;
}

static void child_main(unsigned n, unsigned long ops)
{
	pthread_t t[CHILD_THREADS];
	struct child_arg a[CHILD_THREADS];
	for (unsigned i = 0; i < CHILD_THREADS; i++) {
		a[i] = (struct child_arg){.seed = 0x9e3779b9u * (n * CHILD_THREADS + i + 1),
		                          .ops = ops};
		if (pthread_create(&t[i], NULL, child_thread, &a[i])) _exit(5);
	}
	for (unsigned i = 0; i < CHILD_THREADS; i++)
		pthread_join(t[i], NULL);
	exit(0); /* exit, not _exit: atexit handlers (the final process_stats) run */
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Waits for pid; a child that hangs (a lock held across fork) is killed. */
static int reap(pid_t pid)
{
	int status;
	for (long waited = 0; waited < CHILD_TIMEOUT_MS; waited += 5) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid) {
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
			fprintf(stderr, "mt_fork: child %d ended with status 0x%x\n", (int)pid,
			        status);
			return 1;
		}
		sleep_ms(5);
	}
	fprintf(stderr, "mt_fork: child %d hung for %d ms; killed\n", (int)pid, CHILD_TIMEOUT_MS);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 1;
}

static void put(const char *name, uint64_t v)
{
	printf("stat %s %llu\n", name, (unsigned long long)v);
}

int main(int argc, char **argv)
{
	unsigned forks = argc > 1 ? (unsigned)atoi(argv[1]) : 12;
	unsigned long child_ops = argc > 2 ? strtoul(argv[2], NULL, 10) : 40000;
	/* Line-buffered: children inherit no unflushed output. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("pid %d\n", (int)getpid());

	pthread_t w[WORKERS];
	for (unsigned i = 0; i < WORKERS; i++)
		if (pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)(0x1234567u * (i + 1))))
			return 5;
	int bad = 0;
	for (unsigned n = 0; n < forks; n++) {
		sleep_ms(10); /* forks land at varied points of the workers' loops */
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			bad = 1;
			break;
		}
		if (pid == 0) child_main(n, child_ops);
		printf("child %d\n", (int)pid);
		bad |= reap(pid);
	}
	atomic_store(&stop, 1);
	for (unsigned i = 0; i < WORKERS; i++)
		pthread_join(w[i], NULL);

	struct hak_stats st;
	hak_stats_get(&st);
	put("superslabs_mapped", st.superslabs_mapped);
	put("refills", st.refills);
	put("slab_empty", st.slab_empty);
	put("slab_reuse", st.slab_reuse);
	return bad;
}
