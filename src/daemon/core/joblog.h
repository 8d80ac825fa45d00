/*
 * What finished, for people: a log line per finished job (log_jobs), and a
 * small ring of the latest failures for the dashboard.  An observer of the
 * job-state seam; the job code knows nothing of it.
 */
#ifndef LOOM_JOBLOG_H
#define LOOM_JOBLOG_H

#include <stdint.h>

#include "core/jobstate.h"

#define JOBLOG_FAILURES		32	/* kept in the ring */

/* A failed or timed-out job as the ring keeps it. */
struct joblog_failure {
	uint64_t	 id;
	enum job_state	 state;
	unsigned int	 attempt;
	int64_t		 finished_ns;	/* epoch */
	double		 duration;	/* seconds of its last attempt; 0: none */
	char		 type[65];
	char		 name[65];
	char		 queue[65];
	char		 code[65];
	char		 message[256];
};

/* Subscribe to the seam (at start, before the loops run). */
void	joblog_init(void);
/* Any thread: the failures kept, newest first, into out; how many. */
size_t	joblog_failures(struct joblog_failure *out, size_t max);

#endif
