/*
 * Job specs: checking what a client submits and handing the job to its
 * owner.  This runs on the submitting connection's loop (or, for children,
 * on the parent's); once job_submit() has registered the job, it belongs to
 * the owner loop alone.
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "net/conn.h"
#include "runtime/fields.h"
#include "runtime/future.h"
#include "core/job.h"
#include "core/job_private.h"
#include "core/loomd.h"
#include "runtime/loop.h"
#include "core/queue.h"
#include "core/registry.h"
#include "core/sem.h"
#include "runtime/util.h"

#define JOB_NAME_MAX	128
#define JOB_KEY_MAX	256
#define JOB_RETRIES_MAX	1000
#define JOB_AFTER_MAX	1000

static const char *const job_spec_fields[] = {
	"type", "args", "name", "queue", "priority", "delay", "timeout",
	"retries", "retry_delay", "ttl", "key", "after", "limits", "lock",
	"shield", NULL
};

/* Composites parse their children through here: this is how deep we are. */
static __thread int	job_parse_depth;

/*
 * The default queue, held for good from its first use: most jobs are in it,
 * and they borrow it instead of each taking a reference (which costs the
 * queues' global lock twice a job).
 */
static _Atomic(struct queue *)	job_default_queue;

static struct queue *
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

static void
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

static int
resource_cmp(const void *a, const void *b)
{
	return strcmp(sem_name(*(struct sem *const *)a), sem_name(*(struct sem *const *)b));
}

/* `limits` and `lock`, in the one order every job acquires them in. */
static int
job_parse_resources(struct job *job, const json_t *spec, const char *base,
    struct error *e)
{
	const json_t	*limits = json_object_get(spec, "limits"), *v;
	const char	*lock = NULL;
	char		 path[256], key[32];
	struct sem	*sem;
	size_t		 i, j;

	if (limits != NULL && !json_is_null(limits)) {
		if (!json_is_array(limits) || json_array_size(limits) > JOB_LIMITS_MAX)
			return fields_fail(e, base, "limits",
			    "must be an array of at most %d limit names", JOB_LIMITS_MAX);
		if (job->resources == NULL && json_array_size(limits) > 0)
			job->resources = xcalloc(JOB_LIMITS_MAX + 1,
			    sizeof(*job->resources));
		json_array_foreach(limits, i, v) {
			snprintf(key, sizeof(key), "limits[%zu]", i);
			if (!json_is_string(v))
				return fields_fail(e, base, key, "must be a string");
			if ((sem = limit_find(json_string_value(v))) == NULL) {
				field_path(path, sizeof(path), base, key);
				return fields_fail(e, base, key, "no limit \"%s\" is "
				    "configured ([limit.NAME] in the config)",
				    json_string_value(v));
			}
			for (j = 0; j < job->nresources; j++) {
				if (job->resources[j] == sem)
					return fields_fail(e, base, key, "\"%s\" is "
					    "listed twice", json_string_value(v));
			}
			job->resources[job->nresources++] = sem;
		}
		qsort(job->resources, job->nresources, sizeof(*job->resources),
		    resource_cmp);
	}
	if (field_name(spec, base, "lock", FIELD_OPTIONAL, &lock, e) == -1)
		return -1;
	if (lock != NULL) {
		/* After every limit: the same global order for everyone. */
		if (job->resources == NULL)
			job->resources = xcalloc(JOB_LIMITS_MAX + 1,
			    sizeof(*job->resources));
		job->resources[job->nresources++] = lock_get(lock);
	}
	return 0;
}

/* `after`: ids of jobs that must finish done first; they must exist now. */
static int
job_parse_after(struct job *job, const json_t *spec, const char *base,
    struct error *e)
{
	const json_t	*after = json_object_get(spec, "after"), *v;
	struct future	*f;
	struct loop	*owner;
	char		 key[32];
	size_t		 i;

	if (after == NULL || json_is_null(after))
		return 0;
	if (!json_is_array(after) || json_array_size(after) > JOB_AFTER_MAX)
		return fields_fail(e, base, "after", "must be an array of at most %d "
		    "job ids", JOB_AFTER_MAX);
	job->after = xcalloc(json_array_size(after), sizeof(*job->after));
	json_array_foreach(after, i, v) {
		snprintf(key, sizeof(key), "after[%zu]", i);
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return fields_fail(e, base, key, "must be a job id");
		if (!registry_lookup((uint64_t)json_integer_value(v), &owner, &f))
			return fields_fail(e, base, key, "no job %lld (it never "
			    "existed, or its result expired)",
			    (long long)json_integer_value(v));
		future_unref(f);
		job->after[job->nafter++] = (uint64_t)json_integer_value(v);
	}
	return 0;
}

struct job *
job_parse_in(const json_t *spec, const char *base, const char *default_queue,
    struct error *e)
{
	const struct config	*cfg = loomd.config;
	struct job		*job;
	const char		*type = NULL, *name = NULL, *queue = default_queue;
	const char		*key = NULL;
	json_int_t		 priority = 0, retries = 0;
	double			 delay = 0, timeout = 0, retry_delay = 1;
	double			 ttl = cfg->result_ttl;
	bool			 shield = false;
	const json_t		*args;
	char			 path[256];

