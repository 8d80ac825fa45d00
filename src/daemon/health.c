/*
 * STATUS= lines: sent when the summary changes, at most once a second.
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "health.h"
#include "job.h"
#include "loomd.h"
#include "systemd.h"
#include "util.h"

#define HEALTH_STATUS_EVERY	1.0	/* seconds between STATUS= updates */

static const char	*health_phase;
static char		 health_last[256];
static double		 health_status_at;

static double
health_now(void)
{
	return now_ns() / 1e9;
}

void
health_init(void)
{
	health_status_at = 0;
	health_last[0] = '\0';
}

void
health_free(void)
{
}

void
health_set_phase(const char *phase)
{
	health_phase = phase;
	health_status_at = 0;		/* say so at the next tick */
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
	    (unsigned long)atomic_load(&loomd.conn_current));
}

double
health_interval(void)
{
	return HEALTH_STATUS_EVERY;
}

void
health_tick(void)
{
	char	line[256];
	double	now = health_now();

	if (now < health_status_at)
		return;
	health_status_at = now + HEALTH_STATUS_EVERY;
	health_summary(line, sizeof(line));
	if (strcmp(line, health_last) == 0)
		return;
	snprintf(health_last, sizeof(health_last), "%s", line);
	systemd_notifyf("STATUS=%s", line);
}
