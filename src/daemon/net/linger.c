/*
 * Polite close, as Apache's lingering close: a socket closed with unread
 * input in it makes the kernel send a reset, and a reset makes the peer's
 * kernel drop what it had received and not yet read (the `busy` line of a
 * refused client, the last answers of a drain).  So the write side is shut
 * down first (the client sees EOF after everything written), and the socket
 * is read and what comes dropped until the client closes too, or for at
 * most LINGER_SECONDS and LINGER_BYTES; then it is closed.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "net/linger.h"
#include "runtime/util.h"

#define LINGER_SECONDS	2.0
#define LINGER_BYTES	(1024 * 1024)

struct lingerer {
	TAILQ_ENTRY(lingerer)	 entry;
	struct linger_set	*set;
	int			 fd;
	size_t			 dropped;
	uint64_t		 deadline_ns;
	struct event		*ev;
	atomic_ulong		*count;
};

void
linger_set_init(struct linger_set *set, size_t max)
{
	TAILQ_INIT(&set->list);
	set->n = 0;
	set->max = max;
}

static void
linger_end(struct lingerer *l)
{
	TAILQ_REMOVE(&l->set->list, l, entry);
	l->set->n--;
	event_free(l->ev);
	close(l->fd);
	if (l->count != NULL)
		atomic_fetch_sub(l->count, 1);
	free(l);
}

static void
linger_cb(evutil_socket_t fd, short what, void *arg)
{
	struct lingerer	*l = arg;
	char		 buf[16 * 1024];
	ssize_t		 n;

	if (what & EV_TIMEOUT || now_ns() >= l->deadline_ns) {
		linger_end(l);
		return;
	}
	for (;;) {
		n = read(l->fd, buf, sizeof(buf));
		if (n > 0) {
			l->dropped += (size_t)n;
			if (l->dropped < LINGER_BYTES)
				continue;
		} else if (n == -1 && errno == EINTR)
			continue;
		else if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		linger_end(l);		/* EOF, an error, or enough */
		return;
	}
}

void
linger_close(struct linger_set *set, struct event_base *base, int fd,
    atomic_ulong *count)
{
	struct lingerer	*l;
	struct timeval	 tv;

	if (set->n >= set->max || shutdown(fd, SHUT_WR) == -1 ||
	    (l = calloc(1, sizeof(*l))) == NULL)
		goto now;
	seconds_to_timeval(LINGER_SECONDS, &tv);
	l->set = set;
	l->fd = fd;
	l->count = count;
	l->deadline_ns = now_ns() + (uint64_t)(LINGER_SECONDS * 1e9);
	if ((l->ev = event_new(base, fd, EV_READ | EV_PERSIST, linger_cb, l)) == NULL ||
	    event_add(l->ev, &tv) == -1) {
		if (l->ev != NULL)
			event_free(l->ev);
		free(l);
		goto now;
	}
	TAILQ_INSERT_TAIL(&set->list, l, entry);
	set->n++;
	return;
now:
	close(fd);
	if (count != NULL)
		atomic_fetch_sub(count, 1);
}

/* What still lingers is closed now (its loop is stopping). */
void
linger_set_clear(struct linger_set *set)
{
	struct lingerer	*l;

	while ((l = TAILQ_FIRST(&set->list)) != NULL)
		linger_end(l);
}
