/* loomctl's command line: words and options into the request it sends. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl_args.h"
#include "ctl_suggest.h"

#define MAX_ARGS	32

static char	errbuf[512];

/* Parse a NULL-ended list of words as if typed after "loomctl". */
static int
parse_env(struct ctl_invocation *inv, const char *env, ...)
{
	char		*argv[MAX_ARGS];
	const char	*word;
	va_list		 ap;
	int		 argc = 0;

	argv[argc++] = "loomctl";
	va_start(ap, env);
	while ((word = va_arg(ap, const char *)) != NULL) {
		assert_true(argc < MAX_ARGS - 1);
		argv[argc++] = (char *)word;
	}
	va_end(ap);
	argv[argc] = NULL;
	return ctl_parse(inv, argc, argv, env, errbuf, sizeof(errbuf));
}

#define parse(inv, ...)	parse_env((inv), NULL, __VA_ARGS__, (const char *)NULL)

/* The request must equal this JSON text. */
static void
assert_request(const struct ctl_invocation *inv, const char *want)
{
	json_t	*expected = json_loads(want, 0, NULL);
	char	*got;

	assert_non_null(expected);
	assert_non_null(inv->request);
	if (!json_equal(inv->request, expected)) {
		got = json_dumps(inv->request, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("request %s, wanted %s", got, want);
	}
	json_decref(expected);
}

static void
test_key_value_is_json_when_it_parses_else_a_string(void **state)
{
	struct ctl_invocation	inv;

	assert_int_equal(parse(&inv, "submit", "echo", "n=5", "f=1.5", "neg=-3",
	    "b=true", "z=null", "q=\"quoted\"", "o={\"a\":[1]}", "a=[1,2]",
	    "s=hello", "sp=two words", "e=", "eq=a=b", "half={\"a\":",
	    "big=99999999999999999999999"), 0);
	assert_int_equal(inv.command, CTL_SUBMIT);
	assert_request(&inv, "{\"op\":\"submit\",\"job\":{\"type\":\"echo\","
	    "\"args\":{\"n\":5,\"f\":1.5,\"neg\":-3,\"b\":true,\"z\":null,"
	    "\"q\":\"quoted\",\"o\":{\"a\":[1]},\"a\":[1,2],\"s\":\"hello\","
	    "\"sp\":\"two words\",\"e\":\"\",\"eq\":\"a=b\",\"half\":\"{\\\"a\\\":\","
	    "\"big\":\"99999999999999999999999\"}}}");
	assert_int_equal(inv.fate, 0);
	ctl_invocation_clear(&inv);
}

static void
test_parse_value_alone(void **state)
{
	json_t	*v;

	v = ctl_parse_value("42");
	assert_true(json_is_integer(v));
	json_decref(v);
	v = ctl_parse_value(" [ 1 ] ");
	assert_true(json_is_array(v));
	json_decref(v);
	v = ctl_parse_value("True");
	assert_string_equal(json_string_value(v), "True");
	json_decref(v);
	assert_null(ctl_parse_value("\xff\xfe"));
}

static void
test_args_json_is_merged_under_key_values(void **state)
{
	struct ctl_invocation	inv;

	assert_int_equal(parse(&inv, "submit", "sleep", "--args",
	    "{\"seconds\":1,\"result\":\"a\"}", "result=b", "error=x"), 0);
	assert_request(&inv, "{\"op\":\"submit\",\"job\":{\"type\":\"sleep\","
	    "\"args\":{\"seconds\":1,\"result\":\"b\",\"error\":\"x\"}}}");
	ctl_invocation_clear(&inv);

	/* No args at all is an empty object, the protocol's default. */
	assert_int_equal(parse(&inv, "submit", "echo"), 0);
	assert_request(&inv, "{\"op\":\"submit\",\"job\":{\"type\":\"echo\","
	    "\"args\":{}}}");
	ctl_invocation_clear(&inv);
}

static void
test_submit_options_fill_the_job_spec(void **state)
{
	struct ctl_invocation	inv;

	assert_int_equal(parse(&inv, "submit", "sleep", "seconds=1",
	    "--queue", "images", "--priority=-5", "--timeout", "1.5",
	    "--delay", "2m", "--retries", "3", "--retry-delay", "250ms",
	    "--ttl", "1h", "--name", "nap", "--key", "k1", "--lock", "db",
	    "--after", "1,2", "--after", "3", "--wait", "--wait-timeout", "30"),
	    0);
	assert_request(&inv, "{\"op\":\"submit\",\"wait\":true,\"timeout\":30,"
	    "\"job\":{\"type\":\"sleep\",\"args\":{\"seconds\":1},"
	    "\"queue\":\"images\",\"priority\":-5,\"timeout\":1.5,\"delay\":120,"
	    "\"retries\":3,\"retry_delay\":0.25,\"ttl\":3600,\"name\":\"nap\","
	    "\"key\":\"k1\",\"lock\":\"db\",\"after\":[1,2,3]}}");
	assert_int_equal(inv.fate, 1);
	ctl_invocation_clear(&inv);
}

static void
test_global_options_go_anywhere(void **state)
{
	struct ctl_invocation	inv;

	assert_int_equal(parse(&inv, "--json", "-s", "/tmp/x.sock", "ping"), 0);
	assert_int_equal(inv.command, CTL_PING);
	assert_int_equal(inv.json, 1);
	assert_string_equal(inv.target, "unix:/tmp/x.sock");
	assert_request(&inv, "{\"op\":\"ping\"}");
	ctl_invocation_clear(&inv);

	assert_int_equal(parse(&inv, "stats", "-H", "[::1]:7433", "--json"), 0);
	assert_string_equal(inv.target, "tcp:[::1]:7433");
	assert_int_equal(inv.json, 1);
	assert_request(&inv, "{\"op\":\"stats\"}");
	ctl_invocation_clear(&inv);

	assert_int_equal(parse(&inv, "-sloomd.sock", "--host=h:1", "ping"),
	    CTL_EXIT_USAGE);
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "--socket=loomd.sock", "ping"), 0);
	assert_string_equal(inv.target, "unix:loomd.sock");
	ctl_invocation_clear(&inv);

	/* TLS: the target as given, and the files for it. */
	assert_int_equal(parse(&inv, "-H", "tls://h:7434", "ping", "--ca-file",
	    "ca.pem", "--cert=c.pem", "--cert-key", "c.key"), 0);
	assert_string_equal(inv.target, "tls://h:7434");
	assert_string_equal(inv.ca_file, "ca.pem");
	assert_string_equal(inv.cert_file, "c.pem");
	assert_string_equal(inv.key_file, "c.key");
	ctl_invocation_clear(&inv);
}