	if (job_parse_depth >= JOB_DEPTH_MAX) {
		fields_fail(e, base, NULL, "jobs nest more than %d deep", JOB_DEPTH_MAX);
		return NULL;
	}
	if (fields_object(spec, base, job_spec_fields, e) == -1 ||
	    field_string(spec, base, "type", FIELD_REQUIRED, 64, &type, e) == -1 ||
	    field_string(spec, base, "name", FIELD_OPTIONAL, JOB_NAME_MAX, &name, e) == -1 ||
	    field_name(spec, base, "queue", FIELD_OPTIONAL, &queue, e) == -1 ||
	    field_integer(spec, base, "priority", FIELD_OPTIONAL, INT32_MIN, INT32_MAX,
	    &priority, e) == -1 ||
	    field_number(spec, base, "delay", FIELD_OPTIONAL, 0, SECONDS_MAX,
	    &delay, e) == -1 ||
	    field_number_above(spec, base, "timeout", FIELD_OPTIONAL, 0,
	    SECONDS_MAX, &timeout, e) == -1 ||
	    field_integer(spec, base, "retries", FIELD_OPTIONAL, 0, JOB_RETRIES_MAX,
	    &retries, e) == -1 ||
	    field_number(spec, base, "retry_delay", FIELD_OPTIONAL, 0, SECONDS_MAX,
	    &retry_delay, e) == -1 ||
	    field_number(spec, base, "ttl", FIELD_OPTIONAL, 0, SECONDS_MAX,
	    &ttl, e) == -1 ||
	    field_string(spec, base, "key", FIELD_OPTIONAL, JOB_KEY_MAX, &key, e) == -1 ||
	    field_bool(spec, base, "shield", FIELD_OPTIONAL, &shield, e) == -1)
		return NULL;
	if (key != NULL && *key == '\0') {
		fields_fail(e, base, "key", "must not be empty");
		return NULL;
	}

	job = xcalloc(1, sizeof(*job));
	job->refs = 1;
	if ((job->type = job_type_find(type)) == NULL) {
		error_set(e, "unknown_type", "%s: no job type \"%s\"",
		    field_path(path, sizeof(path), base, "type"), type);
		error_set_path(e, path);
		goto fail;
	}
	job->queue = job_queue_get(queue);
	if (job_parse_resources(job, spec, base, e) == -1 ||
	    job_parse_after(job, spec, base, e) == -1)
		goto fail;
	args = json_object_get(spec, "args");
	if (args != NULL && json_is_null(args))
		args = NULL;
	field_path(path, sizeof(path), base, "args");
	if (args != NULL && !json_is_object(args)) {
		fields_fail(e, base, "args", "must be an object");
		goto fail;
	}
	job_parse_depth++;
	if (job->type->parse(args, path, cfg, &job->parsed, e) == -1) {
		job_parse_depth--;
		goto fail;
	}
	job_parse_depth--;
	job->name = name != NULL ? xstrdup(name) : NULL;
	job->key = key != NULL ? xstrdup(key) : NULL;
	job->priority = (int)priority;
	job->delay = delay;
	job->timeout = timeout;
	job->retries = (unsigned int)retries;
	job->retry_delay = retry_delay;
	job->ttl = ttl;
	job->shield = shield;
	job->state = delay > 0 || job->nafter > 0 ? JOB_PENDING : JOB_QUEUED;
	job->created_ns = now_epoch_ns();
	return job;
fail:
	job_discard(job);
	return NULL;
}

struct job *
job_parse(const json_t *spec, const char *base, struct error *e)
{
	return job_parse_in(spec, base, "default", e);
}

/* This job and everything a composite will make under it. */
size_t
job_tree_size(const struct job *job)
{
	return 1 + (job->type->descendants != NULL ?
	    job->type->descendants(job->parsed) : 0);
}

void
job_discard(struct job *job)
{
	size_t	i;

	if (job == NULL)
		return;
	if (job->parsed != NULL && job->type->free_parsed != NULL)
		job->type->free_parsed(job->parsed);
	for (i = 0; i < job->nresources; i++) {
		if (sem_is_lock(job->resources[i]))
			lock_put(job->resources[i]);
	}
	if (job->queue != NULL)
		job_queue_put(job->queue);
	if (job->stream != NULL)
		conn_remote_unref(job->stream);
	free(job->resources);
	free(job->name);
	free(job->key);
	free(job->after);
	free(job->children);
	error_clear(&job->error);
	free(job);
}

bool
job_has_delay(const struct job *job)
{
	return job->state == JOB_PENDING;
}

bool
job_uses_executor(const struct job *job)
{
	return job->type->runs == JOB_RUNS_EXECUTOR;
}

size_t
job_count(struct job *const *jobs, size_t n)
{
	size_t	total = 0, i;

	for (i = 0; i < n; i++)
		total += job_tree_size(jobs[i]);
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
job_set_stream(struct job *job, struct conn_remote *stream)
{
	job->stream = stream;
}

/*
 * A limited queue's jobs live on its home loop.  Others stay here unless
 * this loop has clearly more live jobs than the least loaded one.
 */
static struct loop *
job_pick_owner(const struct job *job)
{
	struct loop	*here = loop_current(), *home;
	unsigned long	 mine, least = (unsigned long)-1, n;
	unsigned int	 i, best = 0;

	if ((home = queue_home(job->queue)) != NULL)
		return home;
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
	struct loop	*owner = job_pick_owner(job);
	struct loop	*held_owner;
	struct future	*held;
	uint64_t	 id = registry_next_id(), holder;

	if (job->key != NULL && (holder = registry_key_claim(job->key, id)) != 0 &&
	    registry_lookup(holder, &held_owner, &held)) {
		if (job->counted)
			queue_unreserve(job->queue, 1);
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
		if (job->counted)
			queue_unreserve(job->queue, 1);
		atomic_fetch_sub_explicit(&loomd.counters[loop_index(owner)].jobs, 1,
		    memory_order_relaxed);
		job_unref(job);
	}
}
