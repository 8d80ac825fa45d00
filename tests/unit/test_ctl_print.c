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
#include "ctl_top.h"

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
	    "\"queue\":\"default\",\"owner\":\"ci\",\"priority\":0,\"state\":\"done\","
	    "\"attempt\":1,\"created_at\":1763700000.123,\"started_at\":1763700000.125,"
	    "\"finished_at\":1763700002.625,\"parent\":12,\"children\":[18,19],"
	    "\"result\":{\"a\":[1,\"x\"]}}");

	ctl_print_view(capture_start(&c), view);
	capture_check(&c,
	    "id        17\n"
	    "type      sleep\n"
	    "name      nap\n"
	    "queue     default\n"
	    "owner     ci\n"
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
	    "\"started_at\":1763700001,\"parent\":3},{\"id\":8,\"state\":"
	    "\"queued\",\"type\":\"echo\",\"queue\":\"q\",\"attempt\":0,"
	    "\"created_at\":1763700000},{\"id\":7,\"state\":\"done\",\"type\":\"echo\","
	    "\"queue\":\"q\",\"attempt\":1,\"created_at\":1763700000,"
	    "\"started_at\":1763700000,\"finished_at\":1763700000.25,"
	    "\"name\":\"my job\"}]");
	json_t		*next = json_integer(6);

	/* A running job's time runs until now; a queued one has none. */
	ctl_print_list(capture_start(&c), jobs, next, 1763700126);
	capture_check(&c,
	    "ID  STATE    TYPE   QUEUE    PARENT  ATTEMPT  CREATED               TIME   NAME\n"
	    "19  running  sumsq  default  3       1        2025-11-21T04:40:00Z  2m05s\n"
	    "8   queued   echo   q        -       0        2025-11-21T04:40:00Z  -\n"
	    "7   done     echo   q        -       1        2025-11-21T04:40:00Z  250ms  my job\n"
	    "more: list --before 6\n");
	json_decref(next);

	json_decref(jobs);
	jobs = json_array();
	ctl_print_list(capture_start(&c), jobs, json_null(), 0);
	capture_check(&c, "ID  STATE  TYPE  QUEUE  PARENT  ATTEMPT  CREATED  TIME  NAME\n");
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
		/* The time of the change, and why a retry waits. */
		{ "{\"event\":\"job\",\"at\":1763700003.5,\"job\":{\"id\":17,"
		  "\"type\":\"sleep\",\"state\":\"pending\",\"attempt\":1,"
		  "\"created_at\":1763700000.123,\"last_error\":{\"code\":\"failed\","
		  "\"message\":\"boom\"}}}",
		  "2025-11-21T04:40:03.500Z job 17 pending sleep last_error=failed: boom\n" },
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

/* Colours: on a terminal only, and never with NO_COLOR or --no-color. */
static void
test_colours_follow_no_color_and_the_terminal(void **state)
{
	struct capture	 c;
	json_t		*jobs;

	assert_true(ctl_color_wanted(0, NULL, 1));
	assert_true(ctl_color_wanted(0, "", 1));	/* empty: as unset */
	assert_false(ctl_color_wanted(0, "1", 1));
	assert_false(ctl_color_wanted(0, "no", 1));
	assert_false(ctl_color_wanted(1, NULL, 1));
	assert_false(ctl_color_wanted(0, NULL, 0));
	assert_string_equal(ctl_state_sgr("done"), "32");
	assert_string_equal(ctl_state_sgr("failed"), "31");
	assert_null(ctl_state_sgr("queued"));

	/* Painted cells keep their columns: the padding is outside. */
	jobs = load("[{\"id\":1,\"state\":\"failed\",\"type\":\"echo\","
	    "\"queue\":\"q\",\"attempt\":1}]");
	ctl_color = 1;
	ctl_print_list(capture_start(&c), jobs, NULL, 0);
	ctl_color = 0;
	capture_check(&c,
	    "\033[1mID\033[0m  \033[1mSTATE\033[0m   \033[1mTYPE\033[0m  "
	    "\033[1mQUEUE\033[0m  \033[1mPARENT\033[0m  \033[1mATTEMPT\033[0m  "
	    "\033[1mCREATED\033[0m  \033[1mTIME\033[0m  \033[1mNAME\033[0m\n"
	    "1   \033[31mfailed\033[0m  echo  q      -       1        -        -\n");
	json_decref(jobs);
}

