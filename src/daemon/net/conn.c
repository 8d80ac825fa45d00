/*
 * Connections.  Every function here runs on the connection's loop, except
 * conn_handoff(), which the acceptor calls to pass a socket over.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "net/conn.h"
#include "runtime/log.h"
#include "core/loomd.h"
#include "runtime/loop.h"
#include "net/proto.h"
#include "runtime/util.h"
#include "net/watch.h"

#define CONN_READ_CHUNK		(256 * 1024)		/* one read, into the loop's buffer */
#define CONN_IN_KEEP		(64 * 1024)		/* a partial line's buffer kept */
#define CONN_OUT_HIGH		(4 * 1024 * 1024)	/* stop reading above */
#define CONN_OUT_LOW		(1024 * 1024)		/* and resume below */
#define CONN_PENDING_MAX	65536			/* requests awaiting answers */

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct loop		*loop;
	int			 fd;
	unsigned int		 refs;
	bool			 dead;
	bool			 eof;
	bool			 reading;
	bool			 discarding;	/* inside an overlong line */
	bool			 flush_queued;
	bool			 write_waiting;	/* EV_WRITE added */
	bool			 broken;	/* close at the next flush */
	struct loop_event	 rev;
	struct loop_event	 wev;
	char			*in;		/* a partial line, if any */
	size_t			 in_len;
	size_t			 in_cap;
	char			*out;
	size_t			 out_off;
	size_t			 out_len;
	size_t			 out_cap;
	unsigned int		 pending;
	uint64_t		 active_ns;	/* last input or answer (idle_timeout) */
	struct proto_state	 proto;
};
TAILQ_HEAD(conn_list, conn);

static struct conn_list	*conn_lists;	/* one per loop */
static char		**conn_bufs;	/* one read buffer per loop */
static unsigned int	  conn_nloops;

/* Per loop: the sweep that closes idle connections, armed while it has any. */
struct conn_idle_timer {
	struct loop_event	 ev;
	bool			 armed;
};
static struct conn_idle_timer	*conn_idle_timers;

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(evutil_socket_t, short, void *);
static void	conn_close(struct conn *);
static void	conn_out_text(struct conn *, const char *, size_t);
static void	conn_out_json(struct conn *, const json_t *);
static void	conn_out_done(struct conn *);
static bool	conn_drained(const struct conn *);
static void	conn_idle_arm(struct loop *);

void
conn_init(unsigned int nloops)
{
	unsigned int	i;

	conn_lists = xcalloc(nloops, sizeof(*conn_lists));
	conn_bufs = xcalloc(nloops, sizeof(*conn_bufs));
	conn_nloops = nloops;
	for (i = 0; i < nloops; i++)
		TAILQ_INIT(&conn_lists[i]);
	conn_idle_timers = xcalloc(nloops, sizeof(*conn_idle_timers));
}

