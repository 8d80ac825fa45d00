/*
 * Composite jobs.  The parent runs on its owner loop; each child is a full
 * job (its own id, owner, future), created through job_submit() like any
 * other.  The parent registers a done callback on each child's future and
 * decides, per kind, when it is finished:
 *
 *   gather    all children, or the first failure (unless return_exceptions)
 *   group     all children; the first failure cancels the unfinished ones
 *   wait      return_when: all, first completed, first exception; or timeout
 *   sequence  one after another; the first failure stops it
 *
 * Cancelling the parent cancels its unfinished children except shielded
 * ones.  Views of children are read from their futures and copied, never
 * referenced: they may belong to another loop.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "net/conn.h"
#include "runtime/fields.h"
#include "runtime/future.h"
#include "core/job.h"
#include "core/job_private.h"
#include "jobs/composite.h"
#include "core/loomd.h"
#include "runtime/loop.h"
#include "core/queue.h"
#include "runtime/util.h"

struct composite;

struct child {
	struct composite	*c;
	size_t			 index;
	uint64_t		 id;
	struct future		*future;	/* NULL until created */
	bool			 finished;
	bool			 cancelled_by_us;
};

struct composite {
	struct job			*job;
	const struct composite_args	*args;
	struct child			*children;
	size_t				 created;
	size_t				 finished;
	unsigned int			 refs;		/* 1 + callbacks registered */
	bool				 over;		/* the parent is done with them */
	bool				 failing;	/* group: a child failed */
	struct loop_event		 timer;		/* wait's timeout */
	bool				 timed;
};

static const char *const gather_fields[] = { "jobs", "return_exceptions", NULL };
static const char *const group_fields[] = { "jobs", NULL };
static const char *const wait_fields[] = { "jobs", "return_when", "timeout",
	"cancel_pending", NULL };
static const char *const sequence_fields[] = { "jobs", NULL };
static const char *const return_when_names[] = { "all_completed",
	"first_completed", "first_exception", NULL };

int
composite_parse(enum composite_kind kind, const json_t *args, const char *base,
    const struct config *cfg, void **parsed, struct error *e)
{
	static const char *const *const fields[] = {
		[COMPOSITE_GATHER] = gather_fields,
		[COMPOSITE_GROUP] = group_fields,
		[COMPOSITE_WAIT] = wait_fields,
		[COMPOSITE_SEQUENCE] = sequence_fields,
	};
	struct composite_args	*a;
	const json_t		*jobs;
	struct job		*child;
	char			 path[256];
	int			 when = WAIT_ALL_COMPLETED;
	size_t			 i;

	if (args == NULL)
		return fields_fail(e, base, "jobs", "is required");
	if (fields_object(args, base, fields[kind], e) == -1)
		return -1;
	jobs = json_object_get(args, "jobs");
	if (jobs == NULL || !json_is_array(jobs) || json_array_size(jobs) == 0 ||
	    json_array_size(jobs) > cfg->max_children)
		return fields_fail(e, base, "jobs", "must be an array of 1 to %zu job "
		    "specs (max_children)", cfg->max_children);
	a = xcalloc(1, sizeof(*a));
	a->kind = kind;
	a->n = json_array_size(jobs);
	a->shield = xcalloc(a->n, sizeof(*a->shield));
	if (field_bool(args, base, "return_exceptions", FIELD_OPTIONAL,
	    &a->return_exceptions, e) == -1 ||
	    field_choice(args, base, "return_when", FIELD_OPTIONAL, return_when_names,
	    &when, e) == -1 ||
	    field_number_above(args, base, "timeout", FIELD_OPTIONAL, 0, SECONDS_MAX,
	    &a->timeout, e) == -1 ||
	    field_bool(args, base, "cancel_pending", FIELD_OPTIONAL,
	    &a->cancel_pending, e) == -1)
		goto fail;
	a->return_when = (enum wait_when)when;
	/* Check every child (and theirs) now, so that a bad one fails the submit. */
	for (i = 0; i < a->n; i++) {
		snprintf(path, sizeof(path), "%s.jobs[%zu]", base, i);
		if ((child = job_parse_in(json_array_get(jobs, i), path, "default",
		    e)) == NULL)
			goto fail;
		a->descendants += job_tree_size(child);
		a->shield[i] = json_is_true(json_object_get(json_array_get(jobs, i),
		    "shield"));
		job_discard(child);
	}
	a->specs = json_deep_copy(jobs);
	*parsed = a;
	return 0;
fail:
	free(a->shield);
	free(a);
	return -1;
}

