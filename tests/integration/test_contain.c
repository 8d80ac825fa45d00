/*
 * Containment: whatever an exec job's processes do (setsid, double fork),
 * none outlives the job, loomd's drain, or, after loomd was killed
 * outright, loomd's next start.  Each test has the command leave a process
 * that escaped its process group and write down its pid, then waits, with
 * a bound, on a pidfd for that process to exit.
 */
#include "autoconf.h"

#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

static char	dir[64];
static char	config[512];
static int	serial;

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/loomcontain.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(config, sizeof(config),
	    "kill_grace = 0.5\n"
	    "shutdown_grace = 0.2\n"
	    "[command.sh]\n"
	    "argv = /bin/sh -c\n"
	    "allow_args = yes\n");
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	return 0;
}

static void
start(struct daemon *d, const char *state_dir)
{
	struct daemon_opts	opts = { .config = config, .state_dir = state_dir };

	daemon_start_with(d, &opts);
}

/*
 * A shell script that leaves `sleep` running in a session of its own, as a
 * child of the script ("setsid") or orphaned at once by a double fork
 * ("fork"), writes its pid to a new file and waits for the file before it
 * goes on with `then`.  The file's path is put in path.
 */
static char *
escape_script(const char *how, const char *then, char *path, size_t len)
{
	char	*s;

	snprintf(path, len, "%s/pid.%d", dir, ++serial);
	if (strcmp(how, "setsid") == 0)
		assert_true(asprintf(&s, "setsid sh -c 'echo $$ > %s.tmp; mv %s.tmp "
		    "%s; exec sleep 600' </dev/null >/dev/null 2>&1 & "
		    "while [ ! -s %s ]; do sleep 0.01; done; %s", path, path, path,
		    path, then) > 0);
	else
		assert_true(asprintf(&s, "( setsid sh -c 'echo $$ > %s.tmp; mv %s.tmp %s; "
		    "exec sleep 600' </dev/null >/dev/null 2>&1 & ); "
		    "while [ ! -s %s ]; do sleep 0.01; done; %s", path, path, path,
		    path, then) > 0);
	return s;
}

static pid_t
read_pid(const char *path)
{
	FILE	*fp;
	long	 pid = 0;
	double	 deadline = now_seconds() + HARNESS_WAIT;

	while ((fp = fopen(path, "r")) == NULL) {
		if (now_seconds() > deadline)
			fail_msg("%s never appeared", path);
		usleep(10000);
	}
	assert_int_equal(fscanf(fp, "%ld", &pid), 1);
	fclose(fp);
	assert_true(pid > 1);
	return (pid_t)pid;
}

/* A pidfd on pid, after checking that it is the sleep we left; -1 if gone. */
static int
pidfd_of_sleep(pid_t pid)
{
	char	path[64], buf[256];
	FILE	*fp;
	size_t	 n;
	int	 fd;

	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1) {
		assert_int_equal(errno, ESRCH);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	if ((fp = fopen(path, "r")) != NULL) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		buf[n] = '\0';
		fclose(fp);
		/* sleep, or the shell before its exec; a zombie has none. */
		if (n > 0 && strcmp(buf, "sleep") != 0 && strcmp(buf, "sh") != 0)
			fail_msg("pid %ld is %s, not ours", (long)pid, buf);
	}
	return fd;
}

/* The event of pid's exit, within `within` seconds. */
static void
assert_exits(pid_t pid, double within)
{
	struct pollfd	pfd;
	int		fd = pidfd_of_sleep(pid);

	if (fd == -1)
		return;
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, (int)(within * 1000)) != 1) {
		close(fd);
		kill(pid, SIGKILL);
		fail_msg("process %ld outlived its job", (long)pid);
	}
	close(fd);
}

/* The process is alive for now: no exit event in `for_s` seconds. */
static void
assert_alive(pid_t pid)
{
	struct pollfd	pfd;
	int		fd = pidfd_of_sleep(pid);

	if (fd == -1)
		fail_msg("process %ld is gone", (long)pid);
	pfd.fd = fd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);
	close(fd);
}

static json_int_t
submit(struct client *c, const char *script, const char *more, bool wait,
    json_t **reply)
{
	json_t		*r, *args = json_pack("{s:s,s:[s]}", "command", "sh",
			    "args", script);
	char		*text = json_dumps(args, JSON_COMPACT);
	json_int_t	 id;

	r = client_call(c, "{\"op\":\"submit\",\"wait\":%s,\"job\":{\"type\":"
	    "\"exec\",%s\"args\":%s}}", wait ? "true" : "false", more, text);
	free(text);
	json_decref(args);
	if (reply_error_code(r) != NULL)
		fail_msg("submit: %s", json_str(json_object_get(r, "error"),
		    "message"));
	id = reply_job_id(r);
	if (reply != NULL)
		*reply = r;
	else
		json_decref(r);
	return id;
}

