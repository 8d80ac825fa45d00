/*
 * libloomclient against a scripted fake server: a thread that accepts one
 * connection on a Unix socket in a private directory and plays a script.
 * The script runs on its own thread, so it records failures instead of
 * asserting; the test checks them after joining it.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "loom/client.h"

#define BIG_LINE	(3 * 1024 * 1024)

struct fake;
typedef void (*fake_script)(struct fake *);

struct fake {
	char		 dir[32];
	char		 path[64];
	int		 lfd;
	int		 fd;		/* the accepted connection */
	pthread_t	 thread;
	fake_script	 script;
	sem_t		 closed;	/* posted by scripts that hang up */

	char		*in;		/* the server's read buffer */
	size_t		 len;
	size_t		 cap;

	int		 failed;
	char		 why[256];
};

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void __attribute__((format(printf, 2, 3)))
fake_fail(struct fake *f, const char *fmt, ...)
{
	va_list	ap;

	if (f->failed)
		return;
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof(f->why), fmt, ap);
	va_end(ap);
	f->failed = 1;
}

/* The next request line as JSON; NULL at the end of the connection. */
static json_t *
srv_read(struct fake *f)
{
	json_error_t	 jerr;
	json_t		*j;
	char		*nl;
	ssize_t		 n;
	size_t		 linelen;

	for (;;) {
		if (f->len > 0 && (nl = memchr(f->in, '\n', f->len)) != NULL) {
			linelen = nl - f->in;
			j = json_loadb(f->in, linelen, 0, &jerr);
			if (j == NULL)
				fake_fail(f, "server got bad JSON: %s", jerr.text);
			memmove(f->in, nl + 1, f->len - linelen - 1);
			f->len -= linelen + 1;
			return j;
		}
		if (f->len == f->cap) {
			f->cap = f->cap == 0 ? 65536 : f->cap * 2;
			f->in = realloc(f->in, f->cap);
		}
		n = recv(f->fd, f->in + f->len, f->cap - f->len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		f->len += n;
	}
}

/* The id of the next request, as compact JSON text ("1", "\"abc\""). */
static char *
srv_read_id(struct fake *f)
{
	json_t	*req = srv_read(f);
	char	*id;

	if (req == NULL) {
		fake_fail(f, "server: no request");
		return strdup("null");
	}
	id = json_dumps(json_object_get(req, "id"), JSON_ENCODE_ANY | JSON_COMPACT);
	if (id == NULL) {
		fake_fail(f, "server: request without an id");
		id = strdup("null");
	}
	json_decref(req);
	return id;
}

static void
srv_write(struct fake *f, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = send(f->fd, buf, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			fake_fail(f, "server: write: %s", strerror(errno));
			return;
		}
		buf += n;
		len -= n;
	}
}

static void __attribute__((format(printf, 2, 3)))
srv_printf(struct fake *f, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	srv_write(f, s, n);
	free(s);
}

/* Hold the connection until the client closes it. */
static void
srv_wait_close(struct fake *f)
{
	json_t	*j;

	while ((j = srv_read(f)) != NULL)
		json_decref(j);
}

static void *
fake_main(void *arg)
{
	struct fake	*f = arg;
	sigset_t	 set;

	/* Signals a test raises are for the client's thread. */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((f->fd = accept(f->lfd, NULL, NULL)) == -1) {
		fake_fail(f, "accept: %s", strerror(errno));
		return NULL;
	}
	f->script(f);
	if (f->fd != -1)
		close(f->fd);
	return NULL;
}

static struct fake *
fake_start(fake_script script)
{
	struct fake		*f = calloc(1, sizeof(*f));
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/loomclientXXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/loomd.sock", f->dir);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_not_equal(f->lfd, -1);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	f->fd = -1;
	f->script = script;
	sem_init(&f->closed, 0, 0);
	if (script != NULL)
		assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
	return f;
}

static void
fake_finish(struct fake *f)
{
	if (f->script != NULL)
		pthread_join(f->thread, NULL);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	sem_destroy(&f->closed);
	free(f->in);
	if (f->failed)
		fail_msg("%s", f->why);
	free(f);
}

static struct loom_client *
fake_connect(struct fake *f)
{
	struct loom_client	*c;
	char			 err[256];

	c = loom_connect(f->path, err, sizeof(err));
	if (c == NULL)
		fail_msg("connect: %s", err);
	return c;
}

