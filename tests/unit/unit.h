/* Helpers shared by the unit tests: capture of the allocator's log
 * output, page residency, and a walker that checks the pool's lists
 * against the slab states they are supposed to hold. */
#ifndef HAKMEM_UNIT_H
#define HAKMEM_UNIT_H

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "pool.h"

/* ---- log capture: hak_log goes to a pipe we drain afterwards ---- */

struct capture {
	int rd, wr, saved_fd;
	char buf[16384];
	size_t len;
};

static inline void capture_begin(struct capture *c)
{
	int fds[2];
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	/* Non-blocking read end: draining must not hang on an empty pipe. */
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	c->rd = fds[0];
	c->wr = fds[1];
	c->len = 0;
	c->buf[0] = 0;
	c->saved_fd = hak_log_fd();
	hak_log_set_fd(c->wr);
}

/* Restores the log fd and returns what was written, NUL-terminated. */
static inline const char *capture_end(struct capture *c)
{
	hak_log_set_fd(c->saved_fd);
	close(c->wr);
	for (;;) {
		ssize_t n = read(c->rd, c->buf + c->len, sizeof c->buf - 1 - c->len);
		if (n <= 0) break;
		c->len += (size_t)n;
	}
	c->buf[c->len] = 0;
	close(c->rd);
	return c->buf;
}

static inline unsigned count_lines(const char *s)
{
	unsigned n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Drains everything readable from fd (a pipe) into buf. */
static inline size_t read_pipe(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	fcntl(fd, F_SETFL, O_NONBLOCK);
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n <= 0) break;
		len += (size_t)n;
	}
	buf[len] = 0;
	return len;
}

/* ---- page residency ---- */

/* Resident pages in [p, p+len), both page-aligned. */
static inline size_t resident_pages(const void *p, size_t len)
{
	size_t n = len / HAK_PAGE, r = 0;
	unsigned char vec[1024];
	assert_true(n <= sizeof vec);
	assert_int_equal(mincore((void *)p, len, vec), 0);
	for (size_t i = 0; i < n; i++)
		r += vec[i] & 1;
	return r;
}

static inline int page_resident(const void *p)
{
	unsigned char v = 0;
	assert_int_equal(mincore((void *)((uintptr_t)p & ~(uintptr_t)(HAK_PAGE - 1)), HAK_PAGE, &v),
	                 0);
	return v & 1;
}

/* ---- pool invariants ---- */

static inline int ss_on_list(const struct hak_ss_list *l, const struct hak_superslab *ss)
{
	for (const struct hak_superslab *x = l->head; x; x = x->next)
		if (x == ss) return 1;
	return 0;
}

/* Walks one slab list: the count matches, back links are right, and
 * every member is in the expected state. Returns its length. */
static inline uint32_t check_slab_list(const struct hak_slab_list *l, unsigned state, int cls)
{
	uint32_t n = 0;
	const struct hak_slab *prev = NULL;
	for (const struct hak_slab *s = l->head; s; s = s->next) {
		assert_ptr_equal(s->prev, prev);
		assert_int_equal(s->state, state);
		if (cls >= 0) assert_int_equal(s->cls, cls);
		/* Listed slabs live in active SuperSlabs, never in warm ones. */
		assert_false(hak_slab_ss((struct hak_slab *)s)->warm);
		prev = s;
		assert_true(++n <= 100000);
	}
	assert_ptr_equal(l->tail, prev);
	assert_int_equal(l->n, n);
	return n;
}

static inline uint32_t check_ss_list(const struct hak_ss_list *l, int warm)
{
	uint32_t n = 0;
	const struct hak_superslab *prev = NULL;
	for (const struct hak_superslab *ss = l->head; ss; ss = ss->next) {
		assert_ptr_equal(ss->prev, prev);
		assert_int_equal(ss->magic, HAK_SS_MAGIC);
		assert_int_equal(ss->warm, warm);
		prev = ss;
		assert_true(++n <= 100000);
	}
	assert_ptr_equal(l->tail, prev);
	assert_int_equal(l->n, n);
	return n;
}

/* Every list of the pool agrees with the slab and SuperSlab states:
 * partial lists hold PARTIAL slabs of their class, empty lists hold EMPTY
 * slabs (purged or not as the list says), warm SuperSlabs have only FREE
 * slabs, and in_use/free_slots match the slabs of each active one. */
static inline void check_pool_invariants(unsigned kind)
{
	struct hak_pool *pl = &hak_pools[kind];
	pthread_mutex_lock(&pl->lock);
	for (unsigned c = 0; c < pl->class_count; c++) {
		check_slab_list(&pl->partial[c], SLAB_PARTIAL, (int)(pl->class_first + c));
		/* with_returned counts the partial slabs filed with freed blocks;
		 * nobody takes blocks from an unowned slab, so they still have some. */
		unsigned returned = 0;
		for (const struct hak_slab *s = pl->partial[c].head; s; s = s->next)
			if (s->returned) {
				assert_non_null(s->freelist);
				returned++;
			}
		assert_int_equal(atomic_load(&pl->with_returned[c]), returned);
	}
	check_slab_list(&pl->empty, SLAB_EMPTY, -1);
	check_slab_list(&pl->empty_purged, SLAB_EMPTY, -1);
	for (const struct hak_slab *s = pl->empty_purged.head; s; s = s->next)
		assert_true(s->purged);
	check_ss_list(&pl->active, 0);
	check_ss_list(&pl->warm, 1);
	check_ss_list(&pl->warm_purged, 1);

	for (const struct hak_ss_list *l = &pl->warm; l;
	     l = l == &pl->warm ? &pl->warm_purged : NULL)
		for (const struct hak_superslab *ss = l->head; ss; ss = ss->next)
			for (unsigned i = 0; i < ss->nslabs; i++)
				assert_int_equal(ss->slabs[i].state, SLAB_FREE);

	for (const struct hak_superslab *ss = pl->active.head; ss; ss = ss->next) {
		uint32_t in_use = 0, free_slots = 0;
		unsigned nempty = 0;
		for (unsigned i = 0; i < ss->nslabs; i++) {
			const struct hak_slab *s = &ss->slabs[i];
			if (s->state == SLAB_FREE)
				free_slots |= 1u << i;
			else if (s->state == SLAB_EMPTY)
				nempty++;
			else
				in_use++;
		}
		assert_int_equal(ss->in_use, in_use);
		assert_int_equal(ss->free_slots, free_slots);
		/* A SuperSlab with nothing in use must have gone warm. */
		assert_true(in_use > 0);
		(void)nempty;
		/* with_free holds exactly the active SuperSlabs with a free slot. */
		int listed = 0;
		for (const struct hak_superslab *x = pl->with_free; x; x = x->free_next)
			listed |= x == ss;
		assert_int_equal(listed, free_slots != 0);
	}
	pthread_mutex_unlock(&pl->lock);
}

#endif
