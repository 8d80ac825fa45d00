/*
 * Jobs as records (core/jobrecord.h): written on the loop that publishes
 * the event, read back by replay.
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <string.h>

#include "core/job.h"
#include "core/job_private.h"
#include "core/jobrecord.h"
#include "runtime/textbuf.h"

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

static void
put_u8(struct textbuf *tb, uint8_t v)
{
	textbuf_add(tb, (const char *)&v, 1);
}

static void
put_u32(struct textbuf *tb, uint32_t v)
{
	unsigned char	b[4] = { v, v >> 8, v >> 16, v >> 24 };

	textbuf_add(tb, (const char *)b, 4);
}

static void
put_u64(struct textbuf *tb, uint64_t v)
{
	put_u32(tb, (uint32_t)v);
	put_u32(tb, (uint32_t)(v >> 32));
}

static void
put_bytes(struct textbuf *tb, const char *p, size_t len)
{
	put_u32(tb, (uint32_t)len);
	textbuf_add(tb, p, len);
}

static void
put_head(struct textbuf *tb, enum job_record_kind kind, const struct job *job)
{
	put_u8(tb, kind);
	put_u64(tb, job->reg.id);
	put_u32(tb, job->version);
}

bool
job_record_write(enum job_event ev, const struct job *job,
    const struct job_outcome *outcome, struct textbuf *tb)
{
	const struct job_spec	*s = job->spec;

	switch (ev) {
	case JOB_EVENT_SUBMIT:
		if (s->text == NULL)
			return false;
		put_head(tb, JOB_RECORD_SUBMIT, job);
		put_u64(tb, job->parent);
		put_u32(tb, job->index);
		put_u64(tb, (uint64_t)job->created_ns);
		put_bytes(tb, s->text, s->text_len);
		return true;
	case JOB_EVENT_STATE:
		put_head(tb, JOB_RECORD_STATE, job);
		put_u8(tb, job->state);
		put_u32(tb, job->attempt);
		put_u64(tb, (uint64_t)job->started_ns);
		put_u64(tb, (uint64_t)(job->state == JOB_PENDING ? job->due_ns : 0));
		return true;
	case JOB_EVENT_FINISH:
		put_head(tb, JOB_RECORD_FINISH, job);
		put_u8(tb, outcome->state);
		put_u32(tb, job->attempt);
		put_u64(tb, (uint64_t)job->started_ns);
		put_u64(tb, (uint64_t)job->finished_ns);
		put_u64(tb, (uint64_t)(job->finished_ns + (int64_t)(s->ttl * 1e9)));
		put_bytes(tb, outcome->view, outcome->view_len);
		return true;
	case JOB_EVENT_BEGIN:
	case JOB_EVENT_EXPIRE:
		/* Replay knows both: the first state from the spec, the end of
		 * a finished job from its FINISH record. */
		break;
	}
	return false;
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
	default:
		return -1;
	}
	return r.bad || rec->id == 0 ? -1 : 0;
}
