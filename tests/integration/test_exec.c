/* exec jobs seen from outside: argv, stdin and output, exits, process groups. */
#include "autoconf.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
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

#define BIG_INPUT	(5 * 1024 * 1024)

static struct daemon	d;
static char		dir[64];	/* where commands leave their pgid */
static char		opts[16][512];

static const char *
opt(int i, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(opts[i], sizeof(opts[i]), fmt, ap);
	va_end(ap);
	return opts[i];
}

/* loomd with the test's commands, and `more` options (NULL-ended) if any. */
static void
start_daemon(struct daemon *dd, const char *const more[])
{
	const char	*all[64];
	int		 n = 0, i;
	const char	*extra[] = {
		"-o", "kill_grace=0.5",
		"-o", "max_line_bytes=32M",
		"-o", "command.words.argv=/usr/bin/printf '<%s>'",
		"-o", "command.words.allow_args=yes",
		"-o", "command.cat.argv=/bin/cat",
		"-o", "command.cat.max_output=16M",
		"-o", "command.small.argv=/bin/cat",
		"-o", "command.small.max_output=1K",
		"-o", "command.fail.argv=/bin/sh -c 'echo to stdout; echo broken pipe "
		    "dreams >&2; exit 3'",
		"-o", "command.fds.argv=/bin/ls /proc/self/fd",
		"-o", "command.env.argv=/usr/bin/env",
		"-o", "command.env.allow_env=yes",
		"-o", "command.bytes.argv=/usr/bin/printf '\\377\\000A\\n'",
		/* There at start-up (loomd checks), removed by its test. */
		"-o", opt(2, "command.missing.argv=%s/vanishing", dir),
		"-o", "command.id.argv=/usr/bin/id -u",
		"-o", "command.id.user=nobody",
		"-o", "command.slow.argv=/bin/sleep 10",
		"-o", "command.slow.timeout=0.3",
		/* A group that ignores SIGTERM and whose grandchild holds the pipes. */
		"-o", opt(0, "command.stub.argv=/bin/sh -c \"trap '' TERM; "
		    "echo \\$\\$ > %s/pgid.tmp; mv %s/pgid.tmp %s/pgid; "
		    "sleep 100 & sleep 100\"", dir, dir, dir),
		/* Exits at once, but leaves a background process on its stdout. */
		"-o", opt(1, "command.bg.argv=/bin/sh -c \"echo \\$\\$ > %s/bgid; "
		    "sleep 100 & echo started\"", dir),
		NULL
	};

	/* The commands of the security tests, in a file: argv has its limits. */
	struct daemon_opts	 dopts = { .config =
		"[command.envlist]\n"
		"argv = /usr/bin/env\n"
		"allow_env = GREETING APP_*\n"
		"[command.opts]\n"
		"argv = /usr/bin/printf '<%s>'\n"
		"allow_args = yes\n"
		"allow_options = yes\n"
		"[command.pat]\n"
		"argv = /usr/bin/printf '<%s>'\n"
		"allow_args = yes\n"
		"args_pattern = [a-z0-9_]+(\\.[a-z0-9_]+)*\n"
	};
	char		 path[128];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/vanishing", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("#!/bin/sh\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0755), 0);
	for (i = 0; extra[i] != NULL; i++)
		all[n++] = extra[i];
	for (i = 0; more != NULL && more[i] != NULL && n < 63; i++)
		all[n++] = more[i];
	all[n] = NULL;
	dopts.extra = all;
	daemon_start_with(dd, &dopts);
}

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/loomexec.XXXXXX");
	assert_non_null(mkdtemp(dir));
	start_daemon(&d, NULL);
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[128];

	daemon_stop(&d);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	return 0;
}

/* Processes of the group that are alive (zombies are dead). */
static int
group_alive(pid_t pgid)
{
	DIR		*dp = opendir("/proc");
	struct dirent	*de;
	char		 path[300], buf[512], *p, state;
	long		 pgrp;
	int		 n = 0;
	FILE		*fp;

	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		if (fgets(buf, sizeof(buf), fp) != NULL &&
		    (p = strrchr(buf, ')')) != NULL &&
		    sscanf(p + 1, " %c %*d %ld", &state, &pgrp) == 2 &&
		    pgrp == pgid && state != 'Z' && state != 'X')
			n++;
		fclose(fp);
	}
	closedir(dp);
	return n;
}

