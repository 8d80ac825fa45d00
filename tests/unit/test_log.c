/* Logging: levels, errno, and the journal's priority prefixes. */
#include "autoconf.h"

#include <sys/stat.h>

#include "testutil.h"
#include "runtime/log.h"
#include "runtime/util.h"

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

/* log_format = json: one object a line, fields as members, escaped. */
static void
test_json_lines_carry_level_message_and_fields(void **state)
{
	struct log_field	 f[] = {
		{ "id", LOG_FIELD_INT, NULL, 42, 0 },
		{ "name", LOG_FIELD_STR, "a \"quoted\"\nname", 0, 0 },
		{ "none", LOG_FIELD_STR, NULL, 0, 0 },
		{ "duration", LOG_FIELD_NUM, NULL, 0, 1.5 },
	};
	char			*out;

	log_init("loomtest", LOG_INFO, LOG_TO_STDERR);
	log_set_format(LOG_FORMAT_JSON);
	capture_stderr();
	log_warnx("disk %s", "full");
	log_fields(LOG_INFO, "job 42 failed", f, nitems(f));
	out = stderr_captured();
	log_set_format(LOG_FORMAT_TEXT);
	assert_string_equal(out,
	    "{\"level\":\"warning\",\"msg\":\"disk full\"}\n"
	    "{\"level\":\"info\",\"msg\":\"job 42 failed\",\"id\":42,"
	    "\"name\":\"a \\\"quoted\\\"\\nname\",\"duration\":1.5}\n");
}

/* Text: key=value after the message, quoted only when it must be. */
static void
test_text_fields_are_key_value(void **state)
{
	struct log_field	 f[] = {
		{ "type", LOG_FIELD_STR, "sleep", 0, 0 },
		{ "error_message", LOG_FIELD_STR, "it broke", 0, 0 },
		{ "attempt", LOG_FIELD_INT, NULL, 2, 0 },
	};
	char			*out;

	log_init("loomtest", LOG_INFO, LOG_TO_STDERR);
	capture_stderr();
	log_fields(LOG_INFO, "job 7 failed", f, nitems(f));
	log_fields(LOG_DEBUG, "not shown", f, nitems(f));
	out = stderr_captured();
	assert_string_equal(out, "loomtest: job 7 failed type=sleep "
	    "error_message=\"it broke\" attempt=2\n");
}

/* Outside the journal, lines begin with an RFC 3339 UTC time. */
static void
test_stamps_begin_lines_off_the_journal(void **state)
{
	char	*out;

	log_init("loomtest", LOG_INFO, LOG_TO_STDERR);
	log_set_stamps(true);
	capture_stderr();
	log_info("hello");
	log_set_format(LOG_FORMAT_JSON);
	log_info("json");
	out = stderr_captured();
	log_set_format(LOG_FORMAT_TEXT);
	log_set_stamps(false);
	/* 2026-11-30T06:05:01.123Z loomtest: hello */
	assert_int_equal(strlen(out), 24 + strlen(" loomtest: hello\n") +
	    strlen("{\"ts\":\"\",\"level\":\"info\",\"msg\":\"json\"}\n") + 24);
	assert_int_equal(out[4], '-');
	assert_int_equal(out[10], 'T');
	assert_int_equal(out[23], 'Z');
	assert_memory_equal(out + 24, " loomtest: hello\n{\"ts\":\"", 24);
	assert_non_null(strstr(out, "Z\",\"level\":\"info\",\"msg\":\"json\"}\n"));
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
		cmocka_unit_test(test_json_lines_carry_level_message_and_fields),
		cmocka_unit_test(test_text_fields_are_key_value),
		cmocka_unit_test(test_stamps_begin_lines_off_the_journal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
