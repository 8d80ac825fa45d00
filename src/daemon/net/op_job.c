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
#include "core/job.h"
#include "core/loomd.h"
#include "core/registry.h"
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

/* On the job's owner loop. */
static void
stream_child(void *arg, size_t index, const struct job_outcome *o)
{
	struct stream	*st = arg;
	char		*text;
	size_t		 len;

	len = (size_t)xasprintf(&text, "{\"event\":\"child\",\"id\":%s,"
	    "\"index\":%zu,\"job\":%.*s}\n", st->id, index,
	    o != NULL ? (int)o->view_len : 4, o != NULL ? o->view : "null");
	conn_remote_send(st->remote, text, len);
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
bool
request_unfinished(struct request *r, uint64_t id, struct loop **owner,
    struct future **f)
{
	if (!registry_lookup(id, owner, f)) {
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

void
op_submit(struct request *r)
{
	struct error	  e = { 0 };
	json_t		 *spec = json_object_get(r->msg, "job");
	json_t		 *specs = json_object_get(r->msg, "jobs");
	struct job	**jobs = NULL, *one_job;
	struct future	**futures, *one_future;
	uint64_t	  id;
	size_t		  n = 0, i;
	bool		  wait = false, stream = false, batch = false;
	double		  timeout = 0;
	char		  base[64];
	json_t		 *out, *ticket;
	const struct job_outcome *o;
	struct stream	 *st = NULL;

	if (field_bool(r->msg, "", "wait", FIELD_OPTIONAL, &wait, &e) == -1 ||
	    field_bool(r->msg, "", "stream", FIELD_OPTIONAL, &stream, &e) == -1 ||
	    field_number_above(r->msg, "", "timeout", FIELD_OPTIONAL, 0,
	    WAIT_SECONDS_MAX, &timeout, &e) == -1)
		goto fail;
	if ((spec == NULL) == (specs == NULL)) {
		error_set(&e, "bad_request", "give exactly one of job and jobs");
		error_set_path(&e, spec == NULL ? "job" : "jobs");
		goto fail;
	}
	if (stream && !wait) {
		fields_fail(&e, "", "stream", "needs wait");
		goto fail;
	}
	batch = specs != NULL;
	if (batch) {
		if (!json_is_array(specs) || json_array_size(specs) == 0 ||
		    json_array_size(specs) > SUBMIT_BATCH_MAX) {
			fields_fail(&e, "", "jobs", "must be an array of 1 to %d job specs",
			    SUBMIT_BATCH_MAX);
			goto fail;
		}
		n = json_array_size(specs);
		jobs = xcalloc(n, sizeof(*jobs));
	} else {
		n = 1;
		one_job = NULL;
		jobs = &one_job;
	}

	/* All or nothing: parse every spec before any job exists. */
	for (i = 0; i < n; i++) {
		if (batch)
			snprintf(base, sizeof(base), "jobs[%zu]", i);
		if ((jobs[i] = job_parse(batch ? json_array_get(specs, i) : spec,
		    batch ? base : "job", &e)) == NULL)
			goto fail;
	}
	if (atomic_load(&loomd.draining)) {
		error_set(&e, "shutting_down", "the daemon is shutting down");
		goto fail;
	}
	if (registry_count() + job_count(jobs, n) > loomd.config->max_jobs) {
		error_set(&e, "busy", "too many jobs (max_jobs is %zu); retry later",
		    loomd.config->max_jobs);
		goto fail;
	}
	if (executor_full(jobs, n)) {
		error_set(&e, "busy", "the executor queue is full (executor_queue is "
		    "%zu); retry later", loomd.config->executor_queue);
		goto fail;
	}
	if (job_reserve(jobs, n, &e) == -1)
		goto fail;

	/* A waiting batch keeps its futures; one job that answers now needs none. */
	futures = batch || (wait && stream) ? xcalloc(n, sizeof(*futures)) :
	    &one_future;
	out = wait ? NULL : json_array();
	for (i = 0; i < n; i++) {
		bool	delayed = job_has_delay(jobs[i]);

		if (stream)
			job_listen(jobs[i], &stream_listener, stream_ref(&st, r));
		job_submit(jobs[i], &id, &futures[i]);
		jobs[i] = NULL;
		if (wait)
			continue;
		/* A job that finished at once (an echo on this loop) says so. */
		o = job_outcome(futures[i]);
		ticket = json_pack("{s:I,s:s}", "id", (json_int_t)id, "state",
		    o != NULL ? job_state_name(o->state) : delayed ? "pending" :
		    "queued");
		json_array_append_new(out, ticket);
	}
	if (batch)
		free(jobs);
	jobs = NULL;
	stream_unref(st);
	if (wait) {
		/* Finished already (an echo on this loop): answer now. */
		if (!stream && futures_done(futures, n)) {
			reply_views(r->conn, r->id, futures, n, batch);
			for (i = 0; i < n; i++)
				future_unref(futures[i]);
			if (futures != &one_future)
				free(futures);
			return;
		}
		if (futures == &one_future) {
			futures = xmalloc(sizeof(*futures));
			futures[0] = one_future;
		}
		wait_start(r, futures, n, batch, timeout);
		return;
	}
	for (i = 0; i < n; i++)
		future_unref(futures[i]);
	if (futures != &one_future)
		free(futures);
	if (batch)
		reply_ok(r->conn, r->id, json_pack("{s:o}", "jobs", out));
	else {
		reply_ok(r->conn, r->id, json_pack("{s:O}", "job", json_array_get(out, 0)));
		json_decref(out);
	}
	return;
fail:
	if (jobs != NULL) {
		for (i = 0; i < n; i++)
			job_discard(jobs[i]);
		if (batch)
			free(jobs);
	}
	reply_error(r->conn, r->id, &e);
	error_clear(&e);
}

/* status ---------------------------------------------------------------- */

struct status_req {
	struct conn	*conn;
	struct loop	*home;
	json_t		*id;
	uint64_t	 job;
	char		*view;		/* written by the owner, now ours */
	size_t		 view_len;
	bool		 finished;	/* then its future has the view */
};

static void
status_reply(void *arg)
{
	struct status_req	*s = arg;
	struct request		 r = { .conn = s->conn, .id = s->id };
	struct future		*f;
	struct loop		*owner;

	if (conn_alive(s->conn)) {
		if (s->view != NULL) {
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
	conn_unref(s->conn);
	json_decref(s->id);
	free(s);
}

static void
status_on_owner(void *arg)
{
	struct status_req	*s = arg;
	struct job		*job = registry_job(s->job);

	if (job != NULL && job_finished(job))
		s->finished = true;
	else if (job != NULL)
		s->view = job_view_text(job, &s->view_len);
	if (loop_post(s->home, status_reply, s) == -1) {
		free(s->view);	/* shutting down: the connection is gone */
		s->view = NULL;
	}
}

void
op_status(struct request *r)
{
	struct status_req	*s;
	struct error		 e = { 0 };
	struct future		*f;
	struct loop		*owner;
	uint64_t		 id;

	if (request_job_id(r, &id, &e) == -1) {
		reply_error(r->conn, r->id, &e);
		error_clear(&e);
		return;
	}
	if (!request_unfinished(r, id, &owner, &f))
		return;
	future_unref(f);
	s = xcalloc(1, sizeof(*s));
	s->conn = r->conn;
	s->home = conn_loop(r->conn);
	s->id = json_incref(r->id);
	s->job = id;
	conn_ref(r->conn);
	conn_request_start(r->conn);
	if (loop_is_current(owner)) {
		status_on_owner(s);
		return;
	}
	if (loop_post(owner, status_on_owner, s) == -1) {
		s->view = NULL;
		status_reply(s);
	}
}

/* result ---------------------------------------------------------------- */

void
op_result(struct request *r)
{
	struct error	 e = { 0 };
	struct future	*f, **futures;
	struct loop	*owner;
	uint64_t	 id;
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
	wait_start(r, futures, 1, false, timeout);
}

/* cancel ---------------------------------------------------------------- */

void
op_cancel(struct request *r)
{
	struct error	 e = { 0 };
	struct future	*f, **futures;
	struct loop	*owner;
	const char	*reason = "cancelled by request";
	uint64_t	 id;

	if (request_job_id(r, &id, &e) == -1 ||
	    field_string(r->msg, "", "reason", FIELD_OPTIONAL, 1024, &reason, &e) == -1) {
		reply_error(r->conn, r->id, &e);
		error_clear(&e);
		return;
	}
	if (!registry_lookup(id, &owner, &f)) {
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
	wait_start(r, futures, 1, false, 0);
	future_cancel(f, reason);
}

