/*
 * Durability as the loops see it.  What a loop publishes for the store (the
 * journal's records) goes to storage in numbered batches, a batch or so a
 * pass; whatever tells a client of it (a reply, a finished job's future, a
 * watch event) waits until the store says the batch is durable.  Without a
 * store everything is durable at once, and nothing here costs anything.
 *
 * Every function runs on a loop, about that loop's shard (struct durable in
 * core/loomd.h).
 */
#ifndef LOOM_DURABLE_H
#define LOOM_DURABLE_H

#include <stdbool.h>
#include <stdint.h>

struct shard;

/* The batch that what is published now must wait for (0: nothing). */
uint64_t	 durable_mark(void);
/* Whether a mark is durable on this loop. */
bool		 durable_done(uint64_t mark);
/* Run fn(arg) on this loop once everything published on it so far is
 * durable: now if it is. */
void		 durable_then(void (*fn)(void *), void *arg);

/* The store: records went into batch n of this shard (n counts up). */
void		 durable_marked(struct shard *, uint64_t n);
/* The store: batches up to n of this shard are durable; runs what waited. */
void		 durable_reached(struct shard *, uint64_t n);
/* At shutdown: what still waits runs (nothing more will be durable). */
void		 durable_release_all(struct shard *);

#endif
