/*
 * The states of a job (pending → queued → running → done | failed |
 * cancelled | timed_out), by themselves: what counts them (core/loomd.h)
 * needs no more of the job layer.
 */
#ifndef LOOM_JOBSTATE_H
#define LOOM_JOBSTATE_H

#include <stdbool.h>

enum job_state {
	JOB_PENDING,		/* waiting for a delay or a retry */
	JOB_QUEUED,		/* eligible, waiting to start */
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,
	JOB_CANCELLED,
	JOB_TIMED_OUT,
};
#define JOB_NSTATES	(JOB_TIMED_OUT + 1)

const char	*job_state_name(enum job_state);
int		 job_state_parse(const char *);		/* -1 if unknown */
bool		 job_state_terminal(enum job_state);

#endif
