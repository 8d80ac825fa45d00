/*
 * What waits for durability, per loop: a FIFO of (batch, fn, arg), in the
 * order of the batches, since a loop's marks only count up.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "core/durable.h"
#include "core/loomd.h"
#include "runtime/util.h"

struct durable_wait {
	struct durable_wait	*next;
	uint64_t		 batch;
	void			(*fn)(void *);
	void			*arg;
};

uint64_t
durable_mark(void)
{
	struct shard	*sh = shard_current();

	return sh != NULL ? sh->durable.marked : 0;
}

bool
durable_done(uint64_t mark)
{
	struct shard	*sh = shard_current();

	return sh == NULL || mark <= sh->durable.reached;
}

void
durable_then(void (*fn)(void *), void *arg)
{
	struct shard		*sh = shard_current();
	struct durable_wait	*w;

	if (sh == NULL || sh->durable.marked <= sh->durable.reached) {
		fn(arg);
		return;
	}
	w = xmalloc(sizeof(*w));
	w->next = NULL;
	w->batch = sh->durable.marked;
	w->fn = fn;
	w->arg = arg;
	if (sh->durable.tail != NULL)
		sh->durable.tail->next = w;
	else
		sh->durable.head = w;
	sh->durable.tail = w;
}

void
durable_marked(struct shard *sh, uint64_t n)
{
	sh->durable.marked = n;
}

static void
durable_run(struct durable *d, uint64_t upto)
{
	struct durable_wait	*w;

	/* fn may wait again: it goes to the tail, behind a later batch. */
	while ((w = d->head) != NULL && w->batch <= upto) {
		if ((d->head = w->next) == NULL)
			d->tail = NULL;
		w->fn(w->arg);
		free(w);
	}
}

void
durable_reached(struct shard *sh, uint64_t n)
{
	if (n <= sh->durable.reached)
		return;
	sh->durable.reached = n;
	durable_run(&sh->durable, n);
}

void
durable_release_all(struct shard *sh)
{
	durable_run(&sh->durable, UINT64_MAX);
}
