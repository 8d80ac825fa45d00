/* loomctl's output for people, byte for byte. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctl_print.h"

/* Capture what a print function writes. */
struct capture {
	FILE	*f;
	char	*buf;
	size_t	 len;
};

static FILE *
capture_start(struct capture *c)
{
	c->buf = NULL;
	c->len = 0;
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
	return c->f;
}

static void
capture_check(struct capture *c, const char *want)
{
	fclose(c->f);
	if (strcmp(c->buf, want) != 0)
		fail_msg("got:\n%s\nwanted:\n%s", c->buf, want);
	free(c->buf);
}

static json_t *
load(const char *text)
{
	json_error_t	 jerr;
	json_t		*j = json_loads(text, JSON_DECODE_ANY, &jerr);

	if (j == NULL)
		fail_msg("test JSON: %s", jerr.text);
	return j;
}

static void
test_durations_read_like_people_write_them(void **state)
{
	static const struct {
		double		 seconds;
		const char	*text;
	} cases[] = {
		{ 0, "0ms" }, { -1, "0ms" }, { 0.35, "350ms" }, { 0.9996, "1.00s" },
		{ 2.5, "2.50s" }, { 12.34, "12.3s" }, { 59.96, "1m00s" },
		{ 303, "5m03s" }, { 7510, "2h05m10s" }, { 273900, "3d04h05m" },
	};
	char	buf[32];
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(ctl_format_duration(buf, sizeof(buf),
		    cases[i].seconds), cases[i].text);
	}
}

static void
test_times_are_iso_8601_utc(void **state)
{
	char	buf[64];

	assert_string_equal(ctl_format_time(buf, sizeof(buf), 1763700000.123, 1),
	    "2025-11-21T04:40:00.123Z");
	assert_string_equal(ctl_format_time(buf, sizeof(buf), 1763700000.9996, 1),
	    "2025-11-21T04:40:01.000Z");
	assert_string_equal(ctl_format_time(buf, sizeof(buf), 1763700000.9, 0),
	    "2025-11-21T04:40:00Z");
}

static void
test_a_done_job_view(void **state)
{
	struct capture	 c;
	json_t		*view = load("{\"id\":17,\"type\":\"sleep\",\"name\":\"nap\","
	    "\"queue\":\"default\",\"priority\":0,\"state\":\"done\",\"attempt\":1,"
	    "\"created_at\":1763700000.123,\"started_at\":1763700000.125,"
	    "\"finished_at\":1763700002.625,\"parent\":12,\"children\":[18,19],"
	    "\"result\":{\"a\":[1,\"x\"]}}");

	ctl_print_view(capture_start(&c), view);
	capture_check(&c,
	    "id        17\n"
	    "type      sleep\n"
	    "name      nap\n"
	    "queue     default\n"
	    "priority  0\n"
	    "state     done\n"
	    "attempt   1\n"
	    "parent    12\n"
	    "children  18 19\n"
	    "created   2025-11-21T04:40:00.123Z\n"
	    "started   2025-11-21T04:40:00.125Z (waited 2ms)\n"
	    "finished  2025-11-21T04:40:02.625Z (ran 2.50s)\n"
	    "result    {\"a\":[1,\"x\"]}\n");
	json_decref(view);
}

static void
test_a_failed_job_view_with_detail_and_new_members(void **state)
{
	struct capture	 c;
	json_t		*view = load("{\"id\":18,\"type\":\"exec\",\"state\":\"failed\","
	    "\"attempt\":2,\"created_at\":1763700000,\"finished_at\":1763700004.75,"
	    "\"error\":{\"code\":\"exit_status\",\"message\":\"exit 3\","
	    "\"detail\":{\"exit_code\":3}},\"weird\":\"x\",\"name\":\"a\\nb\"}");

	ctl_print_view(capture_start(&c), view);
	capture_check(&c,
	    "id        18\n"
	    "type      exec\n"
	    "name      \"a\\nb\"\n"
	    "state     failed\n"
	    "attempt   2\n"
	    "created   2025-11-21T04:40:00.000Z\n"
	    "finished  2025-11-21T04:40:04.750Z (after 4.75s)\n"
	    "error     exit_status: exit 3\n"
	    "detail    {\"exit_code\":3}\n"
	    "weird     x\n");
	json_decref(view);
}

static void
test_a_string_result_stays_json(void **state)
{
	struct capture	 c;
	json_t		*view = load("{\"id\":1,\"state\":\"done\",\"result\":\"1\"}");

	ctl_print_view(capture_start(&c), view);
	capture_check(&c,
	    "id      1\n"
	    "state   done\n"
	    "result  \"1\"\n");
	json_decref(view);
}

