/*
 * Watch delivery, an observer of the job-state seam.  Filters live on their
 * connection's loop, indexed there by what they watch (a job, a queue, or
 * every job), so that an event costs the filters it matches, not all of
 * them; the global and per-loop watcher counts let a job's owner skip
 * building views when nobody listens, and post only to loops that do.
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

/* The filters of one job or one queue on a loop; gone with the last. */
struct watch_key {
	struct hashmap_entry	 hentry;
	struct watch_list	 filters;
	char			 queue[];	/* a queue's name; "" for a job */
};

struct watch_filter {
	TAILQ_ENTRY(watch_filter) entry;	/* its key's, or the loop's "any" */
	struct watch_filter	*next;		/* the connection's filters */
	struct watch_key	*key;		/* NULL: every job */
	struct conn		*conn;
	const struct principal	*only;		/* NULL: any owner */
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

static const char *
watch_key_name(const struct hashmap_entry *e)
{
	return hashmap_item(e, struct watch_key, hentry)->queue;
}

static struct watch_key *
watch_key_get(struct net_shard *ns, uint64_t job, const char *queue)
{
	struct hashmap_entry	*e;
	struct watch_key	*k;
	size_t			 len = queue != NULL ? strlen(queue) : 0;

	e = queue != NULL ? hashmap_find(&ns->watch_queues, queue) :
	    hashmap_find_u64(&ns->watch_jobs, job);
	if (e != NULL)
		return hashmap_item(e, struct watch_key, hentry);
	k = xmalloc(sizeof(*k) + len + 1);
	TAILQ_INIT(&k->filters);
	memcpy(k->queue, queue != NULL ? queue : "", len + 1);
	/* A shard's maps start zeroed, which is an empty map by id. */
	if (queue != NULL && ns->watch_queues.key == NULL)
		hashmap_init(&ns->watch_queues, watch_key_name);
	if (queue != NULL)
		hashmap_add(&ns->watch_queues, &k->hentry, k->queue);
	else
		hashmap_add_u64(&ns->watch_jobs, &k->hentry, job);
	return k;
}

static int
watch_conn_cmp(const void *a, const void *b)
{
	uintptr_t	x = (uintptr_t)*(struct conn *const *)a;
	uintptr_t	y = (uintptr_t)*(struct conn *const *)b;

	return (x > y) - (x < y);
}

/* The connections of a list's filters that may see the event's job. */
static void
watch_collect(const struct watch_list *list, const struct watch_event *we,
    struct conn ***conns, size_t *n, size_t *cap)
{
	struct watch_filter	*w;

	TAILQ_FOREACH(w, list, entry) {
		if (w->only != NULL && w->only != we->principal)
			continue;
		if (*n == *cap) {
			*cap = *cap ? 2 * *cap : 16;
			*conns = xreallocarray(*conns, *cap, sizeof(**conns));
		}
		(*conns)[(*n)++] = w->conn;
	}
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

/* On a loop with watchers: send the event to each matching connection
 * once, even if several of its filters match. */
static void
watch_deliver(struct watch_event *we)
{
	struct net_shard	*ns = shard_current()->net;
	struct hashmap_entry	*e;
	struct conn		**conns = NULL;
	size_t			 n = 0, cap = 0, i;

	watch_collect(&ns->watches, we, &conns, &n, &cap);
	if ((e = hashmap_find_u64(&ns->watch_jobs, we->job)) != NULL)
		watch_collect(&hashmap_item(e, struct watch_key, hentry)->filters,
		    we, &conns, &n, &cap);
	if ((e = hashmap_find(&ns->watch_queues, we->queue)) != NULL)
		watch_collect(&hashmap_item(e, struct watch_key, hentry)->filters,
		    we, &conns, &n, &cap);
	if (n > 1)
		qsort(conns, n, sizeof(*conns), watch_conn_cmp);
	for (i = 0; i < n; i++) {
		if (i == 0 || conns[i] != conns[i - 1])
			conn_send_text(conns[i], we->text, we->len);
	}
	free(conns);
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

	w->conn = c;
	w->only = only;
	if (job != 0 || queue != NULL) {
		w->key = watch_key_get(ns, job, queue);
		TAILQ_INSERT_TAIL(&w->key->filters, w, entry);
	} else
		TAILQ_INSERT_TAIL(&ns->watches, w, entry);
	w->next = *filters;
	*filters = w;
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
		if (w->key == NULL)
			TAILQ_REMOVE(&ns->watches, w, entry);
		else {
			TAILQ_REMOVE(&w->key->filters, w, entry);
			if (TAILQ_EMPTY(&w->key->filters)) {
				hashmap_remove(w->key->queue[0] != '\0' ?
				    &ns->watch_queues : &ns->watch_jobs, &w->key->hentry);
				free(w->key);
			}
		}
		atomic_fetch_sub(&ns->watchers, 1);
		atomic_fetch_sub(&watch_total, 1);
		free(w);
	}
}
