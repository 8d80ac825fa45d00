/* The job state machine seen from outside: delays, timeouts, retries, ttl. */
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

static double
job_num(json_t *r, const char *key)
{
	return json_number_value(json_object_get(reply_job(r), key));
}

static const char *
job_error_code(json_t *r)
{
	return json_string_value(json_object_get(json_object_get(reply_job(r), "error"),
	    "code"));
}

static void
test_timeout_cancels_the_job_and_ends_timed_out(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":{\"type\":"
	    "\"sleep\",\"timeout\":0.1,\"args\":{\"seconds\":60}}}");
	assert_string_equal(reply_job_state(r), "timed_out");
	assert_string_equal(job_error_code(r), "timeout");
	assert_null(json_object_get(reply_job(r), "result"));
	json_decref(r);
	client_close(&c);
}

static void
test_a_job_that_fails_reports_failed_with_its_message(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":{\"type\":"
	    "\"sleep\",\"args\":{\"seconds\":0,\"error\":\"disk on fire\"}}}");
	/* ok is about the request; the job's fate is its state. */
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(job_error_code(r), "failed");
	assert_string_equal(json_string_value(json_object_get(json_object_get(reply_job(r),
	    "error"), "message")), "disk on fire");
	json_decref(r);
	client_close(&c);
}

static void
test_delay_keeps_the_job_pending_then_runs_it(void **state)
{
	struct client	 c;
	json_t		*r;
	json_int_t	 id;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":\"echo\","
	    "\"delay\":0.3,\"args\":{\"value\":\"late\"}}}");
	id = reply_job_id(r);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"status\",\"id\":2,\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "pending");
	assert_null(json_object_get(reply_job(r), "started_at"));
	json_decref(r);
	r = client_call(&c, "{\"op\":\"result\",\"id\":3,\"wait\":true,\"job\":%lld}",
	    (long long)id);
	assert_string_equal(reply_job_state(r), "done");
	/* It started no sooner than its delay after it was created. */
	assert_true(job_num(r, "started_at") - job_num(r, "created_at") >= 0.29);
	json_decref(r);
	client_close(&c);
}

static void
test_retries_back_off_doubling_then_fail(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	/* Three attempts; the waits between them are 0.1 then 0.2 seconds. */
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":{\"type\":"
	    "\"sleep\",\"retries\":2,\"retry_delay\":0.1,\"args\":{\"seconds\":0,"
	    "\"error\":\"flaky\"}}}");
	assert_string_equal(reply_job_state(r), "failed");
	assert_int_equal(json_integer_value(json_object_get(reply_job(r), "attempt")), 3);
	assert_true(job_num(r, "finished_at") - job_num(r, "created_at") >= 0.29);
	json_decref(r);
	client_close(&c);
}

static void
test_no_retry_after_timeout(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":{\"type\":"
	    "\"sleep\",\"retries\":3,\"timeout\":0.05,\"args\":{\"seconds\":10}}}");
	assert_string_equal(reply_job_state(r), "timed_out");
	assert_int_equal(json_integer_value(json_object_get(reply_job(r), "attempt")), 1);
	json_decref(r);
	client_close(&c);
}

static void
test_cancel_of_a_pending_job_answers_at_once(void **state)
{
	struct client	 c;
	json_t		*r;
	json_int_t	 id;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":\"echo\","
	    "\"delay\":3600}}");
	id = reply_job_id(r);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"cancel\",\"id\":2,\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	assert_null(json_object_get(reply_job(r), "started_at"));
	json_decref(r);
	client_close(&c);
}

static void
test_expired_results_are_not_found(void **state)
{
	struct client	 c;
	json_t		*r;
	json_int_t	 id;
	double		 deadline = now_seconds() + HARNESS_WAIT;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":{\"type\":"
	    "\"echo\",\"ttl\":0.1}}");
	id = reply_job_id(r);
	json_decref(r);
	/* Queryable right after; gone once the ttl has passed. */
	for (;;) {
		r = client_call(&c, "{\"op\":\"status\",\"id\":2,\"job\":%lld}", (long long)id);
		if (reply_error_code(r) != NULL) {
			assert_string_equal(reply_error_code(r), "not_found");
			json_decref(r);
			break;
		}
		assert_string_equal(reply_job_state(r), "done");
		json_decref(r);
		assert_true(now_seconds() < deadline);
		usleep(20000);
	}
	client_close(&c);
}

