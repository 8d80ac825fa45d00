/*
 * The wire protocol (doc/protocol.md): one JSON request per line, dispatched
 * through the op table; answers and pushed events go back through conn.c.
 */
#ifndef LOOM_PROTO_H
#define LOOM_PROTO_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>

struct conn;
struct proto_wait;
struct watch_filter;

/* Per-connection protocol state, embedded in the connection. */
struct proto_state {
	TAILQ_HEAD(, proto_wait) waits;		/* requests waiting on jobs */
	struct watch_filter	*watches;
};

void	proto_conn_init(struct conn *, struct proto_state *);
void	proto_conn_closed(struct conn *, struct proto_state *);
bool	proto_conn_busy(const struct conn *, const struct proto_state *);
void	proto_dispatch(struct conn *, const char *line, size_t len);

#endif
