/*
 * Polite close (net/linger.c): shut down the write side, read and drop
 * what the client still sends for a short bound, then close, so that what
 * was written reaches it instead of a reset.  On one thread's event base.
 */
#ifndef LOOM_LINGER_H
#define LOOM_LINGER_H

#include <sys/queue.h>

#include <stdatomic.h>

struct event_base;
struct lingerer;

/* The sockets lingering on one event base. */
struct linger_set {
	TAILQ_HEAD(, lingerer)	 list;
	size_t			 n;
	size_t			 max;		/* beyond, sockets close at once */
};

void	linger_set_init(struct linger_set *, size_t max);
/* Takes fd; count, if not NULL, is decremented once it is closed. */
void	linger_close(struct linger_set *, struct event_base *, int fd,
	    atomic_ulong *count);
void	linger_set_clear(struct linger_set *);

#endif
