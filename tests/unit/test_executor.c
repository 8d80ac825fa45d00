/* The executor: run_in_executor with a bounded queue and real cancellation. */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "testutil.h"
#include "runtime/executor.h"
#include "runtime/future.h"
#include "runtime/loop.h"

/* A work item that can be held at a gate, and says what happened to it. */
struct work {
	int		 input;
	sem_t		*gate;		/* wait here first, if set */
	sem_t		 started;
	atomic_bool	 ran;
	atomic_bool	 saw_cancel;
	bool		 spin_until_cancelled;
	int		 order;		/* when it ran, from run_count */
};

static atomic_int	run_count;

static json_t *
work_fn(void *arg, struct error *error)
{
	struct work	*w = arg;

	atomic_store(&w->ran, true);
	w->order = atomic_fetch_add(&run_count, 1);
	sem_post(&w->started);
	if (w->gate != NULL)
		sem_wait_or_fail(w->gate);
	if (w->spin_until_cancelled) {
		while (!executor_cancelled())
			usleep(100);
		atomic_store(&w->saw_cancel, true);
		return NULL;
	}
	if (w->input < 0) {
		error_set(error, "failed", "negative input %d", w->input);
		return NULL;
	}
	return json_integer((json_int_t)w->input * w->input);
}

static void
work_init(struct work *w, int input, sem_t *gate)
{
	memset(w, 0, sizeof(*w));
	w->input = input;
	w->gate = gate;
	sem_init(&w->started, 0, 0);
}

/* Submissions made from a loop, with completions recorded there. */
#define MANY	200

struct batch {
	struct executor	*ex;
	struct loop	*loop;
	struct work	 work[MANY];
	struct future	*futures[MANY];
	int		 n;
	atomic_int	 completed;
	atomic_int	 wrong_thread;
	sem_t		 all_done;
};

static void
batch_done(struct future *f, void *arg)
{
	struct batch	*b = arg;

	if (loop_current() != b->loop)
		atomic_fetch_add(&b->wrong_thread, 1);
	if (atomic_fetch_add(&b->completed, 1) + 1 == b->n)
		sem_post(&b->all_done);
}

static void
batch_submit(void *arg)
{
	struct batch	*b = arg;
	int		 i;

	for (i = 0; i < b->n; i++) {
		b->futures[i] = executor_submit(b->ex, work_fn, &b->work[i]);
		future_on_done(b->futures[i], loop_current(), batch_done, b);
	}
}

static void
test_more_items_than_threads_all_complete_on_the_submitting_loop(void **state)
{
	static struct batch	b;
	int			i;

	memset(&b, 0, sizeof(b));
	b.ex = executor_new(2, MANY);
	b.loop = start_loop(0);
	b.n = MANY;
	sem_init(&b.all_done, 0, 0);
	for (i = 0; i < MANY; i++)
		work_init(&b.work[i], i - 10, NULL);
	run_on(b.loop, batch_submit, &b);
	sem_wait_or_fail(&b.all_done);

	assert_int_equal(atomic_load(&b.wrong_thread), 0);
	for (i = 0; i < MANY; i++) {
		if (i < 10) {
			assert_int_equal(future_state(b.futures[i]), FUTURE_FAILED);
			assert_string_equal(future_error(b.futures[i])->code, "failed");
		} else {
			assert_int_equal(future_state(b.futures[i]), FUTURE_DONE);
			assert_int_equal(json_integer_value(future_result(b.futures[i])),
			    (i - 10) * (i - 10));
		}
		future_unref(b.futures[i]);
	}
	finish_loop(b.loop);
	executor_free(b.ex);
}

static void
test_full_queue_answers_busy(void **state)
{
	struct executor	*ex = executor_new(1, 2);
	struct work	 w[4];
	struct future	*f[4];
	sem_t		 gate;
	int		 i;

	sem_init(&gate, 0, 0);
	for (i = 0; i < 4; i++)
		work_init(&w[i], i, &gate);
	f[0] = executor_submit(ex, work_fn, &w[0]);
	sem_wait_or_fail(&w[0].started);	/* the only thread is busy */
	f[1] = executor_submit(ex, work_fn, &w[1]);
	f[2] = executor_submit(ex, work_fn, &w[2]);
	f[3] = executor_submit(ex, work_fn, &w[3]);	/* queue holds 2 */

	assert_int_equal(future_state(f[3]), FUTURE_FAILED);
	assert_string_equal(future_error(f[3])->code, "busy");
	for (i = 0; i < 3; i++)
		sem_post(&gate);
	for (i = 0; i < 3; i++)
		assert_int_equal(future_wait(f[i], TEST_WAIT_SECONDS), FUTURE_DONE);
	assert_false(atomic_load(&w[3].ran));
	for (i = 0; i < 4; i++)
		future_unref(f[i]);
	executor_free(ex);
}

