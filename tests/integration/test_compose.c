/*
 * asyncio's ways of combining and coordinating tasks, as loomd jobs.  Where
 * timing matters the tests read the jobs' own timestamps (overlap or order
 * of started_at/finished_at), which is deterministic on a busy machine.
 */
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
	static const char *const extra[] = {
		"-o", "loops=2",
		"-o", "limit.three.concurrency=3",
		"-o", "limit.one.concurrency=1",
		"-o", "queue.solo.concurrency=1",
		"-o", "queue.capped.max_pending=2",
		NULL
	};

	daemon_start(&d, extra);
	return 0;
}

static int
teardown(void **state)
{
	daemon_stop(&d);
	return 0;
}

static json_t *
job(json_t *r)
{
	return json_object_get(r, "job");
}

static double
num(json_t *view, const char *key)
{
	return json_number_value(json_object_get(view, key));
}

static const char *
str(json_t *view, const char *key)
{
	return json_string_value(json_object_get(view, key));
}

/* The view of job `id`, through status. */
static json_t *
view_of(struct client *c, json_int_t id)
{
	json_t	*r = client_call(c, "{\"op\":\"status\",\"id\":\"v\",\"job\":%lld}",
		    (long long)id);
	json_t	*v = json_incref(job(r));

	json_decref(r);
	assert_non_null(v);
	return v;
}

/* Views of a composite's children, in index order (caller frees). */
static json_t *
children_of(struct client *c, json_t *parent)
{
	json_t	*ids = json_object_get(parent, "children"), *all = json_array(), *id;
	size_t	 i;

	json_array_foreach(ids, i, id)
		json_array_append_new(all, view_of(c, json_integer_value(id)));
	return all;
}

/* The most children that ran at the same time, from their timestamps. */
static int
max_overlap(json_t *views)
{
	size_t	 i, j, n = json_array_size(views);
	int	 best = 0, here;

	for (i = 0; i < n; i++) {
		double	t = num(json_array_get(views, i), "started_at");

		here = 0;
		for (j = 0; j < n; j++) {
			json_t	*v = json_array_get(views, j);

			if (num(v, "started_at") <= t && t < num(v, "finished_at"))
				here++;
		}
		if (here > best)
			best = here;
	}
	return best;
}

static void
test_gather_runs_children_together_and_sequence_one_after_another(void **state)
{
	struct client	 c;
	json_t		*g, *s, *gk, *sk;

	client_connect(&c, &d);
	g = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":{\"type\":"
	    "\"gather\",\"args\":{\"jobs\":[{\"type\":\"sleep\",\"args\":{\"seconds\":0.3,"
	    "\"result\":\"a\"}},{\"type\":\"sleep\",\"args\":{\"seconds\":0.2,\"result\":"
	    "\"b\"}}]}}}");
	s = client_call(&c, "{\"op\":\"submit\",\"id\":2,\"wait\":true,\"job\":{\"type\":"
	    "\"sequence\",\"args\":{\"jobs\":[{\"type\":\"sleep\",\"args\":{\"seconds\":0.3,"
	    "\"result\":\"a\"}},{\"type\":\"sleep\",\"args\":{\"seconds\":0.2,\"result\":"
	    "\"b\"}}]}}}");
	assert_string_equal(str(job(g), "state"), "done");
	assert_string_equal(str(job(s), "state"), "done");
	assert_true(json_equal(json_object_get(json_object_get(job(g), "result"),
	    "results"), json_object_get(json_object_get(job(s), "result"), "results")));
	gk = children_of(&c, job(g));
	sk = children_of(&c, job(s));
	/* gather: the second started before the first finished (the maximum of
	 * their times); sequence: after it (the sum). */
	assert_int_equal(max_overlap(gk), 2);
	assert_int_equal(max_overlap(sk), 1);
	assert_true(num(json_array_get(sk, 1), "started_at") >=
	    num(json_array_get(sk, 0), "finished_at"));
	/* The sum of the children's times, not the maximum. */
	assert_true(num(job(s), "finished_at") - num(job(s), "started_at") >= 0.45);
	/* Children are full jobs: they know their parent. */
	assert_int_equal(json_integer_value(json_object_get(json_array_get(gk, 0),
	    "parent")), json_integer_value(json_object_get(job(g), "id")));
	json_decref(g);
	json_decref(s);
	json_decref(gk);
	json_decref(sk);
	client_close(&c);
}

