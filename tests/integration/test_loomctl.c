/* loomctl against a real loomd: what it prints and how it exits. */
#include "autoconf.h"

#include <sys/wait.h>

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

static struct daemon	d;

struct run {
	int	status;		/* exit status */
	char	out[65536];
	char	err[8192];
};

/* Run loomctl -s SOCKET ARGS... and collect its output and exit status. */
static void
ctl(struct run *r, const char *first, ...)
{
	const char	*argv[32];
	int		 argc = 0, out[2], err[2], status;
	size_t		 no = 0, ne = 0;
	struct pollfd	 pfd[2];
	double		 deadline = now_seconds() + HARNESS_WAIT;
	va_list		 ap;
	ssize_t		 n;
	pid_t		 pid;

	argv[argc++] = daemon_bin("loomctl");
	argv[argc++] = "-s";
	argv[argc++] = d.sock;
	va_start(ap, first);
	for (argv[argc] = first; argv[argc] != NULL && argc < 30;
	    argv[++argc] = va_arg(ap, const char *))
		;
	va_end(ap);
	argv[argc] = NULL;

	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	if ((pid = fork()) == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	memset(r, 0, sizeof(*r));
	pfd[0].fd = out[0];
	pfd[1].fd = err[0];
	pfd[0].events = pfd[1].events = POLLIN;
	while (pfd[0].fd != -1 || pfd[1].fd != -1) {
		assert_true(now_seconds() < deadline);
		if (poll(pfd, 2, 1000) <= 0)
			continue;
		if (pfd[0].revents != 0) {
			n = read(out[0], r->out + no, sizeof(r->out) - 1 - no);
			if (n <= 0)
				pfd[0].fd = -1;
			else
				no += (size_t)n;
		}
		if (pfd[1].revents != 0) {
			n = read(err[0], r->err + ne, sizeof(r->err) - 1 - ne);
			if (n <= 0)
				pfd[1].fd = -1;
			else
				ne += (size_t)n;
		}
	}
	close(out[0]);
	close(err[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	r->status = WEXITSTATUS(status);
}

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
test_ping_says_version_and_exits_0(void **state)
{
	struct run	r;

	ctl(&r, "ping", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "loomd " PACKAGE_VERSION));
}

static void
test_submit_wait_exit_status_tells_the_jobs_fate(void **state)
{
	struct run	r;

	ctl(&r, "submit", "sleep", "seconds=0.1", "result=\"hi\"", "--wait", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "done"));
	assert_non_null(strstr(r.out, "\"hi\""));

	ctl(&r, "submit", "sleep", "seconds=0", "error=disk on fire", "--wait", NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.out, "failed: disk on fire"));

	ctl(&r, "submit", "sleep", "seconds=60", "--timeout", "0.1", "--wait", NULL);
	assert_int_equal(r.status, 3);
	assert_non_null(strstr(r.out, "timed_out"));
}

static void
test_submit_status_cancel_result_by_id(void **state)
{
	struct run	 r;
	char		 id[32];

	ctl(&r, "submit", "sleep", "seconds=60", "--name", "nap", NULL);
	assert_int_equal(r.status, 0);
	assert_int_equal(sscanf(r.out, "%31s queued", id), 1);

	ctl(&r, "status", id, NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "running"));
	assert_non_null(strstr(r.out, "nap"));

	ctl(&r, "result", id, NULL);		/* not finished: refused */
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "invalid_state"));

	ctl(&r, "cancel", id, NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "cancelled"));

	ctl(&r, "result", id, NULL);		/* its fate: cancelled */
	assert_int_equal(r.status, 3);

	ctl(&r, "retry", id, NULL);		/* runs again, as attempt 2 */
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, id));
	ctl(&r, "cancel", id, NULL);
	assert_int_equal(r.status, 0);

	ctl(&r, "list", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "STATE"));
	assert_non_null(strstr(r.out, "nap"));
}

static void
test_json_prints_the_raw_answer(void **state)
{
	struct run	 r;
	json_t		*j;

	ctl(&r, "--json", "submit", "echo", "value=42", "--wait", NULL);
	assert_int_equal(r.status, 0);
	j = json_loads(r.out, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "job"),
	    "result")), 42);
	json_decref(j);
}

static void
test_watch_of_a_job_ends_when_it_does(void **state)
{
	struct run	 r;
	char		 id[32];

	ctl(&r, "submit", "sleep", "seconds=0.3", NULL);
	assert_int_equal(sscanf(r.out, "%31s", id), 1);
	ctl(&r, "watch", id, NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "done"));
}

static void
test_errors_exit_1_2_or_4(void **state)
{
	struct run	r;

	ctl(&r, "status", "987654", NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "not_found"));

	ctl(&r, "submit", NULL);
	assert_int_equal(r.status, 2);

	ctl(&r, "frobnicate", NULL);
	assert_int_equal(r.status, 2);

	ctl(&r, "submit", "sleep", "seconds=-1", NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "job.args.seconds"));

	ctl(&r, "-s", "/nonexistent/loomd.sock", "ping", NULL);
	assert_int_equal(r.status, 4);
}

static void
test_stats_prints_its_sections(void **state)
{
	struct run	r;

	ctl(&r, "stats", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "jobs"));
	assert_non_null(strstr(r.out, "executor"));
}

static void
test_workers_shows_each_worker_and_what_it_runs(void **state)
{
	struct client	 w;
	struct run	 r;
	json_t		*m;
	char		 id[32], *row;

	ctl(&r, "workers", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "no workers connected"));

	client_connect(&w, &d);
	m = client_call(&w, "{\"op\":\"worker.hello\",\"types\":[\"mail\"],"
	    "\"concurrency\":3,\"name\":\"postman\"}");
	assert_true(json_is_true(json_object_get(m, "ok")));
	json_decref(m);
	/* submit takes a type only the daemon knows. */
	ctl(&r, "submit", "mail", "to=a@example.org", NULL);
	assert_int_equal(r.status, 0);
	m = client_recv(&w, HARNESS_WAIT);
	snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(
	    json_object_get(json_object_get(m, "job"), "id")));
	assert_string_equal(json_str(json_object_get(m, "job"), "type"), "mail");
	json_decref(m);
	assert_non_null(strstr(r.out, id));

	ctl(&r, "workers", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "CONCURRENCY"));
	assert_non_null(row = strstr(r.out, "postman"));
	assert_non_null(strstr(row, "mail"));
	assert_non_null(strstr(row, id));
	assert_non_null(strstr(r.out, "waiting for a worker:\n  mail  0\n"));
	client_close(&w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_says_version_and_exits_0),
		cmocka_unit_test(test_submit_wait_exit_status_tells_the_jobs_fate),
		cmocka_unit_test(test_submit_status_cancel_result_by_id),
		cmocka_unit_test(test_json_prints_the_raw_answer),
		cmocka_unit_test(test_watch_of_a_job_ends_when_it_does),
		cmocka_unit_test(test_errors_exit_1_2_or_4),
		cmocka_unit_test(test_stats_prints_its_sections),
		cmocka_unit_test(test_workers_shows_each_worker_and_what_it_runs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
