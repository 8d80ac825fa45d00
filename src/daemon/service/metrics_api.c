/*
 * What the listener asks the job loops for, and the dashboard's JSON.
 *
 * A gather asks every loop (or one) with a post and is answered by a post
 * back to the metrics loop, where it is counted down; it answers its HTTP
 * request when every loop has, or when METRICS_WAIT passes, with what it
 * has.  A client that goes away meanwhile only clears the request: the
 * gather lives until the last answer it waits for is back.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/buffer.h>
#include <event2/http.h>

#include <jansson.h>

#include "core/counters.h"
#include "core/job.h"
#include "core/joblog.h"
#include "core/loomd.h"
#include "core/queue.h"
#include "core/registry.h"
#include "net/conn.h"
#include "runtime/executor.h"
#include "runtime/future.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"
#include "net/worker.h"
#include "service/metrics.h"
#include "service/metrics_private.h"

#define METRICS_WAIT		1.0	/* seconds the loops have to answer */
#define METRICS_RUNNING_MAX	50	/* running jobs a loop lists */
#define HISTORY_STEP		2.0	/* seconds between the sparklines' points */
#define HISTORY_POINTS		150	/* five minutes of them */

enum gather_kind {
	GATHER_HEALTH,
	GATHER_OVERVIEW,
	GATHER_JOB,
};

struct gather {
	LIST_ENTRY(gather)	 entry;		/* every one alive */
	enum gather_kind	 kind;
	struct evhttp_request	*req;		/* NULL once answered or gone */
	unsigned int		 refs;		/* the request, and each post out */
	unsigned int		 waiting;	/* loops yet to answer */
	unsigned int		 late;		/* a loop that has not: its index */
	struct event		*timer;
	json_t			*running;	/* GATHER_OVERVIEW: views */
	uint64_t		 id;		/* GATHER_JOB */
	char			*view;		/* GATHER_JOB: the live view */
	bool			*answered;	/* per loop */
};

/* One loop's answer, on its way there and back.  The job loop reads only
 * the part, never the gather, which is the metrics loop's. */
struct gather_part {
	struct gather		*g;
	enum gather_kind	 kind;
	uint64_t		 id;
	unsigned int		 index;
	struct job_listing	 listing;
	char			*view;
};

static void	gather_finish(struct gather *);

static LIST_HEAD(, gather)	gathers = LIST_HEAD_INITIALIZER(gathers);

static void
gather_free(struct gather *g)
{
	LIST_REMOVE(g, entry);
	if (g->timer != NULL)
		event_free(g->timer);
	json_decref(g->running);
	free(g->view);
	free(g->answered);
	free(g);
}

static void
gather_unref(struct gather *g)
{
	if (--g->refs == 0)
		gather_free(g);
}

static void
gather_gone(struct evhttp_connection *conn, void *arg)
{
	struct gather	*g = arg;

	(void)conn;
	g->req = NULL;
}

/* Answer once (the caller replies): forget the request and the timer. */
static struct evhttp_request *
gather_take(struct gather *g)
{
	struct evhttp_request	*req = g->req;

	if (req == NULL)
		return NULL;
	g->req = NULL;
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), NULL,
	    NULL);
	event_del(g->timer);
	return req;
}

static void
gather_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct gather	*g = arg;

	(void)fd;
	(void)what;
	gather_finish(g);
	gather_unref(g);	/* the request's */
}

static struct gather *
gather_new(struct evhttp_request *req, enum gather_kind kind)
{
	struct gather	*g = xcalloc(1, sizeof(*g));
	struct timeval	 tv;

	g->kind = kind;
	g->req = req;
	g->refs = 1;
	g->answered = xcalloc(loomd.nloops, sizeof(*g->answered));
	g->timer = evtimer_new(loop_base(M.loop), gather_timeout, g);
	seconds_to_timeval(METRICS_WAIT, &tv);
	evtimer_add(g->timer, &tv);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    gather_gone, g);
	LIST_INSERT_HEAD(&gathers, g, entry);
	return g;
}

/* Back on the metrics loop with one loop's answer. */
static void
gather_back(void *arg)
{
	struct gather_part	*p = arg;
	struct gather		*g = p->g;
	json_error_t		 je;
	json_t			*v;
	size_t			 i;

	g->answered[p->index] = true;
	for (i = 0; i < p->listing.n && g->running != NULL; i++) {
		v = json_loadb(p->listing.text + p->listing.views[i].off,
		    p->listing.views[i].len, 0, &je);
		if (v != NULL)
			json_array_append_new(g->running, v);
	}
	if (p->view != NULL && g->view == NULL) {
		g->view = p->view;
		p->view = NULL;
	}
	job_listing_free(&p->listing);
	free(p->view);
	free(p);
	if (--g->waiting == 0 && g->req != NULL) {
		gather_finish(g);
		gather_unref(g);	/* the request's */
	}
	gather_unref(g);		/* this post's */
}