static void
assert_group_gone(pid_t pgid, double within)
{
	double	deadline = now_seconds() + within;

	while (group_alive(pgid) > 0) {
		if (now_seconds() > deadline)
			fail_msg("process group %ld still has %d processes", (long)pgid,
			    group_alive(pgid));
		usleep(20000);
	}
}

static void
wait_group_size(pid_t pgid, int n)
{
	double	deadline = now_seconds() + HARNESS_WAIT;

	while (group_alive(pgid) != n) {
		if (now_seconds() > deadline)
			fail_msg("process group %ld has %d processes, not %d",
			    (long)pgid, group_alive(pgid), n);
		usleep(10000);
	}
}

/* The pid a command wrote to dir/name, waiting for it to appear. */
static pid_t
read_pid(const char *name)
{
	char	path[128];
	double	deadline = now_seconds() + HARNESS_WAIT;
	FILE	*fp;
	long	pid = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	while ((fp = fopen(path, "r")) == NULL) {
		if (now_seconds() > deadline)
			fail_msg("%s never appeared", path);
		usleep(10000);
	}
	assert_int_equal(fscanf(fp, "%ld", &pid), 1);
	fclose(fp);
	unlink(path);
	assert_true(pid > 1);
	return (pid_t)pid;
}

static void
test_args_are_argv_words_and_never_reach_a_shell(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"words\",\"args\":[\"a b\",\";rm -rf /\","
	    "\"$HOME\",\"*\",\"`id`\",\"\"]}}}");
	assert_string_equal(reply_job_state(r), "done");
	assert_string_equal(json_str(reply_result(r), "stdout"),
	    "<a b><;rm -rf /><$HOME><*><`id`><>");
	assert_int_equal(json_integer_value(json_object_get(reply_result(r),
	    "exit_code")), 0);
	assert_true(json_is_null(json_object_get(reply_result(r), "signal")));
	assert_true(json_is_false(json_object_get(reply_result(r), "stdout_truncated")));
	assert_true(json_number_value(json_object_get(reply_result(r), "elapsed")) >= 0);
	json_decref(r);
	client_close(&c);
}

/* A request line built with jansson, for inputs that need escaping. */
static json_t *
call_json(struct client *c, json_t *req)
{
	char	*line = json_dumps(req, JSON_COMPACT);

	assert_non_null(line);
	client_send_raw(c, line, strlen(line));
	client_send_raw(c, "\n", 1);
	free(line);
	json_decref(req);
	return client_recv(c, HARNESS_WAIT);
}

static void
test_large_stdin_round_trips_through_cat(void **state)
{
	struct client	 c;
	json_t		*r;
	char		*input;
	size_t		 i;

	/* Far more than a pipe holds: stdin and stdout flow at the same time. */
	input = malloc(BIG_INPUT);
	for (i = 0; i < BIG_INPUT; i++)
		input[i] = "abcdefghijklmnopqrstuvwxyz0123456789\n\"\\"[(i * 7 + i / 3) % 39];
	client_connect(&c, &d);
	r = call_json(&c, json_pack("{s:s, s:b, s:{s:s, s:{s:s, s:s%}}}", "op",
	    "submit", "wait", 1, "job", "type", "exec", "args", "command", "cat",
	    "stdin", input, (size_t)BIG_INPUT));
	assert_string_equal(reply_job_state(r), "done");
	assert_int_equal(json_string_length(json_object_get(reply_result(r), "stdout")),
	    BIG_INPUT);
	assert_memory_equal(json_str(reply_result(r), "stdout"), input, BIG_INPUT);
	assert_true(json_is_false(json_object_get(reply_result(r), "stdout_truncated")));
	json_decref(r);
	client_close(&c);
	free(input);
}

static void
test_output_past_max_output_is_dropped_and_flagged(void **state)
{
	struct client	 c;
	json_t		*r;
	char		*input;

	/* cat must not block on a full pipe once we stop keeping its output. */
	input = malloc(300000);
	memset(input, 'x', 300000);
	client_connect(&c, &d);
	r = call_json(&c, json_pack("{s:s, s:b, s:{s:s, s:{s:s, s:s%}}}", "op",
	    "submit", "wait", 1, "job", "type", "exec", "args", "command", "small",
	    "stdin", input, (size_t)300000));
	assert_string_equal(reply_job_state(r), "done");
	assert_int_equal(json_string_length(json_object_get(reply_result(r), "stdout")),
	    1024);
	assert_true(json_is_true(json_object_get(reply_result(r), "stdout_truncated")));
	assert_true(json_is_false(json_object_get(reply_result(r), "stderr_truncated")));
	json_decref(r);
	client_close(&c);
	free(input);
}

