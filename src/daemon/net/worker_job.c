/*
 * Workers, on the job's owner loop (doc/architecture.md, "Workers"): the
 * external type's parse, start (the offer) and cancel, the lease once the
 * hub has given the job to a worker, the run push, and the worker's reports
 * (job.complete, job.fail, job.progress, job.heartbeat).
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/durable.h"
#include "core/job.h"
#include "core/registry.h"
#include "net/conn.h"
#include "net/ops.h"
#include "net/worker.h"
#include "net/worker_private.h"
#include "runtime/fields.h"
#include "runtime/future.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/textbuf.h"
#include "runtime/util.h"

static atomic_uint_fast64_t offer_next_token = 1;

/* The job's args: any object, kept as the text pushed to workers. */
int
ext_parse(const json_t *args, const char *base, const struct config *cfg,
    void **parsed, struct error *e)
{
	struct ext_args	*a;

	if (args != NULL && !json_is_object(args))
		return fields_fail(e, base, NULL, "must be an object");
	a = xmalloc(sizeof(*a));
	a->text = args != NULL ? json_dumps(args, JSON_COMPACT) : xstrdup("{}");
	if (a->text == NULL)
		fatalx("ext_parse: out of memory");
	*parsed = a;
	return 0;
}

void
ext_free(void *parsed)
{
	struct ext_args	*a = parsed;

	free(a->text);
	free(a);
}

/* The owner: offer, lease, reports --------------------------------------- */

static void	ext_lease_expired(evutil_socket_t, short, void *);
static void	ext_flush(evutil_socket_t, short, void *);

static void
ext_run_free(struct ext_run *run)
{
	event_del(&run->lease.ev);
	event_del(&run->flush.ev);
	json_decref(run->progress);
	if (run->remote != NULL)
		conn_remote_unref(run->remote);
	free(run);
}

/* Admitted: offer it to the hub; it stays queued until a worker has it. */
void
ext_start(struct job *job, void *parsed)
{
	/* The job's type is an ext_type's first member. */
	struct ext_type	*t = (struct ext_type *)(void *)job_type_of(job);
	struct ext_run	*run = xcalloc(1, sizeof(*run));
	struct offer	*o = xcalloc(1, sizeof(*o));

	run->job = job;
	run->type = t;
	run->token = o->token = atomic_fetch_add(&offer_next_token, 1);
	loop_event_assign(&run->lease, job_loop(job), -1, 0, ext_lease_expired, run);
	loop_event_assign(&run->flush, job_loop(job), -1, 0, ext_flush, run);
	job_set_type_state(job, run);
	o->id = job_id(job);
	o->owner = job_loop(job);
	o->type = t;
	o->node.key = job_priority(job);
	if (!worker_call_on(worker_hub, hub_offer, o, "hub_offer"))
		free(o);
}

static void
ext_send_cancel(struct ext_run *run)
{
	char	*text;

	xasprintf(&text, "{\"event\":\"cancel\",\"job\":%llu}\n",
	    (unsigned long long)job_id(run->job));
	conn_remote_send(run->remote, text, strlen(text));
}

/* The lease ends: tell the hub the worker has room again. */
static void
ext_unlease(struct ext_run *run, bool tell_worker)
{
	if (tell_worker)
		ext_send_cancel(run);
	worker_hub_send(worker_hub, hub_release, run->worker, job_id(run->job), NULL,
	    "hub_release");
}

/* Cancelled, timed out, or stopped at shutdown, offered or leased. */
void
ext_cancel(struct job *job, void *parsed)
{
	struct ext_run	*run = job_type_state(job);

	if (run == NULL)
		return;
	job_set_type_state(job, NULL);
	if (run->leased)
		ext_unlease(run, true);
	else
		worker_hub_send(worker_hub, hub_release, 0, job_id(job), NULL, "hub_release");
	ext_run_free(run);
}

