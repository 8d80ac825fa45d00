/*
 * Jobs: the state machine each submitted job runs on its owner loop
 * (pending → queued → running → done | failed | cancelled | timed_out), the
 * job types that do the work (one file each in jobs/, registered at start),
 * and the seam through which the rest of the daemon hears of every state
 * change (watch, streams, and whatever comes later) without the job layer
 * knowing any of them.
 */
#ifndef LOOM_JOB_H
#define LOOM_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/jobstate.h"
#include "runtime/util.h"

struct config;
struct future;
struct job;
struct loop;
struct principal;

enum job_runs {
	JOB_RUNS_LOOP,		/* start/cancel on the owner loop */
	JOB_RUNS_EXECUTOR,	/* work() on an executor thread */
	JOB_RUNS_WORKER,	/* start() offers it; job_started() once a worker has it */
};

/*
 * A job type (tmux's cmd_entry): its name, where it runs, how its `args` are
 * checked and parsed at submit time, and how it runs.
 *
 * parse() runs on the submitting connection's loop, before the job exists:
 * it validates args (a JSON object, possibly empty) and returns a parsed form
 * in *parsed, or fails with bad_request naming the field under `base`
 * ("job.args", "jobs[2].args").  It may be called with args == NULL meaning
 * `{}`.  The parsed form is immutable afterwards, shared by every attempt
 * (and, for a composite's child, every instance), and released with
 * free_parsed().
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
	/* Composites: how many jobs they will create below them, in all. */
	size_t		(*descendants)(const void *parsed);
	/* Composites: their children's specs (so a token's rights reach them). */
	const struct job_spec *const *(*children)(const void *parsed, size_t *n);
	/* exec: the configured command it runs (a token's `commands`). */
	const char	*(*command)(const void *parsed);
	/* Worker types: the loop that owns their jobs when the queue has no
	 * home (NULL: spread like any job). */
	struct loop	*home;
};

/* The types jobs may name: registered before the loops start. */
void			 job_types_register(const struct job_type *const *, size_t);
const struct job_type	*job_type_find(const char *name);
/* Only the registered (built-in) ones. */
const struct job_type	*job_type_builtin(const char *name);
/* Where job_type_find() looks for a name the table lacks (types run by
 * workers, known at run time); set before the loops start. */
void			 job_types_extend(const struct job_type *(*)(const char *));

/*
 * A finished job as everyone sees it: made once by the owner when the job
 * ends and carried by the job's future (future_value), then immutable.  Any
 * thread holding a reference on the future may read it; none may reference
 * the result (jansson's counts are not atomic: copy it, or write it out).
 */
struct job_outcome {
	uint64_t	 id;
	enum job_state	 state;
	struct error	 error;		/* failed, cancelled, timed_out */
	json_t		*result;	/* done, a composite's child: the result */
	char		*view;		/* the terminal view as JSON text */
	size_t		 view_len;
	size_t		 held;		/* what it counts in job_held_bytes() */
};
/* The outcome in a job's future once it is done, else NULL. */
const struct job_outcome *job_outcome(struct future *);
/*
 * What jobs hold now, all loops (max_result_bytes): every spec's text (kept
 * for the journal) and its parsed arguments (about their size as JSON), for
 * as long as a job or a composite holds it; and every outcome's view, with
 * a child's parsed result.  A job's count goes when it expires.
 */
size_t		 job_held_bytes(void);

/*
 * The job-state seam.  Every transition is published on the job's owner
 * loop (its submission on the submitting loop, before the owner has it) to
 * each observer registered before the loops start, in the order they
 * registered (a store first: what later observers tell clients waits for
 * the record it opens).  wants() (may be NULL: always) lets an observer with
 * nobody to tell skip the work of a view.
 */
enum job_event {
	JOB_EVENT_SUBMIT,	/* on the submitting loop, before the owner has it */
	JOB_EVENT_BEGIN,	/* its owner took it, in its first state */
	JOB_EVENT_STATE,	/* a state change short of the end */
	JOB_EVENT_FINISH,	/* terminal: `outcome` is set */
	JOB_EVENT_EXPIRE,	/* its ttl is over: it is forgotten */
};
struct job_observer {
	const char	*name;
	bool		(*wants)(const struct job *);
	void		(*notify)(enum job_event, const struct job *,
			    const struct job_outcome *);
};
void		 job_observe(const struct job_observer *);

