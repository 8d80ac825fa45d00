/*
 * Named queues: concurrency, max_pending, pause, and priority order.
 *
 * A queue with a concurrency limit has a home loop that owns all its jobs,
 * its parked jobs and its slots.  A queue without one spreads its jobs over
 * the loops; pausing it parks jobs on their own loop.  A parked job waits
 * in its loop's waitq and is admitted by a post to that loop
 * (runtime/waiter.h), in priority order, then first come first served.
 */
#ifndef LOOM_QUEUE_H
#define LOOM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "runtime/util.h"
#include "runtime/waiter.h"

struct config;
struct loop;
struct queue;

void		 queue_init(const struct config *, unsigned int nloops);
void		 queue_shutdown(void);

/*
 * Reloads, from the main thread.  queue_configure() makes a new queue, or
 * gives an existing one its new max_pending and concurrency (1: made, 0:
 * changed or the same).  A queue made without a concurrency limit has its
 * jobs spread over the loops and cannot get one without a restart: -1, and
 * only max_pending changed.
 */
struct config_queue;
int		 queue_configure(const struct config_queue *);

/* Any loop. */
struct queue	*queue_get(const char *name);		/* a new reference */
void		 queue_put(struct queue *);
const char	*queue_name(const struct queue *);
struct loop	*queue_home(const struct queue *);	/* NULL: jobs spread */
int		 queue_reserve(struct queue *, size_t n, struct error *);
void		 queue_unreserve(struct queue *, size_t n);
/* What a queue looks like now (for pause, resume and stats). */
struct queue_info {
	const char	*name;
	long		 waiting;	/* submitted, not yet running */
	long		 running;
	long		 queued;	/* of the waiting, those queued (metrics) */
	unsigned int	 concurrency;	/* 0: unlimited */
	size_t		 max_pending;	/* 0: unlimited */
	bool		 paused;
};
void		 queue_set_paused(const char *name, bool paused, struct queue_info *);
/* Each queue in turn, under the queues' lock: fn must not call back. */
void		 queue_each(void (*fn)(const struct queue_info *, void *), void *arg);

/*
 * On the job's loop.  queue_enter(): true if the job may start now.  Else
 * *wait is parked, in (key, seq) order, and fn(arg) runs on this loop once
 * the queue admits it; until then queue_withdraw() takes it out, and an
 * admission already on its way comes back.  An admitted job holds its place
 * until queue_leave().
 */
bool		 queue_enter(struct queue *, int64_t key, uint64_t seq, waiter_fn,
		     void *arg, struct waiter **wait);
void		 queue_leave(struct queue *);
void		 queue_withdraw(struct queue *, struct waiter *);
void		 queue_running(struct queue *, int delta);
void		 queue_queued(struct queue *, int delta);	/* job_count_state */

#endif
