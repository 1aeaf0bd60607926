/* Quarantine: bounded by HAKMEM_QUARANTINE_KB and by its slot count, first
 * in first out, blocks leaving in batches down to 15/16 of the bound (in
 * full mode into per-class stashes), and drained completely at thread
 * exit. */
#include "unit.h"

#include "env.h"
#include "quarantine.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static struct hak_quarantined q(uintptr_t addr, uint32_t bytes)
{
	return (struct hak_quarantined){.block = (void *)addr, .cls = 3, .bytes = bytes};
}

static void drain_all(void)
{
	struct hak_quarantined out[64];
	while (hak_quarantine_drain(out, 64))
		;
}

static void byte_bound_holds_fifo(void **state)
{
	(void)state;
	drain_all();
	hak_env.quarantine_kb = 1; /* 1024 bytes */
	struct hak_quarantined out[8];
	for (uintptr_t i = 0; i < 16; i++)
		assert_int_equal(hak_quarantine_push(q(0x1000 + i * 16, 64), out, 8), 0);
	assert_int_equal(hak_quarantine_bytes(), 1024);
	/* The 17th is over the bound: the oldest leave, down to 15/16 of it
	 * (960 bytes with the new block), oldest first. */
	assert_int_equal(hak_quarantine_push(q(0x9000, 64), out, 8), 2);
	assert_ptr_equal(out[0].block, (void *)0x1000);
	assert_ptr_equal(out[1].block, (void *)0x1010);
	assert_int_equal(hak_quarantine_bytes(), 960);
	/* Under the bound again: no block leaves. */
	assert_int_equal(hak_quarantine_push(q(0x9100, 64), out, 8), 0);
	assert_int_equal(hak_quarantine_bytes(), 1024);
	/* A big one pushes out as many as needed, at most max. */
	unsigned n = hak_quarantine_push(q(0xa000, 512), out, 8);
	assert_int_equal(n, 8);
	assert_ptr_equal(out[0].block, (void *)0x1020);
	assert_ptr_equal(out[7].block, (void *)0x1090);
	assert_int_equal(hak_quarantine_bytes(), 1024);
	drain_all();
	assert_int_equal(hak_quarantine_count(), 0);
}

static void zero_or_oversize_passes_through(void **state)
{
	(void)state;
	struct hak_quarantined out[8];
	hak_env.quarantine_kb = 0;
	assert_int_equal(hak_quarantine_push(q(0x2000, 64), out, 8), 1);
	assert_ptr_equal(out[0].block, (void *)0x2000);
	hak_env.quarantine_kb = 1;
	assert_int_equal(hak_quarantine_push(q(0x3000, 4096), out, 8), 1);
	assert_ptr_equal(out[0].block, (void *)0x3000);
	assert_int_equal(hak_quarantine_count(), 0);
}

static void slot_bound_holds(void **state)
{
	(void)state;
	hak_env.quarantine_kb = 1u << 20; /* bytes never the limit */
	struct hak_quarantined out[8];
	unsigned evicted = 0;
	uintptr_t pushed = HAK_QUARANTINE_SLOTS + 100;
	for (uintptr_t i = 0; i < pushed; i++) {
		unsigned n = hak_quarantine_push(q(0x100000 + i * 16, 16), out, 8);
		/* Oldest first, in the order they went in. */
		for (unsigned k = 0; k < n; k++)
			assert_ptr_equal(out[k].block,
			                 (void *)(uintptr_t)(0x100000 + (evicted + k) * 16));
		evicted += n;
		assert_true(hak_quarantine_count() <= HAK_QUARANTINE_SLOTS);
	}
	/* Full at the 4097th push: a batch of max (8) left each time. */
	assert_int_equal(evicted, 8 * ((100 + 7) / 8));
	assert_int_equal(hak_quarantine_count(), pushed - evicted);
	unsigned drained = 0, n;
	struct hak_quarantined big[64];
	while ((n = hak_quarantine_drain(big, 64)))
		drained += n;
	assert_int_equal(drained, pushed - evicted);
}

/* Full mode: the blocks that leave the ring wait in their class's stash
 * (newest taken first) for a malloc of the class; a full stash sends the
 * rest back to the caller, and thread exit drains the stashes too. */
