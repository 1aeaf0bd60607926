#include "stats_counters.h"

#include <pthread.h>
#include <string.h>

struct hak_counters hak_ctr;

static pthread_mutex_t threads_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hak_thread_counters *threads;
static struct hak_class_counters exited[HAK_NUM_CLASSES];

static void add_classes(struct hak_class_counters *dst, const struct hak_class_counters *src)
{
#define ADD(f) dst[c].f += __atomic_load_n(&src[c].f, __ATOMIC_RELAXED)
	for (unsigned c = 0; c < HAK_NUM_CLASSES; c++) {
		ADD(refills);
		ADD(refill_blocks);
		ADD(from_freelist);
		ADD(from_carve);
		ADD(new_slabs);
		ADD(pages_touched);
	}
#undef ADD
}

static void unlink_thread(struct hak_thread_counters *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		threads = t->next;
	if (t->next) t->next->prev = t->prev;
	t->next = t->prev = NULL;
}

void hak_counters_thread_start(struct hak_thread_counters *t)
{
	pthread_mutex_lock(&threads_lock);
	t->prev = NULL;
	t->next = threads;
	if (threads) threads->prev = t;
	threads = t;
	pthread_mutex_unlock(&threads_lock);
}

void hak_counters_thread_end(struct hak_thread_counters *t)
{
	pthread_mutex_lock(&threads_lock);
	add_classes(exited, t->cls);
	unlink_thread(t);
	pthread_mutex_unlock(&threads_lock);
}

void hak_counters_sum_classes(struct hak_class_counters *out)
{
	pthread_mutex_lock(&threads_lock);
	memcpy(out, exited, sizeof exited);
	for (struct hak_thread_counters *t = threads; t; t = t->next)
		add_classes(out, t->cls);
	pthread_mutex_unlock(&threads_lock);
}

void hak_counters_fork_prepare(void)
{
	pthread_mutex_lock(&threads_lock);
}

void hak_counters_fork_parent(void)
{
	pthread_mutex_unlock(&threads_lock);
}

void hak_counters_fork_child(struct hak_thread_counters *self)
{
	pthread_mutex_init(&threads_lock, NULL);
	for (struct hak_thread_counters *t = threads; t; t = t->next)
		if (t != self) add_classes(exited, t->cls);
	threads = NULL;
	if (self) {
		self->next = self->prev = NULL;
		threads = self;
	}
}
