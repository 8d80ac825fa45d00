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

#include "core/config.h"
#include "net/conn.h"
#include "runtime/executor.h"
#include "runtime/future.h"
#include "core/job.h"
#include "core/job_private.h"
#include "jobs/types.h"
#include "runtime/jsonload.h"
#include "runtime/log.h"
#include "core/loomd.h"
#include "runtime/loop.h"
#include "core/queue.h"
#include "core/registry.h"
#include "core/sem.h"
#include "runtime/textbuf.h"
#include "runtime/util.h"
#include "net/watch.h"

static const struct job_type *const job_types[] = {
	&job_type_echo,
	&job_type_sleep,
	&job_type_sumsq,
	&job_type_digest,
	&job_type_pbkdf2,
	&job_type_gather,
	&job_type_group,
	&job_type_wait,
	&job_type_sequence,
	&job_type_wait_event,
	&job_type_exec,
	&job_type_http,
};

struct job_list		*job_lists;
/*
 * Jobs by state, counted per owner loop (each written by its loop alone, in
 * a cache line of its own: every job changes state four times, and counters
 * shared by the loops would bounce between their cores); stats sums them.
 */
struct job_state_counts {
	atomic_long	n[JOB_NSTATES];
} __attribute__((aligned(64)));
static struct job_state_counts	*job_states;
static unsigned int		 job_nloops;

static const char *const job_state_names[JOB_NSTATES] = {
	[JOB_PENDING] = "pending",
	[JOB_QUEUED] = "queued",
	[JOB_RUNNING] = "running",
	[JOB_DONE] = "done",
	[JOB_FAILED] = "failed",
	[JOB_CANCELLED] = "cancelled",
	[JOB_TIMED_OUT] = "timed_out",
};

/* Waiting for the jobs named in `after`. */
struct job_deps {
	struct future	**futures;
	size_t		  n;
	size_t		  remaining;
};

static void	job_timer_cb(evutil_socket_t, short, void *);
static void	job_enqueue(struct job *);
static void	job_run(struct job *);
static void	job_take(struct job *);
static void	job_dep_done(struct future *, void *);

const struct job_type *
job_type_find(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(job_types); i++) {
		if (strcmp(job_types[i]->name, name) == 0)
			return job_types[i];
	}
	return NULL;
}

const char *
job_state_name(enum job_state state)
{
	return job_state_names[state];
}

int
job_state_parse(const char *name)
{
	int	i;

	for (i = 0; i < JOB_NSTATES; i++) {
		if (strcmp(job_state_names[i], name) == 0)
			return i;
	}
	return -1;
}

bool
job_state_terminal(enum job_state state)
{
	return state >= JOB_DONE;
}

void
job_init(unsigned int nloops)
{
	unsigned int	i;
	int		k;

	job_lists = xcalloc(nloops, sizeof(*job_lists));
	for (i = 0; i < nloops; i++)
		TAILQ_INIT(&job_lists[i]);
	if ((job_states = aligned_alloc(64, nloops * sizeof(*job_states))) == NULL)
		fatal("job_init");
	for (i = 0; i < nloops; i++) {
		for (k = 0; k < JOB_NSTATES; k++)
			atomic_init(&job_states[i].n[k], 0);
	}
	job_nloops = nloops;
}

static struct job_state_counts *
job_state_counts_of(const struct job *job)
{
	return &job_states[loop_index(job->reg.owner)];
}

/* Views and counters, on the owner ------------------------------------ */

/*
 * The view as JSON text, written directly (it is the hot path of every
 * answer).  The result is written only for a finished job, from `result`.
 */