static void stash_holds_what_left_the_ring(void **state)
{
	(void)state;
	drain_all();
	hak_env.quarantine_kb = 1; /* 1024 bytes: 16 blocks of 64 */
	struct hak_quarantined out[8];
	for (uintptr_t i = 0; i < 16; i++)
		assert_int_equal(hak_quarantine_push_stash(q(0x4000 + i * 16, 64), out, 8), 0);
	/* The 17th pushes 2 out, into class 3's stash: none comes back. */
	assert_int_equal(hak_quarantine_push_stash(q(0x5000, 64), out, 8), 0);
	assert_int_equal(hak_quarantine_count(), 15);
	void *rec = (void *)1;
	assert_ptr_equal(hak_quarantine_take(3, &rec), (void *)0x4010);
	assert_null(rec);
	assert_ptr_equal(hak_quarantine_take(3, &rec), (void *)0x4000);
	assert_null(hak_quarantine_take(3, &rec));
	assert_null(hak_quarantine_take(4, &rec));
	drain_all();
}

static void full_stash_sends_the_rest_back(void **state)
{
	(void)state;
	drain_all();
	hak_env.quarantine_kb = 1;
	struct hak_quarantined out[8];
	unsigned back = 0;
	for (uintptr_t i = 0; i < 200; i++) {
		unsigned n = hak_quarantine_push_stash(q(0x10000 + i * 16, 64), out, 8);
		for (unsigned k = 0; k < n; k++)
			assert_int_equal(out[k].cls, 3);
		back += n;
	}
	unsigned cap = hak_my_ring->stash[3].cap, left = 200 - hak_quarantine_count();
	assert_true(cap >= 2 && cap <= HAK_STASH_SLOTS);
	assert_int_equal(atomic_load(&hak_my_ring->stash[3].count), cap);
	assert_int_equal(back, left - cap);
	/* Thread exit: the stash and the ring, everything comes out. */
	unsigned held = cap + hak_quarantine_count(), drained = 0, n;
	struct hak_quarantined big[64];
	while ((n = hak_quarantine_drain(big, 64)))
		drained += n;
	assert_int_equal(drained, held);
	assert_null(hak_my_ring);
}

/* ---- a check keeps the owner out of its stash (hak_qring_enter) ---- */

struct owner_run {
	_Atomic int ready, go, done, finish;
	void *got;
	int seen, done_during_check;
};

static void *stash_owner(void *arg)
{
	struct owner_run *o = arg;
	struct hak_quarantined out[8];
	/* 16 blocks fill the 1 KiB bound; the 17th sends 2 to the stash. */
	for (uintptr_t i = 0; i < 17; i++)
		hak_quarantine_push_stash(q(0x4000 + i * 16, 64), out, 8);
	atomic_store(&o->ready, 1);
	while (!atomic_load(&o->go))
		sched_yield();
	void *rec;
	o->got = hak_quarantine_take(3, &rec);
	atomic_store(&o->done, 1);
	while (!atomic_load(&o->finish))
		sched_yield();
	drain_all();
	return NULL;
}

/* Called under the owner's ring's check: lets the owner take, and looks
 * whether the take ended while the check still held the ring. */
static void check_holding(const struct hak_quarantined *e, void *arg)
{
	struct owner_run *o = arg;
	(void)e;
	if (o->seen++) return;
	atomic_store(&o->go, 1);
	usleep(50 * 1000);
	o->done_during_check = atomic_load(&o->done);
}

/* 0 when a take that starts during a check waits for the check's end. */
static int take_waits_for_check(void)
{
	struct owner_run o = {0};
	pthread_t t;
	drain_all();
	hak_env.quarantine_kb = 1;
	if (pthread_create(&t, NULL, stash_owner, &o)) return 1;
	while (!atomic_load(&o.ready))
		sched_yield();
	hak_quarantine_foreach(check_holding, &o);
	int bad = o.seen == 0 || o.done_during_check;
	while (!atomic_load(&o.done))
		sched_yield();
	bad |= o.got != (void *)0x4010;
	atomic_store(&o.finish, 1);
	pthread_join(t, NULL);
	return bad;
}

static void owner_waits_for_a_check(void **state)
{
	(void)state;
	assert_int_equal(take_waits_for_check(), 0);
}

/* A sandbox that refuses membarrier after start-up (a seccomp filter):
 * the check falls back to waiting out the store buffers, and still keeps
 * the owner out. In a child, whose filter stays with it. */
static void owner_waits_without_membarrier(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sock_filter f[] = {
		    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_membarrier, 0, 1),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {sizeof f / sizeof *f, f};
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
			_exit(2);
		if (syscall(__NR_membarrier, 0, 0, 0) != -1) _exit(3); /* the filter works */
		_exit(take_waits_for_check());
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(byte_bound_holds_fifo),
	    cmocka_unit_test(zero_or_oversize_passes_through),
	    cmocka_unit_test(slot_bound_holds),
	    cmocka_unit_test(stash_holds_what_left_the_ring),
	    cmocka_unit_test(full_stash_sends_the_rest_back),
	    cmocka_unit_test(owner_waits_for_a_check),
	    cmocka_unit_test(owner_waits_without_membarrier),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
