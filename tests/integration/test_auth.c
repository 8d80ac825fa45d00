/*
 * Authentication and roles against a real loomd: tokens on TCP, the roles
 * of each op, a submit token's view of its own jobs only, the exec commands
 * a token may run, its share of max_jobs, max_result_ttl, the close after
 * wrong tokens and on an HTTP request, the refusal of TCP without tokens,
 * the owner of jobs across a restart, and owners' turns on the executor.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* Secrets, and their SHA-256 as the config gives them. */
#define READER		"reader-secret"
#define SUBMIT_A	"submit-a-secret"
#define SUBMIT_B	"submit-b-secret"
#define CONTROL		"control-secret"
#define ADMIN		"admin-secret"
#define WORKER		"worker-secret"

static const char tokens_conf[] =
	"loops = 1\n"
	"[command.ok]\nargv = /bin/true\n"
	"[command.other]\nargv = /bin/echo\n"
	"[token.reader]\nroles = read\nsecret_sha256 = "
	"f03319dee240faa729e0cfa7ab5ffd80a1d64a127e3643f239009abff6382914\n"
	"[token.a]\nroles = submit\ncommands = ok\nmax_jobs = 3\nsecret_sha256 = "
	"a6cdabfbcbf3eeadb3378be1850ab276aec69e6d27540fb619528e88b750b284\n"
	"[token.b]\nroles = submit\nsecret_sha256 = "
	"851fa1c2c45edb5012d4889e63b05757cd74074e1e2186e8260b5a3f5b193553\n"
	"[token.ctl]\nroles = control\nsecret_sha256 = "
	"94df0206b23e6b79237aac8eb448e7ae847a448ed888dc920933699f1e55b28e\n"
	"[token.root]\nroles = admin\nsecret_sha256 = "
	"16175223c8ddce5ace0493c948569c211b03c4c6bb3d3e484434999448cffe01\n"
	"[token.worker]\nroles = work\nsecret_sha256 = "
	"6fb46f7a92742970166379ed5195e79c4493a7cc5664280c039cfd4095ba5faf\n";

static struct daemon	d;

static int
setup(void **state)
{
	struct daemon_opts	opts = {
		.socket_activation = true,
		.config = tokens_conf,
	};

	daemon_start_with(&d, &opts);
	return 0;
}

static int
teardown(void **state)
{
	daemon_stop(&d);
	return 0;
}

/* A TCP connection that has proved this secret. */
static void
connect_as(struct client *c, const char *secret)
{
	json_t	*r;

	client_connect_tcp(c, &d);
	r = client_call(c, "{\"op\":\"auth\",\"token\":\"%s\"}", secret);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
}

/* The error code of one call ("" when it succeeded). */
static char *call_code(struct client *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static char *
call_code(struct client *c, const char *fmt, ...)
{
	static char	 code[64];
	char		 line[1024];
	va_list		 ap;
	json_t		*r;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	r = client_call(c, "%s", line);
	snprintf(code, sizeof(code), "%s", json_is_true(json_object_get(r, "ok")) ?
	    "" : reply_error_code(r));
	json_decref(r);
	return code;
}

static json_int_t
submit_sleep(struct client *c, const char *extra)
{
	json_t		*r;
	json_int_t	 id;

	r = client_call(c, "{\"op\":\"submit\",\"job\":{\"type\":\"sleep\","
	    "\"args\":{\"seconds\":600}%s}}", extra);
	assert_true(json_is_true(json_object_get(r, "ok")));
	id = reply_job_id(r);
	json_decref(r);
	return id;
}

static void
test_unauthenticated_tcp_may_only_ping_and_auth(void **state)
{
	struct client	 c;
	json_t		*r, *roles;

	client_connect_tcp(&c, &d);
	assert_string_equal(call_code(&c, "{\"op\":\"ping\"%s}", ""), "");
	assert_string_equal(call_code(&c, "{\"op\":\"status\",\"job\":1%s}", ""),
	    "unauthorized");
	assert_string_equal(call_code(&c, "{\"op\":\"submit\",\"job\":{\"type\":"
	    "\"echo\"}%s}", ""), "unauthorized");
	assert_string_equal(call_code(&c, "{\"op\":\"stats\"%s}", ""), "unauthorized");
	r = client_call(&c, "{\"op\":\"auth\",\"id\":7,\"token\":\"" SUBMIT_A "\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
	assert_string_equal(json_str(json_object_get(r, "auth"), "name"), "a");
	roles = json_object_get(json_object_get(r, "auth"), "roles");
	assert_int_equal(json_array_size(roles), 1);
	assert_string_equal(json_string_value(json_array_get(roles, 0)), "submit");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"echo\",\"args\":{\"value\":1}}}");
	assert_string_equal(reply_job_state(r), "done");
	assert_string_equal(json_str(reply_job(r), "owner"), "a");
	json_decref(r);
	client_close(&c);
	/* The Unix socket is admin by its file mode; its jobs are unix's. */
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"echo\"}}");
	assert_string_equal(json_str(reply_job(r), "owner"), "unix");
	json_decref(r);
	assert_true(daemon_log_contains(&d, "connection on the Unix socket from uid"));
	client_close(&c);
}

