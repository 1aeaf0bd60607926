/* C++ operator new and delete (Itanium ABI names), in the full library
 * only: full mode records whether a block came from malloc, new or new[],
 * and reports it released the wrong way (alloc_kind.c). Fast and off
 * modes just take the malloc and free paths. new keeps C++'s semantics:
 * on failure it calls the new-handler until there is none, then throws
 * std::bad_alloc; both come from the program's libstdc++ through dlsym,
 * so this C file needs no C++ runtime of its own. */
#include "alloc_kind.h"
#include "check.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

/* The Itanium ABI names below are defined for the C++ program's calls and
 * declared by no C header. */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"

typedef void (*new_handler)(void);

static new_handler current_handler(void)
{
	static new_handler (*get)(void);
	if (!get) get = (new_handler(*)(void))dlsym(RTLD_DEFAULT, "_ZSt15get_new_handlerv");
	return get ? get() : NULL;
}

static _Noreturn void throw_bad_alloc(void)
{
	void (*t)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "_ZSt17__throw_bad_allocv");
	if (t) t();
	static const char msg[] = "hakmem: operator new failed and std::bad_alloc cannot be thrown "
	                          "(libstdc++ is not loaded); aborting\n";
	if (write(2, msg, sizeof msg - 1) < 0) abort();
	abort();
}

/* The caller's return address and frame: the allocation stack starts at
 * the program's call to new. The asm keeps the call out of tail position,
 * so the frame handed down is still live. */
#define CALLER __builtin_return_address(0), __builtin_frame_address(0)
#define NO_TAIL_CALL() __asm__ volatile("" ::: "memory")

static inline __attribute__((always_inline)) void *new_impl(size_t n, size_t align, unsigned kind,
                                                            int nothrow, void *ret, void *frame)
{
	for (;;) {
		void *p =
		    align ? hak_aligned_from(align, n, ret, frame) : hak_malloc_from(n, ret, frame);
		if (HAK_LIKELY(p != NULL)) {
			if (HAK_CHECKING_FULL()) hak_track_set_kind(p, kind);
			return p;
		}
		new_handler h = current_handler();
		if (!h) {
			if (nothrow) return NULL;
			throw_bad_alloc();
		}
		h();
	}
}

#define NEW(n, align, kind, nothrow)                                                               \
	void *p = new_impl(n, align, kind, nothrow, CALLER);                                       \
	NO_TAIL_CALL();                                                                            \
	return p

#define DELETE(p, kind)                                                                            \
	hak_free_from(p, kind, CALLER);                                                            \
	NO_TAIL_CALL()

/* operator new / new[] (size), nothrow, aligned, aligned nothrow. */
HAK_API void *_Znwm(size_t n)
{
	NEW(n, 0, HAK_ALLOC_NEW, 0);
}
HAK_API void *_Znam(size_t n)
{
	NEW(n, 0, HAK_ALLOC_NEW_ARRAY, 0);
}
HAK_API void *_ZnwmRKSt9nothrow_t(size_t n, const void *nt)
{
	(void)nt;
	NEW(n, 0, HAK_ALLOC_NEW, 1);
}
HAK_API void *_ZnamRKSt9nothrow_t(size_t n, const void *nt)
{
	(void)nt;
	NEW(n, 0, HAK_ALLOC_NEW_ARRAY, 1);
}
HAK_API void *_ZnwmSt11align_val_t(size_t n, size_t align)
{
	NEW(n, align, HAK_ALLOC_NEW, 0);
}
HAK_API void *_ZnamSt11align_val_t(size_t n, size_t align)
{
	NEW(n, align, HAK_ALLOC_NEW_ARRAY, 0);
}
HAK_API void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t align, const void *nt)
{
	(void)nt;
	NEW(n, align, HAK_ALLOC_NEW, 1);
}
HAK_API void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t align, const void *nt)
{
	(void)nt;
	NEW(n, align, HAK_ALLOC_NEW_ARRAY, 1);
}

/* operator delete / delete[]: plain, sized (the size is not checked: a
 * wrong one is not reported), nothrow, aligned, sized aligned, aligned
 * nothrow. free() finds an aligned block's start by itself. */
HAK_API void _ZdlPv(void *p)
{
	DELETE(p, HAK_ALLOC_NEW);
}
HAK_API void _ZdaPv(void *p)
{
	DELETE(p, HAK_ALLOC_NEW_ARRAY);
}
HAK_API void _ZdlPvm(void *p, size_t n)
{
	(void)n;
	DELETE(p, HAK_ALLOC_NEW);
}
HAK_API void _ZdaPvm(void *p, size_t n)
{
	(void)n;
	DELETE(p, HAK_ALLOC_NEW_ARRAY);
}
HAK_API void _ZdlPvRKSt9nothrow_t(void *p, const void *nt)
{
	(void)nt;
	DELETE(p, HAK_ALLOC_NEW);
}
HAK_API void _ZdaPvRKSt9nothrow_t(void *p, const void *nt)
{
	(void)nt;
	DELETE(p, HAK_ALLOC_NEW_ARRAY);
}
HAK_API void _ZdlPvSt11align_val_t(void *p, size_t align)
{
	(void)align;
	DELETE(p, HAK_ALLOC_NEW);
}
HAK_API void _ZdaPvSt11align_val_t(void *p, size_t align)
{
	(void)align;
	DELETE(p, HAK_ALLOC_NEW_ARRAY);
}
HAK_API void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t align)
{
	(void)n, (void)align;
	DELETE(p, HAK_ALLOC_NEW);
}
HAK_API void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t align)
{
	(void)n, (void)align;
	DELETE(p, HAK_ALLOC_NEW_ARRAY);
}
HAK_API void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *nt)
{
	(void)align, (void)nt;
	DELETE(p, HAK_ALLOC_NEW);
}
HAK_API void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t align, const void *nt)
{
	(void)align, (void)nt;
	DELETE(p, HAK_ALLOC_NEW_ARRAY);
}