static void
conn_start(void *arg)
{
	struct loop	*loop = loop_current();
	int		 fd = (int)(intptr_t)arg;
	struct conn	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("connection");
		close(fd);
		atomic_fetch_sub(&loomd.conn_current, 1);
		return;
	}
	c->loop = loop;
	c->fd = fd;
	c->refs = 1;
	proto_conn_init(c, &c->proto);
	loop_event_assign(&c->rev, loop, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	loop_event_assign(&c->wev, loop, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	event_add(&c->rev.ev, NULL);
	c->reading = true;
	c->active_ns = now_ns();
	TAILQ_INSERT_TAIL(&conn_lists[loop_index(loop)], c, entry);
	atomic_fetch_add(&loomd.counters[loop_index(loop)].connections, 1);
	conn_idle_arm(loop);
}

int
conn_handoff(struct loop *loop, int fd)
{
	return loop_post(loop, conn_start, (void *)(intptr_t)fd);
}

void
conn_ref(struct conn *c)
{
	c->refs++;
}

void
conn_unref(struct conn *c)
{
	if (--c->refs > 0)
		return;
	free(c->in);
	free(c->out);
	free(c);
}

bool
conn_alive(const struct conn *c)
{
	return !c->dead;
}

struct loop *
conn_loop(const struct conn *c)
{
	return c->loop;
}

struct proto_state *
conn_proto(struct conn *c)
{
	return &c->proto;
}

static bool
conn_idle(const struct conn *c)
{
	return c->pending == 0 && !proto_conn_busy(c, &c->proto);
}

/* Read again once the client has drained its answers. */
static void
conn_update_reading(struct conn *c)
{
	bool	want;

	if (c->dead || c->eof)
		return;
	if (c->reading)
		want = c->out_len - c->out_off <= CONN_OUT_HIGH &&
		    c->pending < CONN_PENDING_MAX;
	else
		want = c->out_len - c->out_off <= CONN_OUT_LOW &&
		    c->pending < CONN_PENDING_MAX / 2;
	if (want == c->reading)
		return;
	c->reading = want;
	if (want)
		event_add(&c->rev.ev, NULL);
	else
		event_del(&c->rev.ev);
}

/* The client sent EOF: finish what it asked for, then close. */
static void
conn_maybe_finish(struct conn *c)
{
	if (c->eof && !c->dead && conn_idle(c) && c->out_len == c->out_off)
		conn_close(c);
	else if (conn_drained(c))
		conn_close(c);
}

void
conn_request_done(struct conn *c)
{
	c->pending--;
	c->active_ns = now_ns();
	conn_update_reading(c);
	conn_maybe_finish(c);
}

void
conn_request_start(struct conn *c)
{
	c->pending++;
}

static void
conn_schedule_flush(struct conn *c)
{
	if (c->flush_queued || c->write_waiting)
		return;
	/* Written after the callbacks of this pass: one write for many answers. */
	c->flush_queued = true;
	event_active(&c->wev.ev, EV_WRITE, 0);
}

static int
conn_out_reserve(struct conn *c, size_t n)
{
	size_t	need, cap;
	char	*p;

	if (c->out_off > 0 && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	need = c->out_len + n;
	if (need <= c->out_cap)
		return 0;
	if (c->out_off > 0 && need - c->out_off <= c->out_cap) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
		return 0;
	}
	cap = c->out_cap ? c->out_cap : 4096;
	while (cap < need)
		cap *= 2;
	if ((p = realloc(c->out, cap)) == NULL)
		return -1;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

static int
conn_out_append(const char *buf, size_t len, void *arg)
{
	struct conn	*c = arg;

	if (conn_out_reserve(c, len) == -1)
		return -1;
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return 0;
}

void
conn_send(struct conn *c, json_t *msg)
{
	if (c->dead)
		return;
	conn_out_json(c, msg);
	conn_out_text(c, "\n", 1);
	conn_out_done(c);
}

/* Text is appended; on failure the connection is closed at its next flush. */
static void
conn_out_text(struct conn *c, const char *text, size_t len)
{
	if (!c->broken && conn_out_append(text, len, c) == -1) {
		log_warnx("connection: cannot buffer a reply: closing");
		c->broken = true;
	}
}

static void
conn_out_json(struct conn *c, const json_t *value)
{
	if (!c->broken && json_dump_callback(value, conn_out_append, c,
	    JSON_COMPACT | JSON_ENCODE_ANY) == -1) {
		log_warnx("connection: cannot buffer a reply: closing");
		c->broken = true;
	}
}

static void
conn_out_done(struct conn *c)
{
	conn_schedule_flush(c);
	conn_update_reading(c);
}

void
conn_write(struct conn *c, const char *text, size_t len)
{
	if (!c->dead)
		conn_out_text(c, text, len);
}

void
conn_write_json(struct conn *c, const json_t *value)
{
	if (!c->dead)
		conn_out_json(c, value);
}

void
conn_write_done(struct conn *c)
{
	if (!c->dead)
		conn_out_done(c);
}

void
conn_send_text(struct conn *c, const char *text, size_t len)
{
	if (c->dead)
		return;
	conn_out_text(c, text, len);
	conn_out_done(c);
}

void
conn_reply(struct conn *c, json_t *id, json_t *fields)
{
	json_t	*msg = json_object();

	if (id != NULL)
		json_object_set(msg, "id", id);
	json_object_set_new(msg, "ok", json_true());
	if (fields != NULL) {
		json_object_update(msg, fields);
		json_decref(fields);
	}
	conn_send(c, msg);
	json_decref(msg);
}

void
conn_reply_error(struct conn *c, json_t *id, const struct error *e)
{
	json_t	*msg = json_object();

	if (id != NULL)
		json_object_set(msg, "id", id);
	json_object_set_new(msg, "ok", json_false());
	json_object_set_new(msg, "error", error_to_json(e));
	conn_send(c, msg);
	json_decref(msg);
}

void
conn_reply_fail(struct conn *c, json_t *id, const char *code, const char *fmt, ...)
{
	struct error	e = { 0 };
	va_list		ap;

	e.code = code;
	va_start(ap, fmt);
	if (vasprintf(&e.message, fmt, ap) == -1)
		e.message = NULL;
	va_end(ap);
	conn_reply_error(c, id, &e);
	error_clear(&e);
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	ssize_t		 n;

	c->flush_queued = false;
	if (c->broken) {
		conn_close(c);
		return;
	}
	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		    MSG_NOSIGNAL);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->write_waiting) {
				c->write_waiting = true;
				event_add(&c->wev.ev, NULL);
			}
			conn_update_reading(c);
			return;
		}
		conn_close(c);		/* the peer is gone */
		return;
	}
	c->out_off = c->out_len = 0;
	/* Don't keep a burst's buffer, nor any buffer of a connection with no
	 * answers to come: idle connections cost little. */
	if (c->out_cap > 256 * 1024 || c->pending == 0) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	if (c->write_waiting) {
		c->write_waiting = false;
		event_del(&c->wev.ev);
	}
	conn_update_reading(c);
	conn_maybe_finish(c);
}

