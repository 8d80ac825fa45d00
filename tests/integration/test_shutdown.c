/*
 * SIGTERM and SIGINT drain: listeners close, submits are refused, running
 * jobs may finish within shutdown_grace and fail with shutting_down after it,
 * every waiting client gets its answer before its connection closes, and the
 * exit status is 0.  A second signal exits at once.
 *
 * Each test waits on events: the daemon's STOPPING=1 on its notify socket,
 * replies, end of file, the process's exit.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
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

static void
start(struct daemon *d, const char *grace)
{
	char			 arg[64];
	const char *const	 extra[] = { "-o", arg, NULL };
	struct daemon_opts	 opts = { .extra = extra, .notify = true };

	snprintf(arg, sizeof(arg), "shutdown_grace=%s", grace);
	daemon_start_with(d, &opts);
}

static void
stopping(struct daemon *d, int sig)
{
	daemon_signal(d, sig);
	free(daemon_notify_wait(d, "STOPPING=1"));
}

static void
assert_exits_zero(struct daemon *d)
{
	int	status = daemon_wait_exit(d);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Requests before this are in: requests on a connection run in order. */
static void
sync_connection(struct client *c, json_t **early)
{
	json_t	*r;

	client_send(c, "{\"op\":\"ping\",\"id\":\"sync\"}");
	for (;;) {
		r = client_recv(c, HARNESS_WAIT);
		if (json_is_string(json_object_get(r, "id")) &&
		    strcmp(json_string_value(json_object_get(r, "id")), "sync") == 0) {
			json_decref(r);
			return;
		}
		/* An answer that came first (the job was quick) is kept. */
		assert_non_null(early);
		assert_null(*early);
		*early = r;
	}
}

static void
assert_eof(struct client *c)
{
	json_t	*r = client_recv_or_eof(c, HARNESS_WAIT);

	if (r != NULL) {
		char	*text = json_dumps(r, 0);

		fail_msg("expected the connection to close, got %s", text);
	}
}

/* A watcher hears of the job's cancel, then its connection closes. */
static void
assert_watcher_hears_the_end(struct client *watcher, json_int_t id)
{
	json_t	*r;

	for (;;) {
		r = client_recv(watcher, HARNESS_WAIT);
		if (reply_job_id(r) == id &&
		    strcmp(reply_job_state(r), "cancelled") == 0) {
			json_decref(r);
			break;
		}
		json_decref(r);
	}
	assert_eof(watcher);
}

static bool
connectable(const struct daemon *d)
{
	struct sockaddr_un	sun;
	int			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool			ok;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, d->sock, strlen(d->sock) + 1);
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

static void
test_a_job_that_ends_within_the_grace_answers_done(void **state)
{
	struct daemon	 d;
	struct client	 c;
	json_t		*r = NULL;
	json_int_t	 id;

	start(&d, "60");
	client_connect(&c, &d);
	id = client_submit(&c, "{\"type\":\"sleep\",\"args\":{\"seconds\":1,\"result\":\"finished\"}}");
	client_send(&c, "{\"op\":\"result\",\"id\":\"w\",\"job\":%lld,\"wait\":true}",
	    (long long)id);
	sync_connection(&c, &r);
	stopping(&d, SIGTERM);
	if (r == NULL)
		r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(json_string_value(json_object_get(r, "id")), "w");
	assert_string_equal(reply_job_state(r), "done");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "job"),
	    "result")), "finished");
	json_decref(r);
	/* Answered, nothing else in flight: the connection closes. */
	assert_eof(&c);
	client_close(&c);
	assert_exits_zero(&d);
}

/*
 * While a job holds the drain open: a new connection is refused, an idle one
 * is closed, a submit is answered shutting_down, other requests are served,
 * and a watcher keeps its watch until the end.
 */
