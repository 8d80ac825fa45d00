/* The wire protocol, op by op, against a real loomd. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static struct daemon	d;

static int
setup(void **state)
{
	daemon_start(&d, NULL);
	return 0;
}

static int
teardown(void **state)
{
	daemon_stop(&d);
	return 0;
}

static void
test_ping_answers_version_and_uptime(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"ping\",\"id\":\"p1\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(r, "id")), "p1");
	assert_non_null(json_string_value(json_object_get(r, "version")));
	assert_true(json_number_value(json_object_get(r, "uptime")) >= 0);
	json_decref(r);
	/* The id is echoed verbatim, whatever scalar it is, and absent if absent. */
	r = client_call(&c, "{\"op\":\"ping\",\"id\":12.5}");
	assert_true(json_real_value(json_object_get(r, "id")) == 12.5);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"ping\"}");
	assert_null(json_object_get(r, "id"));
	json_decref(r);
	client_close(&c);
}

/* TCP on a listener the harness binds and passes, as systemd would; ping
 * needs no token. */
static void
test_ping_over_tcp(void **state)
{
	static const char *const token[] = {
		"-o", "token.ci.secret_sha256=2bb80d537b1da3e38bd30361aa855686"
		"bde0eacd7162fef6a25fe97bf527a25b", "-o", "token.ci.roles=read", NULL,
	};
	struct daemon_opts	 opts = { .socket_activation = true, .extra = token };
	struct daemon		 own;
	struct client		 c;
	json_t			*r;

	daemon_start_with(&own, &opts);
	client_connect_tcp(&c, &own);
	r = client_call(&c, "{\"op\":\"ping\",\"id\":1}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	client_close(&c);
	daemon_stop(&own);
}

static void
test_submit_without_wait_returns_a_ticket_at_once(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":\"sleep\","
	    "\"args\":{\"seconds\":30}}}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_true(reply_job_id(r) > 0);
	assert_string_equal(reply_job_state(r), "queued");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":2,\"job\":{\"type\":\"echo\","
	    "\"delay\":30}}");
	assert_string_equal(reply_job_state(r), "pending");
	json_decref(r);
	client_close(&c);
}

static void
test_submit_with_wait_answers_with_the_finished_view(void **state)
{
	struct client	 c;
	json_t		*r, *job, *expect;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":7,\"wait\":true,\"job\":{\"type\":"
	    "\"echo\",\"name\":\"hello\",\"priority\":-3,\"args\":{\"value\":{\"a\":[1,\"x\"]}}}}");
	job = json_object_get(r, "job");
	assert_string_equal(json_string_value(json_object_get(job, "state")), "done");
	assert_string_equal(json_string_value(json_object_get(job, "type")), "echo");
	assert_string_equal(json_string_value(json_object_get(job, "name")), "hello");
	assert_string_equal(json_string_value(json_object_get(job, "queue")), "default");
	assert_int_equal(json_integer_value(json_object_get(job, "priority")), -3);
	assert_int_equal(json_integer_value(json_object_get(job, "attempt")), 1);
	expect = json_pack("{s:[i,s]}", "a", 1, "x");
	assert_true(json_equal(json_object_get(job, "result"), expect));
	json_decref(expect);
	assert_non_null(json_object_get(job, "created_at"));
	assert_non_null(json_object_get(job, "finished_at"));
	assert_null(json_object_get(job, "error"));
	json_decref(r);
	client_close(&c);
}

static json_int_t
jobs_total(struct client *c)
{
	json_t		*r = client_call(c, "{\"op\":\"stats\",\"id\":\"t\"}");
	json_int_t	 n = json_integer_value(json_object_get(json_object_get(
			    json_object_get(r, "stats"), "jobs"), "total"));

	json_decref(r);
	return n;
}

static void
test_batch_submit_is_all_or_nothing(void **state)
{
	struct client	 c;
	json_t		*r, *jobs;
	json_int_t	 before;

	client_connect(&c, &d);
	before = jobs_total(&c);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"jobs\":[{\"type\":\"echo\"},"
	    "{\"type\":\"sleep\",\"args\":{\"seconds\":\"soon\"}},{\"type\":\"echo\"}]}");
	assert_string_equal(reply_error_code(r), "bad_request");
	assert_string_equal(reply_error_path(r), "jobs[1].args.seconds");
	json_decref(r);
	assert_int_equal(jobs_total(&c), before);

	r = client_call(&c, "{\"op\":\"submit\",\"id\":3,\"wait\":true,\"jobs\":["
	    "{\"type\":\"echo\",\"args\":{\"value\":1}},{\"type\":\"echo\",\"args\":"
	    "{\"value\":2}}]}");
	jobs = json_object_get(r, "jobs");
	assert_int_equal(json_array_size(jobs), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(jobs, 1),
	    "result")), 2);
	json_decref(r);
	assert_int_equal(jobs_total(&c), before + 2);
	client_close(&c);
}

