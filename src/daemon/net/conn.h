/*
 * Client connections: NDJSON framing over a socket, owned by one loop.
 * Input is read in large chunks and split into lines; a line longer than
 * max_line_bytes is answered line_too_long and skipped.  Output is buffered
 * and written once per loop pass; a client that does not read stops being
 * read (its output and its pending requests are bounded).
 *
 * Requests that answer later hold a reference on the connection, so a
 * connection closed under them stays allocated (but dead) until they finish.
 */
#ifndef LOOM_CONN_H
#define LOOM_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "runtime/util.h"

struct conn;
struct loop;

struct proto_state;

void		 conn_init(unsigned int nloops);
void		 conn_shutdown(void);
/* On the main thread: hand an accepted socket to a loop. */
int		 conn_handoff(struct loop *, int fd);

void		 conn_ref(struct conn *);
void		 conn_unref(struct conn *);
bool		 conn_alive(const struct conn *);
struct loop	*conn_loop(const struct conn *);

/* A request that answers later: started, then answered. */
void		 conn_request_start(struct conn *);
void		 conn_request_done(struct conn *);
struct proto_state *conn_proto(struct conn *);

/* Write one message: takes no reference. */
void		 conn_send(struct conn *, json_t *);
/* {"id": id, "ok": true, ...fields}; steals fields. */
void		 conn_reply(struct conn *, json_t *id, json_t *fields);
void		 conn_reply_error(struct conn *, json_t *id, const struct error *);
/*
 * A message in pieces: text (a job's terminal view, shared with other
 * loops, is written from its text), JSON values (only read), then done,
 * which schedules the flush.
 */
void		 conn_write(struct conn *, const char *, size_t);
#define		 conn_write_lit(c, s)	conn_write((c), (s), sizeof(s) - 1)
void		 conn_write_json(struct conn *, const json_t *);
void		 conn_write_done(struct conn *);
/* A line already serialized, e.g. a watch event: text and its length. */
void		 conn_send_text(struct conn *, const char *, size_t);
void		 conn_reply_fail(struct conn *, json_t *id, const char *code,
		     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * A connection as seen from other loops: text sent through it is posted to
 * the connection's loop and written there if the connection is still open.
 * Created on the connection's loop; referenced and sent to from any loop.
 * It also carries a request id, serialized, for the messages it frames.
 */
struct conn_remote;
struct conn_remote *conn_remote_new(struct conn *, const json_t *id);
void		 conn_remote_ref(struct conn_remote *);
void		 conn_remote_unref(struct conn_remote *);
const char	*conn_remote_id(const struct conn_remote *);	/* JSON text */
void		 conn_remote_send(struct conn_remote *, char *text, size_t len);

/* Loop-wide connection teardown (shutdown). */
void		 conn_close_all(void);
/* Shutdown, on each loop: 1 when draining starts, 2 when every job has
 * finished; connections close once their answers are written. */
void		 conn_drain(int stage);

#endif
