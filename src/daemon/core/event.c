/*
 * Named events: one mutex-guarded map, name → {set, waiters}.
 *
 * A waiter belongs to the loop that registered it, and only that loop runs
 * its function or removes it.  A set takes every waiter off the event under
 * the lock and posts a wake-up to each one's loop; a removal that comes
 * after the set but before the wake-up ran wins, and the wake-up does
 * nothing (runtime/waiter.h).
 */
#include "autoconf.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "core/notes.h"
#include "runtime/fields.h"
#include "runtime/hashmap.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"
#include "runtime/waiter.h"

struct named_event {
	struct hashmap_entry	 entry;
	bool			 set;
	struct waitq		 waiters;	/* first come, first woken */
	char			 name[];
};

static const char	*named_event_key(const struct hashmap_entry *);

/* All under `lock`. */
static pthread_mutex_t	lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap	events = HASHMAP_INITIALIZER(named_event_key);

/* The map ------------------------------------------------------------- */

static const char *
named_event_key(const struct hashmap_entry *e)
{
	return hashmap_item(e, struct named_event, entry)->name;
}

static struct named_event *
named_event_of(struct waitq *q)
{
	return (struct named_event *)(void *)((char *)q -
	    offsetof(struct named_event, waiters));
}

static struct named_event *
map_find(const char *name)
{
	struct hashmap_entry	*e = hashmap_find(&events, name);

	return e != NULL ? hashmap_item(e, struct named_event, entry) : NULL;
}

static struct named_event *
map_add(const char *name)
{
	struct named_event	*ev;
	size_t			 len = strlen(name);

	ev = xcalloc(1, sizeof(*ev) + len + 1);
	memcpy(ev->name, name, len + 1);
	waitq_init(&ev->waiters, "named_event_wake");
	hashmap_add(&events, &ev->entry, ev->name);
	return ev;
}

/* Clear with nobody waiting: it need not exist. */
static void
map_drop_if_unused(struct named_event *ev)
{
	if (ev->set || waitq_len(&ev->waiters) > 0)
		return;
	hashmap_remove(&events, &ev->entry);
	waitq_free(&ev->waiters);
	free(ev);
}

/* Waiters -------------------------------------------------------------- */

struct waiter *
named_event_wait(const char *name, named_event_fn fn, void *arg)
{
	struct named_event	*ev;
	struct waiter		*w = NULL;

	if (loop_current() == NULL)
		fatalx("%s called off a loop", __func__);
	pthread_mutex_lock(&lock);
	if ((ev = map_find(name)) == NULL)
		ev = map_add(name);
	if (!ev->set)
		w = waitq_add_last(&ev->waiters, loop_current(), fn, arg);
	pthread_mutex_unlock(&lock);
	return w;
}

void
named_event_unwait(struct waiter *w)
{
	struct waitq	*q;

	pthread_mutex_lock(&lock);
	/* Still waiting, it is still the event's; otherwise it may be gone. */
	q = waiter_queue(w);
	if (waiter_withdraw(w) == WAITER_WAITING)
		map_drop_if_unused(named_event_of(q));
	pthread_mutex_unlock(&lock);
}

/* Events ----------------------------------------------------------------- */

int
named_event_set(const char *name, size_t *released)
{
	struct named_event	*ev;
	size_t			 n;

	pthread_mutex_lock(&lock);
	if ((ev = map_find(name)) == NULL) {
		if (hashmap_count(&events) >= NAMED_EVENTS_MAX) {
			pthread_mutex_unlock(&lock);
			return -1;
		}
		ev = map_add(name);
	}
	if (!ev->set)
		note(NOTE_EVENT, name, true);
	ev->set = true;
	/* A waiter whose loop has stopped counts too: its owner removes it. */
	n = waitq_grant_all(&ev->waiters);
	pthread_mutex_unlock(&lock);
	if (released != NULL)
		*released = n;
	return 0;
}

size_t
named_event_clear(const char *name)
{
	struct named_event	*ev;
	size_t			 n = 0;

	pthread_mutex_lock(&lock);
	if ((ev = map_find(name)) != NULL) {
		if (ev->set)
			note(NOTE_EVENT, name, false);
		ev->set = false;
		n = waitq_len(&ev->waiters);
		map_drop_if_unused(ev);
	}
	pthread_mutex_unlock(&lock);
	return n;
}

void
named_event_get(const char *name, bool *set, size_t *waiters)
{
	struct named_event	*ev;

	pthread_mutex_lock(&lock);
	ev = map_find(name);
	*set = ev != NULL && ev->set;
	*waiters = ev != NULL ? waitq_len(&ev->waiters) : 0;
	pthread_mutex_unlock(&lock);
}

void
named_event_each_set(void (*fn)(const char *, void *), void *arg)
{
	struct hashmap_iter	 it;
	struct hashmap_entry	*e;
	struct named_event	*ev;

	pthread_mutex_lock(&lock);
	for (e = hashmap_first(&events, &it); e != NULL; e = hashmap_next(&it)) {
		ev = hashmap_item(e, struct named_event, entry);
		if (ev->set)
			fn(ev->name, arg);
	}
	pthread_mutex_unlock(&lock);
}

size_t
named_event_count(void)
{
	size_t	n;

	pthread_mutex_lock(&lock);
	n = hashmap_count(&events);
	pthread_mutex_unlock(&lock);
	return n;
}

void
named_event_cleanup(void)
{
	struct hashmap_iter	 it;
	struct hashmap_entry	*e;
	struct named_event	*ev;
	size_t			 n;

	pthread_mutex_lock(&lock);
	for (e = hashmap_first(&events, &it); e != NULL; e = hashmap_next(&it)) {
		ev = hashmap_item(e, struct named_event, entry);
		/* Left by an owner that never removed them: a bug. */
		if ((n = waitq_drop_all(&ev->waiters)) > 0)
			log_warnx("event %s: %zu waiters left at shutdown", ev->name, n);
		waitq_free(&ev->waiters);
		free(ev);
	}
	hashmap_free(&events);
	pthread_mutex_unlock(&lock);
}

/* Names in requests and specs ------------------------------------------- */

int
named_event_name(const json_t *obj, const char *base, const char *key,
    const char **name, struct error *e)
{
	return field_name(obj, base, key, FIELD_REQUIRED, name, e);
}