static void
test_token_file_and_token_new(void **state)
{
	struct ctl_invocation	inv;

	assert_int_equal(parse(&inv, "-H", "h:1", "status", "3", "--token-file",
	    "/etc/ci.token"), 0);
	assert_string_equal(inv.token_file, "/etc/ci.token");
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "--token-file=t", "ping"), 0);
	assert_string_equal(inv.token_file, "t");
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "ping", "--token-file"), CTL_EXIT_USAGE);
	assert_string_equal(errbuf, "--token-file needs a value");
	ctl_invocation_clear(&inv);

	assert_int_equal(parse(&inv, "token", "new", "ci-2"), 0);
	assert_int_equal(inv.command, CTL_TOKEN_NEW);
	assert_string_equal(inv.token_name, "ci-2");
	assert_null(inv.request);
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "token", "old", "ci"), CTL_EXIT_USAGE);
	assert_string_equal(errbuf, "token: unknown subcommand 'old' (usage: "
	    "loomctl token new NAME)");
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "token", "new", "c.i"), CTL_EXIT_USAGE);
	assert_string_equal(errbuf, "token new: bad name 'c.i': use 1 to 64 "
	    "letters, digits, '_' or '-'");
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "token", "new", "unix"), CTL_EXIT_USAGE);
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "token", "new"), CTL_EXIT_USAGE);
	ctl_invocation_clear(&inv);
}