static void
test_a_table_aligns_right_and_cuts_at_the_width(void **state)
{
	static const char *const header[] = { "NAME", "N", "NOTE", NULL };
	struct capture		 c;
	struct ctl_table	*t;

	t = ctl_table_new(header, "lr");
	ctl_table_cell(t, "a", NULL);
	ctl_table_cell(t, "1234", NULL);
	ctl_table_cell(t, "long note here", NULL);
	ctl_table_end_row(t);
	ctl_table_cell(t, "bb", NULL);
	ctl_table_cell(t, "5", NULL);
	ctl_table_end_row(t);
	ctl_table_print(capture_start(&c), t, 16);
	capture_check(&c,
	    "NAME     N  NOTE\n"
	    "a     1234  long\n"
	    "bb       5\n");
}

static void
test_queues_events_and_queue_answers(void **state)
{
	struct capture	 c;
	json_t		*j;

	j = load("{\"queues\":{\"default\":{\"depth\":3,\"running\":1,"
	    "\"concurrency\":0,\"paused\":false,\"submitted\":10,\"done\":5,"
	    "\"failed\":1,\"cancelled\":0,\"timed_out\":0},\"mail\":{\"depth\":0,"
	    "\"running\":0,\"concurrency\":2,\"paused\":true,\"submitted\":0,"
	    "\"done\":0,\"failed\":0,\"cancelled\":0,\"timed_out\":0}}}");
	ctl_print_queues(capture_start(&c), j);
	capture_check(&c,
	    "QUEUE    WAITING  RUNNING  CONCURRENCY  SUBMITTED  DONE  FAILED  "
	    "CANCELLED  TIMED_OUT  STATE\n"
	    "default        3        1            -         10     5       1  "
	    "        0          0\n"
	    "mail           0        0            2          0     0       0  "
	    "        0          0  paused\n");
	json_decref(j);

	j = load("{\"name\":\"go\",\"set\":false,\"waiters\":2}");
	ctl_print_event_state(capture_start(&c), j);
	capture_check(&c, "go clear, 2 waiting\n");
	json_decref(j);

	j = load("{\"name\":\"mail\",\"paused\":true,\"pending\":4,\"running\":1}");
	ctl_print_queue_state(capture_start(&c), j);
	capture_check(&c, "mail paused: 4 waiting, 1 running\n");
	json_decref(j);
}

static const char top_stats[] =
    "{\"version\":\"1.1.0\",\"pid\":42,\"uptime\":3725,\"rss_bytes\":10485760,"
    "\"jobs\":{\"pending\":1,\"queued\":2,\"running\":3},"
    "\"queues\":{\"default\":{\"depth\":2,\"running\":3,\"concurrency\":0,"
    "\"paused\":false,\"submitted\":%d,\"done\":%d,\"failed\":%d,"
    "\"timed_out\":0},\"mail\":{\"depth\":1,\"running\":0,\"concurrency\":4,"
    "\"paused\":true,\"submitted\":0,\"done\":0,\"failed\":0,\"timed_out\":0}},"
    "\"loops\":[{\"lag_ms\":0.25},{\"lag_ms\":1.5}],"
    "\"executor\":{\"threads\":2,\"running\":1,\"queued\":0},"
    "\"connections\":{\"current\":4}%s}";

static json_t *
top_load_stats(int submitted, int done, int failed, const char *more)
{
	char	buf[2048];

	snprintf(buf, sizeof(buf), top_stats, submitted, done, failed, more);
	return load(buf);
}