static char *
job_render(const struct job *job, const json_t *result, size_t *len)
{
	struct textbuf	tb = { 0 };
	json_t		*error;
	size_t		 i;

	textbuf_lit(&tb, "{\"id\":");
	textbuf_u64(&tb, job->reg.id);
	textbuf_lit(&tb, ",\"type\":");
	textbuf_string(&tb, job->type->name);
	if (job->name != NULL) {
		textbuf_lit(&tb, ",\"name\":");
		textbuf_string(&tb, job->name);
	}
	textbuf_lit(&tb, ",\"queue\":");
	textbuf_string(&tb, queue_name(job->queue));
	textbuf_lit(&tb, ",\"priority\":");
	textbuf_i64(&tb, job->priority);
	textbuf_lit(&tb, ",\"state\":\"");
	textbuf_add(&tb, job_state_names[job->state],
	    strlen(job_state_names[job->state]));
	textbuf_lit(&tb, "\",\"attempt\":");
	textbuf_u64(&tb, job->attempt);
	textbuf_lit(&tb, ",\"created_at\":");
	textbuf_time_ns(&tb, job->created_ns);
	if (job->started_ns > 0) {
		textbuf_lit(&tb, ",\"started_at\":");
		textbuf_time_ns(&tb, job->started_ns);
	}
	if (job->finished_ns > 0) {
		textbuf_lit(&tb, ",\"finished_at\":");
		textbuf_time_ns(&tb, job->finished_ns);
	}
	if (job->parent != 0) {
		textbuf_lit(&tb, ",\"parent\":");
		textbuf_u64(&tb, job->parent);
	}
	if (job->nchildren > 0) {
		textbuf_lit(&tb, ",\"children\":[");
		for (i = 0; i < job->nchildren; i++) {
			if (i > 0)
				textbuf_lit(&tb, ",");
			textbuf_u64(&tb, job->children[i]);
		}
		textbuf_lit(&tb, "]");
	}
	if (job->state >= JOB_FAILED) {
		/* Rare: the error as error_to_json() has it. */
		error = error_to_json(&job->error);
		textbuf_lit(&tb, ",\"error\":");
		textbuf_json(&tb, error);
		json_decref(error);
	}
	if (result != NULL) {
		textbuf_lit(&tb, ",\"result\":");
		textbuf_json(&tb, result);
	}
	textbuf_lit(&tb, "}");
	return textbuf_steal(&tb, len);
}

char *
job_view_text(const struct job *job, size_t *len)
{
	return job_render(job, NULL, len);
}

/* The same view as a JSON object: one writer, so the two never differ. */
json_t *
job_view(const struct job *job)
{
	json_error_t	 err;
	json_t		*v;
	size_t		 len;
	char		*text = job_render(job, NULL, &len);

	if ((v = json_load_line(text, len, 0, &err)) == NULL) {
		log_warnx("job %llu: its view does not parse: %s",
		    (unsigned long long)job->reg.id, err.text);
		v = json_object();
	}
	free(text);
	return v;
}

bool
job_finished(const struct job *job)
{
	return job_state_terminal(job->state);
}

const char *
job_queue(const struct job *job)
{
	return queue_name(job->queue);
}

bool
job_matches(const struct job *job, int state, const char *queue)
{
	return (state < 0 || (int)job->state == state) &&
	    (queue == NULL || strcmp(queue, queue_name(job->queue)) == 0);
}

json_t *
job_collect(int state, const char *queue, uint64_t before, size_t limit)
{
	struct job_list	*list = &job_lists[loop_index(loop_current())];
	struct job	*job;
	json_t		*views = json_array();

	TAILQ_FOREACH_REVERSE(job, list, job_list, entry) {
		if (json_array_size(views) >= limit)
			break;
		if ((before == 0 || job->reg.id < before) &&
		    job_matches(job, state, queue))
			json_array_append_new(views, job_view(job));
	}
	return views;
}

void
job_count_states(unsigned long counts[JOB_NSTATES])
{
	long		sums[JOB_NSTATES] = { 0 };
	unsigned int	l;
	int		i;

	for (l = 0; l < job_nloops; l++) {
		for (i = 0; i < JOB_NSTATES; i++)
			sums[i] += atomic_load_explicit(&job_states[l].n[i],
			    memory_order_relaxed);
	}
	for (i = 0; i < JOB_NSTATES; i++)
		counts[i] = sums[i] > 0 ? (unsigned long)sums[i] : 0;
}

static void
job_count_state(struct job *job, enum job_state state)
{
	if (job->begun)
		atomic_fetch_sub_explicit(&job_state_counts_of(job)->n[job->state], 1,
		    memory_order_relaxed);
	atomic_fetch_add_explicit(&job_state_counts_of(job)->n[state], 1,
	    memory_order_relaxed);
	job->state = state;
}

static void
job_set_state(struct job *job, enum job_state state)
{
	char	*view;
	size_t	 len;

	job_count_state(job, state);
	if (watch_active()) {
		view = job_render(job, NULL, &len);
		watch_publish(view, len, job->reg.id, queue_name(job->queue));
		free(view);
	}
}

static void
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
	struct loop	*owner = job->reg.owner;

	if (job->key != NULL)
		registry_key_release(job->key, job->reg.id);
	registry_remove(&job->reg);
	TAILQ_REMOVE(&job_lists[loop_index(owner)], job, entry);
	atomic_fetch_sub_explicit(&job_state_counts_of(job)->n[job->state], 1,
	    memory_order_relaxed);
	atomic_fetch_sub_explicit(&loomd.counters[loop_index(owner)].jobs, 1,
	    memory_order_relaxed);
	event_del(&job->timer.ev);
	job_unref(job);
}