/* On a job loop: what the gather asks of it. */
static void
gather_there(void *arg)
{
	struct gather_part	*p = arg;
	struct job		*job;
	size_t			 len;

	switch (p->kind) {
	case GATHER_HEALTH:
		break;
	case GATHER_OVERVIEW:
		job_collect(JOB_RUNNING, NULL, NULL, 0, METRICS_RUNNING_MAX,
		    &p->listing);
		break;
	case GATHER_JOB:
		if ((job = registry_job(p->id)) != NULL && !job_finished(job))
			p->view = job_view_text(job, &len);
		break;
	}
	/* The metrics loop outlives the job loops: it is there to take it. */
	if (loop_post(M.loop, gather_back, p) == -1) {
		job_listing_free(&p->listing);
		free(p->view);
		free(p);
	}
}

static void
gather_ask(struct gather *g, unsigned int index, struct loop *loop)
{
	struct gather_part	*p = xcalloc(1, sizeof(*p));

	p->g = g;
	p->kind = g->kind;
	p->id = g->id;
	p->index = index;
	g->refs++;
	g->waiting++;
	if (loop_post(loop, gather_there, p) == -1) {
		g->refs--;
		g->waiting--;
		free(p);
	}
}

/* Ask every loop; a gather nobody could be asked answers at once. */
static void
gather_all(struct gather *g)
{
	unsigned int	i;

	for (i = 0; i < loomd.nloops; i++)
		gather_ask(g, i, loomd.loops[i]);
	if (g->waiting == 0) {
		gather_finish(g);
		gather_unref(g);
	}
}

/* /healthz ---------------------------------------------------------------- */

static void
health_answer(struct gather *g)
{
	struct evhttp_request	*req;
	unsigned int		 i;
	char			 text[128];

	if ((req = gather_take(g)) == NULL)
		return;
	for (i = 0; i < loomd.nloops; i++) {
		if (!g->answered[i]) {
			snprintf(text, sizeof(text), "loop %u has not answered "
			    "within %gs", i, METRICS_WAIT);
			metrics_reply_text(req, 503, "Service Unavailable", text);
			return;
		}
	}
	metrics_reply_text(req, 200, "OK", "ok");
}

void
metrics_healthz(struct evhttp_request *req)
{
	gather_all(gather_new(req, GATHER_HEALTH));
}

/* History: what the sparklines draw --------------------------------------- */

static json_t		*history;	/* queue → {"finished":[...],"depth":[...]} */
static struct event	*history_timer;

static void
history_push(json_t *q, const char *key, json_int_t v)
{
	json_t	*a = json_object_get(q, key);

	if (a == NULL) {
		a = json_array();
		json_object_set_new(q, key, a);
	}
	json_array_append_new(a, json_integer(v));
	while (json_array_size(a) > HISTORY_POINTS + 1)
		json_array_remove(a, 0);
}

static void
history_counts(const char *name, const uint64_t n[COUNT_N], void *arg)
{
	json_t	*q = json_object_get(history, name);

	(void)arg;
	if (q == NULL) {
		q = json_object();
		json_object_set_new(history, name, q);
	}
	history_push(q, "finished", (json_int_t)(n[COUNT_DONE] + n[COUNT_FAILED] +
	    n[COUNT_CANCELLED] + n[COUNT_TIMED_OUT]));
}

static void
history_depth(const struct queue_info *qi, void *arg)
{
	json_t	*q = json_object_get(history, qi->name);

	(void)arg;
	if (q != NULL)
		history_push(q, "depth", qi->waiting > 0 ? qi->waiting : 0);
}

static void
history_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	counters_each(COUNTERS_BY_QUEUE, history_counts, NULL);
	queue_each(history_depth, NULL);
}

void
metrics_history_start(void)
{
	struct timeval	tv;

	history = json_object();
	history_timer = event_new(loop_base(M.loop), -1, EV_PERSIST, history_tick,
	    NULL);
	seconds_to_timeval(HISTORY_STEP, &tv);
	event_add(history_timer, &tv);
	history_tick(-1, 0, NULL);
}

void
metrics_history_stop(void)
{
	if (history_timer != NULL)
		event_free(history_timer);
	history_timer = NULL;
	json_decref(history);
	history = NULL;
}

/* The finished jobs per step, from the cumulative samples. */
static json_t *
history_rates(const json_t *finished)
{
	json_t	*out = json_array();
	size_t	 i;

	for (i = 1; i < json_array_size(finished); i++)
		json_array_append_new(out, json_integer(
		    json_integer_value(json_array_get(finished, i)) -
		    json_integer_value(json_array_get(finished, i - 1))));
	return out;
}

