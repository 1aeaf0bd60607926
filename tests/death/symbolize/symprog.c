/* The program of the symbolize test (check.sh): a double free in the
 * executable ("main") or in a shared library of its own ("lib"), or a
 * clean run ("clean"). It ends by saying whether libdw is mapped: only a
 * report may load it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void symlib_double_free(void);

static volatile char sink;

static __attribute__((noinline)) void main_double_free(void)
{
	char *p = malloc(40); /* MARK: main malloc */
	sink = p[0];
	free(p); /* MARK: main first free */
	free(p); /* MARK: main second free */
}

static int libdw_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;
	while (f && fgets(line, sizeof line, f))
		if (strstr(line, "/libdw")) found = 1;
	if (f) fclose(f);
	return found;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	if (!strcmp(what, "main")) {
		main_double_free(); /* MARK: main call */
	} else if (!strcmp(what, "lib")) {
		symlib_double_free(); /* MARK: lib call */
	} else if (!strcmp(what, "clean")) {
		char *p = malloc(40);
		sink = p[0];
		free(p);
	} else {
		fprintf(stderr, "usage: symprog main|lib|clean\n");
		return 2;
	}
	printf("libdw %s\n", libdw_mapped() ? "mapped" : "not mapped");
	return 0;
}
