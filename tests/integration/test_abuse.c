/*
 * Hostile clients beside a normal one: whatever the hostile one sends, the
 * daemon's memory stays under a bound, the normal client gets its answers,
 * and the hostile one is held back, answered busy, or disconnected (and
 * that is logged).  Memory is the daemon's peak resident size (VmHWM) over
 * its size once set up; nothing here asserts on time.
 */
#include "autoconf.h"

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
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

#include <linux/sockios.h>

#include "harness.h"

#define MIB		(1024 * 1024)
#define RSS_BOUND	(96 * MIB)	/* the floods here would take hundreds */

static struct daemon	d;

/* A line of /proc/PID/status in bytes ("VmRSS", "VmHWM"). */
static size_t
proc_status_bytes(pid_t pid, const char *key)
{
	char	 path[64], line[256];
	size_t	 kib = 0, len = strlen(key);
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			kib = strtoull(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	assert_true(kib > 0);
	return kib * 1024;
}

static size_t
rss_now(void)
{
	return proc_status_bytes(d.pid, "VmRSS");
}

/* The daemon's peak stayed within RSS_BOUND of what it was at `base`. */
static void
assert_peak_within(size_t base)
{
	size_t	peak = proc_status_bytes(d.pid, "VmHWM");

	print_message("peak %zu MiB over a base of %zu MiB\n",
	    (peak - base) / MIB, base / MIB);
	assert_true(peak < base + RSS_BOUND);
}

static void
start(const char *const extra[])
{
	daemon_start(&d, extra);
}

static int
teardown(void **state)
{
	daemon_stop(&d);
	return 0;
}

/* n copies of a line, sent at once and never read back. */
static void
flood(struct client *c, const char *line, size_t n)
{
	size_t	 len = strlen(line), i;
	char	*buf = malloc(len * n);

	assert_non_null(buf);
	for (i = 0; i < n; i++)
		memcpy(buf + i * len, line, len);
	client_send_raw(c, buf, len * n);
	free(buf);
}

static char *
filler(size_t len)
{
	char	*s = malloc(len + 1);

	assert_non_null(s);
	memset(s, 'x', len);
	s[len] = '\0';
	return s;
}

/* Flood 2: `result` of a large finished job, many times in one read. */
static void
test_results_not_read_stop_the_reading(void **state)
{
	static const char *const extra[] = { "-o", "loops=1", NULL };
	struct client	 hog, other;
	char		*value = filler(400 * 1024);
	char		 line[128];
	json_t		*r;
	size_t		 base;
	json_int_t	 id;
	int		 i;

	start(extra);
	client_connect(&other, &d);
	r = client_call(&other, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":"
	    "{\"type\":\"echo\",\"args\":{\"value\":\"%s\"}}}", value);
	id = reply_job_id(r);
	json_decref(r);
	free(value);
	base = rss_now();

	/* 400 answers of 400 KiB: 160 MiB if nothing held the client back. */
	client_connect(&hog, &d);
	snprintf(line, sizeof(line), "{\"op\":\"result\",\"job\":%lld}\n",
	    (long long)id);
	flood(&hog, line, 400);
	/* The first answer: the read that held them all has been taken. */
	r = client_recv(&hog, HARNESS_WAIT);
	assert_int_equal(json_string_length(reply_result(r)), 400 * 1024);
	json_decref(r);
	client_assert_pings(&other);
	assert_peak_within(base);
	/* It was held back, not dropped: the rest are answered as it reads. */
	for (i = 1; i < 400; i++) {
		char	*text = client_recv_text(&hog, HARNESS_WAIT);

		assert_true(strncmp(text, "{\"ok\":true,\"job\":", 17) == 0);
		free(text);
	}
	assert_peak_within(base);
	client_close(&hog);
	client_close(&other);
}

/*
 * Flood 2 with waits: many `result` waits on a job with a large result,
 * not read.  The answers that find the client owing too much are parked
 * and written, in turn, as it reads; the daemon never holds them all.
 */
static void
test_waits_answered_as_the_client_reads(void **state)
{
	static const char *const extra[] = { "-o", "loops=1", NULL };
	struct client	 hog, other;
	char		*value = filler(400 * 1024), *text;
	char		 line[128];
	json_t		*r;
	size_t		 base;
	json_int_t	 id;
	int		 i;

	start(extra);
	client_connect(&other, &d);
	r = client_call(&other, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":"
	    "\"echo\",\"delay\":1,\"args\":{\"value\":\"%s\"}}}", value);
	id = reply_job_id(r);
	json_decref(r);
	free(value);
	base = rss_now();
	client_connect(&hog, &d);
	snprintf(line, sizeof(line), "{\"op\":\"result\",\"job\":%lld,"
	    "\"wait\":true}\n", (long long)id);
	flood(&hog, line, 400);
	/* Once the job is done, the first answer; the others wait their turn. */
	r = client_recv(&hog, HARNESS_WAIT);
	assert_int_equal(json_string_length(reply_result(r)), 400 * 1024);
	json_decref(r);
	client_assert_pings(&other);
	assert_peak_within(base);
	for (i = 1; i < 400; i++) {
		text = client_recv_text(&hog, HARNESS_WAIT);
		assert_true(strncmp(text, "{\"ok\":true,\"job\":", 17) == 0);
		free(text);
	}
	assert_peak_within(base);
	client_close(&hog);
	client_close(&other);
}

/* Flood 1: many `list`s, answered asynchronously, never read. */
static void
test_lists_not_read_stop_the_reading(void **state)
{
	static const char *const extra[] = { "-o", "loops=1", NULL };
	static const char job[] = "{\"type\":\"echo\",\"args\":{\"value\":1}}";
	struct client	 hog, other;
	char		*batch, *p;
	json_t		*r;
	size_t		 base;
	int		 i;

	start(extra);
	client_connect(&other, &d);
	batch = malloc(1000 * sizeof(job) + 64);
	assert_non_null(batch);
	p = batch + sprintf(batch, "{\"op\":\"submit\",\"id\":1,\"jobs\":[");
	for (i = 0; i < 1000; i++)
		p += sprintf(p, "%s%s", i ? "," : "", job);
	sprintf(p, "]}");
	r = client_call(&other, "%s", batch);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	free(batch);
	base = rss_now();

	/* 1,500 lists of 1,000 views that nobody reads. */
	client_connect(&hog, &d);
	flood(&hog, "{\"op\":\"list\",\"limit\":1000}\n", 1500);
	r = client_recv(&hog, HARNESS_WAIT);
	assert_int_equal(json_array_size(json_object_get(r, "jobs")), 1000);
	json_decref(r);
	client_assert_pings(&other);
	r = client_call(&other, "{\"op\":\"list\",\"id\":2,\"limit\":5}");
	assert_int_equal(json_array_size(json_object_get(r, "jobs")), 5);
	json_decref(r);
	assert_peak_within(base);
	client_close(&hog);
	client_assert_pings(&other);
	client_close(&other);
}

/* Flood 3: a watcher that never reads is disconnected at the limit. */
static void
test_a_watcher_that_does_not_read_is_disconnected(void **state)
{
	static const char *const extra[] = {
		"-o", "client_output_limit=4M", NULL
	};
	struct client	 hog, other;
	char		*value = filler(64 * 1024), *text;
	json_t		*r;
	size_t		 base;
	int		 i;

	start(extra);
	client_connect(&other, &d);
	client_connect(&hog, &d);
	r = client_call(&hog, "{\"op\":\"watch\",\"id\":1}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	base = rss_now();
	/* 64 MiB of events, at least, for a watcher with a 4 MiB limit. */
	for (i = 0; i < 500; i++) {
		r = client_call(&other, "{\"op\":\"submit\",\"id\":%d,\"wait\":true,"
		    "\"job\":{\"type\":\"echo\",\"ttl\":0,\"args\":{\"value\":"
		    "\"%s\"}}}", i, value);
		assert_string_equal(reply_job_state(r), "done");
		json_decref(r);
		if (daemon_log_contains(&d, "client_output_limit"))
			break;
	}
	assert_true(daemon_log_wait(&d, "client_output_limit"));
	client_assert_pings(&other);
	assert_peak_within(base);
	/* What was written before the limit, then the end. */
	while ((text = client_recv_text_or_eof(&hog, HARNESS_WAIT)) != NULL)
		free(text);
	client_close(&hog);
	free(value);
	client_close(&other);
}

/*
 * Flood 4: a submit with wait and stream of a composite with many children
 * and a large request id, not read.  The id is sent with each child's
 * event; it is referenced until the event is written, never copied per
 * child, and the client that does not read is disconnected at the limit.
 */
static void
test_a_stream_with_a_large_id_is_bounded(void **state)
{
	static const char *const extra[] = {
		"-o", "loops=2", "-o", "client_output_limit=4M", NULL
	};
	static const char child[] = "{\"type\":\"echo\",\"args\":{\"value\":1}}";
	struct client	 hog, other;
	char		*id = filler(128 * 1024), *line, *p, *text;
	size_t		 base;
	int		 i;

	start(extra);
	client_connect(&other, &d);
	client_assert_pings(&other);
	base = rss_now();
	/* 2,000 children: 250 MiB of events if the id were copied for each. */
	line = malloc(128 * 1024 + 2000 * sizeof(child) + 256);
	assert_non_null(line);
	p = line + sprintf(line, "{\"op\":\"submit\",\"id\":\"%s\",\"wait\":true,"
	    "\"stream\":true,\"job\":{\"type\":\"group\",\"args\":{\"jobs\":[", id);
	for (i = 0; i < 2000; i++)
		p += sprintf(p, "%s%s", i ? "," : "", child);
	sprintf(p, "]}}}\n");
	client_connect(&hog, &d);
	client_send_raw(&hog, line, strlen(line));
	free(line);
	free(id);
	assert_true(daemon_log_wait(&d, "client_output_limit"));
	client_assert_pings(&other);
	assert_peak_within(base);
	while ((text = client_recv_text_or_eof(&hog, HARNESS_WAIT)) != NULL)
		free(text);
	client_close(&hog);
	client_close(&other);
}

/*
 * Flood 5: results held past max_result_bytes.  Submits are answered busy
 * once it is spent; results held are kept (none is dropped to make room).
 * An echo job holds its argument as long as its result (the spec's text for
 * the journal, the type's parsed copy, and the view): three times 256 KiB,
 * all counted, so busy comes after about 4 MiB / 768 KiB jobs, 5 (not
 * after 4 MiB / 512 KiB, 8, when only the view and result counted).
 */
static void
test_results_held_are_bounded_by_max_result_bytes(void **state)
{
	static const char *const extra[] = { "-o", "max_result_bytes=4M", NULL };
	struct client	 hog, other;
	char		*value = filler(256 * 1024);
	json_t		*r;
	json_int_t	 first = 0;
	size_t		 base;
	int		 i;

	start(extra);
	client_connect(&other, &d);
	client_connect(&hog, &d);
	client_assert_pings(&other);
	base = rss_now();
	/* 400 results of 256 KiB would hold 100 MiB and more. */
	for (i = 0; i < 400; i++) {
		r = client_call(&hog, "{\"op\":\"submit\",\"id\":%d,\"wait\":true,"
		    "\"job\":{\"type\":\"echo\",\"args\":{\"value\":\"%s\"}}}",
		    i, value);
		if (reply_error_code(r) != NULL) {
			assert_string_equal(reply_error_code(r), "busy");
			assert_non_null(strstr(json_str(json_object_get(r, "error"),
			    "message"), "max_result_bytes"));
			json_decref(r);
			break;
		}
		if (first == 0)
			first = reply_job_id(r);
		json_decref(r);
	}
	print_message("busy after %d\n", i);
	assert_true(i >= 4 && i <= 6);
	client_assert_pings(&other);
	assert_peak_within(base);
	/* The first is still held: nothing is expired to make room. */
	r = client_call(&other, "{\"op\":\"result\",\"id\":1,\"job\":%lld}",
	    (long long)first);
	assert_int_equal(json_string_length(reply_result(r)), 256 * 1024);
	json_decref(r);
	free(value);
	client_close(&hog);
	client_close(&other);
}

static json_int_t
connections_now(struct client *c)
{
	json_t		*r = client_call(c, "{\"op\":\"stats\",\"id\":\"s\"}");
	json_int_t	 n;

	n = json_integer_value(json_object_get(json_object_get(json_object_get(r,
	    "stats"), "connections"), "current"));
	json_decref(r);
	return n;
}

/*
 * Flood 5b: what waits holds its arguments too.  A pending job's spec (its
 * text and its type's parsed args) counts in max_result_bytes from its
 * submit: 256 KiB arguments twice over, so busy after about 4 MiB / 512 KiB
 * jobs (before, pending jobs counted nothing and were never refused).
 */
#define WAITING_JOB	"{\"op\":\"submit\",\"job\":{\"type\":\"sleep\"," \
			"\"delay\":600,\"ttl\":0,\"args\":{\"seconds\":1," \
			"\"result\":\"%s\"}}}"

static void
test_arguments_waiting_count_in_max_result_bytes(void **state)
{
	/* One loop: a cancelled job's spec is freed before the answer. */
	static const char *const extra[] = { "-o", "max_result_bytes=4M", "-o",
	    "loops=1", NULL };
	struct client	 hog, other;
	char		*value = filler(256 * 1024);
	json_int_t	 ids[64];
	json_t		*r;
	size_t		 base;
	int		 i, j;

	start(extra);
	client_connect(&other, &d);
	client_connect(&hog, &d);
	client_assert_pings(&other);
	base = rss_now();
	for (i = 0; i < 64; i++) {
		r = client_call(&hog, WAITING_JOB, value);
		if (reply_error_code(r) != NULL) {
			assert_string_equal(reply_error_code(r), "busy");
			assert_non_null(strstr(json_str(json_object_get(r, "error"),
			    "message"), "max_result_bytes"));
			json_decref(r);
			break;
		}
		ids[i] = reply_job_id(r);
		json_decref(r);
	}
	print_message("busy after %d\n", i);
	assert_true(i >= 6 && i <= 8);
	client_assert_pings(&other);
	assert_peak_within(base);
	/* Gone (ttl 0), they count no more: the same submit is taken. */
	for (j = 0; j < i; j++) {
		r = client_call(&hog, "{\"op\":\"cancel\",\"job\":%lld}",
		    (long long)ids[j]);
		assert_string_equal(reply_job_state(r), "cancelled");
		json_decref(r);
	}
	r = client_call(&hog, WAITING_JOB, value);
	assert_null(reply_error_code(r));
	json_decref(r);
	free(value);
	client_close(&hog);
	client_close(&other);
}

/*
 * Flood 6: clients that ask to wait on a long job and close.  They are
 * gone at once, their waits dropped and their slots free, while the job
 * goes on; a client that only shuts down its sending side is answered.
 */
static void
test_clients_gone_while_waiting_are_dropped(void **state)
{
	static const char *const extra[] = { "-o", "max_connections=20", NULL };
	struct client	 hog, other, half;
	double		 deadline;
	json_t		*r;
	json_int_t	 id;
	int		 i;

	start(extra);
	client_connect(&other, &d);
	r = client_call(&other, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":"
	    "\"sleep\",\"args\":{\"seconds\":600}}}");
	id = reply_job_id(r);
	json_decref(r);
	/* Many more than max_connections, one after the other. */
	for (i = 0; i < 100; i++) {
		client_connect_ready(&hog, &d);
		client_send(&hog, "{\"op\":\"result\",\"id\":%d,\"job\":%lld,"
		    "\"wait\":true}", i, (long long)id);
		client_close(&hog);
	}
	deadline = now_seconds() + HARNESS_WAIT;
	while (connections_now(&other) > 1) {
		assert_true(now_seconds() < deadline);
		usleep(10000);
	}
	/* A half-close still gets its answer (the job cancelled: it ends). */
	client_connect(&half, &d);
	client_send(&half, "{\"op\":\"result\",\"id\":\"h\",\"job\":%lld,"
	    "\"wait\":true}", (long long)id);
	assert_int_equal(shutdown(half.fd, SHUT_WR), 0);
	client_assert_pings(&other);
	r = client_call(&other, "{\"op\":\"status\",\"id\":2,\"job\":%lld}",
	    (long long)id);
	assert_string_equal(reply_job_state(r), "running");
	json_decref(r);
	json_decref(client_call(&other, "{\"op\":\"cancel\",\"id\":3,\"job\":%lld}",
	    (long long)id));
	r = client_recv(&half, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "h");
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	assert_null(client_recv_or_eof(&half, HARNESS_WAIT));
	client_close(&half);
	client_close(&other);
}

/*
 * Waits numbered first .. first + n - 1 on job `id`, then a ping: once that
 * is answered, every wait is in place (a connection's lines are taken in
 * order, and the job is running, so nothing else is answered).
 */
static void
place_waits(struct client *c, json_int_t id, int first, int n)
{
	char	 line[128];
	char	*buf = malloc((size_t)n * sizeof(line)), *p = buf;
	json_t	*r;
	int	 i;

	assert_non_null(buf);
	for (i = first; i < first + n; i++)
		p += snprintf(p, sizeof(line), "{\"op\":\"result\",\"id\":%d,"
		    "\"job\":%lld,\"wait\":true}\n", i, (long long)id);
	client_send_raw(c, buf, (size_t)(p - buf));
	free(buf);
	r = client_call(c, "{\"op\":\"ping\",\"id\":\"placed\"}");
	assert_string_equal(json_str(r, "id"), "placed");
	json_decref(r);
}

/*
 * Flood 8: tens of thousands of waits on one job.  A client's waits sit
 * between another's in the job's list of callbacks; it closes, and they
 * are dropped (each at once, not by a scan past the others) while a third
 * client is answered.  The other client's waits are all still there: each
 * is answered once when the job ends.
 */
#define MANY_WAITS	20000

static void
test_many_waits_on_one_job_are_dropped_with_their_client(void **state)
{
	struct client	 keeper, hog, other;
	unsigned char	*seen = calloc(MANY_WAITS, 1);
	json_t		*r;
	json_int_t	 id, rid;
	int		 i;

	assert_non_null(seen);
	start(NULL);
	client_connect(&other, &d);
	r = client_call(&other, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":"
	    "\"sleep\",\"args\":{\"seconds\":600}}}");
	id = reply_job_id(r);
	json_decref(r);
	client_connect(&keeper, &d);
	client_connect(&hog, &d);
	place_waits(&keeper, id, 0, MANY_WAITS / 2);
	place_waits(&hog, id, 0, MANY_WAITS);
	place_waits(&keeper, id, MANY_WAITS / 2, MANY_WAITS / 2);
	client_close(&hog);
	client_assert_pings(&other);
	/* The job goes on without the client that left. */
	r = client_call(&other, "{\"op\":\"status\",\"id\":2,\"job\":%lld}",
	    (long long)id);
	assert_string_equal(reply_job_state(r), "running");
	json_decref(r);
	json_decref(client_call(&other, "{\"op\":\"cancel\",\"id\":3,"
	    "\"job\":%lld}", (long long)id));
	for (i = 0; i < MANY_WAITS; i++) {
		r = client_recv(&keeper, HARNESS_WAIT);
		assert_string_equal(reply_job_state(r), "cancelled");
		rid = json_integer_value(json_object_get(r, "id"));
		assert_true(rid >= 0 && rid < MANY_WAITS);
		assert_int_equal(seen[rid], 0);
		seen[rid] = 1;
		json_decref(r);
	}
	client_assert_pings(&keeper);
	client_assert_pings(&other);
	free(seen);
	client_close(&keeper);
	client_close(&other);
}

/* n sleeping jobs with ttl 0 (gone once they end), their ids ascending. */
static json_int_t *
submit_sleepers(struct client *c, int n)
{
	static const char job[] = "{\"type\":\"sleep\",\"ttl\":0,\"args\":"
	    "{\"seconds\":600}}";
	json_int_t	*ids = calloc((size_t)n, sizeof(*ids));
	char		*buf = malloc(5000 * sizeof(job) + 64), *p;
	json_t		*r, *jobs;
	int		 done = 0, k, i;

	assert_non_null(ids);
	assert_non_null(buf);
	while (done < n) {
		k = n - done < 5000 ? n - done : 5000;
		p = buf + sprintf(buf, "{\"op\":\"submit\",\"jobs\":[");
		for (i = 0; i < k; i++)
			p += sprintf(p, "%s%s", i > 0 ? "," : "", job);
		sprintf(p, "]}");
		r = client_call(c, "%s", buf);
		jobs = json_object_get(r, "jobs");
		assert_int_equal(json_array_size(jobs), (size_t)k);
		for (i = 0; i < k; i++)
			ids[done + i] = json_integer_value(json_object_get(
			    json_array_get(jobs, i), "id"));
		json_decref(r);
		done += k;
	}
	free(buf);
	for (i = 1; i < n; i++)
		assert_true(ids[i] > ids[i - 1]);
	return ids;
}

/*
 * Flood 8: `list` over many jobs is cut into slices, one a loop pass.  On
 * one loop, a list that has to look at every job and a ping sent with it:
 * the ping is answered first, which it could not be if the list took the
 * loop until it was done.  The answers are those of one walk: paged with
 * `before`, every job once, newest first.
 */
#define LIST_JOBS	12000

static void
test_a_list_over_many_jobs_lets_the_loop_go_on(void **state)
{
	static const char *const extra[] = { "-o", "loops=1", NULL };
	static const char lists[] =
	    "{\"op\":\"list\",\"id\":\"l\",\"state\":\"failed\"}\n"
	    "{\"op\":\"ping\",\"id\":\"p\"}\n";
	struct client	 c;
	json_int_t	*ids, before = 0;
	json_t		*r, *jobs, *next;
	size_t		 i;
	int		 seen = 0;

	start(extra);
	client_connect(&c, &d);
	ids = submit_sleepers(&c, LIST_JOBS);
	client_send_raw(&c, lists, sizeof(lists) - 1);
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "p");
	json_decref(r);
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "l");
	assert_int_equal(json_array_size(json_object_get(r, "jobs")), 0);
	assert_true(json_is_null(json_object_get(r, "next")));
	json_decref(r);

	/* Pages of 1,000: every job once, newest first. */
	for (;;) {
		if (before == 0)
			r = client_call(&c, "{\"op\":\"list\",\"limit\":1000}");
		else
			r = client_call(&c, "{\"op\":\"list\",\"limit\":1000,"
			    "\"before\":%lld}", (long long)before);
		jobs = json_object_get(r, "jobs");
		for (i = 0; i < json_array_size(jobs); i++) {
			assert_true(seen < LIST_JOBS);
			assert_int_equal(json_integer_value(json_object_get(
			    json_array_get(jobs, i), "id")),
			    ids[LIST_JOBS - 1 - seen]);
			seen++;
		}
		next = json_object_get(r, "next");
		if (json_is_null(next)) {
			json_decref(r);
			break;
		}
		before = json_integer_value(next);
		json_decref(r);
	}
	assert_int_equal(seen, LIST_JOBS);
	/* The oldest, past all the others. */
	r = client_call(&c, "{\"op\":\"list\",\"before\":%lld}",
	    (long long)ids[1]);
	jobs = json_object_get(r, "jobs");
	assert_int_equal(json_array_size(jobs), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(jobs, 0),
	    "id")), ids[0]);
	json_decref(r);
	free(ids);
	client_close(&c);
}