void
composite_free_parsed(void *parsed)
{
	struct composite_args	*a = parsed;

	json_decref(a->specs);
	free(a->shield);
	free(a);
}

size_t
composite_descendants(const void *parsed)
{
	return ((const struct composite_args *)parsed)->descendants;
}

/* Runtime ------------------------------------------------------------- */

static void	composite_child_done(struct future *, void *);

static void
composite_unref(struct composite *c)
{
	size_t	i;

	if (--c->refs > 0)
		return;
	for (i = 0; i < c->created; i++)
		future_unref(c->children[i].future);
	free(c->children);
	free(c);
}

/* The parent is finished with its children: stop listening to them. */
static void
composite_end(struct composite *c)
{
	size_t	i;

	c->over = true;
	if (c->timed) {
		event_del(&c->timer.ev);
		c->timed = false;
	}
	for (i = 0; i < c->created; i++) {
		if (!c->children[i].finished && future_remove_done(
		    c->children[i].future, composite_child_done, &c->children[i]))
			c->refs--;
	}
	job_set_type_state(c->job, NULL);
	composite_unref(c);
}

static void
composite_cancel_child(struct composite *c, size_t i, const char *reason)
{
	struct child	*ch = &c->children[i];

	if (ch->finished || ch->future == NULL || c->args->shield[i])
		return;
	ch->cancelled_by_us = true;
	future_cancel(ch->future, reason);
}

static json_t *
child_view(const struct composite *c, size_t i)
{
	return future_result(c->children[i].future);
}

static const char *
child_state(const struct composite *c, size_t i)
{
	const char	*state = json_string_value(json_object_get(child_view(c, i),
			    "state"));

	return state != NULL ? state : "failed";
}

static bool
child_done_ok(const struct composite *c, size_t i)
{
	return strcmp(child_state(c, i), "done") == 0;
}

/* What the child ended with, as this loop's own copy. */
static json_t *
child_copy(const struct composite *c, size_t i, const char *key)
{
	json_t	*v = json_object_get(child_view(c, i), key);

	return v != NULL ? json_deep_copy(v) : json_null();
}

/* The child's error, or one saying its future failed (shutting down). */
static void
child_error(const struct composite *c, size_t i, const char **code,
    const char **message)
{
	const struct error	*fe = future_error(c->children[i].future);
	json_t			*err = json_object_get(child_view(c, i), "error");

	if (err != NULL) {
		*code = json_string_value(json_object_get(err, "code"));
		*message = json_string_value(json_object_get(err, "message"));
	} else if (fe != NULL) {
		*code = fe->code;
		*message = fe->message;
	} else {
		*code = "failed";
		*message = "";
	}
}

static void
composite_succeed(struct composite *c, json_t *result)
{
	struct job	*job = c->job;

	composite_end(c);
	job_succeed(job, result);
}

/* Fail the parent with child i's error, naming it (gather, sequence). */
static void
composite_fail_with_child(struct composite *c, size_t i)
{
	struct job	*job = c->job;
	struct error	 e = { 0 };
	const char	*code, *message;

	child_error(c, i, &code, &message);
	error_set(&e, code != NULL ? code : "failed", "jobs[%zu] (job %llu) %s: %s",
	    i, (unsigned long long)c->children[i].id, child_state(c, i),
	    message != NULL ? message : "");
	error_set_detail(&e, json_pack("{s:I,s:I,s:o}", "index", (json_int_t)i,
	    "job", (json_int_t)c->children[i].id, "error", child_copy(c, i, "error")));
	composite_end(c);
	job_fail(job, &e);
}