/* Each role does what the table says, and gets forbidden for the rest. */
static void
test_each_role_may_do_its_ops_only(void **state)
{
	struct client	 reader, sub, ctl, root, worker;
	json_int_t	 id;
	char		 job[64];
	json_t		*r;

	connect_as(&reader, READER);
	connect_as(&worker, WORKER);
	connect_as(&sub, SUBMIT_B);
	connect_as(&ctl, CONTROL);
	connect_as(&root, ADMIN);
	id = submit_sleep(&sub, "");
	snprintf(job, sizeof(job), "%lld", (long long)id);

	/* read: look at anything, change nothing. */
	assert_string_equal(call_code(&reader, "{\"op\":\"status\",\"job\":%s}",
	    job), "");
	assert_string_equal(call_code(&reader, "{\"op\":\"list\"%s}", ""), "");
	assert_string_equal(call_code(&reader, "{\"op\":\"stats\"%s}", ""), "");
	assert_string_equal(call_code(&reader, "{\"op\":\"event.get\",\"name\":"
	    "\"e\"%s}", ""), "");
	assert_string_equal(call_code(&reader, "{\"op\":\"submit\",\"job\":"
	    "{\"type\":\"echo\"}%s}", ""), "forbidden");
	assert_string_equal(call_code(&reader, "{\"op\":\"cancel\",\"job\":%s}",
	    job), "forbidden");
	assert_string_equal(call_code(&reader, "{\"op\":\"event.set\",\"name\":"
	    "\"e\"%s}", ""), "forbidden");
	r = client_call(&reader, "{\"op\":\"queue.pause\",\"name\":\"q\"}");
	assert_string_equal(reply_error_code(r), "forbidden");
	assert_non_null(strstr(json_str(json_object_get(r, "error"), "message"),
	    "queue.pause needs the role control; token reader has read"));
	json_decref(r);

	/* submit: no stats, no operator ops. */
	assert_string_equal(call_code(&sub, "{\"op\":\"stats\"%s}", ""), "forbidden");
	assert_string_equal(call_code(&sub, "{\"op\":\"retry\",\"job\":%s}", job),
	    "forbidden");
	assert_string_equal(call_code(&sub, "{\"op\":\"queue.resume\",\"name\":"
	    "\"q\"%s}", ""), "forbidden");

	/* control: operator ops and any job's cancel, no submit, no stats. */
	assert_string_equal(call_code(&ctl, "{\"op\":\"submit\",\"job\":"
	    "{\"type\":\"echo\"}%s}", ""), "forbidden");
	assert_string_equal(call_code(&ctl, "{\"op\":\"stats\"%s}", ""), "forbidden");
	assert_string_equal(call_code(&ctl, "{\"op\":\"queue.pause\",\"name\":"
	    "\"q\"%s}", ""), "");
	assert_string_equal(call_code(&ctl, "{\"op\":\"queue.resume\",\"name\":"
	    "\"q\"%s}", ""), "");
	assert_string_equal(call_code(&ctl, "{\"op\":\"event.set\",\"name\":"
	    "\"e\"%s}", ""), "");
	assert_string_equal(call_code(&ctl, "{\"op\":\"event.clear\",\"name\":"
	    "\"e\"%s}", ""), "");
	r = client_call(&ctl, "{\"op\":\"cancel\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	assert_string_equal(call_code(&ctl, "{\"op\":\"retry\",\"job\":%s}", job), "");
	assert_string_equal(call_code(&ctl, "{\"op\":\"cancel\",\"job\":%s}", job), "");

	/* work: the worker ops, nothing else; nobody else runs jobs. */
	assert_string_equal(call_code(&reader, "{\"op\":\"worker.hello\","
	    "\"types\":[\"mail\"]%s}", ""), "forbidden");
	assert_string_equal(call_code(&sub, "{\"op\":\"job.complete\",\"job\":"
	    "%s}", job), "forbidden");
	assert_string_equal(call_code(&worker, "{\"op\":\"submit\",\"job\":"
	    "{\"type\":\"echo\"}%s}", ""), "forbidden");
	assert_string_equal(call_code(&worker, "{\"op\":\"status\",\"job\":%s}",
	    job), "forbidden");
	assert_string_equal(call_code(&worker, "{\"op\":\"worker.hello\","
	    "\"types\":[\"mail\"]%s}", ""), "");
	assert_string_equal(call_code(&worker, "{\"op\":\"job.complete\",\"job\":"
	    "%s}", job), "invalid_state");

	/* admin: everything. */
	assert_string_equal(call_code(&root, "{\"op\":\"stats\"%s}", ""), "");
	assert_string_equal(call_code(&root, "{\"op\":\"submit\",\"job\":"
	    "{\"type\":\"exec\",\"args\":{\"command\":\"other\"}}%s}", ""), "");
	assert_string_equal(call_code(&root, "{\"op\":\"retry\",\"job\":%s}", job), "");
	assert_string_equal(call_code(&root, "{\"op\":\"cancel\",\"job\":%s}", job), "");
	client_close(&reader);
	client_close(&sub);
	client_close(&ctl);
	client_close(&root);
	client_close(&worker);
}

