/*
 * Workers: job types run by clients.  A type is external when the config
 * declares it ([type.NAME]) or a worker names it; its jobs are queued,
 * limited, retried and timed like any, and when one has its queue slot,
 * limits and lock it is offered to the hub, which pushes it to a worker
 * connection with room.  See doc/architecture.md, "Workers".
 */
#ifndef LOOM_NET_WORKER_H
#define LOOM_NET_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "runtime/util.h"

struct config;
struct conn;
struct worker_link;

#define WORKER_LEASE_DEFAULT	60.0	/* seconds */
#define WORKER_HELLO_TYPES_MAX	64	/* types one hello may name */

/* Before the loops run jobs: the hub, the config's types; after the loops
 * have stopped: free what is left. */
/* -1 with the message in err when a [type.NAME] cannot be (a built-in
 * name, too many types); the others are made all the same. */
int		 worker_init(const struct config *, char *err, size_t errlen);
/* The config's [type.NAME]s known, with their leases (start and reload). */
int		 worker_configure(const struct config *, char *err, size_t errlen);
void		 worker_shutdown(void);
/* While the journal is replayed, a job naming a type that is not built in
 * makes it known: it was external when it was submitted. */
void		 worker_replaying(bool);

/* Known external types, and workers connected now (any thread). */
size_t		 worker_type_count(void);
size_t		 worker_count(void);
/* The `workers` and `worker_types` members of stats (any loop). */
json_t		*worker_stats(void);

/* The ops, on the worker connection's loop (net/op_worker.c). */
enum worker_report_kind {
	WORKER_COMPLETE,
	WORKER_FAIL,
	WORKER_PROGRESS,
	WORKER_HEARTBEAT,
};
struct worker_link *worker_hello(struct conn *, const char *const *types,
		     size_t ntypes, unsigned int concurrency, const char *name,
		     struct error *);
const char	*worker_link_id(const struct worker_link *);
void		 worker_bye(struct worker_link *);
void		 worker_closed(struct worker_link *);
/*
 * A report on job `id` from the worker of `link`: answered on the
 * connection ({"ok":true} or invalid_state) once the job's owner has
 * taken it.  payload (the result, or the progress) and error are moved.
 */
void		 worker_report(struct conn *, json_t *reqid, struct worker_link *,
		     enum worker_report_kind, uint64_t id, json_t *payload,
		     struct error *, bool retry);

#endif