/*
 * Jobs that go (ttl 0, cancelled) while lists walk past them: a walk that
 * stood at a job that went goes on at the one before it.  A loop's walks
 * take turns, in the order they were asked: 1,000 lists that find nothing
 * (each looks at every job), then one that stops at the first job.  Once
 * that one is answered, each of the 1,000 has had its first turn and stands
 * at a job; then every job but the newest is cancelled, and goes at once.
 * Each list is answered, as is each cancel.  (A walk left at a job that
 * went would stop the daemon: job_walk_step() checks.)
 */
#define WALK_JOBS	4096
#define WALKS		1000

static void
test_lists_go_on_while_the_jobs_go(void **state)
{
	static const char *const extra[] = { "-o", "loops=1", NULL };
	static const char walk[] =
	    "{\"op\":\"list\",\"id\":\"l\",\"state\":\"failed\",\"limit\":1}\n";
	struct client	 c;
	json_int_t	*ids;
	json_t		*r;
	char		*buf, *p;
	int		 i, lists = 0, cancels = 0;

	start(extra);
	client_connect(&c, &d);
	ids = submit_sleepers(&c, WALK_JOBS);
	buf = malloc((size_t)WALK_JOBS * 128);
	assert_non_null(buf);
	for (i = 0, p = buf; i < WALKS; i++)
		p = stpcpy(p, walk);
	p = stpcpy(p, "{\"op\":\"list\",\"id\":\"s\",\"limit\":1}\n");
	client_send_raw(&c, buf, (size_t)(p - buf));
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "s");
	json_decref(r);
	for (i = 0, p = buf; i < WALK_JOBS - 1; i++)
		p += sprintf(p, "{\"op\":\"cancel\",\"id\":\"c\",\"job\":%lld}\n",
		    (long long)ids[i]);
	client_send_raw(&c, buf, (size_t)(p - buf));
	free(buf);
	while (lists < WALKS || cancels < WALK_JOBS - 1) {
		r = client_recv(&c, HARNESS_WAIT);
		assert_true(json_is_true(json_object_get(r, "ok")));
		if (strcmp(json_str(r, "id"), "l") == 0) {
			assert_int_equal(json_array_size(json_object_get(r,
			    "jobs")), 0);
			assert_true(json_is_null(json_object_get(r, "next")));
			lists++;
		} else {
			assert_string_equal(json_str(r, "id"), "c");
			assert_string_equal(reply_job_state(r), "cancelled");
			cancels++;
		}
		json_decref(r);
	}
	free(ids);
	client_close(&c);
}