static void
test_gather_fails_at_the_first_failure_and_the_others_go_on(void **state)
{
	struct client	 c;
	json_t		*r, *detail, *sibling;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":{\"type\":"
	    "\"gather\",\"args\":{\"jobs\":[{\"type\":\"sleep\",\"args\":{\"seconds\":0.5}},"
	    "{\"type\":\"sleep\",\"args\":{\"seconds\":0,\"error\":\"boom\"}}]}}}");
	assert_string_equal(str(job(r), "state"), "failed");
	detail = json_object_get(json_object_get(job(r), "error"), "detail");
	assert_int_equal(json_integer_value(json_object_get(detail, "index")), 1);
	assert_string_equal(str(json_object_get(detail, "error"), "message"), "boom");
	/* The other child was not cancelled: it finishes done. */
	sibling = client_wait_left(&c, json_integer_value(json_array_get(
	    json_object_get(job(r), "children"), 0)), "running");
	assert_string_equal(str(sibling, "state"), "done");
	json_decref(sibling);
	json_decref(r);
	client_close(&c);
}

static void
test_gather_with_return_exceptions_aligns_results_and_errors(void **state)
{
	struct client	 c;
	json_t		*r, *res;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":{\"type\":"
	    "\"gather\",\"args\":{\"return_exceptions\":true,\"jobs\":[{\"type\":\"echo\","
	    "\"args\":{\"value\":1}},{\"type\":\"sleep\",\"args\":{\"seconds\":0,\"error\":"
	    "\"no\"}},{\"type\":\"echo\",\"args\":{\"value\":3}}]}}}");
	assert_string_equal(str(job(r), "state"), "done");
	res = json_object_get(job(r), "result");
	assert_int_equal(json_integer_value(json_array_get(json_object_get(res,
	    "results"), 0)), 1);
	assert_true(json_is_null(json_array_get(json_object_get(res, "results"), 1)));
	assert_int_equal(json_integer_value(json_array_get(json_object_get(res,
	    "results"), 2)), 3);
	assert_true(json_is_null(json_array_get(json_object_get(res, "errors"), 0)));
	assert_string_equal(str(json_array_get(json_object_get(res, "errors"), 1),
	    "message"), "no");
	json_decref(r);
	client_close(&c);
}

static void
test_group_cancels_siblings_on_first_failure_but_not_shielded_ones(void **state)
{
	struct client	 c;
	json_t		*r, *kids, *errors;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":{\"type\":"
	    "\"group\",\"args\":{\"jobs\":[{\"type\":\"sleep\",\"args\":{\"seconds\":30}},"
	    "{\"type\":\"sleep\",\"args\":{\"seconds\":0.05,\"error\":\"boom\"}},"
	    "{\"type\":\"sleep\",\"shield\":true,\"args\":{\"seconds\":0.3}}]}}}");
	assert_string_equal(str(job(r), "state"), "failed");
	assert_string_equal(str(json_object_get(job(r), "error"), "code"), "group_failed");
	errors = json_object_get(json_object_get(json_object_get(job(r), "error"),
	    "detail"), "errors");
	assert_int_equal(json_array_size(errors), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(errors, 0),
	    "index")), 1);
	kids = children_of(&c, job(r));
	assert_string_equal(str(json_array_get(kids, 0), "state"), "cancelled");
	assert_string_equal(str(json_array_get(kids, 2), "state"), "done");
	/* It waited for the shielded child before failing. */
	assert_true(num(job(r), "finished_at") >= num(json_array_get(kids, 2),
	    "finished_at"));
	json_decref(kids);
	json_decref(r);
	client_close(&c);
}

static json_t *
wait_result(struct client *c, const char *when, double timeout, bool cancel)
{
	char	 opts[128];
	json_t	*r;

	snprintf(opts, sizeof(opts), "\"return_when\":\"%s\"%s%s", when,
	    timeout > 0 ? ",\"timeout\":0.3" : "", cancel ? ",\"cancel_pending\":true" : "");
	r = client_call(c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":{\"type\":"
	    "\"wait\",\"args\":{%s,\"jobs\":[{\"type\":\"sleep\",\"args\":{\"seconds\":30}},"
	    "{\"type\":\"sleep\",\"args\":{\"seconds\":0.05}},{\"type\":\"sleep\","
	    "\"args\":{\"seconds\":0.1,\"error\":\"x\"}}]}}}", opts);
	assert_string_equal(str(job(r), "state"), "done");
	return r;
}

