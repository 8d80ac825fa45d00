/*
 * Races between loops, provoked on purpose: several connections spread over
 * two loops work on the same keys and the same jobs at once, with ttl 0 so
 * that jobs expire while others still refer to them.  Every test is bounded
 * by a count of requests, never by time, and waits only on replies.  The
 * sanitizer builds run these too: that is where a lost race shows.
 */
#include "autoconf.h"

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

#define NCONN	4	/* round robin: two on each loop */

static struct daemon	d;

static int
setup(void **state)
{
	static const char *const extra[] = { "-o", "loops=2", NULL };

	daemon_start(&d, extra);
	return 0;
}

static int
teardown(void **state)
{
	daemon_stop(&d);
	return 0;
}

static double
json_num(const json_t *obj, const char *key)
{
	json_t	*v = json_object_get(obj, key);

	assert_true(json_is_number(v));
	return json_number_value(v);
}

/* A job that answered for a key, as its final view shows it. */
struct holder {
	json_int_t	id;
	int		key;
	double		started;
	double		finished;
};

static int
holder_by_id(const void *a, const void *b)
{
	const struct holder	*x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int
holder_by_key_start(const void *a, const void *b)
{
	const struct holder	*x = a, *y = b;

	if (x->key != y->key)
		return x->key - y->key;
	return x->started < y->started ? -1 : x->started > y->started;
}

static void
holder_add(struct holder *h, size_t *n, const json_t *view, int key)
{
	h[*n].id = json_integer_value(json_object_get(view, "id"));
	h[*n].key = key;
	h[*n].started = json_num(view, "started_at");
	h[*n].finished = json_num(view, "finished_at");
	(*n)++;
}

/* One entry per job; a job answers for one key only.  Returns how many. */
static size_t
holder_unique(struct holder *h, size_t n)
{
	size_t	i, m = 0;

	qsort(h, n, sizeof(*h), holder_by_id);
	for (i = 0; i < n; i++) {
		if (m > 0 && h[m - 1].id == h[i].id) {
			assert_int_equal(h[m - 1].key, h[i].key);
			continue;
		}
		h[m++] = h[i];
	}
	return m;
}

/*
 * Idempotency keys while their holders expire.  Four connections on two
 * loops pipeline waiting submits of ttl-0 sleeps, each key twice in a row on
 * every connection, so that both loops reach a fresh key at about the same
 * time.  A submit either finds the key's live holder (and waits for it) or
 * makes a new job that holds the key; so the jobs that answer for one key
 * never overlap: each starts only after the one before it finished and let
 * the key go.  A submit that lost the race with a new holder's registration,
 * or with an old one's expiry, used to make a job that did not hold the key,
 * and the next submit of that key a second one beside it.
 */
static void
test_one_live_job_per_key_while_holders_expire(void **state)
{
	enum { CHUNK = 50, PER_CONN = 400, ROUNDS = 40, NKEYS = PER_CONN / 2 };
	struct client	 c[NCONN];
	struct holder	*h;
	size_t		 nh = 0, i;
	json_t		*r, *view;
	int		 round, k, n, sent, key, overlaps = 0;

	h = calloc(NCONN * PER_CONN * ROUNDS, sizeof(*h));
	for (k = 0; k < NCONN; k++)
		client_connect_ready(&c[k], &d);
	for (round = 0; round < ROUNDS; round++) {
		for (sent = 0; sent < PER_CONN; sent += CHUNK) {
			/* Every connection gets the chunk before any reply is read. */
			for (k = 0; k < NCONN; k++) {
				for (n = sent; n < sent + CHUNK; n++)
					client_send(&c[k], "{\"op\":\"submit\",\"id\":%d,"
					    "\"wait\":true,\"job\":{\"type\":\"sleep\","
					    "\"key\":\"race-%d-%d\",\"ttl\":0,\"args\":"
					    "{\"seconds\":0}}}", n / 2, round, n / 2);
			}
			for (k = 0; k < NCONN; k++) {
				for (n = 0; n < CHUNK; n++) {
					r = client_recv(&c[k], HARNESS_WAIT);
					assert_true(json_is_true(json_object_get(r, "ok")));
					view = reply_job(r);
					assert_non_null(view);
					assert_string_equal(json_str(view, "state"), "done");
					key = (int)json_integer_value(json_object_get(r, "id"));
					holder_add(h, &nh, view, round * NKEYS + key);
					json_decref(r);
				}
			}
		}
	}
	/* Per key, in order of start: each began after the one before ended. */
	nh = holder_unique(h, nh);
	qsort(h, nh, sizeof(*h), holder_by_key_start);
	for (i = 1; i < nh; i++) {
		if (h[i].key == h[i - 1].key && h[i].started < h[i - 1].finished) {
			fprintf(stderr, "key %d: job %lld started at %.6f, before job "
			    "%lld finished at %.6f\n", h[i].key, (long long)h[i].id,
			    h[i].started, (long long)h[i - 1].id, h[i - 1].finished);
			overlaps++;
		}
	}
	assert_int_equal(overlaps, 0);
	/* Each key had a job, and most submits found one. */
	assert_true(nh >= (size_t)(NKEYS * ROUNDS));
	assert_true(nh < (size_t)(NCONN * PER_CONN * ROUNDS));
	for (k = 0; k < NCONN; k++)
		client_close(&c[k]);
	free(h);
}

/* A job view as every reply and event carries it: well-formed throughout. */
static void
assert_view(const json_t *view)
{
	static const char *const states[] = { "pending", "queued", "running",
	    "done", "failed", "cancelled", "timed_out" };
	const char	*state, *code, *p;
	json_t		*error;
	size_t		 i;

	assert_true(json_is_object(view));
	assert_true(json_integer_value(json_object_get(view, "id")) > 0);
	state = json_str(view, "state");
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		if (strcmp(state, states[i]) == 0)
			break;
	}
	assert_true(i < sizeof(states) / sizeof(states[0]));
	if ((error = json_object_get(view, "error")) == NULL)
		return;
	/* An error code is a word of the protocol, never borrowed memory. */
	code = json_str(error, "code");
	assert_true(*code != '\0');
	for (p = code; *p != '\0'; p++)
		assert_true((*p >= 'a' && *p <= 'z') || *p == '_');
	assert_true(json_is_string(json_object_get(error, "message")));
}

