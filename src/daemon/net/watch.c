/*
 * Watch delivery.  Filters live on their connection's loop, in that loop's
 * list; the global and per-loop watcher counts let a job's owner skip
 * building views when nobody listens, and post only to loops that do.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "net/conn.h"
#include "core/loomd.h"
#include "runtime/loop.h"
#include "net/proto.h"
#include "runtime/util.h"
#include "net/watch.h"

struct watch_filter {
	TAILQ_ENTRY(watch_filter) entry;	/* the loop's filters */
	struct watch_filter	*next;		/* the connection's filters */
	struct conn		*conn;
	uint64_t		 job;		/* 0: any */
	char			*queue;		/* NULL: any */
};
TAILQ_HEAD(watch_list, watch_filter);

/* An event serialized once by the job's owner and shared by the loops
 * that deliver it; the last one frees it. */
struct watch_event {
	atomic_uint	 refs;
	uint64_t	 job;
	char		*queue;
	char		*text;
	size_t		 len;
};

static struct watch_list	*watch_lists;	/* one per loop */

void
watch_init(unsigned int nloops)
{
	unsigned int	i;

	watch_lists = xcalloc(nloops, sizeof(*watch_lists));
	for (i = 0; i < nloops; i++)
		TAILQ_INIT(&watch_lists[i]);
}

void
watch_shutdown(void)
{
	free(watch_lists);
	watch_lists = NULL;
}

bool
watch_active(void)
{
	return atomic_load_explicit(&loomd.watchers, memory_order_relaxed) != 0;
}

static bool
watch_matches(const struct watch_filter *w, uint64_t job, const char *queue)
{
	if (w->job != 0)
		return w->job == job;
	return w->queue == NULL || strcmp(w->queue, queue) == 0;
}

char *
watch_event_text(const char *view, size_t len, size_t *outlen)
{
	static const char	 head[] = "{\"event\":\"job\",\"job\":";
	char			*text = xmalloc(sizeof(head) - 1 + len + 3);

	memcpy(text, head, sizeof(head) - 1);
	memcpy(text + sizeof(head) - 1, view, len);
	memcpy(text + sizeof(head) - 1 + len, "}\n", 3);	/* and the NUL */
	*outlen = sizeof(head) - 1 + len + 2;
	return text;
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
	struct watch_list	*list = &watch_lists[loop_index(loop_current())];
	struct watch_filter	*w;
	struct conn		*last = NULL;

	/* A connection's filters are adjacent: one copy even if several match. */
	TAILQ_FOREACH(w, list, entry) {
		if (w->conn == last || !watch_matches(w, we->job, we->queue))
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

void
watch_publish(const char *view, size_t len, uint64_t job, const char *queue)
{
	struct watch_event	*we = xcalloc(1, sizeof(*we));
	unsigned int		 i;

	atomic_init(&we->refs, 1);
	we->job = job;
	we->queue = xstrdup(queue);
	we->text = watch_event_text(view, len, &we->len);
	for (i = 0; i < loomd.nloops; i++) {
		if (atomic_load_explicit(&loomd.counters[i].watchers,
		    memory_order_relaxed) == 0)
			continue;
		if (loop_is_current(loomd.loops[i])) {
			watch_deliver(we);
			continue;
		}
		atomic_fetch_add(&we->refs, 1);
		if (loop_post(loomd.loops[i], watch_deliver_post, we) == -1)
			watch_event_unref(we);
	}
	watch_event_unref(we);
}

void
watch_add(struct conn *c, uint64_t job, const char *queue)
{
	struct proto_state	*ps = conn_proto(c);
	unsigned int		 li = loop_index(conn_loop(c));
	struct watch_filter	*w = xcalloc(1, sizeof(*w));
	struct watch_filter	*after;

	w->conn = c;
	w->job = job;
	w->queue = queue != NULL ? xstrdup(queue) : NULL;
	/* Keep a connection's filters together so one copy is easy to ensure. */
	after = ps->watches;
	w->next = ps->watches;
	ps->watches = w;
	if (after != NULL)
		TAILQ_INSERT_BEFORE(after, w, entry);
	else
		TAILQ_INSERT_TAIL(&watch_lists[li], w, entry);
	atomic_fetch_add(&loomd.counters[li].watchers, 1);
	atomic_fetch_add(&loomd.watchers, 1);
}

void
watch_remove_all(struct conn *c)
{
	struct proto_state	*ps = conn_proto(c);
	unsigned int		 li = loop_index(conn_loop(c));
	struct watch_filter	*w;

	while ((w = ps->watches) != NULL) {
		ps->watches = w->next;
		TAILQ_REMOVE(&watch_lists[li], w, entry);
		atomic_fetch_sub(&loomd.counters[li].watchers, 1);
		atomic_fetch_sub(&loomd.watchers, 1);
		free(w->queue);
		free(w);
	}
}