static bool
conn_blank(const char *line, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return false;
	}
	return true;
}

static void
conn_too_long(struct conn *c)
{
	conn_reply_fail(c, NULL, "line_too_long",
	    "line exceeds max_line_bytes (%zu); it was discarded",
	    loomd.config->max_line_bytes);
}

/* Split buf into lines and dispatch each; the bytes used (a partial last
 * line is not). */
static size_t
conn_process(struct conn *c, char *buf, size_t buflen)
{
	size_t	 max = loomd.config->max_line_bytes;
	size_t	 start = 0, len;
	char	*line, *nl;

	while (start < buflen && !c->dead) {
		line = buf + start;
		nl = memchr(line, '\n', buflen - start);
		if (c->discarding) {
			if (nl == NULL)
				return buflen;
			c->discarding = false;
			start = (size_t)(nl - buf) + 1;
			continue;
		}
		if (nl == NULL) {
			if (buflen - start > max) {
				conn_too_long(c);
				c->discarding = true;
				return buflen;
			}
			break;
		}
		len = (size_t)(nl - line);
		start += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len > max)
			conn_too_long(c);
		else if (!conn_blank(line, len))
			proto_dispatch(c, line, len);
	}
	return start;
}

/* Room for n more bytes of a partial line; -1 and the connection closed. */
static int
conn_in_reserve(struct conn *c, size_t n)
{
	size_t	 cap;
	char	*p;

	if (c->in_cap - c->in_len >= n)
		return 0;
	/* Doubling; a line over max_line_bytes is dropped, so this is bounded. */
	cap = c->in_cap ? c->in_cap : 4096;
	while (cap - c->in_len < n)
		cap *= 2;
	if ((p = realloc(c->in, cap)) == NULL) {
		log_warn("connection: input buffer");
		conn_close(c);
		return -1;
	}
	c->in = p;
	c->in_cap = cap;
	return 0;
}

/* What is left after the lines: kept for the next read, or dropped. */
static void
conn_in_keep(struct conn *c, const char *buf, size_t buflen, size_t used)
{
	if (buf == c->in) {
		memmove(c->in, c->in + used, buflen - used);
		c->in_len = buflen - used;
	} else if (used < buflen) {
		if (conn_in_reserve(c, buflen - used) == -1)
			return;
		memcpy(c->in, buf + used, buflen - used);
		c->in_len = buflen - used;
	}
	/* An idle connection keeps no input buffer, a busy one a modest one. */
	if (c->in_len == 0 || c->in_cap > CONN_IN_KEEP) {
		if (c->in_len == 0) {
			free(c->in);
			c->in = NULL;
			c->in_cap = 0;
		} else if (c->in_cap > 2 * c->in_len + CONN_IN_KEEP) {
			char	*p = realloc(c->in, c->in_len + CONN_IN_KEEP);

			if (p != NULL) {
				c->in = p;
				c->in_cap = c->in_len + CONN_IN_KEEP;
			}
		}
	}
}

