/* The configuration: defaults < file < -o, every value syntax, and messages
 * that name the file, line and key. */
#include "autoconf.h"

#include <sys/stat.h>

#include <math.h>

#include "testutil.h"
#include "core/config.h"
#include "runtime/log.h"
#include "runtime/util.h"

#define SHIPPED_CONF	TOP_SRCDIR "/etc/loomd.conf"
#define MAN_PAGE	TOP_SRCDIR "/doc/loomd.conf.5"

static char	dir[64];
static char	conf[128];	/* dir/loomd.conf, rewritten by each case */

static int
make_dir(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/loomconfXXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/loomd.conf", dir);
	return 0;
}

static int
remove_dir(void **state)
{
	unlink(conf);
	return rmdir(dir);
}

static void
write_conf(const char *text)
{
	FILE	*f = fopen(conf, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The defaults with text read over them; the test fails on an error. */
static struct config *
load(const char *text)
{
	struct config	*cfg = config_new();
	char		 err[512];

	write_conf(text);
	if (config_load_file(cfg, conf, err, sizeof(err)) == -1)
		fail_msg("unexpected error: %s", err);
	return cfg;
}

/* Reading text fails with "FILE:" followed by expected. */
static void
assert_load_fails(const char *text, const char *expected)
{
	struct config	*cfg = config_new();
	char		 err[512], want[1024];

	write_conf(text);
	assert_int_equal(config_load_file(cfg, conf, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:%s", conf, expected);
	assert_string_equal(err, want);
	config_free(cfg);
}

static void
override(struct config *cfg, const char *assignment)
{
	char	err[512];

	if (config_override(cfg, assignment, err, sizeof(err)) == -1)
		fail_msg("unexpected error: %s", err);
}

static void
assert_override_fails(const char *assignment, const char *expected)
{
	struct config	*cfg = config_new();
	char		 err[512];

	assert_int_equal(config_override(cfg, assignment, err, sizeof(err)), -1);
	assert_string_equal(err, expected);
	config_free(cfg);
}

static void
assert_check_fails(struct config *cfg, const char *expected)
{
	char	err[512];

	assert_int_equal(config_check(cfg, err, sizeof(err)), -1);
	assert_string_equal(err, expected);
}

static void
assert_same_string(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void
assert_argv(char **argv, const char *const want[])
{
	size_t	i;

	assert_non_null(argv);
	for (i = 0; want[i] != NULL; i++) {
		assert_non_null(argv[i]);
		assert_string_equal(argv[i], want[i]);
	}
	assert_null(argv[i]);
}

/* The argv of command "x" after -o command.x.argv=VALUE. */
static struct config *
with_argv(const char *value)
{
	struct config	*cfg = config_new();
	char		 assignment[512];

	snprintf(assignment, sizeof(assignment), "command.x.argv=%s", value);
	override(cfg, assignment);
	assert_int_equal(cfg->ncommands, 1);
	return cfg;
}

static void
assert_same_settings(const struct config *a, const struct config *b)
{
	size_t	i;

	assert_int_equal(a->loops, b->loops);
	assert_int_equal(a->executor_threads, b->executor_threads);
	assert_int_equal(a->executor_queue, b->executor_queue);
	for (i = 0; a->listen[i] != NULL || b->listen[i] != NULL; i++)
		assert_same_string(a->listen[i], b->listen[i]);
	assert_same_string(a->unix_socket, b->unix_socket);
	assert_int_equal(a->unix_socket_mode, b->unix_socket_mode);
	assert_same_string(a->state_dir, b->state_dir);
	assert_int_equal(a->max_line_bytes, b->max_line_bytes);
	assert_int_equal(a->max_connections, b->max_connections);
	assert_int_equal(a->max_jobs, b->max_jobs);
	assert_int_equal(a->max_children, b->max_children);
	assert_true(a->result_ttl == b->result_ttl);
	assert_int_equal(a->slow_callback_ms, b->slow_callback_ms);
	assert_int_equal(a->loop_spin_us, b->loop_spin_us);
	assert_int_equal(a->log_level, b->log_level);
	assert_int_equal(a->log_target, b->log_target);
	assert_same_string(a->files_root, b->files_root);
	assert_true(a->shutdown_grace == b->shutdown_grace);
	assert_true(a->kill_grace == b->kill_grace);
	assert_true(a->idle_timeout == b->idle_timeout);
	assert_same_string(a->user, b->user);
	assert_same_string(a->group, b->group);
	assert_same_string(a->http.ca_file, b->http.ca_file);
	assert_int_equal(a->http.max_body, b->http.max_body);
	assert_true(a->http.timeout == b->http.timeout);
	assert_int_equal(a->http.per_host, b->http.per_host);
}

static void
test_defaults_are_the_documented_ones(void **state)
{
	struct config	*cfg = config_new();
	char		 err[256];

	assert_null(cfg->path);
	assert_int_equal(cfg->loops, 0);
	assert_int_equal(cfg->executor_threads, 0);
	assert_int_equal(cfg->executor_queue, 10000);
	assert_argv(cfg->listen, (const char *[]){ "127.0.0.1:7433", NULL });
	assert_string_equal(cfg->unix_socket, "/run/loomd/loomd.sock");
	assert_int_equal(cfg->unix_socket_mode, 0660);
	assert_string_equal(cfg->state_dir, "/var/lib/loomd");
	assert_int_equal(cfg->max_line_bytes, 1024 * 1024);
	assert_int_equal(cfg->max_connections, 10000);
	assert_int_equal(cfg->max_jobs, 1000000);
	assert_int_equal(cfg->max_children, 10000);
	assert_true(cfg->result_ttl == 3600);
	assert_int_equal(cfg->slow_callback_ms, 100);
	assert_int_equal(cfg->loop_spin_us, 0);
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_int_equal(cfg->log_target, LOG_TO_STDERR);
	assert_null(cfg->files_root);
	assert_true(cfg->shutdown_grace == 30);
	assert_true(cfg->kill_grace == 5);
	assert_true(cfg->idle_timeout == 0);
	assert_null(cfg->user);
	assert_null(cfg->group);
	assert_int_equal(cfg->nqueues, 0);
	assert_int_equal(cfg->nlimits, 0);
	assert_int_equal(cfg->ncommands, 0);
	assert_null(cfg->http.ca_file);
	assert_int_equal(cfg->http.max_body, 1024 * 1024);
	assert_true(cfg->http.timeout == 30);
	assert_int_equal(cfg->http.per_host, 8);
	assert_string_equal(cfg->http.user_agent, "loomd/" PACKAGE_VERSION);
	assert_int_equal(config_check(cfg, err, sizeof(err)), 0);
	config_free(cfg);
}

static void
test_a_file_sets_keys_of_every_section(void **state)
{
	struct config			*cfg;
	const struct config_queue	*q;
	const struct config_limit	*l;
	const struct config_command	*c;
	char				 err[256];

	cfg = load("# globals first\n"
	    "loops = 2\n"
	    "state_dir = /srv/loomd\n"
	    "\n"
	    "[queue.images]\n"
	    "concurrency = 3\n"
	    "max_pending = 100\n"
	    "[limit.db]\n"
	    "concurrency = 4\n"
	    "[command.backup]\n"
	    "argv = /usr/bin/backup --quiet\n"
	    "allow_args = yes\n"
	    "cwd = /srv\n"
	    "timeout = 1m\n"
	    "user = backup\n"
	    "[http]\n"
	    "ca_file = /etc/ssl/ca.pem\n"
	    "per_host = 2\n"
	    "user_agent = robot/1\n");
	assert_string_equal(cfg->path, conf);
	assert_int_equal(cfg->loops, 2);
	assert_string_equal(cfg->state_dir, "/srv/loomd");
	assert_non_null(q = config_find_queue(cfg, "images"));
	assert_int_equal(q->concurrency, 3);
	assert_int_equal(q->max_pending, 100);
	assert_non_null(l = config_find_limit(cfg, "db"));
	assert_int_equal(l->concurrency, 4);
	assert_non_null(c = config_find_command(cfg, "backup"));
	assert_argv(c->argv, (const char *[]){ "/usr/bin/backup", "--quiet", NULL });
	assert_true(c->allow_args);
	assert_false(c->allow_env);
	assert_string_equal(c->cwd, "/srv");
	assert_true(c->timeout == 60);
	assert_int_equal(c->max_output, 1024 * 1024);
	assert_string_equal(c->user, "backup");
	assert_null(c->group);
	assert_string_equal(cfg->http.ca_file, "/etc/ssl/ca.pem");
	assert_int_equal(cfg->http.per_host, 2);
	assert_string_equal(cfg->http.user_agent, "robot/1");
	assert_int_equal(config_check(cfg, err, sizeof(err)), 0);
	config_free(cfg);
}

static void
test_find_by_name_returns_null_for_strangers(void **state)
{
	struct config	*cfg = load("[queue.a]\n[queue.b]\nconcurrency = 1\n"
	    "[limit.a]\nconcurrency = 1\n[command.a]\nargv = /bin/true\n");

	assert_int_equal(cfg->nqueues, 2);
	assert_string_equal(config_find_queue(cfg, "b")->name, "b");
	assert_null(config_find_queue(cfg, "c"));
	assert_null(config_find_limit(cfg, "b"));
	assert_null(config_find_command(cfg, "b"));
	assert_non_null(config_find_command(cfg, "a"));
	config_free(cfg);
}

static void
test_an_empty_named_section_exists_with_defaults(void **state)
{
	struct config			*cfg = load("[queue.quiet]\n[command.c]\n");
	const struct config_queue	*q = config_find_queue(cfg, "quiet");

	assert_non_null(q);
	assert_int_equal(q->concurrency, 0);
	assert_int_equal(q->max_pending, 0);
	assert_int_equal(config_find_command(cfg, "c")->max_output, 1024 * 1024);
	config_free(cfg);
}

static void
test_a_missing_file_is_an_error_naming_it(void **state)
{
	struct config	*cfg = config_new();
	char		 err[256];

	assert_int_equal(config_load_file(cfg, "/nonexistent/loomd.conf", err,
	    sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/loomd.conf: No such file or directory");
	assert_null(cfg->path);
	config_free(cfg);
}

static void
test_unknown_key_names_file_line_and_key(void **state)
{
	assert_load_fails("loops = 2\nfrobnicate = 1\n", "2: frobnicate: unknown key");
	assert_load_fails("[queue.a]\nconcurrency = 1\nweight = 2\n",
	    "3: weight: unknown key (in [queue.NAME]: concurrency, max_pending)");
	assert_load_fails("[http]\nloops = 2\n",
	    "2: loops: unknown key in [http] (loops is a global key)");
	assert_load_fails("Loops = 2\n", "1: Loops: unknown key");
}

static void
test_unknown_section_is_an_error(void **state)
{
	assert_load_fails("loops = 1\n[server]\n", "2: [server]: unknown section "
	    "(use [http], [queue.NAME], [limit.NAME], [command.NAME] or [type.NAME])");
	assert_load_fails("[]\n", "1: []: unknown section "
	    "(use [http], [queue.NAME], [limit.NAME], [command.NAME] or [type.NAME])");
}

static void
test_bad_section_names_are_errors(void **state)
{
	char	text[128], want[256];

	assert_load_fails("[queue.a.b]\n", "1: [queue.a.b]: bad name: "
	    "use 1 to 64 letters, digits, '_' or '-'");
	assert_load_fails("[queue.]\n", "1: [queue.]: bad name: "
	    "use 1 to 64 letters, digits, '_' or '-'");
	assert_load_fails("[limit.a b]\n", "1: [limit.a b]: bad name: "
	    "use 1 to 64 letters, digits, '_' or '-'");
	assert_load_fails("[command.r\xc3\xa9]\n", "1: [command.r\xc3\xa9]: bad "
	    "name: use 1 to 64 letters, digits, '_' or '-'");
	assert_load_fails("[queue]\n", "1: [queue]: needs a name, as in [queue.NAME]");
	assert_load_fails("[http.x]\n", "1: [http.x]: takes no name");
	assert_load_fails("[queue.a\n", "1: [queue.a: missing ']'");
	assert_load_fails("[http] x\n", "1: [http]: text after the section header");

	/* 64 characters is the longest name. */
	snprintf(text, sizeof(text), "[queue.%064d]\n", 0);
	config_free(load(text));
	snprintf(text, sizeof(text), "[queue.%065d]\n", 0);
	snprintf(want, sizeof(want), "1: [queue.%065d]: bad name: "
	    "use 1 to 64 letters, digits, '_' or '-'", 0);
	assert_load_fails(text, want);
	config_free(load("[queue.Az09_-]\n[http] # outbound\n"));
}

static void
test_a_repeated_section_is_an_error(void **state)
{
	assert_load_fails("[queue.a]\nconcurrency = 1\n\n[queue.a]\n",
	    "4: [queue.a]: repeats the section at line 1");
	assert_load_fails("[http]\n[queue.a]\n[http]\n",
	    "3: [http]: repeats the section at line 1");
	/* The same name in another kind of section is another thing. */
	config_free(load("[queue.a]\n[limit.a]\nconcurrency = 1\n"));
}

static void
test_a_repeated_key_is_an_error(void **state)
{
	assert_load_fails("loops = 1\nlisten = a:1\nloops = 2\n",
	    "3: loops: given twice (first at line 1)");
	assert_load_fails("[queue.a]\nconcurrency = 1\nconcurrency = 2\n",
	    "3: concurrency: given twice (first at line 2)");
	config_free(load("[queue.a]\nconcurrency = 1\n[queue.b]\nconcurrency = 2\n"));
}

static void
test_lines_must_be_key_equals_value(void **state)
{
	assert_load_fails("loops\n", "1: expected KEY = VALUE, [SECTION] or a comment");
	assert_load_fails("\nloops: 4\n",
	    "2: expected KEY = VALUE, [SECTION] or a comment");
	assert_load_fails("= 4\n", "1: missing key before '='");
	assert_load_fails("loops = 4\x01\n", "1: control character in line");
}

static void
test_comments_take_whole_lines_only(void **state)
{
	struct config	*cfg;

	cfg = load("# a comment\n; another\n   # indented\nloops = 2\n"
	    "[queue.a] ; about a\n"
	    "[command.x]\n"
	    "argv = /bin/echo a ; b #c\n");
	assert_int_equal(cfg->loops, 2);
	assert_argv(cfg->commands[0].argv,
	    (const char *[]){ "/bin/echo", "a", ";", "b", "#c", NULL });
	config_free(cfg);
	assert_load_fails("loops = 2 ; two loops\n",
	    "1: loops: '2 ; two loops' is not auto or a whole number");
}

static void
test_indented_lines_are_ordinary_lines(void **state)
{
	struct config	*cfg = load("[queue.a]\n  concurrency = 2\n\tmax_pending = 5\n");

	assert_int_equal(cfg->queues[0].concurrency, 2);
	assert_int_equal(cfg->queues[0].max_pending, 5);
	config_free(cfg);
}

static void
test_crlf_and_a_byte_order_mark_are_accepted(void **state)
{
	struct config	*cfg = load("\xef\xbb\xbfloops = 3\r\n[queue.a]\r\n"
	    "concurrency = 2\r\n");

	assert_int_equal(cfg->loops, 3);
	assert_int_equal(cfg->queues[0].concurrency, 2);
	config_free(cfg);
}

/* Far beyond libinih's line buffer (199 bytes in Debian's build). */
static void
test_long_lines_are_read_whole(void **state)
{
	struct config	*cfg;
	char		*text, *argv_text;
	size_t		 len = 0, i, nwords = 500;
	char		 want[8];

	argv_text = xmalloc(8 * nwords + 64);
	len += sprintf(argv_text, "/bin/echo");
	for (i = 0; i < nwords; i++)
		len += sprintf(argv_text + len, " w%06zu", i);
	len += sprintf(argv_text + len, " a;b '#c'");
	assert_true(len >= 4000);
	text = xmalloc(3 * len + 1024);
	sprintf(text, "# %s\n"
	    "[command.x] ; %s\n"
	    "argv =   %s  \n"
	    "allow_args = yes\n", argv_text, argv_text, argv_text);
	cfg = load(text);
	assert_int_equal(cfg->ncommands, 1);
	assert_string_equal(cfg->commands[0].name, "x");
	assert_true(cfg->commands[0].allow_args);
	assert_string_equal(cfg->commands[0].argv[0], "/bin/echo");
	for (i = 0; i < nwords; i++) {
		snprintf(want, sizeof(want), "w%06zu", i);
		assert_string_equal(cfg->commands[0].argv[1 + i], want);
	}
	assert_string_equal(cfg->commands[0].argv[1 + nwords], "a;b");
	assert_string_equal(cfg->commands[0].argv[2 + nwords], "#c");
	assert_null(cfg->commands[0].argv[3 + nwords]);
	config_free(cfg);

	/* Errors in a long line name its line and key as in a short one. */
	sprintf(text, "loops = 1\nloops = %s\n", argv_text);
	assert_load_fails(text, "2: loops: given twice (first at line 1)");
	free(text);
	free(argv_text);
}

static void
test_a_line_over_a_mebibyte_is_an_error(void **state)
{
	struct config	*cfg = config_new();
	size_t		 size = 1024 * 1024 + 64;
	char		*text, err[512], want[256];

	text = xmalloc(size);
	snprintf(text, size, "files_root = /%0*d\n", 1024 * 1024, 0);
	write_conf(text);
	free(text);
	assert_int_equal(config_load_file(cfg, conf, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:1: line is longer than 1048576 bytes",
	    conf);
	assert_string_equal(err, want);
	config_free(cfg);
}

static void
test_booleans_accept_the_usual_spellings(void **state)
{
	static const char *const yes[] = { "yes", "Yes", "TRUE", "on", "1" };
	static const char *const no[] = { "no", "NO", "false", "Off", "0" };
	struct config		*cfg = config_new();
	char			 a[64];
	size_t			 i;

	for (i = 0; i < nitems(yes); i++) {
		snprintf(a, sizeof(a), "command.x.allow_env=%s", yes[i]);
		override(cfg, a);
		assert_true(cfg->commands[0].allow_env);
		snprintf(a, sizeof(a), "command.x.allow_env=%s", no[i]);
		override(cfg, a);
		assert_false(cfg->commands[0].allow_env);
	}
	config_free(cfg);
	assert_load_fails("[command.x]\nargv = /bin/true\nallow_args = maybe\n",
	    "3: allow_args: 'maybe' is not a boolean (yes/no, true/false, on/off, 1/0)");
	assert_load_fails("[command.x]\nallow_args = 2\n",
	    "2: allow_args: '2' is not a boolean (yes/no, true/false, on/off, 1/0)");
}

static void
test_counts_reject_junk_signs_overflow_and_range(void **state)
{
	struct config	*cfg = load("max_jobs = 5000\nloops = auto\n"
	    "executor_threads = 8\n");

	assert_int_equal(cfg->max_jobs, 5000);
	assert_int_equal(cfg->loops, 0);
	assert_int_equal(cfg->executor_threads, 8);
	config_free(cfg);
	assert_load_fails("max_jobs = 12x\n", "1: max_jobs: '12x' is not a whole number");
	assert_load_fails("max_jobs = 1.5\n", "1: max_jobs: '1.5' is not a whole number");
	assert_load_fails("max_jobs = 0x10\n", "1: max_jobs: '0x10' is not a whole number");
	assert_load_fails("max_jobs = +5\n", "1: max_jobs: '+5' is not a whole number");
	assert_load_fails("max_jobs =\n", "1: max_jobs: '' is not a whole number");
	assert_load_fails("max_jobs = -5\n", "1: max_jobs: '-5' is negative");
	assert_load_fails("max_jobs = 99999999999999999999999\n",
	    "1: max_jobs: '99999999999999999999999' is too large");
	assert_load_fails("max_jobs = 0\n", "1: max_jobs: must be at least 1");
	assert_load_fails("loops = 257\n", "1: loops: must be at most 256");
	assert_load_fails("loops = many\n",
	    "1: loops: 'many' is not auto or a whole number");
	assert_load_fails("[limit.db]\nconcurrency = 0\n",
	    "2: concurrency: must be at least 1");
}

static void
test_sizes_are_bytes_or_take_binary_suffixes(void **state)
{
	static const struct {
		const char	*text;
		size_t		 bytes;
	} cases[] = {
		{ "4096", 4096 }, { "64K", 64 * 1024 }, { "16KiB", 16 * 1024 },
		{ "2M", 2 * 1024 * 1024 }, { "3 MiB", 3 * 1024 * 1024 },
		{ "1G", 1024 * 1024 * 1024 }, { "1GiB", 1024 * 1024 * 1024 },
	};
	struct config	*cfg = config_new();
	char		 a[64];
	size_t		 i;

	for (i = 0; i < nitems(cases); i++) {
		snprintf(a, sizeof(a), "max_line_bytes=%s", cases[i].text);
		override(cfg, a);
		assert_int_equal(cfg->max_line_bytes, cases[i].bytes);
	}
	config_free(cfg);
	assert_load_fails("max_line_bytes = 1.5M\n",
	    "1: max_line_bytes: '1.5M' is not a whole number of bytes");
	assert_load_fails("max_line_bytes = 10X\n", "1: max_line_bytes: '10X': "
	    "unknown suffix 'X' (use K, M, G, KiB, MiB or GiB)");
	assert_load_fails("max_line_bytes = 10KB\n", "1: max_line_bytes: '10KB': "
	    "unknown suffix 'KB' (use K, M, G, KiB, MiB or GiB)");
	assert_load_fails("max_line_bytes = M\n", "1: max_line_bytes: 'M' is not a size");
	assert_load_fails("max_line_bytes = -1K\n",
	    "1: max_line_bytes: '-1K' is negative");
	assert_load_fails("max_line_bytes = 512\n",
	    "1: max_line_bytes: must be at least 1K");
	assert_load_fails("max_line_bytes = 2G\n",
	    "1: max_line_bytes: must be at most 1G");
	assert_load_fails("max_line_bytes = 99999999999999999999999K\n",
	    "1: max_line_bytes: '99999999999999999999999K' is too large");
	assert_load_fails("[http]\nmax_body = 0\n", "2: max_body: must be at least 1 byte");
}

static void
test_durations_are_seconds_or_take_suffixes(void **state)
{
	static const struct {
		const char	*text;
		double		 seconds;
	} cases[] = {
		{ "90", 90 }, { "1.5", 1.5 }, { "0.3", 0.3 }, { ".5", 0.5 },
		{ "30s", 30 }, { "250ms", 0.25 }, { "2m", 120 }, { "1.5h", 5400 },
		{ "0", 0 }, { "10 s", 10 },
	};
	struct config	*cfg = config_new();
	char		 a[64];
	size_t		 i;

	for (i = 0; i < nitems(cases); i++) {
		snprintf(a, sizeof(a), "result_ttl=%s", cases[i].text);
		override(cfg, a);
		assert_true(cfg->result_ttl == cases[i].seconds);
	}
	config_free(cfg);
	assert_load_fails("kill_grace = 5d\n",
	    "1: kill_grace: '5d': unknown suffix 'd' (use ms, s, m or h)");
	assert_load_fails("kill_grace = 1e3\n",
	    "1: kill_grace: '1e3': unknown suffix 'e3' (use ms, s, m or h)");
	assert_load_fails("kill_grace = -1\n", "1: kill_grace: '-1' is negative");
	assert_load_fails("kill_grace = soon\n", "1: kill_grace: 'soon' is not a "
	    "duration (seconds, or a number with ms, s, m or h)");
	assert_load_fails("kill_grace = 2000000000\n",
	    "1: kill_grace: must be at most 1000000000 s");
	assert_load_fails("[http]\ntimeout = 0\n", "2: timeout: must be more than 0");
}

static void
test_socket_mode_is_octal(void **state)
{
	struct config	*cfg = load("unix_socket_mode = 0600\n");

	assert_int_equal(cfg->unix_socket_mode, 0600);
	override(cfg, "unix_socket_mode=666");
	assert_int_equal(cfg->unix_socket_mode, 0666);
	config_free(cfg);
	assert_load_fails("unix_socket_mode = 0999\n",
	    "1: unix_socket_mode: '0999' is not an octal mode like 0660");
	assert_load_fails("unix_socket_mode = rw\n",
	    "1: unix_socket_mode: 'rw' is not an octal mode like 0660");
	assert_load_fails("unix_socket_mode = 01777\n",
	    "1: unix_socket_mode: '01777' is above 0777");
}

static void
test_listen_takes_a_list_with_ipv6_in_brackets(void **state)
{
	struct config	*cfg;

	cfg = load("listen = 127.0.0.1:7433, [::1]:7433 0.0.0.0:80,localhost:8080"
	    "\t[::]:1\n");
	assert_argv(cfg->listen, (const char *[]){ "127.0.0.1:7433", "[::1]:7433",
	    "0.0.0.0:80", "localhost:8080", "[::]:1", NULL });
	override(cfg, "listen=[fe80::1%eth0]:99");
	assert_argv(cfg->listen, (const char *[]){ "[fe80::1%eth0]:99", NULL });
	config_free(cfg);
}

static void
test_bad_listen_entries_are_named(void **state)
{
	assert_load_fails("listen = 127.0.0.1\n",
	    "1: listen: '127.0.0.1': missing :PORT");
	assert_load_fails("listen = a:1, b:0\n",
	    "1: listen: 'b:0': port must be 1 to 65535");
	assert_load_fails("listen = b:65536\n",
	    "1: listen: 'b:65536': port must be 1 to 65535");
	assert_load_fails("listen = b:http\n",
	    "1: listen: 'b:http': port must be 1 to 65535");
	assert_load_fails("listen = b:\n", "1: listen: 'b:': port must be 1 to 65535");
	assert_load_fails("listen = ::1:7433\n", "1: listen: '::1:7433': an IPv6 "
	    "address goes in brackets, as in [::1]:7433");
	assert_load_fails("listen = [::1]\n", "1: listen: '[::1]': missing :PORT");
	assert_load_fails("listen = [::1:80\n", "1: listen: '[::1:80': missing ']'");
	assert_load_fails("listen = [zz::q]:80\n",
	    "1: listen: '[zz::q]:80': bad IPv6 address");
	assert_load_fails("listen = :80\n", "1: listen: ':80': missing host "
	    "(0.0.0.0 or [::] for every address)");
	assert_load_fails("listen = 300.1.2.3:80\n",
	    "1: listen: '300.1.2.3:80': bad IPv4 address");
	assert_load_fails("listen = ex/ample:80\n",
	    "1: listen: 'ex/ample:80': bad host name");
	assert_load_fails("listen = a:1 a:1\n", "1: listen: 'a:1' is listed twice");
}

static void
test_empty_listen_means_no_tcp_listener(void **state)
{
	struct config	*cfg = load("listen =\n");
	char		 err[256];

	assert_non_null(cfg->listen);
	assert_null(cfg->listen[0]);
	assert_int_equal(config_check(cfg, err, sizeof(err)), 0);
	override(cfg, "listen= , ");
	assert_null(cfg->listen[0]);
	config_free(cfg);
}

static void
test_unix_socket_path_must_fit(void **state)
{
	char	text[256], want[256];

	snprintf(text, sizeof(text), "unix_socket = /%0120d\n", 0);
	snprintf(want, sizeof(want), "1: unix_socket: the path is 121 bytes, "
	    "more than the 107 a Unix socket allows");
	assert_load_fails(text, want);
}

static void
test_empty_strings_mean_unset(void **state)
{
	struct config	*cfg = load("files_root = /srv/files\nuser =\nunix_socket =\n"
	    "[http]\nuser_agent =\n");

	assert_string_equal(cfg->files_root, "/srv/files");
	assert_null(cfg->user);
	assert_null(cfg->unix_socket);
	assert_null(cfg->http.user_agent);
	override(cfg, "files_root=");
	assert_null(cfg->files_root);
	config_free(cfg);
	assert_load_fails("state_dir =\n", "1: state_dir: must not be empty");
	assert_load_fails("[command.x]\ncwd = tmp\n",
	    "2: cwd: 'tmp' is not an absolute path");
}

static void
test_log_level_and_target_are_names(void **state)
{
	struct config	*cfg = load("log_level = debug\nlog_target = syslog\n");

	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_int_equal(cfg->log_target, LOG_TO_SYSLOG);
	override(cfg, "log_level=warning");
	assert_int_equal(cfg->log_level, LOG_WARNING);
	override(cfg, "log_level=error");
	assert_int_equal(cfg->log_level, LOG_ERR);
	config_free(cfg);
	assert_load_fails("log_level = loud\n", "1: log_level: 'loud' is not a log "
	    "level (debug, info, notice, warning or error)");
	assert_load_fails("log_level = crit\n", "1: log_level: 'crit' is not a log "
	    "level (debug, info, notice, warning or error)");
	assert_load_fails("log_target = journal\n",
	    "1: log_target: 'journal' is not a log target (stderr or syslog)");
}

static void
test_argv_splits_on_blanks_and_honours_quotes(void **state)
{
	struct config	*cfg;

	cfg = with_argv("/bin/echo  'a b'\t\"c d\" e\\ f");
	assert_argv(cfg->commands[0].argv,
	    (const char *[]){ "/bin/echo", "a b", "c d", "e f", NULL });
	config_free(cfg);

	/* Quoted pieces join, and '' is an empty word. */
	cfg = with_argv("/bin/x a'b'\"c\"d '' \"\"");
	assert_argv(cfg->commands[0].argv,
	    (const char *[]){ "/bin/x", "abcd", "", "", NULL });
	config_free(cfg);

	/* Single quotes keep everything, backslashes and double quotes too. */
	cfg = with_argv("/bin/x 'a\\b' 'say \"hi\"'");
	assert_argv(cfg->commands[0].argv,
	    (const char *[]){ "/bin/x", "a\\b", "say \"hi\"", NULL });
	config_free(cfg);
}

static void
test_argv_backslashes_escape_as_in_the_shell(void **state)
{
	struct config	*cfg;

	/* In double quotes only " \ $ ` are escaped; other backslashes stay. */
	cfg = with_argv("/bin/x \"a\\\"b\" \"c\\\\d\" \"\\$x\" \"\\`y\" \"\\n\"");
	assert_argv(cfg->commands[0].argv, (const char *[]){ "/bin/x", "a\"b",
	    "c\\d", "$x", "`y", "\\n", NULL });
	config_free(cfg);

	/* Outside quotes a backslash takes the next character as it is. */
	cfg = with_argv("/bin/x \\$HOME a\\\\b \\'q \\n");
	assert_argv(cfg->commands[0].argv,
	    (const char *[]){ "/bin/x", "$HOME", "a\\b", "'q", "n", NULL });
	config_free(cfg);
}

static void
test_argv_expands_nothing(void **state)
{
	struct config	*cfg;

	cfg = load("[command.x]\nargv = /bin/echo ';rm -rf /' $HOME * ~ `id` $(id) ;ls\n");
	assert_argv(cfg->commands[0].argv, (const char *[]){ "/bin/echo",
	    ";rm -rf /", "$HOME", "*", "~", "`id`", "$(id)", ";ls", NULL });
	config_free(cfg);

	cfg = with_argv("/bin/sh -c \"echo $HOME; rm -rf /\"");
	assert_argv(cfg->commands[0].argv, (const char *[]){ "/bin/sh", "-c",
	    "echo $HOME; rm -rf /", NULL });
	config_free(cfg);
}

static void
test_argv_errors_are_named(void **state)
{
	assert_load_fails("[command.x]\nargv = /bin/echo 'abc\n",
	    "2: argv: unterminated single quote");
	assert_load_fails("[command.x]\nargv = /bin/echo \"abc\\\"\n",
	    "2: argv: unterminated double quote");
	assert_load_fails("[command.x]\nargv = /bin/echo abc\\\n",
	    "2: argv: backslash at the end");
	assert_load_fails("[command.x]\nargv = echo hi\n",
	    "2: argv: argv[0] 'echo' is not an absolute path");
	assert_load_fails("[command.x]\nargv = './run'\n",
	    "2: argv: argv[0] './run' is not an absolute path");
	assert_load_fails("[command.x]\nargv =\n", "2: argv: is empty");
	assert_override_fails("command.x.argv= ''x",
	    "-o command.x.argv= ''x: argv[0] 'x' is not an absolute path");
}

static void
test_overrides_win_over_the_file_and_apply_in_order(void **state)
{
	struct config	*cfg = load("max_jobs = 500\nloops = 2\n[queue.a]\n"
	    "concurrency = 1\nmax_pending = 9\n");

	override(cfg, "max_jobs=700");
	override(cfg, "queue.a.concurrency=4");
	override(cfg, "loops=3");
	override(cfg, "loops=5");
	assert_int_equal(cfg->max_jobs, 700);
	assert_int_equal(cfg->loops, 5);
	assert_int_equal(cfg->max_connections, 10000);	/* the default stands */
	assert_int_equal(cfg->nqueues, 1);
	assert_int_equal(cfg->queues[0].concurrency, 4);
	assert_int_equal(cfg->queues[0].max_pending, 9);
	config_free(cfg);
}

static void
test_overrides_reach_every_kind_of_key(void **state)
{
	struct config			*cfg = config_new();
	const struct config_queue	*q;
	char				 err[256];

	override(cfg, "executor_threads=4");
	override(cfg, "http.ca_file=/x.pem");
	override(cfg, " http.timeout = 2.5s ");
	override(cfg, "queue.images.concurrency=2");
	override(cfg, "limit.db.concurrency=3");
	override(cfg, "command.backup.argv=/usr/bin/backup -q");
	override(cfg, "command.backup.timeout=10m");
	override(cfg, "http.user_agent=a=b");	/* the value keeps its '=' */
	assert_int_equal(cfg->executor_threads, 4);
	assert_string_equal(cfg->http.ca_file, "/x.pem");
	assert_true(cfg->http.timeout == 2.5);
	assert_non_null(q = config_find_queue(cfg, "images"));
	assert_int_equal(q->concurrency, 2);
	assert_int_equal(q->max_pending, 0);
	assert_int_equal(config_find_limit(cfg, "db")->concurrency, 3);
	assert_argv(config_find_command(cfg, "backup")->argv,
	    (const char *[]){ "/usr/bin/backup", "-q", NULL });
	assert_true(config_find_command(cfg, "backup")->timeout == 600);
	assert_string_equal(cfg->http.user_agent, "a=b");
	assert_int_equal(config_check(cfg, err, sizeof(err)), 0);
	config_free(cfg);
}

static void
test_bad_overrides_say_what_is_wrong(void **state)
{
	struct config	*cfg = config_new();
	char		 err[256];

	assert_override_fails("loops", "-o loops: expected KEY=VALUE");
	assert_override_fails("=5", "-o =5: missing key");
	assert_override_fails("frob=1", "-o frob=1: unknown key");
	assert_override_fails("loops=x", "-o loops=x: 'x' is not auto or a whole number");
	assert_override_fails("server.port=1", "-o server.port=1: unknown section "
	    "'server' (use http, queue.NAME, limit.NAME, command.NAME or type.NAME)");
	assert_override_fails("queue.concurrency=2",
	    "-o queue.concurrency=2: needs a key, as in queue.NAME.KEY");
	assert_override_fails("queue.a.b.concurrency=2",
	    "-o queue.a.b.concurrency=2: too many dots (names cannot contain '.')");
	assert_override_fails("queue.a b.concurrency=2", "-o queue.a b.concurrency=2: "
	    "bad queue name 'a b': use 1 to 64 letters, digits, '_' or '-'");
	assert_override_fails("http.x.timeout=1", "-o http.x.timeout=1: http takes no name");
	assert_override_fails("http.timeout=0", "-o http.timeout=0: must be more than 0");
	assert_override_fails("queue.a.loops=2", "-o queue.a.loops=2: unknown key in "
	    "[queue.NAME] (loops is a global key)");
	assert_override_fails("user=a\nb", "-o user=a...: control character");

	/* A bad value or key makes no queue. */
	assert_int_equal(config_override(cfg, "queue.new.concurrency=x", err,
	    sizeof(err)), -1);
	assert_int_equal(config_override(cfg, "queue.new.weight=1", err,
	    sizeof(err)), -1);
	assert_int_equal(cfg->nqueues, 0);
	config_free(cfg);
}

static void
test_check_wants_a_listener(void **state)
{
	struct config	*cfg = config_new();

	override(cfg, "listen=");
	override(cfg, "unix_socket=");
	assert_check_fails(cfg, "no listener: listen and unix_socket are both empty");
	override(cfg, "unix_socket=/tmp/x.sock");
	assert_int_equal(config_check(cfg, NULL, 0), 0);
	config_free(cfg);
}

static void
test_check_wants_limits_with_concurrency_and_commands_with_argv(void **state)
{
	struct config	*cfg;

	cfg = load("[limit.db]\n");
	assert_check_fails(cfg, "limit.db: concurrency is required");
	config_free(cfg);

	cfg = load("[command.x]\ntimeout = 5\n");
	assert_check_fails(cfg, "command.x: argv is required");
	config_free(cfg);

	cfg = config_new();
	override(cfg, "command.y.allow_args=yes");
	assert_check_fails(cfg, "command.y: argv is required");
	config_free(cfg);
}

/* The shipped file with every "#key = value" and "#[section]" line made live. */
static void
write_uncommented_shipped_conf(void)
{
	FILE	*in = fopen(SHIPPED_CONF, "r"), *out = fopen(conf, "w");
	char	 line[512];

	assert_non_null(in);
	assert_non_null(out);
	while (fgets(line, sizeof(line), in) != NULL) {
		if (line[0] == '#' && line[1] != ' ' && line[1] != '#' &&
		    line[1] != '\n')
			fputs(line + 1, out);
		else
			fputs(line, out);
	}
	fclose(in);
	assert_int_equal(fclose(out), 0);
}

static void
test_shipped_config_loads_as_the_defaults(void **state)
{
	struct config	*cfg = config_new(), *defaults = config_new();
	char		 err[512];

	if (config_load_file(cfg, SHIPPED_CONF, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_int_equal(config_check(cfg, err, sizeof(err)), 0);
	assert_same_settings(cfg, defaults);
	assert_int_equal(cfg->nqueues + cfg->nlimits + cfg->ncommands, 0);
	config_free(cfg);
	config_free(defaults);
}

static void
test_shipped_config_shows_the_defaults_when_uncommented(void **state)
{
	struct config	*cfg = config_new(), *defaults = config_new();
	char		 err[512];

	write_uncommented_shipped_conf();
	if (config_load_file(cfg, conf, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_int_equal(config_check(cfg, err, sizeof(err)), 0);
	assert_same_settings(cfg, defaults);
	/* Shown as loomd/VERSION, since the version changes. */
	assert_string_equal(cfg->http.user_agent, "loomd/VERSION");
	assert_int_equal(cfg->nqueues, 1);
	assert_int_equal(cfg->nlimits, 1);
	assert_int_equal(cfg->ncommands, 1);
	config_free(cfg);
	config_free(defaults);
}

/* Every key the spec names is in the shipped file and in the manual. */
static void
test_every_key_is_documented(void **state)
{
	static const char *const keys[] = {
		"loops", "executor_threads", "executor_queue", "listen",
		"unix_socket", "unix_socket_mode", "state_dir", "max_line_bytes",
		"max_connections", "max_jobs", "max_children", "result_ttl",
		"slow_callback_ms", "loop_spin_us", "log_level", "log_target",
		"files_root", "shutdown_grace", "kill_grace", "idle_timeout",
		"user", "group", "concurrency", "max_pending", "argv", "allow_args",
		"allow_env", "cwd", "timeout", "max_output", "ca_file", "max_body",
		"per_host", "user_agent",
	};
	static const char *const files[] = { SHIPPED_CONF, MAN_PAGE };
	char		 buf[65536], want[128];
	FILE		*f;
	size_t		 i, j, n;

	for (i = 0; i < nitems(files); i++) {
		assert_non_null(f = fopen(files[i], "r"));
		buf[0] = '\n';
		n = fread(buf + 1, 1, sizeof(buf) - 2, f);
		buf[n + 1] = '\0';
		fclose(f);
		for (j = 0; j < nitems(keys); j++) {
			if (i == 0)
				snprintf(want, sizeof(want), "\n#%s =", keys[j]);
			else
				snprintf(want, sizeof(want), "\n.It Ic %s ", keys[j]);
			if (strstr(buf, want) == NULL)
				fail_msg("%s: no \"%s\"", files[i], want + 1);
		}
	}
}


/* config_build: the file, then the assignments in order, then the checks. */
static void
test_build_reads_the_file_then_the_assignments(void **state)
{
	char *const	 ok[] = { "max_jobs=7", "queue.q.concurrency=3", "max_jobs=8" };
	char *const	 bad[] = { "max_jobs=x" };
	char *const	 none[] = { "listen=", "unix_socket=" };
	struct config	*cfg;
	char		 err[512];

	write_conf("max_jobs = 5\n[queue.q]\nconcurrency = 1\nmax_pending = 2\n");
	assert_non_null(cfg = config_build(conf, ok, nitems(ok), err, sizeof(err)));
	assert_int_equal(cfg->max_jobs, 8);
	assert_int_equal(config_find_queue(cfg, "q")->concurrency, 3);
	assert_int_equal(config_find_queue(cfg, "q")->max_pending, 2);
	assert_string_equal(cfg->path, conf);
	config_free(cfg);

	assert_null(config_build(conf, bad, nitems(bad), err, sizeof(err)));
	assert_string_equal(err, "-o max_jobs=x: 'x' is not a whole number");
	assert_null(config_build(conf, none, nitems(none), err, sizeof(err)));
	assert_string_equal(err, "no listener: listen and unix_socket are both empty");
	write_conf("max_jobs = many\n");
	assert_null(config_build(conf, NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "loomd.conf:1: max_jobs: 'many'"));
}

/* config_build of text fails with "FILE:" followed by expected. */
static void
assert_build_fails(const char *text, char *const *assignments, size_t n,
    const char *expected)
{
	char	err[512], want[1024];

	write_conf(text);
	assert_null(config_build(conf, assignments, n, err, sizeof(err)));
	if (assignments == NULL)
		snprintf(want, sizeof(want), "%s:%s", conf, expected);
	else
		snprintf(want, sizeof(want), "%s", expected);
	assert_string_equal(err, want);
}

/* dir/name with this mode and text. */
static void
make_file(const char *name, mode_t mode, const char *text, char *path,
    size_t len)
{
	FILE	*f;

	snprintf(path, len, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* What loomd -t and start-up check on the machine, and how they say it. */
static void
test_build_checks_what_the_config_names_exists(void **state)
{
	struct config	*cfg;
	char		 prog[128], plain[128], ca[128], text[1024], want[512];
	char		 opt[256], *opts[] = { opt };
	char		 err[512];

	make_file("prog", 0755, "#!/bin/sh\n", prog, sizeof(prog));
	make_file("plain", 0644, "#!/bin/sh\n", plain, sizeof(plain));
	make_file("ca.pem", 0644, "", ca, sizeof(ca));

	/* All there: it builds. */
	snprintf(text, sizeof(text), "files_root = %s\nuser = root\ngroup = root\n"
	    "[command.x]\nargv = %s -v\nuser = root\n[http]\nca_file = %s\n",
	    dir, prog, ca);
	write_conf(text);
	if ((cfg = config_build(conf, NULL, 0, err, sizeof(err))) == NULL)
		fail_msg("unexpected error: %s", err);
	config_free(cfg);

	/* A command's program: missing, not executable, not a file. */
	assert_build_fails("[command.x]\nallow_args = yes\n"
	    "argv = /nonexistent/program -v\n", NULL, 0,
	    "3: argv: cannot run '/nonexistent/program': No such file or directory");
	snprintf(text, sizeof(text), "[command.x]\nargv = %s\n", plain);
	snprintf(want, sizeof(want), "2: argv: cannot run '%s': Permission denied",
	    plain);
	assert_build_fails(text, NULL, 0, want);
	snprintf(text, sizeof(text), "[command.x]\nargv = %s\n", dir);
	snprintf(want, sizeof(want), "2: argv: '%s' is not a regular file", dir);
	assert_build_fails(text, NULL, 0, want);

	/* The CA file: missing, or not a file. */
	assert_build_fails("[http]\nca_file = /nonexistent/ca.pem\n", NULL, 0,
	    "2: ca_file: cannot read '/nonexistent/ca.pem': No such file or "
	    "directory");
	snprintf(text, sizeof(text), "[http]\nca_file = %s\n", dir);
	snprintf(want, sizeof(want), "2: ca_file: '%s' is not a regular file", dir);
	assert_build_fails(text, NULL, 0, want);

	/* Users and groups, of loomd and of a command. */
	assert_build_fails("loops = 2\nuser = no-such-user-here\n", NULL, 0,
	    "2: user: no such user 'no-such-user-here'");
	assert_build_fails("group = no-such-group-here\n", NULL, 0,
	    "1: group: no such group 'no-such-group-here'");
	snprintf(text, sizeof(text), "[command.x]\nargv = %s\n"
	    "group = no-such-group-here\n", prog);
	assert_build_fails(text, NULL, 0,
	    "3: group: no such group 'no-such-group-here'");

	/* files_root: missing, or not a directory. */
	assert_build_fails("files_root = /nonexistent/files\n", NULL, 0,
	    "1: files_root: '/nonexistent/files': No such file or directory");
	snprintf(text, sizeof(text), "files_root = %s\n", prog);
	snprintf(want, sizeof(want), "1: files_root: '%s' is not a directory", prog);
	assert_build_fails(text, NULL, 0, want);

	/* Set with -o, the message names the option; the last setting counts. */
	snprintf(text, sizeof(text), "files_root = %s\n", dir);
	snprintf(opt, sizeof(opt), "files_root=/nonexistent/files");
	assert_build_fails(text, opts, 1, "-o files_root=/nonexistent/files: "
	    "'/nonexistent/files': No such file or directory");
	snprintf(opt, sizeof(opt), "command.y.argv=/nonexistent/y");
	assert_build_fails("", opts, 1, "-o command.y.argv=/nonexistent/y: "
	    "cannot run '/nonexistent/y': No such file or directory");

	unlink(prog);
	unlink(plain);
	unlink(ca);
}

struct diff_seen {
	char	lines[16][256];
	size_t	n;
};

static void
diff_record(const char *key, const char *was, const char *now, void *arg)
{
	struct diff_seen	*seen = arg;

	assert_true(seen->n < nitems(seen->lines));
	snprintf(seen->lines[seen->n++], sizeof(seen->lines[0]), "%s: %s -> %s",
	    key, was != NULL ? was : "(none)", now != NULL ? now : "(none)");
}

static void
test_diff_names_each_changed_key_with_both_values(void **state)
{
	struct config		*a = load("max_jobs = 5\nlisten = 127.0.0.1:1\n"
				    "[queue.q]\nconcurrency = 1\n[limit.gone]\n"
				    "concurrency = 2\n[command.c]\nargv = /bin/true\n");
	struct config		*b = load("max_jobs = 6\nlisten = 127.0.0.1:1, "
				    "127.0.0.1:2\nshutdown_grace = 1m\n[queue.q]\n"
				    "concurrency = 2\n[limit.new]\nconcurrency = 1\n"
				    "[command.c]\nargv = /bin/false x\n[http]\n"
				    "max_body = 2M\n");
	struct diff_seen	 seen = { .n = 0 };
	static const char *const want[] = {
		"listen: '127.0.0.1:1' -> '127.0.0.1:1 127.0.0.1:2'",
		"max_jobs: 5 -> 6",
		"shutdown_grace: 30s -> 60s",
		"http.max_body: 1M -> 2M",
		"queue.q.concurrency: 1 -> 2",
		"limit.gone:  -> (none)",
		"limit.new: (none) -> ",
		"command.c.argv: '/bin/true' -> '/bin/false x'",
	};
	size_t			 i;

	config_diff(a, b, diff_record, &seen);
	assert_int_equal(seen.n, nitems(want));
	for (i = 0; i < nitems(want); i++)
		assert_string_equal(seen.lines[i], want[i]);
	seen.n = 0;
	config_diff(a, a, diff_record, &seen);
	assert_int_equal(seen.n, 0);
	config_free(a);
	config_free(b);
}

static void
test_keep_copies_a_global_key(void **state)
{
	struct config	*a = load("loops = 3\nlisten = 127.0.0.1:1\nuser = x\n");
	struct config	*b = load("loops = 4\nlisten = 127.0.0.1:2\n");

	assert_int_equal(config_keep(b, a, "loops"), 0);
	assert_int_equal(config_keep(b, a, "listen"), 0);
	assert_int_equal(config_keep(b, a, "user"), 0);
	assert_int_equal(config_keep(b, a, "nonsense"), -1);
	config_free(a);		/* b owns copies */
	assert_int_equal(b->loops, 3);
	assert_string_equal(b->listen[0], "127.0.0.1:1");
	assert_null(b->listen[1]);
	assert_string_equal(b->user, "x");
	config_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_are_the_documented_ones),
		cmocka_unit_test(test_a_file_sets_keys_of_every_section),
		cmocka_unit_test(test_find_by_name_returns_null_for_strangers),
		cmocka_unit_test(test_an_empty_named_section_exists_with_defaults),
		cmocka_unit_test(test_a_missing_file_is_an_error_naming_it),
		cmocka_unit_test(test_unknown_key_names_file_line_and_key),
		cmocka_unit_test(test_unknown_section_is_an_error),
		cmocka_unit_test(test_bad_section_names_are_errors),
		cmocka_unit_test(test_a_repeated_section_is_an_error),
		cmocka_unit_test(test_a_repeated_key_is_an_error),
		cmocka_unit_test(test_lines_must_be_key_equals_value),
		cmocka_unit_test(test_comments_take_whole_lines_only),
		cmocka_unit_test(test_indented_lines_are_ordinary_lines),
		cmocka_unit_test(test_crlf_and_a_byte_order_mark_are_accepted),
		cmocka_unit_test(test_long_lines_are_read_whole),
		cmocka_unit_test(test_a_line_over_a_mebibyte_is_an_error),
		cmocka_unit_test(test_booleans_accept_the_usual_spellings),
		cmocka_unit_test(test_counts_reject_junk_signs_overflow_and_range),
		cmocka_unit_test(test_sizes_are_bytes_or_take_binary_suffixes),
		cmocka_unit_test(test_durations_are_seconds_or_take_suffixes),
		cmocka_unit_test(test_socket_mode_is_octal),
		cmocka_unit_test(test_listen_takes_a_list_with_ipv6_in_brackets),
		cmocka_unit_test(test_bad_listen_entries_are_named),
		cmocka_unit_test(test_empty_listen_means_no_tcp_listener),
		cmocka_unit_test(test_unix_socket_path_must_fit),
		cmocka_unit_test(test_empty_strings_mean_unset),
		cmocka_unit_test(test_log_level_and_target_are_names),
		cmocka_unit_test(test_argv_splits_on_blanks_and_honours_quotes),
		cmocka_unit_test(test_argv_backslashes_escape_as_in_the_shell),
		cmocka_unit_test(test_argv_expands_nothing),
		cmocka_unit_test(test_argv_errors_are_named),
		cmocka_unit_test(test_overrides_win_over_the_file_and_apply_in_order),
		cmocka_unit_test(test_overrides_reach_every_kind_of_key),
		cmocka_unit_test(test_bad_overrides_say_what_is_wrong),
		cmocka_unit_test(test_check_wants_a_listener),
		cmocka_unit_test(test_check_wants_limits_with_concurrency_and_commands_with_argv),
		cmocka_unit_test(test_shipped_config_loads_as_the_defaults),
		cmocka_unit_test(test_shipped_config_shows_the_defaults_when_uncommented),
		cmocka_unit_test(test_every_key_is_documented),
		cmocka_unit_test(test_build_reads_the_file_then_the_assignments),
		cmocka_unit_test(test_build_checks_what_the_config_names_exists),
		cmocka_unit_test(test_diff_names_each_changed_key_with_both_values),
		cmocka_unit_test(test_keep_copies_a_global_key),
	};

	return cmocka_run_group_tests(tests, make_dir, remove_dir);
}
