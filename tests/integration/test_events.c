/*
 * Named events against a real loomd with two loops: the event ops, and
 * wait_event jobs released by a set from another connection, on any loop.
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

static struct daemon	d;

#define NAME_64	"n123456789012345678901234567890123456789012345678901234567890123"
#define NAME_65	NAME_64 "5"

static int
setup(void **state)
{
	static const char *const extra[] = { "-o", "loops=2", NULL };

	daemon_start(&d, extra);
	return 0;
}

static int
teardown(void **state)
{
	/* Exits 0 without leaks, with a job still waiting (the last test). */
	daemon_stop(&d);
	return 0;
}

static json_t *
job_result(json_t *r)
{
	return json_object_get(reply_job(r), "result");
}

static const char *
job_error(json_t *r, const char *key)
{
	return json_string_value(json_object_get(json_object_get(reply_job(r), "error"),
	    key));
}

/* An event op's answer: {"event":{"name","set","waiters"}}. */
static void
assert_event(json_t *r, const char *name, bool set, json_int_t waiters)
{
	json_t	*ev = json_object_get(r, "event");

	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(json_object_get(ev, "name")), name);
	assert_int_equal(json_is_true(json_object_get(ev, "set")), set);
	assert_int_equal(json_integer_value(json_object_get(ev, "waiters")), waiters);
}

static void
event_op(struct client *c, const char *op, const char *name, bool set,
    json_int_t waiters)
{
	json_t	*r = client_call(c, "{\"op\":\"event.%s\",\"name\":\"%s\"}", op, name);

	assert_event(r, name, set, waiters);
	json_decref(r);
}

/* Until `n` jobs wait on the event (they register when they start). */
static void
await_waiters(struct client *c, const char *name, json_int_t n)
{
	double	 deadline = now_seconds() + HARNESS_WAIT;
	json_t	*r, *ev;

	for (;;) {
		r = client_call(c, "{\"op\":\"event.get\",\"name\":\"%s\"}", name);
		ev = json_object_get(r, "event");
		if (json_integer_value(json_object_get(ev, "waiters")) == n) {
			json_decref(r);
			return;
		}
		json_decref(r);
		assert_true(now_seconds() < deadline);
		usleep(5000);
	}
}

static json_int_t
submit_wait_event(struct client *c, const char *args)
{
	json_t		*r;
	json_int_t	 id;

	r = client_call(c, "{\"op\":\"submit\",\"job\":{\"type\":\"wait_event\","
	    "\"args\":%s}}", args);
	id = reply_job_id(r);
	assert_true(id > 0);
	json_decref(r);
	return id;
}

/* Live jobs per loop, from stats. */
static void
loop_jobs(struct client *c, json_int_t jobs[2])
{
	json_t	*r = client_call(c, "{\"op\":\"stats\"}");
	json_t	*loops = json_object_get(json_object_get(r, "stats"), "loops");
	int	 i;

	assert_int_equal(json_array_size(loops), 2);
	for (i = 0; i < 2; i++)
		jobs[i] = json_integer_value(json_object_get(json_array_get(loops, i),
		    "jobs"));
	json_decref(r);
}

static void
test_event_ops_answer_the_state_after_the_operation(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	/* A name never used: clear, nobody waiting. */
	event_op(&c, "get", "round-trip", false, 0);
	r = client_call(&c, "{\"op\":\"event.set\",\"id\":7,\"name\":\"round-trip\"}");
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
	assert_event(r, "round-trip", true, 0);
	json_decref(r);
	event_op(&c, "get", "round-trip", true, 0);
	event_op(&c, "set", "round-trip", true, 0);
	event_op(&c, "clear", "round-trip", false, 0);
	event_op(&c, "get", "round-trip", false, 0);
	event_op(&c, "clear", "round-trip", false, 0);
	client_close(&c);
}

