/*
 * The ops on jobs: submit, status, result and cancel.  Everything runs on
 * the connection's loop; what needs a job's owner goes there with
 * loop_post() and comes back the same way.  A job's future carries its
 * outcome, so answering for a finished job never crosses threads.
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/durable.h"
#include "core/job.h"
#include "core/loomd.h"
#include "core/principal.h"
#include "core/registry.h"
#include "io/journal.h"
#include "net/conn.h"
#include "net/ops.h"
#include "runtime/executor.h"
#include "runtime/fields.h"
#include "runtime/future.h"
#include "runtime/loop.h"
#include "runtime/util.h"

#define SUBMIT_BATCH_MAX	10000
#define WAIT_SECONDS_MAX	SECONDS_MAX

/*
 * Submit with stream: each composite's children are told to the connection
 * as {"event":"child","id":ID,"index":i,"job":VIEW}, from the job's owner
 * loop through a handle any loop can send to.  One per request, shared by
 * its jobs.
 */
struct stream {
	atomic_uint		 refs;
	struct conn_remote	*remote;
	char			*id;		/* the request's id, as JSON text */
};

static struct stream *
stream_ref(struct stream **sp, struct request *r)
{
	struct stream	*st = *sp;

	if (st == NULL) {
		st = *sp = xcalloc(1, sizeof(*st));
		atomic_init(&st->refs, 1);	/* the request's, until submitted */
		st->remote = conn_remote_new(r->conn);
		if (r->id == NULL || (st->id = json_dumps(r->id,
		    JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
			st->id = xstrdup("null");
	}
	atomic_fetch_add(&st->refs, 1);
	return st;
}

static void
stream_unref(void *arg)
{
	struct stream	*st = arg;

	if (st == NULL || atomic_fetch_sub(&st->refs, 1) != 1)
		return;
	conn_remote_unref(st->remote);
	free(st->id);
	free(st);
}

/* One child's event on its way to the connection: the request's id is
 * the stream's, written from there, never copied per child. */
struct stream_event {
	struct stream	*stream;
	size_t		 index;
	size_t		 len;
	char		 view[];
};

/* On the connection's loop. */
static void
stream_write(struct conn *c, void *arg)
{
	struct stream_event	*ev = arg;
	char			 index[32];

	if (c != NULL) {
		conn_write_lit(c, "{\"event\":\"child\",\"id\":");
		conn_write(c, ev->stream->id, strlen(ev->stream->id));
		snprintf(index, sizeof(index), ",\"index\":%zu,\"job\":", ev->index);
		conn_write(c, index, strlen(index));
		conn_write(c, ev->view, ev->len);
		conn_write_lit(c, "}\n");
		conn_write_done(c);
	}
	stream_unref(ev->stream);
	free(ev);
}

/* On the job's owner loop. */
static void
stream_child(void *arg, size_t index, const struct job_outcome *o)
{
	struct stream		*st = arg;
	struct stream_event	*ev;
	const char		*view = o != NULL ? o->view : "null";
	size_t			 len = o != NULL ? o->view_len : 4;

	ev = xmalloc(sizeof(*ev) + len);
	ev->stream = st;
	ev->index = index;
	ev->len = len;
	memcpy(ev->view, view, len);
	atomic_fetch_add(&st->refs, 1);
	conn_remote_call(st->remote, stream_write, ev);
}

static const struct job_listener stream_listener = {
	.child = stream_child,
	.release = stream_unref,
};

/* Common field helpers -------------------------------------------------- */

int
request_job_id(struct request *r, uint64_t *id, struct error *e)
{
	json_int_t	v = 0;

	if (field_integer(r->msg, "", "job", FIELD_REQUIRED, 1, INT64_MAX, &v, e) == -1)
		return -1;
	*id = (uint64_t)v;
	return 0;
}

/*
 * The job a status or result names: true with its owner and a reference on
 * its future while it runs; false once answered (not found, or finished:
 * its view is the answer).
 */
/*
 * Another principal's job is, to a request that sees only its own, a job
 * that does not exist: not_found tells nothing of what others run.
 */
bool
request_sees(const struct request *r, uint64_t id)
{
	return r->only == NULL || registry_principal(id) == r->only;
}

bool
request_unfinished(struct request *r, uint64_t id, struct loop **owner,
    struct future **f)
{
	if (!request_sees(r, id) || !registry_lookup(id, owner, f)) {
		reply_not_found(r, id);
		return false;
	}
	if (future_state(*f) == FUTURE_DONE) {
		reply_views(r->conn, r->id, f, 1, false);
		future_unref(*f);
		return false;
	}
	return true;
}

/* submit ---------------------------------------------------------------- */

/* Backpressure for CPU work: its queue must have room for the batch now. */
static bool
executor_full(struct job *const *jobs, size_t n)
{
	struct executor_stats	st;
	size_t			cpu = 0, i;

	for (i = 0; i < n; i++)
		cpu += job_uses_executor(jobs[i]);
	if (cpu == 0)
		return false;
	executor_get_stats(loomd.executor, &st);
	return st.queued + cpu > st.max_queue;
}

static bool
futures_done(struct future *const *futures, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (!future_done(futures[i]))
			return false;
	}
	return true;
}

/* One submit: its options and its jobs (one_job when it is not a batch). */
struct submit {
	struct job	**jobs;
	struct job	 *one_job;
	size_t		  n;
	bool		  batch;
	bool		  wait;
	bool		  stream;
	double		  timeout;
};

/* One spec, with its text as it came in the request line if it is known:
 * a store keeps that rather than the JSON written again. */
static struct job *
submit_parse(struct request *r, const json_t *spec, const char *base,
    struct error *e)
{
	const struct json_span	*sp = json_span_of(&r->spans, spec);

	if (sp == NULL)
		return job_parse(spec, base, e);
	return job_parse_as(spec, base, r->line + sp->off, sp->len, e);
}

/* The request's fields, then every spec: all or nothing, before any job. */
static int
submit_read(struct request *r, struct submit *s, struct error *e)
{
	json_t	*spec = json_object_get(r->msg, "job");
	json_t	*specs = json_object_get(r->msg, "jobs");
	char	 base[64];
	size_t	 i;

	if (field_bool(r->msg, "", "wait", FIELD_OPTIONAL, &s->wait, e) == -1 ||
	    field_bool(r->msg, "", "stream", FIELD_OPTIONAL, &s->stream, e) == -1 ||
	    field_number_above(r->msg, "", "timeout", FIELD_OPTIONAL, 0,
	    WAIT_SECONDS_MAX, &s->timeout, e) == -1)
		return -1;
	if ((spec == NULL) == (specs == NULL)) {
		error_set(e, "bad_request", "give exactly one of job and jobs");
		error_set_path(e, spec == NULL ? "job" : "jobs");
		return -1;
	}
	if (s->stream && !s->wait)
		return fields_fail(e, "", "stream", "needs wait");
	s->batch = specs != NULL;
	if (!s->batch) {
		s->n = 1;
		s->jobs = &s->one_job;
		return (s->one_job = submit_parse(r, spec, "job", e)) == NULL ?
		    -1 : 0;
	}
	if (!json_is_array(specs) || json_array_size(specs) == 0 ||
	    json_array_size(specs) > SUBMIT_BATCH_MAX)
		return fields_fail(e, "", "jobs", "must be an array of 1 to %d job "
		    "specs", SUBMIT_BATCH_MAX);
	s->n = json_array_size(specs);
	s->jobs = xcalloc(s->n, sizeof(*s->jobs));
	for (i = 0; i < s->n; i++) {
		snprintf(base, sizeof(base), "jobs[%zu]", i);
		if ((s->jobs[i] = submit_parse(r, json_array_get(specs, i), base,
		    e)) == NULL)
			return -1;
	}
	return 0;
}

static bool
submit_command_allowed(const char *command, void *arg)
{
	const struct config_token	*t = arg;
	size_t				 i;

	for (i = 0; t->commands != NULL && t->commands[i] != NULL; i++) {
		if (strcmp(t->commands[i], command) == 0)
			return true;
	}
	return false;
}

/* The spec's path, for an error about it. */
static void
submit_path(struct submit *s, size_t i, const char *below, struct error *e)
{
	char	path[128];

	if (s->batch)
		snprintf(path, sizeof(path), "jobs[%zu]%s", i, below);
	else
		snprintf(path, sizeof(path), "job%s", below);
	error_set_path(e, path);
}

/*
 * A token that sees only its own jobs may wait only for its own: another's
 * job in `after` is one it does not know of (its outcome would tell).
 */
static int
submit_after_own(struct request *r, struct submit *s, size_t i,
    struct error *e)
{
	const uint64_t	*after;
	size_t		 n, j;
	char		 below[48];

	if (r->rights.roles & (ROLE_READ | ROLE_ADMIN))
		return 0;
	n = job_after(s->jobs[i], &after);
	for (j = 0; j < n; j++) {
		if (registry_principal(after[j]) == r->rights.principal)
			continue;
		error_set(e, "not_found", "no job %llu", (unsigned long long)after[j]);
		snprintf(below, sizeof(below), ".after[%zu]", j);
		submit_path(s, i, below, e);
		return -1;
	}
	return 0;
}

/*
 * Who submits the jobs, and whether it may: a token without admin runs
 * only the exec commands it lists, children of composites included.
 */
static int
submit_owner(struct request *r, struct submit *s, struct error *e)
{
	const struct config_token	*t = r->rights.token;
	const char			*denied;
	size_t				 i;

	for (i = 0; i < s->n; i++) {
		job_set_principal(s->jobs[i], r->rights.principal);
		if (t == NULL || (r->rights.roles & ROLE_ADMIN))
			continue;
		if (submit_after_own(r, s, i, e) == -1)
			return -1;
		if ((denied = job_command_denied(s->jobs[i], submit_command_allowed,
		    (void *)t)) != NULL) {
			error_set(e, "forbidden", "token %s may not run command \"%s\" "
			    "(see its commands)", t->name, denied);
			submit_path(s, i, "", e);
			return -1;
		}
	}
	return 0;
}

/* A token's share of max_jobs: its own, or token_max_jobs. */
static int
submit_share(struct request *r, size_t n, struct error *e)
{
	const struct config_token	*t = r->rights.token;
	size_t				 max;

	if (t == NULL)
		return 0;
	max = t->max_jobs != 0 ? t->max_jobs : loomd.config->token_max_jobs;
	if (max == 0 || principal_jobs(r->rights.principal) + n <= max)
		return 0;
	error_set(e, "busy", "too many jobs for token %s (its max_jobs is %zu); "
	    "retry later", t->name, max);
	return -1;
}

/* Room for them all now, or busy. */
static int
submit_admit(struct request *r, struct submit *s, struct error *e)
{
	if (atomic_load(&loomd.draining)) {
		error_set(e, "shutting_down", "the daemon is shutting down");
		return -1;
	}
	if (journal_refusing()) {
		error_set(e, "unavailable", "the journal cannot take more (the disk "
		    "is full, or journal_max_bytes is reached); nothing was submitted");
		return -1;
	}
	if (registry_count() + job_count(s->jobs, s->n) > loomd.config->max_jobs) {
		error_set(e, "busy", "too many jobs (max_jobs is %zu); retry later",
		    loomd.config->max_jobs);
		return -1;
	}
	if (submit_share(r, job_count(s->jobs, s->n), e) == -1)
		return -1;
	/* Like Redis's maxmemory with noeviction: results are never dropped
	 * before their ttl to make room; new work waits for room instead.
	 * These jobs' specs are counted already (job_parse). */
	if (loomd.config->max_result_bytes != 0 &&
	    job_held_bytes() > loomd.config->max_result_bytes) {
		error_set(e, "busy", "jobs would hold more than max_result_bytes "
		    "(%zu) of specs and results; retry once some finish or expire",
		    loomd.config->max_result_bytes);
		return -1;
	}
	if (executor_full(s->jobs, s->n)) {
		error_set(e, "busy", "the executor queue is full (executor_queue is "
		    "%zu); retry later", loomd.config->executor_queue);
		return -1;
	}
	return job_reserve(s->jobs, s->n, e);
}

static void
submit_free(struct submit *s)
{
	size_t	i;

	if (s->jobs == NULL)
		return;
	for (i = 0; i < s->n; i++)
		job_discard(s->jobs[i]);
	if (s->batch)
		free(s->jobs);
	s->jobs = NULL;
}

/* Hand every job over; a ticket for each unless the answer waits. */
static json_t *
submit_jobs(struct request *r, struct submit *s, struct future **futures,
    uint64_t *ids)
{
	const struct job_outcome	*o;
	struct stream			*st = NULL;
	json_t				*tickets = s->wait ? NULL : json_array();
	uint64_t			 id;
	size_t				 i;
	bool				 delayed;

	for (i = 0; i < s->n; i++) {
		delayed = job_has_delay(s->jobs[i]);
		if (s->stream)
			job_listen(s->jobs[i], &stream_listener, stream_ref(&st, r));
		job_submit(s->jobs[i], &id, &futures[i]);
		s->jobs[i] = NULL;
		if (s->wait) {
			ids[i] = id;
			continue;
		}
		/* A job that finished at once (an echo on this loop) says so. */
		o = job_outcome(futures[i]);
		json_array_append_new(tickets, json_pack("{s:I,s:s}", "id",
		    (json_int_t)id, "state", o != NULL ? job_state_name(o->state) :
		    delayed ? "pending" : "queued"));
	}
	stream_unref(st);
	submit_free(s);
	return tickets;
}

/* Tickets, once the records of the jobs' submission are durable. */
static void
submit_tickets(struct request *r, bool batch, json_t *tickets)
{
	json_t	*fields;

	if (batch)
		fields = json_pack("{s:o}", "jobs", tickets);
	else {
		fields = json_pack("{s:O}", "job", json_array_get(tickets, 0));
		json_decref(tickets);
	}
	reply_ok_durable(r->conn, r->id, fields);
}

/*
 * A submit with wait, no timeout and no stream, while its records are not
 * yet durable: the answer is looked at again once they are.  Jobs that
 * finished on this loop (an echo) have their futures completed by then
 * (job_complete's wait comes first in the same FIFO), and are answered
 * there and then, without a wait's callbacks on every future; any other
 * job is waited for as usual (a job can finish no sooner: its SUBMIT is in
 * these records).
 */
struct submit_later {
	struct conn	 *conn;
	json_t		 *id;
	struct future	**futures;	/* NULL: the one below */
	uint64_t	 *ids;
	struct future	 *one;
	uint64_t	  one_id;
	size_t		  n;
	bool		  batch;
};

/* One element, for wait_start(), which frees it. */
static void *
submit_copy(const void *p, size_t size)
{
	void	*copy = xmalloc(size);

	memcpy(copy, p, size);
	return copy;
}

static void
submit_later_run(void *arg)
{
	struct submit_later	*sl = arg;
	struct request		 r = { .conn = sl->conn, .id = sl->id };
	struct future		**futures = sl->futures != NULL ? sl->futures :
				    &sl->one;
	size_t			 i;
	/* Not at shutdown, once the loops have stopped (durable_release_all):
	 * nothing goes out any more. */
	bool			 alive = conn_alive(sl->conn) &&
				    loop_is_current(conn_loop(sl->conn));

	if (alive && (!futures_done(futures, sl->n) ||
	    !conn_has_room(sl->conn))) {
		/* Its own request from here on; wait_start has them. */
		if (sl->futures == NULL)
			wait_start(&r, submit_copy(&sl->one, sizeof(sl->one)),
			    submit_copy(&sl->one_id, sizeof(sl->one_id)), 1,
			    sl->batch, 0, true);
		else
			wait_start(&r, sl->futures, sl->ids, sl->n, sl->batch, 0,
			    true);
		conn_request_done(sl->conn);
	} else {
		if (alive) {
			reply_views(sl->conn, sl->id, futures, sl->n, sl->batch);
			conn_request_done(sl->conn);
		}
		for (i = 0; i < sl->n; i++)
			future_unref(futures[i]);
		free(sl->futures);
		free(sl->ids);
	}
	conn_unref(sl->conn);
	json_decref(sl->id);
	free(sl);
}

/* futures and ids: the caller's, or (n == 1, not a batch) its locals. */
static void
submit_later(struct request *r, struct future **futures, uint64_t *ids,
    size_t n, bool batch, bool locals)
{
	struct submit_later	*sl = xmalloc(sizeof(*sl));

	sl->conn = r->conn;
	sl->id = json_incref(r->id);
	if (locals) {
		sl->futures = NULL;
		sl->ids = NULL;
		sl->one = futures[0];
		sl->one_id = ids[0];
	} else {
		sl->futures = futures;
		sl->ids = ids;
	}
	sl->n = n;
	sl->batch = batch;
	conn_ref(r->conn);
	conn_request_start(r->conn);
	durable_then(submit_later_run, sl);
}

void
op_submit(struct request *r)
{
	struct submit	  s = { 0 };
	struct error	  e = { 0 };
	struct future	**futures, *one_future;
	json_t		 *tickets;
	uint64_t	 *ids = NULL, one_id;
	size_t		  i;

	if (submit_read(r, &s, &e) == -1 || submit_owner(r, &s, &e) == -1 ||
	    submit_admit(r, &s, &e) == -1) {
		submit_free(&s);
		reply_error(r->conn, r->id, &e);
		error_clear(&e);
		return;
	}
	/* A waiting batch keeps its futures; one job that answers now, or
	 * once it is durable, needs none. */
	futures = s.batch || (s.wait && s.stream) ? xcalloc(s.n, sizeof(*futures)) :
	    &one_future;
	if (s.wait)
		ids = futures == &one_future ? &one_id : xcalloc(s.n, sizeof(*ids));
	tickets = submit_jobs(r, &s, futures, ids);
	/* Done already (with a journal, only jobs its keys named: a future is
	 * complete once the job's records are durable; see wait_done): answer
	 * now.  Else the answer waits for the jobs, or a ticket for the
	 * records of their submission to be durable. */
	if (s.wait && !s.stream && futures_done(futures, s.n)) {
		reply_views(r->conn, r->id, futures, s.n, s.batch);
		for (i = 0; i < s.n; i++)
			future_unref(futures[i]);
	} else if (s.wait) {
		if (!s.stream && s.timeout == 0 && !durable_done(durable_mark())) {
			submit_later(r, futures, ids, s.n, s.batch,
			    futures == &one_future);
			return;
		}
		if (futures == &one_future) {
			futures = submit_copy(&one_future, sizeof(one_future));
			ids = submit_copy(&one_id, sizeof(one_id));
		}
		wait_start(r, futures, ids, s.n, s.batch, s.timeout, true);
		return;
	} else {
		for (i = 0; i < s.n; i++)
			future_unref(futures[i]);
		submit_tickets(r, s.batch, tickets);
	}
	if (futures != &one_future)
		free(futures);
	if (ids != &one_id)
		free(ids);
}

/* status and retry: asked of the job's owner --------------------------- */

struct owner_req {
	struct conn	*conn;
	struct loop	*home;
	json_t		*id;
	uint64_t	 job;
	bool		 retry;		/* else status */
	/* Written by the owner, then ours. */
	char		*view;		/* status of an unfinished job */
	size_t		 view_len;
	bool		 finished;	/* status: its future has the view */
	enum job_state	 state;		/* retry: the state it is in now */
	struct error	 error;		/* retry refused */
};

static void
owner_reply(void *arg)
{
	struct owner_req	*s = arg;
	struct request		 r = { .conn = s->conn, .id = s->id };
	struct future		*f;
	struct loop		*owner;

	if (conn_alive(s->conn)) {
		if (s->error.code != NULL)
			reply_error(s->conn, s->id, &s->error);
		else if (s->retry)
			reply_ok(s->conn, s->id, json_pack("{s:{s:I,s:s}}", "job",
			    "id", (json_int_t)s->job, "state", job_state_name(s->state)));
		else if (s->view != NULL) {
			reply_begin(s->conn, s->id, false);
			conn_write(s->conn, s->view, s->view_len);
			reply_end(s->conn, false);
		} else if (s->finished && registry_lookup(s->job, &owner, &f)) {
			reply_views(s->conn, s->id, &f, 1, false);
			future_unref(f);
		} else
			reply_not_found(&r, s->job);
		conn_request_done(s->conn);
	}
	free(s->view);
	error_clear(&s->error);
	conn_unref(s->conn);
	json_decref(s->id);
	free(s);
}

static void
owner_send(void *arg)
{
	struct owner_req	*s = arg;

	/* Shutting down, the home loop gone: so is the connection. */
	if (loop_post(s->home, owner_reply, s) == -1)
		owner_reply(s);
}

static void
owner_answer(void *arg)
{
	struct owner_req	*s = arg;
	struct job		*job = registry_job(s->job);

	if (s->retry)
		job_retry(s->job, &s->state, &s->error);
	else if (job != NULL && job_finished(job))
		s->finished = true;
	else if (job != NULL)
		s->view = job_view_text(job, &s->view_len);
	/* What it tells must be durable before it leaves the owner. */
	durable_then(owner_send, s);
}

/* Ask the owner of job `id` (its future's owner) and answer when it has. */
static void
owner_ask(struct request *r, struct loop *owner, uint64_t id, bool retry)
{
	struct owner_req	*s = xcalloc(1, sizeof(*s));

	s->conn = r->conn;
	s->home = conn_loop(r->conn);
	s->id = json_incref(r->id);
	s->job = id;
	s->retry = retry;
	conn_ref(r->conn);
	conn_request_start(r->conn);
	if (loop_is_current(owner)) {
		owner_answer(s);
		return;
	}
	if (loop_post(owner, owner_answer, s) == -1)
		owner_reply(s);
}

/* status and retry: the job, then its owner's answer. */
static void
owner_op(struct request *r, bool retry)
{
	struct error	 e = { 0 };
	struct future	*f;
	struct loop	*owner;
	uint64_t	 id;

	if (request_job_id(r, &id, &e) == -1) {
		reply_error(r->conn, r->id, &e);
		error_clear(&e);
		return;
	}
	/* A finished job's status is its outcome: no need to ask its owner. */
	if (!retry && !request_unfinished(r, id, &owner, &f))
		return;
	if (retry && (!request_sees(r, id) || !registry_lookup(id, &owner, &f))) {
		reply_not_found(r, id);
		return;
	}
	future_unref(f);
	owner_ask(r, owner, id, retry);
}

void
op_status(struct request *r)
{
	owner_op(r, false);
}

void
op_retry(struct request *r)
{
	owner_op(r, true);
}

/* result ---------------------------------------------------------------- */

void
op_result(struct request *r)
{
	struct error	 e = { 0 };
	struct future	*f, **futures;
	struct loop	*owner;
	uint64_t	 id, *ids;
	bool		 wait = false;
	double		 timeout = 0;

	if (request_job_id(r, &id, &e) == -1 ||
	    field_bool(r->msg, "", "wait", FIELD_OPTIONAL, &wait, &e) == -1 ||
	    field_number_above(r->msg, "", "timeout", FIELD_OPTIONAL, 0,
	    WAIT_SECONDS_MAX, &timeout, &e) == -1) {
		reply_error(r->conn, r->id, &e);
		error_clear(&e);
		return;
	}
	if (!request_unfinished(r, id, &owner, &f))
		return;
	if (!wait && !future_done(f)) {
		reply_fail(r->conn, r->id, "invalid_state",
		    "job %llu has not finished (ask with wait to wait for it)",
		    (unsigned long long)id);
		future_unref(f);
		return;
	}
	futures = xmalloc(sizeof(*futures));
	futures[0] = f;
	ids = xmalloc(sizeof(*ids));
	ids[0] = id;
	wait_start(r, futures, ids, 1, false, timeout, false);
}

/* cancel ---------------------------------------------------------------- */

void
op_cancel(struct request *r)
{
	struct error	 e = { 0 };
	struct future	*f, **futures;
	struct loop	*owner;
	const char	*reason = "cancelled by request";
	uint64_t	 id, *ids;

	if (request_job_id(r, &id, &e) == -1 ||
	    field_string(r->msg, "", "reason", FIELD_OPTIONAL, 1024, &reason, &e) == -1) {
		reply_error(r->conn, r->id, &e);
		error_clear(&e);
		return;
	}
	if (!request_sees(r, id) || !registry_lookup(id, &owner, &f)) {
		reply_not_found(r, id);
		return;
	}
	if (future_done(f)) {
		reply_fail(r->conn, r->id, "invalid_state",
		    "job %llu has already finished", (unsigned long long)id);
		future_unref(f);
		return;
	}
	/* Answer once the job is terminal: the owner's hook stops it. */
	futures = xmalloc(sizeof(*futures));
	futures[0] = f;
	ids = xmalloc(sizeof(*ids));
	ids[0] = id;
	wait_start(r, futures, ids, 1, false, 0, false);
	future_cancel(f, reason);
}