static void
test_same_key_returns_the_same_job(void **state)
{
	struct client	 c;
	json_t		*r;
	json_int_t	 first, again, other;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":\"sleep\","
	    "\"key\":\"nightly-2026-11-21\",\"args\":{\"seconds\":30}}}");
	first = reply_job_id(r);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":2,\"job\":{\"type\":\"sleep\","
	    "\"key\":\"nightly-2026-11-21\",\"args\":{\"seconds\":30}}}");
	again = reply_job_id(r);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":3,\"job\":{\"type\":\"sleep\","
	    "\"key\":\"nightly-2026-11-22\",\"args\":{\"seconds\":30}}}");
	other = reply_job_id(r);
	json_decref(r);
	assert_int_equal(first, again);
	assert_true(other != first);
	json_decref(client_call(&c, "{\"op\":\"cancel\",\"id\":4,\"job\":%lld}",
	    (long long)first));
	json_decref(client_call(&c, "{\"op\":\"cancel\",\"id\":5,\"job\":%lld}",
	    (long long)other));
	client_close(&c);
}

/* 1,000 sleeps of 0.5 s run concurrently: together they take about 0.5 s, not
 * 500 s.  The bound is generous; it asserts concurrency, not speed. */
static void
test_a_thousand_sleeps_run_concurrently(void **state)
{
	struct client	 c;
	json_t		*r, *jobs, *v;
	char		*line, *p;
	size_t		 i, len = 64 + 1000 * 64;
	double		 start, took;

	client_connect(&c, &d);
	line = p = malloc(len);
	p += sprintf(p, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"jobs\":[");
	for (i = 0; i < 1000; i++)
		p += sprintf(p, "%s{\"type\":\"sleep\",\"args\":{\"seconds\":0.5}}",
		    i ? "," : "");
	sprintf(p, "]}");
	start = now_seconds();
	r = client_call(&c, "%s", line);
	took = now_seconds() - start;
	free(line);
	jobs = json_object_get(r, "jobs");
	assert_int_equal(json_array_size(jobs), 1000);
	json_array_foreach(jobs, i, v)
		assert_string_equal(json_string_value(json_object_get(v, "state")), "done");
	assert_true(took >= 0.5);
	assert_true(took < 20);
	json_decref(r);
	client_close(&c);
}

/* CPU-bound types run on the executor and answer through the same path. */
static void
test_executor_types_answer_through_the_daemon(void **state)
{
	struct client	 c;
	json_t		*r, *res;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":{\"type\":"
	    "\"sumsq\",\"args\":{\"n\":1000000}}}");
	assert_string_equal(json_string_value(json_object_get(reply_job(r), "result")),
	    "333332833333500000");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":2,\"wait\":true,\"job\":{\"type\":"
	    "\"digest\",\"args\":{\"data\":\"abc\"}}}");
	res = json_object_get(reply_job(r), "result");
	assert_string_equal(json_string_value(json_object_get(res, "hex")),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":3,\"wait\":true,\"job\":{\"type\":"
	    "\"pbkdf2\",\"args\":{\"password\":\"password\",\"salt\":\"salt\","
	    "\"iterations\":2,\"length\":20,\"algorithm\":\"sha1\"}}}");
	res = json_object_get(reply_job(r), "result");
	assert_string_equal(json_string_value(json_object_get(res, "hex")),
	    "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
	json_decref(r);
	/* Refused at submit, naming the field, never reaching the executor. */
	r = client_call(&c, "{\"op\":\"submit\",\"id\":4,\"job\":{\"type\":\"digest\","
	    "\"args\":{\"data\":\"x\",\"algorithm\":\"rot13\"}}}");
	assert_string_equal(reply_error_path(r), "job.args.algorithm");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":5,\"job\":{\"type\":\"digest\","
	    "\"args\":{\"path\":\"etc/passwd\"}}}");
	assert_string_equal(reply_error_path(r), "job.args.path");
	json_decref(r);
	client_close(&c);
}

