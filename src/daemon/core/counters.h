/*
 * Cumulative counters of jobs, per queue and per type, that never go down
 * while the daemon runs: an observer of the job-state seam.  Each loop
 * counts the jobs it owns in its own shard; a reader sums the loops.
 */
#ifndef LOOM_COUNTERS_H
#define LOOM_COUNTERS_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/histogram.h"

enum counter {
	COUNT_SUBMITTED,
	COUNT_DONE,
	COUNT_FAILED,
	COUNT_CANCELLED,
	COUNT_TIMED_OUT,
	COUNT_RETRIED,
};
#define COUNT_N		(COUNT_RETRIED + 1)

const char	*counter_name(enum counter);

struct loop;
struct record_buf;
struct shard_counters;

/* Subscribe to the seam (at start, before the loops run). */
void		 counters_init(void);
/* Each shard's part, made and freed with it. */
struct shard_counters *shard_counters_new(void);
void		 shard_counters_free(struct shard_counters *);

/*
 * Kept across restarts by a store (the journal), if it says so before the
 * loops run.  Each loop notes the pairs it changed; the store writes them as
 * a record of its own counters, absolute, into the batch that has the job
 * records that changed them (every pair if `all`: a snapshot, the base of
 * a boot).  False if there was nothing to write.  On the shard's loop, or
 * once it has stopped.
 */
void		 counters_persist(bool);
bool		 counters_record(struct shard_counters *, uint64_t boot,
		     unsigned int loop, bool all, struct record_buf *);
/* Replayed counts added to a shard's, before its loop counts any. */
void		 counters_restore(struct shard_counters *, const char *queue,
		     const char *type, const uint64_t n[COUNT_N]);

/* Sums over every loop, one call per queue (or type) ever counted. */
enum counters_by {
	COUNTERS_BY_QUEUE,
	COUNTERS_BY_TYPE,
	COUNTERS_BY_PAIR,	/* "QUEUE" COUNTERS_SEP "TYPE", for the metrics */
};
#define COUNTERS_BY_N	(COUNTERS_BY_PAIR + 1)
#define COUNTERS_SEP	'\x1f'	/* in no queue's or type's name */
void		 counters_each(enum counters_by,
		     void (*fn)(const char *name, const uint64_t n[COUNT_N], void *),
		     void *arg);
/*
 * The same walk with each name's histogram: per queue, the jobs' waits
 * (queued to running); per type, their runs (started to finished).
 */
void		 counters_each_histo(enum counters_by,
		     void (*fn)(const char *name, const struct histo_sum *, void *),
		     void *arg);

#endif
