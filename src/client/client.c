/*
 * libloomclient: requests, answers and events over one connection; making
 * the connection is connect.c's.  The socket is non-blocking underneath so
 * that every wait is a poll() against one deadline, and so that a send can
 * keep reading while the server's replies pile up (otherwise a large
 * pipelined send and a server that stops reading until its output drains
 * would block each other forever).
 *
 * Self-contained on purpose: it is installed on its own and must not pull in
 * the daemon's internals.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loom/client.h"
#include "internal.h"

#define CLIENT_BUF_INITIAL	(64 * 1024)
#define CLIENT_BUF_KEEP		(1024 * 1024)	/* larger buffers go once empty */
#define CLIENT_READ_MAX		(1024 * 1024)	/* at most this much per recv() */
#define CLIENT_ERROR_MAX	256
#define CLIENT_EXCERPT		48		/* bytes of a bad line quoted */

struct client_msg {
	TAILQ_ENTRY(client_msg)	 entry;
	json_t			*json;
};
TAILQ_HEAD(client_queue, client_msg);

struct loom_client {
	int			 fd;
	struct client_tls	*tls;		/* NULL: the plain socket */
	short			 tls_events;	/* what TLS waits for after EAGAIN */

	char			*in;		/* unparsed input is in[start, end) */
	size_t			 start;
	size_t			 end;
	size_t			 size;
	size_t			 scanned;	/* bytes after start without a '\n' */
	int			 eof;		/* the server closed its side */

	int			 dead;		/* errno that ended the connection */
	char			 dead_reason[CLIENT_ERROR_MAX];

	struct client_queue	 queue;		/* read but not yet handed out */

	json_int_t		 next_id;
	json_int_t		*abandoned;	/* fresh ids whose wait timed out */
	size_t			 nabandoned;
	size_t			 abandoned_size;

	char			 error[CLIENT_ERROR_MAX];
};

typedef int (*client_match_fn)(const json_t *msg, const json_t *arg);

