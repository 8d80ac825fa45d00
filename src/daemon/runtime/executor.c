/*
 * Executor thread pool.  One mutex guards the lanes and the item states;
 * workers sleep on a condition variable.  Results travel back to the
 * submitting loop with loop_post(), so futures are completed by their owner.
 *
 * Fairness: items wait in lanes, one per key the submitter gives (a job's
 * queue and owner), FIFO within a lane; a ring of the lanes that have items
 * is served round-robin, one item per turn.  A flood in one lane delays another
 * lane's item by at most one item per lane ahead of it, not by the flood.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/executor.h"
#include "runtime/future.h"
#include "runtime/hashmap.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

enum item_cancel {
	CANCEL_NONE,
	CANCEL_REQUESTED,
	CANCEL_SHUTDOWN,
};

enum item_state {
	ITEM_QUEUED,
	ITEM_RUNNING,
	ITEM_FINISHED,
};

/*
 * An item has two references: the work path (queue, worker, delivery to the
 * loop), which also holds the future, and the future's cancel hook, which
 * lives as long as the future.  Whichever ends last frees the item.
 */
struct executor_item {
	TAILQ_ENTRY(executor_item) entry;
	atomic_uint		 refs;
	struct executor		*executor;
	struct executor_lane	*lane;		/* while queued */
	executor_fn		 fn;
	void			*arg;
	struct future		*future;
	struct loop		*loop;		/* where the future completes */
	enum item_state		 state;		/* guarded by executor->lock */
	atomic_int		 cancelled;	/* enum item_cancel */
	json_t			*result;
	struct error		 error;
};
TAILQ_HEAD(executor_queue, executor_item);

/* Items of one key, in the ring while it has any; freed when empty. */
struct executor_lane {
	struct hashmap_entry	 hentry;
	TAILQ_ENTRY(executor_lane) ring;
	struct executor_queue	 items;
	char			 key[];
};
TAILQ_HEAD(executor_ring, executor_lane);

struct executor {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct hashmap		 lanes;		/* by key */
	struct executor_ring	 ring;		/* lanes with items, next first */
	struct executor_queue	 active;	/* running items */
	size_t			 queued;
	size_t			 running;
	size_t			 max_queue;
	bool			 stopping;
	unsigned long		 completed;
	unsigned long		 rejected;
	unsigned int		 nthreads;
	pthread_t		*threads;
};

static __thread struct executor_item	*executor_self;

static const char *
lane_key(const struct hashmap_entry *e)
{
	return hashmap_item(e, struct executor_lane, hentry)->key;
}

/* Under the lock: queue an item in its key's lane. */
static void
lane_push(struct executor *ex, struct executor_item *item, const char *key)
{
	struct hashmap_entry	*e = hashmap_find(&ex->lanes, key);
	struct executor_lane	*lane;
	size_t			 len = strlen(key);

	if (e != NULL)
		lane = hashmap_item(e, struct executor_lane, hentry);
	else {
		lane = xmalloc(sizeof(*lane) + len + 1);
		memcpy(lane->key, key, len + 1);
		TAILQ_INIT(&lane->items);
		hashmap_add(&ex->lanes, &lane->hentry, lane->key);
		TAILQ_INSERT_TAIL(&ex->ring, lane, ring);
	}
	TAILQ_INSERT_TAIL(&lane->items, item, entry);
	item->lane = lane;
}

/* Under the lock: take an item out of its lane (the lane goes when empty). */
static void
lane_remove(struct executor *ex, struct executor_item *item)
{
	struct executor_lane	*lane = item->lane;

	TAILQ_REMOVE(&lane->items, item, entry);
	item->lane = NULL;
	if (TAILQ_EMPTY(&lane->items)) {
		TAILQ_REMOVE(&ex->ring, lane, ring);
		hashmap_remove(&ex->lanes, &lane->hentry);
		free(lane);
	}
}

/* Under the lock: the next item, round-robin over the lanes. */
static struct executor_item *
lane_pop(struct executor *ex)
{
	struct executor_lane	*lane = TAILQ_FIRST(&ex->ring);
	struct executor_item	*item;

	if (lane == NULL)
		return NULL;
	item = TAILQ_FIRST(&lane->items);
	/* This lane's turn is over: to the back of the ring. */
	if (TAILQ_NEXT(item, entry) != NULL) {
		TAILQ_REMOVE(&ex->ring, lane, ring);
		TAILQ_INSERT_TAIL(&ex->ring, lane, ring);
	}
	lane_remove(ex, item);
	return item;
}