/* One frame of top: summary, queues with rates, workers, running jobs. */
static void
test_a_top_frame(void **state)
{
	struct ctl_top_sample	 prev = { 0 }, cur = { 0 };
	struct capture		 c;

	prev.stats = top_load_stats(100, 90, 1, "");
	prev.running = load("[]");
	prev.now = 1763700000;
	cur.stats = top_load_stats(120, 100, 3, ",\"workers\":[{\"id\":\"w1\","
	    "\"name\":\"resizer\",\"types\":[\"resize\"],\"concurrency\":8,"
	    "\"running\":2,\"connected_at\":1763699990}]");
	cur.running = load("[{\"id\":12,\"type\":\"resize\",\"queue\":\"default\","
	    "\"started_at\":1763699998,\"name\":\"big\",\"progress\":{\"done\":3,"
	    "\"total\":4,\"message\":\"pass 2\"}},{\"id\":11,\"type\":\"sleep\","
	    "\"queue\":\"default\",\"started_at\":1763699900},{\"id\":9,"
	    "\"type\":\"sleep\",\"queue\":\"default\",\"started_at\":1763699000}]");
	cur.failed = load("[{\"id\":8,\"type\":\"http\",\"queue\":\"default\","
	    "\"finished_at\":1763699950,\"error\":{\"code\":\"http_error\","
	    "\"message\":\"connect:\\nrefused\"}}]");
	cur.now = 1763700010;

	ctl_top_frame(capture_start(&c), &cur, &prev, 0, 0);
	capture_check(&c,
	    "loomd 1.1.0  pid 42  up 1h02m05s  rss 10.0MiB  2025-11-21T04:40:10Z\n"
	    "jobs 3 running, 2 queued, 1 pending  connections 4  executor 1/2 busy, "
	    "0 queued  lag 1.5ms\n"
	    "\n"
	    "QUEUE    WAITING  RUNNING  CONC  IN/S  DONE/S  FAIL/S  DONE  FAILED\n"
	    "default        2        3     -   2.0     1.0     0.2   100       3\n"
	    "mail           1        0     4   0.0     0.0     0.0     0       0  paused\n"
	    "\n"
	    "WORKER  NAME     TYPES   RUNNING  CONNECTED\n"
	    "w1      resizer  resize      2/8  20.0s\n"
	    "\n"
	    "FAILED  TYPE  QUEUE      AGO  ERROR\n"
	    "     8  http  default  1m00s  http_error: connect: refused\n"
	    "\n"
	    "ID  TYPE    QUEUE       AGE  PROGRESS        NAME\n"
	    "12  resize  default   12.0s  3/4 75% pass 2  big\n"
	    "11  sleep   default   1m50s  -\n"
	    " 9  sleep   default  16m50s  -\n");

	/* No rates without an earlier sample; the jobs fit the height, and
	 * the failures give way to them. */
	ctl_top_frame(capture_start(&c), &cur, NULL, 40, 14);
	capture_check(&c,
	    "loomd 1.1.0  pid 42  up 1h02m05s  rss 10\n"
	    "jobs 3 running, 2 queued, 1 pending  con\n"
	    "\n"
	    "QUEUE    WAITING  RUNNING  CONC  IN/S  D\n"
	    "default        2        3     -     -\n"
	    "mail           1        0     4     -\n"
	    "\n"
	    "WORKER  NAME     TYPES   RUNNING  CONNEC\n"
	    "w1      resizer  resize      2/8  20.0s\n"
	    "\n"
	    "ID  TYPE    QUEUE      AGE  PROGRESS\n"
	    "12  resize  default  12.0s  3/4 75% pass\n"
	    "11  sleep   default  1m50s  -\n"
	    "... 1 more running\n");
	json_decref(prev.stats);
	json_decref(prev.running);
	json_decref(cur.stats);
	json_decref(cur.running);
	json_decref(cur.failed);
}

static void
test_progress_reads_done_of_total(void **state)
{
	json_t	*p;
	char	*s;

	p = load("{\"done\":1,\"total\":3}");
	s = ctl_top_progress(p);
	assert_string_equal(s, "1/3 33%");
	free(s);
	json_decref(p);
	p = load("{\"message\":\"warming up\"}");
	s = ctl_top_progress(p);
	assert_string_equal(s, "warming up");
	free(s);
	json_decref(p);
	assert_null(ctl_top_progress(NULL));
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
		cmocka_unit_test(test_colours_follow_no_color_and_the_terminal),
		cmocka_unit_test(test_a_table_aligns_right_and_cuts_at_the_width),
		cmocka_unit_test(test_queues_events_and_queue_answers),
		cmocka_unit_test(test_a_top_frame),
		cmocka_unit_test(test_progress_reads_done_of_total),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
