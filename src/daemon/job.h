/*
 * Jobs: the state machine each submitted job runs on its owner loop
 * (pending → queued → running → done | failed | cancelled | timed_out), and
 * the job types that do the work, one file each in jobs/.
 */
#ifndef LOOM_JOB_H
#define LOOM_JOB_H

#include <stdbool.h>

#include <jansson.h>

#include "util.h"

struct config;
struct job;

enum job_runs {
	JOB_RUNS_LOOP,		/* start/cancel on the owner loop */
	JOB_RUNS_EXECUTOR,	/* work() on an executor thread */
};

/*
 * A job type (tmux's cmd_entry): its name, where it runs, how its `args` are
 * checked and parsed at submit time, and how it runs.
 *
 * parse() runs on the submitting connection's loop, before the job exists:
 * it validates args (a JSON object, possibly empty) and returns a parsed form
 * in *parsed, or fails with bad_request naming the field under `base`
 * ("job.args", "jobs[2].args").  It may be called with args == NULL meaning
 * `{}`.  The parsed form is immutable afterwards, used by every attempt, and
 * released with free_parsed().
 *
 * Executor types supply work(): it runs on an executor thread, touches only
 * its parsed argument, polls executor_cancelled() in long loops, and returns
 * the result or NULL with the error set.
 *
 * Loop types supply start() and cancel(), called on the owner loop.  start()
 * begins the work and later finishes it with job_succeed() or job_fail().
 * cancel() stops what start() began and frees what it holds; the job layer
 * then ends the job as cancelled or timed out.  After cancel() the type must
 * not finish the job.
 */
struct job_type {
	const char	*name;
	enum job_runs	 runs;
	int		(*parse)(const json_t *args, const char *base,
			    const struct config *, void **parsed, struct error *);
	void		(*free_parsed)(void *parsed);
	json_t		*(*work)(void *parsed, struct error *);
	void		(*start)(struct job *, void *parsed);
	void		(*cancel)(struct job *, void *parsed);
};

const struct job_type	*job_type_find(const char *name);

/* For loop types, on the owner loop. */
void		 job_succeed(struct job *, json_t *result);	/* steals */
void		 job_fail(struct job *, struct error *);	/* moves */
struct loop	*job_loop(const struct job *);
uint64_t	 job_id(const struct job *);
/* Type-private state for a running attempt (loop types). */
void		*job_type_state(const struct job *);
void		 job_set_type_state(struct job *, void *);

#endif
