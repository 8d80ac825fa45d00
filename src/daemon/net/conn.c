/*
 * Connections.  Every function here runs on the connection's loop, except
 * conn_handoff(), which the acceptor calls to pass a socket over.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/loomd.h"
#include "net/conn.h"
#include "net/conn_io.h"
#include "net/linger.h"
#include "net/shard.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

#define CONN_READ_CHUNK		(256 * 1024)		/* one read, into the loop's buffer */
#define CONN_IN_KEEP		(64 * 1024)		/* a partial line's buffer kept */
#define CONN_OUT_HIGH		(4 * 1024 * 1024)	/* stop dispatching above */
#define CONN_OUT_LOW		(1024 * 1024)		/* and resume below */
#define CONN_PENDING_MAX	65536			/* requests awaiting answers */
#define CONN_END_GRACE_NS	(5 * 1000000000ULL)	/* conn_end()'s flush, at most */
#define CONN_TURN_NS		(2 * 1000000ULL)	/* lines taken in one turn */

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	TAILQ_ENTRY(conn)	 turn_entry;	/* on its shard's turns, if yielded */
	struct loop		*loop;
	int			 fd;
	unsigned int		 refs;
	bool			 dead;
	bool			 eof;
	bool			 paused;	/* output over the mark: no lines taken */
	bool			 held;		/* whole lines in `in`, not yet taken */
	bool			 yielded;	/* held: its turn is over, another comes */
	bool			 in_message;	/* between a message's first piece and its end */
	bool			 discarding;	/* inside an overlong line */
	bool			 flush_queued;
	bool			 write_waiting;	/* EV_WRITE added */
	bool			 broken;	/* close at the next flush */
	bool			 ending;	/* conn_end(): close, politely, once written */
	bool			 read_on_write;	/* the transport reads once writable */
	bool			 write_on_read;	/* and writes once readable */
	atomic_bool		 stalled;	/* paused: its client reads too little */
	enum conn_transport	 transport;
	const struct conn_io	*io;
	void			*io_state;
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
	size_t			 owed;		/* reserved for answers being built */
	TAILQ_HEAD(, conn_later) later;		/* answers waiting for room */
	uint64_t		 active_ns;	/* last input or answer (idle_timeout) */
	uint64_t		 partial_ns;	/* an unended line since (line_timeout) */
	uint64_t		 turn_ns;	/* this turn's start (conn_input) */
	uint64_t		 opened_ns;	/* TLS handshake and auth bounds */
	uint64_t		 ending_ns;	/* when conn_end() was called */
	struct net_shard	*shard;
	const struct conn_handler *handler;
	/* The protocol's state for this connection (handler->state_size). */
	_Alignas(max_align_t) unsigned char state[];
};

static void	conn_read_cb(evutil_socket_t, short, void *);
static void	conn_write_cb(evutil_socket_t, short, void *);
static void	conn_close(struct conn *);
static void	conn_close_polite(struct conn *);
static int	conn_in_resize(struct conn *, size_t);
static void	conn_out_text(struct conn *, const char *, size_t);
static void	conn_out_done(struct conn *);
static bool	conn_drained(const struct conn *);
static void	conn_idle_arm(struct net_shard *);
static void	conn_schedule_flush(struct conn *);
static void	conn_input(struct conn *);
static void	conn_read(struct conn *);
static void	conn_flush(struct conn *);

/* The plain socket: what the kernel says is what the connection gets. */
static ssize_t
conn_plain_read(void *state, int fd, void *buf, size_t len)
{
	return read(fd, buf, len);
}

static ssize_t
conn_plain_write(void *state, int fd, const void *buf, size_t len)
{
	return send(fd, buf, len, MSG_NOSIGNAL);
}

static const struct conn_io	conn_plain = {
	.read = conn_plain_read,
	.write = conn_plain_write,
};

struct conn_counts	conn_counts;

/* A socket on its way to a loop. */
struct conn_handoff {
	int				 fd;
	enum conn_transport		 transport;
	const struct conn_io		*io;
	const struct conn_handler	*handler;
};

