/* Logging: levels, errno, and the journal's priority prefixes. */
#include "autoconf.h"

#include <sys/stat.h>

#include "testutil.h"
#include "runtime/log.h"

static void
test_level_names_round_trip(void **state)
{
	assert_int_equal(log_level_parse("debug"), LOG_DEBUG);
	assert_int_equal(log_level_parse("info"), LOG_INFO);
	assert_int_equal(log_level_parse("warning"), LOG_WARNING);
	assert_int_equal(log_level_parse("warn"), LOG_WARNING);
	assert_int_equal(log_level_parse("error"), LOG_ERR);
	assert_int_equal(log_level_parse("loud"), -1);
	assert_string_equal(log_level_name(LOG_NOTICE), "notice");
}

static void
test_warn_appends_strerror_and_preserves_errno(void **state)
{
	char	*out;

	log_init("loomtest", LOG_INFO, LOG_TO_STDERR);
	capture_stderr();
	errno = ENOENT;
	log_warn("open %s", "/nowhere");
	assert_int_equal(errno, ENOENT);
	out = stderr_captured();
	assert_string_equal(out, "loomtest: open /nowhere: No such file or directory\n");
}

static void
test_lines_below_the_level_are_dropped(void **state)
{
	char	*out;

	log_init("loomtest", LOG_INFO, LOG_TO_STDERR);
	capture_stderr();
	log_debug("hidden %d", 1);
	log_info("shown %d", 2);
	log_set_level(LOG_DEBUG);
	log_debug("now shown %d", 3);
	out = stderr_captured();
	assert_string_equal(out, "loomtest: shown 2\nloomtest: now shown 3\n");
	log_set_level(LOG_INFO);
}

static void
test_journal_stream_gets_priority_prefixes(void **state)
{
	struct stat	 st;
	char		 env[64], *out;

	capture_stderr();
	assert_int_equal(fstat(STDERR_FILENO, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	log_init("loomtest", LOG_INFO, LOG_TO_STDERR);
	log_warnx("disk %s", "full");
	log_info("hello");
	out = stderr_captured();
	unsetenv("JOURNAL_STREAM");
	log_init("loomtest", LOG_INFO, LOG_TO_STDERR);
	assert_string_equal(out, "<4>disk full\n<6>hello\n");
}

/* A reload may move logging to syslog and back while loomd runs. */
static void
test_the_target_can_change_while_running(void **state)
{
	char	*out;

	log_init("loomtest", LOG_INFO, LOG_TO_STDERR);
	capture_stderr();
	log_info("before");
	log_set_target(LOG_TO_SYSLOG);
	assert_int_equal(log_get_target(), LOG_TO_SYSLOG);
	log_info("to syslog, not stderr");
	log_set_target(LOG_TO_STDERR);
	log_info("after");
	out = stderr_captured();
	assert_string_equal(out, "loomtest: before\nloomtest: after\n");
}

static void
test_long_lines_are_cut_not_overrun(void **state)
{
	char	 big[5000], *out;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	capture_stderr();
	log_info("%s", big);
	out = stderr_captured();
	assert_true(strlen(out) < 2100);
	assert_int_equal(out[strlen(out) - 1], '\n');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_level_names_round_trip),
		cmocka_unit_test(test_warn_appends_strerror_and_preserves_errno),
		cmocka_unit_test(test_lines_below_the_level_are_dropped),
		cmocka_unit_test(test_journal_stream_gets_priority_prefixes),
		cmocka_unit_test(test_the_target_can_change_while_running),
		cmocka_unit_test(test_long_lines_are_cut_not_overrun),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
