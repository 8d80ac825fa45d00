/*
 * The cumulative job counters of `stats` survive restarts with the journal:
 * after a clean stop, a kill -9, a compaction, and with another number of
 * loops, they are what they were; with journal=off they start from zero.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"


static const char *const counter_keys[] = {
	"submitted", "done", "failed", "cancelled", "timed_out", "retried", NULL
};

static void
start_with(struct daemon *d, const char *loops, const char *const env[])
{
	const char *const	 extra[] = { "-o", loops, NULL };
	struct daemon_opts	 opts = { .state_dir = test_state_dir, .extra = extra,
				    .env = env };

	daemon_start_with(d, &opts);
}

static void
submit_wait(struct client *c, const char *spec)
{
	json_t	*r = client_call(c, "{\"op\":\"submit\",\"wait\":true,\"job\":%s}",
		    spec);

	assert_non_null(reply_job_state(r));
	json_decref(r);
}

/*
 * Every way a job's counters move, on several queues and types: done,
 * failed after a retry, timed out, cancelled, and one left pending.
 */
static void
churn(struct client *c)
{
	json_int_t	 id;
	json_t		*r;
	int		 i;

	for (i = 0; i < 5; i++)
		submit_wait(c, "{\"type\":\"echo\",\"queue\":\"a\"}");
	submit_wait(c, "{\"type\":\"sleep\",\"queue\":\"b\",\"retries\":1,"
	    "\"retry_delay\":0,\"args\":{\"seconds\":0,\"error\":\"no\"}}");
	submit_wait(c, "{\"type\":\"sleep\",\"queue\":\"b\",\"timeout\":0.01,"
	    "\"args\":{\"seconds\":60}}");
	submit_wait(c, "{\"type\":\"echo\",\"queue\":\"b\"}");
	id = client_submit(c, "{\"type\":\"sleep\",\"queue\":\"c\",\"args\":"
	    "{\"seconds\":60}}");
	json_decref(client_call(c, "{\"op\":\"cancel\",\"job\":%lld}",
	    (long long)id));
	r = client_call(c, "{\"op\":\"result\",\"wait\":true,\"job\":%lld}",
	    (long long)id);
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	client_submit(c, "{\"type\":\"sleep\",\"queue\":\"c\",\"delay\":600,"
	    "\"args\":{\"seconds\":1}}");
}

/* The counters of `stats`, per queue and per type, and nothing else. */
static json_t *
counts(struct client *c)
{
	json_t		*r = client_call(c, "{\"op\":\"stats\"}"), *stats, *out;
	json_t		*by, *o, *n;
	const char	*what[] = { "queues", "types" }, *name;
	size_t		 i, k;

	stats = json_object_get(r, "stats");
	out = json_object();
	for (i = 0; i < 2; i++) {
		by = json_object();
		json_object_foreach(json_object_get(stats, what[i]), name, o) {
			n = json_object();
			for (k = 0; counter_keys[k] != NULL; k++)
				json_object_set(n, counter_keys[k],
				    json_object_get(o, counter_keys[k]));
			json_object_set_new(by, name, n);
		}
		json_object_set_new(out, what[i], by);
	}
	json_decref(r);
	return out;
}

static json_int_t
count(const json_t *cs, const char *by, const char *name, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(
	    json_object_get(cs, by), name), key));
}

static void
assert_counts_equal(const json_t *want, const json_t *got)
{
	char	*w, *g;

	if (!json_equal(want, got)) {
		w = json_dumps(want, JSON_SORT_KEYS);
		g = json_dumps(got, JSON_SORT_KEYS);
		print_error("counters: want %s\n               got  %s\n", w, g);
		free(w);
		free(g);
		fail();
	}
}

/* What one churn counts, once. */
static void
assert_one_churn(const json_t *cs, json_int_t times)
{
	assert_int_equal(count(cs, "queues", "a", "submitted"), 5 * times);
	assert_int_equal(count(cs, "queues", "a", "done"), 5 * times);
	assert_int_equal(count(cs, "queues", "b", "submitted"), 3 * times);
	assert_int_equal(count(cs, "queues", "b", "done"), times);
	assert_int_equal(count(cs, "queues", "b", "failed"), times);
	assert_int_equal(count(cs, "queues", "b", "retried"), times);
	assert_int_equal(count(cs, "queues", "b", "timed_out"), times);
	assert_int_equal(count(cs, "queues", "c", "cancelled"), times);
	/* The compaction test's bulk is echo jobs too. */
	assert_int_equal(count(cs, "types", "echo", "done"), 6 * times +
	    count(cs, "queues", "bulk", "done"));
	assert_int_equal(count(cs, "types", "sleep", "retried"), times);
}

/* The counters restart as they were after a clean stop and after a kill -9,
 * add up over boots, and do not care how many loops counted them. */
