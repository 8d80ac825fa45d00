/*
 * The executor: asyncio's run_in_executor.  A fixed pool of worker threads
 * (signals blocked) takes work items from one bounded queue, made of lanes
 * served round-robin.  Work functions
 * never touch a loop, a connection or a job: only their argument.
 *
 * executor_submit() returns a future owned by the submitting loop and
 * completed there.  Cancelling it removes a queued item (it never runs) or sets
 * the running item's flag, which long work polls with executor_cancelled();
 * once set, the item ends cancelled whatever the function returns.
 */
#ifndef LOOM_EXECUTOR_H
#define LOOM_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "runtime/util.h"

struct executor;
struct future;

/* Returns a result, or NULL with *error set. */
typedef json_t *(*executor_fn)(void *arg, struct error *error);

enum executor_shutdown {
	EXECUTOR_DRAIN,		/* run every queued item, then stop */
	EXECUTOR_CANCEL,	/* fail queued items, flag running ones, then stop */
};

struct executor_stats {
	unsigned int	threads;
	size_t		queued;
	size_t		running;
	size_t		max_queue;
	unsigned long	completed;
	unsigned long	rejected;
};

struct executor	*executor_new(unsigned int threads, size_t max_queue);
struct future	*executor_submit(struct executor *, executor_fn, void *arg);
/* In a lane: lanes are served round-robin, each FIFO (a job's queue and
 * owner, so that one queue's or one owner's flood cannot starve another's
 * work). */
struct future	*executor_submit_lane(struct executor *, const char *lane,
		     executor_fn, void *arg);
bool		 executor_cancelled(void);	/* in a work function */
void		 executor_shutdown(struct executor *, enum executor_shutdown);
void		 executor_free(struct executor *);
void		 executor_get_stats(struct executor *, struct executor_stats *);

#endif
