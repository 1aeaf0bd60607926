/* Stack depot: each distinct call stack is stored once and named by a
 * 32-bit id, so every block can afford an allocation and a free stack. */
#ifndef HAKMEM_STACK_DEPOT_H
#define HAKMEM_STACK_DEPOT_H

#include "config.h"

#define HAK_STACK_MAX_DEPTH 16

/* Captures the stack of a malloc-family call: ret is its return address,
 * frame its own frame address, [lo, hi) the thread's stack (0, 0 when
 * unknown: only ret is kept). Returns the id; 0 when the depot is full. */
HAK_INTERNAL uint32_t hak_stack_capture(void *ret, void *frame, uintptr_t lo, uintptr_t hi);
/* Stores frames[0..depth) and returns the id (0 when full). */
HAK_INTERNAL uint32_t hak_stack_intern(void *const *frames, unsigned depth);
/* Frames of id; returns depth (0 for an unknown id). */
HAK_INTERNAL unsigned hak_stack_get(uint32_t id, void **frames);
/* fork: 1 takes the depot lock, 0 releases it. */
HAK_INTERNAL void hak_stack_depot_lock(int lock);
/* Distinct stacks stored so far. */
HAK_INTERNAL uint32_t hak_stack_count(void);

#endif