static json_t *
collect(const struct composite *c, const char *key, bool only_failures)
{
	json_t	*all = json_array();
	size_t	 i;

	for (i = 0; i < c->args->n; i++) {
		if (i >= c->created || (only_failures && child_done_ok(c, i)) ||
		    (!only_failures && !child_done_ok(c, i)))
			json_array_append_new(all, json_null());
		else
			json_array_append_new(all, child_copy(c, i, key));
	}
	return all;
}

static void
gather_finish(struct composite *c)
{
	composite_succeed(c, json_pack("{s:o,s:o}", "results", collect(c, "result",
	    false), "errors", collect(c, "error", true)));
}

static void
group_finish(struct composite *c)
{
	struct job	*job = c->job;
	struct error	 e = { 0 };
	json_t		*errors;
	const char	*code, *message;
	size_t		 i;

	if (!c->failing) {
		composite_succeed(c, json_pack("{s:o}", "results",
		    collect(c, "result", false)));
		return;
	}
	/* TaskGroup: every child's failure, not the cancellations it caused. */
	errors = json_array();
	for (i = 0; i < c->created; i++) {
		if (child_done_ok(c, i) || c->children[i].cancelled_by_us)
			continue;
		child_error(c, i, &code, &message);
		json_array_append_new(errors, json_pack("{s:I,s:I,s:s,s:s}", "index",
		    (json_int_t)i, "job", (json_int_t)c->children[i].id, "code",
		    code != NULL ? code : "failed", "message", message != NULL ?
		    message : ""));
	}
	error_set(&e, "group_failed", "%zu of %zu jobs failed",
	    json_array_size(errors), c->args->n);
	error_set_detail(&e, json_pack("{s:o}", "errors", errors));
	composite_end(c);
	job_fail(job, &e);
}

static void
wait_finish(struct composite *c)
{
	json_t	*done = json_array(), *pending = json_array(), *ids = json_array();
	size_t	 i;

	for (i = 0; i < c->args->n; i++) {
		json_array_append_new(c->children[i].finished ? done : pending,
		    json_integer((json_int_t)i));
		json_array_append_new(ids, json_integer((json_int_t)c->children[i].id));
	}
	if (c->args->cancel_pending) {
		for (i = 0; i < c->created; i++)
			composite_cancel_child(c, i, "wait: cancel_pending");
	}
	composite_succeed(c, json_pack("{s:o,s:o,s:o}", "done", done, "pending",
	    pending, "children", ids));
}

static void
wait_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct composite	*c = arg;

	c->timed = false;
	wait_finish(c);
}

static void
sequence_finish(struct composite *c)
{
	composite_succeed(c, json_pack("{s:o}", "results", collect(c, "result",
	    false)));
}

/* Make child i: a full job, in the parent's queue unless it names one. */
static void
composite_create(struct composite *c, size_t i)
{
	struct child	*ch = &c->children[i];
	struct job	*job = c->job, *child;
	struct error	 e = { 0 };
	char		 base[64];

	snprintf(base, sizeof(base), "jobs[%zu]", i);
	child = job_parse_in(json_array_get(c->args->specs, i), base,
	    job_queue(job), &e);
	if (child == NULL) {
		/* Checked at submit; only a dependency that expired since fails. */
		ch->future = future_new(NULL);
		future_set_error(ch->future, &e);
	} else {
		child->parent = job->reg.id;
		queue_reserve(child->queue, 1, NULL);
		child->counted = true;
		job_submit(child, &ch->id, &ch->future);
	}
	job->children = xreallocarray(job->children, job->nchildren + 1,
	    sizeof(*job->children));
	job->children[job->nchildren++] = ch->id;
	c->created++;
	c->refs++;
	future_on_done(ch->future, job->reg.owner, composite_child_done, ch);
}

