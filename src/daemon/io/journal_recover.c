/*
 * Replay, at start: read every record (snapshot, then segments), keep for
 * each job its submission and its newest state (the highest version,
 * whichever loop's batch it came in), then make the jobs again in id order
 * (core/restore.c) on their owners, and wait until every owner has.
 *
 * A job with no submission was never acknowledged (the answer that gave its
 * id waited for that record): it is dropped.  A finished job whose ttl has
 * run out while loomd was down is dropped too.
 */
#include "autoconf.h"

#include <sys/mman.h>

#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "core/config.h"
#include "core/jobrecord.h"
#include "core/event.h"
#include "core/loomd.h"
#include "core/notes.h"
#include "core/queue.h"
#include "core/registry.h"
#include "core/restore.h"
#include "io/journal.h"
#include "io/journal_file.h"
#include "io/journal_private.h"
#include "runtime/future.h"
#include "runtime/hashmap.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

/*
 * A job's record, where replay left it: the files stay mapped until the jobs
 * are made, so nothing is copied.  Sorted by id (stable: in the order read)
 * they give each job's records together, and the jobs in id order.
 */
struct replay_ref {
	uint64_t	 id;
	const void	*payload;
	size_t		 len;
};

/* A composite's child, from the child's submission. */
struct replay_child {
	uint64_t	 parent;
	uint64_t	 id;
	uint32_t	 index;
};

/* One job as its records have it. */
struct replayed {
	struct job_restore	 r;
	bool			 submitted;
	char			 owner[LOOM_NAME_MAX + 1];
};

/* A named event's or a queue's last note. */
struct replayed_note {
	struct hashmap_entry	 entry;
	uint64_t		 seq;
	bool			 on;
	char			 name[];
};

static const char *
note_key(const struct hashmap_entry *e)
{
	return hashmap_item(e, struct replayed_note, entry)->name;
}

struct replay {
	struct replay_ref	*refs;
	size_t			 nrefs;
	size_t			 refs_cap;
	bool			 sorted;	/* refs in id order as read */
	uint64_t		 max_id;
	struct replay_child	*kids;
	size_t			 nkids;
	size_t			 kids_cap;
	struct hashmap		 notes[2];	/* events, queues */
	struct journal_counts	 counts;
	uint64_t		 bad;		/* records that do not read */
	uint64_t		 last_progress;
	void			(*progress)(void);
};

static void
replayed_state(struct replayed *j, const struct job_record *rec)
{
	if (j->r.has_state && rec->version <= j->r.version)
		return;		/* an older state than one already read */
	j->r.has_state = true;
	j->r.version = rec->version;
	j->r.state = rec->state;
	j->r.attempt = rec->attempt;
	j->r.started_ns = rec->started_ns;
	j->r.due_ns = rec->due_ns;
	j->r.finished_ns = rec->finished_ns;
	j->r.expires_ns = rec->expires_ns;
	j->r.view = rec->kind == JOB_RECORD_FINISH ? rec->view : NULL;
	j->r.view_len = rec->kind == JOB_RECORD_FINISH ? rec->view_len : 0;
}

static void
replayed_submit(struct replayed *j, const struct job_record *rec)
{
	if (j->submitted)
		return;		/* a snapshot's and a segment's */
	j->submitted = true;
	j->r.parent = rec->parent;
	j->r.index = rec->index;
	j->r.created_ns = rec->created_ns;
	j->r.spec = rec->spec;
	j->r.spec_len = rec->spec_len;
	if (rec->owner != NULL && rec->owner_len <= LOOM_NAME_MAX) {
		memcpy(j->owner, rec->owner, rec->owner_len);
		j->owner[rec->owner_len] = '\0';
		j->r.owner = j->owner;
	}
	if (!j->r.has_state)
		j->r.version = rec->version;
}

