/*
 * Histograms.  Buckets hold their own counts (not cumulative), so an
 * observation touches one bucket; the exposition accumulates them, and its
 * count is the sum of the buckets it read: +Inf always equals the count,
 * even while observations go on.
 */
#include "autoconf.h"

#include <string.h>

#include "runtime/histogram.h"

const double histo_bounds[HISTO_BOUNDS] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 3600,
};

/* The same bounds in nanoseconds: the hot path compares integers. */
static const uint64_t histo_bounds_ns[HISTO_BOUNDS] = {
	100000ULL, 250000ULL, 500000ULL, 1000000ULL, 2500000ULL, 5000000ULL,
	10000000ULL, 25000000ULL, 50000000ULL, 100000000ULL, 250000000ULL,
	500000000ULL, 1000000000ULL, 2500000000ULL, 5000000000ULL,
	10000000000ULL, 25000000000ULL, 50000000000ULL, 100000000000ULL,
	250000000000ULL, 500000000000ULL, 1000000000000ULL, 3600000000000ULL,
};

void
histo_observe(struct histo *h, int64_t ns)
{
	uint64_t	v = ns > 0 ? (uint64_t)ns : 0;
	unsigned int	i = 0;

	/* Most observations are short: a scan from the bottom ends early. */
	while (i < HISTO_BOUNDS && v > histo_bounds_ns[i])
		i++;
	/* One writer: a load and a store, no locked read-modify-write. */
	atomic_store_explicit(&h->n[i], atomic_load_explicit(&h->n[i],
	    memory_order_relaxed) + 1, memory_order_relaxed);
	atomic_store_explicit(&h->sum_ns, atomic_load_explicit(&h->sum_ns,
	    memory_order_relaxed) + v, memory_order_relaxed);
}

void
histo_add_to(struct histo *h, struct histo_sum *s)
{
	unsigned int	i;

	for (i = 0; i <= HISTO_BOUNDS; i++)
		s->n[i] += atomic_load_explicit(&h->n[i], memory_order_relaxed);
	s->sum_ns += atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}

uint64_t
histo_count(const struct histo_sum *s)
{
	uint64_t	n = 0;
	unsigned int	i;

	for (i = 0; i <= HISTO_BOUNDS; i++)
		n += s->n[i];
	return n;
}
