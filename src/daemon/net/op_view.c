/*
 * The ops that look at many jobs: watch and unwatch (events pushed as jobs
 * change, net/watch.c), and list, which asks every loop for its own jobs
 * and answers once they have all replied.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/durable.h"
#include "core/job.h"
#include "core/loomd.h"
#include "core/registry.h"
#include "net/conn.h"
#include "net/shard.h"
#include "net/ops.h"
#include "net/watch.h"
#include "runtime/fields.h"
#include "runtime/future.h"
#include "runtime/loop.h"
#include "runtime/util.h"

#define LIST_LIMIT_DEFAULT	100
#define LIST_LIMIT_MAX		1000
#define LIST_VIEW_GUESS		512	/* bytes a view is owed while it is built */
#define LIST_PASS		4096	/* jobs a loop looks at for lists a pass */
#define LIST_TURN		1024	/* of them for one list, in its turn */
/* Each job event is matched against every filter of the loop's
 * connections: a connection's are capped. */
#define WATCH_FILTERS_MAX	64

/* watch ----------------------------------------------------------------- */

void
op_watch(struct request *r)
{
	struct error	 e = { 0 };
	const char	*queue = NULL;
	json_int_t	 id = 0;
	struct future	*f = NULL;
	struct loop	*owner;
	const struct job_outcome *o;
	char		*event;
	size_t		 len;

	if (field_integer(r->msg, "", "job", FIELD_OPTIONAL, 1, INT64_MAX, &id, &e) == -1 ||
	    field_name(r->msg, "", "queue", FIELD_OPTIONAL, &queue, &e) == -1) {
		reply_error(r->conn, r->id, &e);
		error_clear(&e);
		return;
	}
	if (id != 0 && queue != NULL) {
		reply_fail(r->conn, r->id, "bad_request",
		    "watch takes a job, a queue, or neither");
		return;
	}
	if (proto_conn(r->conn)->nwatches >= WATCH_FILTERS_MAX) {
		reply_fail(r->conn, r->id, "busy", "a connection watches at most "
		    "%d jobs or queues (unwatch first)", WATCH_FILTERS_MAX);
		return;
	}
	if (id != 0 && (!request_sees(r, (uint64_t)id) ||
	    !registry_lookup((uint64_t)id, &owner, &f))) {
		reply_not_found(r, (uint64_t)id);
		return;
	}
	watch_add(r->conn, &proto_conn(r->conn)->watches, (uint64_t)id, queue,
	    r->only);
	proto_conn(r->conn)->nwatches++;
	reply_ok(r->conn, r->id, NULL);
	/* A job that finished before the watch began: its last event now. */
	if (f != NULL) {
		if ((o = job_outcome(f)) != NULL) {
			event = watch_event_text(o->view, o->view_len, 0, &len);
			conn_send_text(r->conn, event, len);
			free(event);
		}
		future_unref(f);
	}
}

void
op_unwatch(struct request *r)
{
	watch_remove_all(r->conn, &proto_conn(r->conn)->watches);
	proto_conn(r->conn)->nwatches = 0;
	reply_ok(r->conn, r->id, NULL);
}

/* list ------------------------------------------------------------------ */

struct list_req {
	TAILQ_ENTRY(list_req)	 entry;		/* in its connection's lists */
	atomic_bool		 abandoned;	/* its client has gone */
	struct conn		*conn;
	struct loop		*home;
	json_t			*id;
	int			 state;
	char			*queue;
	const struct principal	*only;		/* principals are never freed */
	uint64_t		 before;
	size_t			 limit;
	struct job_listing	*parts;		/* one per loop, filled on home */
	unsigned int		 remaining;
	bool			 maybe_more;
};

struct list_part {
	TAILQ_ENTRY(list_part)	 entry;		/* in its loop's lists, walking */
	struct list_req		*req;
	unsigned int		 index;
	struct job_walk		*walk;		/* on its loop, until it is over */
	struct job_listing	 listing;
};

/* A view of one part, for sorting them all. */
struct list_view {
	const struct job_listing	*part;
	const struct job_listed		*view;
};