static void
replay_note(struct hashmap *map, const struct job_record *rec)
{
	struct hashmap_entry	*e;
	struct replayed_note	*n;
	char			 name[LOOM_NAME_MAX + 1];

	if (rec->name_len > LOOM_NAME_MAX)
		return;
	memcpy(name, rec->name, rec->name_len);
	name[rec->name_len] = '\0';
	if ((e = hashmap_find(map, name)) != NULL)
		n = hashmap_item(e, struct replayed_note, entry);
	else {
		n = xcalloc(1, sizeof(*n) + rec->name_len + 1);
		memcpy(n->name, name, rec->name_len + 1);
		hashmap_add(map, &n->entry, n->name);
	}
	if (rec->id >= n->seq) {
		n->seq = rec->id;
		n->on = rec->on;
	}
	note_seq_above(rec->id);	/* this boot's notes come after */
}

/* Set events and paused queues come back before the jobs that wait on them. */
static void
replay_notes(struct replay *rp)
{
	struct hashmap_iter	 it;
	struct hashmap_entry	*e;
	struct replayed_note	*n;
	struct queue_info	 qi;
	int			 k;

	for (k = 0; k < 2; k++) {
		for (e = hashmap_first(&rp->notes[k], &it); e != NULL;
		    e = hashmap_next(&it)) {
			n = hashmap_item(e, struct replayed_note, entry);
			if (n->on && k == 0)
				(void)named_event_set(n->name, NULL);
			else if (n->on)
				queue_set_paused(n->name, true, &qi);
			free(n);
		}
		hashmap_free(&rp->notes[k]);
	}
}

/* A type a worker named: known again (types are only ever added). */
static void
replay_type(const struct job_record *rec)
{
	char	*name;

	xasprintf(&name, "%.*s", (int)rec->name_len, rec->name);
	note_type_known(name);
	note_seq_above(rec->id);
	free(name);
}

/* Arrays as large as a journal's jobs: mapped whole, in huge pages where
 * the kernel allows, so that filling them is not a page fault a job. */
static void *
replay_array(void *old, size_t old_bytes, size_t bytes)
{
	void	*p;

	if (old == NULL)
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else
		p = mremap(old, old_bytes, bytes, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		fatal("journal: replay: %zu bytes", bytes);
	(void)madvise(p, bytes, MADV_HUGEPAGE);
	return p;
}

static void
replay_array_free(void *p, size_t bytes)
{
	if (p != NULL)
		munmap(p, bytes);
}

#define REPLAY_GROW(p, n, cap) do {					\
	if ((n) == (cap)) {						\
		size_t	 c_ = (cap) ? (cap) * 2 : 65536;		\
		(p) = replay_array((p), (cap) * sizeof(*(p)),		\
		    c_ * sizeof(*(p)));					\
		(cap) = c_;						\
	}								\
} while (0)

static void
replay_progress(struct replay *rp)
{
	if (rp->progress != NULL && now_ns() - rp->last_progress > 1000000000) {
		rp->last_progress = now_ns();
		rp->progress();
	}
}

static int
replay_record(void *arg, const void *payload, size_t len)
{
	struct replay		*rp = arg;
	struct job_record	 rec;
	struct replay_ref	*ref;
	struct replay_child	*kid;

	replay_progress(rp);
	if (job_record_read(payload, len, &rec) == -1) {
		rp->bad++;
		return 0;	/* framed and checksummed, yet not ours: skip */
	}
	switch (rec.kind) {
	case JOB_RECORD_TYPE:
		replay_type(&rec);
		return 0;
	case JOB_RECORD_COUNTS:
		if (journal_counts_record(&rp->counts, &rec) == -1)
			rp->bad++;
		return 0;
	case JOB_RECORD_EVENT:
	case JOB_RECORD_QUEUE:
		replay_note(&rp->notes[rec.kind == JOB_RECORD_QUEUE], &rec);
		return 0;
	default:
		break;
	}
	if (rec.kind == JOB_RECORD_SUBMIT && rec.parent != 0) {
		REPLAY_GROW(rp->kids, rp->nkids, rp->kids_cap);
		kid = &rp->kids[rp->nkids++];
		kid->parent = rec.parent;
		kid->id = rec.id;
		kid->index = rec.index;
	}
	REPLAY_GROW(rp->refs, rp->nrefs, rp->refs_cap);
	if (rec.id < rp->max_id)
		rp->sorted = false;
	else
		rp->max_id = rec.id;
	ref = &rp->refs[rp->nrefs++];
	ref->id = rec.id;
	ref->payload = payload;
	ref->len = len;
	return 0;
}