static void
test_the_target_defaults_to_the_environment_then_the_system_socket(void **state)
{
	struct ctl_invocation	inv;

	assert_int_equal(parse(&inv, "ping"), 0);
	assert_string_equal(inv.target, "unix:/run/loomd/loomd.sock");
	ctl_invocation_clear(&inv);
	assert_int_equal(parse_env(&inv, "", "ping", NULL), 0);
	assert_string_equal(inv.target, "unix:/run/loomd/loomd.sock");
	ctl_invocation_clear(&inv);
	assert_int_equal(parse_env(&inv, "127.0.0.1:7433", "ping", NULL), 0);
	assert_string_equal(inv.target, "127.0.0.1:7433");
	ctl_invocation_clear(&inv);
	assert_int_equal(parse_env(&inv, "./var/loomd.sock", "-s", "/x", "ping",
	    NULL), 0);
	assert_string_equal(inv.target, "unix:/x");
	ctl_invocation_clear(&inv);
}

static void
test_job_commands(void **state)
{
	struct ctl_invocation	inv;

	assert_int_equal(parse(&inv, "status", "17"), 0);
	assert_request(&inv, "{\"op\":\"status\",\"job\":17}");
	assert_int_equal(inv.fate, 0);
	ctl_invocation_clear(&inv);

	assert_int_equal(parse(&inv, "result", "17"), 0);
	assert_request(&inv, "{\"op\":\"result\",\"job\":17}");
	assert_int_equal(inv.fate, 1);
	ctl_invocation_clear(&inv);

	assert_int_equal(parse(&inv, "result", "17", "--wait", "--timeout", "30s"), 0);
	assert_request(&inv, "{\"op\":\"result\",\"job\":17,\"wait\":true,"
	    "\"timeout\":30}");
	assert_int_equal(inv.fate, 1);
	ctl_invocation_clear(&inv);

	assert_int_equal(parse(&inv, "cancel", "5", "--reason", "not needed"), 0);
	assert_request(&inv, "{\"op\":\"cancel\",\"job\":5,\"reason\":\"not needed\"}");
	assert_int_equal(inv.fate, 0);
	ctl_invocation_clear(&inv);
}

static void
test_list_and_watch(void **state)
{
	struct ctl_invocation	inv;

	assert_int_equal(parse(&inv, "list"), 0);
	assert_request(&inv, "{\"op\":\"list\"}");
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "list", "--state", "timed_out", "--queue",
	    "q", "--limit", "1000", "--before", "100"), 0);
	assert_request(&inv, "{\"op\":\"list\",\"state\":\"timed_out\","
	    "\"queue\":\"q\",\"limit\":1000,\"before\":100}");
	ctl_invocation_clear(&inv);

	assert_int_equal(parse(&inv, "watch"), 0);
	assert_request(&inv, "{\"op\":\"watch\"}");
	assert_int_equal(inv.watch_job, -1);
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "watch", "7"), 0);
	assert_request(&inv, "{\"op\":\"watch\",\"job\":7}");
	assert_int_equal(inv.watch_job, 7);
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "watch", "--queue", "q"), 0);
	assert_request(&inv, "{\"op\":\"watch\",\"queue\":\"q\"}");
	ctl_invocation_clear(&inv);
}

static void
test_raw_request_and_double_dash(void **state)
{
	struct ctl_invocation	inv;

	assert_int_equal(parse(&inv, "request", "{\"op\":\"event.get\",\"name\":\"go\"}"), 0);
	assert_int_equal(inv.command, CTL_REQUEST);
	assert_request(&inv, "{\"op\":\"event.get\",\"name\":\"go\"}");
	ctl_invocation_clear(&inv);

	/* After "--", words that look like options are key=value pairs. */
	assert_int_equal(parse(&inv, "submit", "echo", "--", "-x=1", "--wait=2"), 0);
	assert_request(&inv, "{\"op\":\"submit\",\"job\":{\"type\":\"echo\","
	    "\"args\":{\"-x\":1,\"--wait\":2}}}");
	assert_int_equal(inv.fate, 0);
	ctl_invocation_clear(&inv);
}

