/*
 * Jobs as records (core/jobrecord.h): written on the loop that publishes
 * the event, read back by replay.
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/job.h"
#include "core/job_private.h"
#include "core/jobrecord.h"
#include "core/loomd.h"
#include "core/principal.h"
#include "runtime/textbuf.h"
#include "runtime/util.h"

static atomic_bool	job_record_keep;

void
job_record_specs(bool keep)
{
	atomic_store(&job_record_keep, keep);
}

bool
job_record_keeps_specs(void)
{
	return atomic_load_explicit(&job_record_keep, memory_order_relaxed);
}

void
record_buf_end(struct record_buf *rb)
{
	if (rb->n == rb->cap) {
		rb->cap = rb->cap ? rb->cap * 2 : 64;
		rb->ends = xreallocarray(rb->ends, rb->cap, sizeof(*rb->ends));
	}
	rb->ends[rb->n++] = (uint32_t)rb->tb.len;
}

void
record_buf_free(struct record_buf *rb)
{
	textbuf_free(&rb->tb);
	free(rb->ends);
	memset(rb, 0, sizeof(*rb));
}

/*
 * Records are little-endian fields.  Each record's fixed part is reserved
 * at once and stored field by field (the compiler makes each field one
 * store), its strings copied after it: not a call per byte string.
 */
static unsigned char *
put_reserve(struct textbuf *tb, size_t n)
{
	unsigned char	*p;

	if (tb->cap - tb->len <= n)
		textbuf_grow(tb, n);
	p = (unsigned char *)tb->p + tb->len;
	tb->len += n;
	return p;
}

static unsigned char *
enc_u8(unsigned char *p, uint8_t v)
{
	p[0] = v;
	return p + 1;
}

static unsigned char *
enc_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
	return p + 4;
}

static unsigned char *
enc_u64(unsigned char *p, uint64_t v)
{
	p = enc_u32(p, (uint32_t)v);
	return enc_u32(p, (uint32_t)(v >> 32));
}

static void
put_u8(struct textbuf *tb, uint8_t v)
{
	enc_u8(put_reserve(tb, 1), v);
}

static void
put_u64(struct textbuf *tb, uint64_t v)
{
	enc_u64(put_reserve(tb, 8), v);
}

static void
put_bytes(struct textbuf *tb, const char *p, size_t len)
{
	enc_u32(put_reserve(tb, 4), (uint32_t)len);
	textbuf_add(tb, p, len);
}

#define HEAD_SIZE	(1 + 8 + 4)	/* kind, id, version */
#define STATE_SIZE	(HEAD_SIZE + 1 + 4 + 8 + 8)

static unsigned char *
enc_head(unsigned char *p, enum job_record_kind kind, uint64_t id,
    uint32_t version)
{
	p = enc_u8(p, kind);
	p = enc_u64(p, id);
	return enc_u32(p, version);
}

static void
put_submit(struct textbuf *tb, const struct job *job, uint32_t version)
{
	unsigned char	*p;

	p = put_reserve(tb, HEAD_SIZE + 8 + 4 + 8 + 4);
	p = enc_head(p, JOB_RECORD_SUBMIT, job->reg.id, version);
	p = enc_u64(p, job->parent);
	p = enc_u32(p, job->index);
	p = enc_u64(p, (uint64_t)job->created_ns);
	enc_u32(p, (uint32_t)job->spec->text_len);
	textbuf_add(tb, job->spec->text, job->spec->text_len);
	if (job->reg.principal != NULL)
		put_bytes(tb, job->reg.principal->name,
		    strlen(job->reg.principal->name));
}

static void
put_state(struct textbuf *tb, const struct job *job)
{
	unsigned char	*p;

	p = put_reserve(tb, STATE_SIZE);
	p = enc_head(p, JOB_RECORD_STATE, job->reg.id, job->version);
	p = enc_u8(p, job->state);
	p = enc_u32(p, job->attempt);
	p = enc_u64(p, (uint64_t)job->started_ns);
	enc_u64(p, (uint64_t)(job->state == JOB_PENDING ? job->due_ns : 0));
}

/*
 * A record may not be larger than the journal takes (its file layer's
 * JOURNAL_RECORD_MAX, 64 MiB): a view past this keeps its state, not its
 * result, so that the job's end is kept whatever its size.
 */
#define JOB_RECORD_VIEW_MAX	((64u << 20) - 4096)

