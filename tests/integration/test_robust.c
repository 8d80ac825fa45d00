/*
 * Bad input and hostile clients harm no one else: not the connection, not
 * the daemon, not other clients' jobs.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define MIB	(1024 * 1024)

static struct daemon	d;

static int
setup_default(void **state)
{
	daemon_start(&d, NULL);
	return 0;
}

static int
setup_limits(void **state)
{
	static const char *const extra[] = {
		"-o", "max_line_bytes=4194304", "-o", "max_connections=4",
		"-o", "max_jobs=3", NULL
	};

	daemon_start(&d, extra);
	return 0;
}

static int
setup_executor(void **state)
{
	static const char *const extra[] = {
		"-o", "executor_threads=1", "-o", "executor_queue=1", NULL
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

static void
test_three_mib_line_is_too_long_and_the_connection_goes_on(void **state)
{
	struct client	 c;
	char		*big = malloc(3 * MIB);
	json_t		*r;

	client_connect(&c, &d);
	memset(big, 'a', 3 * MIB);
	memcpy(big, "{\"op\":\"ping\",\"pad\":\"", 20);
	client_send_raw(&c, big, 3 * MIB);
	client_send_raw(&c, "\"}\n", 3);
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(reply_error_code(r), "line_too_long");
	json_decref(r);
	/* The rest of that line was discarded; the next line is read normally. */
	client_assert_pings(&c);
	free(big);
	client_close(&c);
}

static void
test_deeply_nested_json_is_bad_json(void **state)
{
	struct client	 c;
	size_t		 depth = 100000;
	char		*deep = malloc(2 * depth + 2);
	json_t		*r;

	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\n';
	client_connect(&c, &d);
	client_send_raw(&c, deep, 2 * depth + 1);
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(reply_error_code(r), "bad_json");
	json_decref(r);
	client_assert_pings(&c);
	free(deep);
	client_close(&c);
}

static void
test_crlf_and_blank_lines_are_accepted(void **state)
{
	static const char lines[] = "\n\r\n   \n{\"op\":\"ping\",\"id\":1}\r\n";
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	client_send_raw(&c, lines, sizeof(lines) - 1);
	r = client_recv(&c, HARNESS_WAIT);
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
	json_decref(r);
	client_close(&c);
}

/* Garbage, NUL bytes and half-written lines on other connections while a
 * good client's job runs to completion. */
static void
test_garbage_on_other_connections_harms_no_one(void **state)
{
	struct client	 good, bad[6];
	unsigned char	 noise[4096];
	json_t		*r;
	size_t		 i, j;
	unsigned int	 seed = 12345;

	client_connect(&good, &d);
	client_send(&good, "{\"op\":\"submit\",\"id\":\"good\",\"wait\":true,\"job\":"
	    "{\"type\":\"sleep\",\"args\":{\"seconds\":0.3,\"result\":\"intact\"}}}");
	for (i = 0; i < 6; i++) {
		client_connect(&bad[i], &d);
		for (j = 0; j < sizeof(noise); j++)
			noise[j] = (unsigned char)(rand_r(&seed) & 0xff);
		client_send_raw(&bad[i], noise, sizeof(noise));
	}
	/* Half-written lines, then the writers vanish. */
	client_send_raw(&bad[0], "{\"op\":\"submit\",\"job\":{\"type\":", 29);
	client_send_raw(&bad[1], "{\"op\":\"pi", 10);
	client_close(&bad[0]);
	client_close(&bad[1]);

	r = client_recv(&good, HARNESS_WAIT);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "good");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "job"),
	    "result")), "intact");
	json_decref(r);
	/* The noisy connections are still served: each answers a ping. */
	for (i = 2; i < 6; i++) {
		client_send_raw(&bad[i], "\n", 1);
		for (;;) {
			r = client_call(&bad[i], "{\"op\":\"ping\",\"id\":\"after\"}");
			if (json_object_get(r, "id") != NULL) {
				json_decref(r);
				break;
			}
			json_decref(r);	/* answers to the noise come first */
		}
		client_close(&bad[i]);
	}
	client_assert_pings(&good);
	client_close(&good);
}

/* A client that sends and never reads stops being read once its answers
 * pile up; the daemon's memory stays bounded and others are served. */
