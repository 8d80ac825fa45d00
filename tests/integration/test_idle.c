/*
 * idle_timeout: a connection with nothing in flight for that long is closed;
 * one waiting for a job, or watching, is not.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

static struct daemon	d;

static int
setup(void **state)
{
	static const char *const extra[] = { "-o", "idle_timeout=1.5", NULL };

	daemon_start(&d, extra);
	return 0;
}

static int
teardown(void **state)
{
	daemon_stop(&d);
	return 0;
}

static void
test_an_idle_connection_is_closed(void **state)
{
	struct client	 c;

	client_connect(&c, &d);
	json_decref(client_call(&c, "{\"op\":\"ping\"}"));
	assert_null(client_recv_or_eof(&c, HARNESS_WAIT));
	client_close(&c);
}

/*
 * Waiting on a job outlasts the timeout, and idle time starts once it is
 * answered.  A watcher is never idle: it sees the job end long after.
 */
static void
test_waiting_and_watching_connections_are_not_idle(void **state)
{
	struct client	 c, watcher;
	json_t		*r;
	double		 t0 = now_seconds();

	client_connect(&c, &d);
	client_connect(&watcher, &d);
	json_decref(client_call(&watcher, "{\"op\":\"watch\"}"));
	r = client_call(&c, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":"
	    "{\"type\":\"sleep\",\"args\":{\"seconds\":3,\"result\":\"late\"}}}");
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	/* Well past the idle timeout (libevent's clock may end a sleep a
	 * few milliseconds short of the client's). */
	assert_true(now_seconds() - t0 >= 2.5);
	assert_null(client_recv_or_eof(&c, HARNESS_WAIT));
	for (;;) {
		r = client_recv(&watcher, HARNESS_WAIT);
		if (strcmp(reply_job_state(r), "done") == 0) {
			json_decref(r);
			break;
		}
		json_decref(r);
	}
	r = client_call(&watcher, "{\"op\":\"ping\",\"id\":\"still\"}");
	assert_string_equal(json_string_value(json_object_get(r, "id")), "still");
	json_decref(r);
	client_close(&c);
	client_close(&watcher);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_an_idle_connection_is_closed),
		cmocka_unit_test(test_waiting_and_watching_connections_are_not_idle),
	};

	return cmocka_run_group_tests_name("idle_timeout", tests, setup, teardown);
}
