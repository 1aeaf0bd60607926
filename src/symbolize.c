#include "symbolize.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <elfutils/libdwfl.h>
#include <link.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

/* libdw is never linked: its entry points are looked up once loaded. */
static struct {
	__typeof__(dwfl_begin) *begin;
	__typeof__(dwfl_end) *end;
	__typeof__(dwfl_report_begin_add) *report_begin_add;
	__typeof__(dwfl_report_elf) *report_elf;
	__typeof__(dwfl_report_end) *report_end;
	__typeof__(dwfl_addrmodule) *addrmodule;
	__typeof__(dwfl_module_info) *module_info;
	__typeof__(dwfl_module_getsrc) *module_getsrc;
	__typeof__(dwfl_lineinfo) *lineinfo;
	__typeof__(dwfl_module_addrinfo) *module_addrinfo;
	__typeof__(dwfl_build_id_find_debuginfo) *build_id_find_debuginfo;
	unsigned long (*crc32)(unsigned long crc, const unsigned char *buf, unsigned len);
} dw;

static int dw_state;         /* 0: not tried yet, 1: loaded, -1: not there */
static char *debuginfo_path; /* NULL: libdw's default (build-id, .debug, /usr/lib/debug) */
static int find_debuginfo(Dwfl_Module *, void **, const char *, Dwarf_Addr, const char *,
                          const char *, GElf_Word, char **);
static Dwfl_Callbacks callbacks = {.find_debuginfo = find_debuginfo,
                                   .debuginfo_path = &debuginfo_path};
/* Kept from report to report: each module's ELF and DWARF are read once. */
static Dwfl *dwfl;
static atomic_int sym_lock;
static char exe_path[4096];

static int dw_load(void)
{
	if (dw_state) return dw_state > 0;
	dw_state = -1;
	/* The executable's path, for its frames: read once, here. */
	ssize_t len = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
	exe_path[len > 0 ? len : 0] = 0;
	void *h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) return 0;
#define DW_SYM(lvalue, name)                                                                       \
	if (!((lvalue) = dlsym(h, #name))) goto fail
	DW_SYM(dw.begin, dwfl_begin);
	DW_SYM(dw.end, dwfl_end);
	DW_SYM(dw.report_begin_add, dwfl_report_begin_add);
	DW_SYM(dw.report_elf, dwfl_report_elf);
	DW_SYM(dw.report_end, dwfl_report_end);
	DW_SYM(dw.addrmodule, dwfl_addrmodule);
	DW_SYM(dw.module_info, dwfl_module_info);
	DW_SYM(dw.module_getsrc, dwfl_module_getsrc);
	DW_SYM(dw.lineinfo, dwfl_lineinfo);
	DW_SYM(dw.module_addrinfo, dwfl_module_addrinfo);
	DW_SYM(dw.build_id_find_debuginfo, dwfl_build_id_find_debuginfo);
	DW_SYM(dw.crc32, crc32); /* zlib's, a dependency of libdw */
	DW_SYM(callbacks.find_elf, dwfl_linux_proc_find_elf);
	DW_SYM(callbacks.section_address, dwfl_offline_section_address);
#undef DW_SYM
	dw_state = 1;
	return 1;
fail:
	dlclose(h);
	return 0;
}

/* path, if its CRC-32 is crc (what .gnu_debuglink asks for). */
static int open_if_crc(const char *path, GElf_Word crc)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	unsigned char buf[16384];
	unsigned long c = 0;
	ssize_t got;
	while ((got = read(fd, buf, sizeof buf)) > 0)
		c = dw.crc32(c, buf, (unsigned)got);
	if (got == 0 && c == crc && lseek(fd, 0, SEEK_SET) == 0) return fd;
	close(fd);
	return -1;
}

/* Separate debug info: by build-id under /usr/lib/debug/.build-id (what
 * Debian's -dbgsym packages install), else by .gnu_debuglink next to the
 * file, in its .debug/ or under /usr/lib/debug. Not
 * dwfl_standard_find_debuginfo: that also asks debuginfod servers, which
 * loads libcurl and its thirty libraries into the process on report. */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                          const char *file_name, const char *debuglink, GElf_Word crc,
                          char **debug_name)
{
	int fd = dw.build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink, crc,
	                                    debug_name);
	if (fd >= 0 || !debuglink || !file_name || strchr(debuglink, '/')) return fd;
	const char *slash = strrchr(file_name, '/');
	int dir = slash ? (int)(slash - file_name) : 0;
	/* DIR/LINK, DIR/.debug/LINK, /usr/lib/debug/DIR/LINK: a root and a
	 * subdirectory around the file's directory. */
	static const char *const roots[] = {"", "", "/usr/lib/debug"};
	static const char *const subdirs[] = {"", "/.debug", ""};
	for (unsigned i = 0; i < sizeof roots / sizeof *roots; i++) {
		char path[4096];
		if (snprintf(path, sizeof path, "%s%.*s%s/%s", roots[i], dir, file_name, subdirs[i],
		             debuglink) >= (int)sizeof path)
			continue;
		/* Not the file itself: its own link names a different file. */
		if (!strcmp(path, file_name)) continue;
		if ((fd = open_if_crc(path, crc)) >= 0) {
			*debug_name = strdup(path);
			return fd;
		}
	}
	return -1;
}

