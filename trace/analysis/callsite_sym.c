/* Offline symbolization of call-site frames with elfutils' libdw, after
 * the trace is read: the program may be long gone, its binaries not.
 *
 * Each binary is opened once, in a libdw session of its own, at its file
 * addresses (so processes and address-space layouts never mix). The frame
 * address is taken back to the file: minus the load bias the state dump
 * gives (baddr, the first PT_LOAD's address), and the call is looked up at
 * the return address minus one. A binary on disk whose build id is not
 * the traced one is not used (it was rebuilt since); then, or when it is
 * gone, the debug file its build id names (DIR/.build-id/xx/yyyy.debug,
 * DIR = the debug-dir parameter, then /usr/lib/debug) stands in for it.
 * Separate debug information is found by build id and .gnu_debuglink
 * (libdw's standard search). What cannot be named stays module+offset. */
#include "callsite.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sym_file {
	char *path;
	uint8_t build_id[64];
	unsigned build_id_len;
	Dwfl *dwfl;
	Dwfl_Module *mod; /* NULL: not readable */
	uint64_t low;     /* the module's first address in the file */
};

struct hk_sym {
	struct sym_file *f;
	size_t n, cap;
	char *debuginfo_path; /* libdw's search list: ":.debug:DIR...:/usr/lib/debug" */
	char **dirs;
	size_t ndirs;
	Dwfl_Callbacks cb;
};

struct hk_sym *hk_sym_new(char **dirs, size_t n)
{
	struct hk_sym *s = hk_xcalloc(1, sizeof *s);
	size_t len = 32;
	for (size_t i = 0; i < n; i++)
		len += strlen(dirs[i]) + 1;
	s->debuginfo_path = hk_xcalloc(1, len);
	strcpy(s->debuginfo_path, ":.debug");
	for (size_t i = 0; i < n; i++) {
		strcat(s->debuginfo_path, ":");
		strcat(s->debuginfo_path, dirs[i]);
	}
	strcat(s->debuginfo_path, ":/usr/lib/debug");
	s->dirs = dirs;
	s->ndirs = n;
	/* libdw's standard search: build id under each directory, then
	 * .gnu_debuglink beside the file, in .debug/ and under each
	 * directory; debuginfod only if DEBUGINFOD_URLS is set. */
	s->cb.find_elf = dwfl_build_id_find_elf;
	s->cb.find_debuginfo = dwfl_standard_find_debuginfo;
	s->cb.section_address = dwfl_offline_section_address;
	s->cb.debuginfo_path = &s->debuginfo_path;
	return s;
}

void hk_sym_free(struct hk_sym *s)
{
	for (size_t i = 0; i < s->n; i++) {
		if (s->f[i].dwfl) dwfl_end(s->f[i].dwfl);
		free(s->f[i].path);
	}
	free(s->f);
	free(s->debuginfo_path);
	free(s);
}

/* The build id of the ELF file at path; 0 if it has none or is no ELF. */
static int file_build_id(const char *path, uint8_t *out, unsigned *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return -1;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	int ok = -1;
	if (elf) {
		const void *id;
		ssize_t n = dwelf_elf_gnu_build_id(elf, &id);
		*len = n > 0 && n <= 64 ? (unsigned)n : 0;
		if (*len) memcpy(out, id, *len);
		ok = 0;
		elf_end(elf);
	}
	close(fd);
	return ok;
}

static int same_id(const struct hk_module *m, const uint8_t *id, unsigned len)
{
	return !m->build_id_len || (len == m->build_id_len && !memcmp(id, m->build_id, len));
}

static void open_file(struct hk_sym *s, struct sym_file *f, const struct hk_module *m)
{
	uint8_t id[64];
	unsigned len = 0;
	char path[4096];
	const char *use = NULL;
	if (!file_build_id(m->path, id, &len) && same_id(m, id, len)) use = m->path;
	/* Gone or rebuilt: the debug file of its build id, if installed. */
	for (size_t d = 0; !use && m->build_id_len && d <= s->ndirs; d++) {
		int off = snprintf(path, sizeof path, "%s/.build-id/%02x/",
		                   d < s->ndirs ? s->dirs[d] : "/usr/lib/debug", m->build_id[0]);
		for (unsigned i = 1; i < m->build_id_len && off < (int)sizeof path - 8; i++)
			off +=
			    snprintf(path + off, sizeof path - (size_t)off, "%02x", m->build_id[i]);
		snprintf(path + off, sizeof path - (size_t)off, ".debug");
		if (!file_build_id(path, id, &len) && same_id(m, id, len)) use = path;
	}
	if (!use || !(f->dwfl = dwfl_begin(&s->cb))) return;
	dwfl_report_begin(f->dwfl);
	f->mod = dwfl_report_elf(f->dwfl, m->path, use, -1, 0, true);
	dwfl_report_end(f->dwfl, NULL, NULL);
	Dwarf_Addr low = 0;
	if (f->mod) dwfl_module_info(f->mod, NULL, &low, NULL, NULL, NULL, NULL, NULL);
	f->low = low;
}