/* The calls loop 0 has run from its inbox (one a pass of its lists). */
static json_int_t
loop0_posts(struct client *c)
{
	json_t		*r = client_call(c, "{\"op\":\"stats\"}");
	json_int_t	 n;

	n = json_integer_value(json_object_get(json_array_get(json_object_get(
	    json_object_get(r, "stats"), "loops"), 0), "posts"));
	json_decref(r);
	return n;
}

/*
 * A client that asks for many lists and leaves: its walks stop at their
 * next turn.  1,000 lists of 12,000 jobs each want 12 turns, 3,000 passes
 * of the loop in all; after the client has gone, a list of the other
 * client's takes a few passes, not those 3,000 (counted by the loop's
 * posts, one a pass).
 */
static void
test_lists_of_a_client_gone_stop(void **state)
{
	static const char *const extra[] = { "-o", "loops=1", NULL };
	static const char walk[] =
	    "{\"op\":\"list\",\"id\":\"l\",\"state\":\"failed\",\"limit\":1}\n";
	struct client	 hog, other;
	json_int_t	*ids, posts;
	json_t		*r;
	char		*buf, *p;
	int		 i;

	start(extra);
	client_connect(&other, &d);
	ids = submit_sleepers(&other, LIST_JOBS);
	client_connect(&hog, &d);
	buf = malloc((size_t)WALKS * sizeof(walk) + 64);
	assert_non_null(buf);
	for (i = 0, p = buf; i < WALKS; i++)
		p = stpcpy(p, walk);
	/* Answered once each of the others has had its first turn. */
	p = stpcpy(p, "{\"op\":\"list\",\"id\":\"s\",\"limit\":1}\n");
	client_send_raw(&hog, buf, (size_t)(p - buf));
	free(buf);
	r = client_recv(&hog, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "s");
	json_decref(r);
	client_close(&hog);
	posts = loop0_posts(&other);
	r = client_call(&other, "{\"op\":\"list\",\"state\":\"failed\"}");
	assert_int_equal(json_array_size(json_object_get(r, "jobs")), 0);
	json_decref(r);
	posts = loop0_posts(&other) - posts;
	print_message("%lld posts for a list after the hog left\n",
	    (long long)posts);
	assert_true(posts < 1000);
	client_assert_pings(&other);
	free(ids);
	client_close(&other);
}

