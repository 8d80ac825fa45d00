/* loomctl against a real loomd: what it prints and how it exits. */
#include "autoconf.h"

#include <sys/ioctl.h>
#include <sys/wait.h>

#include <signal.h>

#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <pty.h>

#include <cmocka.h>

#include "harness.h"

static struct daemon	d;

struct run {
	int	status;		/* exit status */
	char	out[65536];
	char	err[8192];
};

/* Start loomctl -s SOCKET ARGS... with in as its stdin (NULL: none). */
static pid_t
ctl_spawn(const char *in, va_list ap, int *outfd, int *errfd)
{
	const char	*argv[32];
	int		 argc = 0, out[2], err[2], inp[2];
	pid_t		 pid;

	argv[argc++] = daemon_bin("loomctl");
	argv[argc++] = "-s";
	argv[argc++] = d.sock;
	for (argv[argc] = va_arg(ap, const char *); argv[argc] != NULL && argc < 30;
	    argv[++argc] = va_arg(ap, const char *))
		;
	argv[argc] = NULL;

	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	assert_int_equal(pipe2(inp, O_CLOEXEC), 0);
	/* Small inputs: the pipe holds them all before the child reads. */
	if (in != NULL)
		assert_int_equal(write(inp[1], in, strlen(in)), (ssize_t)strlen(in));
	close(inp[1]);
	if ((pid = fork()) == 0) {
		dup2(inp[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		dup2(err[1], STDERR_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(inp[0]);
	close(out[1]);
	close(err[1]);
	*outfd = out[0];
	*errfd = err[0];
	return pid;
}

static pid_t
ctl_spawn_args(int *fds, ...)
{
	va_list	ap;
	pid_t	pid;

	va_start(ap, fds);
	pid = ctl_spawn(NULL, ap, &fds[0], &fds[1]);
	va_end(ap);
	return pid;
}

/* Read stdout and stderr until both end, unless until is found in stderr
 * first; then (or at once) reap the child if it has ended. */
static void
ctl_read(struct run *r, int *fds, size_t *lens, const char *until)
{
	struct pollfd	 pfd[2];
	double		 deadline = now_seconds() + HARNESS_WAIT;
	char		*buf[2] = { r->out, r->err };
	size_t		 size[2] = { sizeof(r->out), sizeof(r->err) };
	ssize_t		 n;
	int		 i;

	for (i = 0; i < 2; i++) {
		pfd[i].fd = fds[i];
		pfd[i].events = POLLIN;
	}
	while (pfd[0].fd != -1 || pfd[1].fd != -1) {
		if (until != NULL && strstr(r->err, until) != NULL)
			return;
		assert_true(now_seconds() < deadline);
		if (poll(pfd, 2, 1000) <= 0)
			continue;
		for (i = 0; i < 2; i++) {
			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			n = read(fds[i], buf[i] + lens[i], size[i] - 1 - lens[i]);
			if (n <= 0) {
				close(fds[i]);
				pfd[i].fd = fds[i] = -1;
			} else
				lens[i] += (size_t)n;
		}
	}
	assert_null(until);
}

static void
ctl_wait(struct run *r, pid_t pid)
{
	int	status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	r->status = WEXITSTATUS(status);
}

/* Run loomctl -s SOCKET ARGS... with stdin from in, and collect its output
 * and exit status. */
static void
ctl_in(struct run *r, const char *in, ...)
{
	int	 fds[2];
	size_t	 lens[2] = { 0, 0 };
	va_list	 ap;
	pid_t	 pid;

	memset(r, 0, sizeof(*r));
	va_start(ap, in);
	pid = ctl_spawn(in, ap, &fds[0], &fds[1]);
	va_end(ap);
	ctl_read(r, fds, lens, NULL);
	ctl_wait(r, pid);
}

#define ctl(r, ...)	ctl_in((r), NULL, __VA_ARGS__)

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
write_all(int fd, const char *text)
{
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

/* The id in "job 17 queued" on stderr, or -1. */
static long long
said_id(const struct run *r)
{
	const char	*p = strstr(r->err, "job ");
	long long	 id;

	if (p == NULL || sscanf(p, "job %lld", &id) != 1)
		return -1;
	return id;
}

static void
expect_state(long long id, const char *state)
{
	struct run	r;
	char		arg[32], want[64];

	snprintf(arg, sizeof(arg), "%lld", id);
	ctl(&r, "status", arg, NULL);
	assert_int_equal(r.status, 0);
	snprintf(want, sizeof(want), "state     %s\n", state);
	if (strstr(r.out, want) == NULL)
		fail_msg("job %lld is not %s:\n%s", id, state, r.out);
}

static void
cancel(long long id)
{
	struct run	r;
	char		arg[32];

	snprintf(arg, sizeof(arg), "%lld", id);
	ctl(&r, "cancel", arg, NULL);
	assert_int_equal(r.status, 0);
}

/* submit --wait names the job at once; a wait that runs out says that the
 * job goes on, and which it is (the server's answer names it too). */
static void
test_submit_wait_names_the_job_at_once_and_when_it_gives_up(void **state)
{
	struct run	 r;
	char		 want[64];
	long long	 id;
	json_t		*j;

	ctl(&r, "submit", "sleep", "seconds=60", "--wait", "--wait-timeout",
	    "200ms", NULL);
	assert_int_equal(r.status, 5);
	assert_true((id = said_id(&r)) > 0);
	assert_non_null(strstr(r.err, " queued"));
	snprintf(want, sizeof(want), "job %lld goes on", id);
	assert_non_null(strstr(r.err, want));
	assert_string_equal(r.out, "");
	expect_state(id, "running");
	cancel(id);

	/* --json prints the server's answer, whose detail names the job. */
	ctl(&r, "--json", "submit", "sleep", "seconds=60", "--wait",
	    "--wait-timeout", "0.2", NULL);
	assert_int_equal(r.status, 5);
	id = said_id(&r);
	j = json_loads(r.out, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_object_get(j, "error"), "detail"), "job")), id);
	json_decref(j);
	cancel(id);

	/* A refused submit is printed as the server answered it. */
	ctl(&r, "--json", "submit", "sleep", "seconds=-1", "--wait", NULL);
	assert_int_equal(r.status, 1);
	j = json_loads(r.out, JSON_DISABLE_EOF_CHECK, NULL);
	assert_non_null(j);
	assert_string_equal(json_str(json_object_get(j, "error"), "code"),
	    "bad_request");
	json_decref(j);
}

/* Ctrl-C stops the wait, not the job, and says so. */
static void
test_ctrl_c_stops_waiting_and_the_job_goes_on(void **state)
{
	struct run	 r;
	char		 want[64];
	int		 fds[2];
	size_t		 lens[2] = { 0, 0 };
	long long	 id;
	pid_t		 pid;

	memset(&r, 0, sizeof(r));
	pid = ctl_spawn_args(fds, "submit", "sleep", "seconds=60", "--wait",
	    (const char *)NULL);
	/* Interrupt once it has said what it waits for. */
	ctl_read(&r, fds, lens, " queued\n");
	id = said_id(&r);
	assert_true(id > 0);
	assert_int_equal(kill(pid, SIGINT), 0);
	ctl_read(&r, fds, lens, NULL);
	ctl_wait(&r, pid);
	assert_int_equal(r.status, 130);
	snprintf(want, sizeof(want), "stopped waiting; job %lld goes on", id);
	assert_non_null(strstr(r.err, want));
	expect_state(id, "running");
	cancel(id);
}

/* A batch from stdin: one id a line; a spec the server refuses names its
 * line, and nothing is submitted. */
static void
test_batch_submit_from_a_file_of_specs(void **state)
{
	struct run	 r, s;
	char		 path[] = "/tmp/test_loomctl.XXXXXX", *line, *save;
	long long	 ids[3];
	int		 fd, n = 0;

	ctl_in(&r, "{\"type\":\"echo\",\"args\":{\"value\":1}}\n"
	    "# a comment, then a blank line\n\n"
	    "{\"type\":\"sleep\",\"args\":{\"seconds\":0}}\n"
	    "{\"type\":\"echo\",\"name\":\"third\"}\n", "submit", "--file", "-",
	    NULL);
	assert_int_equal(r.status, 0);
	for (line = strtok_r(r.out, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		assert_true(n < 3);
		assert_int_equal(sscanf(line, "%lld", &ids[n]), 1);
		n++;
	}
	assert_int_equal(n, 3);
	assert_int_equal(ids[1], ids[0] + 1);
	assert_int_equal(ids[2], ids[0] + 2);
	for (n = 0; n < 3; n++) {
		char	arg[32];

		snprintf(arg, sizeof(arg), "%lld", ids[n]);
		ctl(&s, "result", arg, "--wait", NULL);
		assert_int_equal(s.status, 0);
	}
	assert_non_null(strstr(s.out, "third"));

	/* The server refuses line 4's spec: all or nothing. */
	ctl_in(&r, "{\"type\":\"echo\"}\n\n{\"type\":\"echo\"}\n"
	    "{\"type\":\"sleep\",\"args\":{\"seconds\":-1}}\n", "submit",
	    "--file", "-", NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "stdin:4: args.seconds: "));
	assert_non_null(strstr(r.err, "nothing was submitted"));
	assert_string_equal(r.out, "");

	/* From a file: a line that is not JSON is found before sending. */
	assert_true((fd = mkstemp(path)) != -1);
	write_all(fd, "{\"type\":\"echo\"}\n{\"type\":\n");
	close(fd);
	ctl(&r, "submit", "--file", path, NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, ":2: not a JSON job spec"));
	unlink(path);
}

static void
test_args_from_stdin_or_a_file(void **state)
{
	struct run	 r;
	char		 path[] = "/tmp/test_loomctl.XXXXXX", arg[64];
	int		 fd;

	ctl_in(&r, "{\"value\": {\"from\": \"stdin\", \"n\": [1, 2]}}\n",
	    "submit", "echo", "--args", "-", "--wait", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "{\"from\":\"stdin\",\"n\":[1,2]}"));

	assert_true((fd = mkstemp(path)) != -1);
	write_all(fd, "{\"value\":\"from a file\"}");
	close(fd);
	snprintf(arg, sizeof(arg), "@%s", path);
	ctl(&r, "submit", "echo", "--args", arg, "--wait", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"from a file\""));
	unlink(path);

	ctl_in(&r, "[1]", "submit", "echo", "--args", "-", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--args must be a JSON object"));
}