/*
 * A stable sort of n elements of size sz by the uint64_t each starts with:
 * least significant digit first, 11 bits a pass, as many passes as the
 * largest key needs (two for the first four million ids).  tmp holds n.
 */
#define REPLAY_RADIX_BITS	11
#define REPLAY_RADIX		(1u << REPLAY_RADIX_BITS)

static void
replay_radix_sort(void *base, void *tmp, size_t n, size_t sz, uint64_t max)
{
	size_t		 count[REPLAY_RADIX];
	unsigned char	*from = base, *to = tmp, *swap;
	unsigned int	 shift, d;
	uint64_t	 key;
	size_t		 i, pos, c;

	for (shift = 0; shift < 64 && (max >> shift) != 0;
	    shift += REPLAY_RADIX_BITS) {
		memset(count, 0, sizeof(count));
		for (i = 0; i < n; i++) {
			memcpy(&key, from + i * sz, sizeof(key));
			count[(key >> shift) & (REPLAY_RADIX - 1)]++;
		}
		for (d = 0, pos = 0; d < REPLAY_RADIX; d++) {
			c = count[d];
			count[d] = pos;
			pos += c;
		}
		for (i = 0; i < n; i++) {
			memcpy(&key, from + i * sz, sizeof(key));
			memcpy(to + count[(key >> shift) & (REPLAY_RADIX - 1)]++ *
			    sz, from + i * sz, sz);
		}
		swap = from;
		from = to;
		to = swap;
	}
	if (from != base)
		memcpy(base, from, n * sz);
}

/* Both arrays in id order; the children's by their parent's. */
static void
replay_sort(struct replay *rp)
{
	size_t	 n = rp->nrefs > rp->nkids ? rp->nrefs : rp->nkids;
	size_t	 bytes = n * sizeof(struct replay_ref);
	void	*tmp;
	uint64_t max = 0;
	size_t	 i;

	if (n == 0 || (rp->sorted && rp->nkids == 0))
		return;
	tmp = replay_array(NULL, 0, bytes);
	if (!rp->sorted)
		replay_radix_sort(rp->refs, tmp, rp->nrefs, sizeof(*rp->refs),
		    rp->max_id);
	for (i = 0; i < rp->nkids; i++)
		max = rp->kids[i].parent > max ? rp->kids[i].parent : max;
	replay_radix_sort(rp->kids, tmp, rp->nkids, sizeof(*rp->kids), max);
	replay_array_free(tmp, bytes);
}

/* A composite's children so far, by index, from kids[*k...]. */
static uint64_t *
replay_children(struct replay *rp, size_t *k, uint64_t parent, size_t *n)
{
	uint64_t	*children = NULL;
	size_t		 i;

	*n = 0;
	while (*k < rp->nkids && rp->kids[*k].parent < parent)
		(*k)++;
	for (i = *k; i < rp->nkids && rp->kids[i].parent == parent; i++) {
		if (rp->kids[i].index >= *n) {
			children = xreallocarray(children, rp->kids[i].index + 1,
			    sizeof(*children));
			memset(children + *n, 0, (rp->kids[i].index + 1 - *n) *
			    sizeof(*children));
			*n = rp->kids[i].index + 1;
		}
		children[rp->kids[i].index] = rp->kids[i].id;
	}
	*k = i;
	return children;
}

/* Wait until every loop has run what was posted to it before. */
static void
replay_barrier_run(struct future *f, void *arg)
{
	future_set_result(f, NULL);
}

static void
replay_barrier(void)
{
	struct future	*f;
	unsigned int	 i;

	for (i = 0; i < loomd.nloops; i++) {
		if ((f = future_submit(loomd.loops[i], replay_barrier_run, NULL)) == NULL)
			continue;
		future_wait(f, -1);
		future_unref(f);
	}
}

static void
replay_free(struct replay *rp)
{
	replay_array_free(rp->refs, rp->refs_cap * sizeof(*rp->refs));
	replay_array_free(rp->kids, rp->kids_cap * sizeof(*rp->kids));
	rp->refs = NULL;
	rp->kids = NULL;
	journal_file_replay_release(J.jf);
}

