/*
 * SIGHUP reloads the config file: new queues and new limits take effect
 * while jobs run, keys that need a restart are reported and kept, and a
 * file that does not load changes nothing.  Each reload is followed by
 * READY=1 on the notify socket, which is what the tests wait for.
 */
#include "autoconf.h"

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

static struct daemon	d;

static const char config_v1[] =
    "# the start\n"
    "[limit.db]\n"
    "concurrency = 1\n"
    "[queue.spread]\n";

static const char config_v2[] =
    "loops = 7\n"
    "max_jobs = 500\n"
    "[limit.db]\n"
    "concurrency = 3\n"
    "[limit.cache]\n"
    "concurrency = 2\n"
    "[queue.fresh]\n"
    "concurrency = 1\n"
    "max_pending = 5\n"
    "[queue.spread]\n"
    "concurrency = 2\n"
    "max_pending = 9\n";

static int
setup(void **state)
{
	struct daemon_opts	opts = { .config = config_v1, .notify = true };

	daemon_start_with(&d, &opts);
	return 0;
}

static int
teardown(void **state)
{
	daemon_stop(&d);
	return 0;
}

/* SIGHUP, then the reload's RELOADING=1 and READY=1. */
static void
sighup(void)
{
	char	*msg;

	daemon_signal(&d, SIGHUP);
	msg = daemon_notify_wait(&d, "RELOADING=1");
	free(msg);
	msg = daemon_notify_wait(&d, "READY=1");
	free(msg);
}

static const char *
state_of(struct client *c, json_int_t id)
{
	static char	 state[32];
	json_t		*r = client_call(c, "{\"op\":\"status\",\"job\":%lld}",
			    (long long)id);

	snprintf(state, sizeof(state), "%s", reply_job_state(r));
	json_decref(r);
	return state;
}

/* Read watch events until each of ids[0..n) has been seen running. */
static void
await_running(struct client *w, const json_int_t *ids, size_t n)
{
	bool	seen[8] = { false };
	size_t	left = n, i;
	json_t	*r;

	while (left > 0) {
		r = client_recv(w, HARNESS_WAIT);
		if (strcmp(reply_job_state(r), "running") == 0) {
			for (i = 0; i < n; i++) {
				if (ids[i] == reply_job_id(r) && !seen[i]) {
					seen[i] = true;
					left--;
				}
			}
		}
		json_decref(r);
	}
}

/* Of ids, the one running; the others must be queued. */
static json_int_t
only_one_running(struct client *c, const json_int_t *ids, size_t n)
{
	json_int_t	running = 0;
	size_t		i;

	for (i = 0; i < n; i++) {
		if (strcmp(state_of(c, ids[i]), "running") == 0) {
			assert_int_equal(running, 0);
			running = ids[i];
		} else
			assert_string_equal(state_of(c, ids[i]), "queued");
	}
	assert_true(running != 0);
	return running;
}

static void
test_a_reload_raises_a_limit_and_adds_a_queue_while_jobs_run(void **state)
{
	struct client	 c, w;
	json_int_t	 ids[3], fresh[2], first, rest[2];
	json_t		*r, *q;
	size_t		 i, j;

	client_connect(&c, &d);
	client_connect(&w, &d);
	json_decref(client_call(&w, "{\"op\":\"watch\"}"));
	for (i = 0; i < 3; i++)
		ids[i] = client_submit(&c, "{\"type\":\"sleep\",\"limits\":[\"db\"],"
		    "\"args\":{\"seconds\":3600}}");
	/* One holds the limit; it never lets go, so the others stay queued. */
	for (;;) {
		r = client_recv(&w, HARNESS_WAIT);
		if (strcmp(reply_job_state(r), "running") == 0) {
			first = reply_job_id(r);
			json_decref(r);
			break;
		}
		json_decref(r);
	}
	assert_int_equal(only_one_running(&c, ids, 3), first);
	/* A limit the running configuration does not have. */
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"echo\","
	    "\"limits\":[\"cache\"]}}");
	assert_string_equal(reply_error_code(r), "bad_request");
	json_decref(r);

	daemon_write_config(&d, config_v2);
	sighup();

	/* Raised from 1 to 3: the two waiting jobs start. */
	for (i = 0, j = 0; i < 3; i++) {
		if (ids[i] != first)
			rest[j++] = ids[i];
	}
	await_running(&w, rest, 2);

	/* The new queue has its concurrency. */
	r = client_call(&c, "{\"op\":\"stats\"}");
	q = json_object_get(json_object_get(json_object_get(r, "stats"), "queues"),
	    "fresh");
	assert_non_null(q);
	assert_int_equal(json_integer_value(json_object_get(q, "concurrency")), 1);
	assert_int_equal(json_integer_value(json_object_get(q, "max_pending")), 5);
	/* A queue made without a limit takes max_pending, not concurrency. */
	q = json_object_get(json_object_get(json_object_get(r, "stats"), "queues"),
	    "spread");
	assert_int_equal(json_integer_value(json_object_get(q, "concurrency")), 0);
	assert_int_equal(json_integer_value(json_object_get(q, "max_pending")), 9);
	/* loops needs a restart: still what it was. */
	assert_int_not_equal(json_array_size(json_object_get(json_object_get(r,
	    "stats"), "loops")), 7);
	json_decref(r);
	assert_true(daemon_log_contains(&d, "reload: loops changed from auto to 7; "
	    "that takes a restart"));
	assert_true(daemon_log_contains(&d, "reload: limit.db.concurrency: 1 -> 3"));
	assert_true(daemon_log_contains(&d, "reload: queue.fresh added"));
	assert_true(daemon_log_contains(&d, "reload: queue.spread.concurrency: the "
	    "queue was made without a limit"));
	assert_true(daemon_log_contains(&d, "reload: queue.spread.max_pending: 0 -> 9"));
	assert_false(daemon_log_contains(&d, "queue.spread.concurrency: 0 -> 2"));

	for (i = 0; i < 2; i++)
		fresh[i] = client_submit(&c, "{\"type\":\"sleep\",\"queue\":\"fresh\","
		    "\"args\":{\"seconds\":3600}}");
	for (;;) {
		r = client_recv(&w, HARNESS_WAIT);
		if (strcmp(reply_job_state(r), "running") == 0 &&
		    (reply_job_id(r) == fresh[0] || reply_job_id(r) == fresh[1])) {
			json_decref(r);
			break;
		}
		json_decref(r);
	}
	only_one_running(&c, fresh, 2);
	/* And the new limit is there. */
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"echo\","
	    "\"limits\":[\"cache\"],\"args\":{\"value\":1}}}");
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	client_close(&w);
	client_close(&c);
}

