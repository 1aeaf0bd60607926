/* Three call sites whose mallocs touch fresh pages in the ratio 3:2:1,
 * for the call-site tests (callsite_test.py):
 *   load_index   (this file)        3 parts, 256-byte blocks
 *   cache_fill   (libcsfill.so)     2 parts, 512-byte blocks
 *   read_records (this file)        1 part, 1000-byte blocks
 * Each part is 8 MiB of blocks that are kept, so every block is carved
 * from fresh pages; the sites take turns, 64 rounds.
 *
 *   csprog            libcsfill.so linked in
 *   csprog-dl         (built with CS_DLOPEN) dlopens DIR/libcsfill.so
 *                     in main, after tracing started: csprog-dl DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(CS_DLOPEN)
#include <dlfcn.h>
#endif

#define PART (8u << 20)
#define ROUNDS 64

void *cache_fill(size_t bytes, size_t block);

static void keep(void *p)
{
	static void **kept;
	static size_t n, cap;
	if (n == cap) {
		cap = cap ? cap * 2 : 4096;
		kept = realloc(kept, cap * sizeof *kept);
		if (!kept) abort();
	}
	kept[n++] = p;
}

__attribute__((noinline)) static void load_index(size_t bytes)
{
	for (size_t done = 0; done < bytes; done += 256) {
		char *p = malloc(256);
		if (!p) abort();
		p[0] = 1;
		keep(p);
	}
}

__attribute__((noinline)) static void read_records(size_t bytes)
{
	for (size_t done = 0; done < bytes; done += 1000) {
		char *p = malloc(1000);
		if (!p) abort();
		p[0] = 1;
		keep(p);
	}
}

int main(int argc, char **argv)
{
#if defined(CS_DLOPEN)
	void *(*fill)(size_t, size_t);
	char path[4096];
	snprintf(path, sizeof path, "%s/libcsfill.so", argc > 1 ? argv[1] : ".");
	void *h = dlopen(path, RTLD_NOW);
	if (!h || !(fill = (void *(*)(size_t, size_t))dlsym(h, "cache_fill"))) {
		fprintf(stderr, "csprog: %s\n", dlerror());
		return 1;
	}
#else
	void *(*fill)(size_t, size_t) = cache_fill;
	(void)argc;
	(void)argv;
#endif
	for (int r = 0; r < ROUNDS; r++) {
		load_index(3 * (size_t)PART / ROUNDS);
		fill(2 * (size_t)PART / ROUNDS, 512);
		read_records((size_t)PART / ROUNDS);
	}
	printf("csprog: done\n");
	return 0;
}
