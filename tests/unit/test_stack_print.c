/* Report stacks: which frames are shown (not hakmem's, not the C
 * start-up's), how each row reads, and that libdw names a frame of this
 * very program with its function, file and line. */
#include "unit.h"

#include <dlfcn.h>

#include "stack_print.h"

#define LIBC HAK_FRAME_LIBC
#define EXE HAK_FRAME_MAIN_EXE

static struct hak_frame frame(uintptr_t addr, const char *module, const char *function,
                              unsigned flags)
{
	return (struct hak_frame){.addr = (void *)addr,
	                          .module = module,
	                          .offset = addr & 0xffff,
	                          .function = function,
	                          .flags = flags};
}

static void keeps_frames_between_hakmem_and_main(void **state)
{
	(void)state;
	void *call_main = NULL;
	struct hak_frame f[] = {
	    frame(0x1000, "libhakmem.so.0", "hak_report_error", HAK_FRAME_HAKMEM),
	    frame(0x1100, "libhakmem.so.0", NULL, HAK_FRAME_HAKMEM),
	    frame(0x2000, "libfoo.so", "foo", 0),
	    frame(0x3000, "app", "main", EXE),
	    frame(0x4000, "libc.so.6", "__libc_start_call_main", LIBC),
	    frame(0x4100, "libc.so.6", "__libc_start_main@@GLIBC_2.34", LIBC),
	    frame(0x5000, "app", "_start", EXE),
	};
	unsigned first, end = hak_frames_trim(f, 7, &first, &call_main);
	assert_int_equal(first, 2);
	assert_int_equal(end, 4);
}

static void startup_without_names(void **state)
{
	(void)state;
	/* Stripped: main has no name, nor does libc's caller of main, but
	 * __libc_start_main is exported and _start sits at the entry point. */
	void *call_main = NULL;
	struct hak_frame f[] = {
	    frame(0x2000, "app", NULL, EXE),
	    frame(0x4000, "libc.so.6", NULL, LIBC),
	    frame(0x4100, "libc.so.6", "__libc_start_main", LIBC),
	    frame(0x5000, "app", NULL, EXE | HAK_FRAME_ENTRY),
	};
	unsigned first, end = hak_frames_trim(f, 4, &first, &call_main);
	assert_int_equal(first, 0);
	assert_int_equal(end, 1);
	assert_ptr_equal(call_main, (void *)0x4000);
	/* A frame-pointer walk stops in libc: the address learnt above ends it. */
	struct hak_frame g[] = {frame(0x2100, "app", NULL, EXE),
	                        frame(0x4000, "libc.so.6", NULL, LIBC)};
	end = hak_frames_trim(g, 2, &first, &call_main);
	assert_int_equal(end, 1);
}

static void loader_frames(void **state)
{
	(void)state;
	void *call_main = NULL;
	/* A constructor run at start-up: the loader frames outside it go,
	 * but a dlopen in the middle of the program's stack stays. */
	struct hak_frame f[] = {
	    frame(0x2000, "libfoo.so", "init_foo", 0),
	    frame(0x6000, "ld-linux-x86-64.so.2", NULL, HAK_FRAME_LOADER),
	    frame(0x2100, "libbar.so", "load_plugins", 0),
	    frame(0x6100, "ld-linux-x86-64.so.2", NULL, HAK_FRAME_LOADER),
	    frame(0x6200, "ld-linux-x86-64.so.2", "_dl_start_user", HAK_FRAME_LOADER),
	};
	unsigned first, end = hak_frames_trim(f, 5, &first, &call_main);
	assert_int_equal(first, 0);
	assert_int_equal(end, 3);
	/* A frame-pointer walk's guess past the thread's first frame. */
	struct hak_frame g[] = {frame(0x2000, "app", "worker", EXE), frame(0x7f00, NULL, NULL, 0)};
	end = hak_frames_trim(g, 2, &first, &call_main);
	assert_int_equal(end, 1);
	/* Nothing but hakmem: nothing left. */
	struct hak_frame h[] = {frame(0x1000, "libhakmem.so.0", NULL, HAK_FRAME_HAKMEM)};
	end = hak_frames_trim(h, 1, &first, &call_main);
	assert_int_equal(first, end);
}