static void
test_without_stdin_the_command_reads_dev_null(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"cat\"}}}");
	assert_string_equal(reply_job_state(r), "done");
	assert_string_equal(json_str(reply_result(r), "stdout"), "");
	json_decref(r);
	client_close(&c);
}

static void
test_nonzero_exit_fails_with_the_result_in_detail(void **state)
{
	struct client	 c;
	json_t		*r, *detail;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"fail\"}}}");
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "exit_status");
	assert_non_null(strstr(json_str(reply_error(r), "message"), "status 3"));
	detail = json_object_get(reply_error(r), "detail");
	assert_int_equal(json_integer_value(json_object_get(detail, "exit_code")), 3);
	assert_string_equal(json_str(detail, "stderr"), "broken pipe dreams\n");
	assert_string_equal(json_str(detail, "stdout"), "to stdout\n");
	assert_null(reply_result(r));
	json_decref(r);
	client_close(&c);
}

static void
test_bad_commands_and_arguments_are_refused_at_submit(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"jobs\":[{\"type\":\"echo\"},"
	    "{\"type\":\"exec\",\"args\":{\"command\":\"/bin/sh\"}}]}");
	assert_string_equal(reply_error_code(r), "bad_request");
	assert_string_equal(reply_error_path(r), "jobs[1].args.command");
	json_decref(r);

	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"cat\",\"args\":[\"/etc/shadow\"]}}}");
	assert_string_equal(reply_error_code(r), "bad_request");
	assert_string_equal(reply_error_path(r), "job.args.args");
	json_decref(r);

	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"cat\",\"env\":{\"LD_PRELOAD\":\"x.so\"}}}}");
	assert_string_equal(reply_error_code(r), "bad_request");
	assert_string_equal(reply_error_path(r), "job.args.env");
	json_decref(r);

	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"words\",\"args\":[\"ok\",7]}}}");
	assert_string_equal(reply_error_code(r), "bad_request");
	assert_string_equal(reply_error_path(r), "job.args.args[1]");
	json_decref(r);

	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"env\",\"env\":{\"A=B\":\"x\"}}}}");
	assert_string_equal(reply_error_code(r), "bad_request");
	assert_string_equal(reply_error_path(r), "job.args.env.A=B");
	json_decref(r);

	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"exec\","
	    "\"args\":{}}}");
	assert_string_equal(reply_error_code(r), "bad_request");
	assert_string_equal(reply_error_path(r), "job.args.command");
	json_decref(r);
	client_close(&c);
}

/* Submit one exec job; the reply. */
static json_t *
submit_exec(struct client *c, const char *args)
{
	return client_call(c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"exec\",\"args\":%s}}", args);
}

static void
assert_refused(struct client *c, const char *args, const char *code,
    const char *path)
{
	json_t	*r = submit_exec(c, args);

	if (reply_error_code(r) == NULL)
		fail_msg("%s: taken", args);
	assert_string_equal(reply_error_code(r), code);
	assert_string_equal(reply_error_path(r), path);
	json_decref(r);
}

static void
assert_runs(struct client *c, const char *args, const char *out)
{
	json_t	*r = submit_exec(c, args);

	if (reply_error_code(r) != NULL)
		fail_msg("%s: %s", args, json_str(json_object_get(r, "error"),
		    "message"));
	assert_string_equal(reply_job_state(r), "done");
	if (strstr(json_str(reply_result(r), "stdout"), out) == NULL)
		fail_msg("%s: no %s in %s", args, out, json_str(reply_result(r),
		    "stdout"));
	json_decref(r);
}

