/*
 * What the rest of the daemon sees of jobs: their views (JSON text written
 * directly, the hot path of every answer), the outcome a finished job leaves
 * in its future, the counts by state, and the seam that tells observers of
 * every transition.  All on the job's owner loop, but for the outcome,
 * which is immutable once made and read from anywhere.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/job.h"
#include "core/job_private.h"
#include "core/loomd.h"
#include "core/principal.h"
#include "core/queue.h"
#include "runtime/future.h"
#include "runtime/jsonload.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/textbuf.h"
#include "runtime/util.h"

#define JOB_OBSERVERS_MAX	8

static const struct job_observer	*job_observers[JOB_OBSERVERS_MAX];
static size_t				 job_nobservers;

/* The seam ------------------------------------------------------------- */

void
job_observe(const struct job_observer *o)
{
	if (job_nobservers == JOB_OBSERVERS_MAX)
		fatalx("job_observe: more than %d observers", JOB_OBSERVERS_MAX);
	job_observers[job_nobservers++] = o;
}

void
job_publish(enum job_event ev, struct job *job, const struct job_outcome *outcome)
{
	const struct job_observer	*o;
	size_t				 i;

	if (ev != JOB_EVENT_SUBMIT)
		job->version++;
	for (i = 0; i < job_nobservers; i++) {
		o = job_observers[i];
		if (o->wants == NULL || o->wants(job))
			o->notify(ev, job, outcome);
	}
}

/* Counts ---------------------------------------------------------------- */

/* Moves the job to `state` in its owner's counts (once begun). */
void
job_count_state(struct job *job, enum job_state state)
{
	struct shard	*sh = shard_of(job->reg.owner);

	if (job->begun) {
		atomic_fetch_sub_explicit(&sh->states[job->state], 1,
		    memory_order_relaxed);
		if (job->state == JOB_QUEUED)
			queue_queued(job->queue, -1);
	}
	atomic_fetch_add_explicit(&sh->states[state], 1, memory_order_relaxed);
	if (state == JOB_QUEUED)
		queue_queued(job->queue, 1);
	job->state = state;
}

void
job_count_states(unsigned long counts[JOB_NSTATES])
{
	long		sums[JOB_NSTATES] = { 0 };
	unsigned int	l;
	int		i;

	for (l = 0; l < loomd.nloops; l++) {
		for (i = 0; i < JOB_NSTATES; i++)
			sums[i] += atomic_load_explicit(&loomd.shards[l]->states[i],
			    memory_order_relaxed);
	}
	for (i = 0; i < JOB_NSTATES; i++)
		counts[i] = sums[i] > 0 ? (unsigned long)sums[i] : 0;
}

/* Views ---------------------------------------------------------------- */

static void
job_render_times(struct textbuf *tb, const struct job *job)
{
	textbuf_lit(tb, ",\"created_at\":");
	textbuf_time_ns(tb, job->created_ns);
	if (job->started_ns > 0) {
		textbuf_lit(tb, ",\"started_at\":");
		textbuf_time_ns(tb, job->started_ns);
	}
	if (job->finished_ns > 0) {
		textbuf_lit(tb, ",\"finished_at\":");
		textbuf_time_ns(tb, job->finished_ns);
	}
}

static void
job_render_family(struct textbuf *tb, const struct job *job)
{
	size_t	i;

	if (job->parent != 0) {
		textbuf_lit(tb, ",\"parent\":");
		textbuf_u64(tb, job->parent);
	}
	if (job->nchildren > 0) {
		textbuf_lit(tb, ",\"children\":[");
		for (i = 0; i < job->nchildren; i++) {
			if (i > 0)
				textbuf_lit(tb, ",");
			textbuf_u64(tb, job->children[i]);
		}
		textbuf_lit(tb, "]");
	}
}

/* The view as JSON text into tb; the result only for a finished job. */
static void
job_render(const struct job *job, const json_t *result, struct textbuf *tbp)
{
	const struct job_spec	*s = job->spec;
	const char		*state = job_state_name(job->state);
	struct textbuf		 tb = *tbp;
	json_t			*error;

	textbuf_lit(&tb, "{\"id\":");
	textbuf_u64(&tb, job->reg.id);
	textbuf_lit(&tb, ",\"type\":");
	textbuf_string(&tb, s->type->name);
	if (s->name != NULL) {
		textbuf_lit(&tb, ",\"name\":");
		textbuf_string(&tb, s->name);
	}
	textbuf_lit(&tb, ",\"queue\":");
	textbuf_string(&tb, queue_name(job->queue));
	if (job->reg.principal != NULL) {
		textbuf_lit(&tb, ",\"owner\":");
		textbuf_string(&tb, job->reg.principal->name);
	}
	textbuf_lit(&tb, ",\"priority\":");
	textbuf_i64(&tb, s->priority);
	textbuf_lit(&tb, ",\"state\":\"");
	textbuf_add(&tb, state, strlen(state));
	textbuf_lit(&tb, "\",\"attempt\":");
	textbuf_u64(&tb, job->attempt);
	job_render_times(&tb, job);
	job_render_family(&tb, job);
	if (job->state >= JOB_FAILED) {
		/* Rare: the error as error_to_json() has it. */
		error = error_to_json(&job->error);
		textbuf_lit(&tb, ",\"error\":");
		textbuf_json(&tb, error);
		json_decref(error);
	}
	if (job->last_error.code != NULL) {
		error = error_to_json(&job->last_error);
		textbuf_lit(&tb, ",\"last_error\":");
		textbuf_json(&tb, error);
		json_decref(error);
	}
	if (job->progress != NULL && job->state == JOB_RUNNING) {
		textbuf_lit(&tb, ",\"progress\":");
		textbuf_json(&tb, job->progress);
	}
	if (result != NULL) {
		textbuf_lit(&tb, ",\"result\":");
		textbuf_json(&tb, result);
	}
	textbuf_lit(&tb, "}");
	*tbp = tb;
}