static int
list_cmp(const void *a, const void *b)
{
	uint64_t	x = ((const struct list_view *)a)->view->id;
	uint64_t	y = ((const struct list_view *)b)->view->id;

	return (x < y) - (x > y);	/* newest first */
}

/* {"id":…,"ok":true,"jobs":[VIEW…],"next":id or null}, the views as the
 * loops wrote them. */
static void
list_reply(struct list_req *l, struct list_view *all, size_t n)
{
	const struct list_view	*v;
	char			 next[32];
	size_t			 i;

	reply_begin(l->conn, l->id, true);
	for (i = 0; i < n && i < l->limit; i++) {
		if (i > 0)
			conn_write(l->conn, ",", 1);
		v = &all[i];
		conn_write(l->conn, v->part->text + v->view->off, v->view->len);
	}
	conn_write_lit(l->conn, "],\"next\":");
	if ((n > l->limit || l->maybe_more) && i > 0) {
		snprintf(next, sizeof(next), "%llu",
		    (unsigned long long)all[i - 1].view->id);
		conn_write(l->conn, next, strlen(next));
	} else
		conn_write_lit(l->conn, "null");
	conn_write_lit(l->conn, "}\n");
	conn_write_done(l->conn);
}

static void
list_finish(struct list_req *l)
{
	struct list_view	*all;
	size_t			 n = 0, i, j;

	for (i = 0; i < loomd.nloops; i++)
		n += l->parts[i].n;
	all = xcalloc(n, sizeof(*all));
	n = 0;
	for (i = 0; i < loomd.nloops; i++) {
		for (j = 0; j < l->parts[i].n; j++)
			all[n++] = (struct list_view){ &l->parts[i], &l->parts[i].views[j] };
	}
	qsort(all, n, sizeof(*all), list_cmp);
	conn_repay(l->conn, l->limit * LIST_VIEW_GUESS);
	if (!atomic_load(&l->abandoned))
		TAILQ_REMOVE(&proto_conn(l->conn)->lists, l, entry);
	if (conn_alive(l->conn)) {
		list_reply(l, all, n);
		conn_request_done(l->conn);
	}
	free(all);
	conn_unref(l->conn);
	for (i = 0; i < loomd.nloops; i++)
		job_listing_free(&l->parts[i]);
	free(l->parts);
	json_decref(l->id);
	free(l->queue);
	free(l);
}

static void
list_gathered(void *arg)
{
	struct list_part	*p = arg;
	struct list_req		*l = p->req;

	if (p->listing.n >= l->limit)
		l->maybe_more = true;
	l->parts[p->index] = p->listing;
	free(p);
	if (--l->remaining == 0)
		list_finish(l);
}

static void
list_send(void *arg)
{
	struct list_part	*p = arg;
	struct list_req		*l = p->req;

	if (loop_is_current(l->home))
		list_gathered(p);
	else if (loop_post(l->home, list_gathered, p) == -1) {
		job_listing_free(&p->listing);
		free(p);
	}
}

/* Its walk is over: the part goes home. */
static void
list_walked(struct list_part *p)
{
	job_walk_free(p->walk);
	p->walk = NULL;
	/* The states it shows are durable before they leave this loop. */
	durable_then(list_send, p);
}

static void	list_schedule(struct net_shard *);

/*
 * One pass of a loop's lists: LIST_PASS jobs looked at in all, LIST_TURN
 * at most for one list in its turn, round robin; then the next pass is
 * posted, so that the loop's other work goes on between.  However many
 * lists are asked at once and however many jobs the loop holds (hundreds
 * of thousands), a pass does that much.
 */
static void
list_run(void *arg)
{
	struct net_shard	*ns = arg;
	struct list_part	*p;
	size_t			 budget = LIST_PASS, turn;

	ns->lists_posted = false;
	while (budget > 0 && (p = TAILQ_FIRST(&ns->lists)) != NULL) {
		TAILQ_REMOVE(&ns->lists, p, entry);
		if (atomic_load_explicit(&p->req->abandoned,
		    memory_order_relaxed)) {
			list_walked(p);		/* nobody to tell */
			continue;
		}
		turn = budget < LIST_TURN ? budget : LIST_TURN;
		budget -= turn;
		if (job_walk_step(p->walk, &turn, &p->listing)) {
			budget += turn;		/* what it did not need */
			list_walked(p);
		} else
			TAILQ_INSERT_TAIL(&ns->lists, p, entry);
	}
	list_schedule(ns);
}