/* Flood 7: a line begun and never ended is given line_timeout. */
static void
test_an_unended_line_times_out(void **state)
{
	static const char *const extra[] = { "-o", "line_timeout=0.5", NULL };
	struct client	 hog, other;
	json_t		*r;

	start(extra);
	client_connect(&other, &d);
	client_connect(&hog, &d);
	client_send_raw(&hog, "{\"op\":\"ping\",\"id\":1}\n{\"op\":\"pi", 30);
	r = client_recv(&hog, HARNESS_WAIT);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	client_assert_pings(&other);
	/* The ended line was answered; the other one times out. */
	r = client_recv(&hog, HARNESS_WAIT);
	assert_string_equal(reply_error_code(r), "timeout");
	json_decref(r);
	assert_null(client_recv_or_eof(&hog, HARNESS_WAIT));
	assert_true(daemon_log_contains(&d, "line_timeout"));
	client_assert_pings(&other);
	client_close(&hog);
	client_close(&other);
}

/* Flood 7: many clients each holding most of a long line. */
static void
test_partial_lines_have_a_total_budget(void **state)
{
	static const char *const extra[] = {
		"-o", "max_input_bytes=1M", "-o", "line_timeout=0", NULL
	};
	struct client	 hog[4], other;
	struct pollfd	 pfd[4];
	char		*part = filler(400 * 1024), *text;
	int		 i, busy = 0;

	start(extra);
	client_connect(&other, &d);
	for (i = 0; i < 4; i++) {
		client_connect(&hog[i], &d);
		client_send_raw(&hog[i], part, strlen(part));
		pfd[i].fd = hog[i].fd;
		pfd[i].events = POLLIN;
	}
	free(part);
	/* 1.6 MiB held over a budget of 1 MiB: one at least is told, and closed. */
	assert_true(poll(pfd, 4, (int)(HARNESS_WAIT * 1000)) > 0);
	for (i = 0; i < 4; i++) {
		if (!(pfd[i].revents & POLLIN))
			continue;
		text = client_recv_text(&hog[i], HARNESS_WAIT);
		assert_non_null(strstr(text, "\"busy\""));
		free(text);
		assert_null(client_recv_text_or_eof(&hog[i], HARNESS_WAIT));
		busy++;
	}
	assert_true(busy >= 1);
	assert_true(daemon_log_contains(&d, "max_input_bytes"));
	client_assert_pings(&other);
	for (i = 0; i < 4; i++)
		client_close(&hog[i]);
	client_close(&other);
}