static void
test_wait_returns_when_asked_with_done_and_pending_sets(void **state)
{
	struct client	 c;
	json_t		*r, *res, *kids;

	client_connect(&c, &d);
	/* first_completed: the 0.05 s sleep. */
	r = wait_result(&c, "first_completed", 0, true);
	res = json_object_get(job(r), "result");
	assert_int_equal(json_array_size(json_object_get(res, "done")), 1);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(res, "done"),
	    0)), 1);
	assert_int_equal(json_array_size(json_object_get(res, "pending")), 2);
	assert_int_equal(json_array_size(json_object_get(res, "children")), 3);
	/* cancel_pending cancelled the 30 s sleep. */
	kids = children_of(&c, job(r));
	assert_string_equal(str(json_array_get(kids, 0), "state"), "cancelled");
	json_decref(kids);
	json_decref(r);

	/* first_exception: the failing one, with the first done too. */
	r = wait_result(&c, "first_exception", 0, true);
	res = json_object_get(job(r), "result");
	assert_int_equal(json_array_size(json_object_get(res, "done")), 2);
	assert_int_equal(json_integer_value(json_array_get(json_object_get(res,
	    "pending"), 0)), 0);
	json_decref(r);

	/* all_completed, bounded by a timeout: the 30 s sleep is still pending,
	 * and a wait never fails because a child did. */
	r = wait_result(&c, "all_completed", 0.3, true);
	res = json_object_get(job(r), "result");
	assert_int_equal(json_array_size(json_object_get(res, "done")), 2);
	assert_int_equal(json_array_size(json_object_get(res, "pending")), 1);
	json_decref(r);
	client_close(&c);
}

static void
test_stream_pushes_children_in_completion_order(void **state)
{
	struct client	 c;
	json_t		*r;
	int		 expect[] = { 1, 2, 0 }, i;

	client_connect(&c, &d);
	client_send(&c, "{\"op\":\"submit\",\"id\":\"s\",\"wait\":true,\"stream\":true,"
	    "\"job\":{\"type\":\"gather\",\"args\":{\"jobs\":[{\"type\":\"sleep\",\"args\":"
	    "{\"seconds\":0.6}},{\"type\":\"sleep\",\"args\":{\"seconds\":0.1}},"
	    "{\"type\":\"sleep\",\"args\":{\"seconds\":0.35}}]}}}");
	for (i = 0; i < 3; i++) {
		r = client_recv(&c, HARNESS_WAIT);
		assert_string_equal(str(r, "event"), "child");
		assert_string_equal(str(r, "id"), "s");
		assert_int_equal(json_integer_value(json_object_get(r, "index")), expect[i]);
		assert_string_equal(str(job(r), "state"), "done");
		json_decref(r);
	}
	r = client_recv(&c, HARNESS_WAIT);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(str(job(r), "type"), "gather");
	json_decref(r);
	client_close(&c);
}

static void
test_ten_jobs_under_a_limit_of_three_run_in_four_waves(void **state)
{
	struct client	 c;
	json_t		*r, *kids;
	char		 jobs[2048], *p = jobs;
	int		 i;

	for (i = 0; i < 10; i++)
		p += sprintf(p, "%s{\"type\":\"sleep\",\"limits\":[\"three\"],"
		    "\"args\":{\"seconds\":0.2}}", i ? "," : "");
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":{\"type\":"
	    "\"gather\",\"args\":{\"jobs\":[%s]}}}", jobs);
	assert_string_equal(str(job(r), "state"), "done");
	kids = children_of(&c, job(r));
	assert_int_equal(max_overlap(kids), 3);
	assert_true(num(job(r), "finished_at") - num(job(r), "started_at") >= 0.75);
	json_decref(kids);
	json_decref(r);
	client_close(&c);
}