int hak_symbolizer_begin(void)
{
	/* Two reports at once are rare; a lock a fork left taken is not
	 * released ever: wait two seconds at most, then print without. */
	for (unsigned i = 0; atomic_exchange_explicit(&sym_lock, 1, memory_order_acquire); i++) {
		if (i >= 2000) return -1;
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	return dw_load();
}

void hak_symbolizer_end(void)
{
	atomic_store_explicit(&sym_lock, 0, memory_order_release);
}

/* The libdw module for the file at path loaded with bias, reported on
 * first use. A module found at pc under another name is one that was
 * dlclose'd since: the session starts over. */
static Dwfl_Module *dw_module(const char *path, uintptr_t bias, uintptr_t pc)
{
	if (!dwfl && !(dwfl = dw.begin(&callbacks))) return NULL;
	Dwfl_Module *m = dw.addrmodule(dwfl, pc);
	if (m) {
		const char *name = dw.module_info(m, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
		if (name && !strcmp(name, path)) return m;
		dw.end(dwfl);
		if (!(dwfl = dw.begin(&callbacks))) return NULL;
	}
	dw.report_begin_add(dwfl);
	m = dw.report_elf(dwfl, path, path, -1, bias, true);
	dw.report_end(dwfl, NULL, NULL);
	return m && dw.addrmodule(dwfl, pc) == m ? m : NULL;
}

/* hakmem's frames: all of libhakmem*.so, or its hak_* functions when the
 * archive is linked into the program. */
static void mark_hakmem(struct hak_frame *f)
{
	if ((f->module && !strncmp(f->module, "libhakmem", 9)) ||
	    ((f->flags & HAK_FRAME_OWN) && f->function && !strncmp(f->function, "hak_", 4)))
		f->flags |= HAK_FRAME_HAKMEM;
}

void hak_symbolize_function(struct hak_frame *f)
{
	Dwfl_Module *m = f->path ? dw_module(f->path, f->bias, (uintptr_t)f->addr - 1) : NULL;
	GElf_Off off;
	GElf_Sym sym;
	const char *name =
	    m ? dw.module_addrinfo(m, (uintptr_t)f->addr - 1, &off, &sym, NULL, NULL, NULL) : NULL;
	if (name) f->function = name;
	mark_hakmem(f);
	/* C++ names, through the program's own libstdc++: never loaded for this. */
	static __typeof__(char *(const char *, char *, size_t *, int *)) *demangle;
	if (name && name[0] == '_' && name[1] == 'Z' &&
	    (demangle || (demangle = dlsym(RTLD_DEFAULT, "__cxa_demangle")))) {
		int status;
		char *plain = demangle(name, NULL, NULL, &status);
		if (plain) {
			f->function = plain;
			f->flags |= HAK_FRAME_DEMANGLED;
		}
	}
}

void hak_frame_release(struct hak_frame *f)
{
	if (f->flags & HAK_FRAME_DEMANGLED) free((char *)f->function);
	f->function = NULL;
	f->flags &= ~(unsigned)HAK_FRAME_DEMANGLED;
}

void hak_symbolize_line(struct hak_frame *f)
{
	Dwfl_Module *m = f->path ? dw_module(f->path, f->bias, (uintptr_t)f->addr - 1) : NULL;
	Dwfl_Line *l = m ? dw.module_getsrc(m, (uintptr_t)f->addr - 1) : NULL;
	int line = 0;
	const char *file = l ? dw.lineinfo(l, NULL, &line, NULL, NULL, NULL) : NULL;
	if (file && line > 0) {
		f->file = file;
		f->line = line;
	}
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static int is_loader(const char *name)
{
	return !strncmp(name, "ld-linux", 8) || !strncmp(name, "ld.so", 5) ||
	       !strncmp(name, "ld64.so", 7) || !strncmp(name, "ld-musl", 7);
}

void hak_symbolize(void *addr, struct hak_frame *f)
{
	memset(f, 0, sizeof *f);
	f->addr = addr;
	/* A return address: the call is the instruction before it, and may
	 * be the last of its function or its line. */
	uintptr_t pc = (uintptr_t)addr - 1;
	Dl_info info, self;
	struct link_map *lm = NULL, *self_lm = NULL;
	if (!dladdr1((void *)pc, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm) return;
	if (dladdr1((void *)hak_symbolize, &self, (void **)&self_lm, RTLD_DL_LINKMAP) &&
	    self_lm == lm)
		f->flags |= HAK_FRAME_OWN;
	const char *path = lm->l_name;
	if (!path[0]) { /* the executable */
		f->flags |= HAK_FRAME_MAIN_EXE;
		path = exe_path[0] ? exe_path : info.dli_fname;
		uintptr_t entry = getauxval(AT_ENTRY);
		if (entry && (uintptr_t)addr - entry < 64) f->flags |= HAK_FRAME_ENTRY;
	}
	f->path = path;
	f->bias = lm->l_addr;
	f->module = base_name(path);
	f->offset = (uintptr_t)addr - lm->l_addr;
	if (!strncmp(f->module, "libc.so", 7)) f->flags |= HAK_FRAME_LIBC;
	if (is_loader(f->module)) f->flags |= HAK_FRAME_LOADER;
	if (info.dli_sname && info.dli_saddr) f->function = info.dli_sname;
	mark_hakmem(f);
}