/* Three wrong tokens and the connection is closed; nothing logs a secret. */
static void
test_wrong_tokens_close_the_connection(void **state)
{
	struct client	 c;
	json_t		*r;
	int		 i;

	client_connect_tcp(&c, &d);
	for (i = 0; i < 3; i++) {
		r = client_call(&c, "{\"op\":\"auth\",\"token\":\"guess-%d\"}", i);
		assert_string_equal(reply_error_code(r), "unauthorized");
		json_decref(r);
	}
	assert_null(client_recv_or_eof(&c, HARNESS_WAIT));
	client_close(&c);
	assert_true(daemon_log_contains(&d, "auth with a wrong token (3 of 3)"));
	assert_true(daemon_log_contains(&d, "closed after 3 wrong tokens"));
	assert_true(daemon_log_contains(&d, "connection from 127.0.0.1:"));
	assert_false(daemon_log_contains(&d, "guess-"));
	/* A right one after two wrong ones resets the count. */
	client_connect_tcp(&c, &d);
	assert_string_equal(call_code(&c, "{\"op\":\"auth\",\"token\":\"%s\"}",
	    "nope"), "unauthorized");
	assert_string_equal(call_code(&c, "{\"op\":\"auth\",\"token\":\"%s\"}",
	    READER), "");
	assert_string_equal(call_code(&c, "{\"op\":\"stats\"%s}", ""), "");
	client_close(&c);
	assert_false(daemon_log_contains(&d, READER));
}

