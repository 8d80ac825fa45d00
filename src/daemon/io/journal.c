/*
 * The journal's writer: records from the seam, batched per loop pass, group-
 * committed by one thread, durability told back to the loops; compaction.
 * Replay is journal_recover.c's.
 *
 * A loop's records go into its journal_shard's buffer; the first record of
 * a batch numbers it (durable_marked) and activates the shard's flush event,
 * which runs after the callbacks already due and hands the batch over with
 * one lock.  The thread takes every batch waiting, writes them with one
 * journal_file_append, syncs as the mode says, and posts to each loop how
 * far its batches have gone (durable_reached).
 */
#include "autoconf.h"

#include <sys/uio.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "core/counters.h"
#include "core/durable.h"
#include "core/job.h"
#include "core/jobrecord.h"
#include "core/loomd.h"
#include "core/notes.h"
#include "io/journal.h"
#include "io/journal_file.h"
#include "io/journal_private.h"
#include "io/journal_shard.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

#define JOURNAL_FULL_RETRY_NS	100000000	/* a full journal tries again */
#define JOURNAL_SPARES		4		/* batches a shard keeps for reuse */
#define JOURNAL_SPARE_BYTES	(1u << 20)	/* the largest buffer it keeps */

struct journal	J = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static const char *const journal_sync_names[] = { "always", "batch", "off" };

static void	journal_free_list(struct journal_batch *);

/* The loops' side ------------------------------------------------------ */

/*
 * The end of a drain, as this loop first sees it: its counters now are
 * those of the events recorded (the counters observer comes after this
 * one).  They go with the open batch, and no later count is written: the
 * jobs the drain fails come back as they were.
 */
static void
journal_count_out(struct journal_shard *js)
{
	if (js->counted_out)
		return;
	if (js->open)
		counters_record(js->sh->counters, loomd.boot, js->sh->index,
		    false, &js->rb);
	js->counted_out = true;
}

static void
journal_notify(enum job_event ev, const struct job *job,
    const struct job_outcome *outcome)
{
	struct shard		*sh = shard_current();
	struct journal_shard	*js;
	size_t			 before;

	if (sh == NULL || (js = sh->journal) == NULL)
		return;		/* off the loops */
	if (atomic_load_explicit(&J.quiet, memory_order_relaxed)) {
		journal_count_out(js);
		return;		/* the end of a drain */
	}
	/* A job that started and ended in this batch: its FINISH is enough. */
	if (ev == JOB_EVENT_FINISH)
		job_record_drop_state(&js->rb, job_id(job));
	before = js->rb.tb.len;
	if (!job_record_write(ev, job, outcome, &js->rb))
		return;
	if (js->rb.tb.len - before > JOURNAL_RECORD_MAX) {
		/* A spec larger than a record may be (max_line_bytes above
		 * 64 MiB): the job will not survive a restart.  A finished
		 * job's record never is: its view drops the result. */
		log_warnx("job %llu: its record (%zu bytes) is too large for the "
		    "journal", (unsigned long long)job_id(job),
		    js->rb.tb.len - before);
		js->rb.tb.len = before;
		js->rb.n--;
		return;
	}
	if (!js->open) {
		js->open = true;
		durable_marked(sh, ++js->batch);
		event_active(&js->flush.ev, EV_TIMEOUT, 1);
	}
}

/* Named events and paused queues, into the loop's batch like a job's. */
static void
journal_note(enum note_kind kind, const char *name, bool on, uint64_t seq)
{
	struct shard		*sh = shard_current();
	struct journal_shard	*js;

	if (sh == NULL || (js = sh->journal) == NULL ||
	    atomic_load_explicit(&J.quiet, memory_order_relaxed))
		return;
	note_record_write(kind, name, on, seq, &js->rb);
	if (!js->open) {
		js->open = true;
		durable_marked(sh, ++js->batch);
		event_active(&js->flush.ev, EV_TIMEOUT, 1);
	}
}

static const struct job_observer journal_observer = {
	.name = "journal",
	.wants = NULL,
	.notify = journal_notify,
};

/*
 * Under J.lock: b behind the batches waiting.  True if the thread must be
 * woken, which the caller does once it has let go of the lock (the thread
 * would only wake to wait for it).  A thread that is not waiting looks at
 * the queue before it waits again.
 */