/*
 * Reads go into the loop's buffer, in large chunks, and the lines are
 * dispatched from there; only a partial last line is copied to the
 * connection, which reads on behind it until the line is whole.
 */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	char		**bufp = &conn_bufs[loop_index(c->loop)], *buf;
	size_t		 len, used;
	ssize_t		 n;

	if (*bufp == NULL)
		*bufp = xmalloc(CONN_READ_CHUNK);
	n = read(c->fd, *bufp, CONN_READ_CHUNK);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(c);
		return;
	}
	if (n == 0) {
		c->eof = true;
		c->reading = false;
		event_del(&c->rev.ev);
		/* A last line without its newline still counts. */
		if (c->in_len > 0 && !c->discarding && conn_in_reserve(c, 1) == 0) {
			c->in[c->in_len++] = '\n';
			conn_ref(c);
			used = conn_process(c, c->in, c->in_len);
			if (!c->dead)
				conn_in_keep(c, c->in, c->in_len, used);
			conn_unref(c);
		}
		conn_maybe_finish(c);
		return;
	}
	buf = *bufp;
	len = (size_t)n;
	c->active_ns = now_ns();
	if (c->in_len > 0) {
		/* Behind a partial line: append, and go on from there. */
		if (conn_in_reserve(c, len) == -1)
			return;
		memcpy(c->in + c->in_len, buf, len);
		c->in_len += len;
		buf = c->in;
		len = c->in_len;
	}
	conn_ref(c);
	used = conn_process(c, buf, len);
	if (!c->dead) {
		conn_in_keep(c, buf, len, used);
		conn_update_reading(c);
	}
	conn_unref(c);
}

static void
conn_close(struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	event_del(&c->rev.ev);
	event_del(&c->wev.ev);
	close(c->fd);
	c->fd = -1;
	TAILQ_REMOVE(&conn_lists[loop_index(c->loop)], c, entry);
	atomic_fetch_sub(&loomd.counters[loop_index(c->loop)].connections, 1);
	atomic_fetch_sub(&loomd.conn_current, 1);
	proto_conn_closed(c, &c->proto);
	watch_remove_all(c);
	conn_unref(c);
}

struct conn_remote {
	atomic_uint	 refs;
	struct conn	*conn;		/* touched only on its loop */
	struct loop	*loop;
	char		*id;
};