/* A submit token sees, cancels and watches its own jobs only. */
static void
test_a_submit_token_sees_only_its_own_jobs(void **state)
{
	struct client	 a, b, u;
	json_int_t	 mine, theirs, keyed;
	char		 job[64];
	json_t		*r, *jobs, *ev;
	size_t		 i;

	connect_as(&a, SUBMIT_A);
	connect_as(&b, SUBMIT_B);
	client_connect(&u, &d);
	mine = submit_sleep(&a, ",\"key\":\"nightly\"");
	snprintf(job, sizeof(job), "%lld", (long long)mine);
	/* Another's job does not exist, to b. */
	assert_string_equal(call_code(&b, "{\"op\":\"status\",\"job\":%s}", job),
	    "not_found");
	assert_string_equal(call_code(&b, "{\"op\":\"result\",\"job\":%s}", job),
	    "not_found");
	assert_string_equal(call_code(&b, "{\"op\":\"cancel\",\"job\":%s}", job),
	    "not_found");
	assert_string_equal(call_code(&b, "{\"op\":\"watch\",\"job\":%s}", job),
	    "not_found");
	/* Its key is its own: b's "nightly" is another job. */
	keyed = submit_sleep(&b, ",\"key\":\"nightly\"");
	assert_true(keyed != mine);
	theirs = submit_sleep(&b, "");
	r = client_call(&b, "{\"op\":\"list\"}");
	jobs = json_object_get(r, "jobs");
	assert_true(json_array_size(jobs) >= 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(jobs, 0),
	    "id")), theirs);
	for (i = 0; i < json_array_size(jobs); i++)
		assert_string_equal(json_str(json_array_get(jobs, i), "owner"), "b");
	json_decref(r);
	/* Its own it may cancel. */
	r = client_call(&b, "{\"op\":\"cancel\",\"id\":\"c\",\"job\":%lld}",
	    (long long)keyed);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	/* b may not wait for a's job either: its outcome would tell. */
	r = client_call(&b, "{\"op\":\"submit\",\"job\":{\"type\":\"echo\","
	    "\"after\":[%lld,%lld]}}", (long long)theirs, (long long)mine);
	assert_string_equal(reply_error_code(r), "not_found");
	assert_string_equal(reply_error_path(r), "job.after[1]");
	json_decref(r);
	/* a's own key gives a its own job back. */
	assert_int_equal(submit_sleep(&a, ",\"key\":\"nightly\""), mine);
	assert_string_equal(call_code(&a, "{\"op\":\"status\",\"job\":%s}", job), "");
	/* Watching everything, b hears of its own jobs alone. */
	assert_string_equal(call_code(&b, "{\"op\":\"watch\"%s}", ""), "");
	r = client_call(&u, "{\"op\":\"cancel\",\"job\":%lld}", (long long)mine);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	r = client_call(&u, "{\"op\":\"cancel\",\"job\":%lld}", (long long)theirs);
	json_decref(r);
	ev = client_recv(&b, HARNESS_WAIT);
	assert_int_equal(reply_job_id(ev), theirs);
	json_decref(ev);
	/* The Unix socket (admin) sees both, with their owners. */
	r = client_call(&u, "{\"op\":\"status\",\"job\":%lld}", (long long)keyed);
	assert_string_equal(json_str(reply_job(r), "owner"), "b");
	json_decref(r);
	client_close(&a);
	client_close(&b);
	client_close(&u);
}

/* exec only of the token's commands, in composites too. */
static void
test_a_token_runs_only_its_commands(void **state)
{
	struct client	 a, b;
	json_t		*r;

	connect_as(&a, SUBMIT_A);
	connect_as(&b, SUBMIT_B);
	r = client_call(&a, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"exec\",\"args\":{\"command\":\"ok\"}}}");
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	r = client_call(&a, "{\"op\":\"submit\",\"job\":{\"type\":\"exec\","
	    "\"args\":{\"command\":\"other\"}}}");
	assert_string_equal(reply_error_code(r), "forbidden");
	assert_string_equal(json_str(json_object_get(r, "error"), "message"),
	    "token a may not run command \"other\" (see its commands)");
	json_decref(r);
	r = client_call(&a, "{\"op\":\"submit\",\"jobs\":[{\"type\":\"echo\"},"
	    "{\"type\":\"gather\",\"args\":{\"jobs\":[{\"type\":\"exec\",\"args\":"
	    "{\"command\":\"ok\"}},{\"type\":\"sequence\",\"args\":{\"jobs\":[{"
	    "\"type\":\"exec\",\"args\":{\"command\":\"other\"}}]}}]}}]}");
	assert_string_equal(reply_error_code(r), "forbidden");
	assert_string_equal(reply_error_path(r), "jobs[1]");
	json_decref(r);
	/* b has no commands at all. */
	assert_string_equal(call_code(&b, "{\"op\":\"submit\",\"job\":{\"type\":"
	    "\"exec\",\"args\":{\"command\":\"%s\"}}}", "ok"), "forbidden");
	client_close(&a);
	client_close(&b);
}

/* A token's max_jobs is its own share (finished jobs count until they
 * expire: a daemon of its own); others go on. */
