/* Futures: one outcome, every callback exactly once on its own loop. */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "testutil.h"
#include "runtime/future.h"
#include "runtime/loop.h"

static void
test_result_is_kept_and_first_completion_wins(void **state)
{
	struct future	*f = future_new(NULL);

	assert_int_equal(future_state(f), FUTURE_PENDING);
	assert_null(future_result(f));
	assert_int_equal(future_set_result(f, json_integer(42)), 0);
	assert_int_equal(future_set_result(f, json_integer(7)), -1);
	assert_int_equal(future_fail(f, "failed", "too late"), -1);
	assert_false(future_cancel(f, NULL));
	assert_int_equal(future_state(f), FUTURE_DONE);
	assert_int_equal(json_integer_value(future_result(f)), 42);
	assert_null(future_error(f));
	future_unref(f);
}

static void
test_failure_carries_code_message_and_detail(void **state)
{
	struct future	*f = future_new(NULL);
	struct error	 e = { 0 };

	error_set(&e, "exit_status", "exited with %d", 3);
	error_set_detail(&e, json_pack("{s:i}", "exit_code", 3));
	assert_int_equal(future_set_error(f, &e), 0);
	assert_null(e.message);		/* moved into the future */
	assert_int_equal(future_state(f), FUTURE_FAILED);
	assert_string_equal(future_error(f)->code, "exit_status");
	assert_string_equal(future_error(f)->message, "exited with 3");
	assert_int_equal(json_integer_value(json_object_get(future_error(f)->detail,
	    "exit_code")), 3);
	future_unref(f);
}

struct cb_record {
	atomic_int	 calls;
	struct loop	*ran_on;
	sem_t		 ran;
};

static void
record_cb(struct future *f, void *arg)
{
	struct cb_record	*r = arg;

	r->ran_on = loop_current();
	atomic_fetch_add(&r->calls, 1);
	sem_post(&r->ran);
}

struct register_args {
	struct future		*f;
	struct cb_record	*r;
};

static void
register_here(void *arg)
{
	struct register_args	*a = arg;

	future_on_done(a->f, loop_current(), record_cb, a->r);
}

static void
test_callbacks_before_and_after_completion_run_once_on_their_loop(void **state)
{
	struct loop		*a = start_loop(0), *b = start_loop(1);
	struct future		*f = future_new(NULL);
	struct cb_record	 before = { 0 }, after = { 0 };

	sem_init(&before.ran, 0, 0);
	sem_init(&after.ran, 0, 0);
	run_on(a, register_here, &(struct register_args){ f, &before });
	future_set_result(f, json_true());
	run_on(b, register_here, &(struct register_args){ f, &after });
	sem_wait_or_fail(&before.ran);
	sem_wait_or_fail(&after.ran);

	/* Let both loops run anything else they have, then count. */
	finish_loop(a);
	finish_loop(b);
	assert_int_equal(atomic_load(&before.calls), 1);
	assert_int_equal(atomic_load(&after.calls), 1);
	assert_ptr_equal(before.ran_on, a);
	assert_ptr_equal(after.ran_on, b);
	future_unref(f);
}

static void
count_cb(struct future *f, void *arg)
{
	atomic_fetch_add((atomic_uint *)arg, 1);
}

static int	ran[16], nran;

static void
order_cb(struct future *f, void *arg)
{
	assert_true(nran < 16);
	ran[nran++] = (int)(intptr_t)arg;
}

/*
 * A callback removed by its handle, from the head, the middle or the tail
 * of the list, never runs; the others run once each, in order.  The handle
 * names one registration: the same function and argument twice are two.
 */