static void
test_cancelled_before_start_never_runs(void **state)
{
	struct executor	*ex = executor_new(1, 8);
	struct work	 blocker, victim;
	struct future	*fb, *fv;
	sem_t		 gate;

	sem_init(&gate, 0, 0);
	work_init(&blocker, 1, &gate);
	work_init(&victim, 2, NULL);
	fb = executor_submit(ex, work_fn, &blocker);
	sem_wait_or_fail(&blocker.started);
	fv = executor_submit(ex, work_fn, &victim);
	assert_true(future_cancel(fv, "not needed"));
	assert_int_equal(future_state(fv), FUTURE_CANCELLED);
	sem_post(&gate);
	assert_int_equal(future_wait(fb, TEST_WAIT_SECONDS), FUTURE_DONE);
	/* The worker has gone past the victim's place in the queue. */
	executor_shutdown(ex, EXECUTOR_DRAIN);
	assert_false(atomic_load(&victim.ran));
	future_unref(fb);
	future_unref(fv);
	executor_free(ex);
}

struct cancel_running {
	struct executor	*ex;
	struct work	 w;
	struct future	*f;
	struct loop	*ran_on;
	sem_t		 done;
};

static void
cancel_running_done(struct future *f, void *arg)
{
	struct cancel_running	*c = arg;

	c->ran_on = loop_current();
	sem_post(&c->done);
}

static void
cancel_running_submit(void *arg)
{
	struct cancel_running	*c = arg;

	c->f = executor_submit(c->ex, work_fn, &c->w);
	future_on_done(c->f, loop_current(), cancel_running_done, c);
}

static void
test_cancel_while_running_is_observed_by_the_work(void **state)
{
	struct cancel_running	c;
	struct loop		*loop = start_loop(0);

	memset(&c, 0, sizeof(c));
	c.ex = executor_new(2, 8);
	sem_init(&c.done, 0, 0);
	work_init(&c.w, 0, NULL);
	c.w.spin_until_cancelled = true;
	run_on(loop, cancel_running_submit, &c);
	sem_wait_or_fail(&c.w.started);
	/* From this thread, not the owner: the cancel travels to the loop. */
	assert_true(future_cancel(c.f, "stop"));
	sem_wait_or_fail(&c.done);
	assert_true(atomic_load(&c.w.saw_cancel));
	assert_int_equal(future_state(c.f), FUTURE_CANCELLED);
	assert_ptr_equal(c.ran_on, loop);
	future_unref(c.f);
	finish_loop(loop);
	executor_free(c.ex);
}

static void
test_shutdown_cancel_fails_queued_and_flags_running(void **state)
{
	struct executor	*ex = executor_new(1, 8);
	struct work	 running, queued;
	struct future	*fr, *fq;

	work_init(&running, 0, NULL);
	running.spin_until_cancelled = true;
	work_init(&queued, 5, NULL);
	fr = executor_submit(ex, work_fn, &running);
	sem_wait_or_fail(&running.started);
	fq = executor_submit(ex, work_fn, &queued);
	executor_shutdown(ex, EXECUTOR_CANCEL);

	assert_int_equal(future_state(fq), FUTURE_FAILED);
	assert_string_equal(future_error(fq)->code, "shutting_down");
	assert_false(atomic_load(&queued.ran));
	assert_int_equal(future_state(fr), FUTURE_FAILED);
	assert_string_equal(future_error(fr)->code, "shutting_down");
	assert_true(atomic_load(&running.saw_cancel));

	/* Once stopped, it takes no more work. */
	future_unref(fq);
	fq = executor_submit(ex, work_fn, &queued);
	assert_string_equal(future_error(fq)->code, "shutting_down");
	future_unref(fr);
	future_unref(fq);
	executor_free(ex);
}

static void
test_shutdown_drain_runs_everything_queued(void **state)
{
	struct executor		*ex = executor_new(1, 16);
	struct work		 w[10];
	struct future		*f[10];
	struct executor_stats	 st;
	int			 i;

	for (i = 0; i < 10; i++) {
		work_init(&w[i], i, NULL);
		f[i] = executor_submit(ex, work_fn, &w[i]);
	}
	executor_shutdown(ex, EXECUTOR_DRAIN);
	for (i = 0; i < 10; i++) {
		assert_int_equal(future_state(f[i]), FUTURE_DONE);
		assert_int_equal(json_integer_value(future_result(f[i])), i * i);
		future_unref(f[i]);
	}
	executor_get_stats(ex, &st);
	assert_int_equal(st.completed, 10);
	assert_int_equal(st.queued, 0);
	executor_free(ex);
}

/* The submitting loop stops while its item runs: the future fails with
 * shutting_down, and the item is released once the work returns. */