/*
 * Flood 10: a client beyond max_connections that sent before it reads gets
 * its busy line, then a clean end of file.  Closed with that input unread,
 * the socket would be reset: a reset destroys whatever the daemon's kernel
 * had not yet sent, and on Linux what had arrived survives it, so what is
 * checked here is the reset itself (ECONNRESET after the line instead of
 * EOF).  The client's input must be in the daemon's socket before the
 * daemon looks at it, or a plain close would send FIN and the reset would
 * come only after: so the daemon is stopped while the client connects and
 * sends, and continued once the input has arrived.
 */
static void
refused_after_sending(struct client *hog, bool tcp)
{
	static char	 junk[16 * 1024];
	double		 deadline = now_seconds() + HARNESS_WAIT;
	char		*text;
	int		 status, queued;
	ssize_t		 n;

	memset(junk, 'x', sizeof(junk));
	assert_int_equal(kill(d.pid, SIGSTOP), 0);
	assert_int_equal(waitpid(d.pid, &status, WUNTRACED), d.pid);
	assert_true(WIFSTOPPED(status));
	if (tcp)
		client_connect_tcp(hog, &d);
	else
		client_connect(hog, &d);
	/* The kernel takes the connection and its bytes while the daemon
	 * sleeps; a Unix socket's bytes are in its peer once sent, TCP's once
	 * acknowledged (nothing left in the sender's queue). */
	client_send_raw(hog, junk, sizeof(junk));
	for (;;) {
		if (!tcp)
			break;
		assert_int_equal(ioctl(hog->fd, SIOCOUTQ, &queued), 0);
		if (queued == 0)
			break;
		assert_true(now_seconds() < deadline);
		usleep(1000);
	}
	assert_int_equal(kill(d.pid, SIGCONT), 0);
	text = client_recv_text(hog, HARNESS_WAIT);
	assert_non_null(strstr(text, "\"busy\""));
	free(text);
	assert_int_equal(hog->len, 0);
	do
		n = recv(hog->fd, junk, sizeof(junk), 0);
	while (n == -1 && errno == EINTR);
	if (n == -1 && errno == ECONNRESET)
		fail_msg("the refused connection was reset");
	assert_int_equal(n, 0);
	client_close(hog);
}