static void
test_a_list_is_aligned_columns(void **state)
{
	struct capture	 c;
	json_t		*jobs = load("[{\"id\":19,\"state\":\"running\",\"type\":\"sumsq\","
	    "\"queue\":\"default\",\"attempt\":1,\"created_at\":1763700000.123,"
	    "\"started_at\":1763700001},{\"id\":7,\"state\":\"done\",\"type\":\"echo\","
	    "\"queue\":\"q\",\"attempt\":1,\"created_at\":1763700000,"
	    "\"started_at\":1763700000,\"finished_at\":1763700000.25,"
	    "\"name\":\"my job\"}]");
	json_t		*next = json_integer(6);

	ctl_print_list(capture_start(&c), jobs, next);
	capture_check(&c,
	    "ID  STATE    TYPE   QUEUE    ATTEMPT  CREATED               RAN    NAME\n"
	    "19  running  sumsq  default  1        2025-11-21T04:40:00Z  -\n"
	    "7   done     echo   q        1        2025-11-21T04:40:00Z  250ms  my job\n"
	    "more: list --before 6\n");
	json_decref(next);

	json_decref(jobs);
	jobs = json_array();
	ctl_print_list(capture_start(&c), jobs, json_null());
	capture_check(&c, "ID  STATE  TYPE  QUEUE  ATTEMPT  CREATED  RAN  NAME\n");
	json_decref(jobs);
}

static void
test_workers_are_a_table_then_what_waits_per_type(void **state)
{
	struct capture	 c;
	json_t		*stats = load("{\"workers\":[{\"id\":\"1\",\"name\":"
	    "\"w1\",\"types\":[\"resize\",\"mail\"],\"concurrency\":8,"
	    "\"running\":2,\"jobs\":[17,18],\"connected_at\":1763700000.5,"
	    "\"bye\":false},{\"id\":\"12\",\"name\":\"\",\"types\":"
	    "[\"mail\"],\"concurrency\":1,\"running\":0,\"jobs\":[],"
	    "\"connected_at\":1763700000,\"bye\":true}],\"worker_types\":"
	    "{\"resize\":{\"waiting\":3,\"lease\":60},\"mail\":{\"waiting\":"
	    "0,\"lease\":5}}}");

	ctl_print_workers(capture_start(&c), stats);
	capture_check(&c,
	    "ID  NAME  TYPES        CONCURRENCY  RUNNING  CONNECTED             JOBS\n"
	    "1   w1    resize,mail  8            2        2025-11-21T04:40:00Z  17,18\n"
	    "12        mail         1            0 (bye)  2025-11-21T04:40:00Z  -\n"
	    "\n"
	    "waiting for a worker:\n"
	    "  resize  3\n"
	    "  mail  0\n");
	json_decref(stats);

	stats = load("{\"workers\":[],\"worker_types\":{}}");
	ctl_print_workers(capture_start(&c), stats);
	capture_check(&c, "no workers connected\n");
	json_decref(stats);
}

static void
test_stats_are_indented_sections(void **state)
{
	struct capture	 c;
	json_t		*stats = load("{\"uptime\":3723.5,\"jobs\":{\"pending\":0,"
	    "\"running\":2},\"queues\":{\"default\":{\"depth\":1,\"paused\":false}},"
	    "\"loops\":[{\"connections\":3,\"lag\":0.0005},{\"connections\":1,"
	    "\"lag\":0}],\"executor\":{\"threads\":2},\"tags\":[\"a\",\"b\"],"
	    "\"empty\":{}}");

	ctl_print_stats(capture_start(&c), stats);
	capture_check(&c,
	    "uptime  1h02m04s\n"
	    "tags    a b\n"
	    "empty   {}\n"
	    "jobs\n"
	    "  pending  0\n"
	    "  running  2\n"
	    "queues\n"
	    "  default\n"
	    "    depth   1\n"
	    "    paused  false\n"
	    "loops\n"
	    "  [0]\n"
	    "    connections  3\n"
	    "    lag          0.0005\n"
	    "  [1]\n"
	    "    connections  1\n"
	    "    lag          0\n"
	    "executor\n"
	    "  threads  2\n");
	json_decref(stats);
}

