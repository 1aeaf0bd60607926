/* Fork stress: a thread allocates and frees without pause while the main
 * thread forks again and again, so forks land while allocator locks are
 * held. Each child checks the blocks it inherited, allocates heavily on
 * its own and from a new thread, sometimes forks a grandchild while that
 * thread runs, and exits 0. A child that hangs (a lock left held across
 * fork) is killed after a timeout and reported.
 *
 * usage: fork_stress [FORKS]      exit 0 = every child exited 0 in time */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
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
#include "linked_check.h"
#include "../bench/xorshift.h"

enum {
	INHERITED = 256,    /* blocks the parent holds across every fork */
	CHILD_OPS = 20000,  /* allocator calls per child thread */
	CHILD_TIMEOUT = 20, /* seconds before a child counts as hung */
	EXIT_MISMATCH = 3,
	EXIT_NOMEM = 4,
	EXIT_THREAD = 5,
	EXIT_GRANDCHILD = 6,
};

static atomic_int stop;
static atomic_ulong bg_ops;
static void *inherited[INHERITED];
static size_t inherited_size[INHERITED];

/* Tiny, Mid and now and then Large, so every pool's locks get held. */
static size_t random_size(uint32_t *rng)
{
	uint32_t r = xorshift32(rng);
	if (r % 64 == 0) return 40000 + (r >> 6) % (1 << 20);
	if (r % 8 == 0) return 1040 + (r >> 6) % 32000;
	return 1 + (r >> 6) % 1024;
}

static uint8_t pat(size_t i, size_t k)
{
	return (uint8_t)(i * 7 + k * 13 + 1);
}

/* Random malloc/realloc/free over a small working set; returns 0 or an
 * exit code. Used by the parent's background thread and by children. */
static int churn(uint32_t seed, long ops, atomic_int *until)
{
	enum { WS = 64 };
	void *ws[WS] = {0};
	uint32_t rng = seed | 1;

	for (long i = 0; ops < 0 || i < ops; i++) {
		if (until && (i & 255) == 0 && atomic_load_explicit(until, memory_order_relaxed))
			break;
		uint32_t slot = xorshift32(&rng) % WS;
		if (ws[slot]) {
			if (xorshift32(&rng) % 4 == 0) {
				void *q = realloc(ws[slot], random_size(&rng));
				if (!q) return EXIT_NOMEM;
				ws[slot] = q;
			} else {
				free(ws[slot]);
				ws[slot] = NULL;
			}
		} else {
			size_t n = random_size(&rng);
			ws[slot] = malloc(n);
			if (!ws[slot]) return EXIT_NOMEM;
			memset(ws[slot], 0xab, n < 256 ? n : 256);
		}
		if (until) atomic_fetch_add_explicit(&bg_ops, 1, memory_order_relaxed);
	}
	for (int i = 0; i < WS; i++)
		free(ws[i]);
	return 0;
}

static void *background(void *arg)
{
	(void)arg;
	churn(12345, -1, &stop);
	return NULL;
}

static void *child_thread(void *arg)
{
	uintptr_t seed = (uintptr_t)arg;
	/* The second half of the inherited blocks is freed here: frees of
	 * another thread's blocks, in a process that thread never lived in. */
	for (int k = INHERITED / 2; k < INHERITED; k++)
		free(inherited[k]);
	return (void *)(uintptr_t)churn((uint32_t)seed, CHILD_OPS, NULL);
}