/* Cancelling a running CPU job reaches the work function, which stops. */
static void
test_cancel_stops_running_executor_work(void **state)
{
	struct client	 c, w;
	json_t		*r;
	json_int_t	 id;

	client_connect(&c, &d);
	client_connect(&w, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":\"sumsq\","
	    "\"args\":{\"n\":10000000000}}}");
	id = reply_job_id(r);
	json_decref(r);
	/* Wait until it is running (an event seen through status). */
	json_decref(client_wait_left(&c, id, "queued"));
	r = client_call(&w, "{\"op\":\"cancel\",\"id\":3,\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	/* The executor is free again: a small job runs at once. */
	r = client_call(&c, "{\"op\":\"submit\",\"id\":4,\"wait\":true,\"job\":{\"type\":"
	    "\"sumsq\",\"args\":{\"n\":4}}}");
	assert_string_equal(json_string_value(json_object_get(reply_job(r), "result")), "14");
	json_decref(r);
	client_close(&c);
	client_close(&w);
}

static void
test_timeout_of_executor_work_ends_timed_out(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":{\"type\":"
	    "\"pbkdf2\",\"timeout\":0.2,\"args\":{\"password\":\"p\",\"salt\":\"s\","
	    "\"iterations\":10000000,\"algorithm\":\"sha512\"}}}");
	assert_string_equal(reply_job_state(r), "timed_out");
	assert_string_equal(job_error_code(r), "timeout");
	json_decref(r);
	client_close(&c);
}

static json_int_t
count_of(json_t *stats, const char *group, const char *name, const char *counter)
{
	json_t	*o = json_object_get(json_object_get(stats, group), name);

	assert_non_null(o);
	return json_integer_value(json_object_get(o, counter));
}

/* stats counts every end per queue and per type, and the counts stay when
 * the jobs' results have expired (the per-state counts go down then). */
static void
test_stats_counters_never_go_down(void **state)
{
	struct client	 c;
	json_t		*r, *stats;
	json_int_t	 id;

	client_connect(&c, &d);
	json_decref(client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":"
	    "{\"type\":\"echo\",\"queue\":\"counted\",\"ttl\":0}}"));
	json_decref(client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":"
	    "{\"type\":\"sleep\",\"queue\":\"counted\",\"ttl\":0,\"retries\":1,"
	    "\"retry_delay\":0,\"args\":{\"seconds\":0,\"error\":\"no\"}}}"));
	json_decref(client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":"
	    "{\"type\":\"sleep\",\"queue\":\"counted\",\"ttl\":0,\"timeout\":0.01,"
	    "\"args\":{\"seconds\":60}}}"));
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"sleep\","
	    "\"queue\":\"counted\",\"ttl\":0,\"args\":{\"seconds\":60}}}");
	id = reply_job_id(r);
	json_decref(r);
	json_decref(client_call(&c, "{\"op\":\"cancel\",\"job\":%lld}",
	    (long long)id));
	/* Until the last one's ttl of 0 has run out. */
	do {
		r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
	} while (reply_error_code(r) == NULL && (json_decref(r), 1));
	json_decref(r);

	r = client_call(&c, "{\"op\":\"stats\"}");
	stats = json_object_get(r, "stats");
	assert_int_equal(count_of(stats, "queues", "counted", "submitted"), 4);
	assert_int_equal(count_of(stats, "queues", "counted", "done"), 1);
	assert_int_equal(count_of(stats, "queues", "counted", "failed"), 1);
	assert_int_equal(count_of(stats, "queues", "counted", "retried"), 1);
	assert_int_equal(count_of(stats, "queues", "counted", "timed_out"), 1);
	assert_int_equal(count_of(stats, "queues", "counted", "cancelled"), 1);
	assert_int_equal(count_of(stats, "queues", "counted", "depth"), 0);
	assert_true(count_of(stats, "types", "sleep", "submitted") >= 3);
	assert_true(count_of(stats, "types", "echo", "done") >= 1);
	assert_string_equal(json_str(stats, "version"), PACKAGE_VERSION);
	assert_int_equal(json_integer_value(json_object_get(stats, "pid")), d.pid);
	assert_int_equal(json_integer_value(json_object_get(stats, "boot")), 1);
	assert_true(json_integer_value(json_object_get(stats, "rss_bytes")) > 0);
	json_decref(r);
	client_close(&c);
}