static void
test_a_file_that_does_not_load_changes_nothing(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	daemon_write_config(&d, "[queue.broken]\nconcurrency = 2\n"
	    "[limit.db]\nconcurrency = lots\n");
	sighup();
	assert_true(daemon_log_contains(&d, "loomd.conf:4: concurrency: 'lots' is "
	    "not a whole number; nothing changed"));
	r = client_call(&c, "{\"op\":\"stats\"}");
	assert_null(json_object_get(json_object_get(json_object_get(r, "stats"),
	    "queues"), "broken"));
	json_decref(r);
	/* The daemon goes on, and a good file later is read. */
	daemon_write_config(&d, "[queue.mended]\n");
	sighup();
	r = client_call(&c, "{\"op\":\"stats\"}");
	assert_non_null(json_object_get(json_object_get(json_object_get(r, "stats"),
	    "queues"), "mended"));
	json_decref(r);
	client_close(&c);
}

/*
 * Reload after reload while exec and http jobs made from each configuration
 * run: each replaced configuration is freed once no loop can read it (the
 * log says so), and nothing a job took from it goes with it (ASan).
 */
static void
test_reloads_free_the_configurations_they_replace(void **state)
{
	enum { RELOADS = 40 };
	struct client	 c;
	json_t		*r;
	json_int_t	 exec_ids[RELOADS], http_ids[RELOADS];
	char		 conf[512], freed[128];
	int		 i;

	client_connect(&c, &d);
	for (i = 0; i < RELOADS; i++) {
		snprintf(conf, sizeof(conf), "[command.nap]\n"
		    "argv = /bin/sh -c 'sleep 0.2; echo generation %d'\n"
		    "[http]\nuser_agent = generation-%d\ntimeout = 10s\n"
		    "allow_private = yes\n", i, i);
		daemon_write_config(&d, conf);
		sighup();
		exec_ids[i] = client_submit(&c, "{\"type\":\"exec\",\"args\":"
		    "{\"command\":\"nap\"}}");
		/* Nothing listens on port 1: refused at once. */
		http_ids[i] = client_submit(&c, "{\"type\":\"http\",\"args\":"
		    "{\"url\":\"http://127.0.0.1:1/\"}}");
	}
	for (i = 0; i < RELOADS; i++) {
		r = client_call(&c, "{\"op\":\"result\",\"wait\":true,\"job\":%lld}",
		    (long long)exec_ids[i]);
		assert_string_equal(reply_job_state(r), "done");
		snprintf(conf, sizeof(conf), "generation %d\n", i);
		assert_string_equal(json_str(reply_result(r), "stdout"), conf);
		json_decref(r);
		r = client_call(&c, "{\"op\":\"result\",\"wait\":true,\"job\":%lld}",
		    (long long)http_ids[i]);
		assert_string_equal(reply_job_state(r), "failed");
		assert_string_equal(json_str(reply_error(r), "code"), "http_error");
		json_decref(r);
	}
	snprintf(freed, sizeof(freed), "reload: freed the configuration that "
	    "reload %d replaced", RELOADS);
	assert_true(daemon_log_wait(&d, freed));
	assert_true(daemon_log_contains(&d, "reload: freed the configuration "
	    "that reload 1 replaced"));
	client_close(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_a_reload_raises_a_limit_and_adds_a_queue_while_jobs_run,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_file_that_does_not_load_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reloads_free_the_configurations_they_replace, setup,
		    teardown),
	};

	return cmocka_run_group_tests_name("reload", tests, NULL, NULL);
}
