/*
 * Compaction: when the segments since the last snapshot outgrow it (or the
 * journal is full), the thread starts a snapshot (the current segment
 * closes; appends go on in the next), asks every loop for its live jobs as
 * records, writes the parts as they come and commits: the segments the
 * snapshot covers are gone, so the disk used follows the live jobs, not the
 * history.  Replay keeps each job's newest version, whichever file it is in.
 *
 * No job may fall between the snapshot and the segments after it.  A job's
 * SUBMIT record is written by the loop it was submitted on, which hands the
 * job to its owner only once that record is durable (core/submit.c); so a
 * job whose record is in a closed segment may still be on its way to its
 * owner when the owner makes its part.  Hence two rounds: first every loop
 * says it is ready, and by then it has handed over every job whose record
 * the closed segments hold (the journal's word that they are durable came
 * into its inbox before the question); only then is every loop asked for
 * its part, and each of those hand-overs is ahead of the question in the
 * owner's inbox.
 *
 * A loop's part comes in slices of about JOURNAL_SLICE bytes, one callback
 * each, so that a loop holding large jobs does not stall (nor hold its whole
 * part in memory): the thread writes a slice and only then asks for the
 * next, and the loop serves everything else in between.  A job that changes
 * meanwhile has its new records in the segments after the snapshot (newer
 * versions win at replay); one that expires is skipped; one that comes in
 * was handed over after the ready round, so its SUBMIT is there too.
 *
 * The parts are no longer one instant of each loop: the loop's counters go
 * with its first slice, and a job in a later slice may show a change made
 * after them, which they do not count.  That change's record, and its
 * count, are in the batch the loop had open: so before each slice the loop
 * hands its open batch over, and the snapshot takes the segments' place
 * only once every batch ahead of the last slices is written and synced.
 * Whatever a slice shows is then durable with its count, in the snapshot or
 * after it.  (Unless the journal is full: the snapshot is what makes room,
 * so it goes in at once, as before.)
 */
#include "autoconf.h"

#include <sys/uio.h>

#include <stdlib.h>

#include "core/counters.h"
#include "core/event.h"
#include "core/jobrecord.h"
#include "core/notes.h"
#include "core/queue.h"
#include "core/loomd.h"
#include "io/journal_private.h"
#include "io/journal_shard.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

#define JOURNAL_COMPACT_MIN	(64u << 20)	/* no compaction below this */
#define JOURNAL_SLICE		(4u << 20)	/* a loop's part, per callback */

static void	journal_ask_loops(void (*)(void *));

/* A size a test may set in the environment (on the thread: no other
 * reads it), else the built-in one. */
static uint64_t
journal_test_size(const char *name, uint64_t *cached, uint64_t dflt)
{
	const char	*env;

	if (*cached == 0) {
		env = getenv(name);
		*cached = env != NULL && strtoull(env, NULL, 10) > 0 ?
		    strtoull(env, NULL, 10) : dflt;
	}
	return *cached;
}

/* The tests' way to see compactions without 64 MiB of records. */
static uint64_t
journal_compact_min(void)
{
	static uint64_t	min;

	return journal_test_size("LOOMD_TEST_COMPACT_BYTES", &min,
	    JOURNAL_COMPACT_MIN);
}

/* The same for the slices of a part. */
static size_t
journal_slice_bytes(void)
{
	static uint64_t	slice;

	return (size_t)journal_test_size("LOOMD_TEST_SLICE_BYTES", &slice,
	    JOURNAL_SLICE);
}

static void
journal_dump_event(const char *name, void *arg)
{
	note_record_write(NOTE_EVENT, name, true, note_seq_next(), arg);
}

static void
journal_dump_queue(const struct queue_info *qi, void *arg)
{
	if (qi->paused)
		note_record_write(NOTE_QUEUE, qi->name, true, note_seq_next(), arg);
}

static void
journal_dump_type(const char *name, void *arg)
{
	note_record_write(NOTE_TYPE, name, true, note_seq_next(), arg);
}

/* Set events, paused queues and the types workers named, numbered above
 * every note before. */
static void
journal_dump_notes(struct record_buf *rb)
{
	named_event_each_set(journal_dump_event, rb);
	queue_each(journal_dump_queue, rb);
	note_types_each(journal_dump_type, rb);
}

struct journal_dump {
	struct journal_shard	*js;
	uint64_t		 gen;
	size_t			 slice;		/* bytes of records a slice */
	bool			 first;		/* its part's first slice */
};

/* On a loop: the next slice of its part of the snapshot. */
static void
journal_dump(void *arg)
{
	struct journal_dump	*d = arg;
	struct journal_shard	*js = d->js;
	struct journal_batch	*b;

	/* The end of a drain: this loop's jobs and counters may have moved
	 * past what the journal keeps (each of its events before this one
	 * was recorded only if this reads false).  No more of the part: the
	 * snapshot never completes, and journal_close() aborts it.  Nor a
	 * slice of a snapshot given up, whose cursor a new one has reset. */
	if (atomic_load_explicit(&J.quiet, memory_order_relaxed) ||
	    (!d->first && d->gen != js->dump_gen)) {
		free(d);
		return;
	}
	/* Its changes so far ahead of the slice (see the top). */
	journal_flush_open(js);
	b = xcalloc(1, sizeof(*b));
	b->js = js;
	b->n = 0;
	b->gen = d->gen;
	if (d->first) {
		js->dump_gen = d->gen;
		js->slices = 0;
		/* Every counter of the loop's, loop 0's even if it has none:
		 * it stands for the boot (journal_recover.c). */
		counters_record(js->sh->counters, loomd.boot, js->sh->index,
		    true, &b->rb);
		/* What is not a loop's own goes with the first loop's part. */
		if (js == loomd.shards[0]->journal)
			journal_dump_notes(&b->rb);
	}
	b->last = job_record_dump(&b->rb, d->first, d->slice);
	js->slices++;
	log_debug("journal: loop %u: snapshot slice %u, %zu records, %zu bytes%s",
	    js->sh->index, js->slices, b->rb.n, b->rb.tb.len,
	    b->last ? ", the last" : "");
	journal_queue(b);
	free(d);
}

