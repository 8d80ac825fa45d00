/*
 * Workers against a real loomd with two loops: a small worker written here
 * over the harness client says worker.hello, takes the jobs pushed to it
 * and answers with job.complete, job.fail, job.progress, job.heartbeat.
 * Each test starts its own daemon (leases, restarts and bounds differ).
 */
#include "autoconf.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define CONFIG \
	"loops = 2\n" \
	"[type.resize]\n" \
	"lease = 1s\n" \
	"[type.slow]\n" \
	"lease = 60s\n"


static void
start_conf(struct daemon *d, const char *config)
{
	struct daemon_opts	opts = { .state_dir = test_state_dir, .config = config };

	daemon_start_with(d, &opts);
}

static void
start(struct daemon *d)
{
	start_conf(d, CONFIG);
}

/* A worker: its connection and the pushes read while waiting for a reply. */
struct worker {
	struct client	 c;
	json_t		*pushed;	/* events not yet taken, in order */
};

static void
worker_connect(struct worker *w, const struct daemon *d)
{
	client_connect(&w->c, d);
	w->pushed = json_array();
}

static void
worker_close(struct worker *w)
{
	client_close(&w->c);
	json_decref(w->pushed);
}

/* A request on the worker's connection: its reply, the pushes kept. */
static json_t *
worker_call(struct worker *w, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;
	json_t	*m;

	va_start(ap, fmt);
	assert_true(vasprintf(&line, fmt, ap) != -1);
	va_end(ap);
	client_send(&w->c, "%s", line);
	free(line);
	for (;;) {
		m = client_recv(&w->c, HARNESS_WAIT);
		if (json_object_get(m, "event") == NULL)
			return m;
		json_array_append_new(w->pushed, m);
	}
}

static void
worker_ok(struct worker *w, const char *fmt, ...)
{
	va_list	 ap;
	char	*line;
	json_t	*r;

	va_start(ap, fmt);
	assert_true(vasprintf(&line, fmt, ap) != -1);
	va_end(ap);
	r = worker_call(w, "%s", line);
	if (!json_is_true(json_object_get(r, "ok")))
		fail_msg("%s: %s", line, reply_error_code(r));
	free(line);
	json_decref(r);
}

static void
worker_hello(struct worker *w, const struct daemon *d, const char *types,
    int concurrency)
{
	json_t	*r;

	worker_connect(w, d);
	r = worker_call(w, "{\"op\":\"worker.hello\",\"types\":%s,"
	    "\"concurrency\":%d,\"name\":\"t\"}", types, concurrency);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_non_null(json_string_value(json_object_get(json_object_get(r,
	    "worker"), "id")));
	json_decref(r);
}

/* The next push of this kind ("run", "cancel"): the event (caller frees). */
static json_t *
worker_next(struct worker *w, const char *kind)
{
	json_t	*m;

	if (json_array_size(w->pushed) > 0) {
		m = json_incref(json_array_get(w->pushed, 0));
		json_array_remove(w->pushed, 0);
	} else
		m = client_recv(&w->c, HARNESS_WAIT);
	assert_non_null(json_object_get(m, "event"));
	assert_string_equal(json_str(m, "event"), kind);
	return m;
}

/* The next run pushed: the job's id, its view in *job (borrowed by *ev). */
static json_int_t
worker_run(struct worker *w, json_t **ev)
{
	json_t		*m = worker_next(w, "run");
	json_int_t	 id;

	id = json_integer_value(json_object_get(json_object_get(m, "job"), "id"));
	if (ev != NULL)
		*ev = m;
	else
		json_decref(m);
	return id;
}

struct waiting {
	const char	*type;
	json_int_t	 n;
};

static bool
waiting_is(const json_t *stats, void *arg)
{
	const struct waiting	*w = arg;

	return json_integer_value(json_object_get(json_object_get(
	    json_object_get(stats, "worker_types"), w->type), "waiting")) == w->n;
}

/* Until `n` jobs of the type wait for a worker (hand-overs are posted). */
static void
await_waiting(struct client *c, const char *type, json_int_t n)
{
	struct waiting	w = { type, n };

	stats_until(c, waiting_is, &w);
}

static json_t *
result(struct client *c, json_int_t id)
{
	return client_call(c, "{\"op\":\"result\",\"job\":%lld,\"wait\":true}",
	    (long long)id);
}

