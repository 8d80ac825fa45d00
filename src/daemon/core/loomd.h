/*
 * The daemon's shared state: the loops and what each one owns (its shard),
 * the executor and the configuration.  Set up by the service layer before
 * any loop runs and torn down after they have all stopped; in between,
 * read-only except for the atomics (the configuration is one).
 */
#ifndef LOOM_LOOMD_H
#define LOOM_LOOMD_H

#include <sys/queue.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/jobstate.h"
#include "runtime/textbuf.h"

struct config;
struct executor;
struct job;
struct stop_walk;
struct loop;
struct net_shard;
struct shard_counters;
struct journal_shard;

TAILQ_HEAD(job_list, job);

/* What a loop's answers wait for: the store's batches (core/durable.c). */
struct durable_wait;
struct durable {
	uint64_t		 marked;	/* the last batch with records */
	uint64_t		 reached;	/* durable up to this batch */
	struct durable_wait	*ring;		/* in batch order: a FIFO */
	size_t			 cap;		/* a power of two, or 0 */
	size_t			 first;
	size_t			 len;
};

/*
 * What one loop owns, all of it reachable from here: only that loop's thread
 * touches it, except the counters, which it alone writes and `stats` reads
 * from anywhere.  A cache line of its own: every job changes state four
 * times, and counters shared by the loops would bounce between their cores.
 */
struct shard {
	struct loop		*loop;
	unsigned int		 index;
	struct job_list		 jobs;		/* the jobs it owns, by id */
	struct job		*dumping;	/* a snapshot's next job; or NULL */
	struct net_shard	*net;		/* the network layer's part */
	struct shard_counters	*counters;	/* core/counters.c */
	struct journal_shard	*journal;	/* io/journal.c; NULL: off */
	struct textbuf		 render;	/* where outcomes' views are written */
	struct durable		 durable;	/* what waits for the store */
	struct stop_walk	*stop;		/* the drain's walk; or NULL */

	atomic_ulong		 stop_looked;	/* jobs that walk has looked at */

	atomic_long		 states[JOB_NSTATES];	/* its jobs by state */
	atomic_ulong		 njobs;		/* live jobs it owns */
	atomic_ulong		 handoffs;	/* jobs it handed to another */
} __attribute__((aligned(64)));

struct shard	*shard_new(struct loop *);
void		 shard_free(struct shard *);	/* after its loop has stopped */

struct loomd {
	/* Replaced whole by a reload, which frees the old one once every
	 * loop has run a call posted after the swap: read it afresh in each
	 * callback and keep no pointer into it past that (copy what a job
	 * needs). */
	const struct config	*_Atomic config;
	struct loop		**loops;
	struct shard		**shards;	/* one per loop, same index */
	unsigned int		 nloops;
	struct executor		*executor;
	double			 started_at;	/* epoch */
	uint64_t		 boot;		/* starts on this state_dir, this one too */
	atomic_bool		 draining;	/* no new work */
};

extern struct loomd	loomd;

/* The shard of a loop, or of the loop this thread runs (NULL off the loops). */
struct shard	*shard_of(const struct loop *);
struct shard	*shard_current(void);

#endif