/* Admission: queue slot, then resources in order --------------------- */

static void	job_granted(void *);

/* Take the resources not yet held; false while one is awaited. */
static bool
job_acquire(struct job *job)
{
	while (job->held < job->nresources) {
		if (!sem_acquire(job->resources[job->held], job->priority,
		    job->reg.id, job_granted, job, &job->waiting))
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
			sem_cancel(job->resources[job->held], job->waiting);
		else
			queue_withdraw(job->queue, job->waiting);
		job->waiting = NULL;
	}
	while (job->held > 0)
		sem_release(job->resources[--job->held]);
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
		if (future_remove_done(d->futures[i], job_dep_done, job))
			job_unref(job);
		future_unref(d->futures[i]);
	}
	free(d->futures);
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
static void
job_ready(struct job *job)
{
	if (job->delay > 0)
		job_arm_timer(job, job->delay);
	else
		job_enqueue(job);
}

static void
job_dep_done(struct future *f, void *arg)
{
	struct job	*job = arg;
	json_t		*view = future_result(f);
	const char	*state;
	json_int_t	 id;

	if (job->deps != NULL && job->state == JOB_PENDING && job->stopping == 0) {
		id = json_integer_value(json_object_get(view, "id"));
		state = json_string_value(json_object_get(view, "state"));
		if (view == NULL)
			job_dependency_failed(job, 0, "ended without a result");
		else if (state == NULL || strcmp(state, "done") != 0) {
			char	how[64];

			snprintf(how, sizeof(how), "ended %s", state ? state : "?");
			job_dependency_failed(job, (uint64_t)id, how);
		} else if (--job->deps->remaining == 0) {
			job_deps_free(job);
			job_ready(job);
		}
	}
	job_unref(job);
}

/* Look up each job of `after` and wait for it on this loop. */
static void
job_deps_start(struct job *job)
{
	struct job_deps	*d = xcalloc(1, sizeof(*d));
	struct loop	*owner;
	size_t		 i;

	d->futures = xcalloc(job->nafter, sizeof(*d->futures));
	d->n = d->remaining = job->nafter;
	job->deps = d;
	for (i = 0; i < job->nafter; i++) {
		if (!registry_lookup(job->after[i], &owner, &d->futures[i])) {
			job_dependency_failed(job, job->after[i], "is no longer known");
			return;
		}
	}
	for (i = 0; i < d->n && job->deps != NULL; i++) {
		job_ref(job);
		future_on_done(d->futures[i], job->reg.owner, job_dep_done, job);
	}
}

/* Finishing ------------------------------------------------------------ */

/*
 * The terminal transition: give back what admission took, record the
 * outcome, complete the future with the final view (which wakes every
 * waiter, on any loop), and keep the job queryable for its ttl.  The result
 * lives only in that view, which other loops read but never reference.
 */
static void
job_finish(struct job *job, enum job_state state, json_t *result,
    struct error *error)
{
	char	*view;
	size_t	 len;

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
	if (error != NULL)
		error_move(&job->error, error);
	job_count_state(job, state);
	log_debug("job %llu: %s %s%s%s", (unsigned long long)job->reg.id,
	    job->type->name, job_state_names[state], job->error.code != NULL ?
	    ": " : "", job->error.code != NULL ? job->error.code : "");
	view = job_render(job, state == JOB_DONE ? result : NULL, &len);
	json_decref(result);
	if (watch_active())
		watch_publish(view, len, job->reg.id, queue_name(job->queue));
	future_set_view(job->reg.future, view, len);
	if (job->stream != NULL) {
		conn_remote_unref(job->stream);
		job->stream = NULL;
	}
	job_arm_timer(job, job->ttl);
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
	if (job->attempt <= job->retries) {
		/* Retry after retry_delay, doubling each time (asyncio backoff). */
		wait = job->retry_delay * ldexp(1.0, (int)job->attempt - 1);
		log_debug("job %llu: attempt %u failed (%s), retrying in %.3gs",
		    (unsigned long long)job->reg.id, job->attempt,
		    error->message != NULL ? error->message : error->code, wait);
		error_clear(error);
		event_del(&job->timer.ev);
		queue_running(job->queue, -1);
		job_unadmit(job);
		queue_reserve(job->queue, 1, NULL);	/* waiting again */
		job->counted = true;
		job_set_state(job, JOB_PENDING);
		job_arm_timer(job, wait);
		return;
	}
	job_finish(job, JOB_FAILED, NULL, error);
}