static void
test_usage_errors_exit_2_with_a_reason(void **state)
{
	static const struct {
		const char	*argv[8];
		const char	*why;
	} cases[] = {
		{ { NULL }, "no command given" },
		{ { "bogus" }, "unknown command 'bogus'" },
		{ { "status" }, "too few arguments to status" },
		{ { "status", "1", "2" }, "too many arguments to status" },
		{ { "ping", "extra" }, "too many arguments to ping" },
		{ { "status", "abc" }, "'abc' is not a job id" },
		{ { "status", "-1" }, "unknown option '-1'" },
		{ { "status", "99999999999999999999" }, "is not a job id" },
		{ { "submit" }, "submit needs a job type" },
		{ { "sumbit", "echo" }, "unknown command 'sumbit' (did you mean 'submit'?)" },
		{ { "--queu", "q", "list" }, "unknown option '--queu' (did you mean '--queue'?)" },
		{ { "--no-colour", "ping" }, "did you mean '--no-color'?" },
		{ { "queue" }, "too few arguments to queue" },
		{ { "queue", "lsit" }, "unknown queue command 'lsit' (did you mean 'list'?)" },
		{ { "queue", "stop", "q" }, "unknown queue command 'stop' (usage:" },
		{ { "queue", "pause" }, "queue pause needs a queue name" },
		{ { "queue", "list", "q" }, "queue list takes no name" },
		{ { "event", "sett", "go" }, "did you mean 'set'?" },
		{ { "event", "set" }, "too few arguments to event" },
		{ { "top", "--interval", "0" }, "--interval: '0' is not a duration from 100ms" },
		{ { "top", "x" }, "too many arguments to top" },
		{ { "list", "--once" }, "list does not take --once" },
		{ { "submit", "echo", "--stream" }, "--stream needs --wait" },
		{ { "submit", "echo", "--limits", "," }, "--limits needs at least one name" },
		{ { "submit", "echo", "--args", "@/nonexistent/args.json" },
		    "--args: cannot open /nonexistent/args.json" },
		{ { "submit", "echo", "--file", "x" }, "submit --file takes no job type" },
		{ { "submit", "--file", "x", "--wait" }, "submit --file does not take --wait" },
		{ { "submit", "--file", "/nonexistent/specs" }, "--file: cannot open" },
		{ { "submit", "" }, "the job type is empty" },
		{ { "submit", "echo", "value" }, "expected KEY=VALUE" },
		{ { "submit", "echo", "=1" }, "the key is empty" },
		{ { "submit", "echo", "k=\xff" }, "not valid UTF-8" },
		{ { "submit", "echo", "--args", "[1]" }, "--args must be a JSON object" },
		{ { "submit", "echo", "--args", "{" }, "--args: not valid JSON" },
		{ { "submit", "echo", "--priority", "x" }, "--priority: 'x' is not an integer" },
		{ { "submit", "echo", "--priority", "1.5" }, "not an integer" },
		{ { "submit", "echo", "--retries", "-1" }, "not an integer from 0" },
		{ { "submit", "echo", "--timeout", "0" }, "--timeout must be more than 0" },
		{ { "submit", "echo", "--timeout", "soon" }, "--timeout: 'soon' is not a duration" },
		{ { "submit", "echo", "--delay", "inf" }, "not a duration" },
		{ { "submit", "echo", "--delay", "-1" }, "--delay: '-1' is not a duration" },
		{ { "submit", "echo", "--ttl", "5y" }, "not a duration" },
		{ { "submit", "echo", "--wait-timeout", "1" }, "--wait-timeout needs --wait" },
		{ { "submit", "echo", "--queue" }, "--queue needs a value" },
		{ { "submit", "echo", "--wait=yes" }, "--wait takes no value" },
		{ { "submit", "echo", "--after", "1,x" }, "--after: 'x' is not a job id" },
		{ { "submit", "echo", "--after", "," }, "--after needs at least one" },
		{ { "submit", "echo", "--state", "done" }, "submit does not take --state" },
		{ { "status", "1", "--queue", "q" }, "status does not take --queue" },
		{ { "result", "1", "--timeout", "5" }, "--timeout needs --wait" },
		{ { "cancel", "1", "--wait" }, "cancel does not take --wait" },
		{ { "list", "--state", "finished" }, "'finished' is not a state" },
		{ { "list", "--state", "runing" }, "(did you mean 'running'?)" },
		{ { "list", "--limit", "0" }, "from 1 to 1000" },
		{ { "list", "--limit", "1001" }, "from 1 to 1000" },
		{ { "list", "--before", "x" }, "--before: 'x' is not a job id" },
		{ { "watch", "1", "--queue", "q" }, "not both" },
		{ { "watch", "1", "2" }, "too many arguments to watch" },
		{ { "request", "[1]" }, "must be a JSON object" },
		{ { "request", "{" }, "not valid JSON" },
		{ { "-s", "/x", "-H", "h:1", "ping" }, "-s and -H cannot be used together" },
		{ { "-s" }, "-s needs a value" },
		{ { "--host" }, "--host needs a value" },
		{ { "--bogus", "ping" }, "unknown option '--bogus'" },
		{ { "--bogus=1", "ping" }, "unknown option '--bogus'" },
		{ { "-x", "ping" }, "unknown option '-x'" },
		{ { "--json=yes", "ping" }, "unknown option '--json'" },
		{ { "-H", "h:1", "--ca-file", "ca.pem", "ping" },
		  "--ca-file is for TLS" },
		{ { "--cert", "c.pem", "ping" }, "--cert is for TLS" },
		{ { "-H", "tls://h:1", "--cert-key", "k.pem", "ping" },
		  "--cert-key goes with --cert" },
		{ { "-H", "tls://h:1", "ping", "--ca-file" }, "--ca-file needs a value" },
	};
	struct ctl_invocation	 inv;
	char			*argv[10];
	size_t			 i;
	int			 argc, rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		argv[0] = "loomctl";
		for (argc = 1; cases[i].argv[argc - 1] != NULL; argc++)
			argv[argc] = (char *)cases[i].argv[argc - 1];
		argv[argc] = NULL;
		rc = ctl_parse(&inv, argc, argv, NULL, errbuf, sizeof(errbuf));
		if (rc != CTL_EXIT_USAGE || strstr(errbuf, cases[i].why) == NULL) {
			fail_msg("case %zu (%s ...): exit %d, '%s', wanted '%s'", i,
			    argc > 1 ? argv[1] : "", rc, errbuf, cases[i].why);
		}
		ctl_invocation_clear(&inv);
	}
}