/* /api/overview ------------------------------------------------------------ */

static void
overview_queue(const struct queue_info *qi, void *arg)
{
	long	queued = qi->queued > 0 ? qi->queued : 0;
	long	pending = qi->waiting - queued;

	json_object_set_new(arg, qi->name, json_pack("{s:s,s:I,s:I,s:I,s:I,s:b,"
	    "s:i,s:I}", "name", qi->name,
	    "depth", (json_int_t)(qi->waiting > 0 ? qi->waiting : 0),
	    "pending", (json_int_t)(pending > 0 ? pending : 0),
	    "queued", (json_int_t)queued,
	    "running", (json_int_t)(qi->running > 0 ? qi->running : 0),
	    "paused", qi->paused, "concurrency", (int)qi->concurrency,
	    "max_pending", (json_int_t)qi->max_pending));
}

static void
overview_counts(const char *name, const uint64_t n[COUNT_N], void *arg)
{
	json_t	*q = json_object_get(arg, name), *counts = json_object();
	json_t	*h, *rates;
	int	 c;

	if (q == NULL) {
		q = json_pack("{s:s,s:i,s:i,s:i,s:i,s:b,s:i,s:i}", "name", name,
		    "depth", 0, "pending", 0, "queued", 0, "running", 0, "paused", 0,
		    "concurrency", 0, "max_pending", 0);
		json_object_set_new(arg, name, q);
	}
	for (c = 0; c < COUNT_N; c++)
		json_object_set_new(counts, counter_name(c), json_integer((json_int_t)n[c]));
	json_object_set_new(q, "counts", counts);
	h = history != NULL ? json_object_get(history, name) : NULL;
	rates = history_rates(h != NULL ? json_object_get(h, "finished") : NULL);
	json_object_set_new(q, "rate", json_real(json_array_size(rates) > 0 ?
	    json_integer_value(json_array_get(rates, json_array_size(rates) - 1)) /
	    HISTORY_STEP : 0));
	json_object_set_new(q, "finished_history", rates);
	h = h != NULL ? json_object_get(h, "depth") : NULL;
	json_object_set_new(q, "depth_history", h != NULL ? json_copy(h) :
	    json_array());
}

static json_t *
overview_queues(void)
{
	json_t		*byname = json_object(), *list = json_array(), *q;
	const char	*name;

	queue_each(overview_queue, byname);
	counters_each(COUNTERS_BY_QUEUE, overview_counts, byname);
	json_object_foreach(byname, name, q)
		json_array_append(list, q);
	json_decref(byname);
	return list;
}

static json_t *
overview_failures(void)
{
	struct joblog_failure	 f[JOBLOG_FAILURES];
	json_t			*list = json_array();
	size_t			 i, n = joblog_failures(f, JOBLOG_FAILURES);

	for (i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:I,s:s,s:s,s:s,s:s,s:i,"
		    "s:f,s:f,s:{s:s,s:s}}", "id", (json_int_t)f[i].id,
		    "type", f[i].type, "name", f[i].name, "queue", f[i].queue,
		    "state", job_state_name(f[i].state), "attempt", (int)f[i].attempt,
		    "finished_at", f[i].finished_ns / 1e9, "duration", f[i].duration,
		    "error", "code", f[i].code, "message", f[i].message));
	return list;
}

static json_t *
overview_daemon(void)
{
	unsigned long		 counts[JOB_NSTATES];
	struct executor_stats	 es;
	struct loop_stats	 ls;
	json_t			*jobs = json_object(), *loops = json_array();
	unsigned int		 i;

	job_count_states(counts);
	for (i = 0; i < JOB_NSTATES; i++)
		json_object_set_new(jobs, job_state_name(i),
		    json_integer((json_int_t)counts[i]));
	for (i = 0; i < loomd.nloops; i++) {
		loop_get_stats(loomd.loops[i], &ls);
		json_array_append_new(loops, json_pack("{s:i,s:f}", "index", (int)i,
		    "lag_ms", ls.lag_last_ns / 1e6));
	}
	executor_get_stats(loomd.executor, &es);
	return json_pack("{s:s,s:I,s:I,s:f,s:f,s:o,s:o,s:I,s:I,s:{s:I,s:I,s:i},"
	    "s:f}", "version", PACKAGE_VERSION, "pid", (json_int_t)getpid(),
	    "boot", (json_int_t)loomd.boot, "uptime", now_epoch() -
	    loomd.started_at, "now", now_epoch(), "jobs", jobs, "loops", loops,
	    "workers", (json_int_t)worker_count(), "connections",
	    (json_int_t)atomic_load(&conn_counts.current), "executor",
	    "queued", (json_int_t)es.queued, "running", (json_int_t)es.running,
	    "threads", (int)es.threads, "history_step", HISTORY_STEP);
}