static int child_main(int iter)
{
	for (int k = 0; k < INHERITED; k++) {
		const uint8_t *b = inherited[k];
		for (size_t i = 0; i < inherited_size[k]; i++)
			if (b[i] != pat(i, k)) {
				fprintf(stderr, "child %d: inherited block %d byte %zu corrupt\n",
				        iter, k, i);
				return EXIT_MISMATCH;
			}
	}
	for (int k = 0; k < INHERITED / 2; k++)
		free(inherited[k]);

	pthread_t t;
	if (pthread_create(&t, NULL, child_thread, (void *)(uintptr_t)(iter * 7919 + 1)))
		return EXIT_THREAD;

	int rc = churn((uint32_t)iter * 104729u + 3, CHILD_OPS, NULL);

	/* Every fifth child forks too, while its own thread is busy. */
	if (rc == 0 && iter % 5 == 0) {
		pid_t g = fork();
		if (g == 0) _exit(churn((uint32_t)iter + 99, CHILD_OPS / 4, NULL));
		int st;
		if (g < 0 || waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			rc = EXIT_GRANDCHILD;
	}

	void *trc;
	pthread_join(t, &trc);
	if (rc == 0) rc = (int)(uintptr_t)trc;
	return rc;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static const char *why(int code)
{
	switch (code) {
	case EXIT_MISMATCH:
		return "inherited block corrupt";
	case EXIT_NOMEM:
		return "malloc/realloc returned NULL";
	case EXIT_THREAD:
		return "pthread_create failed";
	case EXIT_GRANDCHILD:
		return "grandchild failed or hung";
	default:
		return "unexpected exit status";
	}
}

int main(int argc, char **argv)
{
	int forks = argc > 1 ? atoi(argv[1]) : 50;
	int failures = 0;
	pthread_t bg;

	expect_hakmem_malloc();

	/* No SA_RESTART: the alarm must interrupt waitpid. */
	struct sigaction sa = {.sa_handler = on_alarm};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);

	for (int k = 0; k < INHERITED; k++) {
		inherited_size[k] = k % 16 == 0 ? 4096 + k * 100 : 8 + k * 3;
		uint8_t *b = inherited[k] = malloc(inherited_size[k]);
		for (size_t i = 0; i < inherited_size[k]; i++)
			b[i] = pat(i, k);
	}

	if (pthread_create(&bg, NULL, background, NULL)) {
		perror("pthread_create");
		return 1;
	}

	for (int i = 0; i < forks; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			failures++;
			continue;
		}
		if (pid == 0) _exit(child_main(i));

		int st;
		alarm(CHILD_TIMEOUT);
		pid_t w = waitpid(pid, &st, 0);
		alarm(0);
		if (w < 0 && errno == EINTR) {
			fprintf(stderr,
			        "FAIL: child %d (pid %d) hung for %d s: an allocator lock held "
			        "across fork?\n",
			        i, pid, CHILD_TIMEOUT);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			failures++;
		} else if (WIFSIGNALED(st)) {
			fprintf(stderr, "FAIL: child %d died of signal %d (%s)\n", i, WTERMSIG(st),
			        strsignal(WTERMSIG(st)));
			failures++;
		} else if (WEXITSTATUS(st) != 0) {
			fprintf(stderr, "FAIL: child %d exited %d: %s\n", i, WEXITSTATUS(st),
			        why(WEXITSTATUS(st)));
			failures++;
		}
	}

	/* The parent's own heap must have come through the forks too. */
	unsigned long before = atomic_load(&bg_ops);
	struct timespec ts = {0, 100 * 1000 * 1000};
	nanosleep(&ts, NULL);
	if (atomic_load(&bg_ops) == before) {
		fprintf(stderr,
		        "FAIL: background thread made no progress: parent deadlocked after fork\n");
		return 1; /* cannot join a deadlocked thread */
	}
	atomic_store(&stop, 1);
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += CHILD_TIMEOUT;
	if (pthread_timedjoin_np(bg, NULL, &deadline)) {
		fprintf(stderr, "FAIL: background thread did not stop\n");
		return 1;
	}

	for (int k = 0; k < INHERITED; k++)
		free(inherited[k]);
	long problems = hak_heap_check();
	if (problems) {
		fprintf(stderr, "FAIL: hak_heap_check() found %ld problems\n", problems);
		failures++;
	}
	printf("fork_stress: %d forks, %d failed, background thread did %lu ops\n", forks, failures,
	       atomic_load(&bg_ops));
	return failures ? 1 : 0;
}