static void
test_a_refused_client_gets_its_busy_line(void **state)
{
	static const char *const extra[] = { "-o", "max_connections=1", "-o",
	    "auth_tcp=none", NULL };
	struct daemon_opts	 opts = { .extra = extra, .socket_activation = true };
	struct client		 hog, other;
	int			 i;

	daemon_start_with(&d, &opts);
	client_connect_tcp(&other, &d);
	client_assert_pings(&other);
	for (i = 0; i < 3; i++) {
		refused_after_sending(&hog, true);
		refused_after_sending(&hog, false);
	}
	client_assert_pings(&other);
	client_close(&other);
}

/* Flood 8: watch filters are capped per connection. */
static void
test_watch_filters_are_capped(void **state)
{
	struct client	 hog, other;
	json_t		*r;
	int		 i;

	start(NULL);
	client_connect(&other, &d);
	client_connect(&hog, &d);
	for (i = 0; i < 64; i++) {
		r = client_call(&hog, "{\"op\":\"watch\",\"id\":%d,\"queue\":\"q%d\"}",
		    i, i);
		assert_true(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
	}
	r = client_call(&hog, "{\"op\":\"watch\",\"id\":64,\"queue\":\"q64\"}");
	assert_string_equal(reply_error_code(r), "busy");
	json_decref(r);
	client_assert_pings(&other);
	json_decref(client_call(&hog, "{\"op\":\"unwatch\",\"id\":65}"));
	r = client_call(&hog, "{\"op\":\"watch\",\"id\":66}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	client_close(&hog);
	client_close(&other);
}

/*
 * Filters are indexed by what they watch: an event reaches the connections
 * whose filters match, each once however many of its filters do.
 */
static void
test_watch_filters_indexed_deliver_once(void **state)
{
	struct client	 w, q, c;
	json_t		*r;
	json_int_t	 id;
	char		*text;

	start(NULL);
	client_connect(&w, &d);
	client_connect(&q, &d);
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":"
	    "\"sleep\",\"queue\":\"a\",\"args\":{\"seconds\":600}}}");
	id = reply_job_id(r);
	json_decref(r);
	json_decref(client_wait_left(&c, id, "queued"));
	json_decref(client_call(&w, "{\"op\":\"watch\",\"id\":1,\"job\":%lld}",
	    (long long)id));
	json_decref(client_call(&w, "{\"op\":\"watch\",\"id\":2,\"queue\":\"a\"}"));
	json_decref(client_call(&w, "{\"op\":\"watch\",\"id\":3}"));
	json_decref(client_call(&q, "{\"op\":\"watch\",\"id\":1,\"queue\":\"b\"}"));
	json_decref(client_call(&c, "{\"op\":\"cancel\",\"id\":2,\"job\":%lld}",
	    (long long)id));
	/* One event (cancelled), once; then a ping's answer, nothing between. */
	r = client_recv(&w, HARNESS_WAIT);
	assert_string_equal(json_str(r, "event"), "job");
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	client_assert_pings(&w);
	/* The other queue's watcher heard nothing of it. */
	client_send(&q, "{\"op\":\"ping\",\"id\":\"q\"}");
	text = client_recv_text(&q, HARNESS_WAIT);
	assert_non_null(strstr(text, "\"id\":\"q\""));
	free(text);
	client_close(&w);
	client_close(&q);
	client_close(&c);
}

/*
 * One connection's many lines take turns with other connections: with a turn
 * of one line (LOOMD_TEST_TURN_NS=1), another client's two requests are
 * both taken while the first client's thousands wait for their turns.  Both
 * write while the daemon is stopped, so its first pass sees both, the long
 * one first; before turns, all of its lines (a cancel last) came first.
 */
static void
test_a_long_read_takes_turns(void **state)
{
	const char *const	 extra[] = { "-o", "loops=1", NULL };
	const char *const	 env[] = { "LOOMD_TEST_TURN_NS=1", NULL };
	struct daemon_opts	 opts = { .extra = extra, .env = env };
	struct client		 hog, other;
	char			 line[96], *text;
	json_int_t		 job;
	json_t			*r;
	int			 status;

	daemon_start_with(&d, &opts);
	client_connect(&hog, &d);
	client_connect(&other, &d);
	client_assert_pings(&hog);
	r = client_call(&other, "{\"op\":\"submit\",\"job\":{\"type\":\"sleep\","
	    "\"args\":{\"seconds\":3600}}}");
	job = reply_job_id(r);
	json_decref(r);

	assert_int_equal(kill(d.pid, SIGSTOP), 0);
	assert_int_equal(waitpid(d.pid, &status, WUNTRACED), d.pid);
	assert_true(WIFSTOPPED(status));
	/* 3,000 pings, then the cancel: under 100 KiB, in the socket at once. */
	flood(&hog, "{\"op\":\"ping\"}\n", 3000);
	snprintf(line, sizeof(line), "{\"op\":\"cancel\",\"job\":%lld}\n",
	    (long long)job);
	client_send_raw(&hog, line, strlen(line));
	client_send(&other, "{\"op\":\"ping\",\"id\":\"p\"}");
	client_send(&other, "{\"op\":\"status\",\"id\":\"s\",\"job\":%lld}",
	    (long long)job);
	assert_int_equal(kill(d.pid, SIGCONT), 0);

	text = client_recv_text(&other, HARNESS_WAIT);
	assert_non_null(strstr(text, "\"p\""));
	free(text);
	r = client_recv(&other, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "s");
	assert_string_equal(reply_job_state(r), "running");
	json_decref(r);
	client_close(&hog);
	client_close(&other);
}

static void
daemon_stop_now(void)
{
	int	status;

	assert_int_equal(kill(d.pid, SIGSTOP), 0);
	assert_int_equal(waitpid(d.pid, &status, WUNTRACED), d.pid);
	assert_true(WIFSTOPPED(status));
}

/* Answers (lines) in the len bytes at buf. */
static size_t
answers_in(const char *buf, size_t len)
{
	const char	*p, *end = buf + len;
	size_t		 n = 0;

	for (p = buf; (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		n++;
	return n;
}

/* The answers waiting in c's socket, read and counted; with wait, after
 * waiting for one. */
static size_t
answers_waiting(struct client *c, bool wait)
{
	struct pollfd	pfd = { .fd = c->fd, .events = POLLIN };
	char		buf[65536];
	size_t		n = 0;
	ssize_t		k;

	if (wait)
		assert_int_equal(poll(&pfd, 1, (int)(HARNESS_WAIT * 1000)), 1);
	while ((k = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		n += answers_in(buf, (size_t)k);
	assert_true(k == -1 && (errno == EAGAIN || errno == EWOULDBLOCK));
	return n;
}

/*
 * A client that writes while another connection takes its turns is served
 * before that connection's next turn: a turn ends the loop's pass, and the
 * next pass polls the sockets again.  The hog's 6,000 pings and a cancel
 * wait in its socket; once the daemon has begun on them it is stopped, the
 * other client writes, and it goes on.  With turns of one line the other's
 * status comes long before the hog's cancel.  Before, a turn only let the
 * events already due go first: the rest of the hog's lines came in the same
 * pass, the cancel among them.  Should the daemon be through the hog's
 * lines before it is stopped, the round is tried again.
 */
static void
test_a_client_writing_during_turns_goes_before_the_next(void **state)
{
	const char *const	 extra[] = { "-o", "loops=1", NULL };
	const char *const	 env[] = { "LOOMD_TEST_TURN_NS=1", NULL };
	struct daemon_opts	 opts = { .extra = extra, .env = env };
	struct client		 hog, other;
	char			 line[96];
	json_int_t		 job;
	size_t			 got;
	int			 round;
	json_t			*r;

	daemon_start_with(&d, &opts);
	client_connect(&hog, &d);
	client_connect(&other, &d);
	client_assert_pings(&hog);
	for (round = 0; round < 5; round++) {
		job = client_submit(&other, "{\"type\":\"sleep\","
		    "\"args\":{\"seconds\":3600}}");
		daemon_stop_now();
		flood(&hog, "{\"op\":\"ping\"}\n", 6000);
		snprintf(line, sizeof(line), "{\"op\":\"cancel\",\"job\":%lld}\n",
		    (long long)job);
		client_send_raw(&hog, line, strlen(line));
		assert_int_equal(kill(d.pid, SIGCONT), 0);
		got = answers_waiting(&hog, true);
		daemon_stop_now();
		got += answers_waiting(&hog, false);
		if (got < 6001)
			break;
		assert_int_equal(kill(d.pid, SIGCONT), 0);
	}
	assert_true(round < 5);
	client_send(&other, "{\"op\":\"status\",\"id\":\"s\",\"job\":%lld}",
	    (long long)job);
	assert_int_equal(kill(d.pid, SIGCONT), 0);
	r = client_recv(&other, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "s");
	assert_string_equal(reply_job_state(r), "running");
	json_decref(r);
	while (got < 6001)
		got += answers_waiting(&hog, true);
	client_close(&hog);
	client_close(&other);
}

/* A client that keeps pings coming until its connection is shut down. */
static void *
keep_pinging(void *arg)
{
	static const char	 ping[] = "{\"op\":\"ping\"}\n";
	const int		*fd = arg;
	char			 buf[(sizeof(ping) - 1) * 1024];
	size_t			 i, off;
	ssize_t			 k;

	for (i = 0; i < 1024; i++)
		memcpy(buf + i * (sizeof(ping) - 1), ping, sizeof(ping) - 1);
	for (;;) {
		for (off = 0; off < sizeof(buf); off += (size_t)k) {
			if ((k = send(*fd, buf + off, sizeof(buf) - off,
			    MSG_NOSIGNAL)) <= 0)
				return NULL;
		}
	}
}

/* The answers in what fd's socket has now, read; blocks for the first. */
static size_t
answers_read(int fd)
{
	char	buf[65536];
	ssize_t	k;

	if ((k = recv(fd, buf, sizeof(buf), 0)) <= 0)
		fail_msg("the daemon closed the connection");
	return answers_in(buf, (size_t)k);
}

/*
 * One turn a pass: a connection whose socket stays readable while lines
 * of it wait for their next turn gets no turn from that.  One client keeps
 * more than a read's worth of pings coming; another sends 3,000 at once.
 * With turns of one line, the first gets about one answer for each of the
 * other's (counted between the other's 1,000th and 2,000th, so that what
 * was under way at either end counts alike).  Before, its readable socket
 * gave it a second turn each pass: two answers for each.
 */
static void
test_a_readable_socket_is_no_second_turn(void **state)
{
	const char *const	 extra[] = { "-o", "loops=1", NULL };
	const char *const	 env[] = { "LOOMD_TEST_TURN_NS=1", NULL };
	struct daemon_opts	 opts = { .extra = extra, .env = env };
	struct client		 hog, other;
	struct pollfd		 pfd[2];
	pthread_t		 thread;
	size_t			 mine = 0, theirs = 0, at1000 = 0, at2000 = 0, n;

	daemon_start_with(&d, &opts);
	client_connect(&hog, &d);
	client_connect(&other, &d);
	client_assert_pings(&other);
	assert_int_equal(pthread_create(&thread, NULL, keep_pinging, &hog.fd), 0);
	(void)answers_read(hog.fd);		/* under way */
	flood(&other, "{\"op\":\"ping\"}\n", 3000);
	pfd[0] = (struct pollfd){ .fd = hog.fd, .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = other.fd, .events = POLLIN };
	while (mine < 2000) {
		assert_true(poll(pfd, 2, (int)(HARNESS_WAIT * 1000)) > 0);
		if (pfd[0].revents != 0)
			theirs += answers_read(hog.fd);
		if (pfd[1].revents != 0) {
			n = answers_read(other.fd);
			if (mine < 1000 && mine + n >= 1000)
				at1000 = theirs;
			mine += n;
			if (mine >= 2000)
				at2000 = theirs;
		}
	}
	/* 1,000 with a turn a pass, 2,000 with two. */
	print_message("the flooding client's answers meanwhile: %zu\n",
	    at2000 - at1000);
	assert_true(at2000 - at1000 < 1500);
	shutdown(hog.fd, SHUT_RDWR);
	pthread_join(thread, NULL);
	client_close(&hog);
	client_close(&other);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_results_not_read_stop_the_reading,
		    teardown),
		cmocka_unit_test_teardown(test_waits_answered_as_the_client_reads,
		    teardown),
		cmocka_unit_test_teardown(test_lists_not_read_stop_the_reading,
		    teardown),
		cmocka_unit_test_teardown(test_a_watcher_that_does_not_read_is_disconnected,
		    teardown),
		cmocka_unit_test_teardown(test_a_stream_with_a_large_id_is_bounded,
		    teardown),
		cmocka_unit_test_teardown(test_results_held_are_bounded_by_max_result_bytes,
		    teardown),
		cmocka_unit_test_teardown(test_arguments_waiting_count_in_max_result_bytes,
		    teardown),
		cmocka_unit_test_teardown(test_clients_gone_while_waiting_are_dropped,
		    teardown),
		cmocka_unit_test_teardown(
		    test_many_waits_on_one_job_are_dropped_with_their_client,
		    teardown),
		cmocka_unit_test_teardown(
		    test_a_list_over_many_jobs_lets_the_loop_go_on, teardown),
		cmocka_unit_test_teardown(test_lists_go_on_while_the_jobs_go,
		    teardown),
		cmocka_unit_test_teardown(test_lists_of_a_client_gone_stop,
		    teardown),
		cmocka_unit_test_teardown(test_an_unended_line_times_out, teardown),
		cmocka_unit_test_teardown(test_partial_lines_have_a_total_budget,
		    teardown),
		cmocka_unit_test_teardown(test_a_long_read_takes_turns, teardown),
		cmocka_unit_test_teardown(
		    test_a_client_writing_during_turns_goes_before_the_next,
		    teardown),
		cmocka_unit_test_teardown(test_a_readable_socket_is_no_second_turn,
		    teardown),
		cmocka_unit_test_teardown(test_a_refused_client_gets_its_busy_line,
		    teardown),
		cmocka_unit_test_teardown(test_watch_filters_are_capped, teardown),
		cmocka_unit_test_teardown(test_watch_filters_indexed_deliver_once,
		    teardown),
	};
	const char	*asan = getenv("ASAN_OPTIONS");
	char		 opts[1024];

	/* Freed memory held in ASan's quarantine is not the daemon's. */
	snprintf(opts, sizeof(opts), "%s%squarantine_size_mb=4",
	    asan != NULL ? asan : "", asan != NULL && *asan ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	return cmocka_run_group_tests_name("abuse", tests, NULL, NULL);
}
