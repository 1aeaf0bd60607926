#include "quarantine.h"
#include "env.h"
#include "os.h"

/* Per thread, so a free never waits for another thread's quarantine; the
 * ring is mmap'd on first use so that threads that never free in full
 * mode pay nothing. */
struct qring {
	unsigned head, count; /* oldest at head */
	size_t bytes;
	struct hak_quarantined slot[HAK_QUARANTINE_SLOTS];
};

static __thread struct qring *my_ring __attribute__((tls_model("initial-exec")));

static struct qring *ring_get(void)
{
	if (!my_ring) my_ring = hak_os_map(sizeof(struct qring));
	return my_ring;
}

unsigned hak_quarantine_push(struct hak_quarantined q, struct hak_quarantined *out, unsigned max)
{
	size_t limit = (size_t)hak_env.quarantine_kb << 10;
	struct qring *r;
	unsigned n = 0;
	if (limit == 0 || q.bytes > limit || !(r = ring_get())) {
		out[0] = q;
		return 1;
	}
	while (r->count && n < max &&
	       (r->count == HAK_QUARANTINE_SLOTS || r->bytes + q.bytes > limit)) {
		out[n++] = r->slot[r->head];
		r->bytes -= r->slot[r->head].bytes;
		r->head = (r->head + 1) % HAK_QUARANTINE_SLOTS;
		r->count--;
	}
	if (r->count < HAK_QUARANTINE_SLOTS) {
		r->slot[(r->head + r->count) % HAK_QUARANTINE_SLOTS] = q;
		r->count++;
		r->bytes += q.bytes;
	} else if (n < max) {
		out[n++] = q;
	}
	return n;
}

unsigned hak_quarantine_drain(struct hak_quarantined *out, unsigned max)
{
	struct qring *r = my_ring;
	unsigned n = 0;
	while (r && r->count && n < max) {
		out[n++] = r->slot[r->head];
		r->bytes -= r->slot[r->head].bytes;
		r->head = (r->head + 1) % HAK_QUARANTINE_SLOTS;
		r->count--;
	}
	if (r && !r->count) {
		my_ring = NULL;
		hak_os_unmap(r, sizeof *r);
	}
	return n;
}

void hak_quarantine_foreach(void (*fn)(const struct hak_quarantined *q, void *arg), void *arg)
{
	struct qring *r = my_ring;
	for (unsigned i = 0; r && i < r->count; i++)
		fn(&r->slot[(r->head + i) % HAK_QUARANTINE_SLOTS], arg);
}

size_t hak_quarantine_bytes(void)
{
	return my_ring ? my_ring->bytes : 0;
}
unsigned hak_quarantine_count(void)
{
	return my_ring ? my_ring->count : 0;
}
