/*
 * Waiters: see waiter.h for the contract.
 *
 * Everything but the posted run happens under the waitq owner's lock, so
 * the state below needs no atomics: a grant sets POSTED before its post
 * (the post orders it before the run), and the run and a withdrawal both
 * happen on the waiter's loop, one after the other.
 *
 * A grant made while a granted waiter runs, to a waiter of the same loop,
 * is chained behind that run instead of posted: when a finishing job hands
 * its slot to the next, and that one to the next, each hand-over would
 * otherwise cost a pass of the loop (its eventfd and epoll calls).  The
 * chain is run by the posted run that started it, after its function has
 * returned: never inline, never recursively, and never lost, since that
 * run is already under way.  After WAITER_CHAIN_MAX runs in a row grants
 * are posted again, so that the loop's I/O is not held up.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"
#include "runtime/waiter.h"

#define WAITER_CHAIN_MAX	1024

enum waiter_state {
	WAITER_QUEUED,		/* in its waitq */
	WAITER_POSTED,		/* its grant is on the way */
	WAITER_WITHDRAWN,	/* posted, then withdrawn: the run only frees it */
	WAITER_ABANDONED,	/* the post failed: the withdrawal frees it */
};

struct waiter {
	struct heap_node	 node;		/* in q's heap while queued */
	struct waitq		*q;
	struct loop		*loop;		/* immutable, as are fn and arg */
	waiter_fn		 fn;
	void			*arg;
	enum waiter_state	 state;
	struct waiter		*chained;	/* next in its loop's chain */
};

/* The loop thread's chain of grants, while one of its grants runs. */
static __thread bool		 chain_running;
static __thread unsigned int	 chain_len;
static __thread struct waiter	*chain_head, *chain_tail;

void
waitq_init(struct waitq *q, const char *name)
{
	q->heap = (struct heap){ 0 };
	q->last = 0;
	q->name = name;
}

void
waitq_free(struct waitq *q)
{
	if (heap_len(&q->heap) != 0)
		log_warnx("%s: %zu waiters left", q->name, heap_len(&q->heap));
	heap_free(&q->heap);
}

struct waiter *
waitq_add(struct waitq *q, struct loop *loop, waiter_fn fn, void *arg,
    int64_t key, uint64_t seq)
{
	struct waiter	*w = xmalloc(sizeof(*w));

	w->node.key = key;
	w->node.seq = seq;
	w->node.index = 0;
	w->q = q;
	w->loop = loop;
	w->fn = fn;
	w->arg = arg;
	w->state = WAITER_QUEUED;
	heap_push(&q->heap, &w->node);
	return w;
}

struct waiter *
waitq_add_last(struct waitq *q, struct loop *loop, waiter_fn fn, void *arg)
{
	return waitq_add(q, loop, fn, arg, 0, ++q->last);
}

static void
waiter_run_one(struct waiter *w)
{
	waiter_fn	 fn = w->fn;
	void		*fnarg = w->arg;
	bool		 withdrawn = (w->state == WAITER_WITHDRAWN);

	free(w);
	if (!withdrawn)
		fn(fnarg);
}

/* Posted to the waiter's loop; runs the grants chained meanwhile too. */
static void
waiter_run(void *arg)
{
	struct waiter	*w = arg;

	chain_running = true;
	chain_len = 0;
	do {
		waiter_run_one(w);
		if ((w = chain_head) != NULL && (chain_head = w->chained) == NULL)
			chain_tail = NULL;
	} while (w != NULL);
	chain_running = false;
}

/* Off the heap already.  After a post that worked w is not ours to touch. */
static bool
waiter_post(struct waitq *q, struct waiter *w)
{
	w->state = WAITER_POSTED;
	if (chain_running && w->loop == loop_current() &&
	    chain_len++ < WAITER_CHAIN_MAX) {
		w->chained = NULL;
		if (chain_tail != NULL)
			chain_tail->chained = w;
		else
			chain_head = w;
		chain_tail = w;
		return true;
	}
	if (loop_post_named(w->loop, waiter_run, w, q->name) == 0)
		return true;
	w->state = WAITER_ABANDONED;
	return false;
}

bool
waitq_grant(struct waitq *q)
{
	struct heap_node	*node;

	while ((node = heap_pop(&q->heap)) != NULL) {
		if (waiter_post(q, heap_item(node, struct waiter, node)))
			return true;
	}
	return false;
}

size_t
waitq_grant_all(struct waitq *q)
{
	struct heap_node	*node;
	size_t			 n = 0;

	while ((node = heap_pop(&q->heap)) != NULL) {
		(void)waiter_post(q, heap_item(node, struct waiter, node));
		n++;
	}
	return n;
}

size_t
waitq_drop_all(struct waitq *q)
{
	struct heap_node	*node;
	size_t			 n = 0;

	while ((node = heap_pop(&q->heap)) != NULL) {
		heap_item(node, struct waiter, node)->state = WAITER_ABANDONED;
		n++;
	}
	return n;
}

enum waiter_outcome
waiter_withdraw(struct waiter *w)
{
	switch (w->state) {
	case WAITER_QUEUED:
		heap_remove(&w->q->heap, &w->node);
		free(w);
		return WAITER_WAITING;
	case WAITER_POSTED:
		w->state = WAITER_WITHDRAWN;	/* waiter_run frees it */
		return WAITER_GRANTED;
	case WAITER_ABANDONED:
		free(w);
		return WAITER_LOST;
	default:
		fatalx("a waiter withdrawn twice");
	}
}

struct waitq *
waiter_queue(const struct waiter *w)
{
	return w->q;
}
