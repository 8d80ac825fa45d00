/*
 * Waits: requests answered when jobs finish (submit with wait, result with
 * wait, cancel).  A wait holds one reference for itself and one per done
 * callback still registered; the callbacks run on the connection's loop.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stddef.h>
#include <stdlib.h>

#include "core/durable.h"
#include "net/conn.h"
#include "net/ops.h"
#include "runtime/future.h"
#include "runtime/loop.h"
#include "runtime/util.h"

struct proto_wait {
	TAILQ_ENTRY(proto_wait)	 entry;
	struct conn		*conn;
	json_t			*id;
	struct future		**futures;
	struct future_link	**links;	/* their callbacks, to remove */
	uint64_t		 *ids;
	size_t			 n;
	size_t			 remaining;
	unsigned int		 refs;
	bool			 batch;		/* answer "jobs": [...] */
	bool			 answered;
	bool			 timed;
	bool			 parked;	/* its answer waits for room */
	uint64_t		 mark;		/* submitted: its records' batch */
	struct loop_event	 timer;
	struct conn_later	 later;
};

#define WAIT_DROP_SLICE	1024	/* a gone client's waits dropped a pass */

static void	wait_done(struct future *, void *);

static void
wait_unref(struct proto_wait *w)
{
	size_t	i;

	if (--w->refs > 0)
		return;
	for (i = 0; i < w->n; i++)
		future_unref(w->futures[i]);
	free(w->futures);
	free(w->links);
	free(w->ids);
	json_decref(w->id);
	conn_unref(w->conn);
	free(w);
}

/* Stop waiting: answered, timed out, or the connection went away. */
static void
wait_end(struct proto_wait *w)
{
	size_t	i;

	w->answered = true;
	if (w->timed)
		event_del(&w->timer.ev);
	if (w->parked) {
		conn_later_cancel(w->conn, &w->later);
		w->parked = false;
		w->refs--;
	}
	for (i = 0; i < w->n; i++) {
		if (future_remove_done(w->futures[i], w->links[i]))
			w->refs--;	/* never ran, never will */
		w->links[i] = NULL;
	}
	TAILQ_REMOVE(&proto_conn(w->conn)->waits, w, entry);
	conn_request_done(w->conn);
	wait_unref(w);
}

static void	wait_answer(void *);

/* Room again for a parked answer: its reference goes with it. */
static void
wait_unpark(struct conn_later *l)
{
	struct proto_wait	*w = (struct proto_wait *)((char *)l -
	    offsetof(struct proto_wait, later));

	w->parked = false;
	wait_answer(w);
}

/*
 * The answer, once every job it tells of has finished.  A client that has
 * not read its earlier answers gets this one once it has: results are not
 * serialized for a client that does not read them.
 */
static void
wait_answer(void *arg)
{
	struct proto_wait	*w = arg;

	if (w->answered) {
		wait_unref(w);
		return;
	}
	if (!conn_has_room(w->conn) && conn_alive(w->conn)) {
		w->parked = true;
		conn_later(w->conn, &w->later, wait_unpark);
		return;
	}
	reply_views(w->conn, w->id, w->futures, w->n, w->batch);
	wait_end(w);
	wait_unref(w);
}

/*
 * A job's future is complete only once its end is durable on its owner
 * (job_complete), and its SUBMIT record was durable before it: in the same
 * loop's batches, or before the job was handed to another owner
 * (job_submit).  So once the last future is done, everything the answer
 * tells is durable, and it waits for nothing more.  (Waiting for what this
 * loop has published since, as a ticket does, would put off every answer
 * of a busy loop by one more batch: an fdatasync with journal_sync=always.)
 */
static void
wait_done(struct future *f, void *arg)
{
	struct proto_wait	*w = arg;

	if (--w->remaining == 0 && !w->answered) {
		w->refs++;
		wait_answer(w);
	}
	wait_unref(w);
}

/*
 * The jobs go on; the answer names them, so that a client that submitted
 * with wait learns the ids it would otherwise never have seen:
 * detail {"job":ID}, or {"jobs":[ID...]} for a batch.  Those of a submit
 * are given out only once their records are durable: until then the
 * answer waits (and if the jobs finish meanwhile, theirs goes instead).
 */
static void	wait_timeout_answer(void *);

static void
wait_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct proto_wait	*w = arg;

	w->timed = false;
	if (w->mark != 0 && !durable_done(w->mark)) {
		w->refs++;
		durable_then(wait_timeout_answer, w);
		return;
	}
	w->refs++;
	wait_timeout_answer(w);
}

static void
wait_timeout_answer(void *arg)
{
	struct proto_wait	*w = arg;
	struct error		 e = { 0 };
	json_t			*ids;
	size_t			 i;

	if (w->answered) {
		wait_unref(w);
		return;
	}
	if (w->batch) {
		error_set(&e, "timeout", "the wait timed out; the jobs go on");
		ids = json_array();
		for (i = 0; i < w->n; i++)
			json_array_append_new(ids, json_integer(w->ids[i]));
		error_set_detail(&e, json_pack("{s:o}", "jobs", ids));
	} else {
		error_set(&e, "timeout", "the wait timed out; job %llu goes on",
		    (unsigned long long)w->ids[0]);
		error_set_detail(&e, json_pack("{s:I}", "job",
		    (json_int_t)w->ids[0]));
	}
	reply_error(w->conn, w->id, &e);
	error_clear(&e);
	wait_end(w);
	wait_unref(w);
}

void
wait_start(struct request *r, struct future **futures, uint64_t *ids, size_t n,
    bool batch, double timeout, bool submitted)
{
	struct proto_wait	*w = xcalloc(1, sizeof(*w));
	struct timeval		 tv;
	size_t			 i;

	w->conn = r->conn;
	conn_ref(w->conn);
	w->id = json_incref(r->id);
	w->futures = futures;
	w->links = xcalloc(n, sizeof(*w->links));
	w->ids = ids;
	w->n = w->remaining = n;
	w->batch = batch;
	w->mark = submitted ? durable_mark() : 0;
	w->refs = 1 + n;
	TAILQ_INSERT_TAIL(&proto_conn(r->conn)->waits, w, entry);
	conn_request_start(r->conn);
	if (timeout > 0) {
		w->timed = true;
		loop_event_assign(&w->timer, conn_loop(r->conn), -1, 0,
		    wait_timeout, w);
		seconds_to_timeval(timeout, &tv);
		event_add(&w->timer.ev, &tv);
	}
	/* Callbacks on futures already complete are posted, never run here. */
	for (i = 0; i < n; i++)
		w->links[i] = future_on_done_handle(futures[i], conn_loop(r->conn),
		    wait_done, w);
}

static void
wait_drop_next(void *arg)
{
	struct conn	*c = arg;

	wait_end_all(c);
	conn_unref(c);
}

/*
 * The connection closed: its waits end unanswered, WAIT_DROP_SLICE a pass
 * (one client may hold tens of thousands), the rest posted to the next
 * pass, I/O polled in between; all at once if the loop takes no more posts.
 * The connection is dead meanwhile: an answer that comes is not written.
 */
void
wait_end_all(struct conn *c)
{
	struct proto_wait	*w;
	size_t			 n = 0;

	while ((w = TAILQ_FIRST(&proto_conn(c)->waits)) != NULL) {
		if (n++ == WAIT_DROP_SLICE) {
			conn_ref(c);
			if (loop_post(conn_loop(c), wait_drop_next, c) == 0)
				return;
			conn_unref(c);
		}
		wait_end(w);
	}
}
