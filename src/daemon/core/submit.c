/*
 * Making jobs from specs and handing each to its owner loop.  This runs on
 * the submitting connection's loop (or, for a composite's children, on the
 * parent's); once job_submit() has registered a job, it belongs to the
 * owner loop alone.
 */
#include "autoconf.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/durable.h"
#include "core/job.h"
#include "core/job_private.h"
#include "core/jobrecord.h"
#include "core/loomd.h"
#include "core/queue.h"
#include "core/registry.h"
#include "runtime/future.h"
#include "runtime/jsonload.h"
#include "runtime/loop.h"
#include "runtime/util.h"

/*
 * The default queue, held for good from its first use: most jobs are in it,
 * and they borrow it instead of each taking a reference (which costs the
 * queues' global lock twice a job).
 */
static _Atomic(struct queue *)	job_default_queue;

struct queue *
job_queue_get(const char *name)
{
	struct queue	*q, *none = NULL;

	if (strcmp(name, "default") != 0)
		return queue_get(name);
	if ((q = atomic_load_explicit(&job_default_queue, memory_order_acquire)) != NULL)
		return q;
	q = queue_get(name);
	if (!atomic_compare_exchange_strong(&job_default_queue, &none, q)) {
		queue_put(q);
		q = none;
	}
	return q;
}

void
job_queue_put(struct queue *q)
{
	if (q != atomic_load_explicit(&job_default_queue, memory_order_relaxed))
		queue_put(q);
}

/* After the loops have stopped (job_shutdown). */
void
job_queue_release(void)
{
	struct queue	*q = atomic_exchange(&job_default_queue, NULL);

	if (q != NULL)
		queue_put(q);
}

/* The spec's queue if it names one (borrowed: the job holds the spec), else
 * the parent's or the default (a reference of the job's own). */
static void
job_init(struct job *job, const struct job_spec *s, struct queue *parent_queue)
{
	job->spec = s;
	job->refs = 1;
	if (s->queue != NULL)
		job->queue = s->queue;
	else
		job->queue = job_queue_get(parent_queue != NULL ?
		    queue_name(parent_queue) : "default");
	job->state = s->delay > 0 || s->nafter > 0 ? JOB_PENDING : JOB_QUEUED;
	job->created_ns = now_epoch_ns();
}

/* A submitted job and its spec in one allocation: the hot path. */
struct job_with_spec {
	struct job	job;
	struct job_spec	spec;
};

/* The job, its spec, and (text_len > 0) the spec's text in one allocation. */
static struct job *
job_parse_with(const json_t *json, const char *base, const char *text,
    size_t text_len, struct error *e)
{
	struct job_with_spec	*js;

	if (!job_record_keeps_specs())
		text = NULL;	/* no store: nothing keeps it */
	js = xcalloc(1, sizeof(*js) + (text != NULL ? text_len + 1 : 0));
	job_spec_init(&js->spec);
	js->spec.embedded = true;
	if (job_spec_fill(&js->spec, json, base, text != NULL, e) == -1) {
		job_spec_clear(&js->spec);
		free(js);
		return NULL;
	}
	if (text != NULL) {
		js->spec.text = (char *)(js + 1);
		js->spec.text_len = text_len;
		js->spec.text_inline = true;
		memcpy(js->spec.text, text, text_len);
		js->spec.held += text_len;
		job_hold(text_len);
	}
	job_init(&js->job, &js->spec, NULL);
	return &js->job;
}

struct job *
job_parse(const json_t *json, const char *base, struct error *e)
{
	return job_parse_with(json, base, NULL, 0, e);
}

struct job *
job_parse_as(const json_t *json, const char *base, const char *text,
    size_t len, struct error *e)
{
	return job_parse_with(json, base, text, len, e);
}

/* A replay's: the record's text is the spec's, not written again. */
struct job *
job_parse_text(const char *text, size_t len, struct error *e)
{
	json_error_t	 jerr;
	json_t		*json;
	struct job	*job;

	if ((json = json_load_line(text, len, 0, &jerr)) == NULL) {
		error_set(e, "bad_json", "its spec does not parse: %s", jerr.text);
		return NULL;
	}
	job = job_parse_with(json, "job", text, len, e);
	json_decref(json);
	return job;
}

void
job_discard(struct job *job)
{
	const struct job_spec	*s;

	if (job == NULL)
		return;
	s = job->spec;
	if (s->queue == NULL)
		job_queue_put(job->queue);
	if (job->listener != NULL)
		job->listener->release(job->listener_arg);
	free(job->children);
	error_clear(&job->error);
	error_clear(&job->last_error);
	json_decref(job->progress);
	if (s->embedded) {
		/* Its own spec, shared with nobody. */
		job_spec_clear((struct job_spec *)s);
		free(job);
		return;
	}
	free(job);
	job_spec_unref(s);
}

bool
job_has_delay(const struct job *job)
{
	return job->state == JOB_PENDING;
}

size_t
job_after(const struct job *job, const uint64_t **ids)
{
	*ids = job->spec->after;
	return job->spec->nafter;
}

void
job_set_principal(struct job *job, struct principal *p)
{
	job->reg.principal = p;
}

bool
job_uses_executor(const struct job *job)
{
	return job->spec->type->runs == JOB_RUNS_EXECUTOR;
}

size_t
job_count(struct job *const *jobs, size_t n)
{
	size_t	total = 0, i;

	for (i = 0; i < n; i++)
		total += job_spec_tree_size(jobs[i]->spec);
	return total;
}

int
job_reserve(struct job *const *jobs, size_t n, struct error *e)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (queue_reserve(jobs[i]->queue, 1, e) == -1) {
			while (i-- > 0) {
				queue_unreserve(jobs[i]->queue, 1);
				jobs[i]->counted = false;
			}
			return -1;
		}
		jobs[i]->counted = true;
	}
	return 0;
}

