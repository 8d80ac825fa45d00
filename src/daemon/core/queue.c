/*
 * Queues (asyncio's PriorityQueue, as a service): see queue.h for who owns
 * what.  The queues are a map by name under one mutex.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/loomd.h"
#include "core/notes.h"
#include "core/queue.h"
#include "runtime/hashmap.h"
#include "runtime/loop.h"
#include "runtime/util.h"
#include "runtime/waiter.h"

struct queue {
	struct hashmap_entry	 entry;		/* queues */
	char			*name;
	unsigned int		 refs;		/* under queues_lock */
	bool			 configured;	/* under queues_lock */
	atomic_uint		 concurrency;	/* 0: unlimited; a reload may change it */
	atomic_size_t		 max_pending;	/* 0: unlimited; a reload may change it */
	struct loop		*home;		/* when limited at creation; never changes */
	atomic_bool		 paused;
	atomic_long		 waiting;	/* submitted, not yet running */
	atomic_long		 running;
	atomic_long		 queued;	/* of the waiting, those queued */
	/* Per loop, each touched only by its loop (only home's when limited). */
	struct waitq		*ready;
	unsigned int		 slots;		/* home only: jobs admitted */
};

static const char	*queue_key(const struct hashmap_entry *);

static pthread_mutex_t	queues_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap	queues = HASHMAP_INITIALIZER(queue_key);
static unsigned int	queues_nloops;
static unsigned int	queues_next_home;

static const char *
queue_key(const struct hashmap_entry *e)
{
	return hashmap_item(e, struct queue, entry)->name;
}

static struct queue *
queue_find(const char *name)
{
	struct hashmap_entry	*e = hashmap_find(&queues, name);

	return e != NULL ? hashmap_item(e, struct queue, entry) : NULL;
}

/* Under queues_lock. */
static struct queue *
queue_create(const char *name, const struct config_queue *cq)
{
	struct queue	*q = xcalloc(1, sizeof(*q));
	unsigned int	 i;

	q->name = xstrdup(name);
	q->ready = xcalloc(queues_nloops, sizeof(*q->ready));
	for (i = 0; i < queues_nloops; i++)
		waitq_init(&q->ready[i], "queue_admit");
	if (cq != NULL) {
		q->configured = true;
		q->concurrency = cq->concurrency;
		q->max_pending = cq->max_pending;
	}
	if (q->concurrency > 0)
		q->home = loomd.loops[queues_next_home++ % queues_nloops];
	hashmap_add(&queues, &q->entry, q->name);
	return q;
}

static void
queue_free(struct queue *q)
{
	unsigned int	i;

	for (i = 0; i < queues_nloops; i++)
		waitq_free(&q->ready[i]);
	free(q->ready);
	free(q->name);
	free(q);
}

void
queue_init(const struct config *cfg, unsigned int nloops)
{
	size_t	i;

	queues_nloops = nloops;
	pthread_mutex_lock(&queues_lock);
	for (i = 0; i < cfg->nqueues; i++)
		queue_create(cfg->queues[i].name, &cfg->queues[i]);
	pthread_mutex_unlock(&queues_lock);
}

void
queue_shutdown(void)
{
	struct hashmap_iter	 it;
	struct hashmap_entry	*e;

	for (e = hashmap_first(&queues, &it); e != NULL; e = hashmap_next(&it))
		queue_free(hashmap_item(e, struct queue, entry));
	hashmap_free(&queues);
}

struct queue *
queue_get(const char *name)
{
	struct queue	*q;

	pthread_mutex_lock(&queues_lock);
	if ((q = queue_find(name)) == NULL)
		q = queue_create(name, NULL);	/* unconfigured: unlimited */
	q->refs++;
	pthread_mutex_unlock(&queues_lock);
	return q;
}

/* An unconfigured queue nobody uses (and nobody paused) goes away. */
void
queue_put(struct queue *q)
{
	pthread_mutex_lock(&queues_lock);
	if (--q->refs > 0 || q->configured || atomic_load(&q->paused)) {
		pthread_mutex_unlock(&queues_lock);
		return;
	}
	hashmap_remove(&queues, &q->entry);
	pthread_mutex_unlock(&queues_lock);
	queue_free(q);
}

const char *
queue_name(const struct queue *q)
{
	return q->name;
}

struct loop *
queue_home(const struct queue *q)
{
	return q->home;
}

/* max_pending: count n more waiting jobs, or busy.  No check without e. */
int
queue_reserve(struct queue *q, size_t n, struct error *e)
{
	long	cur = atomic_load(&q->waiting);
	size_t	max = atomic_load_explicit(&q->max_pending, memory_order_relaxed);

	do {
		if (e != NULL && max != 0 && (size_t)cur + n > max) {
			error_set(e, "busy", "queue %s has %ld jobs waiting (max_pending "
			    "is %zu); retry later", q->name, cur, max);
			return -1;
		}
	} while (!atomic_compare_exchange_weak(&q->waiting, &cur, cur + (long)n));
	return 0;
}

void
queue_unreserve(struct queue *q, size_t n)
{
	atomic_fetch_sub(&q->waiting, (long)n);
}

void
queue_running(struct queue *q, int delta)
{
	atomic_fetch_add(&q->running, delta);
}

