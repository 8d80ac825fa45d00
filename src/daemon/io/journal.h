/*
 * The journal: loomd's store (the 1.1 durability contract).  An observer of
 * the job-state seam turns each change into a record in its loop's batch;
 * at the end of the loop's callbacks the batch goes to one journal thread,
 * which writes every batch waiting with one writev and, for
 * journal_sync=always, one fdatasync (group commit), then tells each loop
 * how far its batches are durable (core/durable.h): what answers a client
 * waits for that.  Replay at start makes the jobs again (core/restore.h);
 * compaction writes the live jobs as a snapshot and drops the segments it
 * covers.  The files are io/journal_file.c's.
 */
#ifndef LOOM_JOURNAL_H
#define LOOM_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct journal_shard;
struct shard;

/* Before the loops start: subscribe, and have specs keep their text. */
void		 journal_init(const struct config *);
/* Each shard's part, made with it (the loop not yet running). */
struct journal_shard *journal_shard_new(struct shard *);
void		 journal_shard_free(struct journal_shard *);

/*
 * With the loops running and no client yet: open state_dir/journal, replay
 * it into jobs, and start the journal thread.  progress() (may be NULL) is
 * called about once a second while that takes long.  -1 and a message in
 * err if the journal cannot be used (a damaged record, a newer format...).
 */
int		 journal_open(const struct config *, void (*progress)(void),
		     char *err, size_t errlen);
/*
 * The end of a drain: the jobs still there are about to be failed with
 * shutting_down, which the journal does not keep; they come back after
 * the restart as they were.  Nothing is recorded from here on.
 */
void		 journal_quiesce(void);
/* After the loops have stopped: write and sync what is left, close. */
void		 journal_close(void);

/* The journal cannot take records (disk full, journal_max_bytes): submits
 * are answered `unavailable`. */
bool		 journal_refusing(void);

struct journal_stats {
	bool		 on;
	const char	*sync;		/* always, batch, off */
	uint64_t	 bytes;
	uint64_t	 segments;
	uint64_t	 records;	/* written since start */
	int64_t		 last_compaction_ns;	/* 0: none */
	uint64_t	 sync_p50_ns;
	uint64_t	 sync_p99_ns;
	uint64_t	 recovered_jobs;
	double		 recovered_seconds;
};
void		 journal_get_stats(struct journal_stats *);

#endif