/*
 * A listener on one job (a submit with stream follows a composite's
 * children): child() runs on the job's owner loop as each child finishes,
 * in completion order; release() once the job no longer needs it.
 */
struct job_listener {
	void	(*child)(void *arg, size_t index, const struct job_outcome *);
	void	(*release)(void *arg);
};
void		 job_listen(struct job *, const struct job_listener *, void *arg);
/* A composite's child finished: tell the job's listener, if it has one. */
void		 job_tell_child(struct job *, size_t index, const struct job_outcome *);

/*
 * Submitting, on the connection's loop.  job_parse() checks one spec at
 * `base` ("job", "jobs[2]") and builds a job that is not yet anyone's;
 * job_discard() drops it.  job_submit() gives the job an id and an owner
 * loop, registers it and starts it there; afterwards the caller must not
 * touch the job, only the future, whose value is the job's outcome.  With
 * an idempotency key already held by a live job, that job's id and future
 * are returned instead and the new one is discarded.
 */
struct job	*job_parse(const json_t *spec, const char *base, struct error *);
/* The same, with the text spec was read from (text NULL: none), which a
 * store keeps as it came rather than writing the JSON again. */
struct job	*job_parse_as(const json_t *spec, const char *base, const char *text,
		     size_t len, struct error *);
/* A spec's JSON text from the store, kept as it is (a replay's). */
struct job	*job_parse_text(const char *text, size_t len, struct error *);
void		 job_discard(struct job *);
bool		 job_has_delay(const struct job *);
/* The ids its spec's `after` names. */
size_t		 job_after(const struct job *, const uint64_t **ids);
/* Who submits it (before job_submit; its children inherit it). */
void		 job_set_principal(struct job *, struct principal *);
/*
 * The first exec command in the job or below it (a composite's children)
 * that allowed() refuses, or NULL if none is.
 */
const char	*job_command_denied(const struct job *,
		     bool (*allowed)(const char *command, void *), void *arg);
bool		 job_uses_executor(const struct job *);
/* The jobs these specs make, children included (for max_jobs). */
size_t		 job_count(struct job *const *, size_t);
/* Count them against their queues' max_pending; busy if one is full. */
int		 job_reserve(struct job *const *, size_t, struct error *);
void		 job_submit(struct job *, uint64_t *id, struct future **);

/*
 * Composites keep their children's specs, parsed once at submit and made
 * into a job by each attempt.  job_spec_parse() checks a spec at `base`;
 * job_submit_child() makes a child of `parent` from one (in the parent's
 * queue unless the spec names another) and submits it; with the id and the
 * future as job_submit() gives them.
 */
struct job_spec;
struct job_spec	*job_spec_parse(const json_t *, const char *base, struct error *);
void		 job_spec_unref(const struct job_spec *);
size_t		 job_spec_tree_size(const struct job_spec *);	/* it and below */
bool		 job_spec_shield(const struct job_spec *);
void		 job_submit_child(struct job *parent, size_t index,
		     const struct job_spec *, uint64_t *id, struct future **);
/* A replayed composite's child `index`, if it had one that is still known:
 * its id and a reference on its future. */
bool		 job_child_restored(struct job *parent, size_t index, uint64_t *id,
		     struct future **);

/* On the owner loop: the view (without the result, which only the outcome
 * carries), as JSON text. */
char		*job_view_text(const struct job *, size_t *len);
bool		 job_finished(const struct job *);
/* only: that principal's jobs (NULL: anyone's). */
bool		 job_matches(const struct job *, int state, const char *queue,
		     const struct principal *only);
const char	*job_queue(const struct job *);
const struct principal *job_principal(const struct job *);	/* or NULL */
const char	*job_type_name(const struct job *);
enum job_state	 job_state(const struct job *);
unsigned int	 job_attempt(const struct job *);	/* 0 until it first runs */
const char	*job_name(const struct job *);		/* the spec's; NULL: none */
/* When it was made, last queued, and its last attempt began and ended:
 * epoch nanoseconds, 0 for what has not happened (yet, or this attempt). */
