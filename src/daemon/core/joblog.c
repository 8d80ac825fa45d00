/*
 * The finished-job log line and the ring of recent failures.  Both are on
 * the owner loop at JOB_EVENT_FINISH.  The line is one log_fields() call:
 * the format (text or JSON) is the log's.  The ring is shared by the loops
 * under one mutex: failures are rare, and a reader copies it out whole.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "core/job.h"
#include "core/joblog.h"
#include "core/loomd.h"
#include "runtime/log.h"
#include "runtime/util.h"

static pthread_mutex_t		joblog_lock = PTHREAD_MUTEX_INITIALIZER;
static struct joblog_failure	joblog_ring[JOBLOG_FAILURES];
static size_t			joblog_next;	/* where the next one goes */
static size_t			joblog_count;

static double
joblog_duration(const struct job_times *t)
{
	if (t->started_ns <= 0 || t->finished_ns < t->started_ns)
		return 0;
	return (t->finished_ns - t->started_ns) / 1e9;
}

static bool
joblog_failed(enum job_state state)
{
	return state == JOB_FAILED || state == JOB_TIMED_OUT;
}

static void
joblog_line(const struct job *job, const struct job_outcome *o,
    const struct job_times *t)
{
	const struct error	*e = &o->error;
	char			 msg[96];
	struct log_field	 f[] = {
		{ "id", LOG_FIELD_INT, NULL, (long long)o->id, 0 },
		{ "type", LOG_FIELD_STR, job_type_name(job), 0, 0 },
		{ "name", LOG_FIELD_STR, job_name(job), 0, 0 },
		{ "queue", LOG_FIELD_STR, job_queue(job), 0, 0 },
		{ "state", LOG_FIELD_STR, job_state_name(o->state), 0, 0 },
		{ "attempt", LOG_FIELD_INT, NULL, job_attempt(job), 0 },
		{ "duration", LOG_FIELD_NUM, NULL, 0, joblog_duration(t) },
		{ "error", LOG_FIELD_STR, e->code, 0, 0 },
		{ "error_message", LOG_FIELD_STR, e->code != NULL ? e->message :
		    NULL, 0, 0 },
	};

	snprintf(msg, sizeof(msg), "job %llu %s", (unsigned long long)o->id,
	    job_state_name(o->state));
	log_fields(LOG_INFO, msg, f, nitems(f));
}

static void
joblog_keep(const struct job *job, const struct job_outcome *o,
    const struct job_times *t)
{
	struct joblog_failure	*r;
	const char		*name = job_name(job);

	pthread_mutex_lock(&joblog_lock);
	r = &joblog_ring[joblog_next];
	joblog_next = (joblog_next + 1) % JOBLOG_FAILURES;
	if (joblog_count < JOBLOG_FAILURES)
		joblog_count++;
	r->id = o->id;
	r->state = o->state;
	r->attempt = job_attempt(job);
	r->finished_ns = t->finished_ns;
	r->duration = joblog_duration(t);
	snprintf(r->type, sizeof(r->type), "%s", job_type_name(job));
	snprintf(r->name, sizeof(r->name), "%s", name != NULL ? name : "");
	snprintf(r->queue, sizeof(r->queue), "%s", job_queue(job));
	snprintf(r->code, sizeof(r->code), "%s", o->error.code != NULL ?
	    o->error.code : "");
	snprintf(r->message, sizeof(r->message), "%s", o->error.message != NULL ?
	    o->error.message : "");
	pthread_mutex_unlock(&joblog_lock);
}

static void
joblog_notify(enum job_event ev, const struct job *job,
    const struct job_outcome *o)
{
	struct job_times	 t;
	bool			 failed;
	int			 which;

	if (ev != JOB_EVENT_FINISH)
		return;
	/* The drain's end fails what is left; with the journal, the next
	 * start takes them up as they were: no end to log, nor a failure to
	 * keep (each loop logs how many it stopped). */
	if (job_stopping_all(job) && atomic_load(&loomd.config)->journal)
		return;
	failed = joblog_failed(o->state);
	which = atomic_load(&loomd.config)->log_jobs;
	if (!failed && which != LOG_JOBS_ALL)
		return;
	job_times(job, &t);
	if (which != LOG_JOBS_NONE)
		joblog_line(job, o, &t);
	if (failed)
		joblog_keep(job, o, &t);
}

static const struct job_observer joblog_observer = {
	.name = "joblog",
	.wants = NULL,
	.notify = joblog_notify,
};

void
joblog_init(void)
{
	pthread_mutex_lock(&joblog_lock);
	joblog_next = joblog_count = 0;
	pthread_mutex_unlock(&joblog_lock);
	job_observe(&joblog_observer);
}

size_t
joblog_failures(struct joblog_failure *out, size_t max)
{
	size_t	i, n;

	pthread_mutex_lock(&joblog_lock);
	n = joblog_count < max ? joblog_count : max;
	for (i = 0; i < n; i++)
		out[i] = joblog_ring[(joblog_next + JOBLOG_FAILURES - 1 - i) %
		    JOBLOG_FAILURES];
	pthread_mutex_unlock(&joblog_lock);
	return n;
}
