/* Loops: posts cross threads exactly once, in order, and stopping is defined. */
#include "autoconf.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "testutil.h"
#include "runtime/future.h"
#include "runtime/log.h"
#include "runtime/loop.h"

static void
record_current(void *arg)
{
	struct loop	**seen = arg;

	*seen = loop_current();
}

static void
test_post_runs_on_the_loop_thread(void **state)
{
	struct loop	*loop = start_loop(0);
	struct loop	*seen = NULL;

	assert_null(loop_current());
	run_on(loop, record_current, &seen);
	assert_ptr_equal(seen, loop);
	finish_loop(loop);
}

/* 4 producers x 100,000 posts spread over 2 loops. */
#define PRODUCERS	4
#define PER_PRODUCER	100000

struct order_post {
	struct loop	*target;
	unsigned int	 producer;
	unsigned int	 seq;
};

struct order_state {
	struct loop		*loops[2];
	struct order_post	*posts[PRODUCERS];
	/* Written only by the loop the index names. */
	unsigned int		 next[2][PRODUCERS];
	unsigned long		 ran[2];
	atomic_ulong		 wrong_thread;
	atomic_ulong		 out_of_order;
	sem_t			 all_done;
	atomic_ulong		 total;
};

static struct order_state	order;

static void
order_run(void *arg)
{
	struct order_post	*p = arg;
	unsigned int		 li = loop_index(p->target);

	if (loop_current() != p->target)
		atomic_fetch_add(&order.wrong_thread, 1);
	/* Each producer's posts to one loop carry increasing seq numbers. */
	if (p->seq < order.next[li][p->producer])
		atomic_fetch_add(&order.out_of_order, 1);
	order.next[li][p->producer] = p->seq + 1;
	order.ran[li]++;
	if (atomic_fetch_add(&order.total, 1) + 1 == PRODUCERS * PER_PRODUCER)
		sem_post(&order.all_done);
}

static void *
order_producer(void *arg)
{
	unsigned int	 producer = (unsigned int)(uintptr_t)arg;
	unsigned int	 i;

	for (i = 0; i < PER_PRODUCER; i++) {
		struct order_post	*p = &order.posts[producer][i];

		p->target = order.loops[(i * 7 + producer) % 2];
		p->producer = producer;
		p->seq = i;
		if (loop_post(p->target, order_run, p) != 0)
			abort();
	}
	return NULL;
}

static void
test_four_producers_two_loops_exactly_once_in_order(void **state)
{
	pthread_t	threads[PRODUCERS];
	unsigned int	i;

	memset(&order, 0, sizeof(order));
	sem_init(&order.all_done, 0, 0);
	order.loops[0] = start_loop(0);
	order.loops[1] = start_loop(1);
	for (i = 0; i < PRODUCERS; i++)
		order.posts[i] = calloc(PER_PRODUCER, sizeof(struct order_post));
	for (i = 0; i < PRODUCERS; i++)
		pthread_create(&threads[i], NULL, order_producer, (void *)(uintptr_t)i);
	for (i = 0; i < PRODUCERS; i++)
		pthread_join(threads[i], NULL);
	sem_wait_or_fail(&order.all_done);

	/* Stopping runs anything still queued; count again after join. */
	finish_loop(order.loops[0]);
	finish_loop(order.loops[1]);
	assert_int_equal(order.ran[0] + order.ran[1], PRODUCERS * PER_PRODUCER);
	assert_true(order.ran[0] > 0 && order.ran[1] > 0);
	assert_int_equal(atomic_load(&order.wrong_thread), 0);
	assert_int_equal(atomic_load(&order.out_of_order), 0);
	for (i = 0; i < PRODUCERS; i++)
		free(order.posts[i]);
	sem_destroy(&order.all_done);
}

static void
count_up(void *arg)
{
	atomic_fetch_add((atomic_ulong *)arg, 1);
}

static void
test_post_after_stop_fails_cleanly(void **state)
{
	struct loop	*loop = start_loop(0);
	atomic_ulong	 count = 0;

	loop_stop(loop);
	errno = 0;
	assert_int_equal(loop_post(loop, count_up, &count), -1);
	assert_int_equal(errno, ESHUTDOWN);
	loop_join(loop);
	assert_int_equal(loop_post(loop, count_up, &count), -1);
	assert_int_equal(atomic_load(&count), 0);
	loop_free(loop);
}