static void
test_event_ops_name_the_field_at_fault(void **state)
{
	static const char *const ops[] = { "set", "clear", "get" };
	static const char *const bad[] = {
		"", ",\"name\":null", ",\"name\":\"\"", ",\"name\":5",
		",\"name\":\"two words\"", ",\"name\":\"a/b\"",
		",\"name\":\"" NAME_65 "\"",
	};
	struct client	 c;
	json_t		*r;
	size_t		 i, j;

	client_connect(&c, &d);
	for (i = 0; i < 3; i++) {
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++) {
			r = client_call(&c, "{\"op\":\"event.%s\"%s}", ops[i], bad[j]);
			assert_string_equal(reply_error_code(r), "bad_request");
			assert_string_equal(reply_error_path(r), "name");
			json_decref(r);
		}
		r = client_call(&c, "{\"op\":\"event.%s\",\"name\":\"a\",\"nmae\":\"b\"}",
		    ops[i]);
		assert_string_equal(reply_error_code(r), "bad_request");
		assert_string_equal(reply_error_path(r), "nmae");
		json_decref(r);
	}
	/* 64 characters is the longest name. */
	event_op(&c, "get", NAME_64, false, 0);
	event_op(&c, "get", "A-z_0.9", false, 0);
	client_close(&c);
}

static void
test_wait_event_args_name_the_field_at_fault(void **state)
{
	static const struct {
		const char	*job;
		const char	*path;
	} cases[] = {
		{ "{\"type\":\"wait_event\"}", "job.args.name" },
		{ "{\"type\":\"wait_event\",\"args\":{}}", "job.args.name" },
		{ "{\"type\":\"wait_event\",\"args\":{\"name\":\"no spaces\"}}",
		    "job.args.name" },
		{ "{\"type\":\"wait_event\",\"args\":{\"name\":\"e\",\"timeout\":0}}",
		    "job.args.timeout" },
		{ "{\"type\":\"wait_event\",\"args\":{\"name\":\"e\",\"timeout\":-1}}",
		    "job.args.timeout" },
		{ "{\"type\":\"wait_event\",\"args\":{\"name\":\"e\",\"timeout\":\"1\"}}",
		    "job.args.timeout" },
		{ "{\"type\":\"wait_event\",\"args\":{\"name\":\"e\",\"timout\":1}}",
		    "job.args.timout" },
	};
	struct client	 c;
	json_t		*r;
	size_t		 i;

	client_connect(&c, &d);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = client_call(&c, "{\"op\":\"submit\",\"job\":%s}", cases[i].job);
		assert_string_equal(reply_error_code(r), "bad_request");
		assert_string_equal(reply_error_path(r), cases[i].path);
		json_decref(r);
	}
	r = client_call(&c, "{\"op\":\"submit\",\"jobs\":[{\"type\":\"echo\"},"
	    "{\"type\":\"wait_event\",\"args\":{\"name\":\"\"}}]}");
	assert_string_equal(reply_error_path(r), "jobs[1].args.name");
	json_decref(r);
	/* Nothing was created by the refused submits. */
	event_op(&c, "get", "e", false, 0);
	client_close(&c);
}

static void
test_a_wait_ends_when_another_connection_sets_the_event(void **state)
{
	struct client	 waiter, setter;
	json_t		*r, *res;
	double		 waited;

	client_connect(&waiter, &d);
	client_connect(&setter, &d);
	client_send(&waiter, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":"
	    "{\"type\":\"wait_event\",\"args\":{\"name\":\"deploy.done\"}}}");
	await_waiters(&setter, "deploy.done", 1);
	usleep(300000);
	event_op(&setter, "set", "deploy.done", true, 0);

	r = client_recv(&waiter, HARNESS_WAIT);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
	assert_string_equal(reply_job_state(r), "done");
	res = job_result(r);
	assert_string_equal(json_string_value(json_object_get(res, "name")),
	    "deploy.done");
	waited = json_number_value(json_object_get(res, "waited"));
	assert_true(waited >= 0.29);
	assert_true(waited < HARNESS_WAIT);
	json_decref(r);
	client_close(&waiter);
	client_close(&setter);
}