static void
conn_start(void *arg)
{
	struct conn_handoff		*h = arg;
	const struct conn_handler	*handler = h->handler;
	struct shard			*sh = shard_current();
	struct loop			*loop = sh->loop;
	const struct conn_io		*io = h->io != NULL ? h->io : &conn_plain;
	enum conn_transport		 transport = h->transport;
	int				 fd = h->fd;
	void				*io_state = NULL;
	struct conn			*c;

	free(h);
	if (io->open != NULL && (io_state = io->open(fd)) == NULL)
		goto fail;	/* it said why */
	if ((c = calloc(1, sizeof(*c) + handler->state_size)) == NULL) {
		log_warn("connection");
		goto fail;
	}
	c->io = io;
	c->io_state = io_state;
	c->transport = transport;
	c->loop = loop;
	c->shard = sh->net;
	c->fd = fd;
	c->refs = 1;
	c->handler = handler;
	handler->open(c, c->state);
	loop_event_assign(&c->rev, loop, fd, EV_READ | EV_PERSIST, conn_read_cb, c);
	loop_event_assign(&c->wev, loop, fd, EV_WRITE | EV_PERSIST, conn_write_cb, c);
	TAILQ_INIT(&c->later);
	event_add(&c->rev.ev, NULL);
	c->active_ns = c->opened_ns = now_ns();
	TAILQ_INSERT_TAIL(&c->shard->conns, c, entry);
	atomic_fetch_add(&c->shard->connections, 1);
	conn_idle_arm(c->shard);
	return;
fail:
	if (io_state != NULL) {
		io->close(io_state, fd);
		io->free(io_state);
	}
	close(fd);
	atomic_fetch_sub(&conn_counts.current, 1);
}