static void
test_events_are_one_line_each(void **state)
{
	static const struct {
		const char	*event;
		const char	*line;
	} cases[] = {
		{ "{\"event\":\"job\",\"job\":{\"id\":17,\"type\":\"sleep\",\"name\":\"nap\","
		  "\"state\":\"done\",\"attempt\":1,\"created_at\":1763700000.123,"
		  "\"started_at\":1763700000.125,\"finished_at\":1763700002.625,"
		  "\"result\":\"a\"}}",
		  "2025-11-21T04:40:02.625Z job 17 done sleep name=\"nap\" result=\"a\"\n" },
		{ "{\"event\":\"job\",\"job\":{\"id\":17,\"type\":\"sleep\","
		  "\"state\":\"running\",\"attempt\":2,\"created_at\":1763700000.123,"
		  "\"started_at\":1763700000.125}}",
		  "2025-11-21T04:40:00.125Z job 17 running sleep attempt=2\n" },
		{ "{\"event\":\"job\",\"job\":{\"id\":18,\"type\":\"exec\","
		  "\"state\":\"failed\",\"error\":{\"code\":\"exit_status\","
		  "\"message\":\"exit 3\"}}}",
		  "- job 18 failed exec error=exit_status: exit 3\n" },
		{ "{\"event\":\"child\",\"id\":1,\"index\":1,\"job\":{\"id\":19,"
		  "\"type\":\"echo\",\"state\":\"done\",\"finished_at\":1763700004.75,"
		  "\"result\":1}}",
		  "2025-11-21T04:40:04.750Z child[1] 19 done echo result=1\n" },
		{ "{\"event\":\"other\",\"x\":1}", "{\"event\":\"other\",\"x\":1}\n" },
		{ "{\"event\":\"job\",\"job\":{\"id\":1}}", "- job 1 - -\n" },
	};
	struct capture	 c;
	json_t		*event;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		event = load(cases[i].event);
		ctl_print_event(capture_start(&c), event);
		capture_check(&c, cases[i].line);
		json_decref(event);
	}
}

static void
test_a_long_result_is_cut_on_an_event_line(void **state)
{
	struct capture	 c;
	json_t		*event;
	char		 big[201], want[256];

	memset(big, 'x', 200);
	big[200] = '\0';
	event = json_pack("{ss s{sI ss ss ss}}", "event", "job", "job", "id",
	    (json_int_t)1, "type", "echo", "state", "done", "result", big);
	snprintf(want, sizeof(want), "- job 1 done echo result=\"%.119s...\n", big);
	ctl_print_event(capture_start(&c), event);
	capture_check(&c, want);
	json_decref(event);
}

static void
test_errors_name_code_message_and_path_once(void **state)
{
	struct capture	 c;
	json_t		*answer;

	answer = load("{\"ok\":false,\"error\":{\"code\":\"not_found\","
	    "\"message\":\"no job 17\"}}");
	ctl_print_error(capture_start(&c), answer);
	capture_check(&c, "loomctl: not_found: no job 17\n");
	json_decref(answer);

	answer = load("{\"ok\":false,\"error\":{\"code\":\"bad_request\","
	    "\"message\":\"must be a number\",\"path\":\"job.args.seconds\"}}");
	ctl_print_error(capture_start(&c), answer);
	capture_check(&c, "loomctl: bad_request: must be a number (at job.args.seconds)\n");
	json_decref(answer);

	answer = load("{\"ok\":false,\"error\":{\"code\":\"bad_request\","
	    "\"message\":\"job.args.seconds: must be a number\","
	    "\"path\":\"job.args.seconds\"}}");
	ctl_print_error(capture_start(&c), answer);
	capture_check(&c, "loomctl: bad_request: job.args.seconds: must be a number\n");
	json_decref(answer);

	answer = load("{\"ok\":false}");
	ctl_print_error(capture_start(&c), answer);
	capture_check(&c, "loomctl: the server refused the request\n");
	json_decref(answer);
}

static void
test_accepted_ping_and_json(void **state)
{
	struct capture	 c;
	json_t		*j;

	j = load("{\"id\":17,\"state\":\"queued\"}");
	ctl_print_accepted(capture_start(&c), j);
	capture_check(&c, "17 queued\n");
	json_decref(j);

	j = load("{\"ok\":true,\"version\":\"0.1.0\",\"uptime\":12.5}");
	ctl_print_ping(capture_start(&c), j, 0.00021);
	capture_check(&c, "loomd 0.1.0, up 12.5s, round trip 0.21ms\n");
	json_decref(j);

	j = load("{ \"id\" : 1, \"ok\" : true, \"s\" : \"a/b\\u00e9\" }");
	ctl_print_json(capture_start(&c), j);
	capture_check(&c, "{\"id\":1,\"ok\":true,\"s\":\"a/b\xc3\xa9\"}\n");
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_durations_read_like_people_write_them),
		cmocka_unit_test(test_times_are_iso_8601_utc),
		cmocka_unit_test(test_a_done_job_view),
		cmocka_unit_test(test_a_failed_job_view_with_detail_and_new_members),
		cmocka_unit_test(test_a_string_result_stays_json),
		cmocka_unit_test(test_a_list_is_aligned_columns),
		cmocka_unit_test(test_workers_are_a_table_then_what_waits_per_type),
		cmocka_unit_test(test_stats_are_indented_sections),
		cmocka_unit_test(test_events_are_one_line_each),
		cmocka_unit_test(test_a_long_result_is_cut_on_an_event_line),
		cmocka_unit_test(test_errors_name_code_message_and_path_once),
		cmocka_unit_test(test_accepted_ping_and_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