static void
test_jobs_holding_one_lock_never_overlap(void **state)
{
	struct client	 a, b;
	json_t		*ra, *rb, *views;

	/* From two connections (two loops): the lock is shared by all loops. */
	client_connect(&a, &d);
	client_connect(&b, &d);
	client_send(&a, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"jobs\":["
	    "{\"type\":\"sleep\",\"lock\":\"L\",\"args\":{\"seconds\":0.15}},"
	    "{\"type\":\"sleep\",\"lock\":\"L\",\"args\":{\"seconds\":0.15}}]}");
	client_send(&b, "{\"op\":\"submit\",\"id\":2,\"wait\":true,\"jobs\":["
	    "{\"type\":\"sleep\",\"lock\":\"L\",\"args\":{\"seconds\":0.15}},"
	    "{\"type\":\"sleep\",\"limits\":[\"one\"],\"lock\":\"L\",\"args\":"
	    "{\"seconds\":0.15}}]}");
	ra = client_recv(&a, HARNESS_WAIT);
	rb = client_recv(&b, HARNESS_WAIT);
	views = json_array();
	json_array_extend(views, json_object_get(ra, "jobs"));
	json_array_extend(views, json_object_get(rb, "jobs"));
	assert_int_equal(json_array_size(views), 4);
	assert_int_equal(max_overlap(views), 1);
	json_decref(views);
	json_decref(ra);
	json_decref(rb);
	client_close(&a);
	client_close(&b);
}

static void
test_a_paused_queue_of_one_starts_by_priority_when_resumed(void **state)
{
	struct client	 c;
	json_t		*r, *views[5];
	int		 prio[5] = { 5, 1, 3, 2, 4 }, order[5], i, j;
	json_int_t	 ids[5];

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"queue.pause\",\"id\":1,\"name\":\"solo\"}");
	assert_true(json_is_true(json_object_get(json_object_get(r, "queue"), "paused")));
	json_decref(r);
	for (i = 0; i < 5; i++) {
		r = client_call(&c, "{\"op\":\"submit\",\"id\":2,\"job\":{\"type\":\"echo\","
		    "\"queue\":\"solo\",\"priority\":%d,\"args\":{\"value\":%d}}}", prio[i],
		    prio[i]);
		ids[i] = reply_job_id(r);
		json_decref(r);
	}
	/* Nothing starts while paused. */
	r = client_call(&c, "{\"op\":\"status\",\"id\":3,\"job\":%lld}", (long long)ids[0]);
	assert_string_equal(reply_job_state(r), "queued");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"queue.resume\",\"id\":4,\"name\":\"solo\"}");
	assert_false(json_is_true(json_object_get(json_object_get(r, "queue"), "paused")));
	json_decref(r);
	for (i = 0; i < 5; i++) {
		r = client_call(&c, "{\"op\":\"result\",\"id\":5,\"wait\":true,\"job\":%lld}",
		    (long long)ids[i]);
		views[i] = json_incref(job(r));
		json_decref(r);
	}
	/* Rank each job by when it started: lower priority value first. */
	for (i = 0; i < 5; i++) {
		order[i] = 0;
		for (j = 0; j < 5; j++) {
			if (num(views[j], "started_at") < num(views[i], "started_at"))
				order[i]++;
		}
	}
	for (i = 0; i < 5; i++) {
		if (order[i] != prio[i] - 1)
			fail_msg("job of priority %d started %d%s (at %.7f)", prio[i],
			    order[i] + 1, order[i] == 0 ? "st" : "th",
			    num(views[i], "started_at"));
		json_decref(views[i]);
	}
	client_close(&c);
}

static void
test_max_pending_answers_busy(void **state)
{
	struct client	 c;
	json_t		*r;
	json_int_t	 ids[2];
	int		 i;

	client_connect(&c, &d);
	json_decref(client_call(&c, "{\"op\":\"queue.pause\",\"id\":1,\"name\":\"capped\"}"));
	for (i = 0; i < 2; i++) {
		r = client_call(&c, "{\"op\":\"submit\",\"id\":2,\"job\":{\"type\":\"echo\","
		    "\"queue\":\"capped\"}}");
		ids[i] = reply_job_id(r);
		assert_true(ids[i] > 0);
		json_decref(r);
	}
	r = client_call(&c, "{\"op\":\"submit\",\"id\":3,\"job\":{\"type\":\"echo\","
	    "\"queue\":\"capped\"}}");
	assert_string_equal(reply_error_code(r), "busy");
	json_decref(r);
	/* Once they have run, there is room again. */
	json_decref(client_call(&c, "{\"op\":\"queue.resume\",\"id\":4,\"name\":\"capped\"}"));
	for (i = 0; i < 2; i++)
		json_decref(client_call(&c, "{\"op\":\"result\",\"id\":5,\"wait\":true,"
		    "\"job\":%lld}", (long long)ids[i]));
	r = client_call(&c, "{\"op\":\"submit\",\"id\":6,\"wait\":true,\"job\":{\"type\":"
	    "\"echo\",\"queue\":\"capped\"}}");
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	client_close(&c);
}

