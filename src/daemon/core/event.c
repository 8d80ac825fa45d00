/*
 * Named events: one mutex-guarded hash map, name → {set, waiters}.
 *
 * A waiter belongs to the loop that registered it, and only that loop runs
 * its function or removes it.  A set takes the waiters off the event under
 * the lock and posts a wake-up to each one's loop.  A removal can come
 * after the set took the waiter but before the wake-up ran; so the waiter
 * is refcounted (its owner's reference, and the event's, which becomes the
 * wake-up's), and the wake-up checks the `removed` flag on the owner loop
 * before it runs anything.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/event.h"
#include "runtime/fields.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

#define BUCKETS_MIN	64

struct named_event_waiter {
	TAILQ_ENTRY(named_event_waiter) entry;	/* its event's list, under the lock */
	struct named_event	*event;		/* NULL once released or removed */
	struct loop		*loop;		/* immutable, as are fn and arg */
	named_event_fn		 fn;
	void			*arg;
	atomic_uint		 refs;
	bool			 removed;	/* owner loop only */
};
TAILQ_HEAD(waiter_list, named_event_waiter);

struct named_event {
	struct named_event	*next;		/* bucket chain */
	uint64_t		 hash;
	bool			 set;
	size_t			 nwaiters;
	struct waiter_list	 waiters;	/* oldest first */
	char			 name[];
};

/* All under `lock`. */
static pthread_mutex_t		  lock = PTHREAD_MUTEX_INITIALIZER;
static struct named_event	**buckets;
static size_t			  nbuckets;	/* a power of two, or 0 */
static size_t			  count;

/* The map ------------------------------------------------------------- */

static uint64_t
name_hash(const char *name)
{
	uint64_t	h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *name != '\0'; name++) {
		h ^= (unsigned char)*name;
		h *= 1099511628211ULL;
	}
	return h;
}

static void
map_resize(size_t n)
{
	struct named_event	**old = buckets, *ev, *next;
	size_t			  oldn = nbuckets, i;

	buckets = xcalloc(n, sizeof(*buckets));
	nbuckets = n;
	for (i = 0; i < oldn; i++) {
		for (ev = old[i]; ev != NULL; ev = next) {
			next = ev->next;
			ev->next = buckets[ev->hash & (n - 1)];
			buckets[ev->hash & (n - 1)] = ev;
		}
	}
	free(old);
}

static struct named_event *
map_find(const char *name, uint64_t hash)
{
	struct named_event	*ev;

	if (nbuckets == 0)
		return NULL;
	for (ev = buckets[hash & (nbuckets - 1)]; ev != NULL; ev = ev->next) {
		if (ev->hash == hash && strcmp(ev->name, name) == 0)
			return ev;
	}
	return NULL;
}

static struct named_event *
map_add(const char *name, uint64_t hash)
{
	struct named_event	*ev;
	size_t			 len = strlen(name), b;

	if (nbuckets == 0)
		map_resize(BUCKETS_MIN);
	else if (count >= nbuckets)
		map_resize(nbuckets * 2);
	ev = xcalloc(1, sizeof(*ev) + len + 1);
	memcpy(ev->name, name, len + 1);
	ev->hash = hash;
	TAILQ_INIT(&ev->waiters);
	b = hash & (nbuckets - 1);
	ev->next = buckets[b];
	buckets[b] = ev;
	count++;
	return ev;
}

/* Clear with nobody waiting: it need not exist. */
static void
map_drop_if_unused(struct named_event *ev)
{
	struct named_event	**pp;

	if (ev->set || ev->nwaiters > 0)
		return;
	for (pp = &buckets[ev->hash & (nbuckets - 1)]; *pp != ev; pp = &(*pp)->next)
		;
	*pp = ev->next;
	free(ev);
	count--;
	if (nbuckets > BUCKETS_MIN && count < nbuckets / 4)
		map_resize(nbuckets / 2);
}

/* Waiters -------------------------------------------------------------- */

static void
waiter_unref(struct named_event_waiter *w)
{
	if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) == 1)
		free(w);
}

/* On the waiter's loop, posted by a set. */
static void
named_event_wake(void *arg)
{
	struct named_event_waiter	*w = arg;

	if (!w->removed) {
		w->removed = true;
		w->fn(w->arg);
		waiter_unref(w);	/* the owner's: the waiter is done */
	}
	waiter_unref(w);		/* the wake-up's */
}

