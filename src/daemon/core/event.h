/*
 * Named events, asyncio.Event shared by the whole daemon: a flag per name
 * that event.set raises and event.clear lowers, and the waiters that a set
 * releases, on whatever loop each of them lives.
 *
 * The functions are prefixed named_event_, not event_: libevent already
 * exports event_set() and event_init().
 */
#ifndef LOOM_EVENT_H
#define LOOM_EVENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "runtime/util.h"

/* Events held at once before a set of a new name is answered busy. */
#define NAMED_EVENTS_MAX	65536

struct waiter;
typedef void (*named_event_fn)(void *arg);

/*
 * Any thread.  An event exists while it is set or someone waits on it;
 * one that is clear with no waiters is freed, so a get of a name never seen
 * answers clear, no waiters, and creates nothing.
 *
 * named_event_set() raises the flag and releases every waiter: each one's
 * function is posted to its own loop.  *released (may be NULL) is how many.
 * -1 only when the name is new and NAMED_EVENTS_MAX events exist already.
 */
int		 named_event_set(const char *name, size_t *released);
/* Lowers the flag; the waiters still waiting. */
size_t		 named_event_clear(const char *name);
void		 named_event_get(const char *name, bool *set, size_t *waiters);
size_t		 named_event_count(void);	/* events held */
/* Each event that is set, under the events' lock: fn must not call back. */
void		 named_event_each_set(void (*fn)(const char *name, void *), void *);

/*
 * On a loop: wait on the current loop until `name` is set.  NULL if it is set
 * already (fn never runs).  Otherwise fn(arg) runs once on this loop when
 * the event is set, and the waiter is gone after it (runtime/waiter.h).
 *
 * named_event_unwait() removes a waiter whose fn has not run, on its loop (or
 * once that loop has stopped): fn will never run, even if a set has already
 * posted the wake-up.  Nothing of the waiter is left for the caller.
 */
struct waiter	*named_event_wait(const char *name, named_event_fn fn, void *arg);
void		 named_event_unwait(struct waiter *);

/* After every loop has stopped and every waiter has been removed. */
void		 named_event_cleanup(void);

/* The name field `key` of `obj` (at `base`, as fields.h does). */
int		 named_event_name(const json_t *obj, const char *base,
		     const char *key, const char **name, struct error *);

#endif