static void
test_draining_refuses_new_work_and_serves_waiting_clients(void **state)
{
	struct daemon	 d;
	struct client	 a, idle, watcher;
	json_t		*r, *w = NULL, *cancel = NULL;
	json_int_t	 id;
	const char	*rid;

	start(&d, "3600");
	client_connect(&a, &d);
	client_connect(&idle, &d);
	client_connect(&watcher, &d);
	json_decref(client_call(&idle, "{\"op\":\"ping\"}"));
	json_decref(client_call(&watcher, "{\"op\":\"watch\"}"));
	id = client_submit(&a, "{\"type\":\"sleep\",\"args\":{\"seconds\":3600}}");
	client_send(&a, "{\"op\":\"result\",\"id\":\"w\",\"job\":%lld,\"wait\":true}",
	    (long long)id);
	sync_connection(&a, NULL);

	stopping(&d, SIGTERM);
	assert_true(daemon_log_contains(&d, "SIGTERM: draining"));
	assert_false(connectable(&d));
	assert_eof(&idle);
	r = client_call(&a, "{\"op\":\"submit\",\"id\":\"late\",\"job\":{\"type\":\"echo\"}}");
	assert_string_equal(json_string_value(json_object_get(r, "id")), "late");
	assert_string_equal(reply_error_code(r), "shutting_down");
	json_decref(r);
	r = client_call(&a, "{\"op\":\"status\",\"id\":\"s\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "running");
	json_decref(r);

	/* The last job ends: both requests on it are answered, then EOF. */
	client_send(&a, "{\"op\":\"cancel\",\"id\":\"c\",\"job\":%lld}", (long long)id);
	while (w == NULL || cancel == NULL) {
		r = client_recv(&a, HARNESS_WAIT);
		rid = json_string_value(json_object_get(r, "id"));
		assert_non_null(rid);
		if (strcmp(rid, "w") == 0)
			w = r;
		else if (strcmp(rid, "c") == 0)
			cancel = r;
		else
			fail_msg("unexpected answer %s", rid);
	}
	assert_string_equal(reply_job_state(w), "cancelled");
	assert_string_equal(reply_job_state(cancel), "cancelled");
	json_decref(w);
	json_decref(cancel);
	assert_eof(&a);

	/* The watcher saw the job end before its connection closed. */
	assert_watcher_hears_the_end(&watcher, id);
	client_close(&a);
	client_close(&idle);
	client_close(&watcher);
	assert_exits_zero(&d);
}

/*
 * A watcher hears of the last job's end before its connection closes, even
 * when that end is slow to become durable: the fault shim's gate holds the
 * journal's fdatasync while the drain sees no job unfinished.
 */
static void
test_a_watcher_hears_the_last_end_before_its_connection_closes(void **state)
{
	struct daemon		 d;
	struct client		 a, watcher;
	const char		*env[4];
	const char *const	 extra[] = { "-o", "shutdown_grace=3600", "-o",
	    "journal_sync=always", NULL };
	struct daemon_opts	 opts = { .extra = extra, .notify = true,
	    .env = env, .state_dir = test_state_dir };
	json_t			*r;
	json_int_t		 id;
	int			 i;

	fault_gate_env(env);
	daemon_start_with(&d, &opts);
	client_connect(&a, &d);
	client_connect(&watcher, &d);
	json_decref(client_call(&watcher, "{\"op\":\"watch\"}"));
	id = client_submit(&a, "{\"type\":\"sleep\",\"args\":{\"seconds\":3600}}");
	/* A request in flight keeps the connection open through the drain. */
	client_send(&a, "{\"op\":\"result\",\"id\":\"w\",\"job\":%lld,\"wait\":true}",
	    (long long)id);
	sync_connection(&a, NULL);
	stopping(&d, SIGTERM);

	fault_gate_hold();
	client_send(&a, "{\"op\":\"cancel\",\"id\":\"c\",\"job\":%lld}",
	    (long long)id);
	assert_true(daemon_log_wait(&d, "no job is unfinished"));
	fault_gate_release();

	assert_watcher_hears_the_end(&watcher, id);
	for (i = 0; i < 2; i++) {
		r = client_recv(&a, HARNESS_WAIT);
		assert_string_equal(reply_job_state(r), "cancelled");
		json_decref(r);
	}
	assert_eof(&a);
	client_close(&a);
	client_close(&watcher);
	assert_exits_zero(&d);
}

/* Past the grace, a loop job, a CPU job and a composite all fail with
 * shutting_down, and each waiting client hears so. */
static void
test_jobs_past_the_grace_fail_with_shutting_down(void **state)
{
	struct daemon	 d;
	struct client	 c;
	json_t		*r, *err;
	int		 seen = 0, i;

	start(&d, "0.2");
	client_connect(&c, &d);
	client_send(&c, "{\"op\":\"submit\",\"id\":0,\"wait\":true,\"job\":"
	    "{\"type\":\"sleep\",\"args\":{\"seconds\":3600}}}");
	client_send(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":"
	    "{\"type\":\"sumsq\",\"args\":{\"n\":10000000000}}}");
	client_send(&c, "{\"op\":\"submit\",\"id\":2,\"wait\":true,\"job\":"
	    "{\"type\":\"gather\",\"args\":{\"jobs\":[{\"type\":\"sleep\",\"args\":"
	    "{\"seconds\":3600}},{\"type\":\"sleep\",\"args\":{\"seconds\":3600}}]}}}");
	sync_connection(&c, NULL);
	stopping(&d, SIGINT);
	for (i = 0; i < 3; i++) {
		r = client_recv(&c, HARNESS_WAIT);
		assert_true(json_is_true(json_object_get(r, "ok")));
		seen |= 1 << json_integer_value(json_object_get(r, "id"));
		assert_string_equal(reply_job_state(r), "failed");
		err = json_object_get(json_object_get(r, "job"), "error");
		assert_string_equal(json_string_value(json_object_get(err, "code")),
		    "shutting_down");
		json_decref(r);
	}
	assert_int_equal(seen, 7);
	assert_true(daemon_log_contains(&d, "grace of 0.2s is over"));
	assert_eof(&c);
	client_close(&c);
	assert_exits_zero(&d);
}

/*
 * One loop whose drain stops one job a callback (LOOMD_TEST_STOP_SLICE),
 * with no grace: the stop begins as soon as the drain does.
 */
static void
start_sliced(struct daemon *d, const char *const *more)
{
	const char	*extra[16] = { "-o", "loops=1", "-o", "shutdown_grace=0" };
	const char	*env[] = { "LOOMD_TEST_STOP_SLICE=1", NULL };
	struct daemon_opts opts = { .extra = extra, .notify = true, .env = env };
	size_t		 n = 4;

	while (more != NULL && *more != NULL && n < 15)
		extra[n++] = *more++;
	extra[n] = NULL;
	daemon_start_with(d, &opts);
}

/* The error of a `result` or `submit` answer's job: its code and message. */
static void
assert_shutting_down(const json_t *r)
{
	const json_t	*err = reply_error(r);

	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(err, "code"), "shutting_down");
	assert_string_equal(json_str(err, "message"),
	    "the daemon stopped before the job finished");
}