static void
test_a_token_has_its_share_of_jobs(void **state)
{
	struct daemon_opts	 opts = {
		.socket_activation = true,
		.config = tokens_conf,
	};
	struct daemon		 shared = d;
	struct client		 a, b;
	json_int_t		 ids[3];
	json_t			*r;
	int			 i;

	daemon_start_with(&d, &opts);
	connect_as(&a, SUBMIT_A);
	connect_as(&b, SUBMIT_B);
	for (i = 0; i < 3; i++)
		ids[i] = submit_sleep(&a, "");
	r = client_call(&a, "{\"op\":\"submit\",\"job\":{\"type\":\"echo\"}}");
	assert_string_equal(reply_error_code(r), "busy");
	assert_string_equal(json_str(json_object_get(r, "error"), "message"),
	    "too many jobs for token a (its max_jobs is 3); retry later");
	json_decref(r);
	assert_string_equal(call_code(&b, "{\"op\":\"submit\",\"job\":{\"type\":"
	    "\"echo\",\"ttl\":0%s}}", ""), "");
	for (i = 0; i < 3; i++) {
		r = client_call(&a, "{\"op\":\"cancel\",\"job\":%lld}",
		    (long long)ids[i]);
		json_decref(r);
	}
	client_close(&a);
	client_close(&b);
	daemon_stop(&d);
	d = shared;
}

/* An HTTP request on the port is closed before its body is read. */
static void
test_an_http_request_is_closed_unread(void **state)
{
	static const char body[] = "{\"op\":\"submit\",\"job\":{\"type\":\"echo\","
	    "\"key\":\"from-a-browser\"}}\n";
	static const char *const open_tcp[] = { "-o", "auth_tcp=none", NULL };
	struct daemon_opts	 opts = { .socket_activation = true,
				    .extra = open_tcp };
	struct daemon		 own;
	struct client		 c;
	char			 req[512];
	json_t			*r;

	daemon_start_with(&own, &opts);
	client_connect_tcp(&c, &own);
	snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
	    strlen(body), body);
	client_send_raw(&c, req, strlen(req));
	assert_null(client_recv_or_eof(&c, HARNESS_WAIT));
	client_close(&c);
	assert_true(daemon_log_contains(&own, "an HTTP request (POST) on the "
	    "protocol's port: closing"));
	/* No job ran: the list is empty. */
	client_connect(&c, &own);
	r = client_call(&c, "{\"op\":\"list\"}");
	assert_int_equal(json_array_size(json_object_get(r, "jobs")), 0);
	json_decref(r);
	/* A Host: line alone closes too. */
	client_close(&c);
	client_connect_tcp(&c, &own);
	client_send(&c, "Host: example\n");
	assert_null(client_recv_or_eof(&c, HARNESS_WAIT));
	client_close(&c);
	daemon_stop(&own);
}

/* TCP without tokens: loomd -t says what to do, and loomd will not start. */
static void
test_tcp_without_tokens_is_refused(void **state)
{
	char	 cmd[512], out[2048];
	FILE	*p;
	size_t	 n;

	snprintf(cmd, sizeof(cmd), "%s -t -c /dev/null -l 127.0.0.1:7433 2>&1",
	    daemon_bin("loomd"));
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(WEXITSTATUS(pclose(p)), 1);
	assert_non_null(strstr(out, "a TCP listener needs a [token.NAME] section, "
	    "since auth_tcp = token"));
	assert_non_null(strstr(out, "loomctl token new NAME"));
	assert_non_null(strstr(out, "auth_tcp = none"));
	/* The built-in default listens on the Unix socket only: valid. */
	snprintf(cmd, sizeof(cmd), "%s -t -c /dev/null 2>&1", daemon_bin("loomd"));
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(WEXITSTATUS(pclose(p)), 0);
}

/* max_result_ttl lowers a job's ttl. */
static void
test_max_result_ttl_caps_a_jobs_ttl(void **state)
{
	static const char *const cap[] = { "-o", "max_result_ttl=0.2", NULL };
	struct daemon_opts	 opts = { .extra = cap };
	struct daemon		 own;
	struct client		 c;
	json_int_t		 id;
	json_t			*r;
	double			 end = now_seconds() + HARNESS_WAIT;
	bool			 gone = false;

	daemon_start_with(&own, &opts);
	client_connect(&c, &own);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"echo\",\"ttl\":86400}}");
	id = reply_job_id(r);
	json_decref(r);
	while (!gone && now_seconds() < end) {
		r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
		gone = json_is_false(json_object_get(r, "ok"));
		json_decref(r);
		if (!gone)
			usleep(50000);	/* polling a clock, not a race */
	}
	assert_true(gone);
	client_close(&c);
	daemon_stop(&own);
}