char *
job_view_text(const struct job *job, size_t *len)
{
	struct textbuf	tb = { 0 };

	job_render(job, NULL, &tb);
	return textbuf_steal(&tb, len);
}

/* Outcomes -------------------------------------------------------------- */

/*
 * The terminal job as its future will carry it; steals result.  One
 * allocation, the view's text after the struct, rendered in the owner
 * shard's buffer first (a job's last act is on the hot path).
 */
struct job_outcome *
job_outcome_new(const struct job *job, json_t *result)
{
	struct textbuf		*tbp = &shard_of(job->reg.owner)->render;
	struct textbuf		 tb = *tbp;
	struct job_outcome	*o;

	if (job->state != JOB_DONE) {
		json_decref(result);
		result = NULL;
	}
	tb.len = 0;
	job_render(job, result, &tb);
	o = xmalloc(sizeof(*o) + tb.len + 1);
	memset(o, 0, sizeof(*o));
	o->id = job->reg.id;
	o->state = job->state;
	if (job->state >= JOB_FAILED)
		error_copy(&o->error, &job->error);
	/* Only a composite reads a result other than through the view (its
	 * child's): a job of its own keeps the text alone. */
	if (job->parent == 0) {
		json_decref(result);
		result = NULL;
	}
	o->result = result;	/* the job's own (job_succeed) */
	o->view = (char *)(o + 1);
	o->view_len = tb.len;
	memcpy(o->view, tb.p, tb.len);
	o->view[tb.len] = '\0';
	job_outcome_charge(o);
	/* Keep a modest buffer, not the largest result ever rendered. */
	if (tb.cap > 64 * 1024)
		textbuf_free(&tb);
	*tbp = tb;
	return o;
}

/* What jobs hold, all loops: their specs (jobspec.c) and outcomes. */
static atomic_size_t	job_held;

void
job_hold(size_t n)
{
	atomic_fetch_add_explicit(&job_held, n, memory_order_relaxed);
}

void
job_unhold(size_t n)
{
	atomic_fetch_sub_explicit(&job_held, n, memory_order_relaxed);
}

size_t
job_held_bytes(void)
{
	return atomic_load_explicit(&job_held, memory_order_relaxed);
}

void
job_outcome_charge(struct job_outcome *o)
{
	o->held = sizeof(*o) + o->view_len +
	    (o->result != NULL ? json_held_size(o->result) : 0);
	job_hold(o->held);
}

void
job_outcome_free(void *arg)
{
	struct job_outcome	*o = arg;

	job_unhold(o->held);
	error_clear(&o->error);
	json_decref(o->result);
	free(o);
}

const struct job_outcome *
job_outcome(struct future *f)
{
	return future_value(f);
}

/* Questions ------------------------------------------------------------- */

bool
job_finished(const struct job *job)
{
	return job_state_terminal(job->state);
}

enum job_state
job_state(const struct job *job)
{
	return job->state;
}

const char *
job_queue(const struct job *job)
{
	return queue_name(job->queue);
}

const char *
job_type_name(const struct job *job)
{
	return job->spec->type->name;
}

unsigned int
job_attempt(const struct job *job)
{
	return job->attempt;
}

const struct principal *
job_principal(const struct job *job)
{
	return job->reg.principal;
}

const char *
job_name(const struct job *job)
{
	return job->spec->name;
}

void
job_times(const struct job *job, struct job_times *t)
{
	t->created_ns = job->created_ns;
	t->queued_ns = job->queued_ns;
	t->started_ns = job->started_ns;
	t->finished_ns = job->finished_ns;
}

bool
job_matches(const struct job *job, int state, const char *queue,
    const struct principal *only)
{
	return (state < 0 || (int)job->state == state) &&
	    (queue == NULL || strcmp(queue, queue_name(job->queue)) == 0) &&
	    (only == NULL || job->reg.principal == only);
}