/* One reply: ok with what its op answers, or an error a race may cause. */
static void
assert_reply(const json_t *r)
{
	json_t	*ok = json_object_get(r, "ok"), *jobs, *v;
	size_t	 i;

	assert_true(json_is_boolean(ok));
	if (json_is_false(ok)) {
		const char *code = reply_error_code(r);

		assert_non_null(code);
		if (strcmp(code, "not_found") != 0 && strcmp(code, "invalid_state") != 0)
			fail_msg("unexpected error %s: %s", code, json_str(json_object_get(r,
			    "error"), "message"));
		assert_true(json_is_string(json_object_get(json_object_get(r,
		    "error"), "message")));
		return;
	}
	if ((v = json_object_get(r, "job")) != NULL)
		assert_view(v);
	if ((jobs = json_object_get(r, "jobs")) != NULL) {
		assert_true(json_is_array(jobs));
		json_array_foreach(jobs, i, v)
			assert_view(v);
	}
}

/*
 * A hostile mix across two loops, as the issue that found two
 * use-after-frees described it: connection 0 parks jobs so that its new
 * ones go to the other loop; then every connection pipelines, round after
 * round, ttl-0 submits, gathers and sequences whose children fail with ttl
 * 0, cancels of the ids about to be given out (racing their hand-over to
 * the other loop), cancels, statuses and results of the jobs another
 * connection submitted the round before (often expiring just then), and
 * lists.  Every reply
 * must be well-formed, every error one a race may cause (not_found,
 * invalid_state), and the daemon must stay up and exit 0 (teardown).
 */