/* The owner is in the journal: a restart keeps it. */
static void
test_the_owner_survives_a_restart(void **state)
{
	char			 dir[128];
	struct daemon_opts	 opts = {
		.socket_activation = true,
		.config = tokens_conf,
		.state_dir = dir,
	};
	struct daemon		 own;
	struct client		 c;
	json_int_t		 waiting, done;
	json_t			*r;

	state_dir_make(dir, sizeof(dir));
	daemon_start_with(&own, &opts);
	client_connect_tcp(&c, &own);
	r = client_call(&c, "{\"op\":\"auth\",\"token\":\"" SUBMIT_B "\"}");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"echo\","
	    "\"delay\":600,\"key\":\"k\"}}");
	waiting = reply_job_id(r);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"echo\"}}");
	done = reply_job_id(r);
	json_decref(r);
	client_close(&c);
	daemon_stop(&own);

	daemon_start_with(&own, &opts);
	client_connect(&c, &own);
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)waiting);
	assert_string_equal(json_str(reply_job(r), "owner"), "b");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"status\",\"job\":%lld}", (long long)done);
	assert_string_equal(json_str(reply_job(r), "owner"), "b");
	json_decref(r);
	/* Its key is still b's, not the Unix socket's. */
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"echo\","
	    "\"delay\":600,\"key\":\"k\"}}");
	assert_true(reply_job_id(r) != waiting);
	json_decref(r);
	client_close(&c);
	client_connect_tcp(&c, &own);
	r = client_call(&c, "{\"op\":\"auth\",\"token\":\"" SUBMIT_B "\"}");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"echo\","
	    "\"delay\":600,\"key\":\"k\"}}");
	assert_int_equal(reply_job_id(r), waiting);
	json_decref(r);
	client_close(&c);
	daemon_stop(&own);
	state_dir_remove(dir);
}

/* A reload that removes a token ends the rights of its connections. */
static void
test_a_reload_takes_a_removed_token_away(void **state)
{
	struct daemon_opts	 opts = {
		.socket_activation = true,
		.config = tokens_conf,
	};
	struct daemon		 own, shared = d;
	struct client		 reader, root;
	char			 conf[2048], *cut;

	daemon_start_with(&d, &opts);
	own = d;
	connect_as(&reader, READER);
	connect_as(&root, ADMIN);
	assert_string_equal(call_code(&reader, "{\"op\":\"stats\"%s}", ""), "");
	/* The same file without [token.reader]. */
	snprintf(conf, sizeof(conf), "%s", tokens_conf);
	assert_non_null(cut = strstr(conf, "[token.reader]"));
	memmove(cut, strstr(cut, "[token.a]"), strlen(strstr(cut, "[token.a]")) + 1);
	daemon_write_config(&own, conf);
	daemon_signal(&own, SIGHUP);
	free(daemon_notify_wait(&own, "RELOADING=1"));
	free(daemon_notify_wait(&own, "READY=1"));
	assert_string_equal(call_code(&reader, "{\"op\":\"stats\"%s}", ""),
	    "unauthorized");
	assert_true(daemon_log_contains(&own, "token reader was removed or "
	    "changed by a reload"));
	assert_string_equal(call_code(&reader, "{\"op\":\"auth\",\"token\":\"%s\"}",
	    READER), "unauthorized");
	/* Other tokens keep theirs. */
	assert_string_equal(call_code(&root, "{\"op\":\"stats\"%s}", ""), "");
	client_close(&reader);
	client_close(&root);
	daemon_stop(&d);
	d = shared;
}

/* auth_timeout: a connection that never authenticates does not stay. */
static void
test_an_unauthenticated_connection_times_out(void **state)
{
	static const char *const quick[] = { "-o", "auth_timeout=0.3", NULL };
	struct daemon_opts	 opts = {
		.socket_activation = true,
		.config = tokens_conf,
		.extra = quick,
	};
	struct daemon		 shared = d;
	struct client		 idle, known, local;

	daemon_start_with(&d, &opts);
	client_connect_tcp(&idle, &d);
	connect_as(&known, READER);
	client_connect(&local, &d);
	assert_null(client_recv_or_eof(&idle, HARNESS_WAIT));
	assert_true(daemon_log_contains(&d, "not authenticated after 0.3s "
	    "(auth_timeout): closing"));
	/* Those with rights stay. */
	assert_string_equal(call_code(&known, "{\"op\":\"stats\"%s}", ""), "");
	assert_string_equal(call_code(&local, "{\"op\":\"stats\"%s}", ""), "");
	client_close(&idle);
	client_close(&known);
	client_close(&local);
	daemon_stop(&d);
	d = shared;
}