static void
test_a_client_that_does_not_read_is_not_read(void **state)
{
	struct client	 hog, other;
	static const char ping[] = "{\"op\":\"ping\",\"id\":1}\n";
	char		 chunk[sizeof(ping) * 1024];
	size_t		 sent = 0, answered = 0, off = 0, i;
	struct pollfd	 pfd;
	double		 deadline = now_seconds() + HARNESS_WAIT;
	json_t		*r;
	ssize_t		 n;

	for (i = 0; i < 1024; i++)
		memcpy(chunk + i * (sizeof(ping) - 1), ping, sizeof(ping) - 1);
	client_connect(&hog, &d);
	fcntl(hog.fd, F_SETFL, O_NONBLOCK);
	/* Write until the daemon stops taking input for a while. */
	for (;;) {
		pfd.fd = hog.fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 2000) == 0)
			break;
		n = send(hog.fd, chunk + off, 1024 * (sizeof(ping) - 1) - off, MSG_NOSIGNAL);
		assert_true(n > 0 || errno == EAGAIN);
		if (n > 0) {
			off += (size_t)n;
			if (off == 1024 * (sizeof(ping) - 1))
				off = 0;
			sent += (size_t)n;
		}
		assert_true(now_seconds() < deadline);
	}
	/*
	 * It read far more than the socket buffers hold, then stopped: its
	 * answers are capped at a few MiB, about 3.5 times the input here.
	 */
	assert_true(sent > MIB / 2);
	assert_true(sent < 32 * MIB);

	client_connect(&other, &d);
	client_assert_pings(&other);
	client_close(&other);

	/* Read everything back: every complete request got its answer. */
	fcntl(hog.fd, F_SETFL, 0);
	while (answered < sent / (sizeof(ping) - 1)) {
		r = client_recv(&hog, HARNESS_WAIT);
		assert_true(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
		answered++;
	}
	client_close(&hog);
}

static void
test_netcat_can_drive_a_submit(void **state)
{
	char	 cmd[512], out[4096];
	FILE	*p;
	size_t	 n;
	json_t	*r;

	snprintf(cmd, sizeof(cmd), "printf '%%s\\n' '{\"op\":\"submit\",\"id\":1,"
	    "\"wait\":true,\"job\":{\"type\":\"echo\",\"args\":{\"value\":\"via nc\"}}}' "
	    "| timeout 30 nc -N -U %s", d.sock);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	r = json_loads(out, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "job"),
	    "result")), "via nc");
	json_decref(r);
}

static void
test_three_mib_job_round_trips_under_a_larger_limit(void **state)
{
	struct client	 c;
	size_t		 len = 3 * MIB;
	char		*value = malloc(len + 1);
	json_t		*r;

	memset(value, 'z', len);
	value[len] = '\0';
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"ttl\":0,\"job\":"
	    "{\"type\":\"echo\",\"ttl\":0,\"args\":{\"value\":\"%s\"}}}", value);
	/* ttl belongs to the job, not the request: rejected, naming it. */
	assert_string_equal(reply_error_path(r), "ttl");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":2,\"wait\":true,\"job\":"
	    "{\"type\":\"echo\",\"ttl\":0,\"args\":{\"value\":\"%s\"}}}", value);
	assert_int_equal(json_string_length(json_object_get(json_object_get(r, "job"),
	    "result")), len);
	json_decref(r);
	free(value);
	client_close(&c);
}

static void
test_beyond_max_connections_a_client_gets_busy(void **state)
{
	struct client	 c[4], extra;
	json_t		*r;
	int		 i;

	for (i = 0; i < 4; i++) {
		client_connect(&c[i], &d);
		client_assert_pings(&c[i]);
	}
	client_connect(&extra, &d);
	r = client_recv(&extra, HARNESS_WAIT);
	assert_string_equal(reply_error_code(r), "busy");
	json_decref(r);
	assert_null(client_recv_or_eof(&extra, HARNESS_WAIT));
	client_close(&extra);
	for (i = 0; i < 4; i++)
		client_close(&c[i]);
}