/* Submit with stream: {"event":"child","id":...,"index":i,"job":VIEW}. */
static void
composite_stream(struct composite *c, size_t i)
{
	struct conn_remote	*stream = c->job->stream;
	const char		*view;
	char			*dumped = NULL, *text;
	size_t			 len, vlen;

	if (stream == NULL)
		return;
	if ((view = future_text(c->children[i].future, &vlen)) == NULL) {
		dumped = json_dumps(child_view(c, i), JSON_COMPACT);
		view = dumped != NULL ? dumped : "null";
		vlen = strlen(view);
	}
	len = (size_t)xasprintf(&text, "{\"event\":\"child\",\"id\":%s,\"index\":%zu,"
	    "\"job\":%.*s}\n", conn_remote_id(stream), i, (int)vlen, view);
	free(dumped);
	conn_remote_send(stream, text, len);
}

static bool
child_failed(const struct composite *c, size_t i)
{
	const char	*state = child_state(c, i);

	return strcmp(state, "failed") == 0 || strcmp(state, "timed_out") == 0;
}

static void
composite_child_done(struct future *f, void *arg)
{
	struct child		*ch = arg;
	struct composite	*c = ch->c;
	size_t			 i = ch->index, j;

	if (c->over) {
		composite_unref(c);
		return;
	}
	ch->finished = true;
	c->finished++;
	composite_stream(c, i);
	switch (c->args->kind) {
	case COMPOSITE_GATHER:
		if (!c->args->return_exceptions && !child_done_ok(c, i))
			composite_fail_with_child(c, i);
		else if (c->finished == c->args->n)
			gather_finish(c);
		break;
	case COMPOSITE_GROUP:
		if (!child_done_ok(c, i) && !ch->cancelled_by_us && !c->failing) {
			c->failing = true;
			for (j = 0; j < c->created; j++)
				composite_cancel_child(c, j, "a sibling in the group failed");
		}
		if (c->finished == c->args->n)
			group_finish(c);
		break;
	case COMPOSITE_WAIT:
		if (c->finished == c->args->n ||
		    c->args->return_when == WAIT_FIRST_COMPLETED ||
		    (c->args->return_when == WAIT_FIRST_EXCEPTION && child_failed(c, i)))
			wait_finish(c);
		break;
	case COMPOSITE_SEQUENCE:
		if (!child_done_ok(c, i))
			composite_fail_with_child(c, i);
		else if (i + 1 < c->args->n)
			composite_create(c, i + 1);
		else
			sequence_finish(c);
		break;
	}
	composite_unref(c);
}

void
composite_start(struct job *job, void *parsed)
{
	struct composite_args	*a = parsed;
	struct composite	*c = xcalloc(1, sizeof(*c));
	struct timeval		 tv;
	size_t			 i;

	c->job = job;
	c->args = a;
	c->refs = 1;
	c->children = xcalloc(a->n, sizeof(*c->children));
	for (i = 0; i < a->n; i++) {
		c->children[i].c = c;
		c->children[i].index = i;
	}
	job_set_type_state(job, c);
	if (a->kind == COMPOSITE_WAIT && a->timeout > 0) {
		loop_event_assign(&c->timer, job->reg.owner, -1, 0, wait_timeout, c);
		seconds_to_timeval(a->timeout, &tv);
		event_add(&c->timer.ev, &tv);
		c->timed = true;
	}
	/* A child that ends at once (an echo here) only posts its callback. */
	for (i = 0; i < (a->kind == COMPOSITE_SEQUENCE ? 1 : a->n); i++)
		composite_create(c, i);
}

/* The parent is cancelled or timed out: so are its unshielded children. */
void
composite_cancel(struct job *job, void *parsed)
{
	struct composite	*c = job_type_state(job);
	size_t			 i;

	if (c == NULL)
		return;
	c->over = true;
	for (i = 0; i < c->created; i++)
		composite_cancel_child(c, i, "its parent was cancelled");
	composite_end(c);
}