static void
test_submitting_loop_stops_while_work_runs(void **state)
{
	struct cancel_running	c;
	struct loop		*loop = start_loop(0);
	sem_t			 gate;

	memset(&c, 0, sizeof(c));
	c.ex = executor_new(1, 8);
	sem_init(&c.done, 0, 0);
	sem_init(&gate, 0, 0);
	work_init(&c.w, 3, &gate);
	run_on(loop, cancel_running_submit, &c);
	sem_wait_or_fail(&c.w.started);
	loop_stop(loop);
	loop_join(loop);
	assert_int_equal(future_state(c.f), FUTURE_FAILED);
	assert_string_equal(future_error(c.f)->code, "shutting_down");
	sem_post(&gate);
	executor_shutdown(c.ex, EXECUTOR_DRAIN);
	future_unref(c.f);
	executor_free(c.ex);
	loop_free(loop);
}

/*
 * One worker, held at a gate by a first item of lane "a"; then a flood in
 * lane "a" and one item in lane "b".  Lanes take turns: "b" runs after
 * one item of "a" (whose turn came first), not after the flood.
 */
#define FLOOD	50

static void
test_lanes_take_turns_so_a_flood_cannot_starve_another(void **state)
{
	struct executor	*ex = executor_new(1, FLOOD + 8);
	struct work	 gatekeeper, flood[FLOOD], small;
	struct future	*fg, *ff[FLOOD], *fs;
	sem_t		 gate;
	int		 i;

	atomic_store(&run_count, 0);
	sem_init(&gate, 0, 0);
	work_init(&gatekeeper, 1, &gate);
	fg = executor_submit_lane(ex, "a", work_fn, &gatekeeper);
	sem_wait_or_fail(&gatekeeper.started);
	for (i = 0; i < FLOOD; i++) {
		work_init(&flood[i], i, NULL);
		ff[i] = executor_submit_lane(ex, "a", work_fn, &flood[i]);
	}
	work_init(&small, 3, NULL);
	fs = executor_submit_lane(ex, "b", work_fn, &small);
	sem_post(&gate);
	assert_int_equal(future_wait(fs, TEST_WAIT_SECONDS), FUTURE_DONE);
	for (i = 0; i < FLOOD; i++) {
		assert_int_equal(future_wait(ff[i], TEST_WAIT_SECONDS), FUTURE_DONE);
		future_unref(ff[i]);
	}
	assert_int_equal(future_wait(fg, TEST_WAIT_SECONDS), FUTURE_DONE);
	assert_int_equal(flood[0].order, 1);
	assert_int_equal(small.order, 2);
	/* Within a lane, first in first out. */
	for (i = 1; i < FLOOD; i++)
		assert_int_equal(flood[i].order, i + 2);
	future_unref(fg);
	future_unref(fs);
	executor_free(ex);
}

/* A lane emptied by cancelling its only item is gone; the others go on. */
static void
test_cancelling_a_lanes_last_item_leaves_the_others(void **state)
{
	struct executor	*ex = executor_new(1, 8);
	struct work	 gatekeeper, victim, other;
	struct future	*fg, *fv, *fo;
	sem_t		 gate;

	sem_init(&gate, 0, 0);
	work_init(&gatekeeper, 1, &gate);
	work_init(&victim, 2, NULL);
	work_init(&other, 3, NULL);
	fg = executor_submit_lane(ex, "a", work_fn, &gatekeeper);
	sem_wait_or_fail(&gatekeeper.started);
	fv = executor_submit_lane(ex, "b", work_fn, &victim);
	fo = executor_submit_lane(ex, "c", work_fn, &other);
	assert_true(future_cancel(fv, "not needed"));
	sem_post(&gate);
	assert_int_equal(future_wait(fo, TEST_WAIT_SECONDS), FUTURE_DONE);
	assert_int_equal(json_integer_value(future_result(fo)), 9);
	assert_false(atomic_load(&victim.ran));
	future_unref(fg);
	future_unref(fv);
	future_unref(fo);
	executor_free(ex);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_more_items_than_threads_all_complete_on_the_submitting_loop),
		cmocka_unit_test(test_full_queue_answers_busy),
		cmocka_unit_test(test_cancelled_before_start_never_runs),
		cmocka_unit_test(test_cancel_while_running_is_observed_by_the_work),
		cmocka_unit_test(test_shutdown_cancel_fails_queued_and_flags_running),
		cmocka_unit_test(test_shutdown_drain_runs_everything_queued),
		cmocka_unit_test(test_submitting_loop_stops_while_work_runs),
		cmocka_unit_test(test_lanes_take_turns_so_a_flood_cannot_starve_another),
		cmocka_unit_test(test_cancelling_a_lanes_last_item_leaves_the_others),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