/* Connections are spread round robin over the two loops; so are their jobs. */
static void
test_one_set_releases_waiters_on_every_loop(void **state)
{
	struct client	 c[4], setter;
	json_int_t	 before[2], after[2];
	json_t		*r;
	int		 i;

	client_connect(&setter, &d);
	loop_jobs(&setter, before);
	for (i = 0; i < 4; i++) {
		client_connect(&c[i], &d);
		client_send(&c[i], "{\"op\":\"submit\",\"id\":%d,\"wait\":true,\"job\":"
		    "{\"type\":\"wait_event\",\"args\":{\"name\":\"fanout\"}}}", i);
	}
	await_waiters(&setter, "fanout", 4);
	loop_jobs(&setter, after);
	assert_true(after[0] - before[0] >= 1);
	assert_true(after[1] - before[1] >= 1);

	event_op(&setter, "set", "fanout", true, 0);
	for (i = 0; i < 4; i++) {
		r = client_recv(&c[i], HARNESS_WAIT);
		assert_int_equal(json_integer_value(json_object_get(r, "id")), i);
		assert_string_equal(reply_job_state(r), "done");
		json_decref(r);
		client_close(&c[i]);
	}
	event_op(&setter, "get", "fanout", true, 0);
	client_close(&setter);
}

static void
test_an_event_already_set_ends_the_wait_at_once(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	event_op(&c, "set", "open", true, 0);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"wait_event\",\"args\":{\"name\":\"open\",\"timeout\":30}}}");
	assert_string_equal(reply_job_state(r), "done");
	assert_true(json_number_value(json_object_get(job_result(r), "waited")) < 1);
	json_decref(r);
	/* Waiting does not consume the event. */
	event_op(&c, "get", "open", true, 0);
	client_close(&c);
}

static void
test_after_clear_a_wait_blocks_again(void **state)
{
	struct client	 c;
	json_t		*r;
	json_int_t	 id;

	client_connect(&c, &d);
	event_op(&c, "set", "gate", true, 0);
	event_op(&c, "clear", "gate", false, 0);
	id = submit_wait_event(&c, "{\"name\":\"gate\"}");
	await_waiters(&c, "gate", 1);
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "running");
	json_decref(r);
	/* A clear leaves it waiting. */
	event_op(&c, "clear", "gate", false, 1);

	event_op(&c, "set", "gate", true, 0);
	r = client_call(&c, "{\"op\":\"result\",\"wait\":true,\"job\":%lld}",
	    (long long)id);
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	client_close(&c);
}

static void
test_waiters_counts_the_jobs_still_waiting(void **state)
{
	struct client	 c;
	json_t		*r, *jobs;
	json_int_t	 ids[3];
	int		 i;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"jobs\":["
	    "{\"type\":\"wait_event\",\"args\":{\"name\":\"count\"}},"
	    "{\"type\":\"wait_event\",\"args\":{\"name\":\"count\"}},"
	    "{\"type\":\"wait_event\",\"args\":{\"name\":\"count\"}}]}");
	jobs = json_object_get(r, "jobs");
	for (i = 0; i < 3; i++)
		ids[i] = json_integer_value(json_object_get(json_array_get(jobs, i), "id"));
	json_decref(r);
	await_waiters(&c, "count", 3);
	event_op(&c, "get", "count", false, 3);

	r = client_call(&c, "{\"op\":\"cancel\",\"job\":%lld}", (long long)ids[1]);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	event_op(&c, "get", "count", false, 2);

	event_op(&c, "set", "count", true, 0);
	for (i = 0; i < 3; i += 2) {
		r = client_call(&c, "{\"op\":\"result\",\"wait\":true,\"job\":%lld}",
		    (long long)ids[i]);
		assert_string_equal(reply_job_state(r), "done");
		json_decref(r);
	}
	/* The cancelled one stays cancelled. */
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)ids[1]);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	client_close(&c);
}

