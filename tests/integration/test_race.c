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

/* A job that held a key, as its final view shows it. */
struct holder {
	json_int_t	id;
	int		key;
	double		started;
	double		finished;
};

static int
holder_cmp(const void *a, const void *b)
{
	const struct holder	*x = a, *y = b;

	if (x->key != y->key)
		return x->key - y->key;
	return x->started < y->started ? -1 : x->started > y->started;
}

static void
holder_add(struct holder *h, size_t *n, const json_t *view, int key)
{
	json_int_t	id = json_integer_value(json_object_get(view, "id"));
	size_t		i;

	for (i = 0; i < *n; i++) {
		if (h[i].id == id) {
			/* The same job answers for the same key only. */
			assert_int_equal(h[i].key, key);
			return;
		}
	}
	h[*n].id = id;
	h[*n].key = key;
	h[*n].started = json_num(view, "started_at");
	h[*n].finished = json_num(view, "finished_at");
	(*n)++;
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
	enum { CHUNK = 50, PER_CONN = 400, ROUNDS = 20, NKEYS = PER_CONN / 2 };
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
	qsort(h, nh, sizeof(*h), holder_cmp);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_live_job_per_key_while_holders_expire),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