void
queue_queued(struct queue *q, int delta)
{
	atomic_fetch_add_explicit(&q->queued, delta, memory_order_relaxed);
}

/* Admission --------------------------------------------------------------- */

static bool
queue_has_slot(const struct queue *q)
{
	unsigned int	max = atomic_load_explicit(&q->concurrency,
			    memory_order_relaxed);

	return !atomic_load(&q->paused) && (max == 0 || q->slots < max);
}

/* Slots are counted on the home loop: a spread queue's jobs are not. */
static void
queue_take_slot(struct queue *q)
{
	if (q->home != NULL)
		q->slots++;
}

bool
queue_enter(struct queue *q, int64_t key, uint64_t seq, waiter_fn fn, void *arg,
    struct waiter **wait)
{
	struct loop	*loop = loop_current();
	struct waitq	*ready = &q->ready[loop_index(loop)];

	/* Nobody jumps the jobs already waiting: they go in priority order. */
	if (waitq_len(ready) == 0 && queue_has_slot(q)) {
		queue_take_slot(q);
		return true;
	}
	*wait = waitq_add(ready, loop, fn, arg, key, seq);
	return false;
}

/* Admit parked jobs while the queue lets them: each holds its slot from now. */
static void
queue_admit(struct queue *q)
{
	struct loop	*loop = loop_current();
	struct waitq	*ready;

	/* Off the loops, once they have stopped (the jobs' last cleanup). */
	if (loop == NULL)
		return;
	ready = &q->ready[loop_index(loop)];
	while (waitq_len(ready) > 0 && queue_has_slot(q)) {
		queue_take_slot(q);
		if (!waitq_grant(ready) && q->home != NULL)
			q->slots--;
	}
}

void
queue_leave(struct queue *q)
{
	if (q->home != NULL)
		q->slots--;
	queue_admit(q);
}

void
queue_withdraw(struct queue *q, struct waiter *w)
{
	if (waiter_withdraw(w) == WAITER_GRANTED)
		queue_leave(q);		/* the admission that was on its way */
}

static void
queue_kick(void *arg)
{
	struct queue	*q = arg;

	queue_admit(q);
	queue_put(q);
}

/* Post queue_kick to a loop, holding a reference for it. */
static void
queue_kick_on(struct queue *q, struct loop *loop)
{
	pthread_mutex_lock(&queues_lock);
	q->refs++;
	pthread_mutex_unlock(&queues_lock);
	if (loop_post(loop, queue_kick, q) == -1)
		queue_put(q);
}

static void
queue_info_of(const struct queue *q, struct queue_info *qi)
{
	qi->name = q->name;
	qi->waiting = atomic_load(&q->waiting);
	qi->running = atomic_load(&q->running);
	qi->queued = atomic_load_explicit(&q->queued, memory_order_relaxed);
	qi->concurrency = atomic_load(&q->concurrency);
	qi->max_pending = atomic_load(&q->max_pending);
	qi->paused = atomic_load(&q->paused);
}

void
queue_set_paused(const char *name, bool paused, struct queue_info *qi)
{
	struct queue	*q = queue_get(name);
	unsigned int	 i;

	/* Under the queues' lock: pauses and resumes are told in their order. */
	pthread_mutex_lock(&queues_lock);
	if (atomic_load(&q->paused) != paused)
		note(NOTE_QUEUE, name, paused);
	atomic_store(&q->paused, paused);
	pthread_mutex_unlock(&queues_lock);
	/* Resumed: each loop with parked jobs starts them (the home alone if limited). */
	for (i = 0; !paused && i < queues_nloops; i++) {
		if (q->home == NULL || q->home == loomd.loops[i])
			queue_kick_on(q, loomd.loops[i]);
	}
	queue_info_of(q, qi);
	qi->name = NULL;	/* the queue may go with queue_put() */
	queue_put(q);
}

void
queue_each(void (*fn)(const struct queue_info *, void *), void *arg)
{
	struct hashmap_iter	 it;
	struct hashmap_entry	*e;
	struct queue_info	 qi;

	pthread_mutex_lock(&queues_lock);
	for (e = hashmap_first(&queues, &it); e != NULL; e = hashmap_next(&it)) {
		queue_info_of(hashmap_item(e, struct queue, entry), &qi);
		fn(&qi, arg);
	}
	pthread_mutex_unlock(&queues_lock);
}

/* Reloads --------------------------------------------------------------- */

int
queue_configure(const struct config_queue *cq)
{
	struct queue	*q;

	pthread_mutex_lock(&queues_lock);
	if ((q = queue_find(cq->name)) == NULL) {
		queue_create(cq->name, cq);
		pthread_mutex_unlock(&queues_lock);
		return 1;
	}
	q->configured = true;
	atomic_store(&q->max_pending, cq->max_pending);
	if (cq->concurrency == atomic_load(&q->concurrency)) {
		pthread_mutex_unlock(&queues_lock);
		return 0;
	}
	if (q->home == NULL) {
		pthread_mutex_unlock(&queues_lock);
		return -1;
	}
	atomic_store(&q->concurrency, cq->concurrency);
	pthread_mutex_unlock(&queues_lock);
	/* Its home starts what the new concurrency lets through. */
	queue_kick_on(q, q->home);
	return 0;
}
