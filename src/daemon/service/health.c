/*
 * STATUS= lines: sent when the summary changes, at most once a second.
 *
 * The watchdog works in rounds.  Each round posts a probe to every loop;
 * a probe records the round it saw.  At the next check, if every loop has
 * recorded the round, WATCHDOG=1 goes out; either way a new round starts.
 * So systemd hears from loomd only while each loop keeps running its posts,
 * and a loop stuck in a callback lets systemd's WatchdogSec expire.  Checks
 * come every third of WATCHDOG_USEC, so one slow round is forgiven.
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/health.h"
#include "core/job.h"
#include "net/conn.h"
#include "runtime/log.h"
#include "core/loomd.h"
#include "runtime/loop.h"
#include "service/systemd.h"
#include "runtime/util.h"

#define HEALTH_STATUS_EVERY	1.0	/* seconds between STATUS= updates */

static const char	*health_phase;
static char		 health_last[256];
static double		 health_status_at;

static double		 health_watchdog_every;	/* 0: no watchdog */
static double		 health_watchdog_at;
static atomic_ulong	 health_round;
static atomic_ulong	*health_answered;	/* per loop: the round it saw */
static bool		 health_complained;
static bool		 health_stopped;

static double
health_now(void)
{
	return now_ns() / 1e9;
}

static void
health_probe(void *arg)
{
	uintptr_t	i = (uintptr_t)arg;

	atomic_store(&health_answered[i], atomic_load(&health_round));
}

static void
health_post_probes(void)
{
	unsigned int	i;

	for (i = 0; i < loomd.nloops; i++)
		(void)loop_post(loomd.loops[i], health_probe, (void *)(uintptr_t)i);
}

void
health_init(void)
{
	uint64_t	usec = systemd_watchdog_usec();

	health_status_at = 0;
	health_last[0] = '\0';
	health_phase = NULL;
	health_stopped = false;
	health_complained = false;
	health_answered = xcalloc(loomd.nloops, sizeof(*health_answered));
	atomic_store(&health_round, 1);
	health_watchdog_every = usec / 3e6;
	health_watchdog_at = health_now() + health_watchdog_every;
	if (usec > 0) {
		log_info("watchdog: every %.3gs, while every loop answers",
		    usec / 1e6);
		health_post_probes();
	}
}

void
health_free(void)
{
	free(health_answered);
	health_answered = NULL;
}

void
health_set_phase(const char *phase)
{
	health_phase = phase;
	health_status_at = 0;		/* say so at the next tick */
}

void
health_loops_stopping(void)
{
	health_stopped = true;
}

void
health_summary(char *buf, size_t len)
{
	unsigned long	counts[JOB_NSTATES];

	job_count_states(counts);
	snprintf(buf, len, "%s%s%lu running, %lu waiting, %lu connections",
	    health_phase != NULL ? health_phase : "",
	    health_phase != NULL ? ": " : "",
	    counts[JOB_RUNNING], counts[JOB_PENDING] + counts[JOB_QUEUED],
	    (unsigned long)atomic_load(&conn_counts.current));
}

double
health_interval(void)
{
	if (health_watchdog_every > 0 && health_watchdog_every < HEALTH_STATUS_EVERY)
		return health_watchdog_every;
	return HEALTH_STATUS_EVERY;
}

bool
health_watchdog(void)
{
	unsigned long	round = atomic_load(&health_round);
	unsigned int	i, late = 0;
	bool		healthy = !health_stopped;

	for (i = 0; healthy && i < loomd.nloops; i++) {
		if (atomic_load(&health_answered[i]) != round) {
			healthy = false;
			late = i;
		}
	}
	if (healthy) {
		systemd_notify("WATCHDOG=1");
		if (health_complained)
			log_info("watchdog: every loop answers again");
		health_complained = false;
	} else if (!health_complained && !health_stopped) {
		log_warnx("watchdog: loop %u has not answered within %.3gs; not "
		    "telling systemd all is well", late, health_watchdog_every);
		health_complained = true;
	}
	atomic_store(&health_round, round + 1);
	if (!health_stopped)
		health_post_probes();
	return healthy;
}

void
health_tick(void)
{
	char	line[256];
	double	now = health_now();

	if (health_watchdog_every > 0 && now >= health_watchdog_at) {
		health_watchdog_at = now + health_watchdog_every;
		(void)health_watchdog();
	}
	if (now < health_status_at)
		return;
	health_status_at = now + HEALTH_STATUS_EVERY;
	health_summary(line, sizeof(line));
	if (strcmp(line, health_last) == 0)
		return;
	snprintf(health_last, sizeof(health_last), "%s", line);
	systemd_notifyf("STATUS=%s", line);
}