/* Wait until the script has hung up. */
static void
fake_wait_closed(struct fake *f)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 60;
	while (sem_timedwait(&f->closed, &ts) == -1) {
		if (errno != EINTR)
			fail_msg("the fake server did not hang up");
	}
}

static void
srv_hang_up(struct fake *f)
{
	close(f->fd);
	f->fd = -1;
	sem_post(&f->closed);
}

static json_t *
ping(void)
{
	return json_pack("{ss}", "op", "ping");
}

static void
assert_id(const json_t *msg, json_int_t id)
{
	assert_non_null(msg);
	assert_true(json_is_integer(json_object_get(msg, "id")));
	assert_int_equal(json_integer_value(json_object_get(msg, "id")), id);
}

static void
assert_event(const json_t *msg, const char *name)
{
	assert_non_null(msg);
	assert_null(json_object_get(msg, "ok"));
	assert_string_equal(json_string_value(json_object_get(msg, "event")), name);
}

/* --- a request and its answer --- */

static void
script_echo_ping(struct fake *f)
{
	json_t	*req = srv_read(f);
	char	*id;

	if (req == NULL || strcmp(json_string_value(json_object_get(req, "op")),
	    "ping") != 0)
		fake_fail(f, "expected a ping");
	id = json_dumps(json_object_get(req, "id"), JSON_ENCODE_ANY);
	srv_printf(f, "{\"id\":%s,\"ok\":true,\"version\":\"test\"}\n", id);
	free(id);
	json_decref(req);
	srv_wait_close(f);
}