/* Loader and interpreter variables, even with allow_env = yes. */
static void
test_env_never_admits_loader_and_interpreter_variables(void **state)
{
	static const char *const names[] = {
		"LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "PATH", "IFS",
		"BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS4", "GCONV_PATH",
		"LOCPATH", "NLSPATH", "HOSTALIASES", "RESOLV_HOST_CONF",
		"MALLOC_CHECK_", "GLIBC_TUNABLES", "PYTHONPATH", "PYTHONSTARTUP",
		"PERL5OPT", "PERL5LIB", "PERLLIB", "RUBYOPT", "NODE_OPTIONS",
	};
	struct client	 c;
	char		 args[256], path[128];
	size_t		 i;

	client_connect(&c, &d);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(args, sizeof(args), "{\"command\":\"env\",\"env\":"
		    "{\"OK\":\"1\",\"%s\":\"x\"}}", names[i]);
		snprintf(path, sizeof(path), "job.args.env.%s", names[i]);
		assert_refused(&c, args, "forbidden", path);
	}
	/* A list admits its names and prefixes only. */
	assert_runs(&c, "{\"command\":\"envlist\",\"env\":{\"GREETING\":\"hi\","
	    "\"APP_MODE\":\"fast\"}}", "APP_MODE=fast\n");
	assert_refused(&c, "{\"command\":\"envlist\",\"env\":{\"OTHER\":\"x\"}}",
	    "forbidden", "job.args.env.OTHER");
	assert_refused(&c, "{\"command\":\"envlist\",\"env\":{\"LD_PRELOAD\":"
	    "\"x\"}}", "forbidden", "job.args.env.LD_PRELOAD");
	client_close(&c);
}

/*
 * Options are refused unless the command allows them or its args_pattern
 * decides: tar --checkpoint-action=exec=CMD would run CMD.
 */
static void
test_args_that_are_options_need_the_commands_consent(void **state)
{
	struct client	c;

	client_connect(&c, &d);
	assert_refused(&c, "{\"command\":\"words\",\"args\":[\"ok\",\"a-b\","
	    "\"--checkpoint-action=exec=sh\"]}", "forbidden", "job.args.args[2]");
	assert_refused(&c, "{\"command\":\"words\",\"args\":[\"-\"]}",
	    "forbidden", "job.args.args[0]");
	assert_runs(&c, "{\"command\":\"words\",\"args\":[\"a-b\",\" -x\"]}",
	    "<a-b>< -x>");
	assert_runs(&c, "{\"command\":\"opts\",\"args\":[\"-x\",\"--y=z\"]}",
	    "<-x><--y=z>");
	/* The pattern must match each argument whole. */
	assert_runs(&c, "{\"command\":\"pat\",\"args\":[\"file.txt\",\"a\"]}",
	    "<file.txt><a>");
	assert_refused(&c, "{\"command\":\"pat\",\"args\":[\"ok\",\"-v\"]}",
	    "forbidden", "job.args.args[1]");
	assert_refused(&c, "{\"command\":\"pat\",\"args\":[\"../etc/passwd\"]}",
	    "forbidden", "job.args.args[0]");
	assert_refused(&c, "{\"command\":\"pat\",\"args\":[\"ok\\nrm\"]}",
	    "forbidden", "job.args.args[0]");
	client_close(&c);
}

static void
test_a_program_that_cannot_start_fails_the_job(void **state)
{
	struct client	 c;
	json_t		*r;
	char		 path[128];

	/* Gone since loomd started. */
	snprintf(path, sizeof(path), "%s/vanishing", dir);
	assert_int_equal(unlink(path), 0);
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"missing\"}}}");
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "failed");
	assert_non_null(strstr(json_str(reply_error(r), "message"), "No such file"));
	json_decref(r);
	client_close(&c);
}

static void
test_the_environment_is_clean_plus_what_the_job_sets(void **state)
{
	struct client	 c;
	json_t		*r;
	const char	*out;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"env\",\"env\":{\"GREETING\":\"hello world\","
	    "\"HOME\":\"/srv\"}}}}");
	assert_string_equal(reply_job_state(r), "done");
	out = json_str(reply_result(r), "stdout");
	assert_non_null(strstr(out, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
	    "/usr/bin:/sbin:/bin\n"));
	assert_non_null(strstr(out, "LANG="));
	assert_non_null(strstr(out, "GREETING=hello world\n"));
	assert_non_null(strstr(out, "HOME=/srv\n"));
	/* loomd's own environment (the harness gives it this) stays out. */
	assert_null(strstr(out, "LOOM_BUILDDIR"));
	assert_null(strstr(out, "HOME=/root"));
	json_decref(r);
	client_close(&c);
}

static void
test_no_descriptor_leaks_into_the_child(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	/* ls holds 3 open on /proc/self/fd itself; nothing else may be there. */
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"fds\"}}}");
	assert_string_equal(reply_job_state(r), "done");
	assert_string_equal(json_str(reply_result(r), "stdout"), "0\n1\n2\n3\n");
	json_decref(r);
	client_close(&c);
}