static void
test_a_pushed_job_completes_with_the_workers_result(void **unused)
{
	struct daemon	d;
	struct client	c;
	struct worker	w;
	json_t		*ev, *job, *r;
	json_int_t	 id;

	start(&d);
	client_connect(&c, &d);
	/* Submitted with no worker: it waits queued. */
	id = client_submit(&c, "{\"type\":\"resize\",\"args\":{\"w\":3},\"name\":\"r\","
	    "\"timeout\":30}");
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "queued");
	json_decref(r);

	worker_hello(&w, &d, "[\"resize\"]", 1);
	assert_int_equal(worker_run(&w, &ev), id);
	job = json_object_get(ev, "job");
	assert_string_equal(json_str(job, "type"), "resize");
	assert_string_equal(json_str(job, "name"), "r");
	assert_string_equal(json_str(job, "queue"), "default");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(job,
	    "args"), "w")), 3);
	assert_int_equal(json_integer_value(json_object_get(job, "attempt")), 1);
	assert_true(json_number_value(json_object_get(job, "timeout")) == 30);
	assert_true(json_number_value(json_object_get(job, "deadline")) >
	    now_seconds());
	json_decref(ev);
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "running");
	json_decref(r);

	worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld,\"result\":{\"s\":9}}",
	    (long long)id);
	r = result(&c, id);
	assert_string_equal(reply_job_state(r), "done");
	assert_int_equal(json_integer_value(json_object_get(reply_result(r), "s")), 9);
	json_decref(r);

	/* Not its job any more. */
	r = worker_call(&w, "{\"op\":\"job.complete\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_error_code(r), "invalid_state");
	json_decref(r);
	r = worker_call(&w, "{\"op\":\"job.heartbeat\",\"job\":999999}");
	assert_string_equal(reply_error_code(r), "invalid_state");
	json_decref(r);

	worker_close(&w);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_fail_retries_unless_told_not_to(void **unused)
{
	struct daemon	d;
	struct client	c;
	struct worker	w;
	json_t		*r, *err;
	json_int_t	 id;

	start(&d);
	client_connect(&c, &d);
	worker_hello(&w, &d, "[\"resize\"]", 4);
	id = client_submit(&c, "{\"type\":\"resize\",\"retries\":1,\"retry_delay\":0}");
	assert_int_equal(worker_run(&w, NULL), id);
	worker_ok(&w, "{\"op\":\"job.fail\",\"job\":%lld,\"error\":{\"message\":"
	    "\"first\"}}", (long long)id);
	/* The retry runs it again as attempt 2. */
	assert_int_equal(worker_run(&w, NULL), id);
	worker_ok(&w, "{\"op\":\"job.fail\",\"job\":%lld,\"error\":{\"code\":"
	    "\"bad_image\",\"message\":\"second\",\"detail\":{\"px\":1}}}",
	    (long long)id);
	r = result(&c, id);
	assert_string_equal(reply_job_state(r), "failed");
	err = reply_error(r);
	assert_string_equal(json_str(err, "code"), "bad_image");
	assert_string_equal(json_str(err, "message"), "second");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(err,
	    "detail"), "px")), 1);
	assert_int_equal(json_integer_value(json_object_get(reply_job(r),
	    "attempt")), 2);
	json_decref(r);

	/* retry:false ends it at once, retries or not. */
	id = client_submit(&c, "{\"type\":\"resize\",\"retries\":5}");
	assert_int_equal(worker_run(&w, NULL), id);
	worker_ok(&w, "{\"op\":\"job.fail\",\"job\":%lld,\"retry\":false}",
	    (long long)id);
	r = result(&c, id);
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "failed");
	json_decref(r);

	/* A bad error names the field. */
	id = client_submit(&c, "{\"type\":\"resize\"}");
	assert_int_equal(worker_run(&w, NULL), id);
	r = worker_call(&w, "{\"op\":\"job.fail\",\"job\":%lld,\"error\":{\"code\":7}}",
	    (long long)id);
	assert_string_equal(reply_error_code(r), "bad_request");
	assert_string_equal(reply_error_path(r), "error.code");
	json_decref(r);
	worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld}", (long long)id);

	worker_close(&w);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_progress_shows_in_the_view_and_to_watchers(void **unused)
{
	struct daemon	d;
	struct client	c, watcher;
	struct worker	w;
	json_t		*r, *ev, *p;
	json_int_t	 id;

	start(&d);
	client_connect(&c, &d);
	client_connect(&watcher, &d);
	worker_hello(&w, &d, "[\"slow\"]", 1);
	id = client_submit(&c, "{\"type\":\"slow\"}");
	assert_int_equal(worker_run(&w, NULL), id);
	r = client_call(&watcher, "{\"op\":\"watch\",\"job\":%lld}", (long long)id);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	worker_ok(&w, "{\"op\":\"job.progress\",\"job\":%lld,\"progress\":{\"done\":"
	    "3,\"total\":10,\"message\":\"resizing\"}}", (long long)id);
	ev = client_recv(&watcher, HARNESS_WAIT);
	p = json_object_get(json_object_get(ev, "job"), "progress");
	assert_int_equal(json_integer_value(json_object_get(p, "done")), 3);
	assert_string_equal(json_str(p, "message"), "resizing");
	json_decref(ev);
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
	p = json_object_get(reply_job(r), "progress");
	assert_int_equal(json_integer_value(json_object_get(p, "total")), 10);
	json_decref(r);
	r = worker_call(&w, "{\"op\":\"job.progress\",\"job\":%lld,\"progress\":"
	    "{\"done\":-1}}", (long long)id);
	assert_string_equal(reply_error_path(r), "progress.done");
	json_decref(r);
	worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld}", (long long)id);
	r = result(&c, id);
	assert_null(json_object_get(reply_job(r), "progress"));
	json_decref(r);

	worker_close(&w);
	client_close(&watcher);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_heartbeats_keep_a_lease_and_its_end_loses_the_job(void **unused)
{
	struct daemon	d;
	struct client	c;
	struct worker	w;
	json_t		*r, *ev;
	json_int_t	 id;
	double		 t0;
	int		 i;

	start(&d);
	client_connect(&c, &d);
	worker_hello(&w, &d, "[\"resize\"]", 1);
	id = client_submit(&c, "{\"type\":\"resize\",\"retries\":1}");
	assert_int_equal(worker_run(&w, NULL), id);
	/* 2 s of heartbeats on a lease of 1 s. */
	t0 = now_seconds();
	for (i = 0; i < 8; i++) {
		usleep(250000);
		worker_ok(&w, "{\"op\":\"job.heartbeat\",\"job\":%lld}", (long long)id);
	}
	assert_true(now_seconds() - t0 > 1.5);
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "running");
	assert_int_equal(json_integer_value(json_object_get(reply_job(r),
	    "attempt")), 1);
	json_decref(r);

	/* Silence: the lease runs out, the worker hears, attempt 2 comes. */
	ev = worker_next(&w, "cancel");
	assert_int_equal(json_integer_value(json_object_get(ev, "job")), id);
	json_decref(ev);
	assert_int_equal(worker_run(&w, &ev), id);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ev,
	    "job"), "attempt")), 2);
	json_decref(ev);
	/* No retries left: worker_lost. */
	ev = worker_next(&w, "cancel");
	json_decref(ev);
	r = result(&c, id);
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "worker_lost");
	json_decref(r);

	worker_close(&w);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_a_closed_worker_gives_its_jobs_back(void **unused)
{
	struct daemon	d;
	struct client	c;
	struct worker	w1, w2;
	json_t		*r, *ev;
	json_int_t	 id;

	start(&d);
	client_connect(&c, &d);
	worker_hello(&w1, &d, "[\"slow\"]", 1);
	id = client_submit(&c, "{\"type\":\"slow\",\"retries\":1}");
	assert_int_equal(worker_run(&w1, NULL), id);
	worker_close(&w1);
	/* Queued again; the next worker gets it as attempt 2. */
	worker_hello(&w2, &d, "[\"slow\"]", 1);
	assert_int_equal(worker_run(&w2, &ev), id);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ev,
	    "job"), "attempt")), 2);
	json_decref(ev);
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
	assert_string_equal(json_str(json_object_get(reply_job(r), "last_error"),
	    "code"), "worker_lost");
	json_decref(r);
	worker_close(&w2);
	r = result(&c, id);
	assert_string_equal(json_str(reply_error(r), "code"), "worker_lost");
	json_decref(r);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_cancel_and_timeout_tell_the_worker(void **unused)
{
	struct daemon	d;
	struct client	c;
	struct worker	w;
	json_t		*r, *ev;
	json_int_t	 id;

	start(&d);
	client_connect(&c, &d);
	worker_hello(&w, &d, "[\"slow\"]", 2);
	id = client_submit(&c, "{\"type\":\"slow\"}");
	assert_int_equal(worker_run(&w, NULL), id);
	r = client_call(&c, "{\"op\":\"cancel\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	ev = worker_next(&w, "cancel");
	assert_int_equal(json_integer_value(json_object_get(ev, "job")), id);
	json_decref(ev);
	r = worker_call(&w, "{\"op\":\"job.complete\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_error_code(r), "invalid_state");
	json_decref(r);

	id = client_submit(&c, "{\"type\":\"slow\",\"timeout\":0.2}");
	assert_int_equal(worker_run(&w, NULL), id);
	ev = worker_next(&w, "cancel");
	json_decref(ev);
	r = result(&c, id);
	assert_string_equal(reply_job_state(r), "timed_out");
	json_decref(r);

	/* A cancelled job never reached a worker: none is pushed. */
	id = client_submit(&c, "{\"type\":\"resize\"}");
	await_waiting(&c, "resize", 1);
	r = client_call(&c, "{\"op\":\"cancel\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	await_waiting(&c, "resize", 0);

	worker_close(&w);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_bye_stops_new_pushes(void **unused)
{
	struct daemon	d;
	struct client	c;
	struct worker	w;
	json_t		*r;
	json_int_t	 a, b;

	start(&d);
	client_connect(&c, &d);
	worker_hello(&w, &d, "[\"slow\"]", 4);
	a = client_submit(&c, "{\"type\":\"slow\"}");
	assert_int_equal(worker_run(&w, NULL), a);
	worker_ok(&w, "{\"op\":\"worker.bye\"}");
	b = client_submit(&c, "{\"type\":\"slow\"}");
	/* What it holds it may still finish. */
	worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld}", (long long)a);
	r = result(&c, a);
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	await_waiting(&c, "slow", 1);
	/* A ping's answer comes after any push made before it. */
	r = worker_call(&w, "{\"op\":\"ping\"}");
	json_decref(r);
	assert_int_equal(json_array_size(w.pushed), 0);
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)b);
	assert_string_equal(reply_job_state(r), "queued");
	json_decref(r);
	worker_close(&w);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_concurrency_and_priority_order(void **unused)
{
	struct daemon	d;
	struct client	c;
	struct worker	w;
	json_t		*r, *st, *ws;
	json_int_t	 ids[4], got;
	int		 i;

	start(&d);
	client_connect(&c, &d);
	/* Queued before any worker: lower priority first, FIFO among equals. */
	ids[0] = client_submit(&c, "{\"type\":\"slow\",\"priority\":5}");
	ids[1] = client_submit(&c, "{\"type\":\"slow\",\"priority\":1}");
	ids[2] = client_submit(&c, "{\"type\":\"slow\",\"priority\":1}");
	ids[3] = client_submit(&c, "{\"type\":\"slow\",\"priority\":0}");
	await_waiting(&c, "slow", 4);
	worker_hello(&w, &d, "[\"slow\"]", 2);
	assert_int_equal(worker_run(&w, NULL), ids[3]);
	assert_int_equal(worker_run(&w, NULL), ids[1]);
	/* Two at a time: the stats say so and nothing more comes. */
	r = client_call(&c, "{\"op\":\"stats\"}");
	st = json_object_get(r, "stats");
	ws = json_array_get(json_object_get(st, "workers"), 0);
	assert_int_equal(json_integer_value(json_object_get(ws, "running")), 2);
	assert_int_equal(json_integer_value(json_object_get(ws, "concurrency")), 2);
	assert_string_equal(json_str(ws, "name"), "t");
	assert_non_null(json_object_get(ws, "connected_at"));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_object_get(st, "worker_types"), "slow"), "waiting")), 2);
	json_decref(r);
	assert_int_equal(json_array_size(w.pushed), 0);
	worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld}", (long long)ids[3]);
	got = worker_run(&w, NULL);
	assert_int_equal(got, ids[2]);
	for (i = 0; i < 2; i++) {
		worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld}",
		    (long long)(i == 0 ? ids[1] : ids[2]));
	}
	assert_int_equal(worker_run(&w, NULL), ids[0]);
	worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld}", (long long)ids[0]);
	worker_close(&w);

	/* Across the types a worker takes, priority still decides. */
	ids[0] = client_submit(&c, "{\"type\":\"resize\",\"priority\":5}");
	ids[1] = client_submit(&c, "{\"type\":\"slow\",\"priority\":1}");
	await_waiting(&c, "resize", 1);
	await_waiting(&c, "slow", 1);
	worker_hello(&w, &d, "[\"resize\",\"slow\"]", 1);
	assert_int_equal(worker_run(&w, NULL), ids[1]);
	worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld}", (long long)ids[1]);
	assert_int_equal(worker_run(&w, NULL), ids[0]);
	worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld}", (long long)ids[0]);
	worker_close(&w);
	client_close(&c);
	daemon_stop(&d);
}

