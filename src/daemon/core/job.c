/*
 * The job state machine.  A job is parsed on the connection's loop
 * (jobspec.c), then belongs to its owner loop for the rest of its life
 * (DESIGN.md): only the owner's thread reads or writes it.  Everything else
 * sees the job through the registry (its owner and its future) and through
 * the future's result, the job's terminal view.
 *
 *   pending ──after, delay, retry──▶ queued ──queue slot, limits, lock──▶ running
 *   running ──▶ done | failed (retries left: back to pending) | cancelled | timed_out
 *
 * One timer serves each phase in turn: delay or retry while pending, the
 * timeout while running, the ttl once finished.  Callbacks that may outlive
 * the job's registration (dependencies, children, grants) hold a reference.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/job.h"
#include "core/durable.h"
#include "core/job_private.h"
#include "core/loomd.h"
#include "core/principal.h"
#include "core/queue.h"
#include "core/registry.h"
#include "core/sem.h"
#include "runtime/executor.h"
#include "runtime/future.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

/* Waiting for the jobs named in `after`. */
struct job_deps {
	struct future		**futures;
	struct future_link	**links;	/* job_dep_done on each */
	size_t			  n;
	size_t			  remaining;
};

static void	job_timer_cb(evutil_socket_t, short, void *);
static void	job_run(struct job *);
static void	job_take(struct job *);
static void	job_dep_done(struct future *, void *);

/* A change short of the end; none if it is in that state already (a job
 * that began queued is not queued twice). */
static void
job_set_state(struct job *job, enum job_state state)
{
	if (job->state == state)
		return;
	job_count_state(job, state);
	job_publish(JOB_EVENT_STATE, job, NULL);
}

void
job_arm_timer(struct job *job, double seconds)
{
	struct timeval	tv;

	/* Now, but after the callbacks already due: no clock, no timer heap. */
	if (seconds <= 0) {
		event_active(&job->timer.ev, EV_TIMEOUT, 1);
		return;
	}
	seconds_to_timeval(seconds, &tv);
	event_add(&job->timer.ev, &tv);
}

/* References ----------------------------------------------------------- */

void
job_ref(struct job *job)
{
	job->refs++;
}

void
job_unref(struct job *job)
{
	if (--job->refs > 0)
		return;
	future_unref(job->reg.future);
	job_discard(job);
}

/* Its ttl is over: forget it; callbacks still in flight keep the memory. */
static void
job_expire(struct job *job)
{
	struct shard	*sh = shard_of(job->reg.owner);

	job_publish(JOB_EVENT_EXPIRE, job, NULL);
	/* The key before the id: see registry_key_claim(). */
	if (job->spec->key != NULL)
		registry_key_release(job->reg.principal, job->spec->key,
		    job->reg.id);
	registry_remove(&job->reg);
	/* A snapshot's part taken in slices goes on from the next one. */
	if (sh->dumping == job)
		sh->dumping = TAILQ_NEXT(job, entry);
	job_walks_step_back(job);
	TAILQ_REMOVE(&sh->jobs, job, entry);
	job->entry.tqe_prev = NULL;	/* out of the list (job_walk_step) */
	atomic_fetch_sub_explicit(&sh->states[job->state], 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&sh->njobs, 1, memory_order_relaxed);
	event_del(&job->timer.ev);
	job_unref(job);
}

/* Admission: queue slot, then resources in order --------------------- */

static void	job_granted(void *);

/* Take the resources not yet held; false while one is awaited. */
static bool
job_acquire(struct job *job)
{
	const struct job_spec	*s = job->spec;

	while (job->held < s->nresources) {
		if (!sem_acquire(s->resources[job->held], s->priority, job->reg.id,
		    job_granted, job, &job->waiting))
			return false;
		job->held++;
	}
	return true;
}

/* Give back everything admission took: resources, then the queue slot. */
static void
job_unadmit(struct job *job)
{
	if (job->waiting != NULL) {
		if (job->slot)
			sem_cancel(job->spec->resources[job->held], job->waiting);
		else
			queue_withdraw(job->queue, job->waiting);
		job->waiting = NULL;
	}
	while (job->held > 0)
		sem_release(job->spec->resources[--job->held]);
	if (job->slot) {
		job->slot = false;
		queue_leave(job->queue);
	}
}

/* Its queue let it through (now, or by a post when it was parked). */
static void
job_admitted(void *arg)
{
	struct job	*job = arg;

	job->waiting = NULL;
	job->slot = true;
	if (job_acquire(job))
		job_run(job);
}

