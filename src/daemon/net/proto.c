/*
 * The op table (tmux's cmd_table) and the ops.  Everything runs on the
 * connection's loop; what needs a job's owner goes there with loop_post()
 * and comes back the same way.  A job's future carries its terminal view,
 * so answering for a finished job never crosses threads.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "net/conn.h"
#include "core/event.h"
#include "runtime/executor.h"
#include "runtime/fields.h"
#include "runtime/future.h"
#include "core/job.h"
#include "runtime/jsonload.h"
#include "runtime/log.h"
#include "core/loomd.h"
#include "runtime/loop.h"
#include "net/proto.h"
#include "core/queue.h"
#include "core/registry.h"
#include "runtime/util.h"
#include "net/watch.h"

#define SUBMIT_BATCH_MAX	10000
#define LIST_LIMIT_DEFAULT	100
#define LIST_LIMIT_MAX		1000
#define WAIT_SECONDS_MAX	SECONDS_MAX

struct request {
	struct conn	*conn;
	json_t		*msg;
	json_t		*id;		/* borrowed from msg */
};

struct op {
	const char	*name;
	const char	*const *fields;	/* besides "op" and "id" */
	void		(*handle)(struct request *);
};

/* Waits --------------------------------------------------------------- */

/*
 * A request answered when jobs finish: submit with wait, result with wait,
 * cancel.  It holds one reference for itself and one per done callback
 * still registered; the callbacks run on this loop.
 */
struct proto_wait {
	TAILQ_ENTRY(proto_wait)	 entry;
	struct conn		*conn;
	json_t			*id;
	struct future		**futures;
	size_t			 n;
	size_t			 remaining;
	unsigned int		 refs;
	bool			 batch;		/* answer "jobs": [...] */
	bool			 answered;
	bool			 timed;
	struct loop_event	 timer;
};

static void
wait_unref(struct proto_wait *w)
{
	size_t	i;

	if (--w->refs > 0)
		return;
	for (i = 0; i < w->n; i++)
		future_unref(w->futures[i]);
	free(w->futures);
	json_decref(w->id);
	conn_unref(w->conn);
	free(w);
}

static void	wait_done(struct future *, void *);

/* Stop waiting: answered, timed out, or the connection went away. */
static void
wait_end(struct proto_wait *w)
{
	size_t	i;

	w->answered = true;
	if (w->timed)
		event_del(&w->timer.ev);
	for (i = 0; i < w->n; i++) {
		if (future_remove_done(w->futures[i], wait_done, w))
			w->refs--;	/* never ran, never will */
	}
	TAILQ_REMOVE(&conn_proto(w->conn)->waits, w, entry);
	conn_request_done(w->conn);
	wait_unref(w);
}

/* {"id":…,"ok":true,"job": or "jobs":[, then the views, then the end. */
static void
reply_begin(struct conn *c, json_t *id, bool batch)
{
	conn_write(c, "{", 1);
	if (id != NULL) {
		conn_write_lit(c, "\"id\":");
		conn_write_json(c, id);
		conn_write(c, ",", 1);
	}
	if (batch)
		conn_write_lit(c, "\"ok\":true,\"jobs\":[");
	else
		conn_write_lit(c, "\"ok\":true,\"job\":");
}

static void
reply_end(struct conn *c, bool batch)
{
	conn_write(c, batch ? "]}\n" : "}\n", batch ? 3 : 2);
	conn_write_done(c);
}

/*
 * {"id":…,"ok":true,"job":VIEW} or "jobs":[VIEW…] for finished jobs, from
 * their futures; the first that did not complete done answers with its
 * error instead.  The views are written from their text, never referenced.
 */
