/*
 * Inside the job layer (core/job*.c): the spec a job is made from and the
 * job itself.  A job is touched only on its owner loop, except what
 * job_submit() writes before it hands the job over.
 */
#ifndef LOOM_JOB_PRIVATE_H
#define LOOM_JOB_PRIVATE_H

#include <sys/queue.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/job.h"
#include "core/registry.h"
#include "runtime/loop.h"
#include "runtime/util.h"

#define JOB_DEPTH_MAX		8	/* composites inside composites */
#define JOB_LIMITS_MAX		16	/* limits one job may hold */

struct job_deps;
struct job_walk;
struct queue;
struct sem;
struct waiter;

/*
 * What a spec says, parsed once and immutable after: a submitted job's own,
 * or a composite's child, which every attempt of the parent instantiates
 * again.  Shared by the jobs made from it, on any loop: refcounted.
 */
struct job_spec {
	atomic_uint		 refs;
	bool			 embedded;	/* inside its one job's allocation */
	bool			 shield;
	bool			 fail_interrupted;	/* on_interrupt: fail */
	int			 priority;
	const struct job_type	*type;
	void			*parsed;
	char			*name;
	struct queue		*queue;		/* a reference; NULL: the parent's */
	char			*key;
	double			 delay;
	double			 timeout;	/* 0: none */
	double			 retry_delay;
	double			 ttl;
	unsigned int		 retries;
	/* What must be held while running, in acquisition order: the limits
	 * sorted, then the lock (a reference). */
	struct sem		**resources;
	unsigned short		 nresources;
	uint64_t		*after;		/* dependencies */
	size_t			 nafter;
	char			*text;		/* as submitted, for a store; or NULL */
	size_t			 text_len;
	bool			 text_inline;	/* in the spec's allocation */
	size_t			 held;		/* counted in job_held_bytes() */
};

struct job {
	struct registry_link	 reg;
	TAILQ_ENTRY(job)	 entry;		/* the owner's jobs, by id */
	LIST_HEAD(, job_walk)	 walks;		/* those that go on here */
	const struct job_spec	*spec;
	struct queue		*queue;		/* the spec's, or the parent's */
	void			*type_state;
	unsigned int		 refs;		/* callbacks in flight, + 1 while registered */

	uint64_t		 parent;	/* 0: none */
	uint32_t		 index;		/* among the parent's children */
	uint32_t		 version;	/* counts its published events */
	uint64_t		*children;	/* ids, in creation order */
	size_t			 nchildren;

	/* For its queue until it holds its place there, then for resources[held]. */
	struct waiter		*waiting;
	struct job_deps		*deps;		/* until `after` is satisfied */

	const struct job_listener *listener;
	void			*listener_arg;

	/* Small members together: a pending job's size counts (a sleeper's). */
	enum job_state		 state;
	enum job_state		 stopping;	/* cancel or timeout under way, else 0 */
	unsigned int		 attempt;
	unsigned short		 held;		/* resources[0 .. held) are held */
	bool			 begun;		/* the owner has taken it */
	bool			 restored;	/* children by index, from a replay */
	bool			 slot;		/* admitted by its queue, until queue_leave() */
	bool			 counted;	/* in its queue's waiting count */
	bool			 submit_counted;	/* core/counters.c's */
	int64_t			 created_ns;	/* epoch nanoseconds; 0: not yet */
	int64_t			 queued_ns;	/* last queued, for its wait */
	int64_t			 started_ns;
	int64_t			 finished_ns;
	int64_t			 due_ns;	/* pending for a retry: until then */
	struct error		 error;
	struct error		 last_error;	/* of the attempt before a retry */
	json_t			*progress;	/* a worker's, while it runs */
	struct future		*work;		/* the executor's, while running */
	const struct job_outcome *outcome;	/* once finished: its future's */
	struct loop_event	 timer;
};

/* job.c: the state machine */
void	 job_begin(void *arg);
/* The owner takes it (its list, its timer, its count), telling nobody. */
void	 job_take_quiet(struct job *);
void	 job_ready(struct job *);		/* after `after`: delay, then queue */
void	 job_deps_start(struct job *);
void	 job_enqueue(struct job *);
void	 job_arm_timer(struct job *, double seconds);
void	 job_finish(struct job *, enum job_state, json_t *result, struct error *);
void	 job_cancel_hook(struct future *, void *, const char *);
/* Cancel (JOB_CANCELLED), time out (JOB_TIMED_OUT) or fail for a shutdown
 * (JOB_FAILED); a running job ends once its type has stopped. */
void	 job_stop(struct job *, enum job_state how, const char *reason);
void	 job_ref(struct job *);
void	 job_unref(struct job *);

/* jobview.c: it leaves its owner's list; walks that were to go on at it
 * go on at the one before. */
void	 job_walks_step_back(struct job *);
/* A walk that calls fn on each job instead of rendering views (job.h has
 * the rest); fn returns false to end it. */
bool	 job_walk_each(struct job_walk *, size_t *budget,
	    bool (*fn)(struct job *, void *), void *arg);

/* jobspec.c: specs */
void	 job_spec_init(struct job_spec *);
int	 job_spec_fill(struct job_spec *, const json_t *, const char *base, bool,
	    struct error *);
void	 job_spec_clear(struct job_spec *);

/* submit.c: jobs made from specs, and their owners */
struct queue *job_queue_get(const char *name);	/* "default" is borrowed */
struct shard *job_place(const struct job *);	/* its owner, when submitted */
void	 job_queue_put(struct queue *);
void	 job_queue_release(void);	/* the default queue jobs borrow */

/* jobview.c: what others see, and the seam */
void	 job_publish(enum job_event, struct job *, const struct job_outcome *);
struct job_outcome *job_outcome_new(const struct job *, json_t *result);
void	 job_outcome_free(void *);
void	 job_outcome_charge(struct job_outcome *);	/* to job_held_bytes */
void	 job_hold(size_t);		/* counted in job_held_bytes() */
void	 job_unhold(size_t);
/* Its executor lane: its queue and its owner, written into buf. */
#define JOB_LANE_MAX	(2 * LOOM_NAME_MAX + 2)
const char *job_lane(const struct job *, char *buf, size_t len);
void	 job_count_state(struct job *, enum job_state);

#endif
