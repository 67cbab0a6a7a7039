/*
 * archport's own pause: the process that holds a pod sandbox's namespaces.
 *
 * Written for archport as the fallback of the "c" strategy when the
 * upstream source of the pause version cannot be fetched.  What a sandbox
 * process must do, and nothing more:
 *   - exit 0 on SIGINT or SIGTERM (the runtime stops the sandbox that way);
 *   - reap children on SIGCHLD (as PID 1 of a shared PID namespace it
 *     inherits orphans, which would otherwise stay zombies);
 *   - otherwise sleep in pause(), using no CPU.
 * "-v" prints the version given with -DVERSION=... at build time.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION unknown
#endif
#define AS_TEXT_(x) #x
#define AS_TEXT(x) AS_TEXT_(x)

static void stop(int sig)
{
	(void)sig;
	_exit(0);
}

static void reap(int sig)
{
	int saved = errno;

	(void)sig;
	/* One SIGCHLD may stand for several exits: collect all that are done. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

static int on(int sig, void (*handler)(int), int flags)
{
	struct sigaction act;

	memset(&act, 0, sizeof(act));
	act.sa_handler = handler;
	act.sa_flags = flags;
	sigemptyset(&act.sa_mask);
	return sigaction(sig, &act, NULL);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		printf("pause (archport) %s\n", AS_TEXT(VERSION));
		return 0;
	}
	if (getpid() != 1)
		fprintf(stderr, "pause: note: running as pid %d, not 1\n", (int)getpid());
	if (on(SIGINT, stop, 0) != 0 || on(SIGTERM, stop, 0) != 0 ||
	    on(SIGCHLD, reap, SA_NOCLDSTOP | SA_RESTART) != 0) {
		perror("pause: sigaction");
		return 1;
	}
	for (;;)
		pause();
	return 2; /* not reached */
}
