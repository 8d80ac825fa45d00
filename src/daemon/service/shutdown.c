/*
 * The drain.  Each step is bounded: the main thread never blocks on a loop,
 * it polls what it waits for (futures, counters) every few milliseconds and
 * reads the signalfd in between, so a second signal is seen at once and a
 * stuck loop (one that neither answers nor shows progress) costs at most
 * SHUTDOWN_STEP seconds before loomd gives up.
 *
 *   1. draining on, listeners closed, STOPPING=1; idle connections close
 *   2. wait until no job is unfinished, for at most shutdown_grace
 *   3. fail what is left with shutting_down, on each job's owner loop, a
 *      slice at a time (job_stop_all); wait until those jobs are terminal
 *      (kill_grace for child processes)
 *   4. connections close once their answers are written, and once what
 *      the jobs' ends published is durable and delivered (a watcher's last
 *      event waits for its record, like any answer)
 *   5. loops stop, then the executor
 */
#include "autoconf.h"

#include <sys/signalfd.h>

#include <errno.h>
#include <math.h>
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
loops_finished(void *arg)
{
	unsigned int	i;

	for (i = 0; i < loomd.nloops; i++) {
		if (!loop_finished(loomd.loops[i]))
			return false;
	}
	return true;
}

/* Until every loop has answered, or one has not moved for SHUTDOWN_STEP. */
struct answers {
	struct future	**fs;
	unsigned long	(*progress)(unsigned int);
	unsigned long	 *seen;
	double		 *moved;	/* when loop i last made progress */
	double		  told;		/* systemd, of the last progress */
	bool		  stuck;
};

static bool
answered_or_stuck(void *arg)
{
	struct answers	*a = arg;
	double		 now = mono();
	unsigned long	 p;
	unsigned int	 i;
	bool		 all = true, moved = false;

	for (i = 0; i < loomd.nloops; i++) {
		if (a->fs[i] == NULL || future_done(a->fs[i]))
			continue;
		all = false;
		if (a->progress != NULL && (p = a->progress(i)) != a->seen[i]) {
			a->seen[i] = p;
			a->moved[i] = now;
			moved = true;
		} else if (now - a->moved[i] >= SHUTDOWN_STEP)
			a->stuck = true;
	}
	/* Nor for systemd: the rest of the drain's time, from now. */
	if (moved && now - a->told >= 1.0) {
		systemd_notifyf("EXTEND_TIMEOUT_USEC=%.0f",
		    (loomd.config->kill_grace + 4 * SHUTDOWN_STEP) * 1e6);
		a->told = now;
	}
	return all || a->stuck;
}

/*
 * Run fn on every loop and wait until each has answered; false if one did
 * not.  A loop has SHUTDOWN_STEP to answer, or, with progress, to show
 * progress(i) moving: a loop working through millions of jobs a slice at
 * a time is not stuck, one that shows nothing for that long is.
 */
static bool
on_every_loop(void (*fn)(struct future *, void *), const char *what,
    unsigned long (*progress)(unsigned int))
{
	double		now = mono();
	struct answers	a = { .progress = progress, .told = now };
	unsigned int	i;

	a.fs = xcalloc(loomd.nloops, sizeof(*a.fs));
	a.seen = xcalloc(loomd.nloops, sizeof(*a.seen));
	a.moved = xcalloc(loomd.nloops, sizeof(*a.moved));
	for (i = 0; i < loomd.nloops; i++) {
		if (progress != NULL)
			a.seen[i] = progress(i);
		a.moved[i] = now;
		a.fs[i] = future_submit_named(loomd.loops[i], fn, NULL, what);
	}
	(void)shutdown_wait(answered_or_stuck, &a, INFINITY);
	now = mono();
	for (i = 0; i < loomd.nloops; i++) {
		if (a.fs[i] != NULL && !future_done(a.fs[i]) &&
		    now - a.moved[i] >= SHUTDOWN_STEP)
			log_warnx("shutdown: loop %u did not answer (%s)%s within "
			    "%gs", i, what, progress != NULL ? " nor move on" : "",
			    SHUTDOWN_STEP);
		future_unref(a.fs[i]);
	}
	free(a.fs);
	free(a.seen);
	free(a.moved);
	return !a.stuck;
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
stop_jobs_done(size_t stopped, void *arg)
{
	future_set_result(arg, NULL);
	future_unref(arg);
}

/* Answers once the loop has looked at every job it holds, slice by slice. */
static void
stop_jobs(struct future *f, void *arg)
{
	future_ref(f);
	job_stop_all(stop_jobs_done, f);
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

/*
 * Fail every unfinished job, on its owner; again for late arrivals.  What
 * the loops stopped has kill_grace (and a step) to end from when they have
 * been through their jobs: a million take seconds.
 */
static bool
shutdown_stop_jobs(void)
{
	double	deadline = 0, next;

	log_info("shutdown: the grace of %gs is over: stopping %lu unfinished jobs",
	    loomd.config->shutdown_grace, jobs_unfinished());
	for (;;) {
		/* The journal keeps them as they are: the next start takes
		 * them up (a running one as its next attempt). */
		journal_quiesce();
		if (!on_every_loop(stop_jobs, "stop_jobs", job_stop_progress))
			return false;
		if (deadline == 0)
			deadline = mono() + loomd.config->kill_grace + SHUTDOWN_STEP;
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
	if (!on_every_loop(drain_connections, "drain_connections", NULL) ||
	    !on_every_loop(barrier, "barrier", NULL))
		return -1;
	if (!shutdown_wait(no_jobs_unfinished, NULL, mono() + cfg->shutdown_grace) &&
	    !shutdown_stop_jobs())
		return -1;

	log_info("shutdown: no job is unfinished; closing connections once "
	    "their answers are written");
	health_set_phase("closing connections");
	if (!on_every_loop(durable_barrier, "durable_barrier", NULL) ||
	    !on_every_loop(close_answered_connections,
	    "close_answered_connections", NULL))
		return -1;
	if (!shutdown_wait(no_connections, NULL, mono() + SHUTDOWN_STEP)) {
		log_warnx("shutdown: closing %lu connections that did not take "
		    "their answers", (unsigned long)atomic_load(&conn_counts.current));
		if (!on_every_loop(close_connections, "close_connections", NULL))
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