static void
test_status_result_and_cancel_from_another_connection(void **state)
{
	struct client	 a, b;
	json_t		*r;
	json_int_t	 id;

	client_connect(&a, &d);
	client_connect(&b, &d);
	r = client_call(&a, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":\"sleep\","
	    "\"args\":{\"seconds\":60}}}");
	id = reply_job_id(r);
	json_decref(r);

	r = client_call(&b, "{\"op\":\"status\",\"id\":2,\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "running");
	assert_non_null(json_object_get(json_object_get(r, "job"), "started_at"));
	json_decref(r);

	/* result of an unfinished job: asyncio's InvalidStateError */
	r = client_call(&b, "{\"op\":\"result\",\"id\":3,\"job\":%lld}", (long long)id);
	assert_string_equal(reply_error_code(r), "invalid_state");
	json_decref(r);

	/* a bounded wait that runs out leaves the job alone */
	r = client_call(&b, "{\"op\":\"result\",\"id\":4,\"job\":%lld,\"wait\":true,"
	    "\"timeout\":0.05}", (long long)id);
	assert_string_equal(reply_error_code(r), "timeout");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_object_get(r, "error"), "detail"), "job")), id);
	json_decref(r);

	/* a waiter on A, a cancel from B: both answered once it is cancelled */
	client_send(&a, "{\"op\":\"result\",\"id\":5,\"job\":%lld,\"wait\":true}",
	    (long long)id);
	r = client_call(&b, "{\"op\":\"cancel\",\"id\":6,\"job\":%lld,\"reason\":\"enough\"}",
	    (long long)id);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(reply_job_state(r), "cancelled");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(r, "job"), "error"), "message")), "enough");
	json_decref(r);
	r = client_recv(&a, HARNESS_WAIT);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 5);
	assert_string_equal(reply_job_state(r), "cancelled");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(r, "job"), "error"), "code")), "cancelled");
	json_decref(r);

	/* cancelling a finished job is an invalid state */
	r = client_call(&b, "{\"op\":\"cancel\",\"id\":7,\"job\":%lld}", (long long)id);
	assert_string_equal(reply_error_code(r), "invalid_state");
	json_decref(r);
	client_close(&a);
	client_close(&b);
}

static void
test_pipelined_requests_answer_out_of_order(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	client_send(&c, "{\"op\":\"submit\",\"id\":\"slow\",\"wait\":true,\"job\":"
	    "{\"type\":\"sleep\",\"args\":{\"seconds\":0.3,\"result\":\"z\"}}}");
	client_send(&c, "{\"op\":\"ping\",\"id\":\"fast\"}");
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "fast");
	json_decref(r);
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "slow");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "job"),
	    "result")), "z");
	json_decref(r);
	client_close(&c);
}

static void
test_watch_sends_every_state_change(void **state)
{
	struct client	 w, c;
	json_t		*r;
	json_int_t	 id;
	const char	*expect[] = { "running", "done" };
	int		 i;

	client_connect(&w, &d);
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":\"sleep\","
	    "\"delay\":0.2,\"args\":{\"seconds\":0.1,\"result\":5}}}");
	id = reply_job_id(r);
	json_decref(r);
	r = client_call(&w, "{\"op\":\"watch\",\"id\":2,\"job\":%lld}", (long long)id);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	/* queued (after the delay), running, done: at least running and done,
	 * in order, and the terminal event carries the result. */
	for (i = 0; i < 2;) {
		r = client_recv(&w, HARNESS_WAIT);
		assert_string_equal(json_string_value(json_object_get(r, "event")), "job");
		assert_null(json_object_get(r, "ok"));
		assert_int_equal(reply_job_id(r), id);
		if (strcmp(reply_job_state(r), expect[i]) == 0)
			i++;
		if (i == 2)
			assert_int_equal(json_integer_value(json_object_get(
			    json_object_get(r, "job"), "result")), 5);
		json_decref(r);
	}
	r = client_call(&w, "{\"op\":\"unwatch\",\"id\":3}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	client_close(&w);
	client_close(&c);
}

