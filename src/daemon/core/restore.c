/*
 * Jobs made again from what a store kept (replay, at start, before any
 * client).  The main thread makes each job from its spec, registers it under
 * its old id, in id order so that `after` finds what it names, and hands it
 * to its owner, where it takes up where it was: a finished job with its
 * outcome until it expires, a pending or queued one as it was, a running one
 * as its next attempt, or failed `interrupted` when its spec says so.
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/job.h"
#include "core/job_private.h"
#include "core/jobrecord.h"
#include "core/loomd.h"
#include "core/principal.h"
#include "core/queue.h"
#include "core/registry.h"
#include "core/restore.h"
#include "runtime/future.h"
#include "runtime/jsonload.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

/* What the owner needs besides the job. */
struct restore {
	struct restore		*next;
	struct job		*job;
	struct job_outcome	*outcome;	/* finished */
	int64_t			 due_ns;	/* pending for a retry */
	int64_t			 expires_ns;	/* finished */
};

/* Made and registered, not yet handed over (the main thread's). */
static struct restore	*restore_head;
static struct restore	**restore_tail = &restore_head;

static double
seconds_until(int64_t ns)
{
	double	s = (ns - now_epoch_ns()) / 1e9;

	return s > 0 ? s : 0;
}

/* The outcome as it was: the view's text, its result and error parsed. */
static struct job_outcome *
restore_outcome(const struct job *job, const char *view, size_t len)
{
	struct job_outcome	*o = xmalloc(sizeof(*o) + len + 1);
	json_t			*v, *err, *detail;
	const char		*code, *message, *path;

	memset(o, 0, sizeof(*o));
	o->id = job->reg.id;
	o->state = job->state;
	o->view = (char *)(o + 1);
	o->view_len = len;
	memcpy(o->view, view, len);
	o->view[len] = '\0';
	if ((v = json_load_line(view, len, 0, NULL)) == NULL)
		return o;
	/* As job_outcome_new(): only a composite's child keeps it parsed. */
	if (o->state == JOB_DONE && job->parent != 0)
		o->result = json_incref(json_object_get(v, "result"));
	if ((err = json_object_get(v, "error")) != NULL &&
	    (code = json_string_value(json_object_get(err, "code"))) != NULL) {
		message = json_string_value(json_object_get(err, "message"));
		error_set(&o->error, error_code_static(code), "%s",
		    message != NULL ? message : "");
		if ((path = json_string_value(json_object_get(err, "path"))) != NULL)
			error_set_path(&o->error, path);
		if ((detail = json_object_get(err, "detail")) != NULL)
			error_set_detail(&o->error, json_incref(detail));
		error_copy(&((struct job *)job)->error, &o->error);
	}
	json_decref(v);
	return o;
}

/* On the owner: take up where the job was. */
static void
restore_on_owner(void *arg)
{
	struct restore	*r = arg;
	struct job	*job = r->job;
	struct error	 e = { 0 };

	job_take_quiet(job);
	if (r->outcome != NULL) {
		job->outcome = r->outcome;
		future_set_value(job->reg.future, r->outcome, job_outcome_free);
		job_arm_timer(job, seconds_until(r->expires_ns));
	} else if (job->state == JOB_RUNNING) {
		/* Interrupted: the next attempt runs from the start. */
		if (job->spec->fail_interrupted) {
			error_set(&e, "interrupted", "loomd stopped while attempt %u "
			    "ran", job->attempt);
			/* Not running here: its queue never counted it so. */
			job_count_state(job, JOB_QUEUED);
			job_finish(job, JOB_FAILED, NULL, &e);
		} else {
			job_count_state(job, JOB_QUEUED);
			job_enqueue(job);
		}
	} else if (job->state == JOB_PENDING && r->due_ns > 0) {
		/* Waiting to retry: until the time it had. */
		job_arm_timer(job, seconds_until(r->due_ns));
	} else if (job->state == JOB_PENDING && job->spec->nafter > 0) {
		job_deps_start(job);
	} else if (job->state == JOB_PENDING) {
		job_arm_timer(job, seconds_until(job->created_ns +
		    (int64_t)(job->spec->delay * 1e9)));
	} else
		job_enqueue(job);
	job_unref(job);
	free(r);
}

int
job_restore(const struct job_restore *jr, struct error *e)
{
	struct restore	*r;
	struct job	*job;
	struct shard	*owner;
	uint64_t	 holder;

	if ((job = job_parse_text(jr->spec, jr->spec_len, e)) == NULL)
		return -1;
	job->reg.id = jr->id;
	job->reg.job = job;
	job->version = jr->version;
	job->parent = jr->parent;
	job->index = jr->index;
	job->created_ns = jr->created_ns;
	job->attempt = jr->attempt;
	job->started_ns = jr->started_ns;
	job->finished_ns = jr->finished_ns;
	if (jr->has_state)
		job->state = jr->state;
	/* A composite's children so far, by index: its next attempt takes
	 * them up instead of making them again. */
	if (jr->nchildren > 0) {
		job->children = xcalloc(jr->nchildren, sizeof(*job->children));
		memcpy(job->children, jr->children, jr->nchildren *
		    sizeof(*job->children));
		job->nchildren = jr->nchildren;
		job->restored = true;
	}
	/* Jobs from before owners were recorded came from trusted clients. */
	job->reg.principal = principal_get(jr->owner != NULL ? jr->owner :
	    PRINCIPAL_UNIX);
	owner = job_place(job);
	job->reg.owner = owner->loop;
	job->reg.future = future_new(owner->loop);
	future_set_cancel_hook(job->reg.future, job_cancel_hook, NULL, job);
	if (job->spec->key != NULL &&
	    (holder = registry_key_claim(job->reg.principal, job->spec->key,
	    jr->id)) != 0)
		log_warnx("job %llu: key held by job %llu as well",
		    (unsigned long long)jr->id, (unsigned long long)holder);
	if (!job_state_terminal(job->state)) {
		queue_reserve(job->queue, 1, NULL);
		job->counted = true;
	}
	atomic_fetch_add_explicit(&owner->njobs, 1, memory_order_relaxed);
	registry_insert(&job->reg);

	r = xcalloc(1, sizeof(*r));
	r->job = job;
	r->due_ns = jr->due_ns;
	r->expires_ns = jr->expires_ns;
	if (job_state_terminal(job->state)) {
		r->outcome = restore_outcome(job, jr->view, jr->view_len);
		job_outcome_charge(r->outcome);
	}
	job->refs++;		/* the post's */
	/* Handed over once every job is registered: a composite takes up
	 * children made after it. */
	*restore_tail = r;
	restore_tail = &r->next;
	return 0;
}

void
job_restore_go(void)
{
	struct restore	*r, *next;

	for (r = restore_head; r != NULL; r = next) {
		next = r->next;
		if (loop_post(r->job->reg.owner, restore_on_owner, r) == -1)
			fatalx("job_restore: a loop refused job %llu",
			    (unsigned long long)r->job->reg.id);
	}
	restore_head = NULL;
	restore_tail = &restore_head;
}