/* top without a terminal prints one frame: queues, and the running jobs. */
static void
test_top_once_prints_a_frame(void **state)
{
	struct run	 r;
	char		 row[64];
	long long	 id;

	ctl(&r, "submit", "sleep", "seconds=0", "error=top saw it", "--wait",
	    NULL);
	assert_int_equal(r.status, 1);
	ctl(&r, "submit", "sleep", "seconds=60", "--queue", "topq", "--name",
	    "napping", NULL);
	assert_int_equal(sscanf(r.out, "%lld", &id), 1);
	expect_state(id, "running");
	ctl(&r, "top", "--once", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "loomd " PACKAGE_VERSION));
	assert_non_null(strstr(r.out, "QUEUE "));
	assert_non_null(strstr(r.out, "\ntopq "));
	snprintf(row, sizeof(row), "%lld  sleep", id);
	assert_non_null(strstr(r.out, row));
	assert_non_null(strstr(r.out, "napping\n"));
	assert_null(strstr(r.out, "\033["));	/* no colours into a pipe */
	assert_non_null(strstr(r.out, "failed: top saw it\n"));

	/* Not a terminal: one frame even without --once. */
	ctl(&r, "top", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "napping"));
	cancel(id);
}

static void
test_queues_events_and_did_you_mean(void **state)
{
	struct run	 r;
	long long	 id;
	char		 arg[32];

	ctl(&r, "submit", "echo", "--queue", "reports", "--wait", NULL);
	assert_int_equal(r.status, 0);
	ctl(&r, "queue", "pause", "reports", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "reports paused: 0 waiting, 0 running\n");
	ctl(&r, "submit", "echo", "--queue", "reports", NULL);
	assert_int_equal(sscanf(r.out, "%lld", &id), 1);
	ctl(&r, "queue", "list", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "paused\n"));
	expect_state(id, "queued");
	ctl(&r, "queue", "resume", "reports", NULL);
	assert_int_equal(r.status, 0);
	snprintf(arg, sizeof(arg), "%lld", id);
	ctl(&r, "result", arg, "--wait", NULL);
	assert_int_equal(r.status, 0);

	/* A queue name near a known one is a typo. */
	ctl(&r, "queue", "pause", "reprots", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "did you mean 'reports'?"));
	ctl(&r, "submit", "slep", "seconds=1", NULL);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "unknown_type"));
	assert_non_null(strstr(r.err, "did you mean 'sleep'?"));
	ctl(&r, "lsit", NULL);
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "did you mean 'list'?"));

	ctl(&r, "event", "set", "go", NULL);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.out, "go set, 0 waiting\n");
	ctl(&r, "event", "clear", "go", NULL);
	assert_string_equal(r.out, "go clear, 0 waiting\n");
	ctl(&r, "event", "get", "go", NULL);
	assert_string_equal(r.out, "go clear, 0 waiting\n");
}