static void
reply_views(struct conn *c, json_t *id, struct future *const *futures, size_t n,
    bool batch)
{
	const char	*text = NULL;
	size_t		 i, len;

	/* One job with a view (the common answer): one look at its future. */
	if (n == 1 && (text = future_text(futures[0], &len)) == NULL &&
	    future_state(futures[0]) != FUTURE_DONE) {
		conn_reply_error(c, id, future_error(futures[0]));
		return;
	}
	for (i = 0; n > 1 && i < n; i++) {
		if (future_state(futures[i]) != FUTURE_DONE) {
			conn_reply_error(c, id, future_error(futures[i]));
			return;
		}
	}
	reply_begin(c, id, batch);
	for (i = 0; i < n; i++) {
		if (i > 0)
			conn_write(c, ",", 1);
		if (n > 1)
			text = future_text(futures[i], &len);
		if (text != NULL)
			conn_write(c, text, len);
		else
			conn_write_json(c, future_result(futures[i]));
	}
	reply_end(c, batch);
}

static void
wait_answer(struct proto_wait *w)
{
	reply_views(w->conn, w->id, w->futures, w->n, w->batch);
	wait_end(w);
}

/* A finished job's view, from its future. */
static void
reply_view(struct request *r, struct future *f)
{
	reply_views(r->conn, r->id, &f, 1, false);
}

static void
wait_done(struct future *f, void *arg)
{
	struct proto_wait	*w = arg;

	w->remaining--;
	if (!w->answered && w->remaining == 0)
		wait_answer(w);
	wait_unref(w);
}

static void
wait_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct proto_wait	*w = arg;

	w->timed = false;
	conn_reply_fail(w->conn, w->id, "timeout",
	    "the wait timed out; the job goes on");
	wait_end(w);
}

/* Takes the futures (and their references). */
static void
wait_start(struct request *r, struct future **futures, size_t n, bool batch,
    double timeout)
{
	struct proto_wait	*w = xcalloc(1, sizeof(*w));
	struct timeval		 tv;
	size_t			 i;

	w->conn = r->conn;
	conn_ref(w->conn);
	w->id = json_incref(r->id);
	w->futures = futures;
	w->n = w->remaining = n;
	w->batch = batch;
	w->refs = 1 + n;
	TAILQ_INSERT_TAIL(&conn_proto(r->conn)->waits, w, entry);
	conn_request_start(r->conn);
	if (timeout > 0) {
		w->timed = true;
		loop_event_assign(&w->timer, conn_loop(r->conn), -1, 0,
		    wait_timeout, w);
		seconds_to_timeval(timeout, &tv);
		event_add(&w->timer.ev, &tv);
	}
	/* Callbacks on futures already complete are posted, never run here. */
	for (i = 0; i < n; i++)
		future_on_done(futures[i], conn_loop(r->conn), wait_done, w);
}

void
proto_conn_init(struct conn *c, struct proto_state *ps)
{
	TAILQ_INIT(&ps->waits);
	ps->watches = NULL;
}

void
proto_conn_closed(struct conn *c, struct proto_state *ps)
{
	struct proto_wait	*w;

	while ((w = TAILQ_FIRST(&ps->waits)) != NULL)
		wait_end(w);
}

bool
proto_conn_busy(const struct conn *c, const struct proto_state *ps)
{
	return ps->watches != NULL;
}

/* Common field helpers -------------------------------------------------- */

static int
request_job_id(struct request *r, uint64_t *id, struct error *e)
{
	json_int_t	v = 0;

	if (field_integer(r->msg, "", "job", FIELD_REQUIRED, 1, INT64_MAX, &v, e) == -1)
		return -1;
	*id = (uint64_t)v;
	return 0;
}

static void
reply_not_found(struct request *r, uint64_t id)
{
	struct error	e = { 0 };

	error_set(&e, "not_found", "no job %llu (it never existed, or its "
	    "result expired)", (unsigned long long)id);
	error_set_path(&e, "job");
	conn_reply_error(r->conn, r->id, &e);
	error_clear(&e);
}

/*
 * The job a status or result names: true with its owner and a reference on
 * its future while it runs; false once answered (not found, or finished:
 * its view is the answer).
 */
static bool
request_unfinished(struct request *r, uint64_t id, struct loop **owner,
    struct future **f)
{
	if (!registry_lookup(id, owner, f)) {
		reply_not_found(r, id);
		return false;
	}
	if (future_state(*f) == FUTURE_DONE) {
		reply_view(r, *f);
		future_unref(*f);
		return false;
	}
	return true;
}