/* The run event: what the worker needs to run this attempt. */
static char *
ext_run_text(struct job *job, size_t *len)
{
	const struct ext_args	*a = NULL;
	struct textbuf		 tb = { 0 };
	const char		*name = job_name(job);
	double			 timeout = job_timeout(job);
	char			 num[64];

	a = job_parsed(job);
	textbuf_lit(&tb, "{\"event\":\"run\",\"job\":{\"id\":");
	textbuf_u64(&tb, job_id(job));
	textbuf_lit(&tb, ",\"type\":");
	textbuf_string(&tb, job_type_name(job));
	textbuf_lit(&tb, ",\"args\":");
	textbuf_add(&tb, a->text, strlen(a->text));
	textbuf_lit(&tb, ",\"attempt\":");
	textbuf_u64(&tb, job_attempt(job));
	textbuf_lit(&tb, ",\"name\":");
	if (name != NULL)
		textbuf_string(&tb, name);
	else
		textbuf_lit(&tb, "null");
	textbuf_lit(&tb, ",\"queue\":");
	textbuf_string(&tb, job_queue(job));
	if (timeout > 0) {
		snprintf(num, sizeof(num), ",\"timeout\":%.17g", timeout);
		textbuf_add(&tb, num, strlen(num));
		textbuf_lit(&tb, ",\"deadline\":");
		textbuf_time_ns(&tb, job_started_ns(job) + (int64_t)(timeout * 1e9));
	} else
		textbuf_lit(&tb, ",\"timeout\":null,\"deadline\":null");
	textbuf_lit(&tb, "}}\n");
	return textbuf_steal(&tb, len);
}

static void
ext_arm_lease(struct ext_run *run)
{
	struct timeval	tv;

	seconds_to_timeval(atomic_load_explicit(&run->type->lease,
	    memory_order_relaxed), &tv);
	event_add(&run->lease.ev, &tv);
}

/* A push that tells of a change (a new attempt runs) leaves once the
 * change is durable, as every answer does: a restart then runs it again
 * as its next attempt, never as the same one. */
struct push {
	struct conn_remote	*remote;
	char			*text;
	size_t			 len;
};

static void
push_now(void *arg)
{
	struct push	*p = arg;

	conn_remote_send(p->remote, p->text, p->len);
	conn_remote_unref(p->remote);
	free(p);
}

static void
push_durable(struct conn_remote *remote, char *text, size_t len)
{
	struct push	*p;

	if (durable_done(durable_mark())) {
		conn_remote_send(remote, text, len);
		return;
	}
	p = xmalloc(sizeof(*p));
	p->remote = remote;
	p->text = text;
	p->len = len;
	conn_remote_ref(remote);
	durable_then(push_now, p);
}

/* The hub gave the offer to a worker: it runs, if it still waits for one. */
void
owner_assigned(void *arg)
{
	struct offer	*o = arg;
	struct job	*job = registry_job(o->id);
	struct ext_run	*run = job != NULL ? job_type_state(job) : NULL;
	char		*text;
	size_t		 len;

	if (run == NULL || run->leased || run->token != o->token ||
	    job_state(job) != JOB_QUEUED) {
		worker_hub_send(worker_hub, hub_release, o->worker, o->id, NULL, "hub_release");
		conn_remote_unref(o->remote);
		free(o);
		return;
	}
	run->leased = true;
	run->worker = o->worker;
	run->remote = o->remote;
	free(o);
	job_started(job);
	ext_arm_lease(run);
	text = ext_run_text(job, &len);
	push_durable(run->remote, text, len);
}

static void
ext_lost(struct ext_run *run, const char *why)
{
	struct job	*job = run->job;
	struct error	 e = { 0 };

	error_set(&e, "worker_lost", "%s", why);
	job_set_type_state(job, NULL);
	ext_run_free(run);
	job_requeue(job, &e);
}

