/*
 * Inside the workers (net/worker.c: the types, the hub and the worker
 * connections; net/worker_job.c: the job's owner), what both see.
 */
#ifndef LOOM_NET_WORKER_PRIVATE_H
#define LOOM_NET_WORKER_PRIVATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "core/job.h"
#include "runtime/hashmap.h"
#include "runtime/heap.h"
#include "runtime/loop.h"
#include "runtime/util.h"

struct config;
struct conn_remote;

/* An external type: made once, never freed before exit (jobs point at it). */
struct ext_type {
	struct job_type	 jt;		/* first: a job's type is its ext_type */
	char		 name[LOOM_NAME_MAX + 1];
	_Atomic double	 lease;		/* a reload may change it */
	bool		 noted;		/* a worker named it: the journal keeps it */
	struct heap	 ready;		/* hub: offers, priority then arrival */
	atomic_ulong	 waiting;	/* offers in ready, for stats */
};


/* A job offered to the hub, then (assigned) the hub's answer to its owner. */
struct offer {
	struct heap_node	 node;
	struct hashmap_entry	 entry;		/* hub: by job id */
	uint64_t		 id;
	uint64_t		 token;		/* which offer of the job */
	struct loop		*owner;
	struct ext_type		*type;
	/* Once assigned. */
	uint64_t		 worker;
	struct conn_remote	*remote;
};

/* On the owner: an external job's attempt, offered then leased. */
struct ext_run {
	struct job		*job;
	struct ext_type		*type;
	uint64_t		 token;
	bool			 leased;
	uint64_t		 worker;
	struct conn_remote	*remote;
	struct loop_event	 lease;
	struct loop_event	 flush;		/* progress, once per pass */
	json_t			*progress;	/* not yet published */
};

/* The parsed args: the text pushed to workers, shared by every attempt. */
struct ext_args {
	char	*text;
};


/* A hub message: release, lost, bye, gone. */
struct hub_msg {
	uint64_t	 worker;
	uint64_t	 id;
	struct loop	*owner;
};


/* On the worker's loop: what its connection keeps. */
struct worker_link {
	uint64_t	 id;
	char		 idstr[24];
};

/* Loop 0: the ready sets and the workers. */
extern struct loop	*worker_hub;

/* A call on `loop`: now if it is this one, else posted; false if the loop
 * has stopped. */
bool	worker_call_on(struct loop *, loop_fn, void *, const char *name);
/* A struct hub_msg to fn on loop. */
void	worker_hub_send(struct loop *, loop_fn fn, uint64_t worker, uint64_t id,
	    struct loop *owner, const char *name);

/* The hub's, on it (worker.c). */
void	hub_offer(void *);		/* a struct offer */
void	hub_release(void *);		/* a struct hub_msg */

/* The owner's (worker_job.c). */
void	owner_assigned(void *);		/* a struct offer, assigned */
void	owner_lost(void *);		/* a struct hub_msg */
int	ext_parse(const json_t *, const char *, const struct config *, void **,
	    struct error *);
void	ext_free(void *);
void	ext_start(struct job *, void *);
void	ext_cancel(struct job *, void *);

#endif
