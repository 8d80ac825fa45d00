/*
 * The job state machine.  A job is parsed on the connection's loop, then
 * belongs to its owner loop for the rest of its life (DESIGN.md): only the
 * owner's thread reads or writes it.  Everything else sees the job through
 * the registry (its owner and its future) and through the future's result,
 * the job's terminal view.
 *
 *   pending ──delay/retry timer──▶ queued ──▶ running ──▶ done
 *                                                    ├──▶ failed (retries left: back to pending)
 *                                                    ├──▶ cancelled
 *                                                    └──▶ timed_out
 *
 * One timer serves each phase in turn: delay or retry while pending, the
 * timeout while running, the ttl once finished.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "executor.h"
#include "fields.h"
#include "future.h"
#include "job.h"
#include "jobs/types.h"
#include "log.h"
#include "loomd.h"
#include "loop.h"
#include "registry.h"
#include "util.h"
#include "watch.h"

#define JOB_NAME_MAX	128
#define JOB_QUEUE_MAX	64
#define JOB_KEY_MAX	256
#define JOB_RETRIES_MAX	1000
#define JOB_SECONDS_MAX	SECONDS_MAX

static const struct job_type *const job_types[] = {
	&job_type_echo,
	&job_type_sleep,
	&job_type_sumsq,
	&job_type_digest,
	&job_type_pbkdf2,
	&job_type_exec,
	&job_type_http,
};

struct job {
	struct registry_link	 reg;
	TAILQ_ENTRY(job)	 entry;		/* the owner's jobs, oldest first */
	const struct job_type	*type;
	void			*parsed;
	void			*type_state;

	char			*name;
	char			*queue;
	char			*key;
	int			 priority;
	double			 delay;
	double			 timeout;	/* 0: none */
	double			 retry_delay;
	double			 ttl;
	unsigned int		 retries;

	enum job_state		 state;
	enum job_state		 stopping;	/* cancel or timeout under way, else 0 */
	bool			 begun;		/* the owner has taken it */
	unsigned int		 attempt;
	double			 created_at;
	double			 started_at;
	double			 finished_at;
	struct error		 error;
	struct future		*work;		/* the executor's, while running */
	struct loop_event	 timer;
};
TAILQ_HEAD(job_list, job);

static struct job_list	*job_lists;		/* one per loop */
static atomic_ulong	 job_states[JOB_NSTATES];

static const char *const job_state_names[JOB_NSTATES] = {
	[JOB_PENDING] = "pending",
	[JOB_QUEUED] = "queued",
	[JOB_RUNNING] = "running",
	[JOB_DONE] = "done",
	[JOB_FAILED] = "failed",
	[JOB_CANCELLED] = "cancelled",
	[JOB_TIMED_OUT] = "timed_out",
};

static void	job_timer_cb(evutil_socket_t, short, void *);
static void	job_enqueue(struct job *);

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

	job_lists = xcalloc(nloops, sizeof(*job_lists));
	for (i = 0; i < nloops; i++)
		TAILQ_INIT(&job_lists[i]);
}

/* Parsing, on the connection's loop ---------------------------------- */

static const char *const job_spec_fields[] = {
	"type", "args", "name", "queue", "priority", "delay", "timeout",
	"retries", "retry_delay", "ttl", "key", NULL
};

static bool
job_name_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	}
	return true;
}