/* The first round, on each loop: nothing to send but that it is ready. */
static void
journal_dump_ready(void *arg)
{
	struct journal_dump	*d = arg;
	struct journal_batch	*b;

	if (atomic_load_explicit(&J.quiet, memory_order_relaxed)) {
		free(d);	/* the end of a drain, as in journal_dump() */
		return;
	}
	b = xcalloc(1, sizeof(*b));
	b->js = d->js;
	b->gen = d->gen;
	b->ready = true;
	journal_queue(b);
	free(d);
}

static void
journal_snapshot_failed(enum journal_result rc)
{
	if (rc == JOURNAL_FATAL)
		fatalx("journal: snapshot: %s", journal_file_error(J.jf));
	log_warnx("journal: snapshot: %s; trying again later",
	    journal_file_error(J.jf));
	J.snap = NULL;
}

void
journal_compact_maybe(bool force)
{
	struct journal_file_stats	st;
	enum journal_result		rc;
	uint64_t			grown;

	/* Nor at the end of a drain: the loops' jobs and counters then are
	 * not what the journal keeps. */
	if (J.snap != NULL || J.stop ||
	    atomic_load_explicit(&J.quiet, memory_order_relaxed))
		return;
	journal_file_counts(J.jf, &st);
	grown = journal_file_bytes_since_snapshot(J.jf);
	if (!force && (grown < journal_compact_min() || grown < 2 * st.snapshot_bytes))
		return;
	if (force && grown == 0)
		return;		/* nothing a snapshot would free */
	if ((rc = journal_file_snapshot_begin(J.jf, &J.snap)) != JOURNAL_OK) {
		journal_snapshot_failed(rc);
		return;
	}
	J.snap_gen++;
	J.ready_left = J.parts_left = loomd.nloops;
	J.snap_complete = false;
	journal_ask_loops(journal_dump_ready);
}

/* Ask a loop for (the next slice of) its part; false if it is stopping. */
static bool
journal_ask_loop(struct journal_shard *js, void (*fn)(void *), bool first)
{
	struct journal_dump	*d = xmalloc(sizeof(*d));

	d->js = js;
	d->gen = J.snap_gen;
	d->slice = journal_slice_bytes();
	d->first = first;
	if (loop_post(js->sh->loop, fn, d) == -1) {
		/* Its jobs would be missing from the snapshot, which would
		 * drop their segments. */
		free(d);
		journal_snapshot_abort_any();
		return false;
	}
	return true;
}

/* One round of the snapshot's questions, to every loop. */
static void
journal_ask_loops(void (*fn)(void *))
{
	unsigned int	i;

	for (i = 0; i < loomd.nloops; i++) {
		if (!journal_ask_loop(loomd.shards[i]->journal, fn, true))
			return;
	}
}

static void
journal_snapshot_add_part(struct journal_batch *b)
{
	struct iovec		*iov;
	size_t			 i, start;
	enum journal_result	 rc = JOURNAL_OK;

	if (b->rb.n > 0) {
		iov = xcalloc(b->rb.n, sizeof(*iov));
		for (i = 0, start = 0; i < b->rb.n; start = b->rb.ends[i++]) {
			iov[i].iov_base = b->rb.tb.p + start;
			iov[i].iov_len = b->rb.ends[i] - start;
		}
		rc = journal_file_snapshot_add(J.snap, iov, b->rb.n);
		free(iov);
	}
	if (rc != JOURNAL_OK) {
		journal_file_snapshot_abort(J.snap);
		journal_snapshot_failed(rc);
		return;
	}
	/* Written: now the loop may make its next slice. */
	if (!b->last) {
		journal_ask_loop(b->js, journal_dump, false);
		return;
	}
	if (--J.parts_left == 0)
		J.snap_complete = true;
}

bool
journal_snapshot_complete(void)
{
	return J.snap != NULL && J.snap_complete;
}

void
journal_snapshot_install(void)
{
	enum journal_result	rc;

	if (!journal_snapshot_complete())
		return;
	rc = journal_file_snapshot_commit(J.snap);
	J.snap = NULL;
	J.snap_complete = false;
	if (rc != JOURNAL_OK)
		journal_snapshot_failed(rc);
	else
		log_info("journal: compacted");
}

void
journal_snapshot_parts(struct journal_batch **list)
{
	struct journal_batch	*b;

	while ((b = *list) != NULL) {
		if (b->n != 0) {
			list = &b->next;
			continue;
		}
		*list = b->next;
		/* A part of a snapshot that failed is dropped. */
		if (J.snap != NULL && b->gen == J.snap_gen) {
			if (!b->ready)
				journal_snapshot_add_part(b);
			else if (--J.ready_left == 0)
				journal_ask_loops(journal_dump);
		}
		record_buf_free(&b->rb);
		free(b);
	}
}

void
journal_snapshot_abort_any(void)
{
	if (J.snap != NULL) {
		journal_file_snapshot_abort(J.snap);
		J.snap = NULL;
	}
}
