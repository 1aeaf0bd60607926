/* Process life: lazy start-up on the first allocation (from any thread,
 * reading the environment once), fork, and the work done at exit. The
 * first test must run first: it is the process's first allocation. */
#include "pool_util.h"
#include "check.h"
#include "env.h"
#include "lifecycle.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

enum { RACERS = 4 };
static pthread_barrier_t start;
static void *racer_ptr[RACERS];

static void *racer(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	pthread_barrier_wait(&start);
	racer_ptr[i] = hak_malloc(100 + i);
	if (racer_ptr[i]) memset(racer_ptr[i], (int)i, 100 + i);
	return NULL;
}

static void first_allocation_starts_everything_once(void **state)
{
	(void)state;
	assert_int_equal(atomic_load(&hak_init_state), 0);
	setenv("HAKMEM_WARM_SUPERSLABS", "7", 1);
	setenv("HAKMEM_LARGE_CACHE_MB", "lots", 1);
	setenv("HAKMEM_PREWARM", "64:1", 1);

	/* Warnings go to stderr before anything could redirect them. */
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fds[1], 2);

	pthread_t t[RACERS];
	pthread_barrier_init(&start, NULL, RACERS);
	for (unsigned i = 0; i < RACERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, racer, (void *)(uintptr_t)i), 0);
	for (unsigned i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);

	dup2(saved, 2);
	close(saved);
	close(fds[1]);
	char buf[4096];
	read_pipe(fds[0], buf, sizeof buf);
	close(fds[0]);

	assert_int_equal(atomic_load(&hak_init_state), 2);
	for (unsigned i = 0; i < RACERS; i++) {
		assert_non_null(racer_ptr[i]);
		assert_int_equal(((uint8_t *)racer_ptr[i])[99], i);
	}
	/* The environment was read exactly once. */
	if (count_lines(buf) != 1 || !strstr(buf, "HAKMEM_LARGE_CACHE_MB"))
		fail_msg("expected one warning about HAKMEM_LARGE_CACHE_MB, got:\n%s", buf);
	assert_int_equal(hak_env.warm_superslabs, 7);
	assert_int_equal(hak_env.large_cache_mb, HAK_LARGE_CACHE_MB_DEFAULT);
	assert_int_equal(hak_env.nprewarm, 1);
	/* HAKMEM_PREWARM=64:1 left a faulted-in slab of that class. */
	struct hak_stats st = stats_now();
	unsigned c = hak_size_class(64);
	assert_true(st.classes[c].slabs_live >= 1);
	assert_int_equal(hak_pools[HAK_POOL_TINY].partial[c].n, 1);

	/* Later changes to the environment are not read again. */
	setenv("HAKMEM_WARM_SUPERSLABS", "9", 1);
	hak_init();
	hak_free(hak_malloc(10));
	assert_int_equal(hak_env.warm_superslabs, 7);
	unsetenv("HAKMEM_WARM_SUPERSLABS");
	unsetenv("HAKMEM_LARGE_CACHE_MB");
	unsetenv("HAKMEM_PREWARM");

	/* Blocks of exited threads are freed here like any other. */
	for (unsigned i = 0; i < RACERS; i++)
		hak_free(racer_ptr[i]);
}

/* ---- fork ---- */

static atomic_int churn_stop;

/* Allocates and frees until told to stop; large_only keeps it on the
 * large-span paths (span cache, live set, ptr_track's recent frees), with
 * one size so the span cache serves it without system calls. */
static void *churn(void *arg)
{
	int large_only = arg != NULL;
	void *p[64] = {0};
	for (unsigned i = 0; !atomic_load(&churn_stop); i++) {
		unsigned k = (i * 7) % 64;
		hak_free(p[k]);
		size_t n = (i * 2654435761u) % 40000;
		p[k] = hak_malloc(large_only ? 50000 : n);
	}
	for (unsigned k = 0; k < 64; k++)
		hak_free(p[k]);
	return NULL;
}