/*
 * The heap that the jobs being made fill, faulted in ahead of them.  A page
 * fault a page is most of what making a job costs on a virtual machine, and
 * zeroing the pages the rest.  glibc's main arena grows with brk; while
 * replay makes jobs it grows, the first time, by about what they will take
 * (REPLAY_JOB_BYTES each), and then REPLAY_HEAP_STEP at a time, and a
 * thread of its own populates each new piece in one call (in huge pages
 * where the kernel allows) while the main thread goes on making jobs on
 * another core.  One piece for them all keeps the thread ahead of the main
 * thread but at its start; pieces of 128 MiB made the main thread fault in
 * the start of each.  Where malloc is another (a sanitizer's), brk does not
 * move and the thread only waits for the end.
 */
#define REPLAY_HEAP_STEP	(128u << 20)
#define REPLAY_JOB_BYTES	1024	/* a pending echo job: about 950 */
#define REPLAY_HEAP_MAX		(4ull << 30)	/* the first piece, at most */

struct replay_heap {
	pthread_t	 thread;
	bool		 running;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	uintptr_t	 top;		/* brk as the main thread last saw it */
	bool		 grown;		/* past the first piece */
	bool		 end;
};

static void *
replay_heap_main(void *arg)
{
	struct replay_heap	*h = arg;
	uintptr_t		 done, top;

	pthread_mutex_lock(&h->lock);
	done = h->top;
	for (;;) {
		while (h->top <= done && !h->end)
			pthread_cond_wait(&h->cond, &h->lock);
		if (h->end)
			break;
		top = h->top;
		pthread_mutex_unlock(&h->lock);
		done = (done + 4095) & ~(uintptr_t)4095;
		if (top > done) {
			(void)madvise((void *)done, top - done, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
			(void)madvise((void *)done, top - done,
			    MADV_POPULATE_WRITE);
#endif
		}
		done = top;
		pthread_mutex_lock(&h->lock);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* For `jobs` jobs. */
static void
replay_heap_begin(struct replay_heap *h, size_t jobs)
{
	uint64_t	first = (uint64_t)jobs * REPLAY_JOB_BYTES;

	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	h->top = (uintptr_t)sbrk(0);
	if (first < REPLAY_HEAP_STEP)
		first = REPLAY_HEAP_STEP;
	if (first > REPLAY_HEAP_MAX)
		first = REPLAY_HEAP_MAX;
#ifdef M_TOP_PAD
	mallopt(M_TOP_PAD, (int)first);
#endif
	h->running = thread_create_quiet(&h->thread, replay_heap_main, h) == 0;
}

/* Every few jobs: tell the thread when brk has moved. */
static void
replay_heap_grown(struct replay_heap *h)
{
	uintptr_t	top = (uintptr_t)sbrk(0);

	if (!h->running || top <= h->top)
		return;
#ifdef M_TOP_PAD
	if (!h->grown)
		mallopt(M_TOP_PAD, REPLAY_HEAP_STEP);	/* past the first piece */
#endif
	h->grown = true;
	pthread_mutex_lock(&h->lock);
	h->top = top;
	pthread_cond_signal(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static void
replay_heap_end(struct replay_heap *h)
{
#ifdef M_TOP_PAD
	mallopt(M_TOP_PAD, 128 << 10);	/* glibc's default */
#endif
	if (h->running) {
		pthread_mutex_lock(&h->lock);
		h->end = true;
		pthread_cond_signal(&h->cond);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->thread, NULL);
	}
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
}

/* One job from its records (refs[0 .. n), in the order read). */
static void
replay_job(struct replayed *j, const struct replay_ref *refs, size_t n)
{
	struct job_record	rec;
	size_t			i;

	memset(j, 0, sizeof(*j));
	j->r.id = refs[0].id;
	for (i = 0; i < n; i++) {
		if (job_record_read(refs[i].payload, refs[i].len, &rec) == -1)
			continue;	/* counted when first read */
		if (rec.kind == JOB_RECORD_SUBMIT)
			replayed_submit(j, &rec);
		else
			replayed_state(j, &rec);
	}
}

/* Make the jobs again, oldest first; how many came back. */
static uint64_t
replay_restore(struct replay *rp, uint64_t *expired, uint64_t *dropped)
{
	struct replayed	 j;
	struct replay_heap heap;
	struct error	 err = { 0 };
	size_t		 i, n, k = 0;
	uint64_t	 restored = 0, *children;
	int64_t		 now = now_epoch_ns();

	replay_sort(rp);
	for (i = 0, n = 0; i < rp->nrefs; i++)
		n += i == 0 || rp->refs[i].id != rp->refs[i - 1].id;
	registry_reserve(n);
	replay_heap_begin(&heap, n);
	for (i = 0; i < rp->nrefs; i += n) {
		if ((restored & 63) == 0) {
			replay_progress(rp);
			replay_heap_grown(&heap);
		}
		for (n = 1; i + n < rp->nrefs && rp->refs[i + n].id ==
		    rp->refs[i].id; n++)
			;
		replay_job(&j, rp->refs + i, n);
		if (!j.submitted) {
			(*dropped)++;
			continue;
		}
		if (j.r.has_state && job_state_terminal(j.r.state) &&
		    j.r.expires_ns <= now) {
			(*expired)++;
			continue;
		}
		children = replay_children(rp, &k, j.r.id, &j.r.nchildren);
		j.r.children = children;
		if (job_restore(&j.r, &err) == -1) {
			log_warnx("journal: job %llu cannot be made again: %s; it is "
			    "lost", (unsigned long long)j.r.id, err.message);
			error_clear(&err);
		} else
			restored++;
		free(children);
	}
	replay_heap_end(&heap);
	job_restore_go();
	/* The owners have what they keep: the records can go. */
	replay_barrier();
	replay_free(rp);
	return restored;
}

int
journal_open(const struct config *cfg, void (*progress)(void), char *err,
    size_t errlen)
{
	struct journal_file_options	 opts = { 0 };
	struct journal_replay_stats	 st;
	struct replay			 rp = { .progress = progress,
					    .sorted = true };
	char				 dir[4096];
	uint64_t			 start = now_ns(), restored;
	uint64_t			 expired = 0, dropped = 0;

	snprintf(dir, sizeof(dir), "%s/journal", cfg->state_dir);
	opts.max_bytes = cfg->journal_max_bytes;
	opts.zero_ahead = cfg->journal_sync == JOURNAL_SYNC_ALWAYS;
	if ((J.jf = journal_file_open(dir, &opts, err, errlen)) == NULL)
		return -1;
	hashmap_init(&rp.notes[0], note_key);
	hashmap_init(&rp.notes[1], note_key);
	journal_counts_init(&rp.counts);
	rp.last_progress = start;
	if (journal_file_replay(J.jf, replay_record, &rp, cfg->journal_repair, &st,
	    err, errlen) == -1) {
		journal_counts_free(&rp.counts);
		replay_free(&rp);
		journal_file_close(J.jf);
		J.jf = NULL;
		return -1;
	}
	replay_notes(&rp);
	/* Before any job is back on a loop: it may count at once. */
	journal_counts_restore(&rp.counts);
	if (journal_counts_base(err, errlen) == -1) {
		replay_free(&rp);
		journal_file_close(J.jf);
		J.jf = NULL;
		return -1;
	}
	restored = replay_restore(&rp, &expired, &dropped);
	J.recovered_jobs = restored;
	J.recovered_seconds = (now_ns() - start) / 1e9;
	log_info("journal: recovered %llu job%s in %.3fs from %llu records (%u "
	    "segment%s%s)", (unsigned long long)restored, restored == 1 ? "" :
	    "s", J.recovered_seconds, (unsigned long long)st.records, st.segments,
	    st.segments == 1 ? "" : "s", st.snapshot ? " and a snapshot" : "");
	if (expired > 0 || dropped > 0 || rp.bad > 0)
		log_info("journal: %llu finished job%s expired while loomd was "
		    "down; %llu never acknowledged; %llu record%s not understood",
		    (unsigned long long)expired, expired == 1 ? "" : "s",
		    (unsigned long long)dropped, (unsigned long long)rp.bad,
		    rp.bad == 1 ? "" : "s");
	return journal_start_thread(err, errlen);
}
