/*
 * libFuzzer target: the request reader.  An input is what one client sends
 * on one connection; it goes through a socketpair into a real connection
 * (net/conn.c, proto_handler) on a core started as loomd starts it: two
 * loops, the executor, every built-in type but http (which would reach out
 * of the process; its arguments are the job-spec target's).  This thread
 * plays the acceptor and the client: it hands the connection to a loop,
 * sends the input, then a ping of its own, and reads until that ping is
 * answered.  Whatever the input left running is then stopped as a shutdown
 * stops it (job_stop_all on every loop), and the connection closed.
 *
 * Checked besides the sanitizers:
 * - json_load_line() gives exactly json_loadb()'s answer for every line, as
 *   it promises (the value, or the error's text and position);
 * - every line loomd writes is a JSON object: a reply with a boolean "ok"
 *   (and an error code when it is false) or a push with an "event" name;
 * - the connection stays open through the input: the ping is answered.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "core/job.h"
#include "core/loomd.h"
#include "core/queue.h"
#include "jobs/types.h"
#include "net/conn.h"
#include "net/proto.h"
#include "runtime/jsonload.h"
#include "runtime/loop.h"
#include "runtime/util.h"

#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The built-in types but http. */
static const struct job_type *const fuzz_types[] = {
	&job_type_echo, &job_type_sleep, &job_type_sumsq, &job_type_digest,
	&job_type_pbkdf2, &job_type_gather, &job_type_group, &job_type_wait,
	&job_type_sequence, &job_type_wait_event, &job_type_exec,
};

static unsigned long	conversations;

static void
fuzz_init(void)
{
	static const char *const assignments[] = {
		"loops=2",
		"executor_threads=2",
		"result_ttl=0",		/* what finishes goes: no state piles up */
		"max_line_bytes=2048",	/* reached by inputs of ordinary size */
		"files_root=/nonexistent/loomd-fuzz",
		"queue.solo.concurrency=1",
		"queue.capped.max_pending=2",
		"limit.db.concurrency=2",
		NULL
	};

	signal(SIGPIPE, SIG_IGN);
	fuzz_daemon_start(fuzz_config(assignments));
	job_types_register(fuzz_types, nitems(fuzz_types));
}

/* json_load_line() against json_loadb(), with the flags loomd uses. */
static void
check_json_load_line(const char *line, size_t len, size_t flags)
{
	json_error_t	 e1, e2;
	json_t		*a = json_load_line(line, len, flags, &e1);
	json_t		*b = json_loadb(line, len, flags, &e2);

	if ((a == NULL) != (b == NULL) || (a != NULL && !json_equal(a, b)) ||
	    (a == NULL && (strcmp(e1.text, e2.text) != 0 || e1.line != e2.line ||
	    e1.column != e2.column || e1.position != e2.position))) {
		fprintf(stderr, "json_load_line differs from json_loadb on %.*s\n"
		    "json_load_line: %s (%d:%d, %d)\njson_loadb:     %s (%d:%d, %d)\n",
		    (int)len, line, a != NULL ? "a value" : e1.text, e1.line,
		    e1.column, e1.position, b != NULL ? "a value" : e2.text,
		    e2.line, e2.column, e2.position);
		abort();
	}
	json_decref(a);
	json_decref(b);
}

static void
check_lines(const char *data, size_t size)
{
	const char	*p = data, *end = data + size, *nl;
	size_t		 len;

	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		len = (size_t)(nl - p);
		if (len > 0 && p[len - 1] == '\r')
			len--;
		check_json_load_line(p, len, JSON_REJECT_DUPLICATES);
		check_json_load_line(p, len, 0);
	}
}

/* One line from loomd: a well-formed reply or push.  True for our ping's. */
static bool
check_reply(const char *line, size_t len, const char *sentinel)
{
	json_error_t	 jerr;
	json_t		*msg, *ok, *event, *id;
	bool		 ours;

	if ((msg = json_loadb(line, len, 0, &jerr)) == NULL ||
	    !json_is_object(msg)) {
		fprintf(stderr, "loomd wrote a line that is not a JSON object: "
		    "%.*s\n", (int)len, line);
		abort();
	}
	ok = json_object_get(msg, "ok");
	event = json_object_get(msg, "event");
	/* A reply has a boolean "ok" (the event ops' replies carry an "event"
	 * object too); a push has no "ok" and an "event" string. */
	if ((ok != NULL && !json_is_boolean(ok)) ||
	    (ok == NULL && !json_is_string(event)) ||
	    (json_is_false(ok) && !json_is_string(json_object_get(
	    json_object_get(msg, "error"), "code")))) {
		fprintf(stderr, "loomd wrote a malformed message: %.*s\n",
		    (int)len, line);
		abort();
	}
	id = json_object_get(msg, "id");
	ours = json_is_true(ok) && json_is_string(id) &&
	    strcmp(json_string_value(id), sentinel) == 0;
	json_decref(msg);
	return ours;
}