static void
test_help_and_version_win_over_mistakes(void **state)
{
	struct ctl_invocation	inv;

	assert_int_equal(parse(&inv, "--bogus", "status", "-h"), 0);
	assert_int_equal(inv.help, 1);
	assert_null(inv.request);
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "-V"), 0);
	assert_int_equal(inv.version, 1);
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "submit", "--help"), 0);
	assert_int_equal(inv.help, 1);
	ctl_invocation_clear(&inv);
	assert_non_null(strstr(ctl_usage, "usage: loomctl"));
}

static void
test_durations(void **state)
{
	static const struct {
		const char	*text;
		double		 seconds;
	} good[] = {
		{ "0", 0 }, { "1", 1 }, { "1.5", 1.5 }, { ".5", 0.5 }, { "2s", 2 },
		{ "250ms", 0.25 }, { "2m", 120 }, { "1h", 3600 }, { "1d", 86400 },
		{ "1e3", 1000 },
	};
	static const char *const bad[] = {
		"", "s", "-1", "+1", "inf", "nan", "0x10", " 5", "5 s", "5x", "1e400",
		"5sec", ".",
	};
	double	v;
	size_t	i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(ctl_parse_seconds(good[i].text, &v), 0);
		assert_true(v == good[i].seconds);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (ctl_parse_seconds(bad[i], &v) != -1)
			fail_msg("'%s' was taken as %g", bad[i], v);
	}
}

static void
test_a_job_state_is_an_exit_status(void **state)
{
	static const struct {
		const char	*view;
		int		 rc;
	} cases[] = {
		{ "{\"state\":\"done\"}", CTL_EXIT_OK },
		{ "{\"state\":\"failed\"}", CTL_EXIT_FAILED },
		{ "{\"state\":\"cancelled\"}", CTL_EXIT_CANCELLED },
		{ "{\"state\":\"timed_out\"}", CTL_EXIT_CANCELLED },
		{ "{\"state\":\"running\"}", CTL_EXIT_CONNECTION },
		{ "{}", CTL_EXIT_CONNECTION },
	};
	json_t	*v;
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		v = json_loads(cases[i].view, 0, NULL);
		assert_int_equal(ctl_job_exit(v), cases[i].rc);
		json_decref(v);
	}
	assert_int_equal(ctl_job_exit(NULL), CTL_EXIT_CONNECTION);
}

