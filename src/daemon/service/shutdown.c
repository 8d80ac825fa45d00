/*
 * The drain.  Each step is bounded: the main thread never blocks on a loop,
 * it polls what it waits for (futures, counters) every few milliseconds and
 * reads the signalfd in between, so a second signal is seen at once and a
 * stuck loop costs at most SHUTDOWN_STEP seconds before loomd gives up.
 *
 *   1. draining on, listeners closed, STOPPING=1; idle connections close
 *   2. wait until no job is unfinished, for at most shutdown_grace
 *   3. fail what is left with shutting_down, on each job's owner loop; wait
 *      until those jobs are terminal (kill_grace for child processes)
 *   4. connections close once their answers are written, and once what
 *      the jobs' ends published is durable and delivered (a watcher's last
 *      event waits for its record, like any answer)
 *   5. loops stop, then the executor
 */
#include "autoconf.h"

#include <sys/signalfd.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/conn.h"
#include "core/durable.h"
#include "core/config.h"
#include "runtime/executor.h"
#include "runtime/future.h"
#include "service/health.h"
#include "core/job.h"
#include "runtime/log.h"
#include "core/loomd.h"
#include "runtime/loop.h"
#include "io/contain.h"
#include "io/journal.h"
#include "net/server.h"
#include "service/shutdown.h"
#include "service/systemd.h"
#include "runtime/util.h"

#define SHUTDOWN_POLL_MS	10
#define SHUTDOWN_STEP		10.0	/* seconds a loop has to answer a post */
#define SHUTDOWN_RESTOP		0.5	/* seconds between passes that stop jobs */

static int	shutdown_sfd = -1;

static double
mono(void)
{
	return now_ns() / 1e9;
}

/* Pending, queued and running jobs, all loops. */
static unsigned long
jobs_unfinished(void)
{
	unsigned long	counts[JOB_NSTATES];

	job_count_states(counts);
	return counts[JOB_PENDING] + counts[JOB_QUEUED] + counts[JOB_RUNNING];
}

/* Read what the signalfd holds: a second SIGTERM or SIGINT ends it now. */
static void
shutdown_signals(void)
{
	struct signalfd_siginfo	si;

	while (read(shutdown_sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: ignored while shutting down");
			continue;
		}
		if (si.ssi_signo == SIGCHLD) {
			contain_sweep();
			continue;
		}
		log_warnx("%s again: exiting at once, %lu jobs unfinished",
		    si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM",
		    jobs_unfinished());
		contain_kill_all();
		_exit(0);
	}
}

/* Until done(arg) or the deadline; false on the deadline. */
static bool
shutdown_wait(bool (*done)(void *), void *arg, double deadline)
{
	struct pollfd	pfd = { .fd = shutdown_sfd, .events = POLLIN };

	for (;;) {
		if (done(arg))
			return true;
		if (mono() >= deadline)
			return false;
		if (poll(&pfd, 1, SHUTDOWN_POLL_MS) > 0)
			shutdown_signals();
		health_tick();
	}
}

static bool
no_jobs_unfinished(void *arg)
{
	return jobs_unfinished() == 0;
}

static bool
no_connections(void *arg)
{
	return atomic_load(&conn_counts.current) == 0;
}

static bool
futures_done(void *arg)
{
	struct future	**fs = arg;
	unsigned int	  i;

	for (i = 0; i < loomd.nloops; i++) {
		if (fs[i] != NULL && !future_done(fs[i]))
			return false;
	}
	return true;
}

static bool
loops_finished(void *arg)
{
	unsigned int	i;

	for (i = 0; i < loomd.nloops; i++) {
		if (!loop_finished(loomd.loops[i]))
			return false;
	}
	return true;
}

/* Run fn on every loop and wait until each has; false if one did not. */
static bool
on_every_loop(void (*fn)(struct future *, void *), const char *what)
{
	struct future	**fs = xcalloc(loomd.nloops, sizeof(*fs));
	unsigned int	  i;
	bool		  ok;

	for (i = 0; i < loomd.nloops; i++)
		fs[i] = future_submit_named(loomd.loops[i], fn, NULL, what);
	ok = shutdown_wait(futures_done, fs, mono() + SHUTDOWN_STEP);
	for (i = 0; i < loomd.nloops; i++) {
		if (fs[i] != NULL && !future_done(fs[i]))
			log_warnx("shutdown: loop %u did not answer (%s) within %gs",
			    i, what, SHUTDOWN_STEP);
		future_unref(fs[i]);
	}
	free(fs);
	return ok;
}