static void
block_on_sem(void *arg)
{
	sem_wait_or_fail(arg);
}

static void
test_posts_queued_before_stop_still_run(void **state)
{
	struct loop	*loop = start_loop(0);
	atomic_ulong	 count = 0;
	sem_t		 gate;
	int		 i;

	/* Hold the loop so that everything below is queued at stop time. */
	sem_init(&gate, 0, 0);
	assert_int_equal(loop_post(loop, block_on_sem, &gate), 0);
	for (i = 0; i < 5000; i++)
		assert_int_equal(loop_post(loop, count_up, &count), 0);
	loop_stop(loop);
	assert_int_equal(loop_post(loop, count_up, &count), -1);
	sem_post(&gate);
	loop_join(loop);
	assert_int_equal(atomic_load(&count), 5000);
	loop_free(loop);
	sem_destroy(&gate);
}

static void
keep_pending(struct future *f, void *arg)
{
	/* Never completes the future: only the loop's stop can. */
	*(bool *)arg = true;
}

static void
test_owned_future_fails_with_shutting_down_when_loop_stops(void **state)
{
	struct loop	*loop = start_loop(0);
	struct future	*f, *late;
	bool		 started = false;

	f = future_submit(loop, keep_pending, &started);
	assert_non_null(f);
	loop_stop(loop);
	assert_int_equal(future_wait(f, TEST_WAIT_SECONDS), FUTURE_FAILED);
	assert_true(started);
	assert_string_equal(future_error(f)->code, "shutting_down");
	loop_join(loop);

	/* Submitting to a stopped loop is refused; fn never runs. */
	started = false;
	assert_null(future_submit(loop, keep_pending, &started));
	assert_false(started);

	/* A future created for a stopped owner is born failed. */
	late = future_new(loop);
	assert_int_equal(future_state(late), FUTURE_FAILED);
	assert_string_equal(future_error(late)->code, "shutting_down");

	future_unref(late);
	future_unref(f);
	loop_free(loop);
}

/*
 * A callback that posts itself again forever must not starve I/O: the loop
 * runs at most a batch per pass and polls between passes, so a timer fires.
 */
struct flood {
	struct loop		*loop;
	struct loop_event	 timer;
	bool			 stop;
	unsigned long		 reposts;
	sem_t			 done;
};

static void
flood_repost(void *arg)
{
	struct flood	*fl = arg;

	if (fl->stop) {
		sem_post(&fl->done);
		return;
	}
	fl->reposts++;
	loop_post(fl->loop, flood_repost, fl);
}

static void
flood_timer(evutil_socket_t fd, short what, void *arg)
{
	((struct flood *)arg)->stop = true;
}

static void
flood_begin(void *arg)
{
	struct flood	*fl = arg;
	struct timeval	 tv = { 0, 20000 };

	loop_event_assign(&fl->timer, fl->loop, -1, 0, flood_timer, fl);
	event_add(&fl->timer.ev, &tv);
	loop_post(fl->loop, flood_repost, fl);
}

static void
test_self_posting_flood_does_not_starve_timers(void **state)
{
	struct flood		fl = { 0 };
	struct loop_stats	st;

	fl.loop = start_loop(0);
	sem_init(&fl.done, 0, 0);
	run_on(fl.loop, flood_begin, &fl);
	sem_wait_or_fail(&fl.done);
	assert_true(fl.reposts > 0);
	loop_get_stats(fl.loop, &st);
	assert_true(st.posts >= fl.reposts);
	assert_true(st.passes > 1);
	finish_loop(fl.loop);
	sem_destroy(&fl.done);
}

struct timed_call {
	int	ms;
	sem_t	done;
};

static void
slow_then_signal(void *arg)
{
	struct timed_call	*t = arg;

	usleep(t->ms * 1000);
	sem_post(&t->done);
}

static void
fast_then_signal(void *arg)
{
	sem_post(&((struct timed_call *)arg)->done);
}