struct job_times {
	int64_t		 created_ns;
	int64_t		 queued_ns;
	int64_t		 started_ns;
	int64_t		 finished_ns;
};
void		 job_times(const struct job *, struct job_times *);

/*
 * On a loop: up to limit of its own jobs matching, newest first, ids below
 * `before` (0: any).  Their views (as job_view_text() writes them) one after
 * another in text, the one of views[i].id at views[i].off.
 */
struct job_listing {
	char		*text;
	struct job_listed {
		uint64_t	 id;
		size_t		 off;
		size_t		 len;
	}		*views;
	size_t		 n;
};
void		 job_collect(int state, const char *queue,
		     const struct principal *only, uint64_t before, size_t limit,
		     struct job_listing *);
void		 job_listing_free(struct job_listing *);
/*
 * The same a slice at a time, so that a loop with many jobs goes on with
 * its other work in between: job_walk_step() looks at up to *budget more
 * jobs, taking each off *budget, and says whether the walk is over, its
 * listing then in *out.  A walk stands at the next job it will look at; if
 * that job goes (its ttl is over), the walk goes on at the one before.
 * Made, stepped and freed on the loop whose jobs it walks; `queue` must
 * outlive it.
 */
struct job_walk;
struct job_walk	*job_walk_new(int state, const char *queue,
		     const struct principal *only, uint64_t before, size_t limit);
bool		 job_walk_step(struct job_walk *, size_t *budget,
		     struct job_listing *);
void		 job_walk_free(struct job_walk *);
/* Counts by state over every loop, for `stats`. */
void		 job_count_states(unsigned long counts[JOB_NSTATES]);

/*
 * The retry op, on the job's owner: a job that ended failed, cancelled or
 * timed out runs again under its id as its next attempt (invalid_state
 * otherwise, not_found if it is gone); *state is where it is now.
 */
int		 job_retry(uint64_t id, enum job_state *state, struct error *);

/* After the loops stop: free what is left. */
void		 job_shutdown(void);
/*
 * On each loop when the shutdown grace is over: fail its unfinished jobs,
 * newest first, a slice at a time, the loop's other events served between
 * slices; done(n, arg) once every job it held has been looked at, n of
 * them stopped.  One at a time on a loop.  job_stop_progress() counts the
 * jobs loop i's walks have looked at, for any thread to see them go on;
 * job_stopping_all() says whether one is under way on the job's loop
 * (then a parent or a dependent leaves it to the walk to end it).
 */
void		 job_stop_all(void (*done)(size_t, void *), void *arg);
unsigned long	 job_stop_progress(unsigned int);
bool		 job_stopping_all(const struct job *);

/* For loop types, on the owner loop. */
/* The result is stolen and must be the job's own: no reference shared with
 * its args or with another thread (the outcome that keeps it is freed by
 * whichever thread lets the future go; jansson's counts are not atomic). */
void		 job_succeed(struct job *, json_t *result);
void		 job_fail(struct job *, struct error *);	/* moves */
struct loop	*job_loop(const struct job *);
uint64_t	 job_id(const struct job *);
double		 job_timeout(const struct job *);	/* the spec's; 0: none */
/*
 * Worker types (JOB_RUNS_WORKER): start() is called once the job has its
 * queue slot, limits and lock, and the job stays queued until a worker
 * takes it: job_started() makes it running (its attempt, its timeout).
 * job_requeue() gives a running job back as its next attempt, queued again
 * (counted against its retries; with none left it fails with the error).
 * cancel() is called for a job stopped while offered, too.
 */
void		 job_started(struct job *);
void		 job_fail_final(struct job *, struct error *);	/* no retry */
const void	*job_parsed(const struct job *);
const struct job_type *job_type_of(const struct job *);
void		 job_requeue(struct job *, struct error *);	/* moves */
int		 job_priority(const struct job *);
int64_t		 job_started_ns(const struct job *);
/* Shown in the view while it runs, published as a state event; steals. */
void		 job_set_progress(struct job *, json_t *);
/* Type-private state for a running attempt (loop types). */
void		*job_type_state(const struct job *);
void		 job_set_type_state(struct job *, void *);

#endif