static void
drain_connections(struct future *f, void *arg)
{
	conn_drain(1);
	future_set_result(f, NULL);
}

static void
barrier(struct future *f, void *arg)
{
	future_set_result(f, NULL);
}

static void
stop_jobs(struct future *f, void *arg)
{
	job_stop_all();
	future_set_result(f, NULL);
}

static void
durable_barrier_done(void *arg)
{
	future_set_result(arg, NULL);
	future_unref(arg);
}

/* Answers when what this loop published so far is durable: its watch
 * events have been posted to their loops by then. */
static void
durable_barrier(struct future *f, void *arg)
{
	future_ref(f);
	durable_then(durable_barrier_done, f);
}

static void
close_answered_connections(struct future *f, void *arg)
{
	conn_drain(2);
	future_set_result(f, NULL);
}

static void
close_connections(struct future *f, void *arg)
{
	conn_close_all();
	future_set_result(f, NULL);
}

/* Fail every unfinished job, on its owner; again for late arrivals. */
static bool
shutdown_stop_jobs(void)
{
	double	deadline = mono() + loomd.config->kill_grace + SHUTDOWN_STEP;
	double	next;

	log_info("shutdown: the grace of %gs is over: stopping %lu unfinished jobs",
	    loomd.config->shutdown_grace, jobs_unfinished());
	for (;;) {
		/* The journal keeps them as they are: the next start takes
		 * them up (a running one as its next attempt). */
		journal_quiesce();
		if (!on_every_loop(stop_jobs, "stop_jobs"))
			return false;
		next = mono() + SHUTDOWN_RESTOP;
		if (shutdown_wait(no_jobs_unfinished, NULL,
		    next < deadline ? next : deadline))
			return true;
		if (mono() >= deadline)
			break;
	}
	log_warnx("shutdown: %lu jobs did not stop within %gs",
	    jobs_unfinished(), loomd.config->kill_grace + SHUTDOWN_STEP);
	return false;
}

int
shutdown_run(int sfd, const char *why)
{
	const struct config	*cfg = loomd.config;
	unsigned int		 i;

	shutdown_sfd = sfd;
	atomic_store(&loomd.draining, true);
	server_close();
	log_info("%s: draining: listeners closed, new jobs refused; %lu "
	    "unfinished jobs may run for %gs", why, jobs_unfinished(),
	    cfg->shutdown_grace);
	health_set_phase("draining");
	systemd_notifyf("STOPPING=1\nEXTEND_TIMEOUT_USEC=%.0f",
	    (cfg->shutdown_grace + cfg->kill_grace + 4 * SHUTDOWN_STEP) * 1e6);
	health_tick();

	/*
	 * Idle connections close.  A submit that got past the draining check
	 * before it was set has posted its job by the time its loop answers;
	 * a second round makes sure each owner has taken it, so it counts.
	 */
	if (!on_every_loop(drain_connections, "drain_connections") ||
	    !on_every_loop(barrier, "barrier"))
		return -1;
	if (!shutdown_wait(no_jobs_unfinished, NULL, mono() + cfg->shutdown_grace) &&
	    !shutdown_stop_jobs())
		return -1;

	log_info("shutdown: no job is unfinished; closing connections once "
	    "their answers are written");
	health_set_phase("closing connections");
	if (!on_every_loop(durable_barrier, "durable_barrier") ||
	    !on_every_loop(close_answered_connections, "close_answered_connections"))
		return -1;
	if (!shutdown_wait(no_connections, NULL, mono() + SHUTDOWN_STEP)) {
		log_warnx("shutdown: closing %lu connections that did not take "
		    "their answers", (unsigned long)atomic_load(&conn_counts.current));
		if (!on_every_loop(close_connections, "close_connections"))
			return -1;
	}

	health_set_phase("stopping");
	health_loops_stopping();
	for (i = 0; i < loomd.nloops; i++)
		loop_stop(loomd.loops[i]);
	if (!shutdown_wait(loops_finished, NULL, mono() + SHUTDOWN_STEP)) {
		log_warnx("shutdown: the loops did not stop within %gs", SHUTDOWN_STEP);
		return -1;
	}
	for (i = 0; i < loomd.nloops; i++)
		loop_join(loomd.loops[i]);
	executor_shutdown(loomd.executor, EXECUTOR_CANCEL);
	log_info("shutdown: done");
	return 0;
}
