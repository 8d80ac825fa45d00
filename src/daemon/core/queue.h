/*
 * Coordination: named queues (concurrency, max_pending, pause, priority
 * order), limits ([limit.NAME] semaphores) and locks (created on use).
 *
 * A queue with a concurrency limit has a home loop that owns all its jobs,
 * its ready heap and its slots.  A queue without one spreads its jobs over
 * the loops; pausing it parks jobs in a ready heap on their own loop.
 * Limits and locks are shared by every loop: a mutex guards each, waiters
 * are kept in priority order and are granted by a post to their loop.
 */
#ifndef LOOM_QUEUE_H
#define LOOM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "runtime/util.h"

/* A place in a priority heap: lower key first, then lower seq (FIFO). */
struct heap_node {
	int64_t		key;
	uint64_t	seq;
	size_t		index;		/* position + 1; 0 when not in a heap */
};

struct config;
struct job;
struct loop;
struct queue;
struct sem;
struct sem_waiter;

void		 queue_init(const struct config *, unsigned int nloops);
void		 queue_shutdown(void);

/*
 * Reloads, from the main thread.  queue_configure() makes a new queue, or
 * gives an existing one its new max_pending and concurrency (1: made, 0:
 * changed or the same).  A queue made without a concurrency limit has its
 * jobs spread over the loops and cannot get one without a restart: -1, and
 * only max_pending changed.  limit_configure() makes a new limit (1) or
 * resizes one (0); raising a limit starts its waiters at once, lowering it
 * lets jobs that hold it finish.
 */
struct config_queue;
struct config_limit;
int		 queue_configure(const struct config_queue *);
int		 limit_configure(const struct config_limit *);

/* Any loop. */
struct queue	*queue_get(const char *name);		/* a new reference */
void		 queue_put(struct queue *);
const char	*queue_name(const struct queue *);
struct loop	*queue_home(const struct queue *);	/* NULL: jobs spread */
int		 queue_reserve(struct queue *, size_t n, struct error *);
void		 queue_unreserve(struct queue *, size_t n);
json_t		*queue_set_paused(const char *name, bool paused);
json_t		*queue_stats(void);

/* The job's owner loop. */
bool		 queue_enter(struct queue *, struct job *);	/* false: parked */
void		 queue_leave(struct queue *, struct job *);
void		 queue_unpark(struct queue *, struct job *);
void		 queue_running(struct queue *, int delta);

struct sem	*limit_find(const char *name);
struct sem	*lock_get(const char *name);		/* a new reference */
void		 lock_put(struct sem *);
const char	*sem_name(const struct sem *);
bool		 sem_is_lock(const struct sem *);
/* True if taken now; else *waiter is queued and job_granted() follows. */
bool		 sem_acquire(struct sem *, struct job *, struct sem_waiter **);
void		 sem_release(struct sem *);
void		 sem_cancel(struct sem_waiter *);
struct job	*sem_waiter_job(struct sem_waiter *);
struct sem	*sem_waiter_sem(struct sem_waiter *);
/* In job_granted(): false if the wait was cancelled (the slot went back). */
bool		 sem_waiter_claim(struct sem_waiter *);

#endif
