/*
 * loomd: for now only the runtime (loops and executor) starts; listeners and
 * the protocol come with the daemon work.  It says so, runs until SIGINT or
 * SIGTERM, then stops in the defined order.
 */
#include "autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "executor.h"
#include "log.h"
#include "loop.h"
#include "util.h"

int
main(int argc, char **argv)
{
	struct loop	**loops;
	struct executor	 *executor;
	sigset_t	  set;
	long		  nloops = sysconf(_SC_NPROCESSORS_ONLN);
	int		  sig;
	long		  i;

	log_init("loomd", LOG_INFO, LOG_TO_STDERR);
	if (nloops < 1)
		nloops = 1;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	loops = xcalloc(nloops, sizeof(*loops));
	for (i = 0; i < nloops; i++) {
		loops[i] = loop_new(i);
		if (loop_start(loops[i]) == -1)
			fatal("loop %ld", i);
	}
	executor = executor_new(nloops, 1024);
	log_info("runtime only: %ld loops and %ld executor threads running, "
	    "no listeners yet; stop with SIGINT or SIGTERM", nloops, nloops);

	sigwait(&set, &sig);
	log_info("signal %d: stopping", sig);
	for (i = 0; i < nloops; i++)
		loop_stop(loops[i]);
	for (i = 0; i < nloops; i++)
		loop_join(loops[i]);
	executor_shutdown(executor, EXECUTOR_CANCEL);
	executor_free(executor);
	for (i = 0; i < nloops; i++)
		loop_free(loops[i]);
	free(loops);
	return 0;
}