static void
item_unref(void *arg)
{
	struct executor_item	*item = arg;

	if (atomic_fetch_sub(&item->refs, 1) != 1)
		return;
	json_decref(item->result);
	error_clear(&item->error);
	free(item);
}

/* The work path is over: let go of the future and of our reference. */
static void
item_done(struct executor_item *item)
{
	future_unref(item->future);
	item_unref(item);
}

/* On the submitting loop (or the worker, for an unowned future). */
static void
item_complete(void *arg)
{
	struct executor_item	*item = arg;

	switch (atomic_load(&item->cancelled)) {
	case CANCEL_REQUESTED:
		future_set_cancelled(item->future, "cancelled while running");
		break;
	case CANCEL_SHUTDOWN:
		future_fail(item->future, "shutting_down", "the executor stopped");
		break;
	default:
		if (item->result != NULL) {
			future_set_result(item->future, item->result);
			item->result = NULL;
		} else
			future_set_error(item->future, &item->error);
		break;
	}
	item_done(item);
}

static void
item_deliver(struct executor_item *item)
{
	if (item->loop == NULL) {
		item_complete(item);
		return;
	}
	/* A loop that has stopped fails the future itself. */
	if (loop_post(item->loop, item_complete, item) == -1)
		item_done(item);
}

static void *
executor_main(void *arg)
{
	struct executor		*ex = arg;
	struct executor_item	*item;

	for (;;) {
		pthread_mutex_lock(&ex->lock);
		while (TAILQ_EMPTY(&ex->ring) && !ex->stopping)
			pthread_cond_wait(&ex->cond, &ex->lock);
		if ((item = lane_pop(ex)) == NULL) {
			pthread_mutex_unlock(&ex->lock);
			break;
		}
		TAILQ_INSERT_TAIL(&ex->active, item, entry);
		ex->queued--;
		ex->running++;
		item->state = ITEM_RUNNING;
		pthread_mutex_unlock(&ex->lock);

		executor_self = item;
		item->result = item->fn(item->arg, &item->error);
		executor_self = NULL;
		if (item->result == NULL && item->error.code == NULL)
			error_set(&item->error, "internal", "work function failed");

		pthread_mutex_lock(&ex->lock);
		TAILQ_REMOVE(&ex->active, item, entry);
		item->state = ITEM_FINISHED;
		ex->running--;
		ex->completed++;
		pthread_mutex_unlock(&ex->lock);
		item_deliver(item);
	}
	return NULL;
}

struct executor *
executor_new(unsigned int nthreads, size_t max_queue)
{
	struct executor	*ex = xcalloc(1, sizeof(*ex));
	unsigned int	 i;
	int		 error;

	pthread_mutex_init(&ex->lock, NULL);
	pthread_cond_init(&ex->cond, NULL);
	hashmap_init(&ex->lanes, lane_key);
	TAILQ_INIT(&ex->ring);
	TAILQ_INIT(&ex->active);
	ex->max_queue = max_queue;
	ex->nthreads = nthreads;
	ex->threads = xcalloc(nthreads, sizeof(*ex->threads));

	for (i = 0; i < nthreads; i++) {
		if ((error = thread_create_quiet(&ex->threads[i], executor_main, ex)) != 0) {
			errno = error;
			fatal("executor thread");
		}
	}
	return ex;
}

/* The cancel hook: on the owner loop, or on the caller for an unowned future. */
static void
item_cancel(struct future *f, void *arg, const char *reason)
{
	struct executor_item	*item = arg;
	struct executor		*ex = item->executor;
	bool			 dequeued = false;

	pthread_mutex_lock(&ex->lock);
	switch (item->state) {
	case ITEM_QUEUED:
		lane_remove(ex, item);
		ex->queued--;
		item->state = ITEM_FINISHED;
		dequeued = true;
		break;
	case ITEM_RUNNING:
		atomic_store(&item->cancelled, CANCEL_REQUESTED);
		break;
	case ITEM_FINISHED:
		/* Its result is on the way to the loop. */
		break;
	}
	pthread_mutex_unlock(&ex->lock);

	if (dequeued) {
		future_set_cancelled(f, reason);
		item_done(item);
	}
}

