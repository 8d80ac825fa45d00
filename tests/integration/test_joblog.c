/*
 * A line per finished job (log_jobs), in the log's format (log_format): the
 * observer writes it on the owner loop before the job's future completes,
 * so once a wait has its answer the line is in the log.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

/* Submit with wait; the finished job's id. */
static json_int_t
run(struct client *c, const char *job)
{
	json_t		*r;
	json_int_t	 id;

	r = client_call(c, "{\"op\":\"submit\",\"wait\":true,\"job\":%s}", job);
	id = reply_job_id(r);
	assert_true(id > 0);
	json_decref(r);
	return id;
}

static const char	failing[] = "{\"type\":\"sleep\",\"name\":\"nightly\","
    "\"queue\":\"q1\",\"args\":{\"seconds\":0,\"error\":\"it broke\"}}";
static const char	fine[] = "{\"type\":\"echo\",\"args\":{\"value\":1}}";

/* By default only failures, as text with key=value fields. */
static void
test_failed_jobs_are_logged_by_default(void **state)
{
	struct daemon	d;
	struct client	c;
	json_int_t	ok, bad;
	char		line[256];

	daemon_start(&d, NULL);
	client_connect(&c, &d);
	ok = run(&c, fine);
	bad = run(&c, failing);
	snprintf(line, sizeof(line), "job %lld failed id=%lld type=sleep "
	    "name=nightly queue=q1 state=failed attempt=1 duration=",
	    (long long)bad, (long long)bad);
	assert_true(daemon_log_contains(&d, line));
	assert_true(daemon_log_contains(&d, "error=failed error_message=\"it broke\"\n"));
	snprintf(line, sizeof(line), "job %lld done", (long long)ok);
	assert_false(daemon_log_contains(&d, line));
	client_close(&c);
	daemon_stop(&d);
}

/* log_jobs = all, log_format = json: every job, a JSON object a line,
 * stamped (stderr is not the journal here). */
static void
test_all_jobs_as_json(void **state)
{
	const char *const extra[] = { "-o", "log_jobs=all", "-o",
	    "log_format=json", NULL };
	struct daemon	d;
	struct client	c;
	json_int_t	ok, bad;
	char		line[256];

	daemon_start(&d, extra);
	client_connect(&c, &d);
	ok = run(&c, fine);
	bad = run(&c, failing);
	snprintf(line, sizeof(line), "\"level\":\"info\",\"msg\":\"job %lld done\","
	    "\"id\":%lld,\"type\":\"echo\",\"queue\":\"default\",\"state\":\"done\","
	    "\"attempt\":1,\"duration\":", (long long)ok, (long long)ok);
	assert_true(daemon_log_contains(&d, line));
	snprintf(line, sizeof(line), "\"msg\":\"job %lld failed\",\"id\":%lld,"
	    "\"type\":\"sleep\",\"name\":\"nightly\",\"queue\":\"q1\"",
	    (long long)bad, (long long)bad);
	assert_true(daemon_log_contains(&d, line));
	assert_true(daemon_log_contains(&d, "\"error\":\"failed\","
	    "\"error_message\":\"it broke\"}\n"));
	assert_true(daemon_log_contains(&d, "{\"ts\":\"20"));
	client_close(&c);
	daemon_stop(&d);
}

static void
test_none_logs_no_job(void **state)
{
	const char *const extra[] = { "-o", "log_jobs=none", NULL };
	struct daemon	d;
	struct client	c;
	json_int_t	bad;
	char		line[64];

	daemon_start(&d, extra);
	client_connect(&c, &d);
	bad = run(&c, failing);
	snprintf(line, sizeof(line), "job %lld failed", (long long)bad);
	assert_false(daemon_log_contains(&d, line));
	assert_true(daemon_log_contains(&d, "ready"));
	client_close(&c);
	daemon_stop(&d);
}

/* A reload changes both at once: none and text, then all and json. */
static void
test_a_reload_changes_what_is_logged_and_how(void **state)
{
	struct daemon_opts	 opts = { .config = "log_jobs = none\n",
				     .notify = true };
	struct daemon		 d;
	struct client		 c;
	json_int_t		 before, after;
	char			 line[128], *msg;

	daemon_start_with(&d, &opts);
	client_connect(&c, &d);
	before = run(&c, failing);
	daemon_write_config(&d, "log_jobs = all\nlog_format = json\n");
	daemon_signal(&d, SIGHUP);
	free(daemon_notify_wait(&d, "RELOADING=1"));
	msg = daemon_notify_wait(&d, "READY=1");
	free(msg);
	after = run(&c, fine);
	snprintf(line, sizeof(line), "job %lld failed", (long long)before);
	assert_false(daemon_log_contains(&d, line));
	snprintf(line, sizeof(line), "\"msg\":\"job %lld done\",\"id\":%lld,",
	    (long long)after, (long long)after);
	assert_true(daemon_log_contains(&d, line));
	client_close(&c);
	daemon_stop(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_jobs_are_logged_by_default),
		cmocka_unit_test(test_all_jobs_as_json),
		cmocka_unit_test(test_none_logs_no_job),
		cmocka_unit_test(test_a_reload_changes_what_is_logged_and_how),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
