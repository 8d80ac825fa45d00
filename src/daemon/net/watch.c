/*
 * Watch delivery, an observer of the job-state seam.  Filters live on their
 * connection's loop, in that loop's list; the global and per-loop watcher
 * counts let a job's owner skip building views when nobody listens, and
 * post only to loops that do.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "core/durable.h"
#include "core/job.h"
#include "core/loomd.h"
#include "net/conn.h"
#include "net/shard.h"
#include "net/watch.h"
#include "runtime/loop.h"
#include "runtime/textbuf.h"
#include "runtime/util.h"

struct watch_filter {
	TAILQ_ENTRY(watch_filter) entry;	/* the loop's filters */
	struct watch_filter	*next;		/* the connection's filters */
	struct conn		*conn;
	uint64_t		 job;		/* 0: any */
	char			*queue;		/* NULL: any */
	const struct principal	*only;		/* NULL: any */
};

/* An event serialized once by the job's owner and shared by the loops
 * that deliver it; the last one frees it. */
struct watch_event {
	atomic_uint	 refs;
	uint64_t	 job;
	const struct principal *principal;	/* never freed */
	char		*queue;
	char		*text;
	size_t		 len;
};

static atomic_ulong	watch_total;	/* watching connections, all loops */

static bool
watch_wants(const struct job *job)
{
	return atomic_load_explicit(&watch_total, memory_order_relaxed) != 0;
}

static bool
watch_matches(const struct watch_filter *w, const struct watch_event *we)
{
	if (w->only != NULL && w->only != we->principal)
		return false;
	if (w->job != 0)
		return w->job == we->job;
	return w->queue == NULL || strcmp(w->queue, we->queue) == 0;
}

/*
 * "at" is the time of the change itself: a view's times are those of its
 * milestones (created, started, finished), so the event of a job that
 * became queued after a delay, or pending for a retry, would otherwise
 * carry none of its own.
 */
char *
watch_event_text(const char *view, size_t len, int64_t at_ns, size_t *outlen)
{
	struct textbuf	tb = { 0 };

	textbuf_lit(&tb, "{\"event\":\"job\",");
	if (at_ns > 0) {
		textbuf_lit(&tb, "\"at\":");
		textbuf_time_ns(&tb, at_ns);
		textbuf_lit(&tb, ",");
	}
	textbuf_lit(&tb, "\"job\":");
	textbuf_add(&tb, view, len);
	textbuf_lit(&tb, "}\n");
	return textbuf_steal(&tb, outlen);
}

static void
watch_event_unref(struct watch_event *we)
{
	if (atomic_fetch_sub(&we->refs, 1) != 1)
		return;
	free(we->queue);
	free(we->text);
	free(we);
}

/* On a loop with watchers: send the event to each matching connection once. */
static void
watch_deliver(struct watch_event *we)
{
	struct watch_list	*list = &shard_current()->net->watches;
	struct watch_filter	*w;
	struct conn		*last = NULL;

	/* A connection's filters are adjacent: one copy even if several match. */
	TAILQ_FOREACH(w, list, entry) {
		if (w->conn == last || !watch_matches(w, we))
			continue;
		last = w->conn;
		conn_send_text(w->conn, we->text, we->len);
	}
}

static void
watch_deliver_post(void *arg)
{
	struct watch_event	*we = arg;

	watch_deliver(we);
	watch_event_unref(we);
}

static struct watch_event *
watch_event_new(const char *view, size_t len, const struct job *job)
{
	struct watch_event	*we = xcalloc(1, sizeof(*we));
	const char		*queue = job_queue(job);

	atomic_init(&we->refs, 1);
	we->job = job_id(job);
	we->principal = job_principal(job);
	we->queue = xstrdup(queue);
	we->text = watch_event_text(view, len, now_epoch_ns(), &we->len);
	return we;
}

/* On the owner loop: post the event to each loop with watchers. */
static void
watch_publish(void *arg)
{
	struct watch_event	*we = arg;
	struct shard		*sh;
	unsigned int		 i;

	for (i = 0; i < loomd.nloops; i++) {
		sh = loomd.shards[i];
		if (atomic_load_explicit(&sh->net->watchers, memory_order_relaxed) == 0)
			continue;
		if (loop_is_current(sh->loop)) {
			watch_deliver(we);
			continue;
		}
		atomic_fetch_add(&we->refs, 1);
		if (loop_post(sh->loop, watch_deliver_post, we) == -1)
			watch_event_unref(we);
	}
	watch_event_unref(we);
}

static void
watch_notify(enum job_event ev, const struct job *job,
    const struct job_outcome *outcome)
{
	struct watch_event	*we;
	char			*text = NULL;
	size_t			 len;

	if (ev == JOB_EVENT_SUBMIT || ev == JOB_EVENT_EXPIRE)
		return;
	if (outcome != NULL)
		we = watch_event_new(outcome->view, outcome->view_len, job);
	else {
		text = job_view_text(job, &len);
		we = watch_event_new(text, len, job);
		free(text);
	}
	/* Watchers hear of a change once it is durable. */
	durable_then(watch_publish, we);
}

static const struct job_observer watch_observer = {
	.name = "watch",
	.wants = watch_wants,
	.notify = watch_notify,
};

void
watch_init(void)
{
	job_observe(&watch_observer);
}

void
watch_add(struct conn *c, struct watch_filter **filters, uint64_t job,
    const char *queue, const struct principal *only)
{
	struct net_shard	*ns = shard_of(conn_loop(c))->net;
	struct watch_filter	*w = xcalloc(1, sizeof(*w));
	struct watch_filter	*after;

	w->conn = c;
	w->job = job;
	w->queue = queue != NULL ? xstrdup(queue) : NULL;
	w->only = only;
	/* Keep a connection's filters together so one copy is easy to ensure. */
	after = *filters;
	w->next = *filters;
	*filters = w;
	if (after != NULL)
		TAILQ_INSERT_BEFORE(after, w, entry);
	else
		TAILQ_INSERT_TAIL(&ns->watches, w, entry);
	atomic_fetch_add(&ns->watchers, 1);
	atomic_fetch_add(&watch_total, 1);
}

void
watch_remove_all(struct conn *c, struct watch_filter **filters)
{
	struct net_shard	*ns = shard_of(conn_loop(c))->net;
	struct watch_filter	*w;

	while ((w = *filters) != NULL) {
		*filters = w->next;
		TAILQ_REMOVE(&ns->watches, w, entry);
		atomic_fetch_sub(&ns->watchers, 1);
		atomic_fetch_sub(&watch_total, 1);
		free(w->queue);
		free(w);
	}
}