/* The child's work: every size family, then a heap check. */
static int child_body(void)
{
	void *p[120];
	for (unsigned i = 0; i < 120; i++)
		p[i] = hak_malloc((i * 331) % 33000 + (i % 12 == 0 ? 100000 : 0));
	for (unsigned i = 0; i < 120; i++)
		hak_free(p[i]);
	hak_thread_flush();
	return hak_heap_check() == 0 ? 0 : 3;
}

/* Forks rounds times while a thread churns; each child must finish its
 * work (a lock inherited held would hang it: SIGALRM). */
static void fork_during_churn(int large_only, unsigned rounds)
{
	pthread_t t;
	atomic_store(&churn_stop, 0);
	assert_int_equal(pthread_create(&t, NULL, churn, large_only ? (void *)1 : NULL), 0);
	usleep(1000);
	for (unsigned round = 0; round < rounds; round++) {
		fflush(stdout);
		fflush(stderr);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			alarm(5);
			_exit(child_body());
		}
		int status;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			atomic_store(&churn_stop, 1);
			pthread_join(t, NULL);
			fail_msg("fork round %u: child %s %d%s", round,
			         WIFEXITED(status) ? "exited" : "killed by signal",
			         WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			         WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM
			             ? " (hung: an allocator lock was held across fork and not "
			               "reset in the child)"
			             : "");
		}
	}
	atomic_store(&churn_stop, 1);
	pthread_join(t, NULL);
	assert_int_equal(hak_heap_check(), 0);
}

/* The child of a fork taken while another thread allocates has
 * consistent locks and a consistent heap. */
static void fork_while_another_thread_allocates(void **state)
{
	(void)state;
	fork_during_churn(0, 10);
}

/* The same with the other thread freeing large blocks all the time: every
 * lock on that path must be taken by the atfork handlers too. */
static void fork_while_another_thread_frees_large(void **state)
{
	(void)state;
	fork_during_churn(1, 120);
}

/* ---- exit ---- */

/* Runs body in a child that then exits normally; returns the child's log. */
static const char *exit_log(void (*body)(void), char *buf, size_t cap)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		hak_log_set_fd(fds[1]);
		body();
		exit(0); /* runs the allocator's destructor */
	}
	close(fds[1]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	read_pipe(fds[0], buf, cap);
	close(fds[0]);
	return buf;
}

static void clean_exit_body(void)
{
	hak_env.check_at_exit = 1;
	hak_env.stats = 1;
	void *p = hak_malloc(300);
	(void)p; /* a leak is not a heap problem */
}

static void corrupt_exit_body(void)
{
	hak_env.check_at_exit = 1;
	uint8_t *p = hak_malloc(300);
	p[-1] = 'Z';
}

static void quiet_exit_body(void)
{
	hak_free(hak_malloc(300));
}

static void exit_runs_heap_check_and_stats(void **state)
{
	(void)state;
	static char buf[65536];
	const char *out = exit_log(clean_exit_body, buf, sizeof buf);
	if (!strstr(out, "hakmem: heap check at exit: clean (0 problems)\n"))
		fail_msg("no clean heap check at exit in:\n%s", out);
	assert_non_null(strstr(out, "hakmem stats ("));
	assert_non_null(strstr(out, "superslabs: mapped"));

	out = exit_log(corrupt_exit_body, buf, sizeof buf);
	if (!strstr(out, "hakmem: heap check at exit: FAILED ("))
		fail_msg("no failed heap check at exit in:\n%s", out);
	assert_non_null(strstr(out, "hakmem: heap-check: "));

	/* Neither asked for: nothing at all. */
	out = exit_log(quiet_exit_body, buf, sizeof buf);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(first_allocation_starts_everything_once),
	    cmocka_unit_test(fork_while_another_thread_allocates),
	    cmocka_unit_test(fork_while_another_thread_frees_large),
	    cmocka_unit_test(exit_runs_heap_check_and_stats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