/* The resource it waited for is its now, on this loop. */
static void
job_granted(void *arg)
{
	struct job	*job = arg;

	job->waiting = NULL;
	job->held++;
	if (job_acquire(job))
		job_run(job);
}

/* Dependencies ---------------------------------------------------------- */

static void
job_deps_free(struct job *job)
{
	struct job_deps	*d = job->deps;
	size_t		 i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++) {
		if (d->futures[i] == NULL)
			continue;
		if (future_remove_done(d->futures[i], d->links[i]))
			job_unref(job);
		future_unref(d->futures[i]);
	}
	free(d->futures);
	free(d->links);
	free(d);
	job->deps = NULL;
}

static void	job_stopped(struct job *);

static void
job_dependency_failed(struct job *job, uint64_t id, const char *how)
{
	struct error	e = { 0 };

	error_set(&e, "dependency_failed", "job %llu %s", (unsigned long long)id, how);
	job_deps_free(job);
	event_del(&job->timer.ev);
	job->stopping = JOB_FAILED;
	error_move(&job->error, &e);
	job_stopped(job);
}

/* Once `after` is satisfied: the delay, then the queue. */
void
job_ready(struct job *job)
{
	if (job->spec->delay > 0)
		job_arm_timer(job, job->spec->delay);
	else
		job_enqueue(job);
}

static void
job_dep_done(struct future *f, void *arg)
{
	struct job			*job = arg;
	const struct job_outcome	*o = job_outcome(f);
	char				 how[64];

	/* One the drain stopped: it stops this one too, as if all at once
	 * (shutting_down, not dependency_failed). */
	if ((o == NULL || o->state != JOB_DONE) && job_stopping_all(job)) {
		job_unref(job);
		return;
	}
	if (job->deps != NULL && job->state == JOB_PENDING && job->stopping == 0) {
		if (o == NULL)
			job_dependency_failed(job, 0, "ended without a result");
		else if (o->state != JOB_DONE) {
			snprintf(how, sizeof(how), "ended %s", job_state_name(o->state));
			job_dependency_failed(job, o->id, how);
		} else if (--job->deps->remaining == 0) {
			job_deps_free(job);
			job_ready(job);
		}
	}
	job_unref(job);
}
/* Look up each job of `after` and wait for it on this loop. */
void
job_deps_start(struct job *job)
{
	struct job_deps	*d = xcalloc(1, sizeof(*d));
	struct loop	*owner;
	size_t		 i;

	d->futures = xcalloc(job->spec->nafter, sizeof(*d->futures));
	d->links = xcalloc(job->spec->nafter, sizeof(*d->links));
	d->n = d->remaining = job->spec->nafter;
	job->deps = d;
	for (i = 0; i < d->n; i++) {
		if (!registry_lookup(job->spec->after[i], &owner, &d->futures[i])) {
			job_dependency_failed(job, job->spec->after[i],
			    "is no longer known");
			return;
		}
	}
	for (i = 0; i < d->n && job->deps != NULL; i++) {
		job_ref(job);
		d->links[i] = future_on_done_handle(d->futures[i], job->reg.owner,
		    job_dep_done, job);
	}
}

/* Finishing ------------------------------------------------------------ */

/*
 * Completing the future tells every waiter: once the end is durable.  The
 * future is this attempt's, taken now: a retry before then gives the job
 * another, which this outcome must not complete.  The job is held too, for
 * the future's cancel hook, which may run until the future is complete.
 */
struct job_completion {
	struct job		*job;
	struct future		*future;
	struct job_outcome	*outcome;
};

static void
job_complete_now(void *arg)
{
	struct job_completion	*c = arg;

	future_set_value(c->future, c->outcome, job_outcome_free);
	future_unref(c->future);
	job_unref(c->job);
	free(c);
}

static void
job_complete(struct job *job, struct job_outcome *outcome)
{
	struct job_completion	*c;

	if (durable_done(durable_mark())) {
		future_set_value(job->reg.future, outcome, job_outcome_free);
		return;
	}
	c = xmalloc(sizeof(*c));
	c->job = job;
	c->future = job->reg.future;
	future_ref(c->future);
	c->outcome = outcome;
	job_ref(job);
	durable_then(job_complete_now, c);
}

/*
 * The terminal transition: give back what admission took, record the
 * outcome, complete the future with the final view (which wakes every
 * waiter, on any loop), and keep the job queryable for its ttl.  The result
 * lives only in that view, which other loops read but never reference.
 */