struct named_event_waiter *
named_event_wait(const char *name, named_event_fn fn, void *arg)
{
	struct named_event_waiter	*w;
	struct named_event		*ev;
	uint64_t			 hash = name_hash(name);

	if (loop_current() == NULL)
		fatalx("%s called off a loop", __func__);
	w = xcalloc(1, sizeof(*w));
	w->loop = loop_current();
	w->fn = fn;
	w->arg = arg;
	atomic_init(&w->refs, 2);	/* the owner's and the event's */

	pthread_mutex_lock(&lock);
	if ((ev = map_find(name, hash)) == NULL)
		ev = map_add(name, hash);
	if (ev->set) {
		pthread_mutex_unlock(&lock);
		free(w);
		return NULL;
	}
	w->event = ev;
	TAILQ_INSERT_TAIL(&ev->waiters, w, entry);
	ev->nwaiters++;
	pthread_mutex_unlock(&lock);
	return w;
}

void
named_event_unwait(struct named_event_waiter *w)
{
	struct named_event	*ev;

	w->removed = true;
	pthread_mutex_lock(&lock);
	if ((ev = w->event) != NULL) {
		/* Still waiting: no set has taken it, so no wake-up exists. */
		TAILQ_REMOVE(&ev->waiters, w, entry);
		ev->nwaiters--;
		w->event = NULL;
		atomic_fetch_sub_explicit(&w->refs, 1, memory_order_relaxed);
		map_drop_if_unused(ev);
	}
	pthread_mutex_unlock(&lock);
	waiter_unref(w);
}

/* Events ----------------------------------------------------------------- */

int
named_event_set(const char *name, size_t *released)
{
	struct waiter_list		 taken = TAILQ_HEAD_INITIALIZER(taken);
	struct named_event_waiter	*w, *next;
	struct named_event		*ev;
	uint64_t			 hash = name_hash(name);
	size_t				 n;

	pthread_mutex_lock(&lock);
	if ((ev = map_find(name, hash)) == NULL) {
		if (count >= NAMED_EVENTS_MAX) {
			pthread_mutex_unlock(&lock);
			return -1;
		}
		ev = map_add(name, hash);
	}
	ev->set = true;
	TAILQ_CONCAT(&taken, &ev->waiters, entry);
	TAILQ_FOREACH(w, &taken, entry)
		w->event = NULL;
	n = ev->nwaiters;
	ev->nwaiters = 0;
	pthread_mutex_unlock(&lock);

	/*
	 * The taken waiters' links are ours now.  Once posted, a waiter may be
	 * freed by its loop at any moment: read the next one first.
	 */
	for (w = TAILQ_FIRST(&taken); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (loop_post(w->loop, named_event_wake, w) == -1)
			waiter_unref(w);	/* stopped: its owner removes it */
	}
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
	if ((ev = map_find(name, name_hash(name))) != NULL) {
		ev->set = false;
		n = ev->nwaiters;
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
	ev = map_find(name, name_hash(name));
	*set = ev != NULL && ev->set;
	*waiters = ev != NULL ? ev->nwaiters : 0;
	pthread_mutex_unlock(&lock);
}

size_t
named_event_count(void)
{
	size_t	n;

	pthread_mutex_lock(&lock);
	n = count;
	pthread_mutex_unlock(&lock);
	return n;
}

void
named_event_cleanup(void)
{
	struct named_event		*ev, *next;
	struct named_event_waiter	*w;
	size_t				 i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < nbuckets; i++) {
		for (ev = buckets[i]; ev != NULL; ev = next) {
			next = ev->next;
			/* Left by an owner that never removed them: a bug. */
			while ((w = TAILQ_FIRST(&ev->waiters)) != NULL) {
				log_warnx("event %s: a waiter left at shutdown", ev->name);
				TAILQ_REMOVE(&ev->waiters, w, entry);
				w->event = NULL;
				waiter_unref(w);
			}
			free(ev);
		}
	}
	free(buckets);
	buckets = NULL;
	nbuckets = 0;
	count = 0;
	pthread_mutex_unlock(&lock);
}

/* Requests ---------------------------------------------------------------- */

int
named_event_name(const json_t *obj, const char *base, const char *key,
    const char **name, struct error *e)
{
	return field_name(obj, base, key, FIELD_REQUIRED, name, e);
}

json_t *
named_event_request(const json_t *msg, enum named_event_op op, struct error *e)
{
	const char	*name;
	size_t		 waiters = 0;
	bool		 set = false;

	if (named_event_name(msg, "", "name", &name, e) == -1)
		return NULL;
	switch (op) {
	case NAMED_EVENT_SET:
		if (named_event_set(name, NULL) == -1) {
			error_set(e, "busy", "too many events (at most %d); clear some "
			    "and retry", NAMED_EVENTS_MAX);
			return NULL;
		}
		set = true;
		break;
	case NAMED_EVENT_CLEAR:
		waiters = named_event_clear(name);
		break;
	case NAMED_EVENT_GET:
		named_event_get(name, &set, &waiters);
		break;
	}
	return json_pack("{s:{s:s,s:b,s:I}}", "event", "name", name, "set", set,
	    "waiters", (json_int_t)waiters);
}
