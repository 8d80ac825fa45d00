/*
 * Inside the protocol layer: a request as the ops see it, the state the
 * protocol keeps per connection, the replies (reply.c, the only place that
 * writes protocol messages), waits on jobs (wait.c), and the ops, one group
 * per file (op_job.c, op_view.c, op_admin.c), listed in proto.c's table.
 */
#ifndef LOOM_NET_OPS_H
#define LOOM_NET_OPS_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "net/auth.h"
#include "runtime/jsonload.h"
#include "runtime/util.h"

struct conn;
struct future;
struct loop;
struct list_req;
struct principal;
struct proto_wait;
struct watch_filter;
struct worker_link;

struct request {
	struct conn		*conn;
	json_t			*msg;
	json_t			*id;		/* borrowed from msg */
	/* The line msg was read from, and where some of its values were
	 * (job specs, kept as they came for the journal); for as long as
	 * the op's handler runs. */
	const char		*line;
	struct json_spans	 spans;
	struct auth_rights	 rights;	/* who it acts for, what it may do */
	/* Sees only this principal's jobs (its own); NULL: every job. */
	const struct principal	*only;
};

/* What the protocol keeps for a connection (conn_state()). */
struct proto_conn {
	TAILQ_HEAD(, proto_wait) waits;		/* requests waiting on jobs */
	TAILQ_HEAD(, list_req)	 lists;		/* lists the loops are building */
	struct watch_filter	*watches;
	struct auth_conn	 auth;
	struct worker_link	*worker;	/* after worker.hello */
	unsigned int		 nwatches;
};
struct proto_conn *proto_conn(struct conn *);

/* reply.c */
void	reply_ok(struct conn *, json_t *id, json_t *fields);	/* steals fields */
/* The same once what this loop has published is durable (a change). */
void	reply_ok_durable(struct conn *, json_t *id, json_t *fields);
void	reply_error(struct conn *, json_t *id, const struct error *);
void	reply_fail(struct conn *, json_t *id, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 4, 5)));
/* A JSON value written into a message under way. */
void	reply_write_json(struct conn *, const json_t *);
/* {"id":…,"ok":true,"job": or "jobs":[, then the views, then the end. */
void	reply_begin(struct conn *, json_t *id, bool batch);
void	reply_end(struct conn *, bool batch);
/* Finished jobs' views from their futures, or the first one's error. */
void	reply_views(struct conn *, json_t *id, struct future *const *, size_t n,
	    bool batch);
void	reply_not_found(struct request *, uint64_t id);

/* wait.c: a request answered when its jobs finish; takes the futures and
 * the jobs' ids (what a timeout answer names).  submitted: they are this
 * request's new jobs, so a timeout answer, which gives out their ids,
 * leaves only once what this loop has published is durable. */
void	wait_start(struct request *, struct future **, uint64_t *ids, size_t n,
	    bool batch, double timeout, bool submitted);
void	wait_end_all(struct conn *);
/* op_view.c: the connection closed; the lists it asked for stop walking. */
void	list_abandon_all(struct conn *);

/* op_job.c */
int	request_job_id(struct request *, uint64_t *id, struct error *);
bool	request_unfinished(struct request *, uint64_t id, struct loop **owner,
	    struct future **);
/* Whether the request may see job id (a submit token sees its own). */
bool	request_sees(const struct request *, uint64_t id);
void	op_submit(struct request *);
void	op_status(struct request *);
void	op_result(struct request *);
void	op_cancel(struct request *);
void	op_retry(struct request *);

/* op_view.c */
void	op_watch(struct request *);
void	op_unwatch(struct request *);
void	op_list(struct request *);

/* op_auth.c */
void	op_auth(struct request *);
/* op_worker.c */
void	op_worker_hello(struct request *);
void	op_worker_bye(struct request *);
void	op_job_complete(struct request *);
void	op_job_fail(struct request *);
void	op_job_progress(struct request *);
void	op_job_heartbeat(struct request *);

/* op_admin.c */
void	op_ping(struct request *);
void	op_stats(struct request *);
void	op_queue_pause(struct request *);
void	op_queue_resume(struct request *);
void	op_event_set(struct request *);
void	op_event_clear(struct request *);
void	op_event_get(struct request *);

#endif
