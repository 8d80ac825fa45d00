/*
 * Concurrency per host, across the whole daemon: a map of host → requests
 * running, guarded by one mutex, with a FIFO of waiters per host.  A slot
 * freed on one loop is handed straight to the first waiter, whose own loop
 * is told with a post (runtime/waiter.h); nothing else crosses threads.
 */
#ifndef LOOM_HOSTLIMIT_H
#define LOOM_HOSTLIMIT_H

struct loop;
struct waiter;

typedef void (*hostlimit_fn)(void *arg);

/*
 * Take a slot for `key` (at most `limit` at once): 1 if taken now.  Else 0,
 * and `granted(arg)` runs on `loop` once a slot is handed over; until then
 * *wait is the waiter, which hostlimit_cancel() withdraws.  Once granted the
 * caller holds the slot and the waiter is gone.  On the caller's loop.
 */
int	hostlimit_acquire(const char *key, unsigned int limit, struct loop *loop,
	    hostlimit_fn granted, void *arg, struct waiter **wait);
/*
 * Withdraw a waiter whose grant has not run, on its loop (or once that has
 * stopped): granted() will not run, and a slot already on its way comes back.
 */
void	hostlimit_cancel(struct waiter *);
/* Give back a slot; any thread. */
void	hostlimit_release(const char *key);

/* For tests and stats: slots held for `key`, waiters behind them. */
void	hostlimit_count(const char *key, unsigned int *active, unsigned int *waiting);

#endif
