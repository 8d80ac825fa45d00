/*
 * Job counters.  A shard's counters are written by its loop alone (relaxed
 * atomics, no lock on the hot path); a new name is added under the shard's
 * lock, which a reader holds while it walks the shard.  Names are kept, not
 * queue pointers: an unused queue goes away, its counts stay.  Beside each
 * queue's counts, a histogram of its jobs' waits; beside each type's, one of
 * their runs.
 *
 * Persisted (counters_persist): a pair entry a loop changes goes on its
 * shard's dirty list once, and counters_record() writes the list's entries
 * as they are now.  Only pairs are written: a queue's and a type's counts
 * are the sums of their pairs'.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/counters.h"
#include "core/job.h"
#include "core/job_private.h"
#include "core/jobrecord.h"
#include "core/loomd.h"
#include "runtime/hashmap.h"
#include "runtime/util.h"

struct counter_entry {
	struct hashmap_entry	 entry;
	struct counter_entry	*dirty_next;	/* pairs: changed since written */
	bool			 dirty;
	atomic_uint_fast64_t	 n[COUNT_N];
	struct histo		 histo;		/* waits by queue, runs by type */
	char			 name[];
};

struct shard_counters {
	pthread_mutex_t		 lock;		/* adds, and readers */
	struct hashmap		 by[COUNTERS_BY_N];	/* enum counters_by */
	/* The last entry found in each map: most jobs of a loop share a
	 * queue and a type, and a compare costs less than a hash. */
	struct counter_entry	*last[COUNTERS_BY_N];
	struct counter_entry	*dirty;		/* the loop's own */
};

static atomic_bool	counters_kept;

static const char *const counter_names[COUNT_N] = {
	[COUNT_SUBMITTED] = "submitted",
	[COUNT_DONE] = "done",
	[COUNT_FAILED] = "failed",
	[COUNT_CANCELLED] = "cancelled",
	[COUNT_TIMED_OUT] = "timed_out",
	[COUNT_RETRIED] = "retried",
};

const char *
counter_name(enum counter c)
{
	return counter_names[c];
}

static const char *
counter_key(const struct hashmap_entry *e)
{
	return hashmap_item(e, struct counter_entry, entry)->name;
}

struct shard_counters *
shard_counters_new(void)
{
	struct shard_counters	*sc = xcalloc(1, sizeof(*sc));

	pthread_mutex_init(&sc->lock, NULL);
	hashmap_init(&sc->by[COUNTERS_BY_QUEUE], counter_key);
	hashmap_init(&sc->by[COUNTERS_BY_TYPE], counter_key);
	hashmap_init(&sc->by[COUNTERS_BY_PAIR], counter_key);
	return sc;
}

void
shard_counters_free(struct shard_counters *sc)
{
	struct hashmap_iter	 it;
	struct hashmap_entry	*e;
	int			 i;

	if (sc == NULL)
		return;
	for (i = 0; i < COUNTERS_BY_N; i++) {
		for (e = hashmap_first(&sc->by[i], &it); e != NULL; e = hashmap_next(&it))
			free(hashmap_item(e, struct counter_entry, entry));
		hashmap_free(&sc->by[i]);
	}
	pthread_mutex_destroy(&sc->lock);
	free(sc);
}

/* On the shard's loop: found without a lock, added under it. */
static struct counter_entry *
counter_get(struct shard_counters *sc, enum counters_by by, const char *name)
{
	struct hashmap_entry	*e;
	struct counter_entry	*ce;
	size_t			 len;

	if (sc->last[by] != NULL && strcmp(sc->last[by]->name, name) == 0)
		return sc->last[by];
	if ((e = hashmap_find(&sc->by[by], name)) != NULL)
		return sc->last[by] = hashmap_item(e, struct counter_entry, entry);
	len = strlen(name);
	ce = xcalloc(1, sizeof(*ce) + len + 1);
	memcpy(ce->name, name, len);
	pthread_mutex_lock(&sc->lock);
	hashmap_add(&sc->by[by], &ce->entry, ce->name);
	pthread_mutex_unlock(&sc->lock);
	return sc->last[by] = ce;
}

/* The queue and type pair's entry: the last one compared in place, a key
 * built only to look further. */