/* ping ------------------------------------------------------------------ */

static void
op_ping(struct request *r)
{
	conn_reply(r->conn, r->id, json_pack("{s:s,s:f}", "version", PACKAGE_VERSION,
	    "uptime", now_epoch() - loomd.started_at));
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

static void
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
	json_t		 *out, *ticket, *view;

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
			job_set_stream(jobs[i], conn_remote_new(r->conn, r->id));
		job_submit(jobs[i], &id, &futures[i]);
		jobs[i] = NULL;
		if (wait)
			continue;
		/* A job that finished at once (an echo on this loop) says so. */
		view = future_result(futures[i]);
		ticket = json_pack("{s:I,s:s}", "id", (json_int_t)id, "state",
		    view != NULL ? json_string_value(json_object_get(view, "state")) :
		    delayed ? "pending" : "queued");
		json_array_append_new(out, ticket);
	}
	if (batch)
		free(jobs);
	jobs = NULL;
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
		conn_reply(r->conn, r->id, json_pack("{s:o}", "jobs", out));
	else {
		conn_reply(r->conn, r->id, json_pack("{s:O}", "job", json_array_get(out, 0)));
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
	conn_reply_error(r->conn, r->id, &e);
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
			reply_view(&r, f);
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

static void
op_status(struct request *r)
{
	struct status_req	*s;
	struct error		 e = { 0 };
	struct future		*f;
	struct loop		*owner;
	uint64_t		 id;

	if (request_job_id(r, &id, &e) == -1) {
		conn_reply_error(r->conn, r->id, &e);
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

static void
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
		conn_reply_error(r->conn, r->id, &e);
		error_clear(&e);
		return;
	}
	if (!request_unfinished(r, id, &owner, &f))
		return;
	if (!wait && !future_done(f)) {
		conn_reply_fail(r->conn, r->id, "invalid_state",
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

static void
op_cancel(struct request *r)
{
	struct error	 e = { 0 };
	struct future	*f, **futures;
	struct loop	*owner;
	const char	*reason = "cancelled by request";
	uint64_t	 id;

	if (request_job_id(r, &id, &e) == -1 ||
	    field_string(r->msg, "", "reason", FIELD_OPTIONAL, 1024, &reason, &e) == -1) {
		conn_reply_error(r->conn, r->id, &e);
		error_clear(&e);
		return;
	}
	if (!registry_lookup(id, &owner, &f)) {
		reply_not_found(r, id);
		return;
	}
	if (future_done(f)) {
		conn_reply_fail(r->conn, r->id, "invalid_state",
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

/* watch ----------------------------------------------------------------- */

static void
op_watch(struct request *r)
{
	struct error	 e = { 0 };
	const char	*queue = NULL;
	json_int_t	 id = 0;
	struct future	*f = NULL;
	struct loop	*owner;
	char		*event;
	size_t		 len;

	if (field_integer(r->msg, "", "job", FIELD_OPTIONAL, 1, INT64_MAX, &id, &e) == -1 ||
	    field_name(r->msg, "", "queue", FIELD_OPTIONAL, &queue, &e) == -1) {
		conn_reply_error(r->conn, r->id, &e);
		error_clear(&e);
		return;
	}
	if (id != 0 && queue != NULL) {
		conn_reply_fail(r->conn, r->id, "bad_request",
		    "watch takes a job, a queue, or neither");
		return;
	}
	if (id != 0 && !registry_lookup((uint64_t)id, &owner, &f)) {
		reply_not_found(r, (uint64_t)id);
		return;
	}
	watch_add(r->conn, (uint64_t)id, queue);
	conn_reply(r->conn, r->id, NULL);
	/* A job that finished before the watch began: its last event now. */
	if (f != NULL) {
		if (future_state(f) == FUTURE_DONE) {
			const char	*view;
			size_t		 vlen;
			char		*body = NULL;

			if ((view = future_text(f, &vlen)) == NULL) {
				body = json_dumps(future_result(f), JSON_COMPACT);
				view = body != NULL ? body : "null";
				vlen = strlen(view);
			}
			event = watch_event_text(view, vlen, &len);
			conn_send_text(r->conn, event, len);
			free(event);
			free(body);
		}
		future_unref(f);
	}
}

static void
op_unwatch(struct request *r)
{
	watch_remove_all(r->conn);
	conn_reply(r->conn, r->id, NULL);
}

/* list ------------------------------------------------------------------ */

struct list_req {
	struct conn	*conn;
	struct loop	*home;
	json_t		*id;
	int		 state;
	char		*queue;
	uint64_t	 before;
	size_t		 limit;
	json_t		*views;		/* gathered on home */
	unsigned int	 remaining;
	bool		 maybe_more;
};

struct list_part {
	struct list_req	*req;
	json_t		*views;
};

static int
list_cmp(const void *a, const void *b)
{
	json_int_t	x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
	json_int_t	y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));

	return (x < y) - (x > y);	/* newest first */
}

static void
list_finish(struct list_req *l)
{
	json_t		**all, *page, *next = json_null();
	size_t		  n = json_array_size(l->views), i;

	all = xcalloc(n, sizeof(*all));
	for (i = 0; i < n; i++)
		all[i] = json_array_get(l->views, i);
	qsort(all, n, sizeof(*all), list_cmp);
	page = json_array();
	for (i = 0; i < n && i < l->limit; i++)
		json_array_append(page, all[i]);
	if ((n > l->limit || l->maybe_more) && i > 0)
		next = json_incref(json_object_get(all[i - 1], "id"));
	free(all);
	if (conn_alive(l->conn)) {
		conn_reply(l->conn, l->id, json_pack("{s:o,s:o}", "jobs", page,
		    "next", next));
		conn_request_done(l->conn);
	} else {
		json_decref(page);
		json_decref(next);
	}
	conn_unref(l->conn);
	json_decref(l->views);
	json_decref(l->id);
	free(l->queue);
	free(l);
}

static void
list_gathered(void *arg)
{
	struct list_part	*p = arg;
	struct list_req		*l = p->req;

	if (json_array_size(p->views) >= l->limit)
		l->maybe_more = true;
	json_array_extend(l->views, p->views);
	json_decref(p->views);
	free(p);
	if (--l->remaining == 0)
		list_finish(l);
}

static void
list_collect(void *arg)
{
	struct list_part	*p = arg;
	struct list_req		*l = p->req;

	p->views = job_collect(l->state, l->queue, l->before, l->limit);
	if (loop_is_current(l->home))
		list_gathered(p);
	else if (loop_post(l->home, list_gathered, p) == -1) {
		json_decref(p->views);
		free(p);
	}
}

static void
op_list(struct request *r)
{
	struct error	 e = { 0 };
	struct list_req	*l;
	struct list_part *p;
	const char	*state = NULL, *queue = NULL;
	json_int_t	 limit = LIST_LIMIT_DEFAULT, before = 0;
	int		 st = -1;
	unsigned int	 i;

	if (field_string(r->msg, "", "state", FIELD_OPTIONAL, 32, &state, &e) == -1 ||
	    field_name(r->msg, "", "queue", FIELD_OPTIONAL, &queue, &e) == -1 ||
	    field_integer(r->msg, "", "limit", FIELD_OPTIONAL, 1, LIST_LIMIT_MAX,
	    &limit, &e) == -1 ||
	    field_integer(r->msg, "", "before", FIELD_OPTIONAL, 1, INT64_MAX,
	    &before, &e) == -1)
		goto fail;
	if (state != NULL && (st = job_state_parse(state)) == -1) {
		fields_fail(&e, "", "state", "no state \"%s\"", state);
		goto fail;
	}
	l = xcalloc(1, sizeof(*l));
	l->conn = r->conn;
	l->home = conn_loop(r->conn);
	l->id = json_incref(r->id);
	l->state = st;
	l->queue = queue != NULL ? xstrdup(queue) : NULL;
	l->before = (uint64_t)before;
	l->limit = (size_t)limit;
	l->views = json_array();
	l->remaining = loomd.nloops;
	conn_ref(r->conn);
	conn_request_start(r->conn);
	for (i = 0; i < loomd.nloops; i++) {
		p = xcalloc(1, sizeof(*p));
		p->req = l;
		if (loop_is_current(loomd.loops[i]))
			list_collect(p);
		else if (loop_post(loomd.loops[i], list_collect, p) == -1) {
			p->views = json_array();
			list_gathered(p);
		}
	}
	return;
fail:
	conn_reply_error(r->conn, r->id, &e);
	error_clear(&e);
}

/* queue.pause, queue.resume ------------------------------------------------ */

static void
queue_op(struct request *r, bool paused)
{
	struct error	 e = { 0 };
	const char	*name = NULL;

	if (field_name(r->msg, "", "name", FIELD_REQUIRED, &name, &e) == -1)
		goto fail;
	conn_reply(r->conn, r->id, json_pack("{s:o}", "queue",
	    queue_set_paused(name, paused)));
	return;
fail:
	conn_reply_error(r->conn, r->id, &e);
	error_clear(&e);
}

static void
op_queue_pause(struct request *r)
{
	queue_op(r, true);
}

static void
op_queue_resume(struct request *r)
{
	queue_op(r, false);
}

/* stats ----------------------------------------------------------------- */

static void
op_stats(struct request *r)
{
	unsigned long		 counts[JOB_NSTATES];
	struct executor_stats	 es;
	struct loop_stats	 ls;
	json_t			*jobs, *loops, *loop, *stats;
	unsigned int		 i;

	job_count_states(counts);
	jobs = json_object();
	for (i = 0; i < JOB_NSTATES; i++)
		json_object_set_new(jobs, job_state_name(i), json_integer((json_int_t)counts[i]));
	json_object_set_new(jobs, "total", json_integer((json_int_t)registry_count()));

	loops = json_array();
	for (i = 0; i < loomd.nloops; i++) {
		loop_get_stats(loomd.loops[i], &ls);
		loop = json_pack("{s:i,s:I,s:I,s:I,s:I,s:f,s:f,s:I}",
		    "index", i,
		    "connections", (json_int_t)atomic_load(&loomd.counters[i].connections),
		    "jobs", (json_int_t)atomic_load(&loomd.counters[i].jobs),
		    "handoffs", (json_int_t)atomic_load(&loomd.counters[i].handoffs),
		    "posts", (json_int_t)ls.posts,
		    "lag_ms", ls.lag_last_ns / 1e6,
		    "lag_max_ms", ls.lag_max_ns / 1e6,
		    "slow_callbacks", (json_int_t)ls.slow_callbacks);
		json_array_append_new(loops, loop);
	}
	executor_get_stats(loomd.executor, &es);
	stats = json_pack("{s:f,s:o,s:o,s:o,s:{s:i,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I}}",
	    "uptime", now_epoch() - loomd.started_at,
	    "jobs", jobs,
	    "queues", queue_stats(),
	    "loops", loops,
	    "executor",
	    "threads", (int)es.threads,
	    "queued", (json_int_t)es.queued,
	    "running", (json_int_t)es.running,
	    "max_queue", (json_int_t)es.max_queue,
	    "completed", (json_int_t)es.completed,
	    "rejected", (json_int_t)es.rejected,
	    "connections",
	    "current", (json_int_t)atomic_load(&loomd.conn_current),
	    "total", (json_int_t)atomic_load(&loomd.conn_total),
	    "rejected", (json_int_t)atomic_load(&loomd.conn_rejected));
	conn_reply(r->conn, r->id, json_pack("{s:o}", "stats", stats));
}

/* event.set, event.clear, event.get: the events live in event.c --------- */

static void
op_event(struct request *r, enum named_event_op op)
{
	struct error	 e = { 0 };
	json_t		*fields;

	if ((fields = named_event_request(r->msg, op, &e)) == NULL) {
		conn_reply_error(r->conn, r->id, &e);
		error_clear(&e);
		return;
	}
	conn_reply(r->conn, r->id, fields);
}

static void
op_event_set(struct request *r)
{
	op_event(r, NAMED_EVENT_SET);
}

static void
op_event_clear(struct request *r)
{
	op_event(r, NAMED_EVENT_CLEAR);
}

static void
op_event_get(struct request *r)
{
	op_event(r, NAMED_EVENT_GET);
}

/* The op table ------------------------------------------------------------ */

static const char *const fields_none[] = { NULL };
static const char *const fields_submit[] = { "job", "jobs", "wait", "timeout", "stream", NULL };
static const char *const fields_job[] = { "job", NULL };
static const char *const fields_result[] = { "job", "wait", "timeout", NULL };
static const char *const fields_cancel[] = { "job", "reason", NULL };
static const char *const fields_watch[] = { "job", "queue", NULL };
static const char *const fields_list[] = { "state", "queue", "limit", "before", NULL };
static const char *const fields_name[] = { "name", NULL };

static const struct op ops[] = {
	{ "ping",	fields_none,	op_ping },
	{ "submit",	fields_submit,	op_submit },
	{ "status",	fields_job,	op_status },
	{ "result",	fields_result,	op_result },
	{ "cancel",	fields_cancel,	op_cancel },
	{ "watch",	fields_watch,	op_watch },
	{ "unwatch",	fields_none,	op_unwatch },
	{ "list",	fields_list,	op_list },
	{ "stats",	fields_none,	op_stats },
	{ "queue.pause", fields_name,	op_queue_pause },
	{ "queue.resume", fields_name,	op_queue_resume },
	{ "event.set",	fields_name,	op_event_set },
	{ "event.clear", fields_name,	op_event_clear },
	{ "event.get",	fields_name,	op_event_get },
};

static const struct op *
op_find(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(ops); i++) {
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	}
	return NULL;
}

/* Unknown request fields are rejected like unknown job fields. */
static int
request_check_fields(const json_t *msg, const struct op *op, struct error *e)
{
	const char	*key;
	json_t		*value;
	size_t		 i;

	json_object_foreach((json_t *)msg, key, value) {
		if ((key[0] == 'o' && strcmp(key, "op") == 0) ||
		    (key[0] == 'i' && strcmp(key, "id") == 0))
			continue;
		for (i = 0; op->fields[i] != NULL; i++) {
			if (key[0] == op->fields[i][0] && strcmp(key, op->fields[i]) == 0)
				break;
		}
		if (op->fields[i] == NULL)
			return fields_fail(e, "", key, "unknown field for op %s", op->name);
	}
	return 0;
}

void
proto_dispatch(struct conn *c, const char *line, size_t len)
{
	struct request	 r = { .conn = c };
	struct error	 e = { 0 };
	const struct op	*op;
	const char	*name = NULL;
	json_error_t	 jerr;

	r.msg = json_load_line(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (r.msg == NULL || !json_is_object(r.msg)) {
		if (r.msg == NULL)
			conn_reply_fail(c, NULL, "bad_json", "not JSON: %s (at byte %d)",
			    jerr.text, jerr.position);
		else
			conn_reply_fail(c, NULL, "bad_json", "a request is a JSON object");
		json_decref(r.msg);
		return;
	}
	r.id = json_object_get(r.msg, "id");
	if (r.id != NULL && (json_is_object(r.id) || json_is_array(r.id))) {
		r.id = NULL;
		fields_fail(&e, "", "id", "must be a string, number, boolean or null");
		goto fail;
	}
	if (field_string(r.msg, "", "op", FIELD_REQUIRED, 64, &name, &e) == -1)
		goto fail;
	if ((op = op_find(name)) == NULL) {
		error_set(&e, "unknown_op", "no op \"%s\"", name);
		error_set_path(&e, "op");
		goto fail;
	}
	if (request_check_fields(r.msg, op, &e) == -1)
		goto fail;
	op->handle(&r);
	json_decref(r.msg);
	return;
fail:
	conn_reply_error(c, r.id, &e);
	error_clear(&e);
	json_decref(r.msg);
}
