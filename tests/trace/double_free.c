/* A double free for trace.snapshot: prints "pid N", then frees one block
 * twice. ptr_track reports it and emits hakmem:heap_error (kind 1);
 * with HAKMEM_ON_ERROR=abort, the default, the process dies of SIGABRT. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	printf("pid %d\n", (int)getpid());
	fflush(stdout);
	/* Some ordinary traffic first, so the snapshot has context around the error. */
	void *keep[256];
	for (int i = 0; i < 256; i++)
		keep[i] = malloc(16 + (size_t)i * 8);
	for (int i = 0; i < 256; i++)
		free(keep[i]);
	char *volatile p = malloc(64);
	free(p);
	free(p);
	printf("survived\n");
	return 0;
}
