/* Names the frames of heap-report stacks: module and load bias through
 * the loader (dladdr1), function, file and line through elfutils' libdw,
 * which is dlopen'd by the first report, so a clean run never maps it. */
#ifndef HAKMEM_SYMBOLIZE_H
#define HAKMEM_SYMBOLIZE_H

#include "config.h"

/* What a frame is, for the filter in stack_print.c. */
enum {
	HAK_FRAME_HAKMEM = 1,     /* hakmem's own code */
	HAK_FRAME_MAIN_EXE = 2,   /* the program's executable */
	HAK_FRAME_LIBC = 4,       /* libc.so.* */
	HAK_FRAME_LOADER = 8,     /* ld.so */
	HAK_FRAME_ENTRY = 16,     /* _start, found by the ELF entry point */
	HAK_FRAME_OWN = 32,       /* in the module hakmem itself is in */
	HAK_FRAME_DEMANGLED = 64, /* function is a C++ name demangled into malloc'd memory */
};

struct hak_frame {
	void *addr;           /* a return address, as captured */
	const char *module;   /* base name of the module; NULL when no module holds addr */
	uintptr_t offset;     /* addr minus the module's load bias */
	const char *function; /* symbol holding addr - 1; NULL when none */
	const char *file;     /* source of addr - 1; NULL without DWARF line info */
	int line;
	unsigned flags;   /* HAK_FRAME_* */
	const char *path; /* the module's file, for libdw */
	uintptr_t bias;
};

/* Takes the symbolizer for one stack and says whether libdw is there
 * (loading it on first use). The names filled in below stay valid until
 * hak_symbolizer_end. Returns -1 when another thread holds it for too
 * long (a fork left it taken): print without it then. */
HAK_INTERNAL int hak_symbolizer_begin(void);
HAK_INTERNAL void hak_symbolizer_end(void);
/* Fills f for addr from what the loader knows: module, load bias and
 * exported symbols. Never fails: what it cannot name stays NULL. */
HAK_INTERNAL void hak_symbolize(void *addr, struct hak_frame *f);
/* Then, with libdw (hak_symbolizer_begin returned 1): the function from
 * the symbol table (or separate debug info; C++ names demangled when the
 * program has libstdc++), and the file and line from DWARF, the costly
 * part: only for frames that will be shown. */
HAK_INTERNAL void hak_symbolize_function(struct hak_frame *f);
HAK_INTERNAL void hak_symbolize_line(struct hak_frame *f);
/* Frees what the above allocated for f (a demangled name). */
HAK_INTERNAL void hak_frame_release(struct hak_frame *f);

#endif
