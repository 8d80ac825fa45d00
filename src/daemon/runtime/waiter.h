/*
 * Waiting for something that any thread may hand over: a limit's or a
 * lock's slot, a host's slot, a queue's slot, an event.  A waiter belongs to
 * one loop and waits in a waitq, in key order and then in seq order (FIFO
 * when seq counts up).  A grant always reaches the waiter through a post to
 * its loop, never inline, even from that loop: a run of waiters whose jobs
 * finish at once would otherwise recurse.  (A grant made on the waiter's
 * loop while another grant runs there is run right after that one, in the
 * same pass: still on its loop, still not inline; see waiter.c.)
 *
 * Locking is the waitq owner's: every function here is called with the lock
 * that guards the waitq held, or on the one loop that owns a waitq no other
 * thread touches.  Withdrawals are made on the waiter's loop (or once that
 * loop has stopped).
 *
 * A waiter's fate is decided under that lock, and it is freed exactly once:
 *  - granted: fn(arg) runs on its loop, and the waiter is gone before it does;
 *  - withdrawn while waiting: gone at once (WAITER_WAITING);
 *  - withdrawn while its grant is on the way (posted, not yet run): the
 *    withdrawal wins.  fn never runs, and the caller of waiter_withdraw(),
 *    told WAITER_GRANTED, gives back what was granted; the posted run only
 *    frees the waiter;
 *  - granted to a loop that has stopped (the post fails): the grant goes on
 *    to the next waiter, or the granter keeps it; the waiter is lost, and its
 *    owner's withdrawal frees it (WAITER_LOST).
 */
#ifndef LOOM_WAITER_H
#define LOOM_WAITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/heap.h"

struct loop;
struct waiter;

typedef void (*waiter_fn)(void *arg);

struct waitq {
	struct heap	 heap;
	uint64_t	 last;		/* seq of the last waitq_add_last() */
	const char	*name;		/* the grant's, for slow-callback warnings */
};

enum waiter_outcome {
	WAITER_WAITING,		/* it was still waiting */
	WAITER_GRANTED,		/* its grant was on the way: give back what it was */
	WAITER_LOST,		/* its grant could not be posted: nothing to give */
};

/* name: a static string naming the grant (a loop_post name). */
void		 waitq_init(struct waitq *, const char *name);
void		 waitq_free(struct waitq *);	/* once empty */

static inline size_t
waitq_len(const struct waitq *q)
{
	return heap_len(&q->heap);
}

/* A new waiter on `loop`, queued: fn(arg) runs there when it is granted. */
struct waiter	*waitq_add(struct waitq *, struct loop *, waiter_fn, void *arg,
		     int64_t key, uint64_t seq);
struct waiter	*waitq_add_last(struct waitq *, struct loop *, waiter_fn, void *arg);

/*
 * Grant the first waiter.  False if there was nobody whose loop took the
 * post: the caller still has what it meant to hand over.
 */
bool		 waitq_grant(struct waitq *);
/* Grant every waiter; how many were taken off (lost ones included). */
size_t		 waitq_grant_all(struct waitq *);
/* Take every waiter off without a grant, as lost (shutdown). */
size_t		 waitq_drop_all(struct waitq *);

/* On the waiter's loop: it no longer waits, and is gone afterwards. */
enum waiter_outcome waiter_withdraw(struct waiter *);
/* The waitq it waits in or was granted from; only while that still exists. */
struct waitq	*waiter_queue(const struct waiter *);

#endif