static struct counter_entry *
counter_get_pair(struct shard_counters *sc, const char *queue, const char *type)
{
	struct counter_entry	*last = sc->last[COUNTERS_BY_PAIR];
	char			 key[2 * LOOM_NAME_MAX + 2];
	size_t			 qlen = strlen(queue);

	if (last != NULL && strncmp(last->name, queue, qlen) == 0 &&
	    last->name[qlen] == COUNTERS_SEP &&
	    strcmp(last->name + qlen + 1, type) == 0)
		return last;
	snprintf(key, sizeof(key), "%s%c%s", queue, COUNTERS_SEP, type);
	return counter_get(sc, COUNTERS_BY_PAIR, key);
}

/* In the shard of the loop that publishes the event (the one whose batch
 * has its record). */
static void
counter_add_in(struct shard_counters *sc, const struct job *job,
    enum counter c)
{
	struct counter_entry	*pair;

	pair = counter_get_pair(sc, job_queue(job), job_type_name(job));
	atomic_fetch_add_explicit(&pair->n[c], 1, memory_order_relaxed);
	if (!pair->dirty &&
	    atomic_load_explicit(&counters_kept, memory_order_relaxed)) {
		pair->dirty = true;
		pair->dirty_next = sc->dirty;
		sc->dirty = pair;
	}
	atomic_fetch_add_explicit(&counter_get(sc, COUNTERS_BY_QUEUE,
	    job_queue(job))->n[c], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&counter_get(sc, COUNTERS_BY_TYPE,
	    job_type_name(job))->n[c], 1, memory_order_relaxed);
}

static void
counter_add(const struct job *job, enum counter c)
{
	counter_add_in(shard_of(job_loop(job))->counters, job, c);
}

/*
 * Submitted: counted where the job's SUBMIT record is written, the
 * submitting loop, so that the count is durable with the job; if it was
 * submitted off the loops (no record), by its owner when it begins.
 */
static void
counter_submitted(enum job_event ev, const struct job *job)
{
	struct shard	*here;

	if (ev == JOB_EVENT_SUBMIT) {
		if ((here = shard_current()) == NULL)
			return;
		((struct job *)job)->submit_counted = true;
		counter_add_in(here->counters, job, COUNT_SUBMITTED);
	} else if (!job->submit_counted)
		counter_add(job, COUNT_SUBMITTED);
}

/* Starting: how long it waited queued.  Finished: how long it ran. */
static void
counter_time(const struct job *job, enum counters_by by)
{
	struct shard_counters	*sc = shard_of(job_loop(job))->counters;
	struct job_times	 t;
	int64_t			 ns;

	job_times(job, &t);
	if (by == COUNTERS_BY_QUEUE) {
		if (t.queued_ns <= 0 || t.started_ns <= 0)
			return;
		ns = t.started_ns - t.queued_ns;
	} else {
		if (t.started_ns <= 0 || t.finished_ns <= 0)
			return;
		ns = t.finished_ns - t.started_ns;
	}
	histo_observe(&counter_get(sc, by, by == COUNTERS_BY_QUEUE ?
	    job_queue(job) : job_type_name(job))->histo, ns);
}

static void
counters_notify(enum job_event ev, const struct job *job,
    const struct job_outcome *outcome)
{
	switch (ev) {
	case JOB_EVENT_SUBMIT:
	case JOB_EVENT_BEGIN:
		counter_submitted(ev, job);
		break;
	case JOB_EVENT_STATE:
		/* Pending again after an attempt: a retry. */
		if (job_state(job) == JOB_PENDING && job_attempt(job) > 0)
			counter_add(job, COUNT_RETRIED);
		else if (job_state(job) == JOB_RUNNING)
			counter_time(job, COUNTERS_BY_QUEUE);
		break;
	case JOB_EVENT_FINISH:
		counter_time(job, COUNTERS_BY_TYPE);
		switch (outcome->state) {
		case JOB_DONE:
			counter_add(job, COUNT_DONE);
			break;
		case JOB_FAILED:
			counter_add(job, COUNT_FAILED);
			break;
		case JOB_CANCELLED:
			counter_add(job, COUNT_CANCELLED);
			break;
		case JOB_TIMED_OUT:
			counter_add(job, COUNT_TIMED_OUT);
			break;
		default:
			break;
		}
		break;
	case JOB_EVENT_EXPIRE:
		break;
	}
}

static const struct job_observer counters_observer = {
	.name = "counters",
	.wants = NULL,
	.notify = counters_notify,
};

void
counters_init(void)
{
	job_observe(&counters_observer);
}

void
counters_persist(bool on)
{
	atomic_store(&counters_kept, on);
}

