/* The per-host limit: slots, a FIFO of waiters, grants across loops. */
#include "autoconf.h"

#include <semaphore.h>

#include "testutil.h"
#include "io/hostlimit.h"
#include "runtime/loop.h"

struct grant {
	struct loop	*ran_on;
	int		 runs;
	sem_t		 done;
};

static void
granted(void *arg)
{
	struct grant	*g = arg;

	g->ran_on = loop_current();
	g->runs++;
	sem_post(&g->done);
}

static void
assert_count(const char *key, unsigned int active, unsigned int waiting)
{
	unsigned int	a, w;

	hostlimit_count(key, &a, &w);
	assert_int_equal(a, active);
	assert_int_equal(w, waiting);
}

static void
nothing(void *arg)
{
}

static void
test_slots_up_to_the_limit_then_a_fifo(void **state)
{
	struct loop		*a = start_loop(0), *b = start_loop(1);
	struct waiter		*w1, *w2, *none;
	struct grant		 g1 = { 0 }, g2 = { 0 };

	sem_init(&g1.done, 0, 0);
	sem_init(&g2.done, 0, 0);
	assert_int_equal(hostlimit_acquire("h:80", 2, a, granted, NULL, &none), 1);
	assert_null(none);
	assert_int_equal(hostlimit_acquire("h:80", 2, a, granted, NULL, &none), 1);
	assert_int_equal(hostlimit_acquire("h:80", 2, b, granted, &g1, &w1), 0);
	assert_int_equal(hostlimit_acquire("h:80", 2, a, granted, &g2, &w2), 0);
	assert_non_null(w1);
	assert_count("h:80", 2, 2);
	/* Another host is not held up. */
	assert_int_equal(hostlimit_acquire("other:80", 2, a, granted, NULL, &none), 1);
	hostlimit_release("other:80");
	assert_count("other:80", 0, 0);

	/* A freed slot goes to the first waiter, on the waiter's loop. */
	hostlimit_release("h:80");
	sem_wait_or_fail(&g1.done);
	assert_ptr_equal(g1.ran_on, b);
	assert_int_equal(g2.runs, 0);
	assert_count("h:80", 2, 1);
	hostlimit_release("h:80");
	sem_wait_or_fail(&g2.done);
	assert_ptr_equal(g2.ran_on, a);
	hostlimit_release("h:80");
	hostlimit_release("h:80");
	assert_count("h:80", 0, 0);
	finish_loop(a);
	finish_loop(b);
	sem_destroy(&g1.done);
	sem_destroy(&g2.done);
}

static void
test_a_withdrawn_waiter_is_never_granted(void **state)
{
	struct loop		*a = start_loop(0);
	struct waiter		*w, *none;
	struct grant		 g = { 0 };

	assert_int_equal(hostlimit_acquire("h:80", 1, a, granted, NULL, &none), 1);
	assert_int_equal(hostlimit_acquire("h:80", 1, a, granted, &g, &w), 0);
	hostlimit_cancel(w);
	assert_count("h:80", 1, 0);
	hostlimit_release("h:80");
	run_on(a, nothing, NULL);
	assert_int_equal(g.runs, 0);
	assert_count("h:80", 0, 0);
	finish_loop(a);
}

/* On loop b: wait until the grant is in b's inbox, then withdraw. */
struct withdraw {
	sem_t			 go;
	struct waiter		*w;
};

static void
withdraw_late(void *arg)
{
	struct withdraw	*wd = arg;

	sem_wait_or_fail(&wd->go);
	hostlimit_cancel(wd->w);
}

static void
test_a_grant_in_flight_to_a_withdrawn_waiter_comes_back(void **state)
{
	struct loop		*b = start_loop(1);
	struct waiter		*none;
	struct withdraw		 wd;
	struct grant		 g = { 0 };

	sem_init(&wd.go, 0, 0);
	assert_int_equal(hostlimit_acquire("h:80", 1, b, granted, NULL, &none), 1);
	assert_int_equal(hostlimit_acquire("h:80", 1, b, granted, &g, &wd.w), 0);
	assert_int_equal(loop_post(b, withdraw_late, &wd), 0);
	hostlimit_release("h:80");		/* the grant queues behind withdraw_late */
	sem_post(&wd.go);
	run_on(b, nothing, NULL);
	assert_int_equal(g.runs, 0);
	assert_count("h:80", 0, 0);
	finish_loop(b);
	sem_destroy(&wd.go);
}

/* A grant whose post fails goes to the next waiter, or the slot comes back. */
static void
test_a_grant_to_a_stopped_loop_passes_the_slot_on(void **state)
{
	struct loop		*a = start_loop(0), *c = start_loop(2);
	struct waiter		*w1, *w2, *w3, *none;
	struct grant		 g1 = { 0 }, g2 = { 0 }, g3 = { 0 };

	sem_init(&g2.done, 0, 0);
	assert_int_equal(hostlimit_acquire("h:80", 1, c, granted, NULL, &none), 1);
	assert_int_equal(hostlimit_acquire("h:80", 1, c, granted, &g1, &w1), 0);
	assert_int_equal(hostlimit_acquire("h:80", 1, a, granted, &g2, &w2), 0);
	assert_int_equal(hostlimit_acquire("h:80", 1, c, granted, &g3, &w3), 0);
	loop_stop(c);
	loop_join(c);
	hostlimit_release("h:80");		/* c cannot take it: a's waiter can */
	sem_wait_or_fail(&g2.done);
	assert_count("h:80", 1, 1);
	hostlimit_release("h:80");		/* c's last waiter is lost too */
	assert_count("h:80", 0, 0);
	hostlimit_cancel(w1);			/* as the jobs' shutdown does */
	hostlimit_cancel(w3);
	assert_count("h:80", 0, 0);
	assert_int_equal(g1.runs, 0);
	assert_int_equal(g3.runs, 0);
	finish_loop(a);
	loop_free(c);
	sem_destroy(&g2.done);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slots_up_to_the_limit_then_a_fifo),
		cmocka_unit_test(test_a_withdrawn_waiter_is_never_granted),
		cmocka_unit_test(test_a_grant_in_flight_to_a_withdrawn_waiter_comes_back),
		cmocka_unit_test(test_a_grant_to_a_stopped_loop_passes_the_slot_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