static bool
journal_queue_locked(struct journal_batch *b)
{
	b->next = NULL;
	*J.tail = b;
	J.tail = &b->next;
	return J.waiting;
}

void
journal_queue(struct journal_batch *b)
{
	bool	wake;

	pthread_mutex_lock(&J.lock);
	wake = journal_queue_locked(b);
	pthread_mutex_unlock(&J.lock);
	if (wake)
		pthread_cond_signal(&J.cond);
}

/* The open batch's records into b, and b's emptied buffers open. */
static void
journal_swap(struct journal_shard *js, struct journal_batch *b)
{
	struct record_buf	rb = b->rb;

	rb.tb.len = 0;
	rb.n = 0;
	b->rb = js->rb;
	js->rb = rb;
	b->n = js->batch;
}

/*
 * The open batch to the thread now; its last record is the loop's counters
 * its records changed.  It goes in the place of one the thread has written
 * and handed back, whose buffers, emptied, take the next batch's records:
 * no allocation, nor a buffer grown record by record, each pass, and the
 * thread frees none of the loop's memory.
 */
void
journal_flush_open(struct journal_shard *js)
{
	struct journal_batch	*b;
	bool			 wake = false;

	if (!js->open)
		return;
	js->open = false;
	if (!js->counted_out)
		counters_record(js->sh->counters, loomd.boot, js->sh->index,
		    false, &js->rb);
	pthread_mutex_lock(&J.lock);
	if ((b = js->spare) != NULL) {
		js->spare = b->next;
		js->nspare--;
		journal_swap(js, b);
		wake = journal_queue_locked(b);
	}
	pthread_mutex_unlock(&J.lock);
	if (wake)
		pthread_cond_signal(&J.cond);
	if (b == NULL) {
		b = xcalloc(1, sizeof(*b));
		b->js = js;
		journal_swap(js, b);
		journal_queue(b);
	}
}

/* After the callbacks that were due: the batch goes to the thread. */
static void
journal_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	journal_flush_open(arg);
}

/* On the loop: its batches have gone as far as the thread says. */
static void
journal_reached(void *arg)
{
	struct journal_shard	*js = arg;

	atomic_store(&js->posted, false);
	durable_reached(js->sh, atomic_load(&js->reached));
}

void
journal_init(const struct config *cfg)
{
	J.sync = cfg->journal_sync;
	J.interval = cfg->journal_sync_interval;
	J.tail = &J.head;
	J.on = true;
	job_record_specs(true);
	counters_persist(true);
	job_observe(&journal_observer);
	notes_observe(journal_note);
}

struct journal_shard *
journal_shard_new(struct shard *sh)
{
	struct journal_shard	*js = xcalloc(1, sizeof(*js));

	js->sh = sh;
	loop_event_assign(&js->flush, sh->loop, -1, 0, journal_flush_cb, js);
	return js;
}

void
journal_shard_free(struct journal_shard *js)
{
	if (js == NULL)
		return;
	event_del(&js->flush.ev);
	record_buf_free(&js->rb);
	journal_free_list(js->spare);
	free(js);
}

void
journal_quiesce(void)
{
	atomic_store(&J.quiet, true);
}

bool
journal_refusing(void)
{
	return atomic_load_explicit(&J.full, memory_order_relaxed);
}

/* The thread's side ------------------------------------------------------ */

static void
journal_fatal(const char *what)
{
	fatalx("journal: %s: %s (stopping: the journal can no longer promise "
	    "what it has accepted; the next start replays what is durable)",
	    what, journal_file_error(J.jf));
}

/* Tell each loop how far its batches have gone. */
static void
journal_tell(struct journal_batch *list)
{
	struct journal_batch	*b;
	struct journal_shard	*js;

	for (b = list; b != NULL; b = b->next) {
		js = b->js;
		if (b->n > atomic_load(&js->reached))
			atomic_store(&js->reached, b->n);
	}
	for (b = list; b != NULL; b = b->next) {
		js = b->js;
		if (!atomic_exchange(&js->posted, true) &&
		    loop_post(js->sh->loop, journal_reached, js) == -1)
			atomic_store(&js->posted, false);	/* it has stopped */
	}
}

static void
journal_free_list(struct journal_batch *list)
{
	struct journal_batch	*b;

	while ((b = list) != NULL) {
		list = b->next;
		record_buf_free(&b->rb);
		free(b);
	}
}