static void
test_output_that_is_not_utf8_is_text_or_base64(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"bytes\"}}}");
	assert_string_equal(reply_job_state(r), "done");
	assert_string_equal(json_str(reply_result(r), "stdout"), "\xef\xbf\xbd\xef\xbf\xbd" "A\n");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"bytes\",\"output\":\"base64\"}}}");
	assert_string_equal(reply_job_state(r), "done");
	assert_string_equal(json_str(reply_result(r), "stdout"), "/wBBCg==");
	assert_string_equal(json_str(reply_result(r), "stderr"), "");
	json_decref(r);
	client_close(&c);
}

static void
test_runs_as_the_configured_user(void **state)
{
	struct client	 c;
	json_t		*r;

	if (geteuid() != 0)
		skip();
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"id\"}}}");
	assert_string_equal(reply_job_state(r), "done");
	assert_string_equal(json_str(reply_result(r), "stdout"), "65534\n");
	json_decref(r);
	client_close(&c);
}

static void
test_job_timeout_kills_the_whole_group(void **state)
{
	struct client	 c;
	json_t		*r;
	pid_t		 pgid;
	double		 t0 = now_seconds();

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"exec\","
	    "\"timeout\":0.5,\"args\":{\"command\":\"stub\"}}}");
	assert_string_equal(reply_job_state(r), "timed_out");
	assert_string_equal(json_str(reply_error(r), "code"), "timeout");
	json_decref(r);
	assert_true(now_seconds() - t0 < 5);
	pgid = read_pid("pgid");
	/* They ignore SIGTERM: SIGKILL after kill_grace (0.5 s) gets them. */
	assert_group_gone(pgid, 5);
	client_close(&c);
}

static void
test_cancel_kills_the_whole_group(void **state)
{
	struct client	 c;
	json_t		*r;
	json_int_t	 id;
	pid_t		 pgid;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"stub\"}}}");
	id = reply_job_id(r);
	json_decref(r);
	pgid = read_pid("pgid");
	wait_group_size(pgid, 3);	/* sh and two sleeps */
	r = client_call(&c, "{\"op\":\"cancel\",\"job\":%lld,\"reason\":\"enough\"}",
	    (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	assert_group_gone(pgid, 5);
	client_close(&c);
}

static void
test_the_commands_own_timeout_fails_it_with_detail(void **state)
{
	struct client	 c;
	json_t		*r, *detail;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"slow\"}}}");
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "timeout");
	detail = json_object_get(reply_error(r), "detail");
	assert_true(json_is_null(json_object_get(detail, "exit_code")));
	assert_string_equal(json_str(detail, "signal"), "SIGTERM");
	json_decref(r);
	client_close(&c);
}

/*
 * The command's timeout (0.3 s) is only a default: a job's own, longer one
 * replaces it, so the job runs past 0.3 s and ends timed_out at its own.
 */
static void
test_a_jobs_own_timeout_replaces_the_commands(void **state)
{
	struct client	 c;
	json_t		*r, *job;

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"exec\","
	    "\"timeout\":1.0,\"args\":{\"command\":\"slow\"}}}");
	job = json_object_get(r, "job");
	assert_string_equal(reply_job_state(r), "timed_out");
	assert_true(json_number_value(json_object_get(job, "finished_at")) -
	    json_number_value(json_object_get(job, "started_at")) >= 0.9);
	json_decref(r);
	client_close(&c);
}

static void
test_background_processes_holding_output_do_not_hold_the_job(void **state)
{
	struct client	 c;
	json_t		*r;
	pid_t		 pgid;
	double		 t0 = now_seconds();

	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"bg\"}}}");
	assert_string_equal(reply_job_state(r), "done");
	assert_string_equal(json_str(reply_result(r), "stdout"), "started\n");
	json_decref(r);
	/* kill_grace is 0.5 s: the job waited about that long for EOF. */
	assert_true(now_seconds() - t0 < 5);
	pgid = read_pid("bgid");
	assert_group_gone(pgid, 5);
	client_close(&c);
}