/* Jobs with ttl 0 leave on the owner's next pass: wait until none is left. */
static void
wait_no_jobs(struct client *c)
{
	double	 deadline = now_seconds() + HARNESS_WAIT;
	json_t	*r;
	bool	 empty;

	for (;;) {
		r = client_call(c, "{\"op\":\"stats\",\"id\":\"s\"}");
		empty = json_integer_value(json_object_get(json_object_get(json_object_get(
		    r, "stats"), "jobs"), "total")) == 0;
		json_decref(r);
		if (empty)
			return;
		assert_true(now_seconds() < deadline);
		usleep(10000);
	}
}

static void
test_beyond_max_jobs_submit_is_busy(void **state)
{
	struct client	 c;
	json_t		*r;
	json_int_t	 ids[3];
	int		 i;

	client_connect_ready(&c, &d);
	wait_no_jobs(&c);
	for (i = 0; i < 3; i++) {
		r = client_call(&c, "{\"op\":\"submit\",\"id\":%d,\"job\":{\"type\":\"sleep\","
		    "\"args\":{\"seconds\":60}}}", i);
		ids[i] = reply_job_id(r);
		assert_true(ids[i] > 0);
		json_decref(r);
	}
	r = client_call(&c, "{\"op\":\"submit\",\"id\":9,\"job\":{\"type\":\"echo\"}}");
	assert_string_equal(reply_error_code(r), "busy");
	json_decref(r);
	for (i = 0; i < 3; i++)
		json_decref(client_call(&c, "{\"op\":\"cancel\",\"id\":%d,\"job\":%lld}", i,
		    (long long)ids[i]));
	client_close(&c);
}

static void
test_a_full_executor_queue_makes_cpu_submits_busy(void **state)
{
	struct client	 c;
	json_t		*r;
	json_int_t	 running, queued;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"job\":{\"type\":\"sumsq\","
	    "\"args\":{\"n\":10000000000}}}");
	running = reply_job_id(r);
	json_decref(r);
	/* Once the one thread has it, the queue of one has room for one. */
	assert_true(running > 0);
	json_decref(client_wait_left(&c, running, "queued"));
	r = client_call(&c, "{\"op\":\"submit\",\"id\":3,\"job\":{\"type\":\"sumsq\","
	    "\"args\":{\"n\":10000000000}}}");
	queued = reply_job_id(r);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"id\":4,\"job\":{\"type\":\"sumsq\","
	    "\"args\":{\"n\":5}}}");
	assert_string_equal(reply_error_code(r), "busy");
	json_decref(r);
	/* Loop jobs do not need the executor: still accepted. */
	r = client_call(&c, "{\"op\":\"submit\",\"id\":5,\"wait\":true,\"job\":"
	    "{\"type\":\"echo\",\"ttl\":0}}");
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	json_decref(client_call(&c, "{\"op\":\"cancel\",\"id\":6,\"job\":%lld}",
	    (long long)queued));
	json_decref(client_call(&c, "{\"op\":\"cancel\",\"id\":7,\"job\":%lld}",
	    (long long)running));
	client_close(&c);
}

int
main(void)
{
	const struct CMUnitTest defaults[] = {
		cmocka_unit_test(test_three_mib_line_is_too_long_and_the_connection_goes_on),
		cmocka_unit_test(test_deeply_nested_json_is_bad_json),
		cmocka_unit_test(test_crlf_and_blank_lines_are_accepted),
		cmocka_unit_test(test_garbage_on_other_connections_harms_no_one),
		cmocka_unit_test(test_a_client_that_does_not_read_is_not_read),
		cmocka_unit_test(test_netcat_can_drive_a_submit),
	};
	const struct CMUnitTest limits[] = {
		cmocka_unit_test(test_three_mib_job_round_trips_under_a_larger_limit),
		cmocka_unit_test(test_beyond_max_connections_a_client_gets_busy),
		cmocka_unit_test(test_beyond_max_jobs_submit_is_busy),
	};
	const struct CMUnitTest executor[] = {
		cmocka_unit_test(test_a_full_executor_queue_makes_cpu_submits_busy),
	};
	int	failed;

	failed = cmocka_run_group_tests_name("robust, default limits", defaults,
	    setup_default, teardown);
	failed += cmocka_run_group_tests_name("robust, small limits", limits,
	    setup_limits, teardown);
	failed += cmocka_run_group_tests_name("robust, a small executor", executor,
	    setup_executor, teardown);
	return failed;
}
