/*
 * What waits for durability, per loop: a FIFO of (batch, fn, arg), in the
 * order of the batches, since a loop's marks only count up.  It is a ring
 * that grows by doubling and is given back once empty and large: no
 * allocation for each answer that waits.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "core/durable.h"
#include "core/loomd.h"
#include "runtime/util.h"

#define DURABLE_RING_KEEP	1024	/* entries kept while empty */

struct durable_wait {
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

/* Room for one more, in order. */
static void
durable_grow(struct durable *d)
{
	struct durable_wait	*ring;
	size_t			 cap = d->cap ? 2 * d->cap : 64, i;

	ring = xreallocarray(NULL, cap, sizeof(*ring));
	for (i = 0; i < d->len; i++)
		ring[i] = d->ring[(d->first + i) & (d->cap - 1)];
	free(d->ring);
	d->ring = ring;
	d->cap = cap;
	d->first = 0;
}

void
durable_then(void (*fn)(void *), void *arg)
{
	struct shard		*sh = shard_current();
	struct durable		*d;
	struct durable_wait	*w;

	if (sh == NULL || sh->durable.marked <= sh->durable.reached) {
		fn(arg);
		return;
	}
	d = &sh->durable;
	if (d->len == d->cap)
		durable_grow(d);
	w = &d->ring[(d->first + d->len++) & (d->cap - 1)];
	w->batch = d->marked;
	w->fn = fn;
	w->arg = arg;
}

void
durable_marked(struct shard *sh, uint64_t n)
{
	sh->durable.marked = n;
}

static void
durable_run(struct durable *d, uint64_t upto)
{
	struct durable_wait	w;

	/* fn may wait again: it goes to the tail, behind a later batch (the
	 * ring may move meanwhile: w is a copy). */
	while (d->len > 0 && d->ring[d->first].batch <= upto) {
		w = d->ring[d->first];
		d->first = (d->first + 1) & (d->cap - 1);
		d->len--;
		w.fn(w.arg);
	}
	if (d->len == 0 && d->cap > DURABLE_RING_KEEP) {
		free(d->ring);
		d->ring = NULL;
		d->cap = d->first = 0;
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
	free(sh->durable.ring);
	sh->durable.ring = NULL;
	sh->durable.cap = sh->durable.first = 0;
}