/*
 * Executor lanes are a queue and an owner: with one CPU thread, token b's
 * flood of pbkdf2 in queue q, then root's sumsq in the same queue.  Root's
 * job takes its turn beside the flood, done while most of it still waits;
 * with a lane per queue alone it would wait for all of it.
 */
#define LANE_FLOOD	300

static void
test_owners_take_turns_on_the_executor(void **state)
{
	static const char *const one[] = { "-o", "executor_threads=1", "-o",
	    "executor_queue=10000", "-o", "shutdown_grace=0", NULL };
	struct daemon_opts	 opts = {
		.socket_activation = true,
		.config = tokens_conf,
		.extra = one,
	};
	struct daemon		 shared = d;
	struct client		 b, root;
	char			*batch, *p;
	json_t			*r, *jobs;
	json_int_t		 last;
	int			 i;

	daemon_start_with(&d, &opts);
	connect_as(&b, SUBMIT_B);
	connect_as(&root, ADMIN);
	p = batch = malloc(LANE_FLOOD * 128 + 64);
	assert_non_null(batch);
	p += sprintf(p, "{\"op\":\"submit\",\"jobs\":[");
	for (i = 0; i < LANE_FLOOD; i++)
		p += sprintf(p, "%s{\"type\":\"pbkdf2\",\"queue\":\"q\","
		    "\"args\":{\"password\":\"p\",\"salt\":\"s\","
		    "\"iterations\":20000}}", i ? "," : "");
	sprintf(p, "]}");
	r = client_call(&b, "%s", batch);
	free(batch);
	jobs = json_object_get(r, "jobs");
	assert_int_equal(json_array_size(jobs), LANE_FLOOD);
	last = json_integer_value(json_object_get(json_array_get(jobs,
	    LANE_FLOOD - 1), "id"));
	json_decref(r);
	r = client_call(&root, "{\"op\":\"submit\",\"wait\":true,\"job\":{"
	    "\"type\":\"sumsq\",\"queue\":\"q\",\"args\":{\"n\":1000}}}");
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	r = client_call(&root, "{\"op\":\"status\",\"job\":%lld}",
	    (long long)last);
	assert_string_equal(reply_job_state(r), "running");
	json_decref(r);
	client_close(&b);
	client_close(&root);
	daemon_stop(&d);
	d = shared;
}

/* unix_socket_roles: the socket's trust can be less than admin, or none. */
static void
test_the_unix_socket_has_its_roles(void **state)
{
	static const char *const readonly[] = {
		"-o", "unix_socket_roles=read", NULL,
	};
	static const char *const none[] = { "-o", "unix_socket_roles=", NULL };
	struct daemon_opts	 opts = { .config = tokens_conf, .extra = readonly };
	struct daemon		 own;
	struct client		 c;

	daemon_start_with(&own, &opts);
	client_connect(&c, &own);
	assert_string_equal(call_code(&c, "{\"op\":\"stats\"%s}", ""), "");
	assert_string_equal(call_code(&c, "{\"op\":\"submit\",\"job\":{\"type\":"
	    "\"echo\"}%s}", ""), "forbidden");
	/* A token's roles replace the socket's. */
	assert_string_equal(call_code(&c, "{\"op\":\"auth\",\"token\":\"%s\"}",
	    SUBMIT_A), "");
	assert_string_equal(call_code(&c, "{\"op\":\"submit\",\"job\":{\"type\":"
	    "\"echo\"}%s}", ""), "");
	assert_string_equal(call_code(&c, "{\"op\":\"stats\"%s}", ""), "forbidden");
	client_close(&c);
	daemon_stop(&own);

	opts.extra = none;
	daemon_start_with(&own, &opts);
	client_connect(&c, &own);
	assert_string_equal(call_code(&c, "{\"op\":\"ping\"%s}", ""), "");
	assert_string_equal(call_code(&c, "{\"op\":\"list\"%s}", ""), "unauthorized");
	client_close(&c);
	daemon_stop(&own);
}

