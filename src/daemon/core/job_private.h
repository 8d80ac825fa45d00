/*
 * Inside the job layer (job.c, jobspec.c, jobs/composite.c): the
 * job itself.  Everything here is touched only on the job's owner loop,
 * except what job_submit() writes before it hands the job over.
 */
#ifndef LOOM_JOB_PRIVATE_H
#define LOOM_JOB_PRIVATE_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>

#include "core/job.h"
#include "runtime/loop.h"
#include "core/registry.h"
#include "runtime/util.h"

#define JOB_DEPTH_MAX		8	/* composites inside composites */
#define JOB_LIMITS_MAX		16	/* limits one job may hold */

struct conn_remote;
struct job_deps;
struct queue;
struct sem;
struct waiter;

struct job {
	struct registry_link	 reg;
	TAILQ_ENTRY(job)	 entry;		/* the owner's jobs, by id */
	const struct job_type	*type;
	void			*parsed;
	void			*type_state;
	unsigned int		 refs;		/* callbacks in flight, + 1 while registered */
	int			 priority;

	char			*name;
	struct queue		*queue;		/* a reference (borrowed for "default") */
	char			*key;
	double			 delay;
	double			 timeout;	/* 0: none */
	double			 retry_delay;
	double			 ttl;
	uint64_t		 parent;	/* 0: none */
	uint64_t		*children;	/* ids, in creation order */
	size_t			 nchildren;

	/* What must be held while running, in acquisition order (allocated
	 * for JOB_LIMITS_MAX + 1 when the spec names any). */
	struct sem		**resources;
	/* For its queue until it holds its place there, then for resources[held]. */
	struct waiter		*waiting;

	uint64_t		*after;		/* dependencies, until begun */
	size_t			 nafter;
	struct job_deps		*deps;

	struct conn_remote	*stream;	/* child events for a submit with stream */

	/* Small members together: a pending job's size counts (a sleeper's). */
	enum job_state		 state;
	enum job_state		 stopping;	/* cancel or timeout under way, else 0 */
	unsigned int		 retries;
	unsigned int		 attempt;
	unsigned short		 nresources;
	unsigned short		 held;		/* resources[0 .. held) are held */
	bool			 shield;
	bool			 begun;		/* the owner has taken it */
	bool			 slot;		/* admitted by its queue, until queue_leave() */
	bool			 counted;	/* in its queue's waiting count */
	int64_t			 created_ns;	/* epoch nanoseconds; 0: not yet */
	int64_t			 started_ns;
	int64_t			 finished_ns;
	struct error		 error;
	struct future		*work;		/* the executor's, while running */
	struct loop_event	 timer;
};
TAILQ_HEAD(job_list, job);

extern struct job_list	*job_lists;	/* one per loop */

/* job.c */
void	 job_begin(void *arg);
void	 job_cancel_hook(struct future *, void *, const char *);
void	 job_ref(struct job *);
void	 job_unref(struct job *);

/* jobspec.c */
struct job *job_parse_in(const json_t *spec, const char *base, const char *queue,
	    struct error *);
size_t	 job_tree_size(const struct job *);
void	 job_queue_release(void);	/* the default queue jobs borrow */

#endif