static void
test_request_gets_its_response(void **state)
{
	struct fake		*f = fake_start(script_echo_ping);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = ping(), *resp;

	assert_int_equal(loom_request(c, req, &resp, 10), 0);
	assert_true(json_is_true(json_object_get(resp, "ok")));
	assert_string_equal(json_string_value(json_object_get(resp, "version")),
	    "test");
	/* The fresh id went on the wire, not into the caller's object. */
	assert_true(json_is_integer(json_object_get(resp, "id")));
	assert_null(json_object_get(req, "id"));
	assert_int_equal(loom_pending(c), 0);
	json_decref(resp);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

static void
test_caller_ids_are_used_and_fresh_ones_skip_them(void **state)
{
	struct fake		*f = fake_start(NULL);
	struct loom_client	*c = fake_connect(f);
	json_t			*a, *b;

	/* Nobody needs to answer: this only looks at what loom_send set. */
	a = json_pack("{ss sI}", "op", "ping", "id", (json_int_t)41);
	b = ping();
	assert_int_equal(loom_send(c, a, 10), 0);
	assert_int_equal(loom_send(c, b, 10), 0);
	assert_int_equal(json_integer_value(json_object_get(a, "id")), 41);
	assert_int_equal(json_integer_value(json_object_get(b, "id")), 42);
	json_decref(a);
	json_decref(b);
	loom_close(c);
	fake_finish(f);
}

static void
script_string_id(struct fake *f)
{
	char	*id = srv_read_id(f);

	if (strcmp(id, "\"abc\"") != 0)
		fake_fail(f, "expected the caller's id, got %s", id);
	srv_printf(f, "{\"id\":\"other\",\"ok\":true}\n{\"id\":%s,\"ok\":true}\n", id);
	free(id);
	srv_wait_close(f);
}

static void
test_a_caller_id_of_any_type_is_matched(void **state)
{
	struct fake		*f = fake_start(script_string_id);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = json_pack("{ss ss}", "op", "ping", "id", "abc");
	json_t			*resp;

	assert_int_equal(loom_request(c, req, &resp, 10), 0);
	assert_string_equal(json_string_value(json_object_get(resp, "id")), "abc");
	json_decref(resp);
	assert_int_equal(loom_receive(c, &resp, 0), 0);
	assert_string_equal(json_string_value(json_object_get(resp, "id")), "other");
	json_decref(resp);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

/* --- pipelining --- */

static void
script_three_reversed(struct fake *f)
{
	char	*id1 = srv_read_id(f), *id2 = srv_read_id(f), *id3 = srv_read_id(f);

	srv_printf(f, "{\"id\":%s,\"ok\":true,\"n\":3}\n", id3);
	srv_printf(f, "{\"id\":%s,\"ok\":true,\"n\":1}\n", id1);
	srv_printf(f, "{\"id\":%s,\"ok\":true,\"n\":2}\n", id2);
	free(id1);
	free(id2);
	free(id3);
	srv_wait_close(f);
}

static void
test_out_of_order_responses_are_matched_by_id(void **state)
{
	struct fake		*f = fake_start(script_three_reversed);
	struct loom_client	*c = fake_connect(f);
	json_t			*req[3], *resp;
	int			 i;

	for (i = 0; i < 3; i++) {
		req[i] = ping();
		assert_int_equal(loom_send(c, req[i], 10), 0);
	}
	assert_int_equal(loom_wait_response(c, json_object_get(req[1], "id"),
	    &resp, 10), 0);
	assert_int_equal(json_integer_value(json_object_get(resp, "n")), 2);
	json_decref(resp);
	/* The others stayed queued, in the order they came. */
	assert_int_not_equal(loom_pending(c), 0);
	assert_int_equal(loom_receive(c, &resp, 0), 0);
	assert_int_equal(json_integer_value(json_object_get(resp, "n")), 3);
	json_decref(resp);
	assert_int_equal(loom_wait_response(c, json_object_get(req[0], "id"),
	    &resp, 0), 0);
	assert_int_equal(json_integer_value(json_object_get(resp, "n")), 1);
	json_decref(resp);
	assert_int_equal(loom_pending(c), 0);
	for (i = 0; i < 3; i++)
		json_decref(req[i]);
	loom_close(c);
	fake_finish(f);
}

static void
script_second_answered_first(struct fake *f)
{
	char	*id1 = srv_read_id(f), *id2 = srv_read_id(f);

	srv_printf(f, "{\"id\":%s,\"ok\":true,\"n\":1}\n", id1);
	srv_printf(f, "{\"id\":%s,\"ok\":true,\"n\":2}\n", id2);
	free(id1);
	free(id2);
	srv_wait_close(f);
}

static void
test_request_queues_an_earlier_pipelined_answer(void **state)
{
	struct fake		*f = fake_start(script_second_answered_first);
	struct loom_client	*c = fake_connect(f);
	json_t			*first = ping(), *second = ping(), *resp;

	assert_int_equal(loom_send(c, first, 10), 0);
	assert_int_equal(loom_request(c, second, &resp, 10), 0);
	assert_int_equal(json_integer_value(json_object_get(resp, "n")), 2);
	json_decref(resp);
	/* Any response will do when the id is NULL. */
	assert_int_equal(loom_wait_response(c, NULL, &resp, 0), 0);
	assert_int_equal(json_integer_value(json_object_get(resp, "n")), 1);
	assert_true(json_equal(json_object_get(resp, "id"),
	    json_object_get(first, "id")));
	json_decref(resp);
	json_decref(first);
	json_decref(second);
	loom_close(c);
	fake_finish(f);
}

static void
script_events_around_answer(struct fake *f)
{
	char	*id = srv_read_id(f);

	srv_printf(f, "{\"event\":\"job\",\"job\":{\"id\":1,\"state\":\"running\"}}\n");
	srv_printf(f, "{\"event\":\"child\",\"id\":%s,\"index\":0}\n", id);
	srv_printf(f, "{\"id\":%s,\"ok\":true}\n", id);
	srv_printf(f, "{\"event\":\"job\",\"job\":{\"id\":1,\"state\":\"done\"}}\n");
	free(id);
	srv_wait_close(f);
}

static void
test_events_interleaved_with_answers_are_queued(void **state)
{
	struct fake		*f = fake_start(script_events_around_answer);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = ping(), *msg;

	assert_int_equal(loom_request(c, req, &msg, 10), 0);
	/* A child event carries the request's id but is not its answer. */
	assert_true(json_is_true(json_object_get(msg, "ok")));
	json_decref(msg);
	assert_int_equal(loom_next_event(c, &msg, 10), 0);
	assert_event(msg, "job");
	json_decref(msg);
	assert_int_equal(loom_next_event(c, &msg, 10), 0);
	assert_event(msg, "child");
	json_decref(msg);
	assert_int_equal(loom_next_event(c, &msg, 10), 0);
	assert_event(msg, "job");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(msg, "job"), "state")), "done");
	json_decref(msg);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