static void
put_finish(struct textbuf *tb, const struct job *job,
    const struct job_outcome *outcome)
{
	unsigned char	*p;
	char		 small[128];
	int		 len;

	p = put_reserve(tb, HEAD_SIZE + 1 + 4 + 8 + 8 + 8);
	p = enc_head(p, JOB_RECORD_FINISH, job->reg.id, job->version);
	p = enc_u8(p, outcome->state);
	p = enc_u32(p, job->attempt);
	p = enc_u64(p, (uint64_t)job->started_ns);
	p = enc_u64(p, (uint64_t)job->finished_ns);
	enc_u64(p, (uint64_t)(job->finished_ns +
	    (int64_t)(job->spec->ttl * 1e9)));
	if (outcome->view_len <= JOB_RECORD_VIEW_MAX) {
		put_bytes(tb, outcome->view, outcome->view_len);
		return;
	}
	len = snprintf(small, sizeof(small), "{\"id\":%llu,\"state\":\"%s\","
	    "\"result_lost\":true}", (unsigned long long)job->reg.id,
	    job_state_name(outcome->state));
	put_bytes(tb, small, (size_t)len);
}

bool
job_record_write(enum job_event ev, const struct job *job,
    const struct job_outcome *outcome, struct record_buf *rb)
{
	switch (ev) {
	case JOB_EVENT_SUBMIT:
		if (job->spec->text == NULL)
			return false;
		put_submit(&rb->tb, job, job->version);
		break;
	case JOB_EVENT_STATE:
		put_state(&rb->tb, job);
		break;
	case JOB_EVENT_FINISH:
		put_finish(&rb->tb, job, outcome);
		break;
	case JOB_EVENT_BEGIN:
	case JOB_EVENT_EXPIRE:
		/* Replay knows both: the first state from the spec, the end of
		 * a finished job from its FINISH record. */
		return false;
	}
	record_buf_end(rb);
	return true;
}

bool
job_record_drop_state(struct record_buf *rb, uint64_t id)
{
	const unsigned char	*p;
	size_t			 start;
	uint64_t		 rid = 0;
	int			 i;

	if (rb->n == 0)
		return false;
	start = rb->n > 1 ? rb->ends[rb->n - 2] : 0;
	if (rb->ends[rb->n - 1] - start != STATE_SIZE)
		return false;
	p = (const unsigned char *)rb->tb.p + start;
	if (p[0] != JOB_RECORD_STATE)
		return false;
	for (i = 7; i >= 0; i--)
		rid = rid << 8 | p[1 + i];
	if (rid != id)
		return false;
	rb->tb.len = start;
	rb->n--;
	return true;
}

bool
job_record_dump(struct record_buf *rb, bool first, size_t max)
{
	const struct job_outcome	*o;
	struct shard			*sh = shard_current();
	struct job			*job;

	/*
	 * Between slices the loop runs on: a job that expires meanwhile moves
	 * the cursor on (job_expire); one that comes in behind it was handed
	 * over after the snapshot began, so its records are in the segments
	 * after it.
	 */
	job = first ? TAILQ_FIRST(&sh->jobs) : sh->dumping;
	for (; job != NULL && rb->tb.len < max; job = TAILQ_NEXT(job, entry)) {
		if (job->spec->text == NULL)
			continue;
		put_submit(&rb->tb, job, 0);
		record_buf_end(rb);
		/* A finished job's end, even if its future waits for the
		 * batch that has it: that batch may be in a segment this
		 * snapshot replaces. */
		if (!job_state_terminal(job->state))
			put_state(&rb->tb, job);
		else if ((o = job->outcome) != NULL)
			put_finish(&rb->tb, job, o);
		else
			continue;
		record_buf_end(rb);
	}
	sh->dumping = job;
	return job == NULL;
}

void
note_record_write(int kind, const char *name, bool on, uint64_t seq,
    struct record_buf *rb)
{
	unsigned char	*p = put_reserve(&rb->tb, HEAD_SIZE + 1);

	p = enc_head(p, (enum job_record_kind)kind, seq, 0);
	enc_u8(p, on);
	put_bytes(&rb->tb, name, strlen(name));
	record_buf_end(rb);
}

void
counts_record_begin(uint64_t boot, unsigned int loop, struct record_buf *rb)
{
	enc_head(put_reserve(&rb->tb, HEAD_SIZE), JOB_RECORD_COUNTS, boot, loop);
}