static void
test_slow_callback_is_logged_by_name(void **state)
{
	struct loop		*loop = start_loop(3);
	struct loop_stats	 st;
	struct timed_call	 slow = { .ms = 250 }, fast = { .ms = 0 };
	char			*out;

	sem_init(&slow.done, 0, 0);
	sem_init(&fast.done, 0, 0);
	log_init("test", LOG_INFO, LOG_TO_STDERR);
	loop_set_slow_callback_ms(100);
	capture_stderr();
	assert_int_equal(loop_post(loop, slow_then_signal, &slow), 0);
	sem_wait_or_fail(&slow.done);
	assert_int_equal(loop_post(loop, fast_then_signal, &fast), 0);
	sem_wait_or_fail(&fast.done);
	/* Both calls have returned once a third one runs: the log is complete. */
	run_on(loop, count_up, &(atomic_ulong){ 0 });
	out = stderr_captured();
	loop_set_slow_callback_ms(0);

	assert_non_null(strstr(out, "loop 3: slow callback slow_then_signal took"));
	assert_null(strstr(out, "fast_then_signal"));
	loop_get_stats(loop, &st);
	assert_int_equal(st.slow_callbacks, 1);
	finish_loop(loop);
	sem_destroy(&slow.done);
	sem_destroy(&fast.done);
}

struct sleep_order {
	struct future	*first, *second;
	int		 order[2];
	int		 n;
	struct loop	*cb_loop[2];
	sem_t		 done;
};

static void
sleep_done(struct future *f, void *arg)
{
	struct sleep_order	*so = arg;

	so->cb_loop[so->n] = loop_current();
	so->order[so->n++] = (f == so->first) ? 1 : 2;
	if (so->n == 2)
		sem_post(&so->done);
}

static void
sleep_begin(void *arg)
{
	struct sleep_order	*so = arg;

	so->first = future_sleep(0.2);
	so->second = future_sleep(0.01);
	future_on_done(so->first, loop_current(), sleep_done, so);
	future_on_done(so->second, loop_current(), sleep_done, so);
}

static void
test_sleep_futures_complete_in_deadline_order(void **state)
{
	struct loop		*loop = start_loop(0);
	struct sleep_order	 so = { 0 };

	sem_init(&so.done, 0, 0);
	run_on(loop, sleep_begin, &so);
	sem_wait_or_fail(&so.done);
	assert_int_equal(so.order[0], 2);
	assert_int_equal(so.order[1], 1);
	assert_ptr_equal(so.cb_loop[0], loop);
	assert_int_equal(future_state(so.first), FUTURE_DONE);
	assert_true(json_is_null(future_result(so.first)));
	future_unref(so.first);
	future_unref(so.second);
	finish_loop(loop);
	sem_destroy(&so.done);
}

static void
sleep_long(void *arg)
{
	*(struct future **)arg = future_sleep(3600);
}

static void
test_sleep_cancelled_from_another_thread(void **state)
{
	struct loop	*loop = start_loop(0);
	struct future	*f = NULL;

	run_on(loop, sleep_long, &f);
	assert_true(future_cancel(f, "changed my mind"));
	assert_int_equal(future_wait(f, TEST_WAIT_SECONDS), FUTURE_CANCELLED);
	assert_string_equal(future_error(f)->code, "cancelled");
	assert_string_equal(future_error(f)->message, "changed my mind");
	assert_false(future_cancel(f, "again"));
	future_unref(f);
	finish_loop(loop);
}

static void
test_pending_sleep_is_released_when_loop_stops(void **state)
{
	struct loop	*loop = start_loop(0);
	struct future	*f = NULL;

	run_on(loop, sleep_long, &f);
	finish_loop(loop);
	/* The timer's memory went with the stop (ASan checks the rest). */
	assert_int_equal(future_state(f), FUTURE_FAILED);
	assert_string_equal(future_error(f)->code, "shutting_down");
	future_unref(f);
}

struct held {
	sem_t	entered;
	sem_t	gate;
};

static void
hold_loop(void *arg)
{
	struct held	*h = arg;

	sem_post(&h->entered);
	sem_wait_or_fail(&h->gate);
}