static void
test_new_submit_options(void **state)
{
	struct ctl_invocation	 inv;
	char			 path[] = "/tmp/test_ctl_args.XXXXXX";
	FILE			*f;
	int			 fd;

	assert_int_equal(parse(&inv, "submit", "echo", "--limits", "db,net",
	    "--limits", "cpu"), 0);
	assert_request(&inv, "{\"op\":\"submit\",\"job\":{\"type\":\"echo\","
	    "\"args\":{},\"limits\":[\"db\",\"net\",\"cpu\"]}}");
	ctl_invocation_clear(&inv);

	assert_int_equal(parse(&inv, "submit", "gather", "--wait", "--stream",
	    "--wait-timeout", "2m"), 0);
	assert_request(&inv, "{\"op\":\"submit\",\"wait\":true,\"stream\":true,"
	    "\"timeout\":120,\"job\":{\"type\":\"gather\",\"args\":{}}}");
	assert_int_equal(inv.stream, 1);
	assert_true(inv.wait_timeout == 120);
	ctl_invocation_clear(&inv);

	/* --args @FILE: a file's JSON object, KEY=VALUE still on top. */
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	fputs("{\"value\": {\"deep\": [1, 2]},\n \"n\": 1}\n", f);
	fclose(f);
	{
		char	arg[64];

		snprintf(arg, sizeof(arg), "@%s", path);
		assert_int_equal(parse(&inv, "submit", "echo", "--args", arg,
		    "n=2"), 0);
		assert_request(&inv, "{\"op\":\"submit\",\"job\":{\"type\":"
		    "\"echo\",\"args\":{\"value\":{\"deep\":[1,2]},\"n\":2}}}");
		ctl_invocation_clear(&inv);

		/* A bad file says where. */
		assert_non_null(f = fopen(path, "w"));
		fputs("{\n\"a\": }\n", f);
		fclose(f);
		assert_int_equal(parse(&inv, "submit", "echo", "--args", arg),
		    CTL_EXIT_USAGE);
		assert_non_null(strstr(errbuf, ":2: not valid JSON"));
		ctl_invocation_clear(&inv);
	}
	unlink(path);
}

/* A file of specs: one object a line; comments and blank lines skipped. */
static void
test_specs_from_a_file(void **state)
{
	static const char good[] = "{\"type\":\"echo\"}\n\n# a comment\n"
	    "  {\"type\":\"sleep\",\"args\":{\"seconds\":1}}\n";
	json_t	*specs, *lines;
	FILE	*f;
	char	 err[256];

	assert_non_null(f = fmemopen((void *)good, sizeof(good) - 1, "r"));
	specs = ctl_read_specs(f, "specs", &lines, err, sizeof(err));
	fclose(f);
	assert_non_null(specs);
	assert_int_equal(json_array_size(specs), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(specs,
	    1), "type")), "sleep");
	assert_int_equal(json_integer_value(json_array_get(lines, 0)), 1);
	assert_int_equal(json_integer_value(json_array_get(lines, 1)), 4);
	json_decref(specs);
	json_decref(lines);

	assert_non_null(f = fmemopen("{\"type\":\"echo\"}\n[1]\n", 20, "r"));
	assert_null(ctl_read_specs(f, "specs", &lines, err, sizeof(err)));
	fclose(f);
	assert_string_equal(err, "specs:2: a job spec must be a JSON object");
	assert_non_null(f = fmemopen("\n\n{\"type\":", 11, "r"));
	assert_null(ctl_read_specs(f, "in", &lines, err, sizeof(err)));
	fclose(f);
	assert_non_null(strstr(err, "in:3: not a JSON job spec"));
	assert_non_null(f = fmemopen("# nothing\n", 10, "r"));
	assert_null(ctl_read_specs(f, "in", &lines, err, sizeof(err)));
	fclose(f);
	assert_string_equal(err, "in: no job specs in it");
}

