/* ptr_track levels and heap-error kinds. In the release library every
 * check folds to a constant 0 and the compiler drops the code. */
#ifndef HAKMEM_CHECK_H
#define HAKMEM_CHECK_H

#include "config.h"
#include "error_kinds.h"

enum hak_check_level { HAK_CHECK_OFF = 0, HAK_CHECK_FAST = 1, HAK_CHECK_FULL = 2 };

/* How a block was allocated, and so how it must be released (full mode
 * keeps it in a live block's record, where free_stack goes unused). */
enum hak_alloc_kind { HAK_ALLOC_MALLOC = 0, HAK_ALLOC_NEW = 1, HAK_ALLOC_NEW_ARRAY = 2 };

enum hak_on_error { HAK_ON_ERROR_ABORT = 0, HAK_ON_ERROR_REPORT = 1, HAK_ON_ERROR_IGNORE = 2 };

#if defined(HAKMEM_CHECKS)
HAK_INTERNAL extern int hak_check_level;
/* Picks the per-process key of full mode's free-list links (start-up). */
HAK_INTERNAL void hak_track_init_key(void);
#define HAK_CHECKING() HAK_UNLIKELY(hak_check_level != HAK_CHECK_OFF)
#define HAK_CHECKING_FULL() HAK_UNLIKELY(hak_check_level == HAK_CHECK_FULL)
#else
#define HAK_CHECKING() 0
#define HAK_CHECKING_FULL() 0
#endif

#endif