static void
test_after_waits_for_success_and_fails_on_failure(void **state)
{
	struct client	 a, b;
	json_t		*r, *first, *then;
	json_int_t	 ok, bad;

	client_connect(&a, &d);
	client_connect(&b, &d);
	r = client_call(&a, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":\"sleep\","
	    "\"args\":{\"seconds\":0.2,\"result\":1}}}");
	ok = reply_job_id(r);
	json_decref(r);
	r = client_call(&a, "{\"op\":\"submit\",\"id\":2,\"job\":{\"type\":\"sleep\","
	    "\"args\":{\"seconds\":0.1,\"error\":\"no\"}}}");
	bad = reply_job_id(r);
	json_decref(r);
	/* From another connection, likely another loop. */
	then = client_call(&b, "{\"op\":\"submit\",\"id\":3,\"wait\":true,\"job\":{\"type\":"
	    "\"echo\",\"after\":[%lld],\"args\":{\"value\":\"then\"}}}", (long long)ok);
	first = view_of(&b, ok);
	assert_string_equal(str(job(then), "state"), "done");
	assert_true(num(job(then), "started_at") >= num(first, "finished_at"));
	json_decref(first);
	json_decref(then);

	r = client_call(&b, "{\"op\":\"submit\",\"id\":4,\"wait\":true,\"job\":{\"type\":"
	    "\"echo\",\"after\":[%lld,%lld]}}", (long long)ok, (long long)bad);
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(str(json_object_get(job(r), "error"), "code"),
	    "dependency_failed");
	json_decref(r);

	/* A job already finished is a satisfied dependency. */
	r = client_call(&b, "{\"op\":\"submit\",\"id\":5,\"wait\":true,\"job\":{\"type\":"
	    "\"echo\",\"after\":[%lld]}}", (long long)ok);
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);

	r = client_call(&b, "{\"op\":\"submit\",\"id\":6,\"job\":{\"type\":\"echo\","
	    "\"after\":[987654321]}}");
	assert_string_equal(reply_error_path(r), "job.after[0]");
	json_decref(r);
	client_close(&a);
	client_close(&b);
}

static void
test_cancelling_a_composite_spares_shielded_children(void **state)
{
	struct client	 c;
	json_t		*r, *kids;
	json_int_t	 id;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":\"gather\","
	    "\"args\":{\"jobs\":[{\"type\":\"sleep\",\"shield\":true,\"args\":"
	    "{\"seconds\":0.3,\"result\":\"kept\"}},{\"type\":\"sleep\",\"args\":"
	    "{\"seconds\":30}}]}}}");
	id = reply_job_id(r);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"cancel\",\"id\":2,\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	/* The shielded child ends done; the other was cancelled with it. */
	json_decref(client_wait_left(&c, json_integer_value(json_array_get(
	    json_object_get(job(r), "children"), 0)), "running"));
	kids = children_of(&c, job(r));
	assert_string_equal(str(json_array_get(kids, 0), "state"), "done");
	assert_string_equal(str(json_array_get(kids, 1), "state"), "cancelled");
	json_decref(kids);
	json_decref(r);

	/* A composite's timeout cancels its children the same way. */
	r = client_call(&c, "{\"op\":\"submit\",\"id\":3,\"wait\":true,\"job\":{\"type\":"
	    "\"group\",\"timeout\":0.1,\"args\":{\"jobs\":[{\"type\":\"sleep\",\"args\":"
	    "{\"seconds\":30}}]}}}");
	assert_string_equal(reply_job_state(r), "timed_out");
	kids = children_of(&c, job(r));
	assert_string_equal(str(json_array_get(kids, 0), "state"), "cancelled");
	json_decref(kids);
	json_decref(r);
	client_close(&c);
}

