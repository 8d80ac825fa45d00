/*
 * Latency histograms for the metrics: fixed buckets from 100 us to an hour.
 * Each histogram has one writer (the loop whose shard holds it, the
 * journal's thread), which counts with relaxed atomic loads and stores, and
 * any number of readers, who sum them.  An observation is a short scan and
 * two stores: no lock, no locked instruction, no allocation.
 */
#ifndef LOOM_HISTOGRAM_H
#define LOOM_HISTOGRAM_H

#include <stdatomic.h>
#include <stdint.h>

#define HISTO_BOUNDS	23	/* upper bounds; one more bucket for +Inf */

/* The bounds in seconds, for the exposition (le="0.0001" ... le="3600"). */
extern const double	histo_bounds[HISTO_BOUNDS];

struct histo {
	atomic_uint_fast64_t	 n[HISTO_BOUNDS + 1];	/* per bucket, not cumulative */
	atomic_uint_fast64_t	 sum_ns;
};

/* A reader's copy; add several histograms into one. */
struct histo_sum {
	uint64_t		 n[HISTO_BOUNDS + 1];
	uint64_t		 sum_ns;
};

void	histo_observe(struct histo *, int64_t ns);	/* < 0 counts as 0 */
void	histo_add_to(struct histo *, struct histo_sum *);
uint64_t histo_count(const struct histo_sum *);

#endif