static int
running_cmp(const void *a, const void *b)
{
	json_int_t	x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
	json_int_t	y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));

	return x < y ? -1 : x > y;
}

static void
overview_answer(struct gather *g)
{
	struct evhttp_request	*req;
	json_t			*o, *ws, **v;
	size_t			 i, n;

	if ((req = gather_take(g)) == NULL)
		return;
	/* The oldest first, from every loop. */
	n = json_array_size(g->running);
	v = xcalloc(n + 1, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(g->running, i));
	qsort(v, n, sizeof(*v), running_cmp);
	json_array_clear(g->running);
	for (i = 0; i < n && i < METRICS_RUNNING_MAX; i++)
		json_array_append(g->running, v[i]);
	for (i = 0; i < n; i++)
		json_decref(v[i]);
	free(v);
	o = overview_daemon();
	json_object_set_new(o, "queues", overview_queues());
	json_object_set(o, "running", g->running);
	json_object_set_new(o, "failures", overview_failures());
	ws = worker_stats();
	json_object_set(o, "workers_list", json_object_get(ws, "workers"));
	json_decref(ws);
	metrics_reply_json(req, 200, "OK", o);
}

/* /api/job/ID --------------------------------------------------------------- */

static void
job_answer(struct gather *g)
{
	struct evhttp_request	*req;
	const struct job_outcome *o;
	struct future		*f = NULL;
	struct loop		*owner;
	struct evbuffer		*b;

	if ((req = gather_take(g)) == NULL)
		return;
	b = evbuffer_new();
	if (g->view != NULL)
		evbuffer_add(b, g->view, strlen(g->view));
	else if (registry_lookup(g->id, &owner, &f) &&
	    (o = job_outcome(f)) != NULL)
		evbuffer_add(b, o->view, o->view_len);
	if (f != NULL)
		future_unref(f);
	if (evbuffer_get_length(b) == 0) {
		evbuffer_free(b);
		metrics_reply_json(req, 404, "Not Found", json_pack("{s:{s:s,s:s}}",
		    "error", "code", "not_found", "message", "no such job"));
		return;
	}
	metrics_reply(req, 200, "OK", "application/json", b);
	evbuffer_free(b);
}

static void
metrics_job(struct evhttp_request *req, const char *idtext)
{
	struct gather	*g;
	struct future	*f;
	struct loop	*owner;
	char		*end;
	unsigned long long id;

	id = strtoull(idtext, &end, 10);
	if (*idtext == '\0' || *end != '\0' || id == 0) {
		metrics_reply_json(req, 400, "Bad Request", json_pack("{s:{s:s,s:s}}",
		    "error", "code", "bad_request", "message",
		    "job: a job id (a positive integer) goes after /api/job/"));
		return;
	}
	g = gather_new(req, GATHER_JOB);
	g->id = id;
	if (registry_lookup(id, &owner, &f)) {
		/* Finished: the outcome has its view.  Else its owner does. */
		if (job_outcome(f) == NULL)
			gather_ask(g, loop_index(owner), owner);
		future_unref(f);
	}
	if (g->waiting == 0) {
		gather_finish(g);
		gather_unref(g);
	}
}

static void
gather_finish(struct gather *g)
{
	switch (g->kind) {
	case GATHER_HEALTH:
		health_answer(g);
		break;
	case GATHER_OVERVIEW:
		overview_answer(g);
		break;
	case GATHER_JOB:
		job_answer(g);
		break;
	}
}

/*
 * The metrics loop's last call, after the job loops stopped: whatever a
 * gather still waits for will not come (a stopped loop's posts that never
 * ran).  Answer what can be, and free them all.
 */
void
metrics_gathers_close(void)
{
	struct gather	*g;

	while ((g = LIST_FIRST(&gathers)) != NULL) {
		g->waiting = 0;
		gather_finish(g);
		gather_free(g);
	}
}

void
metrics_api(struct evhttp_request *req, const char *rest)
{
	struct gather	*g;

	if (strcmp(rest, "overview") == 0) {
		g = gather_new(req, GATHER_OVERVIEW);
		g->running = json_array();
		gather_all(g);
		return;
	}
	if (strncmp(rest, "job/", 4) == 0) {
		metrics_job(req, rest + 4);
		return;
	}
	metrics_reply_json(req, 404, "Not Found", json_pack("{s:{s:s,s:s}}",
	    "error", "code", "not_found", "message",
	    "the API has /api/overview and /api/job/ID"));
}