static void
test_nesting_and_fan_out_are_bounded_at_submit(void **state)
{
	struct client	 c;
	json_t		*r;
	char		*spec, *p;
	size_t		 len = 64 * 12000;
	int		 i;

	client_connect(&c, &d);
	/* Nine levels of gather around an echo: one too deep. */
	spec = p = malloc(len);
	for (i = 0; i < 9; i++)
		p += sprintf(p, "{\"type\":\"gather\",\"args\":{\"jobs\":[");
	p += sprintf(p, "{\"type\":\"echo\"}");
	for (i = 0; i < 9; i++)
		p += sprintf(p, "]}}");
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"job\":%s}", spec);
	assert_string_equal(reply_error_code(r), "bad_request");
	assert_non_null(strstr(reply_error_path(r), "jobs[0].args.jobs[0]"));
	json_decref(r);
	/* 10,001 children: one more than max_children. */
	p = spec + sprintf(spec, "{\"type\":\"gather\",\"args\":{\"jobs\":[");
	for (i = 0; i < 10001; i++)
		p += sprintf(p, "%s{\"type\":\"echo\"}", i ? "," : "");
	sprintf(p, "]}}");
	r = client_call(&c, "{\"op\":\"submit\",\"id\":2,\"job\":%s}", spec);
	assert_string_equal(reply_error_path(r), "job.args.jobs");
	json_decref(r);
	free(spec);
	client_close(&c);
}

static void
test_a_gather_of_ten_thousand_echoes(void **state)
{
	struct client	 c;
	json_t		*r, *results;
	char		*spec, *p;
	int		 i;

	spec = p = malloc(64 * 10001);
	p += sprintf(p, "{\"type\":\"gather\",\"ttl\":0,\"args\":{\"jobs\":[");
	for (i = 0; i < 10000; i++)
		p += sprintf(p, "%s{\"type\":\"echo\",\"ttl\":0,\"args\":{\"value\":%d}}",
		    i ? "," : "", i);
	sprintf(p, "]}}");
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":%s}", spec);
	results = json_object_get(json_object_get(job(r), "result"), "results");
	assert_int_equal(json_array_size(results), 10000);
	assert_int_equal(json_integer_value(json_array_get(results, 9999)), 9999);
	json_decref(r);
	free(spec);
	client_close(&c);
}

/*
 * A composite that failed because of a child keeps the child's error code
 * after the child is gone: it used to point into the child's view, freed
 * with the child, so a later list showed another job's bytes as the code.
 */
static void
test_a_failed_gather_outlives_its_failed_child(void **state)
{
	struct client	 c, other;
	json_t		*r, *jobs, *v;
	json_int_t	 parent, child;
	size_t		 i;
	int		 n;

	client_connect(&c, &d);
	client_connect(&other, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":"
	    "{\"type\":\"gather\",\"args\":{\"jobs\":[{\"type\":\"sleep\",\"ttl\":0,"
	    "\"args\":{\"seconds\":0,\"error\":\"boom\"}}]}}}");
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "failed");
	parent = reply_job_id(r);
	child = json_integer_value(json_array_get(json_object_get(reply_job(r),
	    "children"), 0));
	json_decref(r);
	/* Until the child's ttl of 0 has run out and it is forgotten. */
	for (n = 0; n < 1000; n++) {
		r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}",
		    (long long)child);
		if (reply_error_code(r) != NULL &&
		    strcmp(reply_error_code(r), "not_found") == 0) {
			json_decref(r);
			break;
		}
		json_decref(r);
		usleep(1000);
	}
	assert_true(n < 1000);
	/* Others' results may now live where the child's view was. */
	for (n = 0; n < 20; n++) {
		r = client_call(&other, "{\"op\":\"submit\",\"wait\":true,\"job\":"
		    "{\"type\":\"echo\",\"args\":{\"value\":\"hunter%d\"}}}", n);
		json_decref(r);
	}
	r = client_call(&c, "{\"op\":\"list\",\"limit\":1000}");
	jobs = json_object_get(r, "jobs");
	for (i = 0; i < json_array_size(jobs); i++) {
		v = json_array_get(jobs, i);
		if (json_integer_value(json_object_get(v, "id")) != parent)
			continue;
		assert_string_equal(json_str(json_object_get(v, "error"), "code"),
		    "failed");
		break;
	}
	assert_true(i < json_array_size(jobs));
	json_decref(r);
	client_close(&other);
	client_close(&c);
}

/* An empty list of limits is no limits (it passed a null pointer to qsort,
 * undefined behaviour that stopped the UBSan build). */
static void
test_an_empty_list_of_limits_is_none(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":"
	    "{\"type\":\"echo\",\"limits\":[],\"args\":{\"value\":1}}}");
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	client_close(&c);
}