static void
test_watch_of_a_finished_job_sends_its_last_state(void **state)
{
	struct client	 c;
	json_t		*r;
	json_int_t	 id;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":"
	    "{\"type\":\"echo\",\"args\":{\"value\":\"v\"}}}");
	id = reply_job_id(r);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"watch\",\"id\":2,\"job\":%lld}", (long long)id);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	client_close(&c);
}

static void
test_watch_everything_and_by_queue(void **state)
{
	struct client	 all, q, c;
	json_t		*r;
	json_int_t	 a, b;

	client_connect(&all, &d);
	client_connect(&q, &d);
	client_connect(&c, &d);
	json_decref(client_call(&all, "{\"op\":\"watch\",\"id\":1}"));
	json_decref(client_call(&q, "{\"op\":\"watch\",\"id\":1,\"queue\":\"blue\"}"));
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":"
	    "{\"type\":\"echo\",\"queue\":\"red\"}}");
	a = reply_job_id(r);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":2,\"wait\":true,\"job\":"
	    "{\"type\":\"echo\",\"queue\":\"blue\"}}");
	b = reply_job_id(r);
	json_decref(r);
	/* The queue watcher sees only blue; its first event is job b's. */
	r = client_recv(&q, HARNESS_WAIT);
	assert_int_equal(reply_job_id(r), b);
	json_decref(r);
	/* The global watcher sees job a first. */
	r = client_recv(&all, HARNESS_WAIT);
	assert_int_equal(reply_job_id(r), a);
	json_decref(r);
	client_close(&all);
	client_close(&q);
	client_close(&c);
}

/*
 * Events carry the time of their change ("at"): a delayed job's queued
 * event is as late as its delay, and a retry's pending event shows the
 * error that caused it and no start of an attempt yet to come.  Each state
 * of each attempt is told once.
 */
static void
test_watch_events_have_their_own_times(void **state)
{
	struct client	 w, c;
	json_t		*r, *job;
	const char	*states[9];
	double		 at[9], created = 0;
	int		 n = 0;

	client_connect(&w, &d);
	client_connect(&c, &d);
	json_decref(client_call(&w, "{\"op\":\"watch\",\"id\":1,\"queue\":\"times\"}"));
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"sleep\","
	    "\"queue\":\"times\",\"delay\":0.3,\"retries\":1,\"retry_delay\":0.3,"
	    "\"args\":{\"seconds\":0,\"error\":\"boom\"}}}");
	json_decref(r);
	for (;;) {
		assert_true(n < 9);
		r = client_recv(&w, HARNESS_WAIT);
		job = reply_job(r);
		states[n] = strcmp(reply_job_state(r), "pending") == 0 ? "pending" :
		    strcmp(reply_job_state(r), "queued") == 0 ? "queued" :
		    strcmp(reply_job_state(r), "running") == 0 ? "running" :
		    strcmp(reply_job_state(r), "failed") == 0 ? "failed" : "other";
		assert_true(json_is_number(json_object_get(r, "at")));
		at[n] = json_number_value(json_object_get(r, "at"));
		created = json_number_value(json_object_get(job, "created_at"));
		if (n > 0)
			assert_true(at[n] >= at[n - 1]);
		if (strcmp(states[n], "pending") == 0 && n > 0) {
			/* Waiting for attempt 2: attempt 1's error, no start. */
			assert_null(json_object_get(job, "started_at"));
			assert_string_equal(json_str(json_object_get(job,
			    "last_error"), "message"), "boom");
		}
		json_decref(r);
		if (strcmp(states[n++], "failed") == 0)
			break;
	}
	assert_int_equal(n, 7);
	assert_string_equal(states[0], "pending");
	assert_string_equal(states[1], "queued");
	assert_string_equal(states[2], "running");
	assert_string_equal(states[3], "pending");
	assert_string_equal(states[4], "queued");
	assert_string_equal(states[5], "running");
	assert_string_equal(states[6], "failed");
	/* Queued when the delay was over, not when it was created; again
	 * when the retry's delay was. */
	assert_true(at[0] - created < 0.29);
	assert_true(at[1] - created >= 0.29);
	assert_true(at[4] - at[3] >= 0.29);
	client_close(&w);
	client_close(&c);
}

/* A submit whose wait runs out names the jobs that go on: a client that
 * waited has seen no ticket, and would otherwise not know their ids. */