void
job_finish(struct job *job, enum job_state state, json_t *result,
    struct error *error)
{
	struct job_outcome	*outcome;

	/* Before anything is given back: whoever gets it starts after this. */
	job->finished_ns = now_epoch_ns();
	event_del(&job->timer.ev);
	job_deps_free(job);
	if (job->state == JOB_RUNNING)
		queue_running(job->queue, -1);
	if (job->counted) {
		queue_unreserve(job->queue, 1);
		job->counted = false;
	}
	job_unadmit(job);
	job->stopping = 0;
	json_decref(job->progress);
	job->progress = NULL;
	if (error != NULL)
		error_move(&job->error, error);
	job_count_state(job, state);
	log_debug("job %llu: %s %s%s%s", (unsigned long long)job->reg.id,
	    job->spec->type->name, job_state_name(state), job->error.code != NULL ?
	    ": " : "", job->error.code != NULL ? job->error.code : "");
	outcome = job_outcome_new(job, result);
	job->outcome = outcome;		/* the future's, which the job holds */
	job_publish(JOB_EVENT_FINISH, job, outcome);
	job_complete(job, outcome);
	if (job->listener != NULL) {
		job->listener->release(job->listener_arg);
		job->listener = NULL;
	}
	job_arm_timer(job, job->spec->ttl);
}
void
job_succeed(struct job *job, json_t *result)
{
	if (job->state != JOB_RUNNING || job->stopping != 0) {
		json_decref(result);
		return;
	}
	job_finish(job, JOB_DONE, result != NULL ? result : json_null(), NULL);
}

/*
 * A running attempt that failed, when another will come: out of running
 * and its admission, waiting again in its queue, its error kept for the
 * views until the next attempt ends.
 */
static void
job_to_another_attempt(struct job *job, struct error *error)
{
	error_clear(&job->last_error);
	error_move(&job->last_error, error);
	event_del(&job->timer.ev);
	queue_running(job->queue, -1);
	job_unadmit(job);
	queue_reserve(job->queue, 1, NULL);
	job->counted = true;
}

void
job_fail(struct job *job, struct error *error)
{
	double	wait;

	if (job->state != JOB_RUNNING || job->stopping != 0) {
		error_clear(error);
		return;
	}
	if (error->code == NULL)
		error->code = "failed";
	if (job->attempt <= job->spec->retries) {
		/* Retry after retry_delay, doubling each time (asyncio backoff). */
		wait = job->spec->retry_delay * ldexp(1.0, (int)job->attempt - 1);
		log_debug("job %llu: attempt %u failed (%s), retrying in %.3gs",
		    (unsigned long long)job->reg.id, job->attempt,
		    error->message != NULL ? error->message : error->code, wait);
		job_to_another_attempt(job, error);
		job->started_ns = 0;	/* the next attempt's, as after retry */
		job->due_ns = now_epoch_ns() + (int64_t)(wait * 1e9);
		job_set_state(job, JOB_PENDING);
		job_arm_timer(job, wait);
		return;
	}
	job_finish(job, JOB_FAILED, NULL, error);
}

void
job_fail_final(struct job *job, struct error *error)
{
	if (job->state != JOB_RUNNING || job->stopping != 0) {
		error_clear(error);
		return;
	}
	if (error->code == NULL)
		error->code = "failed";
	job_finish(job, JOB_FAILED, NULL, error);
}

static void
job_stopped(struct job *job)
{
	struct error	e = { 0 };

	switch (job->stopping) {
	case JOB_TIMED_OUT:
		error_set(&e, "timeout", "timed out after %gs", job->spec->timeout);
		break;
	case JOB_FAILED:
		if (job->error.code == NULL)
			error_set(&e, "shutting_down",
			    "the daemon stopped before the job finished");
		else
			error_move(&e, &job->error);
		break;
	default:
		error_move(&e, &job->error);	/* the cancel reason, kept there */
		break;
	}
	job_finish(job, job->stopping, NULL, &e);
}

/*
 * Stop the job: cancel (JOB_CANCELLED), timeout (JOB_TIMED_OUT) or shutdown
 * (JOB_FAILED).  A running job is terminal only once its type has cleaned
 * up: at once for loop types, when the work returns for executor ones.
 */