static void
test_submits_cancels_and_expiries_across_loops(void **state)
{
	enum { ROUNDS = 40, PER_ROUND = 6, PARKED = 200, AHEAD = 80 };
	struct client	 c[NCONN];
	json_int_t	 ids[NCONN][PER_ROUND], prev[NCONN][PER_ROUND], last, next;
	json_t		*r, *jobs, *parked;
	char		*batch, *p;
	int		 round, k, i, n, other, sent[NCONN];

	for (k = 0; k < NCONN; k++)
		client_connect_ready(&c[k], &d);
	p = batch = malloc(96 * PARKED);
	for (i = 0; i < PARKED; i++)
		p += sprintf(p, "%s{\"type\":\"sleep\",\"delay\":3600,\"ttl\":0,"
		    "\"args\":{\"seconds\":0}}", i ? "," : "");
	parked = client_call(&c[0], "{\"op\":\"submit\",\"jobs\":[%s]}", batch);
	assert_reply(parked);
	jobs = json_object_get(parked, "jobs");
	last = next = json_integer_value(json_object_get(json_array_get(jobs,
	    PARKED - 1), "id"));
	free(batch);
	memset(prev, 0, sizeof(prev));

	for (round = 0; round < ROUNDS; round++) {
		/* Every connection sends its round before any reads: the loops
		 * work on them at once. */
		for (k = 0; k < NCONN; k++) {
			other = (k + 1) % NCONN;
			sent[k] = 0;
			/* Ids about to be given out, by this round's submits on
			 * either loop: cancels race their hand-over and start. */
			for (i = k % 2; i < AHEAD; i += 2) {
				client_send(&c[k], "{\"op\":\"cancel\",\"job\":%lld}",
				    (long long)(last + 1 + i));
				sent[k]++;
			}
			client_send(&c[k], "{\"op\":\"submit\",\"id\":\"batch\",\"jobs\":["
			    "{\"type\":\"sleep\",\"ttl\":0,\"args\":{\"seconds\":0}},"
			    "{\"type\":\"sleep\",\"ttl\":0,\"args\":{\"seconds\":0.002}},"
			    "{\"type\":\"echo\",\"ttl\":0,\"args\":{\"value\":\"hunter%d\"}},"
			    "{\"type\":\"sleep\",\"ttl\":0,\"args\":{\"seconds\":0,"
			    "\"error\":\"boom\"}},"
			    "{\"type\":\"gather\",\"ttl\":0,\"args\":{\"jobs\":["
			    "{\"type\":\"sleep\",\"ttl\":0,\"args\":{\"seconds\":0,"
			    "\"error\":\"boom\"}},{\"type\":\"echo\",\"ttl\":0}]}},"
			    "{\"type\":\"sequence\",\"ttl\":0,\"args\":{\"jobs\":["
			    "{\"type\":\"sleep\",\"ttl\":0,\"args\":{\"seconds\":0,"
			    "\"error\":\"boom\"}},{\"type\":\"echo\"}]}}]}", k);
			client_send(&c[k], "{\"op\":\"submit\",\"wait\":true,\"job\":"
			    "{\"type\":\"gather\",\"ttl\":0,\"args\":{\"jobs\":["
			    "{\"type\":\"sleep\",\"ttl\":0,\"args\":{\"seconds\":0,"
			    "\"error\":\"boom\"}},{\"type\":\"sleep\",\"ttl\":0,"
			    "\"args\":{\"seconds\":0.001}}]}}}");
			sent[k] += 2;
			for (i = 0; i < PER_ROUND && prev[other][i] > 0; i++) {
				client_send(&c[k], "{\"op\":\"cancel\",\"job\":%lld,"
				    "\"reason\":\"race\"}", (long long)prev[other][i]);
				client_send(&c[k], "{\"op\":\"status\",\"job\":%lld}",
				    (long long)prev[other][i]);
				client_send(&c[k], "{\"op\":\"result\",\"job\":%lld}",
				    (long long)prev[other][i]);
				sent[k] += 3;
			}
			client_send(&c[k], "{\"op\":\"list\",\"limit\":20}");
			client_send(&c[k], "{\"op\":\"list\",\"state\":\"failed\","
			    "\"limit\":50}");
			sent[k] += 2;
		}
		/* Every answer; the batch's ids are the next round's targets. */
		for (k = 0; k < NCONN; k++) {
			for (n = 0; n < sent[k]; n++) {
				r = client_recv(&c[k], HARNESS_WAIT);
				assert_reply(r);
				if (json_is_string(json_object_get(r, "id"))) {
					jobs = json_object_get(r, "jobs");
					assert_int_equal(json_array_size(jobs), PER_ROUND);
					for (i = 0; i < PER_ROUND; i++) {
						ids[k][i] = json_integer_value(json_object_get(
						    json_array_get(jobs, i), "id"));
						if (ids[k][i] > next)
							next = ids[k][i];
					}
				}
				json_decref(r);
			}
		}
		memcpy(prev, ids, sizeof(prev));
		last = next;
	}
	r = client_call(&c[1], "{\"op\":\"stats\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	jobs = json_object_get(parked, "jobs");
	for (i = 0; i < PARKED; i++) {
		r = client_call(&c[0], "{\"op\":\"cancel\",\"job\":%lld}",
		    json_integer_value(json_object_get(json_array_get(jobs, i), "id")));
		assert_reply(r);
		json_decref(r);
	}
	json_decref(parked);
	for (k = 0; k < NCONN; k++)
		client_close(&c[k]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_live_job_per_key_while_holders_expire),
		cmocka_unit_test(test_submits_cancels_and_expiries_across_loops),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