static void rows(void **state)
{
	(void)state;
	char buf[256];
	struct hak_frame f = frame(0x11c8, "uaf", "main", EXE);
	f.file = "/src/app/uaf.c";
	f.line = 9;
	hak_frame_format(buf, sizeof buf, 1, &f, "/src/app");
	assert_string_equal(buf, "    #1 main at uaf.c:9 (uaf+0x11c8)\n");
	hak_frame_format(buf, sizeof buf, 1, &f, "/elsewhere");
	assert_string_equal(buf, "    #1 main at /src/app/uaf.c:9 (uaf+0x11c8)\n");
	f.file = NULL;
	f.function = "memcpy@@GLIBC_2.14";
	hak_frame_format(buf, sizeof buf, 2, &f, "");
	assert_string_equal(buf, "    #2 memcpy (uaf+0x11c8)\n");
	f.function = NULL;
	hak_frame_format(buf, sizeof buf, 3, &f, "");
	assert_string_equal(buf, "    #3 uaf+0x11c8\n");
	f.module = NULL;
	hak_frame_format(buf, sizeof buf, 4, &f, "");
	assert_string_equal(buf, "    #4 0x11c8\n");

	assert_string_equal(hak_path_under("/a/b/c.c", "/a/b"), "c.c");
	assert_string_equal(hak_path_under("/a/bc/d.c", "/a/b"), "/a/bc/d.c");
	assert_string_equal(hak_path_under("/a/b/c.c", "/"), "/a/b/c.c");
}

static __attribute__((noinline)) void *return_address(void)
{
	return __builtin_return_address(0);
}

static void names_this_program(void **state)
{
	(void)state;
	void *ret = return_address();
	const int line = __LINE__ - 1;
	assert_int_equal(hak_symbolizer_begin(), 1);
	struct hak_frame f;
	hak_symbolize(ret, &f);
	assert_true(f.flags & EXE);
	assert_string_equal(f.module, "test_stack_print");
	hak_symbolize_function(&f);
	hak_symbolize_line(&f);
	assert_string_equal(f.function, "names_this_program");
	assert_non_null(f.file);
	assert_non_null(strstr(f.file, "test_stack_print.c"));
	assert_int_equal(f.line, line);
	assert_false(f.flags & HAK_FRAME_HAKMEM);
	/* The archive's hak_* code is linked into this program: hakmem's. */
	hak_symbolize((char *)(void *)hak_stack_print + 1, &f);
	hak_symbolize_function(&f);
	assert_true(f.flags & HAK_FRAME_HAKMEM);
	hak_symbolizer_end();
}

/* A C function under a C++ symbol name: app::Widget::~Widget(). */
__attribute__((noinline)) void widget_dtor(void) __asm__("_ZN3app6WidgetD1Ev");
__attribute__((noinline)) void widget_dtor(void)
{
	__asm__ volatile("");
}

static void demangles_cxx_names(void **state)
{
	(void)state;
	/* Loaded, as in a C++ program. */
	assert_non_null(dlopen("libstdc++.so.6", RTLD_NOW | RTLD_GLOBAL));
	assert_int_equal(hak_symbolizer_begin(), 1);
	struct hak_frame f;
	hak_symbolize((char *)(void *)widget_dtor + 1, &f);
	hak_symbolize_function(&f);
	assert_string_equal(f.function, "app::Widget::~Widget()");
	hak_frame_release(&f);
	assert_null(f.function);
	hak_symbolizer_end();
}

static void prints_a_stack(void **state)
{
	(void)state;
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	void *frames[] = {(char *)(void *)hak_stack_print + 1, return_address()};
	hak_stack_print(fds[1], "this call", frames, 2);
	close(fds[1]);
	char buf[1024];
	ssize_t n = read(fds[0], buf, sizeof buf - 1);
	close(fds[0]);
	assert_true(n > 0);
	buf[n] = 0;
	assert_non_null(strstr(buf, "  this call:\n    #0 prints_a_stack at "));
	assert_null(strstr(buf, "#1"));
	assert_null(strstr(buf, "hak_stack_print"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(keeps_frames_between_hakmem_and_main),
	    cmocka_unit_test(startup_without_names),
	    cmocka_unit_test(loader_frames),
	    cmocka_unit_test(rows),
	    cmocka_unit_test(names_this_program),
	    cmocka_unit_test(demangles_cxx_names),
	    cmocka_unit_test(prints_a_stack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