static void
counters_record_entry(struct counter_entry *ce, struct record_buf *rb)
{
	uint64_t	 n[COUNT_N];
	const char	*sep = strchr(ce->name, COUNTERS_SEP);
	int		 c;

	if (sep == NULL)
		return;
	for (c = 0; c < COUNT_N; c++)
		n[c] = atomic_load_explicit(&ce->n[c], memory_order_relaxed);
	counts_record_add(ce->name, (size_t)(sep - ce->name), sep + 1,
	    strlen(sep + 1), n, COUNT_N, rb);
}

bool
counters_record(struct shard_counters *sc, uint64_t boot, unsigned int loop,
    bool all, struct record_buf *rb)
{
	struct hashmap_iter	 it;
	struct hashmap_entry	*e;
	struct counter_entry	*ce;

	if (!all && sc->dirty == NULL)
		return false;
	counts_record_begin(boot, loop, rb);
	if (all) {
		for (e = hashmap_first(&sc->by[COUNTERS_BY_PAIR], &it); e != NULL;
		    e = hashmap_next(&it))
			counters_record_entry(hashmap_item(e, struct counter_entry,
			    entry), rb);
	}
	while ((ce = sc->dirty) != NULL) {
		sc->dirty = ce->dirty_next;
		ce->dirty = false;
		ce->dirty_next = NULL;
		if (!all)
			counters_record_entry(ce, rb);
	}
	counts_record_end(rb);
	return true;
}

void
counters_restore(struct shard_counters *sc, const char *queue,
    const char *type, const uint64_t n[COUNT_N])
{
	struct counter_entry	*ce[3];
	int			 i, c;

	ce[0] = counter_get_pair(sc, queue, type);
	ce[1] = counter_get(sc, COUNTERS_BY_QUEUE, queue);
	ce[2] = counter_get(sc, COUNTERS_BY_TYPE, type);
	for (i = 0; i < 3; i++)
		for (c = 0; c < COUNT_N; c++)
			atomic_fetch_add_explicit(&ce[i]->n[c], n[c],
			    memory_order_relaxed);
}

/* A name's sums, while they are gathered. */
struct counter_sum {
	struct hashmap_entry	 entry;
	uint64_t		 n[COUNT_N];
	struct histo_sum	 histo;
	const char		*name;		/* the first shard's entry's */
};

static const char *
counter_sum_key(const struct hashmap_entry *e)
{
	return hashmap_item(e, struct counter_sum, entry)->name;
}

static void
counters_walk(enum counters_by by,
    void (*fn)(const char *, const uint64_t[COUNT_N], void *),
    void (*hfn)(const char *, const struct histo_sum *, void *), void *arg)
{
	struct hashmap		 sums = HASHMAP_INITIALIZER(counter_sum_key);
	struct hashmap_iter	 it;
	struct hashmap_entry	*e, *found;
	struct counter_entry	*ce;
	struct counter_sum	*s;
	struct shard_counters	*sc;
	unsigned int		 l;
	int			 c;

	/* Entries are never removed while the daemon runs: names stay good. */
	for (l = 0; l < loomd.nloops; l++) {
		sc = loomd.shards[l]->counters;
		pthread_mutex_lock(&sc->lock);
		for (e = hashmap_first(&sc->by[by], &it); e != NULL; e = hashmap_next(&it)) {
			ce = hashmap_item(e, struct counter_entry, entry);
			if ((found = hashmap_find(&sums, ce->name)) != NULL)
				s = hashmap_item(found, struct counter_sum, entry);
			else {
				s = xcalloc(1, sizeof(*s));
				s->name = ce->name;
				hashmap_add(&sums, &s->entry, s->name);
			}
			for (c = 0; c < COUNT_N; c++)
				s->n[c] += atomic_load_explicit(&ce->n[c],
				    memory_order_relaxed);
			if (hfn != NULL)
				histo_add_to(&ce->histo, &s->histo);
		}
		pthread_mutex_unlock(&sc->lock);
	}
	for (e = hashmap_first(&sums, &it); e != NULL; e = hashmap_next(&it)) {
		s = hashmap_item(e, struct counter_sum, entry);
		if (fn != NULL)
			fn(s->name, s->n, arg);
		else
			hfn(s->name, &s->histo, arg);
		free(s);
	}
	hashmap_free(&sums);
}

void
counters_each(enum counters_by by,
    void (*fn)(const char *, const uint64_t[COUNT_N], void *), void *arg)
{
	counters_walk(by, fn, NULL, arg);
}

void
counters_each_histo(enum counters_by by,
    void (*fn)(const char *, const struct histo_sum *, void *), void *arg)
{
	counters_walk(by, NULL, fn, arg);
}