static struct sym_file *file_of(struct hk_sym *s, const struct hk_module *m)
{
	for (size_t i = 0; i < s->n; i++) {
		struct sym_file *f = &s->f[i];
		if (!strcmp(f->path, m->path) && f->build_id_len == m->build_id_len &&
		    !memcmp(f->build_id, m->build_id, m->build_id_len))
			return f;
	}
	hk_grow((void **)&s->f, &s->cap, s->n, sizeof *s->f);
	struct sym_file *f = &s->f[s->n++];
	memset(f, 0, sizeof *f);
	f->path = hk_xstrdup(m->path);
	memcpy(f->build_id, m->build_id, m->build_id_len);
	f->build_id_len = m->build_id_len;
	open_file(s, f, m);
	return f;
}

static void copy(char *dst, const char *src)
{
	snprintf(dst, HK_CS_NAME, "%s", src ? src : "");
}

/* A function's name without GCC's clone suffix (".lto_priv.0", ".isra.0",
 * ".constprop.0", ".part.0"): C and mangled C++ names hold no dot. */
static void copy_function(char *dst, const char *src)
{
	copy(dst, src);
	char *dot = dst[0] ? strchr(dst + 1, '.') : NULL;
	if (dot) *dot = 0;
}

/* The innermost function at pc, inlined ones included (-O2 code). A
 * malloc wrapper inlined into its caller shares the caller's frame, so
 * the frame-by-frame skip in callsite.c cannot pass it: the scope around
 * it names the call then, at the line of the wrapper's call (its
 * DW_AT_call_file and DW_AT_call_line), returned in *file and *line. */
static const char *inline_name(Dwfl_Module *mod, Dwarf_Addr pc, const char **file, int *line)
{
	Dwarf_Addr bias;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, &bias);
	Dwarf_Die *scopes = NULL;
	const char *name = NULL;
	int n = cu ? dwarf_getscopes(cu, pc - bias, &scopes) : 0;
	for (int i = 0; i < n && !name; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram) continue;
		Dwarf_Attribute a;
		name = dwarf_formstring(dwarf_attr_integrate(&scopes[i], DW_AT_name, &a));
		if (tag == DW_TAG_subprogram) break;
		Dwarf_Word call_line, call_file;
		Dwarf_Files *files;
		size_t nfiles;
		if (name && hk_cs_wrapper_name(name) &&
		    !dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &a), &call_line) &&
		    !dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &a), &call_file) &&
		    !dwarf_getsrcfiles(cu, &files, &nfiles) && call_file < nfiles) {
			*file = dwarf_filesrc(files, call_file, NULL, NULL);
			*line = (int)call_line;
			name = NULL; /* the next scope out is the caller */
		}
	}
	free(scopes);
	return name;
}

void hk_sym_frame(struct hk_sym *s, const struct hk_module *m, uint64_t addr,
                  struct hk_frame_name *out, int want_line)
{
	memset(out, 0, sizeof *out);
	out->mod = m;
	if (!m) return;
	out->offset = addr - m->baddr;
	struct sym_file *f = file_of(s, m);
	if (!f->mod) return;
	/* The file address of the call: the return address minus one. */
	Dwarf_Addr pc = f->low + out->offset - 1;
	GElf_Off off;
	GElf_Sym sym;
	const char *fn = dwfl_module_addrinfo(f->mod, pc, &off, &sym, NULL, NULL, NULL);
	if (!want_line) {
		copy_function(out->function, fn);
		return;
	}
	const char *file = NULL;
	int line = 0;
	const char *in = inline_name(f->mod, pc, &file, &line);
	copy_function(out->function, in ? in : fn);
	if (!file) {
		Dwfl_Line *l = dwfl_module_getsrc(f->mod, pc);
		file = l ? dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL) : NULL;
	}
	if (file && line > 0) {
		copy(out->file, file);
		out->line = line;
	}
}