/*
 * A job handed to another loop can be cancelled there before it begins;
 * with a ttl of 0 it used to be freed by then, and job_begin read it after
 * (the ASan build caught it within a second).  A parks jobs on its loop so
 * that new ones go to B's; B cancels the ids A's next batch will get.
 */
static void
test_a_job_cancelled_before_it_begins_on_another_loop(void **state)
{
	struct client	 a, b;
	json_t		*r, *parked;
	json_int_t	 next;
	char		*batch, *p;
	int		 round, i;

	client_connect(&a, &d);
	client_connect(&b, &d);		/* round robin: the other loop */
	p = batch = malloc(128 * 300);
	for (i = 0; i < 300; i++)
		p += sprintf(p, "%s{\"type\":\"sleep\",\"delay\":3600,"
		    "\"args\":{\"seconds\":0}}", i ? "," : "");
	parked = client_call(&a, "{\"op\":\"submit\",\"jobs\":[%s]}", batch);
	assert_non_null(json_object_get(parked, "jobs"));
	p = batch;
	for (i = 0; i < 50; i++)
		p += sprintf(p, "%s{\"type\":\"sleep\",\"ttl\":0,"
		    "\"args\":{\"seconds\":5}}", i ? "," : "");
	for (round = 0; round < 40; round++) {
		r = client_call(&a, "{\"op\":\"submit\",\"job\":{\"type\":\"echo\","
		    "\"ttl\":0}}");
		next = reply_job_id(r) + 1;
		json_decref(r);
		client_send(&a, "{\"op\":\"submit\",\"id\":\"batch\",\"jobs\":[%s]}",
		    batch);
		for (i = 0; i < 50; i++)
			client_send(&b, "{\"op\":\"cancel\",\"job\":%lld}",
			    (long long)(next + i));
		r = client_recv(&a, HARNESS_WAIT);
		assert_non_null(json_object_get(r, "jobs"));
		json_decref(r);
		for (i = 0; i < 50; i++) {
			r = client_recv(&b, HARNESS_WAIT);
			assert_non_null(r);
			json_decref(r);
		}
		/* What was not cancelled in time is now. */
		for (i = 0; i < 50; i++)
			client_send(&b, "{\"op\":\"cancel\",\"job\":%lld}",
			    (long long)(next + i));
		for (i = 0; i < 50; i++)
			json_decref(client_recv(&b, HARNESS_WAIT));
	}
	for (i = 0; i < 300; i++) {
		r = client_call(&a, "{\"op\":\"cancel\",\"job\":%lld}",
		    json_integer_value(json_object_get(json_array_get(
		    json_object_get(parked, "jobs"), i), "id")));
		json_decref(r);
	}
	r = client_call(&b, "{\"op\":\"ping\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	json_decref(parked);
	free(batch);
	client_close(&b);
	client_close(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gather_runs_children_together_and_sequence_one_after_another),
		cmocka_unit_test(test_gather_fails_at_the_first_failure_and_the_others_go_on),
		cmocka_unit_test(test_gather_with_return_exceptions_aligns_results_and_errors),
		cmocka_unit_test(test_group_cancels_siblings_on_first_failure_but_not_shielded_ones),
		cmocka_unit_test(test_wait_returns_when_asked_with_done_and_pending_sets),
		cmocka_unit_test(test_stream_pushes_children_in_completion_order),
		cmocka_unit_test(test_ten_jobs_under_a_limit_of_three_run_in_four_waves),
		cmocka_unit_test(test_jobs_holding_one_lock_never_overlap),
		cmocka_unit_test(test_a_paused_queue_of_one_starts_by_priority_when_resumed),
		cmocka_unit_test(test_max_pending_answers_busy),
		cmocka_unit_test(test_after_waits_for_success_and_fails_on_failure),
		cmocka_unit_test(test_cancelling_a_composite_spares_shielded_children),
		cmocka_unit_test(test_nesting_and_fan_out_are_bounded_at_submit),
		cmocka_unit_test(test_a_gather_of_ten_thousand_echoes),
		cmocka_unit_test(test_a_failed_gather_outlives_its_failed_child),
		cmocka_unit_test(test_an_empty_list_of_limits_is_none),
		cmocka_unit_test(test_a_job_cancelled_before_it_begins_on_another_loop),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