/* list shows a child's parent, and a running job's time so far. */
static void
test_list_shows_parents(void **state)
{
	struct run	 r;
	char		 want[64];
	long long	 id;

	ctl(&r, "submit", "gather", "--queue", "family", "--args",
	    "{\"jobs\":[{\"type\":\"echo\"}]}", "--wait", NULL);
	assert_int_equal(r.status, 0);
	assert_int_equal(sscanf(r.out, "id %lld", &id), 1);
	ctl(&r, "list", "--queue", "family", NULL);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "PARENT"));
	snprintf(want, sizeof(want), "echo    family  %lld ", id);
	if (strstr(r.out, want) == NULL)
		fail_msg("no child of %lld in:\n%s", id, r.out);
}

/* How top is ended on its terminal. */
enum top_end { TOP_Q, TOP_CTRL_C, TOP_SIGTERM };

/*
 * loomctl top on a pseudo-terminal until it has drawn a frame, then ended
 * as asked: its output and wait status in r and *wstatus; the terminal's
 * modes after it must be those before it, however it ended.
 */
static void
top_on_a_terminal(struct run *r, const char *no_color, enum top_end end,
    int *wstatus)
{
	struct winsize	 ws = { .ws_row = 30, .ws_col = 120 };
	struct termios	 before, after;
	struct pollfd	 pfd;
	double		 deadline = now_seconds() + HARNESS_WAIT;
	size_t		 len = 0;
	ssize_t		 n;
	pid_t		 pid;
	int		 master, slave, drawn = 0, waited = 0;

	memset(r, 0, sizeof(*r));
	assert_int_equal(openpty(&master, &slave, NULL, NULL, &ws), 0);
	assert_int_equal(tcgetattr(slave, &before), 0);
	if ((pid = fork()) == 0) {
		setsid();
		ioctl(slave, TIOCSCTTY, 0);
		dup2(slave, STDIN_FILENO);
		dup2(slave, STDOUT_FILENO);
		dup2(slave, STDERR_FILENO);
		if (no_color != NULL)
			setenv("NO_COLOR", no_color, 1);
		else
			unsetenv("NO_COLOR");
		execl(daemon_bin("loomctl"), "loomctl", "-s", d.sock, "top",
		    "--interval", "0.2", (char *)NULL);
		_exit(127);
	}
	pfd.fd = master;
	pfd.events = POLLIN;
	while (!waited) {
		assert_true(now_seconds() < deadline);
		if (poll(&pfd, 1, 100) > 0) {
			n = read(master, r->out + len, sizeof(r->out) - 1 - len);
			if (n > 0)
				len += (size_t)n;
		}
		if (!drawn && strstr(r->out, "QUEUE") != NULL) {
			drawn = 1;
			if (end == TOP_Q)
				assert_int_equal(write(master, "q", 1), 1);
			else if (end == TOP_CTRL_C)
				assert_int_equal(write(master, "\003", 1), 1);
			else
				assert_int_equal(kill(pid, SIGTERM), 0);
		}
		if (drawn && waitpid(pid, wstatus, WNOHANG) == pid)
			waited = 1;
	}
	/* What it wrote last, still in the terminal's buffer. */
	while (poll(&pfd, 1, 100) > 0 &&
	    (n = read(master, r->out + len, sizeof(r->out) - 1 - len)) > 0)
		len += (size_t)n;
	assert_int_equal(tcgetattr(slave, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	assert_int_equal(after.c_iflag, before.c_iflag);
	assert_int_equal(after.c_oflag, before.c_oflag);
	/* The alternate screen was entered and left. */
	assert_non_null(strstr(r->out, "\033[?1049h"));
	assert_non_null(strstr(r->out, "\033[?1049l"));
	close(master);
	close(slave);
}

/* top on a terminal: quits on q or Ctrl-C (as a key), dies of SIGTERM,
 * and leaves the terminal as it found it each time; paints unless
 * NO_COLOR is set. */
static void
test_top_on_a_terminal_restores_it(void **state)
{
	struct run	r;
	int		wstatus;

	top_on_a_terminal(&r, NULL, TOP_Q, &wstatus);
	assert_true(WIFEXITED(wstatus));
	assert_int_equal(WEXITSTATUS(wstatus), 0);
	assert_non_null(strstr(r.out, "\033[1mQUEUE\033[0m"));

	top_on_a_terminal(&r, "1", TOP_CTRL_C, &wstatus);
	assert_true(WIFEXITED(wstatus));
	assert_int_equal(WEXITSTATUS(wstatus), 0);
	assert_null(strstr(r.out, "\033[1m"));

	top_on_a_terminal(&r, "", TOP_SIGTERM, &wstatus);
	assert_true(WIFSIGNALED(wstatus));
	assert_int_equal(WTERMSIG(wstatus), SIGTERM);
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
		cmocka_unit_test(test_submit_wait_names_the_job_at_once_and_when_it_gives_up),
		cmocka_unit_test(test_ctrl_c_stops_waiting_and_the_job_goes_on),
		cmocka_unit_test(test_batch_submit_from_a_file_of_specs),
		cmocka_unit_test(test_args_from_stdin_or_a_file),
		cmocka_unit_test(test_top_once_prints_a_frame),
		cmocka_unit_test(test_queues_events_and_did_you_mean),
		cmocka_unit_test(test_list_shows_parents),
		cmocka_unit_test(test_top_on_a_terminal_restores_it),
		cmocka_unit_test(test_workers_shows_each_worker_and_what_it_runs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