static void
script_event_then_answers(struct fake *f)
{
	char	*id1 = srv_read_id(f), *id2 = srv_read_id(f);

	srv_printf(f, "{\"event\":\"job\",\"n\":1}\n");
	srv_printf(f, "{\"id\":%s,\"ok\":true}\n", id2);
	srv_printf(f, "{\"event\":\"job\",\"n\":2}\n");
	srv_printf(f, "{\"id\":%s,\"ok\":true}\n", id1);
	free(id1);
	free(id2);
	srv_wait_close(f);
}

static void
test_next_event_queues_answers(void **state)
{
	struct fake		*f = fake_start(script_event_then_answers);
	struct loom_client	*c = fake_connect(f);
	json_t			*a = ping(), *b = ping(), *msg;

	assert_int_equal(loom_send(c, a, 10), 0);
	assert_int_equal(loom_send(c, b, 10), 0);
	assert_int_equal(loom_next_event(c, &msg, 10), 0);
	assert_int_equal(json_integer_value(json_object_get(msg, "n")), 1);
	json_decref(msg);
	assert_int_equal(loom_next_event(c, &msg, 10), 0);
	assert_int_equal(json_integer_value(json_object_get(msg, "n")), 2);
	json_decref(msg);
	/* The answer that came between the events was kept... */
	assert_int_equal(loom_receive(c, &msg, 0), 0);
	assert_true(json_equal(json_object_get(msg, "id"), json_object_get(b, "id")));
	json_decref(msg);
	/* ...and the other one may still be on its way. */
	assert_int_equal(loom_receive(c, &msg, 10), 0);
	assert_true(json_equal(json_object_get(msg, "id"), json_object_get(a, "id")));
	json_decref(msg);
	json_decref(a);
	json_decref(b);
	loom_close(c);
	fake_finish(f);
}

/* --- framing --- */

static void
script_byte_by_byte(struct fake *f)
{
	char		*id = srv_read_id(f), *line;
	struct timespec	 pause = { 0, 200 * 1000 };
	int		 n, i;

	n = asprintf(&line, "{\"event\":\"tick\"}\n{\"id\":%s,\"ok\":true,"
	    "\"text\":\"split into many writes\"}\n", id);
	for (i = 0; i < n; i++) {
		srv_write(f, line + i, 1);
		nanosleep(&pause, NULL);
	}
	free(line);
	free(id);
	srv_wait_close(f);
}