struct job_walk {
	LIST_ENTRY(job_walk)	 entry;		/* on next's walks */
	struct shard		*shard;
	struct job		*next;		/* to look at; NULL: not yet or over */
	bool			 started;
	int			 state;
	const char		*queue;
	const struct principal	*only;
	uint64_t		 before;
	size_t			 limit;
	size_t			 cap;
	struct textbuf		 tb;
	struct job_listing	 found;
};

struct job_walk *
job_walk_new(int state, const char *queue, const struct principal *only,
    uint64_t before, size_t limit)
{
	struct job_walk	*w = xcalloc(1, sizeof(*w));

	w->shard = shard_current();
	w->state = state;
	w->queue = queue;
	w->only = only;
	w->before = before;
	w->limit = limit;
	return w;
}

static void
job_walk_stand(struct job_walk *w, struct job *job)
{
	w->next = job;
	if (job != NULL)
		LIST_INSERT_HEAD(&job->walks, w, entry);
}

static void
job_walk_leave(struct job_walk *w)
{
	if (w->next != NULL) {
		LIST_REMOVE(w, entry);
		w->next = NULL;
	}
}

void
job_walks_step_back(struct job *job)
{
	struct job	*prev = TAILQ_PREV(job, job_list, entry);
	struct job_walk	*w;

	while ((w = LIST_FIRST(&job->walks)) != NULL) {
		job_walk_leave(w);
		job_walk_stand(w, prev);	/* NULL: nothing older, over */
	}
}

/*
 * fn(job, arg) on each job, newest first, budget jobs at most: false once
 * the budget is spent, the walk standing at the next job; true when the
 * walk is over (past the oldest job, or fn said so).  While fn runs the
 * walk stands at the job after: fn may end jobs, and one that goes (its
 * ttl) moves the walk on to the one before it.
 */
bool
job_walk_each(struct job_walk *w, size_t *budget, bool (*fn)(struct job *, void *),
    void *arg)
{
	struct job	*job;
	bool		 more;

	if (!w->started) {
		w->started = true;
		job = TAILQ_LAST(&w->shard->jobs, job_list);
	} else {
		job = w->next;
		job_walk_leave(w);
		/* A job that goes moves its walks on (job_walks_step_back()). */
		if (job != NULL && job->entry.tqe_prev == NULL)
			fatalx("a walk stood at job %llu, which has gone",
			    (unsigned long long)job->reg.id);
	}
	while (job != NULL) {
		if (*budget == 0) {
			job_walk_stand(w, job);
			return false;
		}
		(*budget)--;
		job_walk_stand(w, TAILQ_PREV(job, job_list, entry));
		more = fn(job, arg);
		job = w->next;
		job_walk_leave(w);
		if (!more)
			break;
	}
	return true;
}

/* A list's walk: the view of each job that matches, up to its limit. */
static bool
job_walk_render(struct job *job, void *arg)
{
	struct job_walk		*w = arg;
	struct job_listing	*f = &w->found;
	struct job_listed	*v;

	if ((w->before != 0 && job->reg.id >= w->before) ||
	    !job_matches(job, w->state, w->queue, w->only))
		return true;
	if (f->n == w->cap) {
		w->cap = w->cap != 0 ? 2 * w->cap : 16;
		f->views = xreallocarray(f->views, w->cap, sizeof(*v));
	}
	v = &f->views[f->n++];
	v->id = job->reg.id;
	v->off = w->tb.len;
	job_render(job, NULL, &w->tb);
	v->len = w->tb.len - v->off;
	return f->n < w->limit;
}

bool
job_walk_step(struct job_walk *w, size_t *budget, struct job_listing *out)
{
	struct job_listing	*f = &w->found;
	size_t			 len;

	if (w->limit > 0 && !job_walk_each(w, budget, job_walk_render, w))
		return false;
	f->text = textbuf_steal(&w->tb, &len);
	*out = *f;
	memset(f, 0, sizeof(*f));
	return true;
}

void
job_walk_free(struct job_walk *w)
{
	if (w == NULL)
		return;
	job_walk_leave(w);
	free(w->tb.p);
	job_listing_free(&w->found);
	free(w);
}

/* All at once: for a bounded use (the dashboard's running jobs). */
void
job_collect(int state, const char *queue, const struct principal *only,
    uint64_t before, size_t limit, struct job_listing *out)
{
	struct job_walk	*w = job_walk_new(state, queue, only, before, limit);
	size_t		 all = SIZE_MAX;

	(void)job_walk_step(w, &all, out);
	job_walk_free(w);
}

void
job_listing_free(struct job_listing *l)
{
	free(l->text);
	free(l->views);
	memset(l, 0, sizeof(*l));
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
	return job->spec->timeout;
}

const struct job_type *
job_type_of(const struct job *job)
{
	return job->spec->type;
}

const void *
job_parsed(const struct job *job)
{
	return job->spec->parsed;
}

int
job_priority(const struct job *job)
{
	return job->spec->priority;
}

int64_t
job_started_ns(const struct job *job)
{
	return job->started_ns;
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