/* Send the input and our ping, read until the ping's answer. */
static void
converse(int fd, const char *data, size_t size)
{
	char		 sentinel[64], ping[128], *out, *in = NULL, *nl;
	size_t		 outlen, sent = 0, inlen = 0, incap = 0, used;
	struct pollfd	 pfd = { .fd = fd };
	ssize_t		 n;
	bool		 answered = false;

	snprintf(sentinel, sizeof(sentinel), "fuzz-sentinel-%lu", conversations);
	snprintf(ping, sizeof(ping), "\n{\"op\":\"ping\",\"id\":\"%s\"}\n", sentinel);
	outlen = size + strlen(ping);
	out = xmalloc(outlen);
	memcpy(out, data, size);
	memcpy(out + size, ping, strlen(ping));

	while (!answered) {
		pfd.events = POLLIN | (sent < outlen ? POLLOUT : 0);
		if (poll(&pfd, 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			abort();
		}
		if ((pfd.revents & POLLOUT) && sent < outlen) {
			if ((n = send(fd, out + sent, outlen - sent, MSG_NOSIGNAL)) > 0)
				sent += (size_t)n;
			else if (n == -1 && errno != EAGAIN && errno != EINTR)
				abort();	/* loomd closed the connection */
		}
		if (!(pfd.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (incap - inlen < 65536)
			in = xreallocarray(in, incap = incap * 2 + 65536, 1);
		if ((n = recv(fd, in + inlen, incap - inlen, 0)) == 0) {
			fprintf(stderr, "loomd closed the connection\n");
			abort();
		}
		if (n == -1) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			abort();
		}
		inlen += (size_t)n;
		for (used = 0; (nl = memchr(in + used, '\n', inlen - used)) != NULL;
		    used = (size_t)(nl - in) + 1) {
			if (check_reply(in + used, (size_t)(nl - in) - used, sentinel))
				answered = true;
		}
		memmove(in, in + used, inlen - used);
		inlen -= used;
	}
	free(out);
	free(in);
}

/* Each loop stops what it owns, as after a shutdown's grace. */
static pthread_mutex_t	reset_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	reset_cond = PTHREAD_COND_INITIALIZER;
static unsigned int	reset_done;

static void
reset_stopped(size_t stopped, void *arg)
{
	pthread_mutex_lock(&reset_lock);
	reset_done++;
	pthread_cond_signal(&reset_cond);
	pthread_mutex_unlock(&reset_lock);
}

static void
reset_loop(void *arg)
{
	job_stop_all(reset_stopped, NULL);
}

static void
reset(void)
{
	struct queue_info	 qi;
	unsigned int	 i;

	reset_done = 0;
	for (i = 0; i < loomd.nloops; i++) {
		if (loop_post(loomd.loops[i], reset_loop, NULL) == -1)
			abort();
	}
	pthread_mutex_lock(&reset_lock);
	while (reset_done < loomd.nloops)
		pthread_cond_wait(&reset_cond, &reset_lock);
	pthread_mutex_unlock(&reset_lock);
	/* The next input starts with the default queue running. */
	queue_set_paused("default", false, &qi);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool	started;
	int		sv[2];

	if (!started) {
		fuzz_init();
		started = true;
	}
	check_lines((const char *)data, size);

	/* Both ends non-blocking: loomd's, as accept4() gives it (a turn that
	 * took the last held line reads on, and must not block). */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1)
		abort();
	/* The acceptor's part (net/server.c): count it, hand it to a loop. */
	atomic_fetch_add(&conn_counts.current, 1);
	if (conn_handoff(loomd.loops[conversations % loomd.nloops], sv[0],
	    CONN_UNIX, NULL, &proto_handler) == -1)
		abort();
	converse(sv[1], (const char *)data, size);
	conversations++;
	reset();
	close(sv[1]);
	return 0;
}
