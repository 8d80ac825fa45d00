/*
 * Concurrency per host, across the whole daemon: a small table of host →
 * requests running, guarded by one mutex, with a FIFO of waiters per host.
 * A slot freed on one loop is handed straight to the first waiter, whose
 * own loop is told with loop_post; nothing else crosses threads.
 */
#ifndef LOOM_HOSTLIMIT_H
#define LOOM_HOSTLIMIT_H

struct loop;
struct hostlimit_wait;

typedef void (*hostlimit_fn)(void *arg);

/*
 * Take a slot for `key` (at most `limit` at once): 1 if taken now.  Else 0,
 * and `granted(arg)` runs on `loop` once a slot is handed over; until then
 * *wait is the waiter, which hostlimit_cancel() withdraws.  Once granted the
 * caller holds the slot and the waiter is gone.  On the caller's loop.
 */
int	hostlimit_acquire(const char *key, unsigned int limit, struct loop *loop,
	    hostlimit_fn granted, void *arg, struct hostlimit_wait **wait);
/* Withdraw a waiter whose grant has not run; on its loop. */
void	hostlimit_cancel(struct hostlimit_wait *);
/* Give back a slot; any thread. */
void	hostlimit_release(const char *key);

/* For tests and stats: slots held for `key`, waiters behind them. */
void	hostlimit_count(const char *key, unsigned int *active, unsigned int *waiting);

#endif