struct job *
job_parse(const json_t *spec, const char *base, struct error *e)
{
	const struct config	*cfg = loomd.config;
	struct job		*job;
	const char		*type = NULL, *name = NULL, *queue = "default";
	const char		*key = NULL;
	json_int_t		 priority = 0, retries = 0;
	double			 delay = 0, timeout = 0, retry_delay = 1;
	double			 ttl = cfg->result_ttl;
	const json_t		*args;
	char			 path[256];

	if (fields_object(spec, base, job_spec_fields, e) == -1 ||
	    field_string(spec, base, "type", FIELD_REQUIRED, 64, &type, e) == -1 ||
	    field_string(spec, base, "name", FIELD_OPTIONAL, JOB_NAME_MAX, &name, e) == -1 ||
	    field_string(spec, base, "queue", FIELD_OPTIONAL, JOB_QUEUE_MAX, &queue, e) == -1 ||
	    field_integer(spec, base, "priority", FIELD_OPTIONAL, INT32_MIN, INT32_MAX,
	    &priority, e) == -1 ||
	    field_number(spec, base, "delay", FIELD_OPTIONAL, 0, JOB_SECONDS_MAX,
	    &delay, e) == -1 ||
	    field_number_above(spec, base, "timeout", FIELD_OPTIONAL, 0,
	    JOB_SECONDS_MAX, &timeout, e) == -1 ||
	    field_integer(spec, base, "retries", FIELD_OPTIONAL, 0, JOB_RETRIES_MAX,
	    &retries, e) == -1 ||
	    field_number(spec, base, "retry_delay", FIELD_OPTIONAL, 0, JOB_SECONDS_MAX,
	    &retry_delay, e) == -1 ||
	    field_number(spec, base, "ttl", FIELD_OPTIONAL, 0, JOB_SECONDS_MAX,
	    &ttl, e) == -1 ||
	    field_string(spec, base, "key", FIELD_OPTIONAL, JOB_KEY_MAX, &key, e) == -1)
		return NULL;
	if (*queue == '\0' || !job_name_ok(queue)) {
		fields_fail(e, base, "queue", "must be 1 to %d of A-Z a-z 0-9 _ - .",
		    JOB_QUEUE_MAX);
		return NULL;
	}
	if (key != NULL && *key == '\0') {
		fields_fail(e, base, "key", "must not be empty");
		return NULL;
	}

	job = xcalloc(1, sizeof(*job));
	if ((job->type = job_type_find(type)) == NULL) {
		error_set(e, "unknown_type", "%s: no job type \"%s\"",
		    field_path(path, sizeof(path), base, "type"), type);
		error_set_path(e, path);
		free(job);
		return NULL;
	}
	args = json_object_get(spec, "args");
	if (args != NULL && json_is_null(args))
		args = NULL;
	field_path(path, sizeof(path), base, "args");
	if (args != NULL && !json_is_object(args)) {
		fields_fail(e, base, "args", "must be an object");
		free(job);
		return NULL;
	}
	if (job->type->parse(args, path, cfg, &job->parsed, e) == -1) {
		free(job);
		return NULL;
	}
	job->name = name != NULL ? xstrdup(name) : NULL;
	job->queue = xstrdup(queue);
	job->key = key != NULL ? xstrdup(key) : NULL;
	job->priority = (int)priority;
	job->delay = delay;
	job->timeout = timeout;
	job->retries = (unsigned int)retries;
	job->retry_delay = retry_delay;
	job->ttl = ttl;
	job->state = delay > 0 ? JOB_PENDING : JOB_QUEUED;
	job->created_at = now_epoch();
	return job;
}

void
job_discard(struct job *job)
{
	if (job == NULL)
		return;
	if (job->type->free_parsed != NULL)
		job->type->free_parsed(job->parsed);
	free(job->name);
	free(job->queue);
	free(job->key);
	error_clear(&job->error);
	free(job);
}

bool
job_has_delay(const struct job *job)
{
	return job->delay > 0;
}

bool
job_uses_executor(const struct job *job)
{
	return job->type->runs == JOB_RUNS_EXECUTOR;
}

/* Views and counters, on the owner ------------------------------------ */

json_t *
job_view(const struct job *job)
{
	json_t	*v = json_object();

	json_object_set_new(v, "id", json_integer((json_int_t)job->reg.id));
	json_object_set_new(v, "type", json_string(job->type->name));
	if (job->name != NULL)
		json_object_set_new(v, "name", json_string(job->name));
	json_object_set_new(v, "queue", json_string(job->queue));
	json_object_set_new(v, "priority", json_integer(job->priority));
	json_object_set_new(v, "state", json_string(job_state_names[job->state]));
	json_object_set_new(v, "attempt", json_integer(job->attempt));
	json_object_set_new(v, "created_at", json_real(job->created_at));
	if (job->started_at > 0)
		json_object_set_new(v, "started_at", json_real(job->started_at));
	if (job->finished_at > 0)
		json_object_set_new(v, "finished_at", json_real(job->finished_at));
	if (job->state >= JOB_FAILED)
		json_object_set_new(v, "error", error_to_json(&job->error));
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
	return job->queue;
}

bool
job_matches(const struct job *job, int state, const char *queue)
{
	return (state < 0 || (int)job->state == state) &&
	    (queue == NULL || strcmp(queue, job->queue) == 0);
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
	int	i;

	for (i = 0; i < JOB_NSTATES; i++)
		counts[i] = atomic_load_explicit(&job_states[i], memory_order_relaxed);
}

static void
job_count_state(struct job *job, enum job_state state)
{
	if (job->begun)
		atomic_fetch_sub_explicit(&job_states[job->state], 1,
		    memory_order_relaxed);
	atomic_fetch_add_explicit(&job_states[state], 1, memory_order_relaxed);
	job->state = state;
}

static void
job_set_state(struct job *job, enum job_state state)
{
	json_t	*view;

	job_count_state(job, state);
	if (watch_active()) {
		view = job_view(job);
		watch_publish(view, job->reg.id, job->queue);
		json_decref(view);
	}
}

static void
job_arm_timer(struct job *job, double seconds)
{
	struct timeval	tv;

	seconds_to_timeval(seconds, &tv);
	event_add(&job->timer.ev, &tv);
}

/* Finishing ------------------------------------------------------------ */

static void
job_free(struct job *job)
{
	struct loop	*owner = job->reg.owner;

	if (job->key != NULL)
		registry_key_release(job->key, job->reg.id);
	registry_remove(&job->reg);
	TAILQ_REMOVE(&job_lists[loop_index(owner)], job, entry);
	atomic_fetch_sub_explicit(&job_states[job->state], 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&loomd.counters[loop_index(owner)].jobs, 1,
	    memory_order_relaxed);
	event_del(&job->timer.ev);
	future_unref(job->reg.future);
	job_discard(job);
}

