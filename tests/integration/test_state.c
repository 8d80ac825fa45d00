/*
 * What outlives a loomd on its state_dir without the journal: the boot
 * count, and ids, which are never handed out twice, whether loomd stopped
 * cleanly or was killed.
 */
#include "autoconf.h"

#include <sys/wait.h>

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


static void
start(struct daemon *d, const char *const env[])
{
	struct daemon_opts	opts = { .state_dir = test_state_dir, .env = env };

	daemon_start_with(d, &opts);
}

static json_int_t
ping_boot(const struct daemon *d)
{
	struct client	 c;
	json_t		*r;
	json_int_t	 boot;

	client_connect(&c, d);
	r = client_call(&c, "{\"op\":\"ping\"}");
	boot = json_integer_value(json_object_get(r, "boot"));
	json_decref(r);
	client_close(&c);
	return boot;
}

/* Submits n echo jobs; the highest id, which must be above `above`. */
static json_int_t
submit_some(const struct daemon *d, int n, json_int_t above)
{
	struct client	 c;
	json_t		*r;
	json_int_t	 id, top = 0;
	int		 i;

	client_connect(&c, d);
	for (i = 0; i < n; i++) {
		r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"echo\"}}");
		id = reply_job_id(r);
		json_decref(r);
		assert_true(id > above);
		assert_true(id > top);
		top = id;
	}
	client_close(&c);
	return top;
}

static void
test_boots_are_counted_and_ids_never_repeat(void **unused)
{
	struct daemon	d;
	json_int_t	top;

	start(&d, NULL);
	assert_int_equal(ping_boot(&d), 1);
	top = submit_some(&d, 5, 0);
	daemon_stop(&d);

	start(&d, NULL);
	assert_int_equal(ping_boot(&d), 2);
	top = submit_some(&d, 5, top);
	daemon_kill(&d);

	start(&d, NULL);
	assert_int_equal(ping_boot(&d), 3);
	submit_some(&d, 5, top);
	daemon_stop(&d);
}

/* Past the middle of each reserved block the next is reserved, before any
 * id beyond the ceiling; a kill at any point leaves no id to be reused. */
static void
test_ids_stay_unique_across_reservations_and_kills(void **unused)
{
	static const char *const env[] = { "LOOMD_TEST_IDS_BLOCK=8", NULL };
	struct daemon	d;
	json_int_t	top = 0;
	int		round;

	for (round = 0; round < 4; round++) {
		start(&d, env);
		top = submit_some(&d, 37, top);
		daemon_kill(&d);
	}
}

static void
test_a_newer_state_file_is_refused(void **unused)
{
	char	path[128], out[4096];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/state", test_state_dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("loomd-state 99\nboot 1\nids 5\n", f);
	fclose(f);
	daemon_refused(test_state_dir, out, sizeof(out));
	assert_non_null(strstr(out, "newer than this loomd understands"));
}

static void
test_two_daemons_cannot_share_a_state_dir(void **unused)
{
	struct daemon	d;
	char		out[4096];

	start(&d, NULL);
	daemon_refused(test_state_dir, out, sizeof(out));
	assert_non_null(strstr(out, "another loomd uses state_dir"));
	/* The first goes on as it was. */
	assert_int_equal(ping_boot(&d), 1);
	daemon_stop(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		STATE_DIR_TEST(test_boots_are_counted_and_ids_never_repeat),
		STATE_DIR_TEST(test_ids_stay_unique_across_reservations_and_kills),
		STATE_DIR_TEST(test_a_newer_state_file_is_refused),
		STATE_DIR_TEST(test_two_daemons_cannot_share_a_state_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