static void
test_a_response_split_across_many_writes(void **state)
{
	struct fake		*f = fake_start(script_byte_by_byte);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = ping(), *resp;

	assert_int_equal(loom_request(c, req, &resp, 30), 0);
	assert_string_equal(json_string_value(json_object_get(resp, "text")),
	    "split into many writes");
	json_decref(resp);
	assert_int_equal(loom_next_event(c, &resp, 0), 0);
	assert_event(resp, "tick");
	json_decref(resp);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

static void
script_many_lines_at_once(struct fake *f)
{
	char	*id = srv_read_id(f), *buf, *p;
	size_t	 size = 1001 * 64;
	int	 i;

	p = buf = malloc(size);
	for (i = 0; i < 1000; i++)
		p += sprintf(p, "{\"event\":\"job\",\"n\":%d}\n", i);
	p += sprintf(p, "{\"id\":%s,\"ok\":true}\n", id);
	srv_write(f, buf, p - buf);
	free(buf);
	free(id);
	srv_wait_close(f);
}

static void
test_many_lines_in_one_write(void **state)
{
	struct fake		*f = fake_start(script_many_lines_at_once);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = ping(), *msg;
	int			 i;

	assert_int_equal(loom_request(c, req, &msg, 10), 0);
	assert_true(json_is_true(json_object_get(msg, "ok")));
	json_decref(msg);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(loom_next_event(c, &msg, 0), 0);
		assert_int_equal(json_integer_value(json_object_get(msg, "n")), i);
		json_decref(msg);
	}
	assert_int_equal(loom_pending(c), 0);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

static void
script_crlf_and_blanks(struct fake *f)
{
	char	*id = srv_read_id(f);

	srv_printf(f, "\r\n\n  \t\n{\"event\":\"job\"}\r\n\r\n{\"id\":%s,"
	    "\"ok\":true}\r\n\n", id);
	free(id);
	srv_wait_close(f);
}

static void
test_crlf_and_blank_lines_are_accepted(void **state)
{
	struct fake		*f = fake_start(script_crlf_and_blanks);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = ping(), *msg;

	assert_int_equal(loom_request(c, req, &msg, 10), 0);
	assert_true(json_is_true(json_object_get(msg, "ok")));
	json_decref(msg);
	assert_int_equal(loom_next_event(c, &msg, 0), 0);
	assert_event(msg, "job");
	json_decref(msg);
	/* Trailing blank lines are no message. */
	assert_int_equal(loom_pending(c), 0);
	assert_int_equal(loom_receive(c, &msg, 0), -1);
	assert_int_equal(errno, ETIMEDOUT);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

static void
script_event_then_garbage(struct fake *f)
{
	free(srv_read_id(f));
	srv_printf(f, "{\"event\":\"job\"}\nHTTP/1.1 400 Bad Request\n{\"id\":1,\"ok\":true}\n");
	srv_wait_close(f);
}

static void
test_a_line_that_is_not_json_is_a_protocol_error(void **state)
{
	struct fake		*f = fake_start(script_event_then_garbage);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = ping(), *msg;

	assert_int_equal(loom_request(c, req, &msg, 10), -1);
	assert_int_equal(errno, EPROTO);
	assert_null(msg);
	assert_non_null(strstr(loom_error(c), "protocol error"));
	assert_non_null(strstr(loom_error(c), "HTTP/1.1 400"));
	/* What came before it is still there; then the same error again. */
	assert_int_equal(loom_next_event(c, &msg, 0), 0);
	assert_event(msg, "job");
	json_decref(msg);
	assert_int_equal(loom_receive(c, &msg, 10), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(loom_send(c, req, 10), -1);
	assert_int_equal(errno, EPROTO);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

static void
script_array_line(struct fake *f)
{
	free(srv_read_id(f));
	srv_printf(f, "[1,2,3]\n");
	srv_wait_close(f);
}

static void
test_a_line_that_is_not_an_object_is_a_protocol_error(void **state)
{
	struct fake		*f = fake_start(script_array_line);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = ping(), *msg;

	assert_int_equal(loom_request(c, req, &msg, 10), -1);
	assert_int_equal(errno, EPROTO);
	assert_non_null(strstr(loom_error(c), "not a JSON object"));
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

static void
script_half_line_then_close(struct fake *f)
{
	char	*id = srv_read_id(f);

	srv_printf(f, "{\"id\":%s,\"ok\":tr", id);
	free(id);
}

static void
test_server_closing_mid_answer_is_an_error_not_a_hang(void **state)
{
	struct fake		*f = fake_start(script_half_line_then_close);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = ping(), *msg;

	assert_int_equal(loom_request(c, req, &msg, -1), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_non_null(strstr(loom_error(c), "middle of a line"));
	assert_int_not_equal(loom_pending(c), 0);
	assert_int_equal(loom_receive(c, &msg, -1), -1);
	assert_int_equal(errno, ECONNRESET);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

static void
script_read_then_close(struct fake *f)
{
	free(srv_read_id(f));
}

static void
test_server_closing_before_answering_is_an_error(void **state)
{
	struct fake		*f = fake_start(script_read_then_close);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = ping(), *msg;

	assert_int_equal(loom_request(c, req, &msg, -1), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_string_equal(loom_error(c), "connection closed by server");
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

static void
script_hang_up_at_once(struct fake *f)
{
	srv_hang_up(f);
}

static void
test_sending_to_a_closed_server_fails_without_sigpipe(void **state)
{
	struct fake		*f = fake_start(script_hang_up_at_once);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = ping(), *msg;

	fake_wait_closed(f);
	/* SIGPIPE would kill the test here. */
	assert_int_equal(loom_request(c, req, &msg, 10), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(loom_send(c, req, 10), -1);
	assert_int_equal(errno, ECONNRESET);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

static void
script_busy_then_close(struct fake *f)
{
	srv_printf(f, "{\"ok\":false,\"error\":{\"code\":\"busy\","
	    "\"message\":\"too many connections\"}}\n");
	srv_hang_up(f);
}

static void
test_a_busy_line_before_closing_is_the_answer(void **state)
{
	struct fake		*f = fake_start(script_busy_then_close);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = ping(), *msg;

	fake_wait_closed(f);
	assert_int_equal(loom_request(c, req, &msg, 10), 0);
	assert_true(json_is_false(json_object_get(msg, "ok")));
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(msg, "error"), "code")), "busy");
	json_decref(msg);
	assert_int_equal(loom_request(c, req, &msg, 10), -1);
	assert_int_equal(errno, ECONNRESET);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

/* --- timeouts --- */

static void
script_late_answer(struct fake *f)
{
	char	*id1 = srv_read_id(f), *id2 = srv_read_id(f);

	/* The first answer comes after its wait has given up. */
	srv_printf(f, "{\"id\":%s,\"ok\":true,\"n\":1}\n", id1);
	srv_printf(f, "{\"id\":%s,\"ok\":true,\"n\":2}\n", id2);
	free(id1);
	free(id2);
	srv_wait_close(f);
}

static void
test_a_timeout_fires_and_the_late_answer_is_dropped(void **state)
{
	struct fake		*f = fake_start(script_late_answer);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = ping(), *msg;
	double			 start = now(), took;

	assert_int_equal(loom_request(c, req, &msg, 0.2), -1);
	took = now() - start;
	assert_int_equal(errno, ETIMEDOUT);
	assert_null(msg);
	assert_true(took >= 0.2 && took < 5);
	assert_string_equal(loom_error(c), "timed out");

	/* Still usable; nobody can ask for the first answer, so it goes. */
	assert_int_equal(loom_request(c, req, &msg, 10), 0);
	assert_int_equal(json_integer_value(json_object_get(msg, "n")), 2);
	json_decref(msg);
	assert_int_equal(loom_pending(c), 0);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

static void
test_a_zero_timeout_does_not_block(void **state)
{
	struct fake		*f = fake_start(srv_wait_close);
	struct loom_client	*c = fake_connect(f);
	json_t			*msg;
	double			 start = now();

	assert_int_equal(loom_receive(c, &msg, 0), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(loom_next_event(c, &msg, 0.05), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_true(now() - start < 5);
	loom_close(c);
	fake_finish(f);
}

static void
test_a_caller_id_answered_late_stays_queued(void **state)
{
	struct fake		*f = fake_start(script_late_answer);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = json_pack("{ss si}", "op", "ping", "id", 7);
	json_t			*other = ping(), *msg;

	assert_int_equal(loom_request(c, req, &msg, 0.05), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(loom_request(c, other, &msg, 10), 0);
	json_decref(msg);
	assert_int_equal(loom_wait_response(c, json_object_get(req, "id"), &msg, 0), 0);
	assert_id(msg, 7);
	json_decref(msg);
	json_decref(req);
	json_decref(other);
	loom_close(c);
	fake_finish(f);
}

static void
script_slow_answer(struct fake *f)
{
	struct timespec	 pause = { 0, 200 * 1000 * 1000 };
	char		*id = srv_read_id(f);

	nanosleep(&pause, NULL);
	srv_printf(f, "{\"id\":%s,\"ok\":true}\n", id);
	free(id);
	srv_wait_close(f);
}

static volatile sig_atomic_t	alarms;

static void
on_alarm(int sig)
{
	alarms++;
}

static void
test_signals_do_not_cut_a_wait_short(void **state)
{
	struct fake		*f = fake_start(script_slow_answer);
	struct loom_client	*c = fake_connect(f);
	struct sigaction	 sa = { .sa_handler = on_alarm }, old;
	struct itimerval	 every = { { 0, 20000 }, { 0, 20000 } }, off = { 0 };
	json_t			*req = ping(), *msg;

	/* No SA_RESTART: poll() and friends fail with EINTR. */
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	alarms = 0;
	setitimer(ITIMER_REAL, &every, NULL);
	assert_int_equal(loom_request(c, req, &msg, 10), 0);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	assert_true(alarms > 0);
	assert_true(json_is_true(json_object_get(msg, "ok")));
	json_decref(msg);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

/* --- size --- */

static void
script_big_answer(struct fake *f)
{
	char	*id = srv_read_id(f), *buf;
	int	 n;

	buf = malloc(BIG_LINE + 64);
	n = sprintf(buf, "{\"id\":%s,\"ok\":true,\"data\":\"", id);
	memset(buf + n, 'x', BIG_LINE);
	n += BIG_LINE;
	n += sprintf(buf + n, "\"}\n");
	srv_write(f, buf, n);
	free(buf);
	free(id);
	/* And a small one after it. */
	id = srv_read_id(f);
	srv_printf(f, "{\"id\":%s,\"ok\":true,\"data\":\"small\"}\n", id);
	free(id);
	srv_wait_close(f);
}

static void
test_a_3_mib_answer_line(void **state)
{
	struct fake		*f = fake_start(script_big_answer);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = ping(), *msg;

	assert_int_equal(loom_request(c, req, &msg, 60), 0);
	assert_int_equal(json_string_length(json_object_get(msg, "data")), BIG_LINE);
	json_decref(msg);
	assert_int_equal(loom_request(c, req, &msg, 60), 0);
	assert_string_equal(json_string_value(json_object_get(msg, "data")), "small");
	json_decref(msg);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

static void
script_flood_then_read(struct fake *f)
{
	static const char	 line[] = "{\"event\":\"job\",\"pad\":\"................"
	    "................................................\"}\n";
	char			*id;
	size_t			 sent;

	/* More than both socket buffers hold, before reading anything. */
	for (sent = 0; sent < 2 * 1024 * 1024; sent += sizeof(line) - 1)
		srv_write(f, line, sizeof(line) - 1);
	id = srv_read_id(f);
	srv_printf(f, "{\"id\":%s,\"ok\":true}\n", id);
	free(id);
	srv_wait_close(f);
}

static void
test_a_big_send_and_a_flooding_server_do_not_deadlock(void **state)
{
	struct fake		*f = fake_start(script_flood_then_read);
	struct loom_client	*c = fake_connect(f);
	json_t			*req, *msg;
	char			*big = malloc(2 * 1024 * 1024 + 1);
	int			 events = 0;

	memset(big, 'y', 2 * 1024 * 1024);
	big[2 * 1024 * 1024] = '\0';
	req = json_pack("{ss ss}", "op", "echo", "data", big);
	free(big);
	assert_int_equal(loom_request(c, req, &msg, 60), 0);
	assert_true(json_is_true(json_object_get(msg, "ok")));
	json_decref(msg);
	while (loom_next_event(c, &msg, 0) == 0) {
		events++;
		json_decref(msg);
	}
	assert_true(events > 20000);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

/* --- connecting --- */

static void
test_connect_targets(void **state)
{
	struct fake		*f = fake_start(NULL);
	struct loom_client	*c;
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	struct sockaddr_in6	 sin6 = { .sin6_family = AF_INET6,
				     .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	socklen_t		 len = sizeof(sin);
	char			 target[256], err[256];
	int			 lfd;

	snprintf(target, sizeof(target), "unix:%s", f->path);
	assert_non_null(c = loom_connect(target, err, sizeof(err)));
	loom_close(c);
	assert_non_null(c = loom_connect_unix(f->path, err, sizeof(err)));
	assert_true(loom_fd(c) >= 0);
	loom_close(c);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 8), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &len), 0);
	snprintf(target, sizeof(target), "127.0.0.1:%d", ntohs(sin.sin_port));
	assert_non_null(c = loom_connect(target, err, sizeof(err)));
	loom_close(c);
	snprintf(target, sizeof(target), "tcp:localhost:%d", ntohs(sin.sin_port));
	assert_non_null(c = loom_connect(target, err, sizeof(err)));
	loom_close(c);
	close(lfd);

	/* IPv6 in brackets, where the machine has an IPv6 loopback. */
	if ((lfd = socket(AF_INET6, SOCK_STREAM, 0)) != -1 &&
	    bind(lfd, (struct sockaddr *)&sin6, sizeof(sin6)) == 0) {
		len = sizeof(sin6);
		assert_int_equal(listen(lfd, 8), 0);
		assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin6, &len), 0);
		snprintf(target, sizeof(target), "[::1]:%d", ntohs(sin6.sin6_port));
		assert_non_null(c = loom_connect(target, err, sizeof(err)));
		loom_close(c);
	}
	if (lfd != -1)
		close(lfd);

	snprintf(target, sizeof(target), "%s/nothing.sock", f->dir);
	assert_null(loom_connect(target, err, sizeof(err)));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, "nothing.sock"));
	fake_finish(f);
}

static void
test_bad_targets_are_refused_with_a_reason(void **state)
{
	static const struct {
		const char	*target;
		const char	*why;
	} cases[] = {
		{ "", "empty target" },
		{ "[::1:7433", "missing ']'" },
		{ "[::1]7433", "expected ':'" },
		{ "::1:7433", "brackets" },
		{ "localhost:", "missing port" },
		{ "unix:", "empty socket path" },
	};
	char	err[256];
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_null(loom_connect(cases[i].target, err, sizeof(err)));
		if (strstr(err, cases[i].why) == NULL)
			fail_msg("'%s': got '%s'", cases[i].target, err);
	}
	/* A NULL buffer is allowed. */
	assert_null(loom_connect("", NULL, 0));
}

static void
test_attach_takes_a_connected_socket_only(void **state)
{
	struct loom_client	*c;
	json_t			*req = ping(), *msg;
	char			 err[128];
	int			 sv[2], p[2];

	assert_int_equal(pipe(p), 0);
	assert_null(loom_attach(p[0], err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	close(p[0]);
	close(p[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_non_null(c = loom_attach(sv[0], err, sizeof(err)));
	assert_int_equal(write(sv[1], "{\"id\":1,\"ok\":true}\n", 19), 19);
	assert_int_equal(loom_request(c, req, &msg, 10), 0);
	assert_id(msg, 1);
	json_decref(msg);
	json_decref(req);
	loom_close(c);
	close(sv[1]);
}

static void
test_a_request_must_be_an_object(void **state)
{
	struct fake		*f = fake_start(srv_wait_close);
	struct loom_client	*c = fake_connect(f);
	json_t			*req = json_array(), *msg;

	assert_int_equal(loom_request(c, req, &msg, 10), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(loom_send(c, req, 10), -1);
	assert_int_equal(errno, EINVAL);
	/* Nothing was sent, so the connection is fine. */
	assert_int_equal(loom_pending(c), 0);
	json_decref(req);
	loom_close(c);
	fake_finish(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_gets_its_response),
		cmocka_unit_test(test_caller_ids_are_used_and_fresh_ones_skip_them),
		cmocka_unit_test(test_a_caller_id_of_any_type_is_matched),
		cmocka_unit_test(test_out_of_order_responses_are_matched_by_id),
		cmocka_unit_test(test_request_queues_an_earlier_pipelined_answer),
		cmocka_unit_test(test_events_interleaved_with_answers_are_queued),
		cmocka_unit_test(test_next_event_queues_answers),
		cmocka_unit_test(test_a_response_split_across_many_writes),
		cmocka_unit_test(test_many_lines_in_one_write),
		cmocka_unit_test(test_crlf_and_blank_lines_are_accepted),
		cmocka_unit_test(test_a_line_that_is_not_json_is_a_protocol_error),
		cmocka_unit_test(test_a_line_that_is_not_an_object_is_a_protocol_error),
		cmocka_unit_test(test_server_closing_mid_answer_is_an_error_not_a_hang),
		cmocka_unit_test(test_server_closing_before_answering_is_an_error),
		cmocka_unit_test(test_sending_to_a_closed_server_fails_without_sigpipe),
		cmocka_unit_test(test_a_busy_line_before_closing_is_the_answer),
		cmocka_unit_test(test_a_timeout_fires_and_the_late_answer_is_dropped),
		cmocka_unit_test(test_a_zero_timeout_does_not_block),
		cmocka_unit_test(test_a_caller_id_answered_late_stays_queued),
		cmocka_unit_test(test_signals_do_not_cut_a_wait_short),
		cmocka_unit_test(test_a_3_mib_answer_line),
		cmocka_unit_test(test_a_big_send_and_a_flooding_server_do_not_deadlock),
		cmocka_unit_test(test_connect_targets),
		cmocka_unit_test(test_bad_targets_are_refused_with_a_reason),
		cmocka_unit_test(test_attach_takes_a_connected_socket_only),
		cmocka_unit_test(test_a_request_must_be_an_object),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