void
job_stop(struct job *job, enum job_state how, const char *reason)
{
	if (job_state_terminal(job->state) || job->stopping != 0)
		return;
	event_del(&job->timer.ev);
	job->stopping = how;
	error_clear(&job->error);
	if (how == JOB_CANCELLED)
		error_set(&job->error, "cancelled", "%s",
		    reason != NULL ? reason : "cancelled");
	if (job->state != JOB_RUNNING) {
		if (job->spec->type->runs == JOB_RUNS_WORKER &&
		    job->type_state != NULL)
			job->spec->type->cancel(job, job->spec->parsed);	/* offered */
		job->type_state = NULL;
		job_stopped(job);
		return;
	}
	if (job->work != NULL) {
		future_cancel(job->work, reason);
		return;		/* job_work_done finishes it */
	}
	if (job->spec->type->cancel != NULL)
		job->spec->type->cancel(job, job->spec->parsed);
	job->type_state = NULL;
	job_stopped(job);
}

/* Running --------------------------------------------------------------- */

static void
job_work_done(struct future *work, void *arg)
{
	struct job		*job = arg;
	struct error		 e = { 0 };

	future_unref(job->work);
	job->work = NULL;
	if (job->stopping != 0) {
		job_stopped(job);
		return;
	}
	switch (future_state(work)) {
	case FUTURE_DONE:
		/* A copy: the work's result may be read, never referenced (future.h). */
		job_succeed(job, json_deep_copy(future_result(work)));
		break;
	case FUTURE_CANCELLED:
		job->stopping = JOB_CANCELLED;
		error_copy(&job->error, future_error(work));
		job_stopped(job);
		break;
	default:
		error_copy(&e, future_error(work));
		job_fail(job, &e);
		break;
	}
}

/* It runs: its attempt, its state, its timeout. */
static void
job_running(struct job *job)
{
	const struct job_spec	*s = job->spec;

	if (job->counted) {
		queue_unreserve(job->queue, 1);
		job->counted = false;
	}
	queue_running(job->queue, 1);
	job->attempt++;
	job->started_ns = now_epoch_ns();
	job_set_state(job, JOB_RUNNING);
	if (s->timeout > 0)
		job_arm_timer(job, s->timeout);
}

static void
job_run(struct job *job)
{
	const struct job_spec	*s = job->spec;
	char			 lane[JOB_LANE_MAX];

	/* The drain is failing this loop's jobs: one let through meanwhile
	 * (the slot of one it stopped) fails too instead of starting. */
	if (job_stopping_all(job)) {
		job_stop(job, JOB_FAILED, NULL);
		return;
	}
	/* A worker's job stays queued until a worker takes it. */
	if (s->type->runs == JOB_RUNS_WORKER) {
		s->type->start(job, s->parsed);
		return;
	}
	job_running(job);
	if (s->type->runs == JOB_RUNS_EXECUTOR) {
		job->work = executor_submit_lane(loomd.executor,
		    job_lane(job, lane, sizeof(lane)), s->type->work, s->parsed);
		future_on_done(job->work, job->reg.owner, job_work_done, job);
	} else
		s->type->start(job, s->parsed);
	job->restored = false;		/* a later attempt makes new children */
}

/*
 * The executor's lane for a job's work: its queue and its owner, so that a
 * flood in one queue cannot starve another, nor one owner's flood another
 * owner's work in the same queue.  A space parts them: neither a queue nor
 * a principal's name has one.  A job with no owner (made before owners
 * were recorded) is in its queue's lane alone.
 */
const char *
job_lane(const struct job *job, char *buf, size_t len)
{
	const struct principal	*p = job_principal(job);

	if (p == NULL)
		return job_queue(job);
	(void)snprintf(buf, len, "%s %s", job_queue(job), p->name);
	return buf;
}

void
job_started(struct job *job)
{
	job_running(job);
	job->restored = false;
}

void
job_requeue(struct job *job, struct error *error)
{
	if (job->state != JOB_RUNNING || job->stopping != 0) {
		error_clear(error);
		return;
	}
	json_decref(job->progress);
	job->progress = NULL;
	if (job->attempt > job->spec->retries) {
		job_finish(job, JOB_FAILED, NULL, error);
		return;
	}
	log_debug("job %llu: attempt %u lost (%s), queued again",
	    (unsigned long long)job->reg.id, job->attempt,
	    error->message != NULL ? error->message : error->code);
	job_to_another_attempt(job, error);
	/* Quietly out of running: job_enqueue() publishes it queued. */
	job_count_state(job, JOB_PENDING);
	job_enqueue(job);
}

void
job_set_progress(struct job *job, json_t *progress)
{
	if (job->state != JOB_RUNNING || job->stopping != 0) {
		json_decref(progress);
		return;
	}
	json_decref(job->progress);
	job->progress = progress;
	job_publish(JOB_EVENT_STATE, job, NULL);
}