static void
test_a_wait_that_runs_out_names_the_jobs(void **state)
{
	struct client	 c;
	json_t		*r, *detail, *ids;
	json_int_t	 id, first;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,"
	    "\"timeout\":0.05,\"job\":{\"type\":\"sleep\",\"args\":{\"seconds\":60}}}");
	assert_string_equal(reply_error_code(r), "timeout");
	detail = json_object_get(json_object_get(r, "error"), "detail");
	id = json_integer_value(json_object_get(detail, "job"));
	assert_true(id > 0);
	assert_non_null(strstr(json_str(json_object_get(r, "error"), "message"),
	    "goes on"));
	json_decref(r);
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "running");
	assert_string_equal(json_str(reply_job(r), "type"), "sleep");
	json_decref(r);
	json_decref(client_call(&c, "{\"op\":\"cancel\",\"job\":%lld}",
	    (long long)id));

	/* A batch: every id, in the order of the specs. */
	r = client_call(&c, "{\"op\":\"submit\",\"id\":2,\"wait\":true,"
	    "\"timeout\":0.05,\"jobs\":[{\"type\":\"echo\"},{\"type\":\"sleep\","
	    "\"args\":{\"seconds\":60}}]}");
	assert_string_equal(reply_error_code(r), "timeout");
	ids = json_object_get(json_object_get(json_object_get(r, "error"),
	    "detail"), "jobs");
	assert_int_equal(json_array_size(ids), 2);
	first = json_integer_value(json_array_get(ids, 0));
	assert_int_equal(json_integer_value(json_array_get(ids, 1)), first + 1);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)first);
	assert_string_equal(json_str(reply_job(r), "type"), "echo");
	json_decref(r);
	json_decref(client_call(&c, "{\"op\":\"cancel\",\"job\":%lld}",
	    (long long)first + 1));
	client_close(&c);
}

/* A global watcher sees each state of a job once: queued, running, done
 * (it used to see queued twice, from the owner's take and its queueing). */
static void
test_watch_sees_each_state_once(void **state)
{
	struct client	 w, c;
	json_t		*r;
	json_int_t	 id;
	int		 queued = 0, running = 0, done = 0;

	client_connect(&w, &d);
	client_connect(&c, &d);
	json_decref(client_call(&w, "{\"op\":\"watch\",\"id\":1,\"queue\":\"once\"}"));
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":"
	    "{\"type\":\"echo\",\"queue\":\"once\"}}");
	id = reply_job_id(r);
	json_decref(r);
	while (done == 0) {
		r = client_recv(&w, HARNESS_WAIT);
		assert_int_equal(reply_job_id(r), id);
		queued += strcmp(reply_job_state(r), "queued") == 0;
		running += strcmp(reply_job_state(r), "running") == 0;
		done += strcmp(reply_job_state(r), "done") == 0;
		json_decref(r);
	}
	assert_int_equal(queued, 1);
	assert_int_equal(running, 1);
	/* Nothing more for it: a ping's answer is next. */
	r = client_call(&w, "{\"op\":\"ping\",\"id\":\"last\"}");
	assert_string_equal(json_str(r, "id"), "last");
	json_decref(r);
	client_close(&w);
	client_close(&c);
}

static void
test_list_filters_and_pages_newest_first(void **state)
{
	struct client	 c;
	json_t		*r, *jobs;
	json_int_t	 ids[5], next;
	int		 i;

	client_connect(&c, &d);
	for (i = 0; i < 5; i++) {
		r = client_call(&c, "{\"op\":\"submit\",\"id\":%d,\"wait\":true,\"job\":"
		    "{\"type\":\"echo\",\"queue\":\"listq\"}}", i);
		ids[i] = reply_job_id(r);
		json_decref(r);
	}
	r = client_call(&c, "{\"op\":\"list\",\"id\":9,\"queue\":\"listq\",\"limit\":2}");
	jobs = json_object_get(r, "jobs");
	assert_int_equal(json_array_size(jobs), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(jobs, 0), "id")),
	    ids[4]);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(jobs, 1), "id")),
	    ids[3]);
	assert_null(json_object_get(json_array_get(jobs, 0), "result"));
	next = json_integer_value(json_object_get(r, "next"));
	assert_int_equal(next, ids[3]);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"list\",\"id\":10,\"queue\":\"listq\",\"limit\":10,"
	    "\"before\":%lld}", (long long)next);
	jobs = json_object_get(r, "jobs");
	assert_int_equal(json_array_size(jobs), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(jobs, 2), "id")),
	    ids[0]);
	assert_true(json_is_null(json_object_get(r, "next")));
	json_decref(r);
	r = client_call(&c, "{\"op\":\"list\",\"id\":11,\"state\":\"cancelled\",\"queue\":"
	    "\"listq\"}");
	assert_int_equal(json_array_size(json_object_get(r, "jobs")), 0);
	json_decref(r);
	client_close(&c);
}