struct future *
executor_submit(struct executor *ex, executor_fn fn, void *arg)
{
	return executor_submit_lane(ex, "", fn, arg);
}

struct future *
executor_submit_lane(struct executor *ex, const char *lane, executor_fn fn,
    void *arg)
{
	struct executor_item	*item;
	struct loop		*loop = loop_current();
	struct future		*f = future_new(loop);

	pthread_mutex_lock(&ex->lock);
	if (ex->stopping || ex->queued >= ex->max_queue) {
		bool	stopping = ex->stopping;

		ex->rejected++;
		pthread_mutex_unlock(&ex->lock);
		if (stopping)
			future_fail(f, "shutting_down", "the executor is stopping");
		else
			future_fail(f, "busy", "executor queue is full (%zu items)",
			    ex->max_queue);
		return f;
	}
	item = xcalloc(1, sizeof(*item));
	item->executor = ex;
	item->fn = fn;
	item->arg = arg;
	item->future = f;
	item->loop = loop;
	item->state = ITEM_QUEUED;
	atomic_init(&item->refs, 2);
	future_ref(f);
	future_set_cancel_hook(f, item_cancel, item_unref, item);
	lane_push(ex, item, lane);
	ex->queued++;
	pthread_cond_signal(&ex->cond);
	pthread_mutex_unlock(&ex->lock);
	return f;
}

bool
executor_cancelled(void)
{
	return executor_self != NULL && atomic_load_explicit(&executor_self->cancelled,
	    memory_order_relaxed) != CANCEL_NONE;
}

/*
 * Stop taking work and join the threads.  EXECUTOR_DRAIN runs what is queued;
 * EXECUTOR_CANCEL fails queued items with shutting_down without running them
 * and flags running ones as cancelled.  Either way, every future completes.
 */
void
executor_shutdown(struct executor *ex, enum executor_shutdown how)
{
	struct executor_queue	 dropped = TAILQ_HEAD_INITIALIZER(dropped);
	struct executor_item	*item;
	unsigned int		 i, n;

	pthread_mutex_lock(&ex->lock);
	ex->stopping = true;
	if (how == EXECUTOR_CANCEL) {
		while ((item = lane_pop(ex)) != NULL)
			TAILQ_INSERT_TAIL(&dropped, item, entry);
		ex->queued = 0;
		TAILQ_FOREACH(item, &dropped, entry)
			item->state = ITEM_FINISHED;
		/* Long work polls its flag and ends early. */
		TAILQ_FOREACH(item, &ex->active, entry)
			atomic_store(&item->cancelled, CANCEL_SHUTDOWN);
	}
	pthread_cond_broadcast(&ex->cond);
	pthread_mutex_unlock(&ex->lock);

	while ((item = TAILQ_FIRST(&dropped)) != NULL) {
		TAILQ_REMOVE(&dropped, item, entry);
		error_set(&item->error, "shutting_down", "the executor stopped");
		item_deliver(item);
	}

	pthread_mutex_lock(&ex->lock);
	n = ex->nthreads;
	ex->nthreads = 0;
	pthread_mutex_unlock(&ex->lock);
	for (i = 0; i < n; i++)
		pthread_join(ex->threads[i], NULL);
}

/*
 * After shutdown and after every loop that submitted to it has stopped: a
 * pending future's cancel hook still refers to the executor.
 */
void
executor_free(struct executor *ex)
{
	if (ex == NULL)
		return;
	executor_shutdown(ex, EXECUTOR_CANCEL);
	hashmap_free(&ex->lanes);
	pthread_mutex_destroy(&ex->lock);
	pthread_cond_destroy(&ex->cond);
	free(ex->threads);
	free(ex);
}

void
executor_get_stats(struct executor *ex, struct executor_stats *st)
{
	pthread_mutex_lock(&ex->lock);
	st->threads = ex->nthreads;
	st->queued = ex->queued;
	st->running = ex->running;
	st->max_queue = ex->max_queue;
	st->completed = ex->completed;
	st->rejected = ex->rejected;
	pthread_mutex_unlock(&ex->lock);
}
