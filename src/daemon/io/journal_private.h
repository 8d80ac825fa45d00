/*
 * Inside the journal (io/journal.c, journal_compact.c, journal_recover.c):
 * the one journal, its thread's state, and what the files share.
 */
#ifndef LOOM_JOURNAL_PRIVATE_H
#define LOOM_JOURNAL_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "io/journal_file.h"
#include "runtime/hashmap.h"

struct iovec;
struct job_record;
struct journal_batch;
struct journal_snapshot;

struct journal {
	bool			 on;
	int			 sync;		/* enum journal_sync */
	double			 interval;	/* batch: seconds between syncs */
	struct journal_file	*jf;

	pthread_mutex_t		 lock;		/* the queue, the stats, stop */
	pthread_cond_t		 cond;
	struct journal_batch	*head;		/* waiting for the thread */
	struct journal_batch	**tail;
	bool			 stop;
	bool			 waiting;	/* the thread is on J.cond */
	struct journal_file_stats stats;	/* as of the last write, */
	uint64_t		 sync_ns[JOURNAL_SYNC_SAMPLES];	/* with the
						 * fdatasync times: a ring, by
						 * stats.syncs, sorted only
						 * when asked */

	/* The thread's own. */
	pthread_t		 thread;
	bool			 running;
	struct journal_batch	*pending;	/* not written yet (full) */
	struct iovec		*iov;		/* scratch for a write */
	size_t			 iov_cap;
	bool			 dirty;		/* written, not synced */
	uint64_t		 synced_ns;
	struct journal_snapshot	*snap;		/* a compaction under way */
	uint64_t		 snap_gen;	/* counts the snapshots begun */
	unsigned int		 ready_left;	/* loops yet to say they are ready */
	unsigned int		 parts_left;	/* loops yet to send theirs */
	bool			 snap_complete;	/* every part is in */

	atomic_bool		 full;		/* submits refused */
	atomic_bool		 quiet;		/* the end of a drain: record nothing */
	uint64_t		 recovered_jobs;
	double			 recovered_seconds;
};
extern struct journal	J;

/* journal.c */
void	journal_queue(struct journal_batch *);
void	journal_flush_open(struct journal_shard *);	/* on its loop */
int	journal_start_thread(char *err, size_t errlen);

/* journal_compact.c, on the thread */
void	journal_compact_maybe(bool force);
/* The loops' parts of a snapshot out of the list, into the snapshot. */
void	journal_snapshot_parts(struct journal_batch **list);
/* Every part is in: it waits for the batches written with the last. */
bool	journal_snapshot_complete(void);
/* Then, after those are written and synced: it replaces the segments. */
void	journal_snapshot_install(void);
void	journal_snapshot_abort_any(void);

/* journal_counts.c: the job counters' records, at start */
struct journal_counts {
	uint64_t		 boot;		/* the newest boot with a record */
	struct hashmap		 map;		/* its loops' counters */
};
void	journal_counts_init(struct journal_counts *);
int	journal_counts_record(struct journal_counts *, struct job_record *);
void	journal_counts_restore(struct journal_counts *);
void	journal_counts_free(struct journal_counts *);
int	journal_counts_base(char *err, size_t errlen);

#endif