void
counts_record_add(const char *queue, size_t queue_len, const char *type,
    size_t type_len, const uint64_t *n, size_t nn, struct record_buf *rb)
{
	size_t	i;

	put_bytes(&rb->tb, queue, queue_len);
	put_bytes(&rb->tb, type, type_len);
	put_u8(&rb->tb, (uint8_t)nn);
	for (i = 0; i < nn; i++)
		put_u64(&rb->tb, n[i]);
}

void
counts_record_end(struct record_buf *rb)
{
	record_buf_end(rb);
}

struct reader {
	const unsigned char	*p;
	size_t			 left;
	bool			 bad;
};

static const unsigned char *
take(struct reader *r, size_t n)
{
	const unsigned char	*p = r->p;

	if (r->bad || r->left < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static uint8_t
get_u8(struct reader *r)
{
	const unsigned char	*p = take(r, 1);

	return p != NULL ? p[0] : 0;
}

static uint32_t
get_u32(struct reader *r)
{
	const unsigned char	*p = take(r, 4);

	if (p == NULL)
		return 0;
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
get_u64(struct reader *r)
{
	uint64_t	lo = get_u32(r);

	return lo | (uint64_t)get_u32(r) << 32;
}

static const char *
get_bytes(struct reader *r, size_t *len)
{
	*len = get_u32(r);
	return (const char *)take(r, *len);
}

int
job_record_read(const void *payload, size_t len, struct job_record *rec)
{
	struct reader	r = { payload, len, false };
	uint8_t		state;

	memset(rec, 0, sizeof(*rec));
	rec->kind = get_u8(&r);
	rec->id = get_u64(&r);
	rec->version = get_u32(&r);
	switch (rec->kind) {
	case JOB_RECORD_SUBMIT:
		rec->parent = get_u64(&r);
		rec->index = get_u32(&r);
		rec->created_ns = (int64_t)get_u64(&r);
		rec->spec = get_bytes(&r, &rec->spec_len);
		/* Records of older versions end with the spec. */
		if (!r.bad && r.left > 0) {
			rec->owner = get_bytes(&r, &rec->owner_len);
			if (rec->owner_len == 0 || rec->owner_len > 64)
				r.bad = true;
		}
		break;
	case JOB_RECORD_STATE:
	case JOB_RECORD_FINISH:
		state = get_u8(&r);
		rec->state = state;
		rec->attempt = get_u32(&r);
		rec->started_ns = (int64_t)get_u64(&r);
		if (rec->kind == JOB_RECORD_STATE) {
			rec->due_ns = (int64_t)get_u64(&r);
			if (state > JOB_RUNNING)
				r.bad = true;
			break;
		}
		rec->finished_ns = (int64_t)get_u64(&r);
		rec->expires_ns = (int64_t)get_u64(&r);
		rec->view = get_bytes(&r, &rec->view_len);
		if (state < JOB_DONE || state > JOB_TIMED_OUT)
			r.bad = true;
		break;
	case JOB_RECORD_EVENT:
	case JOB_RECORD_QUEUE:
	case JOB_RECORD_TYPE:
		rec->on = get_u8(&r) != 0;
		rec->name = get_bytes(&r, &rec->name_len);
		if (rec->name_len == 0)
			r.bad = true;
		break;
	case JOB_RECORD_COUNTS:
		/* The entries, checked as they are read. */
		rec->name = (const char *)r.p;
		rec->name_len = r.left;
		break;
	default:
		return -1;
	}
	return r.bad || rec->id == 0 ? -1 : 0;
}

int
counts_record_next(struct job_record *rec, struct counts_entry *ce)
{
	struct reader	r = { (const unsigned char *)rec->name, rec->name_len,
			    false };
	unsigned int	nn, i;
	uint64_t	v;

	if (r.left == 0)
		return 0;
	memset(ce, 0, sizeof(*ce));
	ce->queue = get_bytes(&r, &ce->queue_len);
	ce->type = get_bytes(&r, &ce->type_len);
	nn = get_u8(&r);
	for (i = 0; i < nn; i++) {
		v = get_u64(&r);
		if (i < COUNTS_RECORD_MAX)
			ce->n[i] = v;
	}
	if (r.bad || ce->queue_len == 0 || ce->type_len == 0 ||
	    ce->queue_len > LOOM_NAME_MAX || ce->type_len > LOOM_NAME_MAX)
		return -1;
	rec->name = (const char *)r.p;
	rec->name_len = r.left;
	return 1;
}