/*
 * The terminal transition: record the outcome, complete the future with the
 * final view (which wakes every waiter, on any loop), and keep the job
 * queryable for its ttl.  The result lives only in that view, which other
 * loops read but never reference.
 */
static void
job_finish(struct job *job, enum job_state state, json_t *result,
    struct error *error)
{
	json_t	*view;

	event_del(&job->timer.ev);
	job->stopping = 0;
	job->finished_at = now_epoch();
	if (error != NULL)
		error_move(&job->error, error);
	job_count_state(job, state);
	view = job_view(job);
	if (state == JOB_DONE)
		json_object_set_new(view, "result", result);
	else
		json_decref(result);
	if (watch_active())
		watch_publish(view, job->reg.id, job->queue);
	future_set_result(job->reg.future, view);
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
		error_set(&e, "shutting_down", "the daemon stopped before the job finished");
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
	const struct error	*we;
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
		we = future_error(work);
		error_copy(&e, we);
		job_fail(job, &e);
		break;
	}
}

static void
job_run(struct job *job)
{
	struct loop	*owner = job->reg.owner;

	job->attempt++;
	job->started_at = now_epoch();
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
	job_run(job);
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
		job_free(job);		/* its ttl ran out */
		break;
	}
}

/*
 * The owner takes the job: its list, its timer, its place in the counts.
 * Normally job_begin() does this, but a cancel can reach the owner first.
 */
static void
job_take(struct job *job)
{
	struct loop	*owner = job->reg.owner;

	TAILQ_INSERT_TAIL(&job_lists[loop_index(owner)], job, entry);
	loop_event_assign(&job->timer, owner, -1, 0, job_timer_cb, job);
	job_set_state(job, job->state);
	job->begun = true;
}

static void
job_begin(void *arg)
{
	struct job	*job = arg;

	if (job->begun)
		return;
	job_take(job);
	if (job->state == JOB_PENDING)
		job_arm_timer(job, job->delay);
	else
		job_run(job);
}

/* The future's cancel hook: on the owner, from any thread's future_cancel(). */
static void
job_cancel_hook(struct future *f, void *arg, const char *reason)
{
	struct job	*job = arg;

	if (!job->begun)
		job_take(job);
	/* The loop is stopping and has already failed the future. */
	if (future_done(f)) {
		job_stop(job, JOB_FAILED, reason);
		return;
	}
	job_stop(job, JOB_CANCELLED, reason);
}

/* Submitting ------------------------------------------------------------ */

/* Local unless this loop has clearly more live jobs than the least loaded. */
static struct loop *
job_pick_owner(void)
{
	struct loop	*here = loop_current();
	unsigned long	 mine, least = (unsigned long)-1, n;
	unsigned int	 i, best = 0;

	for (i = 0; i < loomd.nloops; i++) {
		n = atomic_load_explicit(&loomd.counters[i].jobs, memory_order_relaxed);
		if (n < least) {
			least = n;
			best = i;
		}
	}
	if (here == NULL)
		return loomd.loops[best];
	mine = atomic_load_explicit(&loomd.counters[loop_index(here)].jobs,
	    memory_order_relaxed);
	if (mine <= 2 * least + 64)
		return here;
	return loomd.loops[best];
}

void
job_submit(struct job *job, uint64_t *idp, struct future **fp)
{
	struct loop	*owner = job_pick_owner();
	struct loop	*held_owner;
	struct future	*held;
	uint64_t	 id = registry_next_id(), holder;

	if (job->key != NULL && (holder = registry_key_claim(job->key, id)) != 0 &&
	    registry_lookup(holder, &held_owner, &held)) {
		job_discard(job);
		*idp = holder;
		*fp = held;
		return;
	}

	job->reg.id = id;
	job->reg.job = job;
	job->reg.owner = owner;
	job->reg.future = future_new(owner);
	future_set_cancel_hook(job->reg.future, job_cancel_hook, NULL, job);
	future_ref(job->reg.future);
	*idp = id;
	*fp = job->reg.future;
	atomic_fetch_add_explicit(&loomd.counters[loop_index(owner)].jobs, 1,
	    memory_order_relaxed);
	registry_insert(&job->reg);
	/* From here on the job is the owner's. */
	if (loop_is_current(owner)) {
		job_begin(job);
		return;
	}
	atomic_fetch_add_explicit(&loomd.counters[loop_index(loop_current())].handoffs,
	    1, memory_order_relaxed);
	if (loop_post(owner, job_begin, job) == -1) {
		/* The owner stopped: its sweep failed the future already. */
		registry_remove(&job->reg);
		if (job->key != NULL)
			registry_key_release(job->key, id);
		atomic_fetch_sub_explicit(&loomd.counters[loop_index(owner)].jobs, 1,
		    memory_order_relaxed);
		future_unref(job->reg.future);
		job_discard(job);
	}
}

/* For loop types ------------------------------------------------------- */

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
			job_free(job);
		}
	}
	free(job_lists);
	job_lists = NULL;
}
