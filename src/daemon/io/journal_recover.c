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

#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/jobrecord.h"
#include "core/event.h"
#include "core/loomd.h"
#include "core/notes.h"
#include "core/queue.h"
#include "core/restore.h"
#include "io/journal.h"
#include "io/journal_file.h"
#include "io/journal_private.h"
#include "runtime/future.h"
#include "runtime/hashmap.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

/* One job as the records have it so far. */
struct replayed {
	struct hashmap_entry	 entry;
	struct job_restore	 r;
	bool			 submitted;
	char			*spec;		/* copies: the payloads go */
	char			*owner;
	char			*view;
	uint64_t		*children;	/* by index */
	size_t			 nchildren;
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
	struct hashmap		 jobs;
	struct hashmap		 notes[2];	/* events, queues */
	struct journal_counts	 counts;
	uint64_t		 bad;		/* records that do not read */
	uint64_t		 last_progress;
	void			(*progress)(void);
};

static char *
copy_bytes(const char *p, size_t len)
{
	char	*c = xmalloc(len + 1);

	memcpy(c, p, len);
	c[len] = '\0';
	return c;
}

static struct replayed *
replayed_get(struct replay *rp, uint64_t id)
{
	struct hashmap_entry	*e;
	struct replayed		*j;

	if ((e = hashmap_find_u64(&rp->jobs, id)) != NULL)
		return hashmap_item(e, struct replayed, entry);
	j = xcalloc(1, sizeof(*j));
	j->r.id = id;
	hashmap_add_u64(&rp->jobs, &j->entry, id);
	return j;
}

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
	free(j->view);
	j->view = NULL;
	j->r.view_len = 0;
	if (rec->kind == JOB_RECORD_FINISH) {
		j->view = copy_bytes(rec->view, rec->view_len);
		j->r.view_len = rec->view_len;
	}
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

static int
replay_record(void *arg, const void *payload, size_t len)
{
	struct replay		*rp = arg;
	struct job_record	 rec;
	struct replayed		*j;

	if (rp->progress != NULL && now_ns() - rp->last_progress > 1000000000) {
		rp->last_progress = now_ns();
		rp->progress();
	}
	if (job_record_read(payload, len, &rec) == -1) {
		rp->bad++;
		return 0;	/* framed and checksummed, yet not ours: skip */
	}
	if (rec.kind == JOB_RECORD_TYPE) {
		replay_type(&rec);
		return 0;
	}
	if (rec.kind == JOB_RECORD_COUNTS) {
		if (journal_counts_record(&rp->counts, &rec) == -1)
			rp->bad++;
		return 0;
	}
	if (rec.kind == JOB_RECORD_EVENT || rec.kind == JOB_RECORD_QUEUE) {
		replay_note(&rp->notes[rec.kind == JOB_RECORD_QUEUE], &rec);
		return 0;
	}
	j = replayed_get(rp, rec.id);
	if (rec.kind == JOB_RECORD_SUBMIT) {
		if (j->submitted)
			return 0;	/* a snapshot's and a segment's */
		j->submitted = true;
		j->r.parent = rec.parent;
		j->r.index = rec.index;
		j->r.created_ns = rec.created_ns;
		j->spec = copy_bytes(rec.spec, rec.spec_len);
		j->r.spec_len = rec.spec_len;
		if (rec.owner != NULL)
			j->owner = copy_bytes(rec.owner, rec.owner_len);
		if (!j->r.has_state)
			j->r.version = rec.version;
		return 0;
	}
	replayed_state(j, &rec);
	return 0;
}

static int
replayed_cmp(const void *a, const void *b)
{
	const struct replayed	*x = *(struct replayed *const *)a;
	const struct replayed	*y = *(struct replayed *const *)b;

	return (x->r.id > y->r.id) - (x->r.id < y->r.id);
}