/* sh -c cmd: its output (stdout and stderr) and exit status. */
static int
run_shell(const char *cmd, char *out, size_t len)
{
	FILE	*p;
	size_t	 n;
	int	 status;

	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	status = pclose(p);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* loomctl sends its token from --token-file or LOOM_TOKEN. */
static void
test_loomctl_authenticates_with_its_token(void **state)
{
	char	secret[160], cmd[1024], out[4096];
	FILE	*f;

	snprintf(secret, sizeof(secret), "%s/reader.token", d.dir);
	assert_non_null(f = fopen(secret, "w"));
	fputs(READER "\n", f);
	assert_int_equal(fclose(f), 0);

	snprintf(cmd, sizeof(cmd), "%s -H 127.0.0.1:%d stats 2>&1",
	    daemon_bin("loomctl"), d.port);
	assert_int_equal(run_shell(cmd, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "unauthorized"));
	assert_non_null(strstr(out, "give a token with --token-file FILE or "
	    "LOOM_TOKEN"));
	snprintf(cmd, sizeof(cmd), "%s -H 127.0.0.1:%d --token-file %s --json "
	    "stats 2>&1", daemon_bin("loomctl"), d.port, secret);
	assert_int_equal(run_shell(cmd, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"stats\""));
	snprintf(cmd, sizeof(cmd), "LOOM_TOKEN=" SUBMIT_B " %s -H 127.0.0.1:%d "
	    "submit echo value=1 --wait --json 2>&1", daemon_bin("loomctl"), d.port);
	assert_int_equal(run_shell(cmd, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"owner\":\"b\""));
	snprintf(cmd, sizeof(cmd), "LOOM_TOKEN=wrong %s -H 127.0.0.1:%d ping 2>&1",
	    daemon_bin("loomctl"), d.port);
	assert_int_equal(run_shell(cmd, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "loomctl: auth: unauthorized: no token has "
	    "this secret"));
	unlink(secret);
}

/* loomctl token new: its lines let its secret in. */
static void
test_a_new_token_works_as_printed(void **state)
{
	struct daemon_opts	 opts = { .socket_activation = true };
	struct daemon		 own;
	struct client		 c;
	char			 cmd[512], out[4096], secret[128], conf[1024];
	const char		*lines;
	json_t			*r;

	snprintf(cmd, sizeof(cmd), "%s token new deploy", daemon_bin("loomctl"));
	assert_int_equal(run_shell(cmd, out, sizeof(out)), 0);
	assert_int_equal(sscanf(strchr(out, '\n') + 1, "%127s", secret), 1);
	assert_int_equal(strlen(secret), 64);
	assert_non_null(lines = strstr(out, "[token.deploy]\nsecret_sha256 = "));
	assert_null(strstr(lines, secret));
	snprintf(conf, sizeof(conf), "%s", lines);
	opts.config = conf;
	daemon_start_with(&own, &opts);
	client_connect_tcp(&c, &own);
	r = client_call(&c, "{\"op\":\"auth\",\"token\":\"%s\"}", secret);
	assert_string_equal(json_str(json_object_get(r, "auth"), "name"), "deploy");
	json_decref(r);
	client_close(&c);
	daemon_stop(&own);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unauthenticated_tcp_may_only_ping_and_auth),
		cmocka_unit_test(test_each_role_may_do_its_ops_only),
		cmocka_unit_test(test_wrong_tokens_close_the_connection),
		cmocka_unit_test(test_a_submit_token_sees_only_its_own_jobs),
		cmocka_unit_test(test_a_token_runs_only_its_commands),
		cmocka_unit_test(test_a_token_has_its_share_of_jobs),
		cmocka_unit_test(test_an_http_request_is_closed_unread),
		cmocka_unit_test(test_tcp_without_tokens_is_refused),
		cmocka_unit_test(test_max_result_ttl_caps_a_jobs_ttl),
		cmocka_unit_test(test_the_owner_survives_a_restart),
		cmocka_unit_test(test_a_reload_takes_a_removed_token_away),
		cmocka_unit_test(test_an_unauthenticated_connection_times_out),
		cmocka_unit_test(test_owners_take_turns_on_the_executor),
		cmocka_unit_test(test_the_unix_socket_has_its_roles),
		cmocka_unit_test(test_loomctl_authenticates_with_its_token),
		cmocka_unit_test(test_a_new_token_works_as_printed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