static void
test_removed_callbacks_never_run(void **state)
{
	static const int	 expected[] = { 2, 3, 1, 6 };
	struct future		*f = future_new(NULL);
	struct future_link	*h[8];
	int			 i;

	nran = 0;
	for (i = 0; i < 5; i++)
		h[i] = future_on_done_handle(f, NULL, order_cb, (void *)(intptr_t)i);
	h[5] = future_on_done_handle(f, NULL, order_cb, (void *)(intptr_t)1);
	assert_true(future_remove_done(f, h[1]));
	assert_true(future_remove_done(f, h[4]));	/* the last but one */
	assert_true(future_remove_done(f, h[0]));
	/* Added after a removal next to the tail: the list still ends right. */
	h[6] = future_on_done_handle(f, NULL, order_cb, (void *)(intptr_t)6);
	assert_int_equal(nran, 0);
	future_set_result(f, NULL);
	assert_int_equal(nran, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(ran[i], expected[i]);
	/* Given back after it ran: false, and nothing runs again. */
	assert_false(future_remove_done(f, h[2]));
	assert_false(future_remove_done(f, h[3]));
	assert_false(future_remove_done(f, h[5]));
	assert_false(future_remove_done(f, h[6]));
	/* Registered once complete: it runs at once (no loop). */
	h[7] = future_on_done_handle(f, NULL, order_cb, (void *)(intptr_t)7);
	assert_int_equal(nran, 5);
	assert_int_equal(ran[4], 7);
	assert_false(future_remove_done(f, h[7]));
	assert_false(future_remove_done(f, NULL));
	assert_true(json_is_null(future_result(f)));
	future_unref(f);
}

/*
 * Many callbacks on one future, removed last first, as the waits of a
 * client that leaves: each removal takes its own callback out, none runs,
 * and the future is freed with nothing left on it.
 */
#define MANY_CALLBACKS	100000

static void
test_many_callbacks_removed_last_first(void **state)
{
	struct future		 *f = future_new(NULL);
	struct future_link	**h = calloc(MANY_CALLBACKS, sizeof(*h));
	atomic_uint		  calls = 0;
	int			  i;

	assert_non_null(h);
	for (i = 0; i < MANY_CALLBACKS; i++)
		h[i] = future_on_done_handle(f, NULL, count_cb, &calls);
	for (i = MANY_CALLBACKS - 1; i >= 1; i--)
		assert_true(future_remove_done(f, h[i]));
	future_set_result(f, NULL);
	assert_int_equal(atomic_load(&calls), 1);
	assert_false(future_remove_done(f, h[0]));
	free(h);
	future_unref(f);
}

/* Removal against completion on another thread: each callback is either
 * removed and never runs, or runs exactly once. */
struct remove_race {
	struct future		*f;
	pthread_barrier_t	*barrier;
};

static void *
remove_race_complete(void *arg)
{
	struct remove_race	*r = arg;

	pthread_barrier_wait(r->barrier);
	future_set_result(r->f, json_true());
	return NULL;
}

static void
test_remove_versus_complete_from_two_threads(void **state)
{
	pthread_barrier_t	 barrier;
	pthread_t		 t;
	struct future_link	*h[4];
	atomic_uint		 calls;
	unsigned int		 i, j, removed, won = 0;

	pthread_barrier_init(&barrier, NULL, 2);
	for (i = 0; i < 2000; i++) {
		struct remove_race	r = { future_new(NULL), &barrier };

		atomic_store(&calls, 0);
		for (j = 0; j < 4; j++)
			h[j] = future_on_done_handle(r.f, NULL, count_cb, &calls);
		pthread_create(&t, NULL, remove_race_complete, &r);
		pthread_barrier_wait(&barrier);
		removed = 0;
		for (j = 0; j < 4; j++)
			removed += future_remove_done(r.f, h[(j * 3) % 4]);
		pthread_join(t, NULL);
		assert_int_equal(atomic_load(&calls) + removed, 4);
		won += removed > 0;
		future_unref(r.f);
	}
	pthread_barrier_destroy(&barrier);
	print_message("removal came first in %u of 2000\n", won);
}

static void
test_wait_times_out_and_leaves_the_future_usable(void **state)
{
	struct future	*f = future_new(NULL);

	assert_int_equal(future_wait(f, 0.01), FUTURE_PENDING);
	future_set_result(f, json_string("late"));
	assert_int_equal(future_wait(f, 0), FUTURE_DONE);
	assert_string_equal(json_string_value(future_result(f)), "late");
	future_unref(f);
}

/*
 * The race: an owner loop completes a future while another thread cancels
 * it.  Exactly one outcome must win and each callback must run once.
 */
#define RACES	10000

struct race {
	struct loop	*owner;
	struct loop	*watcher;
	atomic_uint	 done_count;
	atomic_uint	 cancelled_count;
	atomic_uint	 callbacks;
	atomic_uint	 bad_thread;
	sem_t		 finished;
};

static struct race	race;

static void
race_cb(struct future *f, void *arg)
{
	if (loop_current() != race.watcher)
		atomic_fetch_add(&race.bad_thread, 1);
	switch (future_state(f)) {
	case FUTURE_DONE:
		atomic_fetch_add(&race.done_count, 1);
		break;
	case FUTURE_CANCELLED:
		atomic_fetch_add(&race.cancelled_count, 1);
		break;
	default:
		break;
	}
	if (atomic_fetch_add(&race.callbacks, 1) + 1 == RACES)
		sem_post(&race.finished);
}

static void
race_complete(void *arg)
{
	struct future	*f = arg;

	future_set_result(f, json_integer(1));
	future_unref(f);
}

static void
race_start(struct future *f, void *arg)
{
	/* Owned by this loop: complete it on the next pass. */
	future_ref(f);
	loop_post(race.owner, race_complete, f);
}

static void
test_cancel_versus_complete_race_has_one_winner(void **state)
{
	struct future	*f;
	unsigned int	 i;

	memset(&race, 0, sizeof(race));
	sem_init(&race.finished, 0, 0);
	race.owner = start_loop(0);
	race.watcher = start_loop(1);
	for (i = 0; i < RACES; i++) {
		f = future_submit(race.owner, race_start, NULL);
		future_on_done(f, race.watcher, race_cb, NULL);
		if (i % 3 == 0)
			sched_yield();
		future_cancel(f, "race");
		future_unref(f);
	}
	sem_wait_or_fail(&race.finished);
	finish_loop(race.owner);
	finish_loop(race.watcher);
	assert_int_equal(atomic_load(&race.callbacks), RACES);
	assert_int_equal(atomic_load(&race.done_count) +
	    atomic_load(&race.cancelled_count), RACES);
	assert_int_equal(atomic_load(&race.bad_thread), 0);
	sem_destroy(&race.finished);
}

/* The same race without an owner: two threads complete it head to head. */
struct duel {
	struct future	*f;
	pthread_barrier_t *barrier;
	int		 won;
};

static void *
duel_complete(void *arg)
{
	struct duel	*d = arg;

	pthread_barrier_wait(d->barrier);
	d->won = future_set_result(d->f, json_integer(1)) == 0;
	return NULL;
}

static void *
duel_cancel(void *arg)
{
	struct duel	*d = arg;

	pthread_barrier_wait(d->barrier);
	d->won = future_cancel(d->f, "duel");
	return NULL;
}

static void
test_unowned_cancel_versus_complete_from_two_threads(void **state)
{
	pthread_barrier_t	barrier;
	pthread_t		t1, t2;
	atomic_uint		calls = 0;
	unsigned int		i, winners = 0;

	pthread_barrier_init(&barrier, NULL, 2);
	for (i = 0; i < 2000; i++) {
		struct future	*f = future_new(NULL);
		struct duel	 c = { f, &barrier, 0 }, x = { f, &barrier, 0 };

		future_on_done(f, NULL, count_cb, &calls);
		pthread_create(&t1, NULL, duel_complete, &c);
		pthread_create(&t2, NULL, duel_cancel, &x);
		pthread_join(t1, NULL);
		pthread_join(t2, NULL);
		winners += c.won + x.won;
		assert_int_equal(c.won + x.won, 1);
		assert_int_equal(future_state(f),
		    c.won ? FUTURE_DONE : FUTURE_CANCELLED);
		future_unref(f);
	}
	assert_int_equal(winners, 2000);
	assert_int_equal(atomic_load(&calls), 2000);
	pthread_barrier_destroy(&barrier);
}

/* Cancelling from another thread runs the owner's hook on the owner. */
struct hooked {
	struct loop	*hook_ran_on;
	char		 reason[32];
};

static void
hook_fn(struct future *f, void *arg, const char *reason)
{
	struct hooked	*h = arg;

	h->hook_ran_on = loop_current();
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
	/* The work was stopped; report it with our own outcome. */
	future_fail(f, "timeout", "stopped by hook");
}

static void
install_hook(struct future *f, void *arg)
{
	future_set_cancel_hook(f, hook_fn, NULL, arg);
}

static void
test_cancel_reaches_the_owners_hook(void **state)
{
	struct loop	*owner = start_loop(0);
	struct hooked	 h = { 0 };
	struct future	*f;

	f = future_submit(owner, install_hook, &h);
	assert_true(future_cancel(f, "deadline"));
	assert_int_equal(future_wait(f, TEST_WAIT_SECONDS), FUTURE_FAILED);
	assert_ptr_equal(h.hook_ran_on, owner);
	assert_string_equal(h.reason, "deadline");
	assert_string_equal(future_error(f)->code, "timeout");
	future_unref(f);
	finish_loop(owner);
}

static void
test_callback_for_a_stopped_loop_is_dropped_not_run(void **state)
{
	struct loop		*gone = start_loop(0);
	struct future		*f = future_new(NULL);
	struct cb_record	 r = { 0 };
	atomic_uint		 inline_calls = 0;

	sem_init(&r.ran, 0, 0);
	run_on(gone, register_here, &(struct register_args){ f, &r });
	future_on_done(f, NULL, count_cb, &inline_calls);
	loop_stop(gone);
	loop_join(gone);
	future_set_result(f, NULL);
	assert_int_equal(atomic_load(&r.calls), 0);
	assert_int_equal(atomic_load(&inline_calls), 1);
	future_unref(f);
	loop_free(gone);
}

static void
test_error_set_may_quote_its_own_message(void **state)
{
	struct error	e = { 0 };

	error_set(&e, "failed", "disk full");
	error_set(&e, e.code, "job 7: %s", e.message);
	assert_string_equal(e.message, "job 7: disk full");
	error_clear(&e);
}

static void
test_error_json_keeps_a_message_that_is_not_utf8(void **state)
{
	struct error	 e = { 0 };
	json_t		*j;

	/* The bad byte is replaced; the valid é around it is kept. */
	error_set(&e, "exit_status", "caf\xc3\xa9 bad byte \xff here");
	j = error_to_json(&e);
	assert_string_equal(json_string_value(json_object_get(j, "message")),
	    "caf\xc3\xa9 bad byte \xef\xbf\xbd here");
	json_decref(j);
	error_clear(&e);
}

static void *
complete_later(void *arg)
{
	usleep(10000);
	future_set_result(arg, NULL);
	return NULL;
}

/* A huge timeout is "forever", not an invalid deadline to spin on. */
static void
test_wait_with_a_huge_timeout_returns_on_completion(void **state)
{
	struct future	*f = future_new(NULL);
	pthread_t	 t;

	pthread_create(&t, NULL, complete_later, f);
	assert_int_equal(future_wait(f, 1e300), FUTURE_DONE);
	pthread_join(t, NULL);
	future_unref(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_is_kept_and_first_completion_wins),
		cmocka_unit_test(test_failure_carries_code_message_and_detail),
		cmocka_unit_test(test_callbacks_before_and_after_completion_run_once_on_their_loop),
		cmocka_unit_test(test_removed_callbacks_never_run),
		cmocka_unit_test(test_many_callbacks_removed_last_first),
		cmocka_unit_test(test_remove_versus_complete_from_two_threads),
		cmocka_unit_test(test_wait_times_out_and_leaves_the_future_usable),
		cmocka_unit_test(test_cancel_versus_complete_race_has_one_winner),
		cmocka_unit_test(test_unowned_cancel_versus_complete_from_two_threads),
		cmocka_unit_test(test_cancel_reaches_the_owners_hook),
		cmocka_unit_test(test_callback_for_a_stopped_loop_is_dropped_not_run),
		cmocka_unit_test(test_error_set_may_quote_its_own_message),
		cmocka_unit_test(test_error_json_keeps_a_message_that_is_not_utf8),
		cmocka_unit_test(test_wait_with_a_huge_timeout_returns_on_completion),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