static void
ext_lease_expired(evutil_socket_t fd, short what, void *arg)
{
	struct ext_run	*run = arg;

	ext_unlease(run, true);
	ext_lost(run, "the worker's lease ran out");
}

/* The hub says the worker is gone. */
void
owner_lost(void *arg)
{
	struct hub_msg	*m = arg;
	struct job	*job = registry_job(m->id);
	struct ext_run	*run = job != NULL ? job_type_state(job) : NULL;

	if (run != NULL && run->leased && run->worker == m->worker &&
	    job_state(job) == JOB_RUNNING)
		ext_lost(run, "the worker disconnected");
	free(m);
}

static void
ext_flush(evutil_socket_t fd, short what, void *arg)
{
	struct ext_run	*run = arg;
	json_t		*p = run->progress;

	run->progress = NULL;
	job_set_progress(run->job, p);
}

/* A worker's report, on its way from the worker's loop to the owner and back. */
struct report {
	enum worker_report_kind	 kind;
	uint64_t		 id;
	uint64_t		 worker;
	json_t			*payload;
	struct error		 error;
	bool			 retry;
	bool			 ok;
	struct conn		*conn;
	struct loop		*home;
	json_t			*reqid;
};

static void
report_answer(void *arg)
{
	struct report	*r = arg;

	if (conn_alive(r->conn)) {
		if (r->ok)
			reply_ok(r->conn, r->reqid, NULL);
		else
			reply_fail(r->conn, r->reqid, "invalid_state", "job %llu is "
			    "not this worker's (it finished, was cancelled, timed "
			    "out or went to another)", (unsigned long long)r->id);
		conn_request_done(r->conn);
	}
	conn_unref(r->conn);
	json_decref(r->reqid);
	json_decref(r->payload);
	error_clear(&r->error);
	free(r);
}

static void
report_take(struct ext_run *run, struct report *r)
{
	struct job	*job = run->job;

	switch (r->kind) {
	case WORKER_HEARTBEAT:
		ext_arm_lease(run);
		return;
	case WORKER_PROGRESS:
		json_decref(run->progress);
		run->progress = r->payload;
		r->payload = NULL;
		event_active(&run->flush.ev, EV_TIMEOUT, 1);
		return;
	default:
		break;
	}
	job_set_type_state(job, NULL);
	ext_unlease(run, false);
	ext_run_free(run);
	if (r->kind == WORKER_COMPLETE) {
		job_succeed(job, r->payload);
		r->payload = NULL;
	} else if (r->retry)
		job_fail(job, &r->error);
	else
		job_fail_final(job, &r->error);
}

/* On the owner: is it still this worker's?  Then take it. */
static void
owner_report(void *arg)
{
	struct report	*r = arg;
	struct job	*job = registry_job(r->id);
	struct ext_run	*run = job != NULL ? job_type_state(job) : NULL;

	r->ok = run != NULL && run->leased && run->worker == r->worker &&
	    job_state(job) == JOB_RUNNING;
	if (r->ok)
		report_take(run, r);
	if (!worker_call_on(r->home, report_answer, r, "report_answer"))
		log_debug("worker report: its connection's loop has stopped");
}

void
worker_report(struct conn *c, json_t *reqid, struct worker_link *link,
    enum worker_report_kind kind, uint64_t id, json_t *payload, struct error *e,
    bool retry)
{
	struct report	*r = xcalloc(1, sizeof(*r));
	struct loop	*owner;
	struct future	*f;

	r->kind = kind;
	r->id = id;
	r->worker = link->id;
	r->payload = payload;
	if (e != NULL)
		error_move(&r->error, e);
	r->retry = retry;
	r->conn = c;
	r->home = conn_loop(c);
	r->reqid = json_incref(reqid);
	conn_ref(c);
	conn_request_start(c);
	if (!registry_lookup(id, &owner, &f)) {
		report_answer(r);
		return;
	}
	future_unref(f);
	if (!worker_call_on(owner, owner_report, r, "owner_report"))
		report_answer(r);
}
