/*
 * Client connections, the transport: newline-framed messages over a socket,
 * owned by one loop.  Input is read in large chunks and split into lines,
 * each handed to the protocol through the handler the connection was given;
 * a line longer than max_line_bytes is reported to it and skipped.  Output
 * is buffered and written once per loop pass; a client that does not read
 * stops being read (its output and its pending requests are bounded), and
 * one that lets more than client_output_limit pile up is disconnected.  What
 * the lines mean, and every reply, is the protocol's (net/proto.c).
 *
 * Requests that answer later hold a reference on the connection, so a
 * connection closed under them stays allocated (but dead) until they finish.
 */
#ifndef LOOM_CONN_H
#define LOOM_CONN_H

#include <sys/queue.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/conn_io.h"

struct conn;
struct loop;

/* Connections over all loops: open now, accepted in all, refused (busy). */
struct conn_counts {
	atomic_ulong	current;
	atomic_ulong	total;
	atomic_ulong	rejected;
};
extern struct conn_counts	conn_counts;

/*
 * The protocol, as the transport calls it, on the connection's loop.
 * state_size bytes of per-connection state live with the connection.
 * refusal is the line written to a connection refused for max_connections.
 */
struct conn_handler {
	size_t		 state_size;
	const char	*refusal;
	void		(*open)(struct conn *, void *state);
	void		(*line)(struct conn *, void *state, const char *, size_t);
	void		(*overlong)(struct conn *, void *state, size_t max);
	/* The transport ends the connection: one last error line. */
	void		(*ending)(struct conn *, void *state, const char *code,
			    const char *message);
	/* Something besides requests keeps the connection (watches). */
	bool		(*busy)(const struct conn *, const void *state);
	/* Open this long (ns), it should go (never authenticated); may be
	 * NULL.  Asked by the sweep that closes idle connections. */
	bool		(*stale)(const struct conn *, void *state, uint64_t age_ns);
	void		(*closed)(struct conn *, void *state);
};

/*
 * On the main thread: hand an accepted socket to a loop, with its transport
 * (NULL: the plain socket; &tls_io: TLS).
 */
int		 conn_handoff(struct loop *, int fd, enum conn_transport,
		     const struct conn_io *, const struct conn_handler *);

void		 conn_ref(struct conn *);
void		 conn_unref(struct conn *);
bool		 conn_alive(const struct conn *);
bool		 conn_at_eof(const struct conn *);	/* the client sent EOF */
struct loop	*conn_loop(const struct conn *);
void		*conn_state(struct conn *);
/* Unix socket, TCP or TLS: TLS counts as TCP for auth_tcp. */
enum conn_transport conn_transport(const struct conn *);
/*
 * The CN of the client certificate a TLS connection presented and
 * tls.client_ca_file verified; NULL on other connections.  Known before the
 * first line is read (the handshake comes first), and kept until the
 * connection is freed.
 */
const char	*conn_peer_cn(const struct conn *);
int		 conn_fd(const struct conn *);	/* for the peer's address */
/*
 * End the connection: no more of its lines are taken, and once the answers
 * already written have gone out it is closed politely (the transport's own
 * goodbye first, TLS's close_notify, then a lingering close: net/linger.c).
 * With a code, the handler's `ending` writes one last error line (code,
 * message) first; without, it just ends (an HTTP request, an unauthenticated
 * connection).  A peer that does not read its last answers is closed
 * after a grace of a few seconds anyway.
 */
void		 conn_end(struct conn *, const char *code, const char *message);

/* A request that answers later: started, then answered. */
void		 conn_request_start(struct conn *);
void		 conn_request_done(struct conn *);

/*
 * Output accounting.  An answer built later reserves room for its likely
 * size (owe), given back before it is written (repay); both count as owed
 * to the client, and past the mark no more of its lines are taken.  An
 * answer that is ready while the client owes too much is parked
 * (conn_later) and run, in order, once it has read enough.
 */
struct conn_later {
	TAILQ_ENTRY(conn_later)	 entry;
	void			(*fn)(struct conn_later *);
};
bool		 conn_has_room(const struct conn *);
void		 conn_owe(struct conn *, size_t);
void		 conn_repay(struct conn *, size_t);
void		 conn_later(struct conn *, struct conn_later *,
		     void (*)(struct conn_later *));
void		 conn_later_cancel(struct conn *, struct conn_later *);

/* A message in pieces, then done, which schedules the flush. */
void		 conn_write(struct conn *, const char *, size_t);
#define		 conn_write_lit(c, s)	conn_write((c), (s), sizeof(s) - 1)
void		 conn_write_done(struct conn *);
/* A whole line already serialized: text and its length. */
void		 conn_send_text(struct conn *, const char *, size_t);

/*
 * A connection as seen from other loops: text sent through it is posted to
 * the connection's loop and written there if the connection is still open.
 * Created on the connection's loop; referenced and sent to from any loop.
 */
struct conn_remote;
struct conn_remote *conn_remote_new(struct conn *);
void		 conn_remote_ref(struct conn_remote *);
void		 conn_remote_unref(struct conn_remote *);
void		 conn_remote_send(struct conn_remote *, char *text, size_t len);
/* Whether the connection has stopped being read because its client does
 * not read its answers (the output backpressure); any loop. */
bool		 conn_remote_stalled(const struct conn_remote *);
/* fn(conn, arg) on the connection's loop; conn is NULL once it has closed
 * (or, its loop stopped, on this one: then fn must only free arg). */
void		 conn_remote_call(struct conn_remote *,
		     void (*fn)(struct conn *, void *), void *arg);

/* Loop-wide connection teardown (shutdown). */
void		 conn_close_all(void);
/* Shutdown, on each loop: 1 when draining starts, 2 when every job has
 * finished; connections close once their answers are written. */
void		 conn_drain(int stage);

#endif
