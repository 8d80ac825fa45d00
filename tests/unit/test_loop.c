/* Loops: posts cross threads exactly once, in order, and stopping is defined. */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "testutil.h"
#include "future.h"
#include "log.h"
#include "loop.h"

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

	f = loop_submit(loop, keep_pending, &started);
	assert_non_null(f);
	loop_stop(loop);
	assert_int_equal(future_wait(f, TEST_WAIT_SECONDS), FUTURE_FAILED);
	assert_true(started);
	assert_string_equal(future_error(f)->code, "shutting_down");
	loop_join(loop);

	/* Submitting to a stopped loop is refused; fn never runs. */
	started = false;
	assert_null(loop_submit(loop, keep_pending, &started));
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
	assert_true(st.wakeups > 1);
	finish_loop(fl.loop);
	sem_destroy(&fl.done);
}

static void
slow_callback_for_test(void *arg)
{
	usleep(30000);
}

static void
test_slow_callback_is_logged_by_name(void **state)
{
	struct loop		*loop = start_loop(3);
	struct loop_stats	 st;
	char			*out;

	log_init("test", LOG_INFO, LOG_TO_STDERR);
	loop_set_slow_callback_ms(10);
	capture_stderr();
	run_on(loop, slow_callback_for_test, NULL);
	run_on(loop, count_up, &(atomic_ulong){ 0 });	/* fast: not logged */
	out = stderr_captured();
	loop_set_slow_callback_ms(0);

	assert_non_null(strstr(out, "loop 3: slow callback"));
	assert_non_null(strstr(out, "run_on_trampoline"));
	assert_null(strstr(out, "count_up"));
	loop_get_stats(loop, &st);
	assert_int_equal(st.slow_callbacks, 1);
	finish_loop(loop);
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

	so->first = loop_sleep(0.2);
	so->second = loop_sleep(0.01);
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
	*(struct future **)arg = loop_sleep(3600);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
