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
 * ones.  The children's specs are parsed once, at submit, and each attempt
 * makes its children from them.  What a child ended with is read from its
 * outcome and copied, never referenced: it may belong to another loop.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/job.h"
#include "jobs/composite.h"
#include "runtime/fields.h"
#include "runtime/future.h"
#include "runtime/loop.h"
#include "runtime/util.h"

struct composite;

struct child {
	struct composite	*c;
	size_t			 index;
	uint64_t		 id;
	struct future		*future;	/* NULL until created */
	struct future_link	*link;		/* our callback on it */
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
	a->specs = xcalloc(a->n, sizeof(*a->specs));
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
		if ((a->specs[i] = job_spec_parse(json_array_get(jobs, i), path,
		    e)) == NULL)
			goto fail;
		a->descendants += job_spec_tree_size(a->specs[i]);
	}
	*parsed = a;
	return 0;
fail:
	composite_free_parsed(a);
	return -1;
}

void
composite_free_parsed(void *parsed)
{
	struct composite_args	*a = parsed;
	size_t			 i;

	for (i = 0; i < a->n; i++)
		job_spec_unref(a->specs[i]);
	free(a->specs);
	free(a);
}

const struct job_spec *const *
composite_children(const void *parsed, size_t *n)
{
	const struct composite_args	*a = parsed;

	*n = a->n;
	return (const struct job_spec *const *)a->specs;
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
		if (future_remove_done(c->children[i].future, c->children[i].link))
			c->refs--;
		c->children[i].link = NULL;
	}
	job_set_type_state(c->job, NULL);
	composite_unref(c);
}

static void
composite_cancel_child(struct composite *c, size_t i, const char *reason)
{
	struct child	*ch = &c->children[i];

	if (ch->finished || ch->future == NULL || job_spec_shield(c->args->specs[i]))
		return;
	ch->cancelled_by_us = true;
	future_cancel(ch->future, reason);
}

/* What the child ended with; NULL if its future failed (shutting down). */
static const struct job_outcome *
child_outcome(const struct composite *c, size_t i)
{
	return job_outcome(c->children[i].future);
}

static const char *
child_state(const struct composite *c, size_t i)
{
	const struct job_outcome	*o = child_outcome(c, i);

	return o != NULL ? job_state_name(o->state) : "failed";
}

static bool
child_done_ok(const struct composite *c, size_t i)
{
	const struct job_outcome	*o = child_outcome(c, i);

	return o != NULL && o->state == JOB_DONE;
}

/* The child's result, as this loop's own copy. */
static json_t *
child_result(const struct composite *c, size_t i)
{
	const struct job_outcome	*o = child_outcome(c, i);

	return o != NULL && o->result != NULL ? json_deep_copy(o->result) :
	    json_null();
}

/* The child's error: its outcome's, or its future's (shutting down). */
static const struct error *
child_error(const struct composite *c, size_t i)
{
	static const struct error	 failed = { .code = "failed" };
	const struct job_outcome	*o = child_outcome(c, i);
	const struct error		*fe = future_error(c->children[i].future);

	if (o != NULL && o->error.code != NULL)
		return &o->error;
	return fe != NULL ? fe : &failed;
}

/* As the child's view has it: null unless it failed. */
static json_t *
child_error_json(const struct composite *c, size_t i)
{
	const struct job_outcome	*o = child_outcome(c, i);

	return o != NULL && o->state >= JOB_FAILED ? error_to_json(&o->error) :
	    json_null();
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
	struct job		*job = c->job;
	struct error		 e = { 0 };
	const struct error	*ce = child_error(c, i);

	/* Codes are static strings: the parent's outlives the child's outcome. */
	error_set(&e, ce->code, "jobs[%zu] (job %llu) %s: %s", i,
	    (unsigned long long)c->children[i].id, child_state(c, i),
	    ce->message != NULL ? ce->message : "");
	error_set_detail(&e, json_pack("{s:I,s:I,s:o}", "index", (json_int_t)i,
	    "job", (json_int_t)c->children[i].id, "error", child_error_json(c, i)));
	composite_end(c);
	job_fail(job, &e);
}

/* Per child: its result if it is done, or its error if it failed; null else. */
static json_t *
collect(const struct composite *c, bool errors)
{
	json_t	*all = json_array();
	size_t	 i;

	for (i = 0; i < c->args->n; i++) {
		if (i >= c->created || child_done_ok(c, i) == errors)
			json_array_append_new(all, json_null());
		else
			json_array_append_new(all, errors ? child_error_json(c, i) :
			    child_result(c, i));
	}
	return all;
}

static void
gather_finish(struct composite *c)
{
	composite_succeed(c, json_pack("{s:o,s:o}", "results", collect(c, false),
	    "errors", collect(c, true)));
}

static void
group_finish(struct composite *c)
{
	struct job		*job = c->job;
	struct error		 e = { 0 };
	const struct error	*ce;
	json_t			*errors;
	size_t			 i;

	if (!c->failing) {
		composite_succeed(c, json_pack("{s:o}", "results",
		    collect(c, false)));
		return;
	}
	/* TaskGroup: every child's failure, not the cancellations it caused. */
	errors = json_array();
	for (i = 0; i < c->created; i++) {
		if (child_done_ok(c, i) || c->children[i].cancelled_by_us)
			continue;
		ce = child_error(c, i);
		json_array_append_new(errors, json_pack("{s:I,s:I,s:s,s:s}", "index",
		    (json_int_t)i, "job", (json_int_t)c->children[i].id, "code",
		    ce->code, "message", ce->message != NULL ? ce->message : ""));
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
	composite_succeed(c, json_pack("{s:o}", "results", collect(c, false)));
}

/* Make child i: a full job, in the parent's queue unless it names one (or
 * take up the one it had before a restart). */
static void
composite_create(struct composite *c, size_t i)
{
	struct child	*ch = &c->children[i];

	if (!job_child_restored(c->job, i, &ch->id, &ch->future))
		job_submit_child(c->job, i, c->args->specs[i], &ch->id, &ch->future);
	c->created++;
	c->refs++;
	ch->link = future_on_done_handle(ch->future, job_loop(c->job),
	    composite_child_done, ch);
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
	/* While the drain stops this loop's jobs the parent is left to it
	 * (children are newer: stopped first, the parent after), to end
	 * shutting_down as if all had stopped at once, not as its children's
	 * ends would have it (a group_failed, a wait done). */
	if (job_stopping_all(c->job)) {
		composite_unref(c);
		return;
	}
	job_tell_child(c->job, i, child_outcome(c, i));
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
		loop_event_assign(&c->timer, job_loop(job), -1, 0, wait_timeout, c);
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
