/* Full mode keeps freed blocks out of circulation for a while, so a write
 * through a dangling pointer lands on the fill pattern and is seen. */
#ifndef HAKMEM_QUARANTINE_H
#define HAKMEM_QUARANTINE_H

#include "config.h"

struct hak_quarantined {
	void *block;
	uint32_t cls;
	uint32_t bytes;
};

#define HAK_QUARANTINE_SLOTS 4096

/* Each thread keeps its own quarantine, bounded by HAKMEM_QUARANTINE_KB.
 * Adds a block; blocks pushed out to stay under HAKMEM_QUARANTINE_KB (and
 * the slot count) are copied to out, at most max of them. Returns how
 * many. With a zero bound the block itself comes straight back. */
HAK_INTERNAL unsigned hak_quarantine_push(struct hak_quarantined q, struct hak_quarantined *out,
                                          unsigned max);
/* Takes up to max blocks out of the calling thread's quarantine (thread
 * exit); the ring itself goes once it is empty. */
HAK_INTERNAL unsigned hak_quarantine_drain(struct hak_quarantined *out, unsigned max);
/* Calls fn on every block in the calling thread's quarantine. */
HAK_INTERNAL void hak_quarantine_foreach(void (*fn)(const struct hak_quarantined *q, void *arg),
                                         void *arg);
HAK_INTERNAL size_t hak_quarantine_bytes(void);
HAK_INTERNAL unsigned hak_quarantine_count(void);

#endif