static void
test_a_setsid_process_goes_with_its_finished_job(void **state)
{
	struct daemon	 d;
	struct client	 c;
	json_t		*r;
	char		 path[128], *script;

	start(&d, NULL);
	client_connect(&c, &d);
	script = escape_script("setsid", "echo done", path, sizeof(path));
	submit(&c, script, "", true, &r);
	assert_string_equal(reply_job_state(r), "done");
	assert_string_equal(json_str(reply_result(r), "stdout"), "done\n");
	json_decref(r);
	free(script);
	assert_exits(read_pid(path), 10);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_a_double_forked_process_goes_with_its_failed_job(void **state)
{
	struct daemon	 d;
	struct client	 c;
	json_t		*r;
	char		 path[128], *script;

	start(&d, NULL);
	client_connect(&c, &d);
	script = escape_script("fork", "exit 3", path, sizeof(path));
	submit(&c, script, "", true, &r);
	assert_string_equal(reply_job_state(r), "failed");
	json_decref(r);
	free(script);
	assert_exits(read_pid(path), 10);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_escaped_processes_go_on_cancel_and_timeout(void **state)
{
	struct daemon	 d;
	struct client	 c;
	json_t		*r;
	json_int_t	 id;
	char		 path[128], path2[128], *script;
	pid_t		 pid;

	start(&d, NULL);
	client_connect(&c, &d);
	script = escape_script("setsid", "sleep 600", path, sizeof(path));
	id = submit(&c, script, "", false, NULL);
	free(script);
	pid = read_pid(path);
	assert_alive(pid);		/* the job runs: its processes stay */
	r = client_call(&c, "{\"op\":\"cancel\",\"job\":%lld}", (long long)id);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"result\",\"wait\":true,\"job\":%lld}",
	    (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	assert_exits(pid, 10);

	script = escape_script("fork", "sleep 600", path2, sizeof(path2));
	submit(&c, script, "\"timeout\":1,", true, &r);
	assert_string_equal(reply_job_state(r), "timed_out");
	json_decref(r);
	free(script);
	assert_exits(read_pid(path2), 10);
	client_close(&c);
	daemon_stop(&d);
}

static void
test_escaped_processes_go_when_loomd_drains(void **state)
{
	struct daemon	 d;
	struct client	 c;
	char		 path[128], *script;
	pid_t		 pid;

	start(&d, NULL);
	client_connect(&c, &d);
	script = escape_script("setsid", "sleep 600", path, sizeof(path));
	submit(&c, script, "", false, NULL);
	free(script);
	pid = read_pid(path);
	client_close(&c);
	daemon_stop(&d);		/* SIGTERM: drains, exits 0 */
	assert_exits(pid, 10);
}

/*
 * kill -9 of loomd: its direct children die with it (PR_SET_PDEATHSIG);
 * a process that left the session lives on, until loomd starts again on
 * the same state_dir and kills what carries its marker.
 */
static void
test_after_kill_9_the_next_start_kills_the_leftovers(void **state)
{
	struct daemon	 d;
	struct client	 c;
	char		 state_dir[128], path[128], main_path[128], *script;
	char		 then[512];
	pid_t		 pid, main_pid;

	state_dir_make(state_dir, sizeof(state_dir));
	start(&d, state_dir);
	client_connect(&c, &d);
	snprintf(main_path, sizeof(main_path), "%s/main.%d", dir, serial);
	snprintf(then, sizeof(then), "echo $$ > %s.tmp; mv %s.tmp %s; sleep 600",
	    main_path, main_path, main_path);
	script = escape_script("setsid", then, path, sizeof(path));
	submit(&c, script, "", false, NULL);
	free(script);
	pid = read_pid(path);
	main_pid = read_pid(main_path);
	client_close(&c);

	daemon_signal(&d, SIGKILL);
	(void)daemon_wait_exit(&d);
	assert_exits(main_pid, 10);
	assert_alive(pid);

	start(&d, state_dir);
	assert_exits(pid, 10);
	daemon_stop(&d);
	state_dir_remove(state_dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_setsid_process_goes_with_its_finished_job),
		cmocka_unit_test(test_a_double_forked_process_goes_with_its_failed_job),
		cmocka_unit_test(test_escaped_processes_go_on_cancel_and_timeout),
		cmocka_unit_test(test_escaped_processes_go_when_loomd_drains),
		cmocka_unit_test(test_after_kill_9_the_next_start_kills_the_leftovers),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
