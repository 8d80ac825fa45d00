/*
 * The journal's files: segments of records and at most one snapshot in one
 * directory (state_dir/journal), the format and the durability rules
 * described in journal_file.c.  Records are opaque byte strings here; what
 * they mean is the caller's.
 *
 * One thread uses a journal_file (the journal's, and before it the start-up):
 * nothing inside locks.  The order is open, replay, then any number of
 * appends, syncs and snapshots, then close.
 */
#ifndef LOOM_JOURNAL_FILE_H
#define LOOM_JOURNAL_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/histogram.h"

struct iovec;
struct journal_file;
struct journal_snapshot;

#define JOURNAL_FORMAT_VERSION	1
#define JOURNAL_RECORD_MAX	(64u << 20)	/* bytes in one record */
#define JOURNAL_SEGMENT_SIZE	(64u << 20)	/* rotation, by default */
#define JOURNAL_SYNC_SAMPLES	1024		/* fdatasync latencies kept */

enum journal_result {
	JOURNAL_OK = 0,
	/*
	 * No room: the disk is full (ENOSPC, EDQUOT) or max_bytes is reached.
	 * Nothing of this call will replay, everything before it is intact,
	 * and a later call may succeed (after a snapshot, or once space is
	 * freed).  The caller answers `unavailable`.
	 */
	JOURNAL_FULL,
	/*
	 * A write or an fdatasync failed: what reached the disk is unknown.
	 * The caller logs journal_file_error() and exits; every later call
	 * fails the same way (an fsync is never retried).
	 */
	JOURNAL_FATAL,
};

struct journal_file_options {
	uint64_t	segment_size;	/* rotate past this; 0: JOURNAL_SEGMENT_SIZE */
	uint64_t	max_bytes;	/* appends stop here (FULL); 0: no limit */
	bool		zero_ahead;	/* for syncs that follow every append */
};

/*
 * Open DIR (made, mode 0700, if missing) and lock it against a second loomd
 * ("another loomd uses STATE_DIR", STATE_DIR being DIR's parent).  Reads no
 * record yet.  NULL and a message in err on failure.
 */
struct journal_file *journal_file_open(const char *dir,
	    const struct journal_file_options *, char *err, size_t errlen);
/* Close without syncing (sync first for a clean stop); unlocks the directory. */
void	journal_file_close(struct journal_file *);

/*
 * Replay, once, before anything is appended: the snapshot's records, then
 * the segments' after it, in order, each handed to fn (NULL: only check).
 * The payload lives until journal_file_replay_release() (the files stay
 * mapped), so that the caller need not copy it; fn returns 0 to go on, -1
 * to stop the replay with an error.
 *
 * A torn end of the last segment is cut and logged.  A bad record anywhere
 * else fails with the file and the offset, unless `repair`: then it and
 * everything after it are dropped, logged with what was lost.  A journal of
 * a newer format always fails.  0, or -1 and a message in err.
 */
typedef int (*journal_replay_fn)(void *arg, const void *payload, size_t len);

struct journal_replay_stats {
	uint64_t	records;		/* handed to fn */
	uint64_t	bytes;			/* theirs on disk, framing included */
	uint64_t	snapshot_records;	/* of them, from the snapshot */
	unsigned int	segments;		/* segment files read */
	bool		snapshot;		/* a snapshot was read */
	unsigned int	torn;			/* torn ends cut (0 or 1) */
	uint64_t	torn_bytes;
	uint64_t	dropped_records;	/* by repair (at least these) */
	uint64_t	dropped_bytes;
	unsigned int	dropped_files;		/* removed whole by repair */
	uint64_t	ns;			/* time taken */
};

int	journal_file_replay(struct journal_file *, journal_replay_fn, void *arg,
	    bool repair, struct journal_replay_stats *, char *err, size_t errlen);
/* The payloads replay handed over are no longer needed (close does it too). */
void	journal_file_replay_release(struct journal_file *);

/*
 * Append records (each 1 to JOURNAL_RECORD_MAX bytes; another length is a
 * bug) with one writev, rotating to a new segment first when the current one
 * is past its size.  They reach the kernel, not yet the disk: see sync.
 */
enum journal_result journal_file_append(struct journal_file *,
	    const struct iovec *payloads, size_t n);
/* Make everything appended so far durable: one fdatasync. */
enum journal_result journal_file_sync(struct journal_file *);
/* What the last FULL or FATAL was about, for the log. */
const char *journal_file_error(const struct journal_file *);

/*
 * Compaction.  begin closes the current segment, N (appends go on in N + 1),
 * and gives a writer for the state after everything up to N; add the live
 * records to it, then commit (durable, and segments up to N and the old
 * snapshot are gone) or abort.  commit and abort free the writer, whatever
 * they return.  One snapshot at a time.  max_bytes does not bind a snapshot:
 * it is what brings the journal back under it.
 */
enum journal_result journal_file_snapshot_begin(struct journal_file *,
	    struct journal_snapshot **);
enum journal_result journal_file_snapshot_add(struct journal_snapshot *,
	    const struct iovec *payloads, size_t n);
enum journal_result journal_file_snapshot_commit(struct journal_snapshot *);
void	journal_file_snapshot_abort(struct journal_snapshot *);

struct journal_file_stats {
	uint64_t	bytes;		/* on disk: segments (preallocation too) and snapshot */
	uint64_t	segments;	/* segment files */
	uint64_t	snapshot_bytes;	/* 0: no snapshot */
	uint64_t	since_snapshot;	/* bytes written to segments (journal_file_bytes_since_snapshot) */
	uint64_t	records;	/* appended since open */
	uint64_t	appends;
	uint64_t	syncs;		/* fdatasyncs since open */
	int64_t		last_compaction_ns;	/* the snapshot's time (epoch); 0: none */
	uint64_t	sync_p50_ns;	/* over the last JOURNAL_SYNC_SAMPLES */
	uint64_t	sync_p99_ns;
	uint64_t	sync_max_ns;
};

void	 journal_file_stats(const struct journal_file *, struct journal_file_stats *);
/* The same without the fdatasync percentiles (they sort the samples): what a
 * writer reads after every append. */
void	 journal_file_counts(const struct journal_file *, struct journal_file_stats *);
/*
 * The fdatasync times after the first `from` syncs (those the ring still
 * holds, at most JOURNAL_SYNC_SAMPLES, oldest first) into v; how many.
 */
size_t	 journal_file_sync_times(const struct journal_file *, uint64_t from,
	    uint64_t *v);
/* p50, p99 and max of n samples (sorted in place) into st. */
void	 journal_sync_percentiles(uint64_t *v, size_t n,
	    struct journal_file_stats *st);
/* Bytes in the segments after the snapshot: with the snapshot's size, what a
 * caller weighs to decide when to compact. */
uint64_t journal_file_bytes_since_snapshot(const struct journal_file *);

/* Every fdatasync's time, for the metrics. */
extern struct histo	journal_sync_histo;

#endif