static void
job_stopped(struct job *job)
{
	struct error	e = { 0 };

	switch (job->stopping) {
	case JOB_TIMED_OUT:
		error_set(&e, "timeout", "timed out after %gs", job->timeout);
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
static void
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
		job_stopped(job);
		return;
	}
	if (job->work != NULL) {
		future_cancel(job->work, reason);
		return;		/* job_work_done finishes it */
	}
	if (job->type->cancel != NULL)
		job->type->cancel(job, job->parsed);
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
		job_succeed(job, json_incref(future_result(work)));
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

static void
job_run(struct job *job)
{
	struct loop	*owner = job->reg.owner;

	if (job->counted) {
		queue_unreserve(job->queue, 1);
		job->counted = false;
	}
	queue_running(job->queue, 1);
	job->attempt++;
	job->started_ns = now_epoch_ns();
	job_set_state(job, JOB_RUNNING);
	if (job->timeout > 0)
		job_arm_timer(job, job->timeout);

	if (job->type->runs == JOB_RUNS_EXECUTOR) {
		job->work = executor_submit(loomd.executor, job->type->work, job->parsed);
		future_on_done(job->work, owner, job_work_done, job);
	} else
		job->type->start(job, job->parsed);
}

static void
job_enqueue(struct job *job)
{
	job_set_state(job, JOB_QUEUED);
	if (queue_enter(job->queue, job->priority, job->reg.id, job_admitted, job,
	    &job->waiting))
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
static void
job_take(struct job *job)
{
	struct loop	*owner = job->reg.owner;
	struct job_list	*list = &job_lists[loop_index(owner)];
	struct job	*before;

	for (before = TAILQ_LAST(list, job_list); before != NULL &&
	    before->reg.id > job->reg.id; before = TAILQ_PREV(before, job_list, entry))
		;
	if (before != NULL)
		TAILQ_INSERT_AFTER(list, before, job, entry);
	else
		TAILQ_INSERT_HEAD(list, job, entry);
	loop_event_assign(&job->timer, owner, -1, 0, job_timer_cb, job);
	job_set_state(job, job->state);
	job->begun = true;
}

void
job_begin(void *arg)
{
	struct job	*job = arg;

	if (job->begun)
		return;
	job_take(job);
	if (job->nafter > 0)
		job_deps_start(job);
	else
		job_ready(job);
}

/* For types ------------------------------------------------------------ */

struct loop *
job_loop(const struct job *job)
{
	return job->reg.owner;
}

uint64_t
job_id(const struct job *job)
{
	return job->reg.id;
}

double
job_timeout(const struct job *job)
{
	return job->timeout;
}

void *
job_type_state(const struct job *job)
{
	return job->type_state;
}

void
job_set_type_state(struct job *job, void *state)
{
	job->type_state = state;
}

/* After every loop has stopped: drop the jobs that are left. */
void
job_shutdown(void)
{
	struct job	*job;
	unsigned int	 i;

	for (i = 0; i < loomd.nloops; i++) {
		while ((job = TAILQ_FIRST(&job_lists[i])) != NULL) {
			if (job->work != NULL) {
				future_unref(job->work);
				job->work = NULL;
			}
			if (job->state == JOB_RUNNING && job->type->cancel != NULL)
				job->type->cancel(job, job->parsed);
			job_deps_free(job);
			job_unadmit(job);
			if (job->stream != NULL) {
				conn_remote_unref(job->stream);
				job->stream = NULL;
			}
			/* Only this pass's reference counts now. */
			job->refs = 1;
			job_expire(job);
		}
	}
	free(job_lists);
	job_lists = NULL;
	free(job_states);
	job_states = NULL;
	job_nloops = 0;
	job_queue_release();
}

/*
 * The shutdown grace is over: every job this loop owns that has not finished
 * fails with shutting_down (a running one once its type has stopped; CPU
 * work when it returns).  Newest first, so children end with that code
 * before their parents cancel them.  Returns how many were stopped.
 */
size_t
job_stop_all(void)
{
	struct job_list	*list = &job_lists[loop_index(loop_current())];
	struct job	*job, *prev;
	size_t		 n = 0;

	for (job = TAILQ_LAST(list, job_list); job != NULL; job = prev) {
		prev = TAILQ_PREV(job, job_list, entry);
		if (job_state_terminal(job->state) || job->stopping != 0)
			continue;
		log_debug("job %llu: %s %s, stopped by the shutdown",
		    (unsigned long long)job->reg.id, job->type->name,
		    job_state_names[job->state]);
		job_stop(job, JOB_FAILED, NULL);
		n++;
	}
	return n;
}
