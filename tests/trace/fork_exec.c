/* fork + exec, the way shells, make and time(1) start commands, for
 * trace.per_call_fork. Under `hakmem trace --per-call` every malloc and
 * free is an event, so the child emits at once: in the allocator's fork
 * handler and while liblttng-ust tidies up after the fork, before exec.
 *
 * usage: fork_exec [N]    runs /bin/true N times (default 4); prints
 * "child PID" for each; exit 0 = every child exited 0. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	int bad = 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 0; i < n; i++) {
		/* Some blocks to own across the fork, as any real parent has. */
		void *keep[64];
		for (int k = 0; k < 64; k++)
			keep[k] = malloc(32 + (size_t)k * 48);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		int status;
		if (waitpid(pid, &status, 0) != pid) {
			perror("waitpid");
			return 1;
		}
		printf("child %d\n", (int)pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "fork_exec: child %d ended with status 0x%x%s\n", (int)pid,
			        status,
			        WIFSIGNALED(status) ? " (killed by a signal before or after exec)"
			                            : "");
			bad = 1;
		}
		for (int k = 0; k < 64; k++)
			free(keep[k]);
	}
	return bad;
}
