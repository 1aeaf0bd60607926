/* An asymmetric fence: a frequent side that orders its store before its
 * load with no instruction at all, and a rare side that pays for both
 * (every running thread of the process executes a full barrier). Full
 * mode's quarantine uses it so that its owner's malloc takes no lock
 * (quarantine.h hak_qring_enter). */
#ifndef HAKMEM_ASYM_FENCE_H
#define HAKMEM_ASYM_FENCE_H

#include "config.h"

/* 1 when the heavy side is the kernel's membarrier (registered here for
 * the process), 0 when the light side must take a lock instead. Once per
 * process, before the first light side runs. */
HAK_INTERNAL int hak_asym_fence_init(void);
/* The heavy side: on return, every store another thread made before its
 * next load is visible here. Falls back to a pause long past any store
 * buffer's drain if the kernel refuses (a sandbox installed later). */
HAK_INTERNAL void hak_asym_fence_heavy(void);

#endif