int
conn_handoff(struct loop *loop, int fd, enum conn_transport transport,
    const struct conn_io *io, const struct conn_handler *handler)
{
	struct conn_handoff	*h = xmalloc(sizeof(*h));

	h->fd = fd;
	h->transport = transport;
	h->io = io;
	h->handler = handler;
	if (loop_post(loop, conn_start, h) == -1) {
		free(h);
		return -1;
	}
	return 0;
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
	if (c->io->free != NULL)
		c->io->free(c->io_state);
	(void)conn_in_resize(c, 0);
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

void *
conn_state(struct conn *c)
{
	return c->state;
}

enum conn_transport
conn_transport(const struct conn *c)
{
	return c->transport;
}

const char *
conn_peer_cn(const struct conn *c)
{
	return c->io->peer_cn != NULL ? c->io->peer_cn(c->io_state) : NULL;
}

int
conn_fd(const struct conn *c)
{
	return c->fd;
}

bool
conn_at_eof(const struct conn *c)
{
	return c->eof;
}

/* What the transport waits for after EAGAIN, if not the obvious one. */
static short
conn_io_want(const struct conn *c, short obvious)
{
	return c->io->want != NULL ? c->io->want(c->io_state) : obvious;
}

static void
conn_wait_writable(struct conn *c)
{
	if (!c->write_waiting) {
		c->write_waiting = true;
		event_add(&c->wev.ev, NULL);
	}
}

/* Nothing in flight: no request, no unread line, nothing the protocol
 * keeps it for. */
static bool
conn_idle(const struct conn *c)
{
	return c->pending == 0 && !c->held && !c->handler->busy(c, c->state);
}

static size_t
conn_unsent(const struct conn *c)
{
	return c->out_len - c->out_off;
}

/*
 * What a connection owes its client: answers written and not yet sent, and
 * room reserved for answers still being built.  Past the high mark no more
 * lines are taken (the rest of a read stays unread input, the socket is not
 * read); below the low mark they are again.
 */
static size_t
conn_owing(const struct conn *c)
{
	return conn_unsent(c) + c->owed;
}

static bool
conn_over(const struct conn *c)
{
	return conn_owing(c) > CONN_OUT_HIGH || c->pending >= CONN_PENDING_MAX;
}

static bool
conn_under(const struct conn *c)
{
	return conn_owing(c) <= CONN_OUT_LOW && c->pending < CONN_PENDING_MAX / 2;
}

/* Parked answers count as pending: they go by output alone. */
bool
conn_has_room(const struct conn *c)
{
	return !c->dead && conn_owing(c) <= CONN_OUT_HIGH;
}

/*
 * Whether the socket is watched for input: to be read (not paused, not
 * ending, before EOF), for a hang-up (after EOF, edge-triggered), or for the
 * transport, which must read before it can write on (TLS).  Called where
 * one of these changes, and at the end of each read callback: an event_add
 * on an event made active by hand is not made, so that is where it heals.
 */
static void
conn_watch_input(struct conn *c)
{
	if (c->dead)
		return;
	if (c->write_on_read || (!c->ending && (c->eof || !c->paused)))
		event_add(&c->rev.ev, NULL);
	else
		event_del(&c->rev.ev);
}

/* Input the transport holds already (TLS): the socket will not say so. */
static void
conn_read_held(struct conn *c)
{
	if (!c->dead && !c->paused && !c->eof && !c->ending &&
	    c->io->pending != NULL && c->io->pending(c->io_state))
		event_active(&c->rev.ev, EV_READ, 0);
}

/* Paused: no lines taken, the socket not read.  Other loops see it
 * (conn_remote_stalled), so the workers' hub pushes nothing more. */
static void
conn_pause(struct conn *c, bool paused)
{
	c->paused = paused;
	atomic_store_explicit(&c->stalled, paused, memory_order_relaxed);
	conn_watch_input(c);
}

/* Pause above the high mark; below the low one, resume from the read
 * callback: answers parked for room first, then lines held, then the socket. */
static void
conn_update_reading(struct conn *c)
{
	if (c->dead || c->ending)
		return;
	if (!c->paused) {
		if (conn_over(c))
			conn_pause(c, true);
	} else if (conn_under(c)) {
		conn_pause(c, false);
		if (c->held)
			event_active(&c->rev.ev, EV_READ, 0);
		else
			conn_read_held(c);
	}
	if (!TAILQ_EMPTY(&c->later) && conn_owing(c) <= CONN_OUT_LOW)
		event_active(&c->rev.ev, EV_READ, 0);
}

/* The client sent EOF: finish what it asked for, then close. */
static void
conn_maybe_finish(struct conn *c)
{
	if (c->eof && !c->dead && conn_idle(c) && c->out_len == c->out_off)
		conn_close_polite(c);
	else if (conn_drained(c))
		conn_close_polite(c);
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

void
conn_owe(struct conn *c, size_t n)
{
	c->owed += n;
}

void
conn_repay(struct conn *c, size_t n)
{
	c->owed -= n < c->owed ? n : c->owed;
	conn_update_reading(c);
}

void
conn_later(struct conn *c, struct conn_later *l, void (*fn)(struct conn_later *))
{
	l->fn = fn;
	TAILQ_INSERT_TAIL(&c->later, l, entry);
	conn_update_reading(c);
}

void
conn_later_cancel(struct conn *c, struct conn_later *l)
{
	TAILQ_REMOVE(&c->later, l, entry);
}

/* Answers parked for room, in order, while there is room. */
static void
conn_run_later(struct conn *c)
{
	struct conn_later	*l;

	while (conn_has_room(c) && (l = TAILQ_FIRST(&c->later)) != NULL) {
		TAILQ_REMOVE(&c->later, l, entry);
		l->fn(l);
	}
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
conn_out_append(struct conn *c, const char *buf, size_t len)
{
	if (conn_out_reserve(c, len) == -1)
		return -1;
	memcpy(c->out + c->out_len, buf, len);
	c->out_len += len;
	return 0;
}

static void
conn_break(struct conn *c)
{
	c->broken = true;
	event_active(&c->wev.ev, EV_WRITE, 0);
}

/*
 * A message begins: past client_output_limit of unsent answers the client
 * is not reading (only pushed events and answers already under way get
 * there), and is disconnected.  One answer alone, however large, is never
 * what passes the limit.
 */
static void
conn_out_begin(struct conn *c)
{
	size_t	limit = loomd.config->client_output_limit;

	c->in_message = true;
	if (c->broken || limit == 0 || conn_unsent(c) <= limit)
		return;
	log_warnx("connection: %zu bytes of answers unread (client_output_limit "
	    "is %zu): closing", conn_unsent(c), limit);
	conn_break(c);
}

/* Text is appended; on failure the connection is closed at its next flush. */
static void
conn_out_text(struct conn *c, const char *text, size_t len)
{
	if (!c->in_message)
		conn_out_begin(c);
	if (!c->broken && conn_out_append(c, text, len) == -1) {
		log_warnx("connection: cannot buffer a reply: closing");
		conn_break(c);
	}
}

static void
conn_out_done(struct conn *c)
{
	c->in_message = false;
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

/*
 * Its turn over, a connection's held lines wait for the loop's next pass.
 * Not event_active(): libevent runs what is activated during a pass in that
 * same pass, so a connection with much to read would take turns only with
 * the events already due, and a socket that became readable meanwhile
 * would wait for all of it.  A timer's events come after the poll's.
 */
static void
conn_yield(struct conn *c)
{
	static const struct timeval	now;
	struct net_shard		*ns = c->shard;

	if (c->yielded)
		return;
	c->yielded = true;
	TAILQ_INSERT_TAIL(&ns->turns, c, turn_entry);
	if (!event_pending(&ns->turn.ev, EV_TIMEOUT, NULL))
		event_add(&ns->turn.ev, &now);
}

/* The next pass: the connections that yielded take their next turns. */
static void
conn_turns(evutil_socket_t fd, short what, void *arg)
{
	struct net_shard	*ns = arg;
	struct conn		*c;

	while ((c = TAILQ_FIRST(&ns->turns)) != NULL) {
		TAILQ_REMOVE(&ns->turns, c, turn_entry);
		c->yielded = false;
		event_active(&c->rev.ev, EV_READ, 0);
	}
}

static void
conn_write_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	bool		 read_too = c->read_on_write;

	c->read_on_write = false;
	conn_ref(c);
	conn_flush(c);
	if (read_too && !c->dead && !c->ending)
		conn_input(c);
	conn_unref(c);
}

static void
conn_flush(struct conn *c)
{
	ssize_t	n;

	c->flush_queued = false;
	if (c->broken) {
		conn_close(c);
		return;
	}
	while (c->out_off < c->out_len) {
		n = c->io->write(c->io_state, c->fd, c->out + c->out_off,
		    c->out_len - c->out_off);
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (conn_io_want(c, EV_WRITE) == EV_READ) {
				/* TLS reads before it can write on. */
				c->write_on_read = true;
				conn_watch_input(c);
			} else
				conn_wait_writable(c);
			conn_update_reading(c);
			return;
		}
		conn_close(c);		/* the peer is gone */
		return;
	}
	c->out_off = c->out_len = 0;
	if (c->ending) {
		conn_close_polite(c);
		return;
	}
	/* Don't keep a burst's buffer, nor any buffer of a connection with no
	 * answers to come: idle connections cost little. */
	if (c->out_cap > 256 * 1024 || c->pending == 0) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	if (c->write_waiting && !c->read_on_write) {
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

/*
 * How long one connection's lines may hold its loop before the others'
 * events have a turn; LOOMD_TEST_TURN_NS lets a test make it one line.
 */
static uint64_t
conn_turn_ns(void)
{
	static atomic_uint_fast64_t	turn;

	return test_tunable(&turn, "LOOMD_TEST_TURN_NS", CONN_TURN_NS);
}

/*
 * Split buf into lines and dispatch each; the bytes used (a partial last
 * line is not).  What a client is owed is checked before each line, as
 * beanstalkd reads one command at a time: once past the mark the rest is
 * held, unread, until the client has read its answers.  The rest is held
 * too once the connection's turn is over, and taken in its next turn, in
 * the loop's next pass (conn_yield).
 */
static size_t
conn_process(struct conn *c, char *buf, size_t buflen)
{
	size_t		 max = loomd.config->max_line_bytes;
	size_t		 start = 0, len;
	char		*line, *nl;

	while (start < buflen && !c->dead && !c->ending) {
		if (!c->discarding && conn_over(c)) {
			c->held = true;
			break;
		}
		line = buf + start;
		nl = memchr(line, '\n', buflen - start);
		if (nl != NULL)
			c->partial_ns = 0;
		if (c->discarding) {
			if (nl == NULL)
				return buflen;
			c->discarding = false;
			start = (size_t)(nl - buf) + 1;
			continue;
		}
		if (nl == NULL) {
			if (buflen - start > max) {
				c->handler->overlong(c, c->state, max);
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
			c->handler->overlong(c, c->state, max);
		else if (!conn_blank(line, len))
			c->handler->line(c, c->state, line, len);
		if (start < buflen && !c->dead &&
		    now_ns() - c->turn_ns >= conn_turn_ns()) {
			c->held = true;
			conn_yield(c);
			break;
		}
	}
	return start;
}

/*
 * Input held by all connections (partial lines, lines held for room), as
 * allocated: max_input_bytes bounds it, so that many clients each sending
 * most of a long line cannot together hold more.  The connection whose
 * line would pass it is told busy and closed.
 */
static atomic_size_t	conn_in_total;

static int
conn_in_resize(struct conn *c, size_t cap)
{
	char	*p = NULL;

	if (cap != 0 && (p = realloc(c->in, cap)) == NULL)
		return -1;
	if (cap == 0)
		free(c->in);
	atomic_fetch_add_explicit(&conn_in_total, cap, memory_order_relaxed);
	atomic_fetch_sub_explicit(&conn_in_total, c->in_cap, memory_order_relaxed);
	c->in = p;
	c->in_cap = cap;
	return 0;
}

/* Room for n more bytes of a partial line; -1 and the connection closed. */
static int
conn_in_reserve(struct conn *c, size_t n)
{
	size_t	 cap, limit = loomd.config->max_input_bytes;

	if (c->in_cap - c->in_len >= n)
		return 0;
	/* Doubling; a line over max_line_bytes is dropped, so this is bounded. */
	cap = c->in_cap ? c->in_cap : 4096;
	while (cap - c->in_len < n)
		cap *= 2;
	/* Up to CONN_IN_KEEP a line is always room: a normal client's line
	 * split across two reads is never what is refused. */
	if (limit != 0 && cap > CONN_IN_KEEP && atomic_load_explicit(&conn_in_total,
	    memory_order_relaxed) + cap - c->in_cap > limit) {
		log_warnx("connection: the input held for all connections would "
		    "pass max_input_bytes (%zu): closing one", limit);
		conn_end(c, "busy", "the partial lines of all clients are at "
		    "max_input_bytes; closing");
		return -1;
	}
	if (conn_in_resize(c, cap) == -1) {
		log_warn("connection: input buffer");
		conn_close(c);
		return -1;
	}
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
	if (c->in_len == 0)
		(void)conn_in_resize(c, 0);
	else if (c->in_cap > CONN_IN_KEEP && c->in_cap > 2 * c->in_len + CONN_IN_KEEP)
		(void)conn_in_resize(c, c->in_len + CONN_IN_KEEP);
	/* line_timeout counts from the first byte of a line still unended. */
	if ((c->in_len == 0 || c->held) && !c->discarding)
		c->partial_ns = 0;
	else if (c->partial_ns == 0)
		c->partial_ns = now_ns();
}

/*
 * EOF is a half-close (`nc -N`: answer what was asked, then close) or the
 * client gone; only the latter is POLLHUP.  A Unix socket's peer that has
 * closed shows it at once, a TCP peer once it resets: after EOF the socket
 * is watched, edge-triggered, for that, and keepalive probes find a TCP
 * peer that has closed (its orphaned socket answers them with a reset once
 * the kernel has dropped it).  A client gone has its waits dropped at once.
 */
static bool
conn_peer_gone(const struct conn *c)
{
	struct pollfd	pfd = { .fd = c->fd, .events = POLLRDHUP };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR));
}

static void
conn_watch_hangup(struct conn *c)
{
	int	on = 1, idle = 10, intvl = 5, cnt = 3;

	event_del(&c->rev.ev);
	loop_event_assign(&c->rev, c->loop, c->fd, EV_READ | EV_ET | EV_PERSIST,
	    conn_read_cb, c);
	event_add(&c->rev.ev, NULL);
	/* The TCP ones fail on a Unix socket, which needs none. */
	if (setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) == 0) {
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
		    sizeof(intvl));
		(void)setsockopt(c->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
}

/*
 * Lines held for room, taken now; false if the connection must wait on.
 * One whose turn is over waits for its next (conn_turns), however it got
 * here: its socket, still readable, would give it a second turn a pass.
 */
static bool
conn_take_held(struct conn *c)
{
	size_t	used;

	if (c->yielded)
		return false;
	if (c->held) {
		c->held = false;
		used = conn_process(c, c->in, c->in_len);
		if (!c->dead)
			conn_in_keep(c, c->in, c->in_len, used);
	}
	if (c->dead)
		return false;
	conn_update_reading(c);
	return !c->held && !c->paused;
}

/* Readable: first what the transport waited for to write on, then input. */
static void
conn_read_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;

	conn_ref(c);
	if (c->write_on_read) {
		c->write_on_read = false;
		conn_flush(c);
	}
	if (!c->dead && !c->ending)
		conn_input(c);
	conn_watch_input(c);
	conn_unref(c);
}

/* Resumed or readable: what waited for room, the lines held, the socket,
 * in one turn: its length counts from here, over the lines of both. */
static void
conn_input(struct conn *c)
{
	bool	go;

	c->turn_ns = now_ns();
	if (c->eof && conn_peer_gone(c)) {
		log_debug("connection: the client has gone: dropping what it "
		    "asked for");
		conn_close(c);
		return;
	}
	conn_run_later(c);
	go = !c->paused && conn_take_held(c) && !c->eof;
	if (!c->dead && c->eof)
		conn_maybe_finish(c);
	if (go)
		conn_read(c);
}

/*
 * Reads go into the loop's buffer, in large chunks, and the lines are
 * dispatched from there; only a partial last line is copied to the
 * connection, which reads on behind it until the line is whole.
 */
static void
conn_read(struct conn *c)
{
	char		**bufp = &c->shard->buf, *buf;
	size_t		 len, used;
	ssize_t		 n;

	if (*bufp == NULL)
		*bufp = xmalloc(CONN_READ_CHUNK);
	n = c->io->read(c->io_state, c->fd, *bufp, CONN_READ_CHUNK);
	if (n == -1) {
		if (errno == EAGAIN && conn_io_want(c, EV_READ) == EV_WRITE) {
			/* TLS writes before it can read on. */
			c->read_on_write = true;
			conn_wait_writable(c);
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(c);
		return;
	}
	if (n == 0) {
		c->eof = true;
		event_del(&c->rev.ev);
		/* A last line without its newline still counts. */
		if (c->in_len > 0 && !c->discarding && conn_in_reserve(c, 1) == 0) {
			c->in[c->in_len++] = '\n';
			used = conn_process(c, c->in, c->in_len);
			if (!c->dead)
				conn_in_keep(c, c->in, c->in_len, used);
		}
		if (!c->dead && conn_peer_gone(c))
			conn_close(c);
		else if (!c->dead) {
			conn_watch_hangup(c);
			conn_maybe_finish(c);
		}
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
	used = conn_process(c, buf, len);
	if (!c->dead) {
		conn_in_keep(c, buf, len, used);
		conn_update_reading(c);
		conn_read_held(c);
	}
}

/* A polite close lingers (net/linger.c) and counts until it is done: a
 * drain waits for it before loomd exits. */
static void
conn_close_how(struct conn *c, bool polite)
{
	if (c->dead)
		return;
	c->dead = true;
	event_del(&c->rev.ev);
	event_del(&c->wev.ev);
	if (c->yielded)
		TAILQ_REMOVE(&c->shard->turns, c, turn_entry);
	/* The transport's goodbye (TLS: close_notify) before the socket is
	 * closed or handed to the lingerer. */
	if (c->io->close != NULL)
		c->io->close(c->io_state, c->fd);
	if (polite)
		linger_close(&c->shard->lingers, loop_base(c->loop), c->fd,
		    &conn_counts.current);
	else {
		close(c->fd);
		atomic_fetch_sub(&conn_counts.current, 1);
	}
	c->fd = -1;
	TAILQ_REMOVE(&c->shard->conns, c, entry);
	atomic_fetch_sub(&c->shard->connections, 1);
	c->handler->closed(c, c->state);
	conn_unref(c);
}

static void
conn_close(struct conn *c)
{
	conn_close_how(c, false);
}

static void
conn_close_polite(struct conn *c)
{
	conn_close_how(c, true);
}

/*
 * The connection is to end (conn.h): no more of its lines are taken, an
 * error line (code, message), if any, tells the client why, and once what
 * it was written has gone it is closed politely; the idle sweep closes it
 * after CONN_END_GRACE_NS if its client does not read.
 */
void
conn_end(struct conn *c, const char *code, const char *message)
{
	if (c->dead || c->ending)
		return;
	if (code != NULL && c->handler->ending != NULL)
		c->handler->ending(c, c->state, code, message);
	c->ending = true;
	c->ending_ns = now_ns();
	c->held = false;
	conn_watch_input(c);
	conn_schedule_flush(c);
}

struct conn_remote {
	atomic_uint	 refs;
	struct conn	*conn;		/* touched only on its loop */
	struct loop	*loop;
};

struct conn_remote *
conn_remote_new(struct conn *c)
{
	struct conn_remote	*r = xcalloc(1, sizeof(*r));

	atomic_init(&r->refs, 1);
	r->conn = c;
	r->loop = c->loop;
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

bool
conn_remote_stalled(const struct conn_remote *r)
{
	return atomic_load_explicit(&r->conn->stalled, memory_order_relaxed);
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

struct conn_remote_call {
	struct conn_remote	*remote;
	void			(*fn)(struct conn *, void *);
	void			*arg;
};

static void
conn_remote_called(void *arg)
{
	struct conn_remote_call	*m = arg;
	struct conn		*c = m->remote->conn;

	m->fn(conn_alive(c) ? c : NULL, m->arg);
	conn_remote_unref(m->remote);
	free(m);
}

void
conn_remote_call(struct conn_remote *r, void (*fn)(struct conn *, void *),
    void *arg)
{
	struct conn_remote_call	*m = xmalloc(sizeof(*m));

	m->remote = r;
	m->fn = fn;
	m->arg = arg;
	conn_remote_ref(r);
	if (loop_is_current(r->loop))
		conn_remote_called(m);
	else if (loop_post(r->loop, conn_remote_called, m) == -1) {
		fn(NULL, arg);
		conn_remote_unref(r);
		free(m);
	}
}

/* On each loop at shutdown: close every connection it owns. */
void
conn_close_all(void)
{
	struct net_shard	*ns = shard_current()->net;
	struct conn		*c;

	while ((c = TAILQ_FIRST(&ns->conns)) != NULL)
		conn_close(c);
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

	if (stage == 0 || c->dead || c->ending || c->pending != 0 || c->held ||
	    c->out_len != c->out_off)
		return false;
	return stage >= 2 || !c->handler->busy(c, c->state);
}

/* On each loop: enter a drain stage and close what is done already. */
void
conn_drain(int stage)
{
	struct conn_list	*list = &shard_current()->net->conns;
	struct conn		*c, *next;
	int			 cur = atomic_load(&conn_drain_stage);

	while (cur < stage &&
	    !atomic_compare_exchange_weak(&conn_drain_stage, &cur, stage))
		;
	for (c = TAILQ_FIRST(list); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (conn_drained(c))
			conn_close_polite(c);
	}
}

/* line_timeout: a line begun that long ago and not ended. */
static bool
conn_line_late(const struct conn *c, uint64_t now)
{
	double	lt = loomd.config->line_timeout;

	return lt > 0 && c->partial_ns != 0 && !c->ending &&
	    now - c->partial_ns >= (uint64_t)(lt * 1e9);
}

/* TLS connections that have not finished their handshake in time go. */
static void
conn_handshake_sweep(struct net_shard *ns, uint64_t now)
{
	double		 limit = loomd.config->tls.handshake_timeout;
	struct conn	*c, *next;

	for (c = TAILQ_FIRST(&ns->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->io->ready != NULL && !c->io->ready(c->io_state) &&
		    now - c->opened_ns >= (uint64_t)(limit * 1e9)) {
			log_info("tls: no handshake within %gs: closing", limit);
			conn_close(c);
		}
	}
}

/*
 * A sweep on each loop that has connections: a connection ending whose
 * client has not read its last answers in CONN_END_GRACE_NS is closed; one
 * with a line unended for line_timeout is ended; idle_timeout closes those
 * with nothing in flight (no request, no watch, nothing to write) for that
 * long; and the protocol may say one has been open too long (stale: never
 * authenticated).  It runs a few times per timeout, so a connection goes
 * within a quarter of it (or a second) after its time.  It reads the
 * settings each time: a reload turns them on or off.
 */
static void
conn_sweep_one(struct conn *c, uint64_t now)
{
	double	idle = loomd.config->idle_timeout;

	if (c->ending) {
		if (now - c->ending_ns >= CONN_END_GRACE_NS) {
			log_debug("connection: its last answers unread: closing");
			conn_close(c);
		}
	} else if (conn_line_late(c, now)) {
		log_info("connection: a line unended for line_timeout "
		    "(%gs): closing", loomd.config->line_timeout);
		conn_end(c, "timeout", "a line was left unended for "
		    "line_timeout; closing");
	} else if (idle > 0 && conn_idle(c) && c->out_len == c->out_off &&
	    now - c->active_ns >= (uint64_t)(idle * 1e9)) {
		log_debug("connection idle for %gs: closing", idle);
		conn_close_polite(c);
	} else if (c->handler->stale != NULL &&
	    c->handler->stale(c, c->state, now - c->opened_ns))
		conn_end(c, NULL, NULL);
}

static void
conn_idle_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct net_shard	*ns = arg;
	uint64_t		 now = now_ns();
	struct conn		*c, *next;

	ns->idle_armed = false;
	conn_handshake_sweep(ns, now);
	for (c = TAILQ_FIRST(&ns->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		conn_sweep_one(c, now);
	}
	conn_idle_arm(ns);
}

static void
conn_idle_arm(struct net_shard *ns)
{
	double		idle = loomd.config->idle_timeout, every = 1;
	double		lt = loomd.config->line_timeout;
	struct timeval	tv;

	if (ns->idle_armed || TAILQ_EMPTY(&ns->conns))
		return;
	if (idle > 0 && idle / 4 < every)
		every = idle / 4 < 0.05 ? 0.05 : idle / 4;
	if (lt > 0 && lt / 4 < every)
		every = lt / 4 < 0.05 ? 0.05 : lt / 4;
	seconds_to_timeval(every, &tv);
	event_add(&ns->idle.ev, &tv);
	ns->idle_armed = true;
}

/* What a loop owns of the network layer (net/shard.h). */
struct net_shard *
net_shard_new(struct loop *loop)
{
	struct net_shard	*ns = xcalloc(1, sizeof(*ns));

	TAILQ_INIT(&ns->conns);
	TAILQ_INIT(&ns->watches);	/* the watch maps start zeroed: empty */
	linger_set_init(&ns->lingers, SIZE_MAX);	/* max_connections bounds them */
	TAILQ_INIT(&ns->lists);
	TAILQ_INIT(&ns->turns);
	loop_event_assign(&ns->idle, loop, -1, 0, conn_idle_sweep, ns);
	loop_event_assign(&ns->turn, loop, -1, 0, conn_turns, ns);
	return ns;
}

void
net_shard_free(struct net_shard *ns)
{
	if (ns == NULL)
		return;
	event_del(&ns->idle.ev);
	event_del(&ns->turn.ev);
	linger_set_clear(&ns->lingers);
	hashmap_free(&ns->watch_jobs);
	hashmap_free(&ns->watch_queues);
	free(ns->buf);
	free(ns);
}