struct conn_remote *
conn_remote_new(struct conn *c, const json_t *id)
{
	struct conn_remote	*r = xcalloc(1, sizeof(*r));

	atomic_init(&r->refs, 1);
	r->conn = c;
	r->loop = c->loop;
	r->id = id != NULL ? json_dumps(id, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (r->id == NULL)
		r->id = xstrdup("null");
	conn_ref(c);
	return r;
}

void
conn_remote_ref(struct conn_remote *r)
{
	atomic_fetch_add(&r->refs, 1);
}

static void
conn_remote_free(void *arg)
{
	struct conn_remote	*r = arg;

	conn_unref(r->conn);
	free(r->id);
	free(r);
}

void
conn_remote_unref(struct conn_remote *r)
{
	if (atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	/* The connection's reference can only be dropped on its loop. */
	if (loop_is_current(r->loop))
		conn_remote_free(r);
	else if (loop_post(r->loop, conn_remote_free, r) == -1)
		log_debug("connection handle dropped: its loop has stopped");
}

const char *
conn_remote_id(const struct conn_remote *r)
{
	return r->id;
}

struct conn_remote_msg {
	struct conn_remote	*remote;
	char			*text;
	size_t			 len;
};

static void
conn_remote_deliver(void *arg)
{
	struct conn_remote_msg	*m = arg;

	conn_send_text(m->remote->conn, m->text, m->len);
	conn_remote_unref(m->remote);
	free(m->text);
	free(m);
}

void
conn_remote_send(struct conn_remote *r, char *text, size_t len)
{
	struct conn_remote_msg	*m = xmalloc(sizeof(*m));

	m->remote = r;
	m->text = text;
	m->len = len;
	conn_remote_ref(r);
	if (loop_is_current(r->loop))
		conn_remote_deliver(m);
	else if (loop_post(r->loop, conn_remote_deliver, m) == -1) {
		conn_remote_unref(r);
		free(text);
		free(m);
	}
}

/* On each loop at shutdown: close every connection it owns. */
void
conn_close_all(void)
{
	struct conn_list	*list = &conn_lists[loop_index(loop_current())];
	struct conn		*c;

	while ((c = TAILQ_FIRST(list)) != NULL)
		conn_close(c);
}

void
conn_shutdown(void)
{
	unsigned int	i;

	for (i = 0; i < conn_nloops; i++)
		free(conn_bufs[i]);
	free(conn_bufs);
	conn_bufs = NULL;
	free(conn_lists);
	conn_lists = NULL;
	free(conn_idle_timers);
	conn_idle_timers = NULL;
}

/*
 * Shutdown: 1 while jobs may still finish, 2 once every job has.  A
 * connection then closes as soon as it has no request in flight and nothing
 * left to write; in stage 1 only if it watches nothing, since its watches
 * still have events to deliver.
 */
static atomic_int	conn_drain_stage;

static bool
conn_drained(const struct conn *c)
{
	int	stage = atomic_load_explicit(&conn_drain_stage, memory_order_relaxed);

	if (stage == 0 || c->dead || c->pending != 0 || c->out_len != c->out_off)
		return false;
	return stage >= 2 || !proto_conn_busy(c, &c->proto);
}

/* On each loop: enter a drain stage and close what is done already. */
void
conn_drain(int stage)
{
	struct conn_list	*list = &conn_lists[loop_index(loop_current())];
	struct conn		*c, *next;
	int			 cur = atomic_load(&conn_drain_stage);

	while (cur < stage &&
	    !atomic_compare_exchange_weak(&conn_drain_stage, &cur, stage))
		;
	for (c = TAILQ_FIRST(list); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (conn_drained(c))
			conn_close(c);
	}
}

/*
 * idle_timeout: a sweep on each loop that has connections closes those with
 * nothing in flight (no request, no watch, nothing to write) for that long.
 * It runs a few times per timeout, so a connection goes within a quarter of
 * it (or a second) after its time.  It reads the setting each time: a reload
 * turns it on or off.
 */
static void
conn_idle_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct loop		*loop = arg;
	struct conn_idle_timer	*t = &conn_idle_timers[loop_index(loop)];
	struct conn_list	*list = &conn_lists[loop_index(loop)];
	double			 idle = loomd.config->idle_timeout;
	uint64_t		 now = now_ns();
	struct conn		*c, *next;

	t->armed = false;
	if (idle > 0) {
		for (c = TAILQ_FIRST(list); c != NULL; c = next) {
			next = TAILQ_NEXT(c, entry);
			if (conn_idle(c) && c->out_len == c->out_off &&
			    now - c->active_ns >= (uint64_t)(idle * 1e9)) {
				log_debug("connection idle for %gs: closing", idle);
				conn_close(c);
			}
		}
	}
	conn_idle_arm(loop);
}

static void
conn_idle_arm(struct loop *loop)
{
	struct conn_idle_timer	*t = &conn_idle_timers[loop_index(loop)];
	double			 idle = loomd.config->idle_timeout, every = 1;
	struct timeval		 tv;

	if (t->armed || TAILQ_EMPTY(&conn_lists[loop_index(loop)]))
		return;
	if (idle > 0 && idle / 4 < every)
		every = idle / 4 < 0.05 ? 0.05 : idle / 4;
	loop_event_assign(&t->ev, loop, -1, 0, conn_idle_sweep, loop);
	seconds_to_timeval(every, &tv);
	event_add(&t->ev.ev, &tv);
	t->armed = true;
}