void
job_listen(struct job *job, const struct job_listener *l, void *arg)
{
	job->listener = l;
	job->listener_arg = arg;
}

void
job_tell_child(struct job *job, size_t index, const struct job_outcome *o)
{
	if (job->listener != NULL)
		job->listener->child(job->listener_arg, index, o);
}

/*
 * A limited queue's jobs live on its home loop.  Others stay here unless
 * this loop has clearly more live jobs than the least loaded one.
 */
struct shard *
job_place(const struct job *job)
{
	struct shard	*here = shard_current(), *best = loomd.shards[0];
	struct loop	*home;
	unsigned long	 mine, least = (unsigned long)-1, n;
	unsigned int	 i;

	if ((home = queue_home(job->queue)) != NULL)
		return shard_of(home);
	if ((home = job->spec->type->home) != NULL)
		return shard_of(home);
	for (i = 0; i < loomd.nloops; i++) {
		n = atomic_load_explicit(&loomd.shards[i]->njobs, memory_order_relaxed);
		if (n < least) {
			least = n;
			best = loomd.shards[i];
		}
	}
	if (here == NULL)
		return best;
	mine = atomic_load_explicit(&here->njobs, memory_order_relaxed);
	if (mine <= 2 * least + 64)
		return here;
	return best;
}

/*
 * The key is held by a live job: that one answers, this one goes.  A holder
 * that the key table knows but the id registry does not is between the two
 * steps of its own job_submit() on another loop (claimed, not registered
 * yet) or of its expiry (key released first, id removed after): claim again
 * until the answer is consistent, either a registered holder or the key.
 */
static bool
job_key_taken(struct job *job, uint64_t id, uint64_t *idp, struct future **fp)
{
	struct loop	*held_owner;
	struct future	*held;
	uint64_t	 holder;

	if (job->spec->key == NULL)
		return false;
	for (;;) {
		if ((holder = registry_key_claim(job->reg.principal,
		    job->spec->key, id)) == 0)
			return false;
		if (registry_lookup(holder, &held_owner, &held))
			break;
		sched_yield();
	}
	if (job->counted)
		queue_unreserve(job->queue, 1);
	job_discard(job);
	*idp = holder;
	*fp = held;
	return true;
}

static void
job_begin_posted(void *arg)
{
	struct job	*job = arg;

	job_begin(job);
	job_unref(job);
}

static void
job_hand_over(void *arg)
{
	struct job	*job = arg;
	struct shard	*owner = shard_of(job->reg.owner);

	if (loop_post(owner->loop, job_begin_posted, job) == 0)
		return;
	/* The owner stopped: its sweep failed the future already. */
	job->refs--;
	/* The key first, as job_expire() does (see job_key_taken). */
	if (job->spec->key != NULL)
		registry_key_release(job->reg.principal, job->spec->key,
		    job->reg.id);
	registry_remove(&job->reg);
	if (job->counted)
		queue_unreserve(job->queue, 1);
	atomic_fetch_sub_explicit(&owner->njobs, 1, memory_order_relaxed);
	job_unref(job);
}

void
job_submit(struct job *job, uint64_t *idp, struct future **fp)
{
	struct shard	*owner = job_place(job), *here = shard_current();
	uint64_t	 id = registry_next_id();

	if (job_key_taken(job, id, idp, fp))
		return;
	job->reg.id = id;
	job->reg.job = job;
	job->reg.owner = owner->loop;
	job->reg.future = future_new(owner->loop);
	future_set_cancel_hook(job->reg.future, job_cancel_hook, NULL, job);
	future_ref(job->reg.future);
	*idp = id;
	*fp = job->reg.future;
	/*
	 * Before anyone can find it in the registry: its record, and the
	 * reference of the post to its owner (a cancel can reach the owner
	 * first, and with a ttl of 0 the job would be gone before job_begin).
	 */
	job_publish(JOB_EVENT_SUBMIT, job, NULL);
	if (here != owner)
		job->refs++;
	atomic_fetch_add_explicit(&owner->njobs, 1, memory_order_relaxed);
	registry_insert(&job->reg);
	/* From here on the job is the owner's. */
	if (here == owner) {
		job_begin(job);
		return;
	}
	if (here != NULL)
		atomic_fetch_add_explicit(&here->handoffs, 1, memory_order_relaxed);
	/* The owner's records must not reach the journal before the one of
	 * its submission: it gets the job once that is durable. */
	durable_then(job_hand_over, job);
}

bool
job_child_restored(struct job *parent, size_t index, uint64_t *idp,
    struct future **fp)
{
	struct loop	*owner;

	if (!parent->restored || index >= parent->nchildren ||
	    parent->children[index] == 0 ||
	    !registry_lookup(parent->children[index], &owner, fp))
		return false;
	*idp = parent->children[index];
	return true;
}

void
job_submit_child(struct job *parent, size_t index, const struct job_spec *s,
    uint64_t *idp, struct future **fp)
{
	struct job	*child = xcalloc(1, sizeof(*child));

	atomic_fetch_add(&((struct job_spec *)s)->refs, 1);
	job_init(child, s, parent->queue);
	child->reg.principal = parent->reg.principal;
	child->parent = parent->reg.id;
	child->index = (uint32_t)index;
	queue_reserve(child->queue, 1, NULL);
	child->counted = true;
	job_submit(child, idp, fp);
	parent->children = xreallocarray(parent->children, parent->nchildren + 1,
	    sizeof(*parent->children));
	parent->children[parent->nchildren++] = *idp;
}