static void
test_operator_commands(void **state)
{
	struct ctl_invocation	inv;

	assert_int_equal(parse(&inv, "queue", "pause", "mail"), 0);
	assert_request(&inv, "{\"op\":\"queue.pause\",\"name\":\"mail\"}");
	assert_int_equal(inv.command, CTL_QUEUE);
	assert_string_equal(inv.sub, "pause");
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "queue", "resume", "mail"), 0);
	assert_request(&inv, "{\"op\":\"queue.resume\",\"name\":\"mail\"}");
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "queue", "list"), 0);
	assert_request(&inv, "{\"op\":\"stats\"}");
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "event", "set", "go"), 0);
	assert_request(&inv, "{\"op\":\"event.set\",\"name\":\"go\"}");
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "event", "clear", "go"), 0);
	assert_request(&inv, "{\"op\":\"event.clear\",\"name\":\"go\"}");
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "event", "get", "go"), 0);
	assert_request(&inv, "{\"op\":\"event.get\",\"name\":\"go\"}");
	ctl_invocation_clear(&inv);

	assert_int_equal(parse(&inv, "top"), 0);
	assert_int_equal(inv.command, CTL_TOP);
	assert_int_equal(inv.once, 0);
	assert_true(inv.interval == 2);
	ctl_invocation_clear(&inv);
	assert_int_equal(parse(&inv, "--no-color", "top", "--once",
	    "--interval", "500ms"), 0);
	assert_int_equal(inv.once, 1);
	assert_int_equal(inv.no_color, 1);
	assert_true(inv.interval == 0.5);
	ctl_invocation_clear(&inv);
}

static void
test_did_you_mean(void **state)
{
	static const char *const words[] = {
		"default", "mail", "images", "reports", NULL
	};
	size_t	i;

	assert_int_equal(ctl_edit_distance("", ""), 0);
	assert_int_equal(ctl_edit_distance("mail", "mail"), 0);
	assert_int_equal(ctl_edit_distance("mial", "mail"), 1);	/* a swap */
	assert_int_equal(ctl_edit_distance("kitten", "sitting"), 3);
	assert_int_equal(ctl_edit_distance("", "abc"), 3);

	assert_string_equal(ctl_suggest("mial", words), "mail");
	assert_string_equal(ctl_suggest("imgaes", words), "images");
	assert_string_equal(ctl_suggest("defualt", words), "default");
	assert_string_equal(ctl_suggest("rep", words), "reports");	/* prefix */
	assert_null(ctl_suggest("mail", words));	/* not mistyped */
	assert_null(ctl_suggest("zzzz", words));
	assert_null(ctl_suggest("", words));
	assert_null(ctl_suggest("x", words));

	/* Each command word is known, and a typo of it comes back to it. */
	for (i = 0; ctl_command_names()[i] != NULL; i++) {
		struct ctl_invocation	 inv;
		char			 typo[32];

		snprintf(typo, sizeof(typo), "%sx", ctl_command_names()[i]);
		assert_int_equal(parse(&inv, typo), CTL_EXIT_USAGE);
		if (strstr(errbuf, "did you mean") == NULL ||
		    strstr(errbuf, ctl_command_names()[i]) == NULL)
			fail_msg("%s: %s", typo, errbuf);
		ctl_invocation_clear(&inv);
		assert_non_null(strstr(ctl_usage, ctl_command_names()[i]));
	}

	{
		json_t	*queues = json_pack("{s{} s{}}", "default", "mail");

		assert_string_equal(ctl_suggest_key("mal", queues), "mail");
		assert_null(ctl_suggest_key("other", queues));
		assert_null(ctl_suggest_key("x", NULL));
		json_decref(queues);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_value_is_json_when_it_parses_else_a_string),
		cmocka_unit_test(test_parse_value_alone),
		cmocka_unit_test(test_args_json_is_merged_under_key_values),
		cmocka_unit_test(test_submit_options_fill_the_job_spec),
		cmocka_unit_test(test_global_options_go_anywhere),
		cmocka_unit_test(test_the_target_defaults_to_the_environment_then_the_system_socket),
		cmocka_unit_test(test_job_commands),
		cmocka_unit_test(test_list_and_watch),
		cmocka_unit_test(test_raw_request_and_double_dash),
		cmocka_unit_test(test_usage_errors_exit_2_with_a_reason),
		cmocka_unit_test(test_help_and_version_win_over_mistakes),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_token_file_and_token_new),
		cmocka_unit_test(test_a_job_state_is_an_exit_status),
		cmocka_unit_test(test_new_submit_options),
		cmocka_unit_test(test_specs_from_a_file),
		cmocka_unit_test(test_operator_commands),
		cmocka_unit_test(test_did_you_mean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