void
job_enqueue(struct job *job)
{
	job->queued_ns = now_epoch_ns();
	job_set_state(job, JOB_QUEUED);
	if (queue_enter(job->queue, job->spec->priority, job->reg.id, job_admitted,
	    job, &job->waiting))
		job_admitted(job);
}

static void
job_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job	*job = arg;

	switch (job->state) {
	case JOB_PENDING:
		job_enqueue(job);
		break;
	case JOB_RUNNING:
		job_stop(job, JOB_TIMED_OUT, "timeout");
		break;
	default:
		job_expire(job);	/* its ttl ran out */
		break;
	}
}

/* The future's cancel hook: on the owner, from any thread's future_cancel(). */
void
job_cancel_hook(struct future *f, void *arg, const char *reason)
{
	struct job	*job = arg;

	if (!job->begun)
		job_take(job);
	/* The loop is stopping and has already failed the future. */
	if (future_done(f)) {
		job_stop(job, JOB_FAILED, NULL);
		return;
	}
	job_stop(job, JOB_CANCELLED, reason);
}

/*
 * The owner takes the job: its list (in id order), its timer, its place in
 * the counts.  Normally job_begin() does this, but a cancel can come first.
 */
void
job_take_quiet(struct job *job)
{
	struct job_list	*list = &shard_of(job->reg.owner)->jobs;
	struct job	*before;

	for (before = TAILQ_LAST(list, job_list); before != NULL &&
	    before->reg.id > job->reg.id; before = TAILQ_PREV(before, job_list, entry))
		;
	if (before != NULL)
		TAILQ_INSERT_AFTER(list, before, job, entry);
	else
		TAILQ_INSERT_HEAD(list, job, entry);
	LIST_INIT(&job->walks);
	loop_event_assign(&job->timer, job->reg.owner, -1, 0, job_timer_cb, job);
	job_count_state(job, job->state);
	job->begun = true;
}

static void
job_take(struct job *job)
{
	job_take_quiet(job);
	job_publish(JOB_EVENT_BEGIN, job, NULL);
}
void
job_begin(void *arg)
{
	struct job	*job = arg;

	if (job->begun)
		return;
	job_take(job);
	if (job->spec->nafter > 0)
		job_deps_start(job);
	else
		job_ready(job);
}

int
job_retry(uint64_t id, enum job_state *state, struct error *e)
{
	struct job	*job = registry_job(id);
	struct future	*f;

	if (job == NULL) {
		error_set(e, "not_found", "no job %llu (it never existed, or its "
		    "result expired)", (unsigned long long)id);
		error_set_path(e, "job");
		return -1;
	}
	if (job->state != JOB_FAILED && job->state != JOB_CANCELLED &&
	    job->state != JOB_TIMED_OUT) {
		error_set(e, "invalid_state", "job %llu is %s; only a failed, "
		    "cancelled or timed-out job runs again", (unsigned long long)id,
		    job_state_name(job->state));
		return -1;
	}
	/* Its waiters had their answer from the old future; new ones wait
	 * for this attempt's. */
	event_del(&job->timer.ev);
	f = future_new(job->reg.owner);
	future_set_cancel_hook(f, job_cancel_hook, NULL, job);
	job->outcome = NULL;		/* the old future's, about to go */
	future_unref(registry_set_future(&job->reg, f));
	error_clear(&job->last_error);
	error_move(&job->last_error, &job->error);
	job->started_ns = job->finished_ns = 0;
	queue_reserve(job->queue, 1, NULL);	/* waiting again */
	job->counted = true;
	job_set_state(job, JOB_PENDING);
	job_enqueue(job);
	*state = job->state;
	return 0;
}

/* After every loop has stopped: drop the jobs that are left. */
void
job_shutdown(void)
{
	struct job	*job;
	unsigned int	 i;

	for (i = 0; i < loomd.nloops; i++) {
		while ((job = TAILQ_FIRST(&loomd.shards[i]->jobs)) != NULL) {
			if (job->work != NULL) {
				future_unref(job->work);
				job->work = NULL;
			}
			if ((job->state == JOB_RUNNING ||
			    (job->spec->type->runs == JOB_RUNS_WORKER &&
			    job->type_state != NULL)) &&
			    job->spec->type->cancel != NULL)
				job->spec->type->cancel(job, job->spec->parsed);
			job_deps_free(job);
			job_unadmit(job);
			/* Only this pass's reference counts now. */
			job->refs = 1;
			job_expire(job);
		}
	}
	job_queue_release();
}