/* The number after "key": in a reply's text, as written. */
static void
number_text(const char *line, const char *key, char *out, size_t len)
{
	char		 want[64];
	const char	*p;
	size_t		 n;

	snprintf(want, sizeof(want), "\"%s\":", key);
	if ((p = strstr(line, want)) == NULL)
		fail_msg("no %s in %s", key, line);
	p += strlen(want);
	n = strspn(p, "0123456789.-eE+");
	assert_true(n > 0 && n < len);
	memcpy(out, p, n);
	out[n] = '\0';
}

/* Every answer writes a job's times the same way: nine decimals. */
static void
test_list_writes_times_as_every_answer_does(void **state)
{
	static const char *const keys[] = { "created_at", "started_at",
	    "finished_at" };
	struct client	 c;
	json_t		*r;
	json_int_t	 id;
	char		*status, *list, a[64], b[64];
	const char	*dot;
	size_t		 i;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"echo\",\"queue\":\"timesq\"}}");
	id = reply_job_id(r);
	json_decref(r);
	client_send(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
	status = client_recv_text(&c, HARNESS_WAIT);
	client_send(&c, "{\"op\":\"list\",\"queue\":\"timesq\"}");
	list = client_recv_text(&c, HARNESS_WAIT);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		number_text(status, keys[i], a, sizeof(a));
		number_text(list, keys[i], b, sizeof(b));
		assert_non_null(dot = strchr(b, '.'));
		if (strlen(dot + 1) != 9)
			fail_msg("list wrote %s as %s", keys[i], b);
		assert_string_equal(a, b);
	}
	free(status);
	free(list);
	client_close(&c);
}

static void
test_stats_reports_jobs_loops_executor_connections(void **state)
{
	struct client	 c;
	json_t		*r, *s;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"stats\",\"id\":1}");
	s = json_object_get(r, "stats");
	assert_non_null(json_object_get(s, "uptime"));
	assert_non_null(json_object_get(json_object_get(s, "jobs"), "running"));
	assert_true(json_array_size(json_object_get(s, "loops")) >= 1);
	assert_non_null(json_object_get(json_array_get(json_object_get(s, "loops"), 0),
	    "lag_ms"));
	assert_non_null(json_object_get(json_object_get(s, "executor"), "threads"));
	assert_true(json_integer_value(json_object_get(json_object_get(s, "connections"),
	    "current")) >= 1);
	json_decref(r);
	client_close(&c);
}