/*
 * Past the grace, a loop fails its jobs a slice at a time and serves its
 * other events in between: the answers to clients waiting on the jobs it
 * stopped go out while the rest are still being stopped, not after all of
 * them.  On one connection that watches everything and waits on every job,
 * the stop of job k (a watch event, written as it happens) is followed by
 * the answer on job k (a done callback, run on the loop's next pass) before
 * the stop of job k - 1.  When the whole loop's jobs were failed in one
 * callback, every event came before every answer.
 */
static void
test_a_loop_answers_its_clients_between_slices_of_the_stop(void **state)
{
	enum { N = 8 };
	struct daemon	 d;
	struct client	 c;
	json_t		*r;
	json_int_t	 ids[N];
	int		 events = 0, answers = 0, answers_before_last = 0, i;

	start_sliced(&d, NULL);
	client_connect(&c, &d);
	for (i = 0; i < N; i++)
		ids[i] = client_submit(&c, "{\"type\":\"echo\",\"delay\":3600}");
	/* After the submits: they are pending, and stay so until the stop. */
	json_decref(client_call(&c, "{\"op\":\"watch\"}"));
	for (i = 0; i < N; i++)
		client_send(&c, "{\"op\":\"result\",\"id\":%d,\"job\":%lld,"
		    "\"wait\":true}", i, (long long)ids[i]);
	sync_connection(&c, NULL);
	stopping(&d, SIGTERM);

	while (events < N || answers < N) {
		r = client_recv(&c, HARNESS_WAIT);
		if (json_object_get(r, "event") != NULL) {
			assert_string_equal(reply_job_state(r), "failed");
			/* Newest first. */
			assert_int_equal(reply_job_id(r), ids[N - 1 - events]);
			events++;
		} else {
			assert_shutting_down(r);
			answers++;
			if (events < N)
				answers_before_last++;
		}
		json_decref(r);
	}
	assert_int_equal(answers_before_last, N - 1);
	assert_true(daemon_log_wait(&d, "loop 0 stopped 8 jobs (8 slices"));
	assert_eof(&c);
	client_close(&c);
	assert_exits_zero(&d);
}