/* A call queued behind a busy callback reports at least the time it waited. */
static void
test_lag_is_measured(void **state)
{
	struct loop		*loop = start_loop(0);
	struct loop_stats	 st;
	struct held		 h;

	sem_init(&h.entered, 0, 0);
	sem_init(&h.gate, 0, 0);
	assert_int_equal(loop_post(loop, hold_loop, &h), 0);
	sem_wait_or_fail(&h.entered);
	assert_int_equal(loop_post(loop, count_up, &(atomic_ulong){ 0 }), 0);
	usleep(20000);
	sem_post(&h.gate);
	run_on(loop, count_up, &(atomic_ulong){ 0 });
	loop_get_stats(loop, &st);
	assert_true(st.lag_max_ns >= 20000000u);
	assert_true(st.posts >= 3);
	finish_loop(loop);
	sem_destroy(&h.entered);
	sem_destroy(&h.gate);
}

/* A loop that polls before sleeping still runs posts in order and stops. */
static void
test_spinning_loop_runs_posts_and_stops(void **state)
{
	struct loop	*loop;
	atomic_ulong	 count = 0;
	int		 i;

	loop_set_spin_us(200);
	loop = start_loop(0);
	for (i = 0; i < 100; i++) {
		run_on(loop, count_up, &count);
		assert_int_equal(atomic_load(&count), i + 1);
	}
	finish_loop(loop);
	loop_set_spin_us(0);
}

/* A pass runs at most a batch of posted calls, then I/O is polled again. */
static void
test_a_pass_runs_at_most_a_batch(void **state)
{
	struct loop		*loop = start_loop(0);
	struct loop_stats	 before, after;
	struct held		 h;
	atomic_ulong		 count = 0;
	int			 i;

	sem_init(&h.entered, 0, 0);
	sem_init(&h.gate, 0, 0);
	assert_int_equal(loop_post(loop, hold_loop, &h), 0);
	sem_wait_or_fail(&h.entered);
	loop_get_stats(loop, &before);
	for (i = 0; i < 10000; i++)
		assert_int_equal(loop_post(loop, count_up, &count), 0);
	sem_post(&h.gate);
	run_on(loop, count_up, &count);
	loop_get_stats(loop, &after);
	assert_int_equal(atomic_load(&count), 10001);
	/* 10,000 queued calls take at least ten passes of 1,024. */
	assert_true(after.passes - before.passes >= 10);
	finish_loop(loop);
	sem_destroy(&h.entered);
	sem_destroy(&h.gate);
}

/* Durations that time_t cannot hold: clamped, never "fire at once". */
struct odd_sleeps {
	struct future	*huge, *nan, *brief;
};

static void
odd_sleeps_begin(void *arg)
{
	struct odd_sleeps	*o = arg;

	o->huge = future_sleep(INFINITY);
	o->nan = future_sleep(NAN);
	o->brief = future_sleep(0.05);
}

static void
test_sleep_durations_are_clamped(void **state)
{
	struct loop		*loop = start_loop(0);
	struct odd_sleeps	 o = { 0 };

	run_on(loop, odd_sleeps_begin, &o);
	assert_int_equal(future_wait(o.brief, TEST_WAIT_SECONDS), FUTURE_DONE);
	assert_int_equal(future_wait(o.nan, TEST_WAIT_SECONDS), FUTURE_DONE);
	assert_int_equal(future_state(o.huge), FUTURE_PENDING);
	assert_true(future_cancel(o.huge, NULL));
	assert_int_equal(future_wait(o.huge, 1e300), FUTURE_CANCELLED);
	future_unref(o.huge);
	future_unref(o.nan);
	future_unref(o.brief);
	finish_loop(loop);
}

static void
mask_of_loop_thread(void *arg)
{
	pthread_sigmask(SIG_BLOCK, NULL, arg);
}

/* A crash on a loop thread must reach its handler (sanitizers, core). */
static void
test_loop_threads_block_only_asynchronous_signals(void **state)
{
	struct loop	*loop = start_loop(0);
	sigset_t	 mask;

	run_on(loop, mask_of_loop_thread, &mask);
	assert_true(sigismember(&mask, SIGTERM));
	assert_true(sigismember(&mask, SIGINT));
	assert_true(sigismember(&mask, SIGHUP));
	assert_false(sigismember(&mask, SIGSEGV));
	assert_false(sigismember(&mask, SIGBUS));
	assert_false(sigismember(&mask, SIGFPE));
	finish_loop(loop);
}