/* The next pass, if there are lists; all of them now if the loop takes no
 * more posts (it is stopping). */
static void
list_schedule(struct net_shard *ns)
{
	struct list_part	*p;
	size_t			 all;

	if (ns->lists_posted || TAILQ_EMPTY(&ns->lists))
		return;
	if (loop_post(loop_current(), list_run, ns) == 0) {
		ns->lists_posted = true;
		return;
	}
	while ((p = TAILQ_FIRST(&ns->lists)) != NULL) {
		TAILQ_REMOVE(&ns->lists, p, entry);
		all = SIZE_MAX;
		(void)job_walk_step(p->walk, &all, &p->listing);
		list_walked(p);
	}
}

/* On each loop: its part of the list joins the walks under way there. */
static void
list_collect(void *arg)
{
	struct list_part	*p = arg;
	struct list_req		*l = p->req;
	struct net_shard	*ns = shard_current()->net;

	p->walk = job_walk_new(l->state, l->queue, l->only, l->before, l->limit);
	TAILQ_INSERT_TAIL(&ns->lists, p, entry);
	list_schedule(ns);
}

/*
 * The walks of a client that has gone stop at their next turn, on every
 * loop: a client that asks for lists and leaves, again and again, does not
 * keep the loops walking for nobody.
 */
void
list_abandon_all(struct conn *c)
{
	struct proto_conn	*pc = proto_conn(c);
	struct list_req		*l;

	while ((l = TAILQ_FIRST(&pc->lists)) != NULL) {
		TAILQ_REMOVE(&pc->lists, l, entry);
		atomic_store(&l->abandoned, true);
	}
}

void
op_list(struct request *r)
{
	struct error	 e = { 0 };
	struct list_req	*l;
	struct list_part *p;
	const char	*state = NULL, *queue = NULL;
	json_int_t	 limit = LIST_LIMIT_DEFAULT, before = 0;
	int		 st = -1;
	unsigned int	 i;

	if (field_string(r->msg, "", "state", FIELD_OPTIONAL, 32, &state, &e) == -1 ||
	    field_name(r->msg, "", "queue", FIELD_OPTIONAL, &queue, &e) == -1 ||
	    field_integer(r->msg, "", "limit", FIELD_OPTIONAL, 1, LIST_LIMIT_MAX,
	    &limit, &e) == -1 ||
	    field_integer(r->msg, "", "before", FIELD_OPTIONAL, 1, INT64_MAX,
	    &before, &e) == -1)
		goto fail;
	if (state != NULL && (st = job_state_parse(state)) == -1) {
		fields_fail(&e, "", "state", "no state \"%s\"", state);
		goto fail;
	}
	l = xcalloc(1, sizeof(*l));
	l->conn = r->conn;
	l->home = conn_loop(r->conn);
	l->id = json_incref(r->id);
	l->state = st;
	l->queue = queue != NULL ? xstrdup(queue) : NULL;
	l->only = r->only;
	l->before = (uint64_t)before;
	l->limit = (size_t)limit;
	l->parts = xcalloc(loomd.nloops, sizeof(*l->parts));
	l->remaining = loomd.nloops;
	TAILQ_INSERT_TAIL(&proto_conn(r->conn)->lists, l, entry);
	conn_ref(r->conn);
	conn_request_start(r->conn);
	/* Its answer counts as owed while the loops build it: a client that
	 * asks for many lists and reads none is not read. */
	conn_owe(r->conn, l->limit * LIST_VIEW_GUESS);
	for (i = 0; i < loomd.nloops; i++) {
		p = xcalloc(1, sizeof(*p));
		p->req = l;
		p->index = i;
		if (loop_is_current(loomd.loops[i]))
			list_collect(p);
		else if (loop_post(loomd.loops[i], list_collect, p) == -1)
			list_gathered(p);	/* an empty listing */
	}
	return;
fail:
	reply_error(r->conn, r->id, &e);
	error_clear(&e);
}