/* Every request error code that the protocol defines and this build can hit. */
static void
test_request_errors_name_the_field(void **state)
{
	static const struct {
		const char	*line;
		const char	*code;
		const char	*path;		/* NULL: none expected */
	} cases[] = {
		{ "[1,2]", "bad_json", NULL },
		{ "{\"op\":", "bad_json", NULL },
		{ "{\"op\":\"ping\",\"op\":\"ping\"}", "bad_json", NULL },
		{ "{\"id\":1}", "bad_request", "op" },
		{ "{\"op\":3}", "bad_request", "op" },
		{ "{\"op\":\"fly\"}", "unknown_op", "op" },
		{ "{\"op\":\"ping\",\"id\":[1]}", "bad_request", "id" },
		{ "{\"op\":\"ping\",\"extra\":1}", "bad_request", "extra" },
		{ "{\"op\":\"submit\"}", "bad_request", "job" },
		{ "{\"op\":\"submit\",\"job\":{}}", "bad_request", "job.type" },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"teleport\"}}", "unknown_type", "job.type" },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"echo\",\"args\":[]}}", "bad_request", "job.args" },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"echo\",\"args\":{\"valu\":1}}}", "bad_request", "job.args.valu" },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"sleep\"}}", "bad_request", "job.args.seconds" },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"sleep\",\"args\":{\"seconds\":1e400}}}", "bad_json", NULL },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"sleep\",\"args\":{\"seconds\":1e12}}}", "bad_request", "job.args.seconds" },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"echo\",\"timeout\":0}}", "bad_request", "job.timeout" },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"echo\",\"retries\":-1}}", "bad_request", "job.retries" },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"echo\",\"retries\":1.5}}", "bad_request", "job.retries" },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"echo\",\"priority\":99999999999}}", "bad_request", "job.priority" },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"echo\",\"delay\":\"1\"}}", "bad_request", "job.delay" },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"echo\",\"queue\":\"a b\"}}", "bad_request", "job.queue" },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"echo\",\"name\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}", "bad_request", "job.name" },
		{ "{\"op\":\"submit\",\"jobs\":[]}", "bad_request", "jobs" },
		{ "{\"op\":\"submit\",\"job\":{\"type\":\"echo\"},\"jobs\":[]}", "bad_request", "jobs" },
		{ "{\"op\":\"submit\",\"wait\":1,\"job\":{\"type\":\"echo\"}}", "bad_request", "wait" },
		{ "{\"op\":\"submit\",\"stream\":true,\"job\":{\"type\":\"echo\"}}", "bad_request", "stream" },
		{ "{\"op\":\"status\"}", "bad_request", "job" },
		{ "{\"op\":\"status\",\"job\":\"7\"}", "bad_request", "job" },
		{ "{\"op\":\"status\",\"job\":0}", "bad_request", "job" },
		{ "{\"op\":\"status\",\"job\":987654321}", "not_found", "job" },
		{ "{\"op\":\"result\",\"job\":987654321,\"wait\":true}", "not_found", "job" },
		{ "{\"op\":\"cancel\",\"job\":987654321}", "not_found", "job" },
		{ "{\"op\":\"result\",\"job\":1,\"timeout\":-1}", "bad_request", "timeout" },
		{ "{\"op\":\"list\",\"limit\":1001}", "bad_request", "limit" },
		{ "{\"op\":\"list\",\"state\":\"sleepy\"}", "bad_request", "state" },
		{ "{\"op\":\"watch\",\"job\":987654321}", "not_found", "job" },
		{ "\"just a string\"", "bad_json", NULL },
		{ "{\"op\":\"ping\",\"id\":\"\xff\xfe\"}", "bad_json", NULL },
	};
	struct client	 c;
	json_t		*r;
	size_t		 i;

	client_connect(&c, &d);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = client_call(&c, "%s", cases[i].line);
		if (reply_error_code(r) == NULL ||
		    strcmp(reply_error_code(r), cases[i].code) != 0)
			fail_msg("%s: expected %s, got %s", cases[i].line, cases[i].code,
			    json_dumps(r, JSON_COMPACT));
		if (cases[i].path != NULL && (reply_error_path(r) == NULL ||
		    strcmp(reply_error_path(r), cases[i].path) != 0))
			fail_msg("%s: expected path %s, got %s", cases[i].line,
			    cases[i].path, json_dumps(r, JSON_COMPACT));
		assert_true(json_is_false(json_object_get(r, "ok")));
		assert_non_null(json_string_value(json_object_get(json_object_get(r,
		    "error"), "message")));
		json_decref(r);
	}
	/* The connection is still good after all of that. */
	r = client_call(&c, "{\"op\":\"ping\",\"id\":\"after\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	client_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_answers_version_and_uptime),
		cmocka_unit_test(test_ping_over_tcp),
		cmocka_unit_test(test_submit_without_wait_returns_a_ticket_at_once),
		cmocka_unit_test(test_submit_with_wait_answers_with_the_finished_view),
		cmocka_unit_test(test_batch_submit_is_all_or_nothing),
		cmocka_unit_test(test_status_result_and_cancel_from_another_connection),
		cmocka_unit_test(test_pipelined_requests_answer_out_of_order),
		cmocka_unit_test(test_watch_sends_every_state_change),
		cmocka_unit_test(test_watch_of_a_finished_job_sends_its_last_state),
		cmocka_unit_test(test_watch_everything_and_by_queue),
		cmocka_unit_test(test_watch_sees_each_state_once),
		cmocka_unit_test(test_a_wait_that_runs_out_names_the_jobs),
		cmocka_unit_test(test_watch_events_have_their_own_times),
		cmocka_unit_test(test_list_filters_and_pages_newest_first),
		cmocka_unit_test(test_list_writes_times_as_every_answer_does),
		cmocka_unit_test(test_stats_reports_jobs_loops_executor_connections),
		cmocka_unit_test(test_request_errors_name_the_field),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