/* While a stopping loop drains, completing a future still defers its
 * callbacks to a later call: nothing runs re-entrantly inside the caller. */
struct drain {
	struct loop	*loop;
	struct future	*f;
	struct held	 h;
	bool		 returned;	/* drain_complete has returned */
	int		 calls;
	bool		 ran_after;
};

static void
drain_cb(struct future *f, void *arg)
{
	struct drain	*d = arg;

	d->calls++;
	d->ran_after = d->returned;
}

static void
drain_register(void *arg)
{
	struct drain	*d = arg;

	d->f = future_new(d->loop);
	future_on_done(d->f, d->loop, drain_cb, d);
}

static void
drain_complete(void *arg)
{
	struct drain	*d = arg;

	future_set_result(d->f, NULL);
	assert_int_equal(d->calls, 0);
	d->returned = true;
}

static void
test_callbacks_stay_deferred_while_a_stopping_loop_drains(void **state)
{
	struct drain	d = { 0 };

	d.loop = start_loop(0);
	sem_init(&d.h.entered, 0, 0);
	sem_init(&d.h.gate, 0, 0);
	run_on(d.loop, drain_register, &d);
	assert_int_equal(loop_post(d.loop, hold_loop, &d.h), 0);
	sem_wait_or_fail(&d.h.entered);
	assert_int_equal(loop_post(d.loop, drain_complete, &d), 0);
	loop_stop(d.loop);
	sem_post(&d.h.gate);
	loop_join(d.loop);
	assert_int_equal(d.calls, 1);
	assert_true(d.ran_after);
	future_unref(d.f);
	loop_free(d.loop);
	sem_destroy(&d.h.entered);
	sem_destroy(&d.h.gate);
}

/* loop_submit from several threads while the loop stops: refused or run,
 * never a future freed under the final sweep (ASan watches). */
static struct loop	*racing_loop;
static atomic_int	 racing_go;

static void
noop_start(struct future *f, void *arg)
{
}

static void *
racing_submitter(void *arg)
{
	struct future	*f;
	int		 i;

	while (!atomic_load(&racing_go))
		sched_yield();
	for (i = 0; i < 100000; i++) {
		if ((f = future_submit(racing_loop, noop_start, NULL)) == NULL)
			break;
		future_unref(f);
	}
	return NULL;
}

static void
test_submit_racing_stop_frees_nothing_twice(void **state)
{
	pthread_t	t[3];
	int		round, i;

	for (round = 0; round < 40; round++) {
		racing_loop = start_loop(0);
		atomic_store(&racing_go, 0);
		for (i = 0; i < 3; i++)
			pthread_create(&t[i], NULL, racing_submitter, NULL);
		atomic_store(&racing_go, 1);
		usleep(200);
		loop_stop(racing_loop);
		for (i = 0; i < 3; i++)
			pthread_join(t[i], NULL);
		loop_join(racing_loop);
		loop_free(racing_loop);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_post_runs_on_the_loop_thread),
		cmocka_unit_test(test_four_producers_two_loops_exactly_once_in_order),
		cmocka_unit_test(test_post_after_stop_fails_cleanly),
		cmocka_unit_test(test_posts_queued_before_stop_still_run),
		cmocka_unit_test(test_owned_future_fails_with_shutting_down_when_loop_stops),
		cmocka_unit_test(test_self_posting_flood_does_not_starve_timers),
		cmocka_unit_test(test_slow_callback_is_logged_by_name),
		cmocka_unit_test(test_sleep_futures_complete_in_deadline_order),
		cmocka_unit_test(test_sleep_cancelled_from_another_thread),
		cmocka_unit_test(test_pending_sleep_is_released_when_loop_stops),
		cmocka_unit_test(test_lag_is_measured),
		cmocka_unit_test(test_spinning_loop_runs_posts_and_stops),
		cmocka_unit_test(test_a_pass_runs_at_most_a_batch),
		cmocka_unit_test(test_sleep_durations_are_clamped),
		cmocka_unit_test(test_loop_threads_block_only_asynchronous_signals),
		cmocka_unit_test(test_callbacks_stay_deferred_while_a_stopping_loop_drains),
		cmocka_unit_test(test_submit_racing_stop_frees_nothing_twice),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
