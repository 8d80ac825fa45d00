/*
 * wait_event: done with {"name","waited"} once the named event is set (at
 * once if it is set already).  With `timeout`, fails with code timeout if
 * the event is not set within that many seconds.  The waiter lives on the
 * owner loop and is removed there on timeout and on cancel.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "core/event.h"
#include "runtime/fields.h"
#include "core/job.h"
#include "jobs/types.h"
#include "runtime/loop.h"
#include "runtime/util.h"

struct wait_event_args {
	char	*name;
	double	 timeout;	/* 0: none */
};

static const char *const wait_event_fields[] = { "name", "timeout", NULL };

static int
wait_event_parse(const json_t *args, const char *base, const struct config *cfg,
    void **parsed, struct error *e)
{
	struct wait_event_args	*wa;
	const char		*name = NULL;
	double			 timeout = 0;
	json_t			*empty = NULL;

	if (args == NULL)
		args = empty = json_object();
	if (fields_object(args, base, wait_event_fields, e) == -1 ||
	    named_event_name(args, base, "name", &name, e) == -1 ||
	    field_number_above(args, base, "timeout", FIELD_OPTIONAL, 0, SECONDS_MAX,
	    &timeout, e) == -1) {
		json_decref(empty);
		return -1;
	}
	wa = xcalloc(1, sizeof(*wa));
	wa->name = xstrdup(name);
	wa->timeout = timeout;
	*parsed = wa;
	json_decref(empty);
	return 0;
}

static void
wait_event_free(void *parsed)
{
	struct wait_event_args	*wa = parsed;

	free(wa->name);
	free(wa);
}

struct waiting {
	struct job			*job;
	const struct wait_event_args	*args;
	struct waiter			*waiter;
	struct loop_event		 timer;
	uint64_t			 since;		/* now_ns() at start */
};

static json_t *
wait_event_result(const struct wait_event_args *wa, uint64_t since)
{
	return json_pack("{s:s,s:f}", "name", wa->name, "waited",
	    (now_ns() - since) / 1e9);
}

static void
waiting_free(struct waiting *w)
{
	if (w->args->timeout > 0)
		event_del(&w->timer.ev);
	job_set_type_state(w->job, NULL);
	free(w);
}

/* The event was set; the waiter is gone. */
static void
wait_event_wake(void *arg)
{
	struct waiting	*w = arg;
	struct job	*job = w->job;
	json_t		*result = wait_event_result(w->args, w->since);

	waiting_free(w);
	job_succeed(job, result);
}

static void
wait_event_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct waiting	*w = arg;
	struct job	*job = w->job;
	struct error	 e = { 0 };

	named_event_unwait(w->waiter);
	error_set(&e, "timeout", "event %s was not set within %gs",
	    w->args->name, w->args->timeout);
	waiting_free(w);
	job_fail(job, &e);
}

static void
wait_event_start(struct job *job, void *parsed)
{
	const struct wait_event_args	*wa = parsed;
	struct waiting			*w = xcalloc(1, sizeof(*w));
	struct timeval			 tv;

	w->job = job;
	w->args = wa;
	w->since = now_ns();
	if ((w->waiter = named_event_wait(wa->name, wait_event_wake, w)) == NULL) {
		free(w);
		job_succeed(job, wait_event_result(wa, now_ns()));	/* set already */
		return;
	}
	if (wa->timeout > 0) {
		loop_event_assign(&w->timer, job_loop(job), -1, 0,
		    wait_event_timeout, w);
		seconds_to_timeval(wa->timeout, &tv);
		event_add(&w->timer.ev, &tv);
	}
	job_set_type_state(job, w);
}

static void
wait_event_cancel(struct job *job, void *parsed)
{
	struct waiting	*w = job_type_state(job);

	if (w == NULL)
		return;
	named_event_unwait(w->waiter);
	waiting_free(w);
}

const struct job_type job_type_wait_event = {
	.name = "wait_event",
	.runs = JOB_RUNS_LOOP,
	.parse = wait_event_parse,
	.free_parsed = wait_event_free,
	.start = wait_event_start,
	.cancel = wait_event_cancel,
};