/* A worker that does not read gets no more pushes; reading, it gets them. */
static void
test_a_worker_that_does_not_read_gets_no_more_pushes(void **unused)
{
	struct daemon	 d;
	struct client	 c;
	struct worker	 w;
	json_t		*r, *ws;
	char		*big;
	json_int_t	 running = 0, waiting = 0, got = 0;
	int		 i, n = 100;

	start(&d);
	client_connect(&c, &d);
	worker_hello(&w, &d, "[\"slow\"]", n);
	big = malloc(150001);
	memset(big, 'x', 150000);
	big[150000] = '\0';
	for (i = 0; i < n; i++) {
		r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"slow\","
		    "\"args\":{\"b\":\"%s\"}}}", big);
		assert_true(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
	}
	free(big);
	/* 15 MB of pushes unread: the connection stalls with jobs left over
	 * (without the backpressure each one would go out as it came). */
	for (;;) {
		r = client_call(&c, "{\"op\":\"stats\"}");
		ws = json_array_get(json_object_get(json_object_get(r, "stats"),
		    "workers"), 0);
		running = json_integer_value(json_object_get(ws, "running"));
		waiting = json_integer_value(json_object_get(json_object_get(
		    json_object_get(json_object_get(r, "stats"), "worker_types"),
		    "slow"), "waiting"));
		json_decref(r);
		if (running + waiting == n && waiting >= n / 4)
			break;
		usleep(10000);
	}
	assert_true(running > 0);
	/* Reading, it gets every one. */
	while (got < n) {
		json_decref(worker_next(&w, "run"));
		got++;
	}
	worker_close(&w);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_worker_jobs_in_a_gather_and_after_a_dependency(void **unused)
{
	struct daemon	d;
	struct client	c;
	struct worker	w;
	json_t		*r;
	json_int_t	 g, a, b, x, y;

	start(&d);
	client_connect(&c, &d);
	worker_hello(&w, &d, "[\"resize\"]", 4);
	g = client_submit(&c, "{\"type\":\"gather\",\"args\":{\"jobs\":[{\"type\":"
	    "\"resize\",\"args\":{\"i\":0}},{\"type\":\"echo\",\"args\":{\"value\":"
	    "1}},{\"type\":\"resize\",\"args\":{\"i\":2}}]}}");
	x = worker_run(&w, NULL);
	y = worker_run(&w, NULL);
	worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld,\"result\":\"x\"}",
	    (long long)x);
	worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld,\"result\":\"y\"}",
	    (long long)y);
	r = result(&c, g);
	assert_string_equal(reply_job_state(r), "done");
	assert_int_equal(json_array_size(json_object_get(reply_result(r),
	    "results")), 3);
	json_decref(r);

	/* b waits for a, which a worker runs. */
	a = client_submit(&c, "{\"type\":\"resize\"}");
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"resize\","
	    "\"after\":[%lld]}}", (long long)a);
	b = reply_job_id(r);
	assert_string_equal(reply_job_state(r), "pending");
	json_decref(r);
	assert_int_equal(worker_run(&w, NULL), a);
	worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld}", (long long)a);
	assert_int_equal(worker_run(&w, NULL), b);
	worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld}", (long long)b);
	r = result(&c, b);
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	worker_close(&w);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_a_leased_job_and_a_named_type_outlive_a_restart(void **unused)
{
	struct daemon	d;
	struct client	c;
	struct worker	w;
	json_t		*r, *ev;
	json_int_t	 id;

	start(&d);
	client_connect(&c, &d);
	/* "thumb" is known only because a worker named it. */
	worker_hello(&w, &d, "[\"slow\",\"thumb\"]", 1);
	id = client_submit(&c, "{\"type\":\"slow\"}");
	assert_int_equal(worker_run(&w, NULL), id);
	daemon_kill(&d);
	worker_close(&w);
	client_close(&c);

	start(&d);
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"thumb\"}}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	worker_hello(&w, &d, "[\"slow\"]", 1);
	assert_int_equal(worker_run(&w, &ev), id);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(ev,
	    "job"), "attempt")), 2);
	json_decref(ev);
	worker_ok(&w, "{\"op\":\"job.complete\",\"job\":%lld}", (long long)id);
	r = result(&c, id);
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	worker_close(&w);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_a_reload_declares_new_types(void **unused)
{
	struct daemon_opts	 opts = { .state_dir = test_state_dir, .config = CONFIG,
				    .notify = true };
	struct daemon		 d;
	struct client		 c;
	json_t			*r;
	char			*msg;

	daemon_start_with(&d, &opts);
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"fresh\"}}");
	assert_string_equal(reply_error_code(r), "unknown_type");
	json_decref(r);
	daemon_write_config(&d, CONFIG "[type.fresh]\nlease = 5s\n");
	daemon_signal(&d, SIGHUP);
	msg = daemon_notify_wait(&d, "RELOADING=1");
	free(msg);
	msg = daemon_notify_wait(&d, "READY=1");
	free(msg);
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"fresh\"}}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	r = client_call(&c, "{\"op\":\"stats\"}");
	assert_true(json_number_value(json_object_get(json_object_get(
	    json_object_get(json_object_get(r, "stats"), "worker_types"), "fresh"),
	    "lease")) == 5);
	json_decref(r);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_bad_hellos_and_reports_are_refused(void **unused)
{
	struct daemon	d;
	struct client	c;
	struct worker	w, w2;
	json_t		*r;

	start(&d);
	client_connect(&c, &d);
	/* Not a worker yet. */
	r = client_call(&c, "{\"op\":\"job.complete\",\"job\":1}");
	assert_string_equal(reply_error_code(r), "invalid_state");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"worker.hello\",\"types\":[\"echo\"]}");
	assert_string_equal(reply_error_code(r), "bad_request");
	assert_string_equal(reply_error_path(r), "types[0]");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"worker.hello\",\"types\":[]}");
	assert_string_equal(reply_error_path(r), "types");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"worker.hello\",\"types\":[\"a b\"]}");
	assert_string_equal(reply_error_path(r), "types[0]");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"worker.hello\",\"types\":[\"x\"],"
	    "\"concurrency\":0}");
	assert_string_equal(reply_error_path(r), "concurrency");
	json_decref(r);
	/* An unknown type is still unknown to submit. */
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"nosuch\"}}");
	assert_string_equal(reply_error_code(r), "unknown_type");
	json_decref(r);

	/* Garbage from a worker is answered; its lease is unaffected. */
	worker_hello(&w, &d, "[\"slow\"]", 1);
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"slow\"}}");
	json_decref(r);
	worker_run(&w, NULL);
	r = worker_call(&w, "{nope");
	assert_string_equal(reply_error_code(r), "bad_json");
	json_decref(r);
	r = worker_call(&w, "{\"op\":\"job.complete\"}");
	assert_string_equal(reply_error_path(r), "job");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"stats\"}");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    json_object_get(json_object_get(r, "stats"), "workers"), 0),
	    "running")), 1);
	json_decref(r);
	worker_close(&w);

	/* max_workers. */
	daemon_stop(&d);
	start_conf(&d, "max_workers = 1\n" CONFIG);
	worker_hello(&w, &d, "[\"slow\"]", 1);
	worker_connect(&w2, &d);
	r = worker_call(&w2, "{\"op\":\"worker.hello\",\"types\":[\"slow\"]}");
	assert_string_equal(reply_error_code(r), "busy");
	json_decref(r);
	worker_close(&w2);
	worker_close(&w);
	client_close(&c);
	daemon_stop(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		STATE_DIR_TEST(test_a_pushed_job_completes_with_the_workers_result),
		STATE_DIR_TEST(test_fail_retries_unless_told_not_to),
		STATE_DIR_TEST(test_progress_shows_in_the_view_and_to_watchers),
		STATE_DIR_TEST(test_heartbeats_keep_a_lease_and_its_end_loses_the_job),
		STATE_DIR_TEST(test_a_closed_worker_gives_its_jobs_back),
		STATE_DIR_TEST(test_cancel_and_timeout_tell_the_worker),
		STATE_DIR_TEST(test_bye_stops_new_pushes),
		STATE_DIR_TEST(test_concurrency_and_priority_order),
		STATE_DIR_TEST(test_a_worker_that_does_not_read_gets_no_more_pushes),
		STATE_DIR_TEST(test_worker_jobs_in_a_gather_and_after_a_dependency),
		STATE_DIR_TEST(test_a_leased_job_and_a_named_type_outlive_a_restart),
		STATE_DIR_TEST(test_a_reload_declares_new_types),
		STATE_DIR_TEST(test_bad_hellos_and_reports_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