/*
 * Every record of the pending list in one append.  FULL keeps them pending
 * (tried again soon; a compaction may make room) and refuses new submits;
 * nothing is lost and no answer goes out.
 */
static bool
journal_write(void)
{
	struct journal_batch	*b;
	struct iovec		*iov;
	size_t			 n = 0, i, start;
	enum journal_result	 rc;

	for (b = J.pending; b != NULL; b = b->next)
		n += b->rb.n;
	if (n == 0)
		return true;
	if (n > J.iov_cap) {
		J.iov_cap = n > 2 * J.iov_cap ? n : 2 * J.iov_cap;
		free(J.iov);
		J.iov = xreallocarray(NULL, J.iov_cap, sizeof(*J.iov));
	}
	iov = J.iov;
	n = 0;
	for (b = J.pending; b != NULL; b = b->next) {
		for (i = 0, start = 0; i < b->rb.n; start = b->rb.ends[i++]) {
			iov[n].iov_base = b->rb.tb.p + start;
			iov[n++].iov_len = b->rb.ends[i] - start;
		}
	}
	rc = journal_file_append(J.jf, iov, n);
	if (rc == JOURNAL_FATAL)
		journal_fatal("write");
	if (rc == JOURNAL_FULL) {
		if (!atomic_exchange(&J.full, true))
			log_warnx("journal: %s: new submits are refused until there "
			    "is room", journal_file_error(J.jf));
		return false;
	}
	if (atomic_exchange(&J.full, false))
		log_info("journal: there is room again");
	J.dirty = true;
	return true;
}

static void
journal_sync_now(void)
{
	if (journal_file_sync(J.jf) != JOURNAL_OK)
		journal_fatal("fdatasync");
	J.dirty = false;
	J.synced_ns = now_ns();
}

static bool
journal_sync_due(void)
{
	return J.dirty && (J.sync == JOURNAL_SYNC_ALWAYS ||
	    (J.sync == JOURNAL_SYNC_BATCH &&
	    now_ns() - J.synced_ns >= (uint64_t)(J.interval * 1e9)));
}

/* How long the thread may sleep: until a retry or a batch sync is due. */
static bool
journal_deadline(struct timespec *until)
{
	uint64_t	wait_ns;

	if (J.pending != NULL)
		wait_ns = JOURNAL_FULL_RETRY_NS;
	else if (J.dirty && J.sync == JOURNAL_SYNC_BATCH)
		wait_ns = (uint64_t)(J.interval * 1e9);
	else
		return false;
	clock_gettime(CLOCK_REALTIME, until);
	until->tv_nsec += (long)(wait_ns % 1000000000);
	until->tv_sec += (time_t)(wait_ns / 1000000000) + until->tv_nsec / 1000000000;
	until->tv_nsec %= 1000000000;
	return true;
}

/* The new batches behind those still pending. */
static void
journal_take(void)
{
	struct journal_batch	**tail = &J.pending;

	while (*tail != NULL)
		tail = &(*tail)->next;
	*tail = J.head;
	J.head = NULL;
	J.tail = &J.head;
}

/*
 * Under J.lock: the file's counts, and the fdatasync times since the last
 * look into the ring (usually one or none).  Their percentiles are worked
 * out when stats are asked for, not after every write.
 */
static void
journal_stats_update(void)
{
	uint64_t	v[JOURNAL_SYNC_SAMPLES], from = J.stats.syncs;
	size_t		n, i;

	journal_file_counts(J.jf, &J.stats);
	if (J.stats.syncs == from)
		return;
	n = journal_file_sync_times(J.jf, from, v);
	for (i = 0; i < n; i++)
		J.sync_ns[(J.stats.syncs - n + i) % JOURNAL_SYNC_SAMPLES] = v[i];
}

/*
 * Under J.lock: the batches written go back to their shards for reuse
 * (journal_flush_open), as many as a shard keeps and of a size it keeps;
 * the others are returned, to be freed out of the lock.
 */
static struct journal_batch *
journal_recycle(struct journal_batch *list)
{
	struct journal_batch	*b, *rest = NULL;
	struct journal_shard	*js;

	while ((b = list) != NULL) {
		list = b->next;
		js = b->js;
		if (js->nspare < JOURNAL_SPARES &&
		    b->rb.tb.cap <= JOURNAL_SPARE_BYTES) {
			b->next = js->spare;
			js->spare = b;
			js->nspare++;
		} else {
			b->next = rest;
			rest = b;
		}
	}
	return rest;
}

