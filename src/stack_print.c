#include "stack_print.h"
#include "check.h"
#include "log.h"
#include "stack_depot.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PRINT_MAX 64

/* Symbol tables name versioned symbols "__libc_start_main@@GLIBC_2.34". */
static int name_is(const char *function, const char *name)
{
	size_t len = strcspn(function, "@");
	return len == strlen(name) && !strncmp(function, name, len);
}

static int is_startup(const struct hak_frame *f)
{
	static const char *const names[] = {"_start", "__libc_start_main", "__libc_start_main_impl",
	                                    "__libc_start_call_main"};
	if (f->flags & (HAK_FRAME_LOADER | HAK_FRAME_ENTRY)) return 1;
	for (unsigned i = 0; f->function && i < sizeof names / sizeof *names; i++)
		if (name_is(f->function, names[i])) return 1;
	return 0;
}

static int is_main(const struct hak_frame *f)
{
	return (f->flags & HAK_FRAME_MAIN_EXE) && f->function && name_is(f->function, "main");
}

unsigned hak_frames_trim(const struct hak_frame *f, unsigned n, unsigned *first, void **call_main)
{
	/* hakmem never calls back into the program: its frames are the
	 * innermost ones, whatever the report's own depth. */
	unsigned from = 0, end = n;
	for (unsigned i = 0; i < n; i++)
		if (f[i].flags & HAK_FRAME_HAKMEM) from = i + 1;
	for (unsigned i = from; i < n; i++)
		if (is_main(&f[i])) { /* gdb's rule: nothing past main */
			end = i + 1;
			break;
		}
	while (end > from) {
		const struct hak_frame *l = &f[end - 1];
		if (!l->module) {
			/* In no module at the outer end: a frame-pointer walk
			 * that ran into a frame without one (start_thread). */
		} else if (is_startup(l)) {
			/* The unnamed libc frame inside __libc_start_main is
			 * __libc_start_call_main: remember it for stacks that
			 * end there (frame-pointer walks stop in libc). */
			if (l->function && name_is(l->function, "__libc_start_main") &&
			    end - 1 > from && (f[end - 2].flags & HAK_FRAME_LIBC) &&
			    !f[end - 2].function)
				*call_main = f[end - 2].addr;
		} else if (!*call_main || l->addr != *call_main) {
			break;
		}
		end--;
	}
	*first = from;
	return end;
}

const char *hak_path_under(const char *path, const char *dir)
{
	size_t len = strlen(dir);
	if (len > 1 && !strncmp(path, dir, len) && path[len] == '/') return path + len + 1;
	return path;
}

int hak_frame_format(char *buf, size_t cap, unsigned idx, const struct hak_frame *f,
                     const char *cwd)
{
	if (!f->module) return snprintf(buf, cap, "    #%u %p\n", idx, f->addr);
	const char *file = f->file ? hak_path_under(f->file, cwd) : NULL;
	const char *fn = f->function;
	int len = fn ? (int)strcspn(fn, "@") : 0; /* without its symbol version */
	size_t off = (size_t)f->offset;
	if (fn && file)
		return snprintf(buf, cap, "    #%u %.*s at %s:%d (%s+0x%zx)\n", idx, len, fn, file,
		                f->line, f->module, off);
	if (fn)
		return snprintf(buf, cap, "    #%u %.*s (%s+0x%zx)\n", idx, len, fn, f->module,
		                off);
	if (file)
		return snprintf(buf, cap, "    #%u %s:%d (%s+0x%zx)\n", idx, file, f->line,
		                f->module, off);
	return snprintf(buf, cap, "    #%u %s+0x%zx\n", idx, f->module, off);
}

static void *call_main; /* written under the symbolizer's lock */

void hak_stack_print(int fd, const char *title, void *const *frames, unsigned n)
{
	if (!n) return;
	if (n > PRINT_MAX) n = PRINT_MAX;
	/* libdw and the loader malloc; the report may run mid-pop or under
	 * an allocator lock. */
	int was_in_report = hak_in_report;
	hak_in_report = 1;
	struct hak_frame f[PRINT_MAX];
	int dw = hak_symbolizer_begin();
	void *cm = call_main;
	/* DWARF is read only for the frames shown: the loader's view
	 * already finds hakmem and most of the start-up, the symbol table
	 * then names the rest (main, __libc_start_call_main). */
	for (unsigned i = 0; i < n; i++)
		hak_symbolize(frames[i], &f[i]);
	unsigned first, end = hak_frames_trim(f, n, &first, &cm);
	if (dw == 1) {
		for (unsigned i = first; i < end; i++)
			hak_symbolize_function(&f[i]);
		unsigned from = first;
		end = from + hak_frames_trim(f + from, end - from, &first, &cm);
		first += from;
		for (unsigned i = first; i < end; i++)
			hak_symbolize_line(&f[i]);
	}
	if (dw >= 0) call_main = cm;
	char cwd[1024];
	if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
	hak_log_fd_printf(fd, "  %s:\n", title);
	if (first == end)
		hak_log_fd_printf(fd, "    (every frame is in hakmem or the C start-up)\n");
	for (unsigned i = first; i < end; i++) {
		char line[1024];
		hak_frame_format(line, sizeof line, i - first, &f[i], cwd);
		hak_log_fd_printf(fd, "%s", line);
	}
	for (unsigned i = 0; i < n; i++)
		hak_frame_release(&f[i]);
	if (dw >= 0) hak_symbolizer_end();
	hak_in_report = was_in_report;
}

void hak_stack_print_id(int fd, const char *title, uint32_t id)
{
	void *frames[HAK_STACK_MAX_DEPTH];
	unsigned n = hak_stack_get(id, frames);
	hak_stack_print(fd, title, frames, n);
}