/*
 * Stopped in slices, composites end as when everything stopped at once:
 * the walk stops the children first (they are newer), and the parents,
 * reached after, fail shutting_down themselves, not as their children's
 * ends would have them (a gather failing with its child's error, a group
 * group_failed, a wait done).
 */
static void
test_composites_stopped_in_slices_fail_with_shutting_down(void **state)
{
	static const char *const kinds[] = { "gather", "group", "wait", "sequence" };
	struct daemon	 d;
	struct client	 c;
	json_t		*r;
	int		 seen = 0, i;

	start_sliced(&d, NULL);
	client_connect(&c, &d);
	for (i = 0; i < 4; i++)
		client_send(&c, "{\"op\":\"submit\",\"id\":%d,\"wait\":true,\"job\":"
		    "{\"type\":\"%s\",\"args\":{\"jobs\":[{\"type\":\"sleep\","
		    "\"args\":{\"seconds\":3600}},{\"type\":\"sleep\",\"args\":"
		    "{\"seconds\":3600}}]}}}", i, kinds[i]);
	sync_connection(&c, NULL);
	stopping(&d, SIGTERM);
	for (i = 0; i < 4; i++) {
		r = client_recv(&c, HARNESS_WAIT);
		seen |= 1 << json_integer_value(json_object_get(r, "id"));
		assert_shutting_down(r);
		json_decref(r);
	}
	assert_int_equal(seen, 15);
	assert_eof(&c);
	client_close(&c);
	assert_exits_zero(&d);
}

/*
 * While a loop stops its jobs no job starts there: one its queue lets
 * through (the slot of a job the walk stopped) fails shutting_down
 * without starting.  It finishes, and goes (ttl 0), while the walk stands
 * at it; the walk goes on at the job before.
 *
 * Queue q of one: r0 runs; q waits (it runs last); p is pending; r1 runs
 * once r0 is cancelled.  The walk stops r1 (newest): q gets the slot, and
 * on the next pass fails; the walk stops p, stands at q, and q goes.
 */
static void
test_a_job_let_through_during_the_stop_fails_without_starting(void **state)
{
	static const char *const more[] = { "-o", "queue.q.concurrency=1", NULL };
	struct daemon	 d;
	struct client	 c;
	json_t		*r;
	json_int_t	 r0, q, r1;

	start_sliced(&d, more);
	client_connect(&c, &d);
	r0 = client_submit(&c, "{\"type\":\"sleep\",\"queue\":\"q\","
	    "\"args\":{\"seconds\":3600}}");
	json_decref(client_wait_left(&c, r0, "queued"));
	q = client_submit(&c, "{\"type\":\"sleep\",\"queue\":\"q\","
	    "\"priority\":10,\"ttl\":0,\"args\":{\"seconds\":3600}}");
	(void)client_submit(&c, "{\"type\":\"echo\",\"delay\":3600,\"ttl\":0}");
	r1 = client_submit(&c, "{\"type\":\"sleep\",\"queue\":\"q\","
	    "\"priority\":-10,\"args\":{\"seconds\":3600}}");
	json_decref(client_call(&c, "{\"op\":\"cancel\",\"job\":%lld}",
	    (long long)r0));
	r = client_wait_left(&c, r1, "queued");
	assert_string_equal(json_str(r, "state"), "running");
	json_decref(r);
	client_send(&c, "{\"op\":\"result\",\"id\":\"q\",\"job\":%lld,"
	    "\"wait\":true}", (long long)q);
	sync_connection(&c, NULL);

	stopping(&d, SIGTERM);
	r = client_recv(&c, HARNESS_WAIT);
	assert_shutting_down(r);
	assert_int_equal(json_integer_value(json_object_get(reply_job(r),
	    "attempt")), 0);
	assert_null(json_object_get(reply_job(r), "started_at"));
	json_decref(r);
	/* r1 and p; q had gone when the walk came to it. */
	assert_true(daemon_log_wait(&d, "loop 0 stopped 2 jobs (3 slices"));
	assert_eof(&c);
	client_close(&c);
	assert_exits_zero(&d);
}