/* Record a failure that leaves the connection usable: -1, errno = err. */
int
client_fail(struct loom_client *c, int err, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

/* Record a failure that ends the connection; later calls repeat it. */
static int __attribute__((format(printf, 3, 4)))
client_die(struct loom_client *c, int err, const char *fmt, ...)
{
	va_list	ap;

	if (c->dead == 0) {
		va_start(ap, fmt);
		vsnprintf(c->dead_reason, sizeof(c->dead_reason), fmt, ap);
		va_end(ap);
		c->dead = err;
	}
	memcpy(c->error, c->dead_reason, sizeof(c->error));
	errno = c->dead;
	return -1;
}

static int
client_dead(struct loom_client *c)
{
	memcpy(c->error, c->dead_reason, sizeof(c->error));
	errno = c->dead;
	return -1;
}

/*
 * Deadlines are CLOCK_MONOTONIC nanoseconds; -1 is "never".  Timeouts too
 * large to represent also mean never.
 */
static int64_t
client_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
client_deadline(double timeout)
{
	if (timeout < 0 || timeout != timeout || timeout > 1e9)
		return -1;
	return client_now_ns() + (int64_t)(timeout * 1e9);
}

/* Milliseconds for poll(), rounded up so a wait never ends early and spins. */
static int
client_poll_ms(int64_t deadline)
{
	int64_t	left;

	if (deadline == -1)
		return -1;
	left = deadline - client_now_ns();
	if (left <= 0)
		return 0;
	left = (left + 999999) / 1000000;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/*
 * Wait for events on the socket until the deadline: the revents, or -1 with
 * ETIMEDOUT (connection still usable) or a poll() error (ended).
 */
static int
client_poll(struct loom_client *c, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int		n;

	for (;;) {
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, client_poll_ms(deadline));
		if (n > 0)
			return pfd.revents;
		if (n == 0) {
			if (deadline != -1 && client_now_ns() < deadline)
				continue;
			return client_fail(c, ETIMEDOUT, "timed out");
		}
		if (errno != EINTR)
			return client_die(c, errno, "poll: %s", strerror(errno));
	}
}

/* Make room at the end of the input buffer for another read. */
static int
client_reserve(struct loom_client *c)
{
	size_t	 used = c->end - c->start, size;
	char	*p;

	if (c->start > 0 && (c->end == c->size || c->start >= c->size / 2)) {
		memmove(c->in, c->in + c->start, used);
		c->start = 0;
		c->end = used;
	}
	if (c->end < c->size)
		return 0;
	if (c->size > SIZE_MAX / 2)
		return client_die(c, ENOMEM, "out of memory");
	size = c->size == 0 ? CLIENT_BUF_INITIAL : c->size * 2;
	if ((p = realloc(c->in, size)) == NULL)
		return client_die(c, ENOMEM, "out of memory");
	c->in = p;
	c->size = size;
	return 0;
}

/* The socket's bytes, or TLS's (then EAGAIN says what to wait for). */
static ssize_t
client_recv(struct loom_client *c, void *buf, size_t len)
{
	c->tls_events = POLLIN;
	if (c->tls != NULL)
		return client_tls_read(c->tls, buf, len, &c->tls_events);
	return recv(c->fd, buf, len, MSG_DONTWAIT);
}

static ssize_t
client_send_some(struct loom_client *c, const void *buf, size_t len)
{
	c->tls_events = POLLOUT;
	if (c->tls != NULL)
		return client_tls_write(c->tls, buf, len, &c->tls_events);
	return send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/*
 * One recv() into the input buffer: 1 if it read data or saw the end, 0 if
 * nothing was ready, -1 if the connection failed.
 */
static int
client_read_some(struct loom_client *c)
{
	size_t	want;
	ssize_t	n;

	if (client_reserve(c) == -1)
		return -1;
	want = c->size - c->end;
	if (want > CLIENT_READ_MAX)
		want = CLIENT_READ_MAX;
	for (;;) {
		n = client_recv(c, c->in + c->end, want);
		if (n > 0) {
			c->end += n;
			return 1;
		}
		if (n == 0) {
			c->eof = 1;
			return 1;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (errno == ECONNRESET)
			return client_die(c, ECONNRESET, "connection reset by server");
		if (errno == EPROTO && c->tls != NULL)
			return client_die(c, EPROTO, "TLS error from the server");
		return client_die(c, errno, "read: %s", strerror(errno));
	}
}

/* Drop consumed input; give back a buffer grown for one huge line. */
static void
client_consumed(struct loom_client *c)
{
	if (c->start != c->end)
		return;
	c->start = c->end = c->scanned = 0;
	if (c->size > CLIENT_BUF_KEEP) {
		free(c->in);
		c->in = NULL;
		c->size = 0;
	}
}

static int
client_blank(const char *line, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (line[i] != ' ' && line[i] != '\t')
			return 0;
	}
	return 1;
}

/* A short printable quote of a bad line for the error message. */
static void
client_excerpt(char *buf, size_t size, const char *line, size_t len)
{
	size_t	i, n = len < CLIENT_EXCERPT ? len : CLIENT_EXCERPT;

	if (n > size - 1)
		n = size - 1;
	for (i = 0; i < n; i++)
		buf[i] = isprint((unsigned char)line[i]) ? line[i] : '?';
	buf[n] = '\0';
}

/*
 * Parse the next complete line in the input buffer: 1 with *msg, 0 if no
 * complete line is buffered, -1 if the line is not a JSON object.
 */
static int
client_parse_line(struct loom_client *c, json_t **msg)
{
	json_error_t	 jerr;
	json_t		*j;
	char		*line, *nl, quote[CLIENT_EXCERPT + 1];
	size_t		 len;

	for (;;) {
		if (c->end - c->start == c->scanned)
			return 0;
		nl = memchr(c->in + c->start + c->scanned, '\n',
		    c->end - c->start - c->scanned);
		if (nl == NULL) {
			c->scanned = c->end - c->start;
			return 0;
		}
		line = c->in + c->start;
		len = nl - line;
		c->start += len + 1;
		c->scanned = 0;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (client_blank(line, len)) {
			client_consumed(c);
			continue;
		}

		j = json_loadb(line, len, JSON_DECODE_ANY, &jerr);
		if (j != NULL && json_is_object(j)) {
			client_consumed(c);
			*msg = j;
			return 1;
		}
		json_decref(j);
		if (j == NULL && json_error_code(&jerr) == json_error_out_of_memory)
			return client_die(c, ENOMEM, "out of memory");
		client_excerpt(quote, sizeof(quote), line, len);
		/* What follows a bad line cannot be trusted either. */
		c->start = c->end = c->scanned = 0;
		if (j == NULL) {
			return client_die(c, EPROTO, "protocol error: the server "
			    "sent a line that is not JSON (%s): '%s%s'", jerr.text,
			    quote, len > CLIENT_EXCERPT ? "..." : "");
		}
		return client_die(c, EPROTO, "protocol error: the server sent a "
		    "line that is not a JSON object: '%s%s'", quote,
		    len > CLIENT_EXCERPT ? "..." : "");
	}
}

static int
client_is_response(const json_t *msg)
{
	return json_object_get(msg, "ok") != NULL;
}

static int
client_is_event(const json_t *msg)
{
	return !client_is_response(msg) && json_object_get(msg, "event") != NULL;
}

/*
 * Answers to fresh ids whose wait timed out are dropped as they arrive: no
 * one can ask for them, and they would pile up in a long-lived client.
 */
static int
client_abandoned(struct loom_client *c, const json_t *msg)
{
	json_t		*id;
	json_int_t	 value;
	size_t		 i;

	if (c->nabandoned == 0 || !client_is_response(msg))
		return 0;
	id = json_object_get(msg, "id");
	if (!json_is_integer(id))
		return 0;
	value = json_integer_value(id);
	for (i = 0; i < c->nabandoned; i++) {
		if (c->abandoned[i] == value) {
			c->abandoned[i] = c->abandoned[--c->nabandoned];
			return 1;
		}
	}
	return 0;
}

static void
client_abandon(struct loom_client *c, json_int_t id)
{
	json_int_t	*p;
	size_t		 size;

	if (c->nabandoned == c->abandoned_size) {
		size = c->abandoned_size == 0 ? 8 : c->abandoned_size * 2;
		p = reallocarray(c->abandoned, size, sizeof(*p));
		if (p == NULL)
			return;		/* then the answer is merely queued */
		c->abandoned = p;
		c->abandoned_size = size;
	}
	c->abandoned[c->nabandoned++] = id;
}

/*
 * The next message from the connection (not the queue), waiting until the
 * deadline.  Complete lines already buffered are handed out even after the
 * connection has ended, so nothing the server said before closing is lost.
 */
static int
client_next(struct loom_client *c, json_t **msg, int64_t deadline)
{
	int	r;

	for (;;) {
		r = client_parse_line(c, msg);
		if (r == -1)
			return -1;
		if (r == 1) {
			if (client_abandoned(c, *msg)) {
				json_decref(*msg);
				continue;
			}
			return 0;
		}
		if (c->dead)
			return client_dead(c);
		if (c->eof) {
			if (c->end > c->start) {
				return client_die(c, ECONNRESET, "connection closed "
				    "by server in the middle of a line");
			}
			return client_die(c, ECONNRESET, "connection closed by server");
		}
		r = client_read_some(c);
		if (r == -1)
			return -1;
		if (r == 0 && client_poll(c, c->tls_events, deadline) == -1)
			return -1;
	}
}

static int
client_enqueue(struct loom_client *c, json_t *msg)
{
	struct client_msg	*m;

	if ((m = malloc(sizeof(*m))) == NULL) {
		json_decref(msg);
		return client_die(c, ENOMEM, "out of memory");
	}
	m->json = msg;
	TAILQ_INSERT_TAIL(&c->queue, m, entry);
	return 0;
}

/*
 * The first message that matches, from the queue or else from the
 * connection; what does not match is queued.
 */
static int
client_wait_for(struct loom_client *c, client_match_fn match, const json_t *arg,
    json_t **out, int64_t deadline)
{
	struct client_msg	*m;
	json_t			*msg;

	*out = NULL;
	TAILQ_FOREACH(m, &c->queue, entry) {
		if (match(m->json, arg)) {
			TAILQ_REMOVE(&c->queue, m, entry);
			*out = m->json;
			free(m);
			return 0;
		}
	}
	for (;;) {
		if (client_next(c, &msg, deadline) == -1)
			return -1;
		if (match(msg, arg)) {
			*out = msg;
			return 0;
		}
		if (client_enqueue(c, msg) == -1)
			return -1;
	}
}

static int
client_match_any(const json_t *msg, const json_t *arg)
{
	return 1;
}

static int
client_match_event(const json_t *msg, const json_t *arg)
{
	return client_is_event(msg);
}

/* arg is the id wanted, or NULL for any; an answer without an id matches. */
static int
client_match_response(const json_t *msg, const json_t *arg)
{
	json_t	*id;

	if (!client_is_response(msg))
		return 0;
	id = json_object_get(msg, "id");
	return (arg == NULL || id == NULL || json_equal(id, arg));
}

/*
 * Write a whole line before the deadline.  While the socket is full, read
 * what the server sends into the input buffer so that it never blocks on
 * us.  A timeout after a partial write ends the connection.
 */
static int
client_write(struct loom_client *c, const char *buf, size_t len, int64_t deadline)
{
	size_t	off = 0;
	ssize_t	n;
	int	revents;

	while (off < len) {
		n = client_send_some(c, buf + off, len - off);
		if (n > 0) {
			off += n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
			if (errno == EPIPE || errno == ECONNRESET) {
				/* Keep what it said before closing (a busy line). */
				while (!c->eof && client_read_some(c) == 1)
					;
				return client_die(c, ECONNRESET,
				    "connection closed by server");
			}
			return client_die(c, errno, "write: %s", strerror(errno));
		}
		revents = client_poll(c, c->tls_events | (c->eof ? 0 : POLLIN),
		    deadline);
		if (revents == -1) {
			if (errno == ETIMEDOUT && off > 0) {
				return client_die(c, ETIMEDOUT, "timed out in the "
				    "middle of sending a request");
			}
			return -1;
		}
		if ((revents & (POLLIN | POLLHUP | POLLERR)) && !c->eof &&
		    client_read_some(c) == -1)
			return -1;
	}
	return 0;
}

/* The request as one line, with id set on it when it had none. */
static int
client_encode(struct loom_client *c, json_t *request, char **line, size_t *len,
    int *fresh)
{
	json_t	*id;
	char	*s, *p;
	size_t	 n;

	*fresh = 0;
	if (!json_is_object(request))
		return client_fail(c, EINVAL, "a request must be a JSON object");
	id = json_object_get(request, "id");
	if (id == NULL) {
		if ((id = json_integer(c->next_id)) == NULL ||
		    json_object_set_new(request, "id", id) == -1)
			return client_fail(c, ENOMEM, "out of memory");
		c->next_id++;
		*fresh = 1;
	} else if (json_is_integer(id) && json_integer_value(id) >= c->next_id &&
	    json_integer_value(id) < INT64_MAX)
		c->next_id = json_integer_value(id) + 1;

	if ((s = json_dumps(request, JSON_COMPACT)) == NULL)
		return client_fail(c, ENOMEM, "cannot encode the request");
	n = strlen(s);
	if ((p = realloc(s, n + 2)) == NULL) {
		free(s);
		return client_fail(c, ENOMEM, "out of memory");
	}
	p[n++] = '\n';
	p[n] = '\0';
	*line = p;
	*len = n;
	return 0;
}

static int
client_send(struct loom_client *c, json_t *request, int64_t deadline,
    int *fresh)
{
	char	*line;
	size_t	 len;
	int	 rc;

	if (c->dead)
		return client_dead(c);
	if (client_encode(c, request, &line, &len, fresh) == -1)
		return -1;
	rc = client_write(c, line, len, deadline);
	free(line);
	return rc;
}

int
loom_send(struct loom_client *c, json_t *request, double timeout)
{
	int	fresh;

	return client_send(c, request, client_deadline(timeout), &fresh);
}

int
loom_request(struct loom_client *c, json_t *request, json_t **response,
    double timeout)
{
	json_t	*id;
	int64_t	 deadline = client_deadline(timeout);
	int	 fresh, rc, saved;

	*response = NULL;
	rc = client_send(c, request, deadline, &fresh);
	saved = errno;
	id = json_incref(json_object_get(request, "id"));
	if (fresh) {
		/* The caller's object goes back the way it came. */
		json_object_del(request, "id");
	}
	if (rc == -1 && c->dead) {
		/*
		 * A server that hung up may have said why first (a busy line):
		 * look at what was read before it closed, then give up.
		 */
		rc = client_wait_for(c, client_match_response, id, response,
		    client_now_ns());
	} else if (rc == -1)
		errno = saved;
	else {
		rc = client_wait_for(c, client_match_response, id, response,
		    deadline);
		if (rc == -1 && errno == ETIMEDOUT && fresh)
			client_abandon(c, json_integer_value(id));
	}
	saved = errno;
	json_decref(id);
	errno = saved;
	return rc;
}

int
loom_receive(struct loom_client *c, json_t **msg, double timeout)
{
	return client_wait_for(c, client_match_any, NULL, msg,
	    client_deadline(timeout));
}

int
loom_wait_response(struct loom_client *c, json_t *id, json_t **response,
    double timeout)
{
	return client_wait_for(c, client_match_response, id, response,
	    client_deadline(timeout));
}

int
loom_next_event(struct loom_client *c, json_t **event, double timeout)
{
	return client_wait_for(c, client_match_event, NULL, event,
	    client_deadline(timeout));
}

int
loom_pending(struct loom_client *c)
{
	json_t	*msg;
	int	 r;

	/* What TLS holds already would not make the socket readable. */
	while (c->tls != NULL && !c->dead && !c->eof &&
	    client_tls_pending(c->tls) && client_read_some(c) == 1)
		;
	/* Parse what is buffered so a blank line does not count. */
	while ((r = client_parse_line(c, &msg)) == 1) {
		if (client_abandoned(c, msg))
			json_decref(msg);
		else if (client_enqueue(c, msg) == -1)
			break;
	}
	return (!TAILQ_EMPTY(&c->queue) || c->dead || c->eof);
}

int
loom_fd(struct loom_client *c)
{
	return c->fd;
}

const char *
loom_error(struct loom_client *c)
{
	return c->error;
}

void
loom_close(struct loom_client *c)
{
	struct client_msg	*m;

	if (c == NULL)
		return;
	while ((m = TAILQ_FIRST(&c->queue)) != NULL) {
		TAILQ_REMOVE(&c->queue, m, entry);
		json_decref(m->json);
		free(m);
	}
	client_tls_close(c->tls);
	close(c->fd);
	free(c->abandoned);
	free(c->in);
	free(c);
}

void
client_set_tls(struct loom_client *c, struct client_tls *t)
{
	c->tls = t;
}

struct loom_client *
client_new(int fd)
{
	struct loom_client	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->fd = fd;
	c->next_id = 1;
	TAILQ_INIT(&c->queue);
	return c;
}