static void *
journal_main(void *arg)
{
	struct timespec		 until;
	struct journal_batch	*done = NULL, *rest = NULL;
	bool			 written;

	pthread_mutex_lock(&J.lock);
	for (;;) {
		rest = journal_recycle(done);
		done = NULL;
		if (J.head == NULL && !J.stop && !journal_sync_due() &&
		    rest == NULL) {
			J.waiting = true;
			if (journal_deadline(&until))
				pthread_cond_timedwait(&J.cond, &J.lock, &until);
			else
				pthread_cond_wait(&J.cond, &J.lock);
			J.waiting = false;
		}
		journal_take();
		if (J.stop && J.pending == NULL)
			break;
		pthread_mutex_unlock(&J.lock);
		journal_free_list(rest);
		rest = NULL;

		journal_snapshot_parts(&J.pending);
		written = journal_write();
		/* A snapshot with all its parts takes over once the batches
		 * before its last slices are durable (journal_compact.c). */
		if (journal_sync_due() || (J.stop && J.dirty) ||
		    (written && J.dirty && J.sync != JOURNAL_SYNC_OFF &&
		    journal_snapshot_complete()))
			journal_sync_now();
		journal_snapshot_install();
		if (written) {
			journal_tell(J.pending);
			done = J.pending;
			J.pending = NULL;
		}
		journal_compact_maybe(!written);

		pthread_mutex_lock(&J.lock);
		journal_stats_update();
		if (J.stop && !written) {
			/* Full to the end: what is pending was never answered. */
			log_warnx("journal: stopping full; changes not yet written "
			    "are lost (no client was told of them)");
			journal_free_list(J.pending);
			J.pending = NULL;
			break;
		}
	}
	pthread_mutex_unlock(&J.lock);
	journal_free_list(rest);
	journal_free_list(done);
	return NULL;
}

int
journal_start_thread(char *err, size_t errlen)
{
	J.synced_ns = now_ns();
	journal_stats_update();
	if (thread_create_quiet(&J.thread, journal_main, NULL) != 0) {
		snprintf(err, errlen, "journal: cannot start its thread: %s",
		    strerror(errno));
		return -1;
	}
	J.running = true;
	return 0;
}

void
journal_close(void)
{
	struct journal_shard	*js;
	unsigned int		 i;

	if (!J.on || J.jf == NULL)
		return;
	/* The loops have stopped: what their last passes wrote goes too. */
	for (i = 0; i < loomd.nloops; i++) {
		js = loomd.shards[i]->journal;
		if (js != NULL)
			journal_flush_open(js);
	}
	if (J.running) {
		pthread_mutex_lock(&J.lock);
		J.stop = true;
		pthread_cond_signal(&J.cond);
		pthread_mutex_unlock(&J.lock);
		pthread_join(J.thread, NULL);
		J.running = false;
	}
	if (J.dirty)
		journal_sync_now();
	journal_snapshot_abort_any();
	journal_file_close(J.jf);
	J.jf = NULL;
	free(J.iov);
	J.iov = NULL;
	J.iov_cap = 0;
}

void
journal_get_stats(struct journal_stats *st)
{
	struct journal_file_stats	sync;
	uint64_t			v[JOURNAL_SYNC_SAMPLES];
	size_t				n;

	memset(st, 0, sizeof(*st));
	st->on = J.on;
	if (!J.on)
		return;
	st->sync = journal_sync_names[J.sync];
	pthread_mutex_lock(&J.lock);
	st->bytes = J.stats.bytes;
	st->segments = J.stats.segments;
	st->records = J.stats.records;
	st->last_compaction_ns = J.stats.last_compaction_ns;
	n = J.stats.syncs < JOURNAL_SYNC_SAMPLES ? (size_t)J.stats.syncs :
	    JOURNAL_SYNC_SAMPLES;
	memcpy(v, J.sync_ns, n * sizeof(v[0]));
	pthread_mutex_unlock(&J.lock);
	journal_sync_percentiles(v, n, &sync);
	st->sync_p50_ns = sync.sync_p50_ns;
	st->sync_p99_ns = sync.sync_p99_ns;
	st->recovered_jobs = J.recovered_jobs;
	st->recovered_seconds = J.recovered_seconds;
}