static void
test_counters_survive_restarts(void **unused)
{
	struct daemon	 d;
	struct client	 c;
	json_t		*before, *after;

	start_with(&d, "loops=2", NULL);
	client_connect(&c, &d);
	churn(&c);
	before = counts(&c);
	assert_one_churn(before, 1);
	client_close(&c);
	daemon_stop(&d);

	start_with(&d, "loops=2", NULL);
	client_connect(&c, &d);
	after = counts(&c);
	assert_counts_equal(before, after);
	json_decref(before);
	json_decref(after);
	churn(&c);
	before = counts(&c);
	/* The pending job of the first boot is there again, not counted again. */
	assert_int_equal(count(before, "queues", "c", "submitted"), 4);
	assert_one_churn(before, 2);
	client_close(&c);
	daemon_kill(&d);

	start_with(&d, "loops=3", NULL);
	client_connect(&c, &d);
	after = counts(&c);
	assert_counts_equal(before, after);
	json_decref(before);
	json_decref(after);
	churn(&c);
	before = counts(&c);
	assert_one_churn(before, 3);
	client_close(&c);
	daemon_kill(&d);

	start_with(&d, "loops=1", NULL);
	client_connect(&c, &d);
	after = counts(&c);
	assert_counts_equal(before, after);
	json_decref(before);
	json_decref(after);
	client_close(&c);
	daemon_stop(&d);
}

/* Wait until the journal has compacted down to its snapshot and segment,
 * churning to make it come. */
static void
compact(struct client *c)
{
	json_t	*r, *journal;
	char	*batch, *p;
	int	 i;

	p = batch = malloc(100 * 200);
	for (i = 0; i < 100; i++)
		p += sprintf(p, "%s{\"type\":\"echo\",\"queue\":\"bulk\",\"ttl\":0,"
		    "\"args\":{\"value\":\"%090d\"}}", i ? "," : "", i);
	for (i = 0; i < 10000; i++) {
		json_decref(client_call(c, "{\"op\":\"submit\",\"wait\":true,"
		    "\"jobs\":[%s]}", batch));
		r = client_call(c, "{\"op\":\"stats\"}");
		journal = json_object_get(json_object_get(r, "stats"), "journal");
		if (json_number_value(json_object_get(journal, "last_compaction")) > 0 &&
		    json_integer_value(json_object_get(journal, "segments")) <= 2) {
			json_decref(r);
			break;
		}
		json_decref(r);
	}
	assert_true(i < 10000);
	free(batch);
}

/* A snapshot keeps them though it replaces the segments that had them,
 * including the earlier boots' (kept as the base of the boot). */
static void
test_counters_survive_compaction(void **unused)
{
	static const char *const env[] = { "LOOMD_TEST_COMPACT_BYTES=65536", NULL };
	struct daemon	 d;
	struct client	 c;
	json_t		*before, *after;

	start_with(&d, "loops=2", env);
	client_connect(&c, &d);
	churn(&c);
	client_close(&c);
	daemon_stop(&d);

	start_with(&d, "loops=3", env);
	client_connect(&c, &d);
	churn(&c);
	compact(&c);
	churn(&c);
	before = counts(&c);
	assert_one_churn(before, 3);
	assert_true(count(before, "queues", "bulk", "done") >= 100);
	client_close(&c);
	daemon_kill(&d);

	start_with(&d, "loops=1", env);
	client_connect(&c, &d);
	after = counts(&c);
	assert_counts_equal(before, after);
	json_decref(after);
	/* A second compaction in this boot, then a clean restart. */
	compact(&c);
	after = counts(&c);
	assert_true(count(after, "queues", "bulk", "done") >
	    count(before, "queues", "bulk", "done"));
	json_decref(before);
	before = after;
	client_close(&c);
	daemon_stop(&d);

	start_with(&d, "loops=2", NULL);
	client_connect(&c, &d);
	after = counts(&c);
	assert_counts_equal(before, after);
	json_decref(before);
	json_decref(after);
	client_close(&c);
	daemon_stop(&d);
}

/* Without the journal nothing is kept: they start from zero, as documented. */
static void
test_without_the_journal_they_start_from_zero(void **unused)
{
	const char *const	 extra[] = { "-o", "journal=off", NULL };
	struct daemon_opts	 opts = { .state_dir = test_state_dir, .extra = extra };
	struct daemon		 d;
	struct client		 c;
	json_t			*cs;

	daemon_start_with(&d, &opts);
	client_connect(&c, &d);
	submit_wait(&c, "{\"type\":\"echo\",\"queue\":\"a\"}");
	cs = counts(&c);
	assert_int_equal(count(cs, "queues", "a", "done"), 1);
	json_decref(cs);
	client_close(&c);
	daemon_stop(&d);

	daemon_start_with(&d, &opts);
	client_connect(&c, &d);
	cs = counts(&c);
	assert_null(json_object_get(json_object_get(cs, "queues"), "a"));
	assert_null(json_object_get(json_object_get(cs, "types"), "echo"));
	json_decref(cs);
	client_close(&c);
	daemon_stop(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		STATE_DIR_TEST(test_counters_survive_restarts),
		STATE_DIR_TEST(test_counters_survive_compaction),
		STATE_DIR_TEST(test_without_the_journal_they_start_from_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
