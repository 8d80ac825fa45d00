/*
 * Limits and locks, asyncio's Semaphore and Lock for the whole daemon.  A
 * limit is configured ([limit.NAME]) and lives as long as the daemon; a lock
 * is a semaphore of one, made on first use and freed when nothing refers to
 * it.  Every loop shares them: a mutex guards each, and its waiters are
 * granted in priority order, then first come first served, by a post to
 * their loop (runtime/waiter.h).
 */
#ifndef LOOM_SEM_H
#define LOOM_SEM_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/waiter.h"

struct config;
struct config_limit;
struct sem;

void		 limit_init(const struct config *);
void		 limit_shutdown(void);		/* frees the limits and the locks */
/*
 * A reload, from the main thread: makes a new limit (1) or resizes one (0).
 * Raising a limit starts its waiters at once; lowering it lets the holders
 * finish.
 */
int		 limit_configure(const struct config_limit *);

/* Any thread. */
struct sem	*limit_find(const char *name);		/* NULL: not configured */
struct sem	*lock_get(const char *name);		/* a new reference */
void		 lock_put(struct sem *);
const char	*sem_name(const struct sem *);
bool		 sem_is_lock(const struct sem *);

/*
 * On the caller's loop: true if a slot is taken now.  Else *wait waits, in
 * (key, seq) order, and fn(arg) runs on this loop once the slot is the
 * caller's; until then sem_cancel() withdraws it, and a grant already on
 * its way comes back.  sem_release() gives a slot back, from any thread.
 */
bool		 sem_acquire(struct sem *, int64_t key, uint64_t seq, waiter_fn,
		     void *arg, struct waiter **wait);
void		 sem_release(struct sem *);
void		 sem_cancel(struct sem *, struct waiter *);

#endif
