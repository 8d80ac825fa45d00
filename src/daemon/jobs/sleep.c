/*
 * sleep: a timer on the owner loop.  Done with `result` (or null) after
 * `seconds`, or failed with `error` as the message.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "runtime/fields.h"
#include "core/job.h"
#include "jobs/types.h"
#include "runtime/loop.h"
#include "runtime/util.h"

struct sleep_args {
	double	 seconds;
	json_t	*result;
	char	*error;
};

static const char *const sleep_fields[] = { "seconds", "result", "error", NULL };

static int
sleep_parse(const json_t *args, const char *base, const struct config *cfg,
    void **parsed, struct error *e)
{
	struct sleep_args	*sa;
	const char		*error = NULL;
	double			 seconds = 0;
	json_t			 *empty = NULL;

	if (args == NULL)
		args = empty = json_object();
	if (fields_object(args, base, sleep_fields, e) == -1 ||
	    field_number(args, base, "seconds", FIELD_REQUIRED, 0, SECONDS_MAX,
	    &seconds, e) == -1 ||
	    field_string(args, base, "error", FIELD_OPTIONAL, 4096, &error, e) == -1) {
		json_decref(empty);
		return -1;
	}
	sa = xcalloc(1, sizeof(*sa));
	sa->seconds = seconds;
	sa->result = json_deep_copy(json_object_get(args, "result"));
	sa->error = error != NULL ? xstrdup(error) : NULL;
	*parsed = sa;
	json_decref(empty);
	return 0;
}

static void
sleep_free(void *parsed)
{
	struct sleep_args	*sa = parsed;

	json_decref(sa->result);
	free(sa->error);
	free(sa);
}

struct sleeping {
	struct loop_event	 timer;
	struct job		*job;
	const struct sleep_args	*args;
};

static void
sleep_wake(evutil_socket_t fd, short what, void *arg)
{
	struct sleeping		*s = arg;
	struct job		*job = s->job;
	const struct sleep_args	*sa = s->args;
	struct error		 e = { 0 };

	job_set_type_state(job, NULL);
	free(s);
	if (sa->error != NULL) {
		error_set(&e, "failed", "%s", sa->error);
		job_fail(job, &e);
	} else
		job_succeed(job, sa->result != NULL ? json_deep_copy(sa->result) : NULL);
}

static void
sleep_start(struct job *job, void *parsed)
{
	struct sleeping	*s = xmalloc(sizeof(*s));
	struct timeval	 tv;

	s->job = job;
	s->args = parsed;
	seconds_to_timeval(s->args->seconds, &tv);
	loop_event_assign(&s->timer, job_loop(job), -1, 0, sleep_wake, s);
	event_add(&s->timer.ev, &tv);
	job_set_type_state(job, s);
}

static void
sleep_cancel(struct job *job, void *parsed)
{
	struct sleeping	*s = job_type_state(job);

	if (s == NULL)
		return;
	event_del(&s->timer.ev);
	free(s);
	job_set_type_state(job, NULL);
}

const struct job_type job_type_sleep = {
	.name = "sleep",
	.runs = JOB_RUNS_LOOP,
	.parse = sleep_parse,
	.free_parsed = sleep_free,
	.start = sleep_start,
	.cancel = sleep_cancel,
};