static void
test_a_second_signal_exits_at_once(void **state)
{
	struct daemon	 d;
	struct client	 c;

	start(&d, "3600");
	client_connect(&c, &d);
	client_send(&c, "{\"op\":\"submit\",\"id\":0,\"wait\":true,\"job\":"
	    "{\"type\":\"sleep\",\"args\":{\"seconds\":3600}}}");
	sync_connection(&c, NULL);
	stopping(&d, SIGTERM);
	daemon_signal(&d, SIGTERM);
	/* Well before the grace: the only way out within the harness's wait. */
	assert_exits_zero(&d);
	assert_eof(&c);
	client_close(&c);
}

/* Whether pid has gone: exited, or a zombie nobody reaps. */
static bool
process_gone(pid_t pid)
{
	char	 path[64], line[256], *p;
	FILE	*f;
	bool	 gone;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return true;
	gone = fgets(line, sizeof(line), f) != NULL &&
	    (p = strrchr(line, ')')) != NULL && p[1] == ' ' && p[2] == 'Z';
	fclose(f);
	return gone;
}

/*
 * A test that dies before it stops its daemon must not leave the daemon
 * running: the harness asks for it to be killed with its parent.
 */
static void
test_a_daemon_does_not_outlive_its_test(void **state)
{
	struct daemon	 d;
	char		 cmd[128];
	double		 deadline;
	pid_t		 child;
	int		 fds[2];

	assert_int_equal(pipe(fds), 0);
	if ((child = fork()) == 0) {
		close(fds[0]);
		daemon_start(&d, NULL);
		(void)!write(fds[1], &d, sizeof(d));
		_exit(0);	/* no daemon_stop: as a failed test would */
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &d, sizeof(d)), (ssize_t)sizeof(d));
	close(fds[0]);
	assert_int_equal(waitpid(child, NULL, 0), child);

	deadline = now_seconds() + HARNESS_WAIT;
	while (!process_gone(d.pid) && now_seconds() < deadline)
		usleep(10000);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d.dir);
	(void)!system(cmd);
	if (!process_gone(d.pid)) {
		kill(d.pid, SIGKILL);
		fail_msg("loomd %ld outlived its test", (long)d.pid);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_job_that_ends_within_the_grace_answers_done),
		cmocka_unit_test(test_draining_refuses_new_work_and_serves_waiting_clients),
		STATE_DIR_TEST(test_a_watcher_hears_the_last_end_before_its_connection_closes),
		cmocka_unit_test(test_jobs_past_the_grace_fail_with_shutting_down),
		cmocka_unit_test(test_a_loop_answers_its_clients_between_slices_of_the_stop),
		cmocka_unit_test(test_composites_stopped_in_slices_fail_with_shutting_down),
		cmocka_unit_test(test_a_job_let_through_during_the_stop_fails_without_starting),
		cmocka_unit_test(test_a_second_signal_exits_at_once),
		cmocka_unit_test(test_a_daemon_does_not_outlive_its_test),
	};

	return cmocka_run_group_tests_name("shutdown", tests, NULL, NULL);
}
