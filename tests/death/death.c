/* Death tests: each heap-error kind, committed in a forked child, must end
 * the child with SIGABRT (HAKMEM_ON_ERROR=abort, the default) and a report
 * whose first line is "hakmem: <kind> at 0x...".
 *
 * usage: death KIND [report]   (report: HAKMEM_ON_ERROR=report, the child
 * must survive, print the report and never write to the bad pointer)
 * DEATH_EXPECT=a|b|...: each of these must also appear in the report.
 * death smallmid-first: not a death; with HAKMEM_SMALLMID=1 the process's
 * very first malloc must already be a Small-Mid block. */
#include <hakmem.h>

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile char sink;

/* Out of line, so the compiler does not second-guess the corruption. */
static __attribute__((noinline)) void poke(char *where, char v)
{
	*(volatile char *)where = v;
}

/* The size used for slab blocks; DEATH_SIZE lets the Small-Mid run use a
 * block from its pool. */
static size_t block_size(void)
{
	const char *s = getenv("DEATH_SIZE");
	return s ? (size_t)atol(s) : 40;
}

static void *free_and_exit(void *p)
{
	free(p);
	return NULL; /* the exit flushes this thread's cache */
}

static void commit(const char *kind)
{
	size_t n = block_size();
	char *p = malloc(n);
	memset(p, 'x', n);
	if (!strcmp(kind, "double-free")) {
		free(p);
		free(p);
	} else if (!strcmp(kind, "interior-free")) {
		free(p + 16);
	} else if (!strcmp(kind, "header-corrupt")) {
		poke(p - 1, 'A'); /* what an underflowing strcpy would leave */
		free(p);
	} else if (!strcmp(kind, "invalid-free")) {
		/* The end of p's own slab (64 KiB, aligned): far past the few
		 * blocks carved so far, so never handed out. DEATH_WHERE moves
		 * it below the slab's first block, where fast mode's inline
		 * free has no compare of its own (alloc_fast.h): the start of
		 * p's slab, or inside its SuperSlab's header page (2 MiB). */
		const char *where = getenv("DEATH_WHERE");
		uintptr_t a = ((uintptr_t)p & ~(uintptr_t)0xffff) + 0x10000 - 64;
		if (where && !strcmp(where, "slab-start")) a = (uintptr_t)p & ~(uintptr_t)0xffff;
		if (where && !strcmp(where, "header-page"))
			a = ((uintptr_t)p & ~(uintptr_t)0x1fffff) + 2048;
		free((char *)a);
	} else if (!strcmp(kind, "foreign-pointer")) {
		char *other = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		free(other + 64); /* read-only: a write would crash, not report */
	} else if (!strcmp(kind, "overflow")) {
		p[n] = 0; /* the classic off-by-one NUL */
		free(p);
	} else if (!strcmp(kind, "use-after-free-write")) {
		free(p);
		p[20] = 'y';
		/* The report comes when the block is checked again: at the
		 * latest, by the heap walk. */
		hak_heap_check();
	} else if (!strcmp(kind, "link-write")) {
		/* With no quarantine the freed block goes straight onto a free
		 * list: the write lands on its encoded link. */
		free(p);
		memset(p, 'z', 8);
		sink = *(volatile char *)malloc(n);
	} else if (!strcmp(kind, "link-overwrite")) {
		/* The whole block, link included, then two pops: the second
		 * would follow the overwritten link. */
		free(p);
		memset(p, 0x41, n);
		sink = *(volatile char *)malloc(n);
		sink = *(volatile char *)malloc(n);
	} else if (!strcmp(kind, "quarantine-write")) {
		/* The block sits in the quarantine until exit: the exit check
		 * must find it, with no setting asked for. */
		free(p);
		memset(p, 0x41, n);
		sink = *(volatile char *)malloc(n);
		exit(0);
	} else if (!strcmp(kind, "quarantine-leave")) {
		/* 4 bytes written at DEATH_AT (0: the word the free-list link
		 * will overwrite) of a quarantined block, then enough frees
		 * that it leaves the quarantine in a batch: seen as it leaves,
		 * before the link is written. */
		size_t at = getenv("DEATH_AT") ? (size_t)atol(getenv("DEATH_AT")) : 40;
		free(p);
		memset(p + at, 0x41, 4);
		for (int i = 0; i < 256; i++)
			free(malloc(n));
		exit(0);
	} else if (!strcmp(kind, "remote-double-free")) {
		/* Another thread frees p and exits: its cache sends p to the
		 * remote list of this thread's current slab, where it waits.
		 * Freeing it again here must still be a double free. */
		pthread_t t;
		if (pthread_create(&t, NULL, free_and_exit, p) || pthread_join(t, NULL)) _exit(3);
		free(p);
	} else if (!strcmp(kind, "large-double-free")) {
		char *big = malloc(1 << 20);
		free(big);
		free(big);
	} else {
		fprintf(stderr, "death: unknown kind %s\n", kind);
		_exit(3);
	}
	sink = p[0];
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: death KIND [report]\n");
		return 2;
	}
	const char *kind = argv[1];
	if (!strcmp(kind, "smallmid-first")) {
		/* First thing the process does: hakmem has not read its settings. */
		void *first = malloc(300);
		unsigned char header = *(volatile unsigned char *)((uintptr_t)first - 1);
		if (header != 0xb1) {
			fprintf(stderr,
			        "death smallmid-first: FAILED: header 0x%02x, expected 0xb1\n",
			        header);
			return 1;
		}
		printf("death smallmid-first: ok (header 0xb1)\n");
		return 0;
	}
	const char *expect =
	    !strcmp(kind, "large-double-free") || !strcmp(kind, "remote-double-free")
	        ? "double-free"
	    : !strncmp(kind, "link-", 5) || !strncmp(kind, "quarantine-", 11)
	        ? "use-after-free-write"
	        : kind;
	int report_mode = argc > 2 && !strcmp(argv[2], "report");
	int fds[2];
	if (pipe(fds)) return 2;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 2);
		close(fds[0]);
		commit(kind);
		_exit(report_mode ? 0 : 4); /* abort mode must not get here */
	}
	close(fds[1]);
	char buf[8192];
	size_t len = 0;
	ssize_t r;
	while (len < sizeof buf - 1 && (r = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)r;
	buf[len] = 0;
	int status;
	waitpid(pid, &status, 0);

	char want[128];
	snprintf(want, sizeof want, "hakmem: %s at 0x", expect);
	int ok_line = !strncmp(buf, want, strlen(want));
	/* Every DEATH_EXPECT piece (separated by '|') in the report too. */
	char pieces[512];
	snprintf(pieces, sizeof pieces, "%s", getenv("DEATH_EXPECT") ? getenv("DEATH_EXPECT") : "");
	for (char *save, *w = strtok_r(pieces, "|", &save); w; w = strtok_r(NULL, "|", &save))
		if (!strstr(buf, w)) {
			fprintf(stderr, "death %s: the report lacks \"%s\"\n", kind, w);
			ok_line = 0;
		}
	int ok_status = report_mode ? WIFEXITED(status) && WEXITSTATUS(status) == 0
	                            : WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
	if (!ok_line || !ok_status) {
		fprintf(stderr,
		        "death %s: FAILED\n  expected first line \"%s...\" and %s\n  got status "
		        "0x%x and:\n%s\n",
		        kind, want, report_mode ? "a clean exit" : "SIGABRT", status, buf);
		return 1;
	}
	printf("death %s: ok (%s)\n", kind,
	       report_mode ? "reported, continued" : "reported, aborted");
	return 0;
}