/* retry: a failed, cancelled or timed-out job runs again under its id as
 * its next attempt, and its view keeps the error that ended the last. */
static void
test_retry_runs_a_finished_job_again(void **state)
{
	struct client	 c;
	json_t		*r, *last;
	json_int_t	 id;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"sleep\",\"args\":{\"seconds\":0,\"error\":\"first\"}}}");
	assert_string_equal(reply_job_state(r), "failed");
	id = reply_job_id(r);
	json_decref(r);

	r = client_call(&c, "{\"op\":\"retry\",\"id\":\"r\",\"job\":%lld}",
	    (long long)id);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(reply_job_id(r), id);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"result\",\"wait\":true,\"job\":%lld}",
	    (long long)id);
	assert_string_equal(reply_job_state(r), "failed");
	assert_int_equal(job_num(r, "attempt"), 2);
	last = json_object_get(reply_job(r), "last_error");
	assert_string_equal(json_str(last, "message"), "first");
	json_decref(r);

	/* A job that is done, or running, is not retried. */
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"echo\"}}");
	id = reply_job_id(r);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"retry\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_error_code(r), "invalid_state");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"retry\",\"job\":987654321}");
	assert_string_equal(reply_error_code(r), "not_found");
	assert_string_equal(reply_error_path(r), "job");
	json_decref(r);

	/* A cancelled one runs to its end this time. */
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"sleep\","
	    "\"args\":{\"seconds\":60,\"result\":7}}}");
	id = reply_job_id(r);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"cancel\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"retry\",\"job\":%lld}", (long long)id);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
	assert_string_equal(json_str(json_object_get(reply_job(r), "last_error"),
	    "code"), "cancelled");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"cancel\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	client_close(&c);
}

/* An attempt that failed and was retried shows why in the view. */
static void
test_a_retried_attempt_leaves_its_error_in_the_view(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"sleep\",\"retries\":1,\"retry_delay\":0,\"args\":{\"seconds\":0,"
	    "\"error\":\"again\"}}}");
	assert_string_equal(reply_job_state(r), "failed");
	assert_int_equal(job_num(r, "attempt"), 2);
	assert_string_equal(json_str(json_object_get(reply_job(r), "last_error"),
	    "message"), "again");
	json_decref(r);
	client_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timeout_cancels_the_job_and_ends_timed_out),
		cmocka_unit_test(test_a_job_that_fails_reports_failed_with_its_message),
		cmocka_unit_test(test_delay_keeps_the_job_pending_then_runs_it),
		cmocka_unit_test(test_retries_back_off_doubling_then_fail),
		cmocka_unit_test(test_no_retry_after_timeout),
		cmocka_unit_test(test_cancel_of_a_pending_job_answers_at_once),
		cmocka_unit_test(test_expired_results_are_not_found),
		cmocka_unit_test(test_same_key_returns_the_same_job),
		cmocka_unit_test(test_a_thousand_sleeps_run_concurrently),
		cmocka_unit_test(test_executor_types_answer_through_the_daemon),
		cmocka_unit_test(test_cancel_stops_running_executor_work),
		cmocka_unit_test(test_timeout_of_executor_work_ends_timed_out),
		cmocka_unit_test(test_stats_counters_never_go_down),
		cmocka_unit_test(test_retry_runs_a_finished_job_again),
		cmocka_unit_test(test_a_retried_attempt_leaves_its_error_in_the_view),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
