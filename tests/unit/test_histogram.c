/* Histograms: which bucket a value lands in, the sum, and the count. */
#include "autoconf.h"

#include "testutil.h"
#include "runtime/histogram.h"

static void
test_a_value_on_a_bound_is_in_that_bucket(void **state)
{
	struct histo		h = { 0 };
	struct histo_sum	s = { 0 };

	histo_observe(&h, 100000);		/* 0.0001 s: le="0.0001" */
	histo_observe(&h, 100001);		/* just above: le="0.00025" */
	histo_observe(&h, 1000000000);		/* 1 s */
	histo_add_to(&h, &s);
	assert_int_equal(s.n[0], 1);
	assert_int_equal(s.n[1], 1);
	assert_true(histo_bounds[12] == 1.0);
	assert_int_equal(s.n[12], 1);
	assert_int_equal(histo_count(&s), 3);
	assert_int_equal(s.sum_ns, 100000 + 100001 + 1000000000);
}

static void
test_the_ends(void **state)
{
	struct histo		h = { 0 };
	struct histo_sum	s = { 0 };

	histo_observe(&h, -5);			/* a clock step back: 0 */
	histo_observe(&h, 0);
	histo_observe(&h, 3600000000000LL);	/* an hour: the last bound */
	histo_observe(&h, 3600000000001LL);	/* past it: +Inf */
	histo_add_to(&h, &s);
	assert_int_equal(s.n[0], 2);
	assert_int_equal(s.n[HISTO_BOUNDS - 1], 1);
	assert_int_equal(s.n[HISTO_BOUNDS], 1);
	assert_int_equal(histo_count(&s), 4);
}

/* The bounds go up, from 100 us to an hour. */
static void
test_bounds_rise(void **state)
{
	int	i;

	assert_true(histo_bounds[0] == 0.0001);
	assert_true(histo_bounds[HISTO_BOUNDS - 1] == 3600);
	for (i = 1; i < HISTO_BOUNDS; i++)
		assert_true(histo_bounds[i] > histo_bounds[i - 1]);
}

/* Several histograms (one per loop) add into one sum. */
static void
test_sums_add_up(void **state)
{
	struct histo		a = { 0 }, b = { 0 };
	struct histo_sum	s = { 0 };

	histo_observe(&a, 2000000);
	histo_observe(&b, 2000000);
	histo_observe(&b, 30000000);
	histo_add_to(&a, &s);
	histo_add_to(&b, &s);
	assert_int_equal(histo_count(&s), 3);
	assert_int_equal(s.sum_ns, 34000000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_value_on_a_bound_is_in_that_bucket),
		cmocka_unit_test(test_the_ends),
		cmocka_unit_test(test_bounds_rise),
		cmocka_unit_test(test_sums_add_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
