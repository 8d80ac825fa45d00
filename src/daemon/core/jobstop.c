/*
 * The drain's stop: when the shutdown grace is over, each loop fails the
 * jobs it owns that have not finished, a slice at a time, so that a loop
 * with millions of them goes on answering its clients meanwhile and the
 * drain sees it move on (doc/architecture.md, "Shutdown").
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/job.h"
#include "core/job_private.h"
#include "core/loomd.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

/* Jobs the drain looks at a callback: stopping one costs more than a
 * list's view (its outcome, its observers, its log line), about 4 us, so
 * a quarter of a list's pass, a few milliseconds. */
#define JOB_STOP_SLICE		1024

/* A loop's walk that fails its unfinished jobs. */
struct stop_walk {
	struct shard	*shard;
	struct job_walk	*walk;
	size_t		 stopped;
	size_t		 slices;
	bool		 unbounded;	/* the loop is stopping: all at once */
	uint64_t	 started_ns;
	void		(*done)(size_t, void *);
	void		*arg;
};

/*
 * How many jobs one callback of the drain looks at;
 * LOOMD_TEST_STOP_SLICE lets a test make it one.
 */
static size_t
job_stop_slice(void)
{
	static atomic_uint_fast64_t	slice;

	return (size_t)test_tunable(&slice, "LOOMD_TEST_STOP_SLICE",
	    JOB_STOP_SLICE);
}

bool
job_stopping_all(const struct job *job)
{
	return shard_of(job->reg.owner)->stop != NULL;
}

unsigned long
job_stop_progress(unsigned int loop)
{
	return atomic_load_explicit(&loomd.shards[loop]->stop_looked,
	    memory_order_relaxed);
}

static bool
job_stop_one(struct job *job, void *arg)
{
	struct stop_walk	*st = arg;

	if (job_state_terminal(job->state) || job->stopping != 0)
		return true;
	log_debug("job %llu: %s %s, stopped by the shutdown",
	    (unsigned long long)job->reg.id, job->spec->type->name,
	    job_state_name(job->state));
	job_stop(job, JOB_FAILED, NULL);
	st->stopped++;
	return true;
}

static void
job_stop_slice_run(void *arg)
{
	struct stop_walk	*st = arg;
	size_t			 budget, n;
	bool			 over;

	budget = n = st->unbounded ? SIZE_MAX : job_stop_slice();
	over = job_walk_each(st->walk, &budget, job_stop_one, st);
	st->slices++;
	atomic_fetch_add_explicit(&st->shard->stop_looked, n - budget,
	    memory_order_relaxed);
	if (!over) {
		/* The next slice after the loop's other events; the rest now
		 * if the loop takes no more posts (it is stopping). */
		if (loop_post(st->shard->loop, job_stop_slice_run, st) == -1) {
			st->unbounded = true;
			job_stop_slice_run(st);
		}
		return;
	}
	if (st->stopped > 0)
		log_info("shutdown: loop %u stopped %zu jobs (%zu slices, %.0f ms)",
		    st->shard->index, st->stopped, st->slices,
		    (now_ns() - st->started_ns) / 1e6);
	st->shard->stop = NULL;
	job_walk_free(st->walk);
	st->done(st->stopped, st->arg);
	free(st);
}

/*
 * The shutdown grace is over: every job this loop owns that has not finished
 * fails with shutting_down (a running one once its type has stopped; CPU
 * work when it returns).  Newest first, so children end with that code
 * before their parents cancel them; meanwhile the parents do not act on
 * their children's ends (job_stopping_all()), so each ends shutting_down
 * when it is reached, as if all had stopped at once.  A loop may hold
 * millions: JOB_STOP_SLICE jobs a callback, and the loop serves its other
 * events between slices.
 */
void
job_stop_all(void (*done)(size_t, void *), void *arg)
{
	struct shard		*sh = shard_current();
	struct stop_walk	*st;

	if (sh->stop != NULL)
		fatalx("job_stop_all: loop %u is stopping its jobs already",
		    sh->index);
	st = xcalloc(1, sizeof(*st));
	st->shard = sh;
	st->walk = job_walk_new(-1, NULL, NULL, 0, SIZE_MAX);
	st->started_ns = now_ns();
	st->done = done;
	st->arg = arg;
	sh->stop = st;
	job_stop_slice_run(st);
}