static void
test_two_hundred_commands_run_at_once(void **state)
{
	struct client	 c;
	json_t		*r;
	char		 want[64];
	int		 i, seen[200] = { 0 };
	json_int_t	 id;

	client_connect(&c, &d);
	for (i = 0; i < 200; i++)
		client_send(&c, "{\"op\":\"submit\",\"id\":%d,\"wait\":true,\"job\":{"
		    "\"type\":\"exec\",\"args\":{\"command\":\"words\",\"args\":"
		    "[\"n%d\"]}}}", i, i);
	for (i = 0; i < 200; i++) {
		r = client_recv(&c, HARNESS_WAIT);
		id = json_integer_value(json_object_get(r, "id"));
		assert_true(id >= 0 && id < 200);
		assert_int_equal(seen[id], 0);
		seen[id] = 1;
		assert_string_equal(reply_job_state(r), "done");
		snprintf(want, sizeof(want), "<n%lld>", (long long)id);
		assert_string_equal(json_str(reply_result(r), "stdout"), want);
		json_decref(r);
	}
	client_close(&c);
}

static void
test_shutdown_kills_running_commands(void **state)
{
	struct daemon	 own;
	struct client	 c;
	json_t		*r;
	pid_t		 pgid;

	start_daemon(&own, NULL);
	client_connect(&c, &own);
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"stub\"}}}");
	assert_string_equal(reply_job_state(r), "queued");
	json_decref(r);
	pgid = read_pid("pgid");
	client_close(&c);
	daemon_stop(&own);	/* exits 0, with nothing leaked */
	assert_group_gone(pgid, 5);
}

static void
test_max_children_bounds_the_commands_alive(void **state)
{
	const char	*more[] = { "-o", "max_children=1", NULL };
	struct daemon	 own;
	struct client	 c;
	json_t		*r;
	json_int_t	 id;
	pid_t		 pgid;
	double		 deadline;

	start_daemon(&own, more);
	client_connect(&c, &own);
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"stub\"}}}");
	id = reply_job_id(r);
	json_decref(r);
	pgid = read_pid("pgid");
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"exec\",\"args\":{\"command\":\"cat\"}}}");
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "busy");
	json_decref(r);

	/* A cancelled command counts until its group is killed and reaped. */
	r = client_call(&c, "{\"op\":\"cancel\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	assert_group_gone(pgid, 5);
	deadline = now_seconds() + HARNESS_WAIT;
	for (;;) {
		r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{"
		    "\"type\":\"exec\",\"args\":{\"command\":\"cat\"}}}");
		if (strcmp(reply_job_state(r), "done") == 0)
			break;
		assert_string_equal(json_str(reply_error(r), "code"), "busy");
		assert_true(now_seconds() < deadline);
		json_decref(r);
		usleep(50000);
	}
	json_decref(r);
	client_close(&c);
	daemon_stop(&own);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_are_argv_words_and_never_reach_a_shell),
		cmocka_unit_test(test_large_stdin_round_trips_through_cat),
		cmocka_unit_test(test_output_past_max_output_is_dropped_and_flagged),
		cmocka_unit_test(test_without_stdin_the_command_reads_dev_null),
		cmocka_unit_test(test_nonzero_exit_fails_with_the_result_in_detail),
		cmocka_unit_test(test_bad_commands_and_arguments_are_refused_at_submit),
		cmocka_unit_test(test_env_never_admits_loader_and_interpreter_variables),
		cmocka_unit_test(test_args_that_are_options_need_the_commands_consent),
		cmocka_unit_test(test_a_program_that_cannot_start_fails_the_job),
		cmocka_unit_test(test_the_environment_is_clean_plus_what_the_job_sets),
		cmocka_unit_test(test_no_descriptor_leaks_into_the_child),
		cmocka_unit_test(test_output_that_is_not_utf8_is_text_or_base64),
		cmocka_unit_test(test_runs_as_the_configured_user),
		cmocka_unit_test(test_job_timeout_kills_the_whole_group),
		cmocka_unit_test(test_cancel_kills_the_whole_group),
		cmocka_unit_test(test_the_commands_own_timeout_fails_it_with_detail),
		cmocka_unit_test(test_a_jobs_own_timeout_replaces_the_commands),
		cmocka_unit_test(test_background_processes_holding_output_do_not_hold_the_job),
		cmocka_unit_test(test_two_hundred_commands_run_at_once),
		cmocka_unit_test(test_shutdown_kills_running_commands),
		cmocka_unit_test(test_max_children_bounds_the_commands_alive),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