/* Each child under its parent, by index. */
static void
replay_children(struct replay *rp, struct replayed **all, size_t n)
{
	struct hashmap_entry	*e;
	struct replayed		*p, *c;
	size_t			 i;

	for (i = 0; i < n; i++) {
		c = all[i];
		if (c->r.parent == 0 || !c->submitted ||
		    (e = hashmap_find_u64(&rp->jobs, c->r.parent)) == NULL)
			continue;
		p = hashmap_item(e, struct replayed, entry);
		if (c->r.index >= p->nchildren) {
			p->children = xreallocarray(p->children, c->r.index + 1,
			    sizeof(*p->children));
			memset(p->children + p->nchildren, 0, (c->r.index + 1 -
			    p->nchildren) * sizeof(*p->children));
			p->nchildren = c->r.index + 1;
		}
		p->children[c->r.index] = c->r.id;
	}
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

/* Make the jobs again, oldest first; how many came back. */
static uint64_t
replay_restore(struct replay *rp, uint64_t *expired, uint64_t *dropped)
{
	struct hashmap_iter	 it;
	struct hashmap_entry	*e;
	struct replayed		**all, *j;
	struct error		 err = { 0 };
	size_t			 n = 0, i;
	uint64_t		 restored = 0;
	int64_t			 now = now_epoch_ns();

	all = xcalloc(hashmap_count(&rp->jobs) + 1, sizeof(*all));
	for (e = hashmap_first(&rp->jobs, &it); e != NULL; e = hashmap_next(&it))
		all[n++] = hashmap_item(e, struct replayed, entry);
	qsort(all, n, sizeof(*all), replayed_cmp);
	replay_children(rp, all, n);
	for (i = 0; i < n; i++) {
		j = all[i];
		if (!j->submitted) {
			(*dropped)++;
			continue;
		}
		if (j->r.has_state && job_state_terminal(j->r.state) &&
		    j->r.expires_ns <= now) {
			(*expired)++;
			continue;
		}
		j->r.spec = j->spec;
		j->r.owner = j->owner;
		j->r.view = j->view;
		j->r.children = j->children;
		j->r.nchildren = j->nchildren;
		if (job_restore(&j->r, &err) == -1) {
			log_warnx("journal: job %llu cannot be made again: %s; it is "
			    "lost", (unsigned long long)j->r.id, err.message);
			error_clear(&err);
			continue;
		}
		restored++;
	}
	job_restore_go();
	/* The owners copy what they keep: the replay's copies can go. */
	replay_barrier();
	for (i = 0; i < n; i++) {
		j = all[i];
		free(j->spec);
		free(j->owner);
		free(j->view);
		free(j->children);
		free(j);
	}
	free(all);
	hashmap_free(&rp->jobs);
	return restored;
}

int
journal_open(const struct config *cfg, void (*progress)(void), char *err,
    size_t errlen)
{
	struct journal_file_options	 opts = { 0 };
	struct journal_replay_stats	 st;
	struct replay			 rp = { .progress = progress };
	char				 dir[4096];
	uint64_t			 start = now_ns(), restored;
	uint64_t			 expired = 0, dropped = 0;

	snprintf(dir, sizeof(dir), "%s/journal", cfg->state_dir);
	opts.max_bytes = cfg->journal_max_bytes;
	if ((J.jf = journal_file_open(dir, &opts, err, errlen)) == NULL)
		return -1;
	hashmap_init(&rp.jobs, NULL);
	hashmap_init(&rp.notes[0], note_key);
	hashmap_init(&rp.notes[1], note_key);
	journal_counts_init(&rp.counts);
	rp.last_progress = start;
	if (journal_file_replay(J.jf, replay_record, &rp, cfg->journal_repair, &st,
	    err, errlen) == -1) {
		journal_counts_free(&rp.counts);
		journal_file_close(J.jf);
		J.jf = NULL;
		return -1;
	}
	replay_notes(&rp);
	/* Before any job is back on a loop: it may count at once. */
	journal_counts_restore(&rp.counts);
	if (journal_counts_base(err, errlen) == -1) {
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