static void
test_wait_event_timeout_fails_with_timeout_naming_the_event(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"wait_event\",\"args\":{\"name\":\"never.set\",\"timeout\":0.2}}}");
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(job_error(r, "code"), "timeout");
	assert_non_null(strstr(job_error(r, "message"), "never.set"));
	assert_null(job_result(r));
	json_decref(r);
	/* Its waiter is gone, and with it the event. */
	event_op(&c, "get", "never.set", false, 0);

	/* A failure like any other: retried when the job allows it. */
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"wait_event\",\"retries\":1,\"retry_delay\":0.05,\"args\":"
	    "{\"name\":\"never.set\",\"timeout\":0.05}}}");
	assert_string_equal(reply_job_state(r), "failed");
	assert_int_equal(json_integer_value(json_object_get(reply_job(r), "attempt")), 2);
	json_decref(r);
	client_close(&c);
}

/* The job's own timeout is the job layer's: timed_out, and the waiter goes. */
static void
test_job_timeout_ends_timed_out_and_removes_the_waiter(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"wait_event\",\"timeout\":0.2,\"args\":{\"name\":\"slow\"}}}");
	assert_string_equal(reply_job_state(r), "timed_out");
	assert_string_equal(job_error(r, "code"), "timeout");
	json_decref(r);
	event_op(&c, "get", "slow", false, 0);
	client_close(&c);
}

static void
test_cancel_of_a_waiting_job_removes_its_waiter(void **state)
{
	struct client	 c, other;
	json_t		*r;
	json_int_t	 id;

	client_connect(&c, &d);
	client_connect(&other, &d);
	id = submit_wait_event(&c, "{\"name\":\"cancel-me\"}");
	await_waiters(&c, "cancel-me", 1);
	/* From a connection on the other loop. */
	r = client_call(&other, "{\"op\":\"cancel\",\"job\":%lld,\"reason\":\"no\"}",
	    (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	assert_string_equal(job_error(r, "message"), "no");
	json_decref(r);
	event_op(&c, "get", "cancel-me", false, 0);
	/* A set afterwards finds nobody and changes nothing for the job. */
	event_op(&c, "set", "cancel-me", true, 0);
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	client_close(&c);
	client_close(&other);
}

/*
 * A job still waiting at shutdown, beside an event still set: the job fails
 * with shutting_down, its waiting client hears so, and loomd exits 0 (the
 * sanitizer builds: with nothing leaked).
 */
static void
test_a_job_still_waiting_at_shutdown(void **state)
{
	static const char *const extra[] = { "-o", "loops=2", NULL };
	struct daemon	 own;
	struct client	 c, other;
	json_t		*r;

	daemon_start(&own, extra);
	client_connect(&c, &own);
	client_connect(&other, &own);
	client_send(&c, "{\"op\":\"submit\",\"id\":\"w\",\"wait\":true,\"job\":"
	    "{\"type\":\"wait_event\",\"args\":{\"name\":\"left.waiting\","
	    "\"timeout\":3600}}}");
	await_waiters(&other, "left.waiting", 1);
	event_op(&other, "set", "left.set", true, 0);
	daemon_signal(&own, SIGTERM);
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "w");
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(job_error(r, "code"), "shutting_down");
	json_decref(r);
	client_close(&other);
	client_close(&c);
	assert_int_equal(daemon_wait_exit(&own), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_ops_answer_the_state_after_the_operation),
		cmocka_unit_test(test_event_ops_name_the_field_at_fault),
		cmocka_unit_test(test_wait_event_args_name_the_field_at_fault),
		cmocka_unit_test(test_a_wait_ends_when_another_connection_sets_the_event),
		cmocka_unit_test(test_one_set_releases_waiters_on_every_loop),
		cmocka_unit_test(test_an_event_already_set_ends_the_wait_at_once),
		cmocka_unit_test(test_after_clear_a_wait_blocks_again),
		cmocka_unit_test(test_waiters_counts_the_jobs_still_waiting),
		cmocka_unit_test(test_wait_event_timeout_fails_with_timeout_naming_the_event),
		cmocka_unit_test(test_job_timeout_ends_timed_out_and_removes_the_waiter),
		cmocka_unit_test(test_cancel_of_a_waiting_job_removes_its_waiter),
		cmocka_unit_test(test_a_job_still_waiting_at_shutdown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
