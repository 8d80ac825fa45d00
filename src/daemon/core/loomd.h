/*
 * The daemon's shared state: the loops, the executor, the configuration and
 * the counters that `stats` reports.  Set up by main() before any loop runs
 * and torn down after they have all stopped; in between, read-only except
 * for the atomics (the configuration is one).
 */
#ifndef LOOM_LOOMD_H
#define LOOM_LOOMD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct config;
struct executor;
struct loop;

/* Per-loop counters, written by that loop, read by `stats` from any loop. */
struct loop_counters {
	atomic_ulong	connections;	/* open now */
	atomic_ulong	jobs;		/* live jobs owned by the loop */
	atomic_ulong	handoffs;	/* jobs this loop handed to another */
	atomic_ulong	watchers;	/* connections here with a watch */
};

struct loomd {
	/* Replaced whole by a reload; a replaced one is never freed before
	 * exit, so a pointer read from here stays good. */
	const struct config	*_Atomic config;
	struct loop		**loops;
	struct loop_counters	*counters;	/* one per loop */
	unsigned int		 nloops;
	struct executor		*executor;
	double			 started_at;	/* epoch */
	atomic_bool		 draining;	/* no new work */

	atomic_ulong		 conn_current;
	atomic_ulong		 conn_total;
	atomic_ulong		 conn_rejected;
	atomic_ulong		 watchers;	/* all loops: skip views when 0 */
};

extern struct loomd	loomd;

#endif
