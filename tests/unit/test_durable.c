/*
 * What waits for durability on a loop (core/durable.h): nothing waits when
 * everything published is durable; a wait runs once its batch is, in the
 * order the waits came, however many there are and however the queue wraps
 * and grows; a wait made by a wait goes behind the batch marked then; at
 * shutdown everything runs.
 */
#include "autoconf.h"

#include "testutil.h"
#include "core/durable.h"
#include "core/loomd.h"
#include "runtime/loop.h"
#include "runtime/util.h"

struct loomd	loomd;		/* main.c's, which this test does not link */

#define RUNS_MAX	20000

struct runs {
	int	order[RUNS_MAX];
	size_t	n;
};

static struct runs	runs;
static struct shard	*sh;

/* A wait's function: it notes its number. */
static void
ran(void *arg)
{
	assert_true(runs.n < RUNS_MAX);
	runs.order[runs.n++] = (int)(intptr_t)arg;
}

static void
wait_for(int k)
{
	durable_then(ran, (void *)(intptr_t)k);
}

static void
assert_ran(int from, int to)
{
	int	k;

	assert_int_equal(runs.n, to - from);
	for (k = from; k < to; k++)
		assert_int_equal(runs.order[k - from], k);
	runs.n = 0;
}

static int
setup(void **state)
{
	struct loop	*loop = start_loop(0);

	loomd.nloops = 1;
	loomd.loops = xcalloc(1, sizeof(*loomd.loops));
	loomd.shards = xcalloc(1, sizeof(*loomd.shards));
	loomd.loops[0] = loop;
	loomd.shards[0] = sh = shard_new(loop);
	runs.n = 0;
	return 0;
}

static int
teardown(void **state)
{
	finish_loop(loomd.loops[0]);
	durable_release_all(sh);
	shard_free(sh);
	free(loomd.shards);
	free(loomd.loops);
	loomd.shards = NULL;
	loomd.loops = NULL;
	loomd.nloops = 0;
	return 0;
}

static void
nothing_published(void *arg)
{
	wait_for(0);
	assert_ran(0, 1);		/* at once */
	durable_marked(sh, 1);
	assert_false(durable_done(durable_mark()));
	wait_for(1);
	assert_ran(0, 0);
	durable_reached(sh, 1);
	assert_true(durable_done(durable_mark()));
	assert_ran(1, 2);
	wait_for(2);
	assert_ran(2, 3);
}

static void
test_nothing_waits_for_what_is_durable(void **state)
{
	run_on(loomd.loops[0], nothing_published, NULL);
}

static void
batches_in_order(void *arg)
{
	int	k;

	durable_marked(sh, 1);
	for (k = 0; k < 3; k++)
		wait_for(k);
	durable_marked(sh, 2);
	for (; k < 5; k++)
		wait_for(k);
	durable_marked(sh, 3);
	wait_for(k++);
	durable_reached(sh, 1);
	assert_ran(0, 3);
	durable_reached(sh, 1);		/* again: nothing */
	assert_ran(0, 0);
	durable_reached(sh, 3);		/* 2 and 3 at once */
	assert_ran(3, 6);
}

static void
test_waits_run_when_their_batch_is_durable(void **state)
{
	run_on(loomd.loops[0], batches_in_order, NULL);
}

/* Waits that come while the first are taken off: the queue wraps, then
 * grows while wrapped, and keeps the order. */
static void
wraps_and_grows(void *arg)
{
	int		next = 0, prev_start = 0, prev_end = 0, start, round;
	uint64_t	batch = 0;

	for (round = 0; round < 12; round++) {
		durable_marked(sh, ++batch);
		start = next;
		while (next < start + 40 + round * 700)
			wait_for(next++);
		/* The last round's batch: its waits run, this round's wait. */
		durable_reached(sh, batch - 1);
		assert_ran(prev_start, prev_end);
		assert_int_equal(sh->durable.len, next - start);
		prev_start = start;
		prev_end = next;
	}
	durable_reached(sh, batch);
	assert_ran(prev_start, prev_end);
	assert_int_equal(sh->durable.len, 0);
	/* Empty and large: given back. */
	assert_int_equal(sh->durable.cap, 0);
}

static void
test_a_long_queue_keeps_its_order(void **state)
{
	run_on(loomd.loops[0], wraps_and_grows, NULL);
}

static void
wait_again(void *arg)
{
	ran(arg);
	/* Published since: this one waits for that batch. */
	wait_for(100 + (int)(intptr_t)arg);
}

static void
waits_from_a_wait(void *arg)
{
	durable_marked(sh, 1);
	durable_then(wait_again, (void *)(intptr_t)0);
	wait_for(1);
	durable_marked(sh, 2);
	durable_reached(sh, 1);
	assert_int_equal(runs.n, 2);
	assert_int_equal(runs.order[0], 0);
	assert_int_equal(runs.order[1], 1);
	runs.n = 0;
	durable_reached(sh, 2);
	assert_int_equal(runs.n, 1);
	assert_int_equal(runs.order[0], 100);
	runs.n = 0;
}

static void
test_a_wait_made_by_a_wait_goes_behind(void **state)
{
	run_on(loomd.loops[0], waits_from_a_wait, NULL);
}

static void
left_waiting(void *arg)
{
	int	k;

	durable_marked(sh, 5);
	for (k = 0; k < 100; k++)
		wait_for(k);
}

static void
test_shutdown_runs_what_waits(void **state)
{
	run_on(loomd.loops[0], left_waiting, NULL);
	finish_loop(loomd.loops[0]);
	loomd.loops[0] = start_loop(0);	/* for teardown */
	durable_release_all(sh);
	assert_ran(0, 100);
	assert_int_equal(sh->durable.len, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_nothing_waits_for_what_is_durable),
		T(test_waits_run_when_their_batch_is_durable),
		T(test_a_long_queue_keeps_its_order),
		T(test_a_wait_made_by_a_wait_goes_behind),
		T(test_shutdown_runs_what_waits),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
