/*
 * loom-bench: load a real loomd and measure it.
 *
 *   loom-bench [-d LOOMD] [-s SOCKET] [-p PID] SCENARIO [options]
 *
 * Without -s, it starts its own loomd (the binary given with -d, default
 * ./loomd) on a private socket and stops it afterwards; with -s it loads a
 * running one (give -p for memory figures).  The client is one thread with
 * epoll over all its connections, so it takes little CPU from the daemon.
 *
 * Scenarios (each prints one "loom-bench scenario=..." line and a summary):
 *   throughput [-c CONNS] [-w INFLIGHT] [-t SECONDS]
 *       echo jobs with wait, CONNS connections x INFLIGHT requests in flight
 *   sleepers [-n JOBS] [-S SECONDS]
 *       JOBS pending sleep jobs: submit rate, daemon RSS per pending job, and
 *       timer lateness (finished_at - started_at - seconds) when they fire
 *   fanout [-n CHILDREN]
 *       one gather of CHILDREN echo jobs, with wait: time to the result
 *   limit [-n JOBS]
 *       JOBS echo jobs waiting on one limit of 1 behind a sleeping holder;
 *       when it ends, each release hands the limit on: time per release
 *   exec [-c CONNS] [-w INFLIGHT] [-t SECONDS]
 *       like throughput, with exec jobs running /bin/true (command "true")
 *   http [-c CONNS] [-w INFLIGHT] [-t SECONDS]
 *       like throughput, with http GETs of a small page from a server in
 *       this process (one thread, no keep-alive: a connection per request)
 */
#include "autoconf.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

static const char	*opt_loomd = "./loomd";
static const char	*opt_socket;
static pid_t		 daemon_pid;
static char		 tmpdir[64];

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "loom-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (daemon_pid > 0)
		kill(daemon_pid, SIGKILL);
	exit(1);
}

static int
connect_unix(const char *path)
{
	struct sockaddr_un	sun;
	int			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
daemon_spawn(char *const extra[])
{
	static char	sock[128];
	const char	*argv[32];
	int		argc = 0, i, fd;
	double		deadline;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/loombench.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		die("mkdtemp: %s", strerror(errno));
	snprintf(sock, sizeof(sock), "%s/loomd.sock", tmpdir);
	argv[argc++] = opt_loomd;
	argv[argc++] = "-c";
	argv[argc++] = "/dev/null";
	argv[argc++] = "-u";
	argv[argc++] = sock;
	argv[argc++] = "-o";
	argv[argc++] = "log_level=warning";
	for (i = 0; extra != NULL && extra[i] != NULL && argc < 30; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;
	if ((daemon_pid = fork()) == 0) {
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "loom-bench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	deadline = now() + 30;
	while ((fd = connect_unix(sock)) == -1) {
		if (now() > deadline || waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid)
			die("loomd did not start (is -d right?)");
		usleep(10000);
	}
	close(fd);
	opt_socket = sock;
}

static void
daemon_stop(void)
{
	char	cmd[128];

	if (daemon_pid <= 0)
		return;
	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
}

/* The daemon's resident memory in KiB, or 0 if unknown. */
static long
daemon_rss_kib(void)
{
	char	 path[64], line[256];
	long	 kib = 0;
	FILE	*fp;

	if (daemon_pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	}
	fclose(fp);
	return kib;
}

/* A connection: a read buffer and a count of answers owed. */
struct bconn {
	int	 fd;
	char	*buf;
	size_t	 len;
	size_t	 cap;
	long	 inflight;
};

static void
send_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			usleep(100);
			continue;
		}
		if (n <= 0)
			die("send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

/* Read what is there; call line() for each complete line. */
static void
read_lines(struct bconn *c, void (*line)(struct bconn *, char *, size_t, void *),
    void *arg)
{
	ssize_t	 n;
	size_t	 start = 0;
	char	*nl;

	if (c->cap - c->len < 65536) {
		c->cap = c->cap ? c->cap * 2 : 262144;
		if ((c->buf = realloc(c->buf, c->cap)) == NULL)
			die("out of memory");
	}
	n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (n == 0)
		die("loomd closed a connection");
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		die("recv: %s", strerror(errno));
	}
	c->len += (size_t)n;
	while ((nl = memchr(c->buf + start, '\n', c->len - start)) != NULL) {
		line(c, c->buf + start, (size_t)(nl - (c->buf + start)), arg);
		start = (size_t)(nl - c->buf) + 1;
	}
	memmove(c->buf, c->buf + start, c->len - start);
	c->len -= start;
}

/* throughput ------------------------------------------------------------ */

struct tput {
	long		 answered;
	long		 failed;
	bool		 refill;
	const char	*line;		/* the request, ending in \n */
	size_t		 len;
};

static const char echo_line[] =
    "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"echo\",\"ttl\":0,"
    "\"args\":{\"value\":1}}}\n";

static void
tput_line(struct bconn *c, char *line, size_t len, void *arg)
{
	struct tput	*t = arg;

	c->inflight--;
	t->answered++;
	if (memmem(line, len, "\"state\":\"done\"", 14) == NULL)
		t->failed++;
	if (t->refill) {
		send_all(c->fd, t->line, t->len);
		c->inflight++;
	}
}

/* CONNS connections each keep INFLIGHT copies of `line` in flight. */
static void
bench_throughput(const char *scenario, const char *what, const char *line,
    int conns, int inflight, double seconds)
{
	struct bconn		*c = calloc(conns, sizeof(*c));
	struct epoll_event	 ev, evs[64];
	struct tput		 t = { .refill = true, .line = line, .len = strlen(line) };
	double			 start = 0, end, warm = 1.0, t0;
	long			 counted = 0;
	int			 ep = epoll_create1(EPOLL_CLOEXEC), i, j, n;
	char			*burst;

	burst = malloc(inflight * t.len);
	for (j = 0; j < inflight; j++)
		memcpy(burst + j * t.len, line, t.len);
	for (i = 0; i < conns; i++) {
		if ((c[i].fd = connect_unix(opt_socket)) == -1)
			die("connect %s: %s", opt_socket, strerror(errno));
		fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
		ev.events = EPOLLIN;
		ev.data.ptr = &c[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
		send_all(c[i].fd, burst, inflight * t.len);
		c[i].inflight = inflight;
	}
	t0 = now();
	end = t0 + warm + seconds;
	while (now() < end) {
		if (start == 0 && now() >= t0 + warm) {
			start = now();
			counted = t.answered;
		}
		n = epoll_wait(ep, evs, 64, 100);
		for (i = 0; i < n; i++)
			read_lines(evs[i].data.ptr, tput_line, &t);
	}
	end = now();
	counted = t.answered - counted;
	/* Drain what is still in flight so the daemon ends idle. */
	t.refill = false;
	for (;;) {
		long	owed = 0;

		for (i = 0; i < conns; i++)
			owed += c[i].inflight;
		if (owed == 0)
			break;
		n = epoll_wait(ep, evs, 64, 1000);
		for (i = 0; i < n; i++)
			read_lines(evs[i].data.ptr, tput_line, &t);
	}
	printf("loom-bench scenario=%s conns=%d inflight=%d seconds=%.1f "
	    "jobs=%ld jobs_per_s=%.0f failed=%ld\n", scenario, conns, inflight,
	    end - start, counted, counted / (end - start), t.failed);
	printf("  %s with wait, %d connections x %d in flight: %.0f jobs/s "
	    "(%ld jobs in %.1f s, %ld not done)\n", what, conns, inflight,
	    counted / (end - start), counted, end - start, t.failed);
	for (i = 0; i < conns; i++) {
		close(c[i].fd);
		free(c[i].buf);
	}
	free(c);
	free(burst);
	close(ep);
}

/* sleepers -------------------------------------------------------------- */

#define SLEEP_BATCH	1000

struct sleepers {
	long	 accepted;
	long	 finished;
	double	*late;
	long	 nlate;
	double	 seconds;
	bool	 waiting;	/* answers are final views, not tickets */
};

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
sleepers_line(struct bconn *c, char *line, size_t len, void *arg)
{
	struct sleepers	*s = arg;
	json_t		*r, *jobs, *v;
	json_error_t	 err;
	size_t		 i;

	c->inflight--;
	if ((r = json_loadb(line, len, 0, &err)) == NULL)
		die("bad reply: %s", err.text);
	if (!json_is_true(json_object_get(r, "ok")))
		die("submit failed: %.*s", (int)(len > 300 ? 300 : len), line);
	jobs = json_object_get(r, "jobs");
	json_array_foreach(jobs, i, v) {
		double	started = json_number_value(json_object_get(v, "started_at"));
		double	finished = json_number_value(json_object_get(v, "finished_at"));

		s->late[s->nlate++] = finished - started - s->seconds;
	}
	s->finished += (long)json_array_size(jobs);
	json_decref(r);
}

static void
bench_sleepers(long njobs, double seconds)
{
	struct sleepers		 s = { .seconds = seconds };
	struct bconn		 c = { 0 };
	struct epoll_event	 ev;
	long			 rss0, rss1, sent = 0, i, n;
	double			 t0, t1, deadline;
	size_t			 linecap = 128 + SLEEP_BATCH * 64;
	char			*line = malloc(linecap), *p;

	s.late = calloc(njobs, sizeof(*s.late));
	if ((c.fd = connect_unix(opt_socket)) == -1)
		die("connect %s: %s", opt_socket, strerror(errno));
	rss0 = daemon_rss_kib();
	/* Batches with wait: each answer is the batch's final views, after they
	 * have all fired; until then every job is pending in the daemon. */
	t0 = now();
	while (sent < njobs) {
		n = njobs - sent < SLEEP_BATCH ? njobs - sent : SLEEP_BATCH;
		p = line + sprintf(line, "{\"op\":\"submit\",\"wait\":true,\"jobs\":[");
		for (i = 0; i < n; i++)
			p += sprintf(p, "%s{\"type\":\"sleep\",\"ttl\":0,\"args\":"
			    "{\"seconds\":%g}}", i ? "," : "", seconds);
		p += sprintf(p, "]}\n");
		send_all(c.fd, line, (size_t)(p - line));
		c.inflight++;
		sent += n;
	}
	/* All submitted; wait until the daemon has taken them all (stats). */
	{
		const char	stats[] = "{\"op\":\"stats\",\"id\":\"s\"}\n";
		char		buf[65536];
		ssize_t		got;
		long		pending = 0;

		while (pending < njobs) {
			int	fd = connect_unix(opt_socket);

			send_all(fd, stats, sizeof(stats) - 1);
			got = recv(fd, buf, sizeof(buf) - 1, 0);
			close(fd);
			if (got <= 0)
				die("stats failed");
			buf[got] = '\0';
			p = strstr(buf, "\"running\":");
			pending = p != NULL ? strtol(p + 10, NULL, 10) : 0;
			if (now() - t0 > seconds)
				die("submitting %ld jobs took longer than they sleep (%gs); "
				    "use a larger -S", njobs, seconds);
			if (pending < njobs)
				usleep(10000);
		}
	}
	t1 = now();
	rss1 = daemon_rss_kib();

	fcntl(c.fd, F_SETFL, O_NONBLOCK);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.ptr = &c;
	epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
	deadline = now() + seconds + 120;
	while (s.finished < njobs) {
		if (now() > deadline)
			die("the sleepers did not finish");
		if (epoll_wait(ep, &ev, 1, 1000) == 1)
			read_lines(&c, sleepers_line, &s);
	}
	qsort(s.late, s.nlate, sizeof(double), cmp_double);
	printf("loom-bench scenario=sleepers jobs=%ld submit_per_s=%.0f "
	    "rss_per_job_bytes=%.0f late_p50_ms=%.3f late_p99_ms=%.3f\n", njobs,
	    njobs / (t1 - t0), rss1 > 0 ? (rss1 - rss0) * 1024.0 / njobs : -1.0,
	    s.late[s.nlate / 2] * 1e3, s.late[(long)(s.nlate * 0.99)] * 1e3);
	printf("  %ld pending sleep jobs: submitted at %.0f jobs/s, %.0f bytes of "
	    "daemon RSS each, timers late by p50 %.3f ms, p99 %.3f ms\n", njobs,
	    njobs / (t1 - t0), rss1 > 0 ? (rss1 - rss0) * 1024.0 / njobs : -1.0,
	    s.late[s.nlate / 2] * 1e3, s.late[(long)(s.nlate * 0.99)] * 1e3);
	close(ep);
	close(c.fd);
	free(c.buf);
	free(s.late);
	free(line);
}

/* One request, one answer, on a fresh connection. */
static json_t *
call(const char *fmt, ...)
{
	struct bconn	 c = { 0 };
	json_t		*r = NULL;
	json_error_t	 err;
	char		*line, *nl;
	va_list		 ap;
	int		 n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0 || (c.fd = connect_unix(opt_socket)) == -1)
		die("cannot reach loomd");
	send_all(c.fd, line, (size_t)n);
	send_all(c.fd, "\n", 1);
	free(line);
	for (;;) {
		if (c.len > 0 && (nl = memchr(c.buf, '\n', c.len)) != NULL) {
			if ((r = json_loadb(c.buf, (size_t)(nl - c.buf), 0, &err)) == NULL)
				die("bad reply: %s", err.text);
			break;
		}
		if (c.cap - c.len < 65536) {
			c.cap = c.cap ? c.cap * 2 : 1 << 20;
			c.buf = realloc(c.buf, c.cap);
		}
		if ((n = (int)recv(c.fd, c.buf + c.len, c.cap - c.len, 0)) <= 0)
			die("loomd closed the connection");
		c.len += (size_t)n;
	}
	close(c.fd);
	free(c.buf);
	if (!json_is_true(json_object_get(r, "ok")))
		die("request failed: %s", json_dumps(r, JSON_COMPACT));
	return r;
}

static double
view_time(json_t *r, const char *key)
{
	return json_number_value(json_object_get(json_object_get(r, "job"), key));
}

/* fanout ------------------------------------------------------------------ */

static void
bench_fanout(long n)
{
	double	 best = 1e9, took, t0;
	char	*spec = malloc(64 + n * 48), *p;
	json_t	*r;
	long	 i;
	int	 round;

	p = spec + sprintf(spec, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"gather\",\"ttl\":0,\"args\":{\"jobs\":[");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s{\"type\":\"echo\",\"ttl\":0}", i ? "," : "");
	sprintf(p, "]}}}");
	for (round = 0; round < 5; round++) {
		t0 = now();
		r = call("%s", spec);
		took = now() - t0;
		if (json_array_size(json_object_get(json_object_get(json_object_get(r,
		    "job"), "result"), "results")) != (size_t)n)
			die("the gather did not return %ld results", n);
		json_decref(r);
		if (took < best)
			best = took;
	}
	printf("loom-bench scenario=fanout children=%ld seconds=%.4f\n", n, best);
	printf("  one gather of %ld echo children, submit to result: %.1f ms "
	    "(best of 5)\n", n, best * 1e3);
	free(spec);
}

/* limit ------------------------------------------------------------------- */

static void
bench_limit(long n)
{
	json_t		*r;
	json_int_t	 holder, last = 0;
	double		 released, finished, hold = 2 + n / 50000.0;
	char		*line = malloc(128 + SLEEP_BATCH * 64), *p;
	long		 sent = 0, i, k;

	r = call("{\"op\":\"submit\",\"job\":{\"type\":\"sleep\",\"limits\":"
	    "[\"bench\"],\"args\":{\"seconds\":%g}}}", hold);
	holder = json_integer_value(json_object_get(json_object_get(r, "job"), "id"));
	json_decref(r);
	while (sent < n) {
		k = n - sent < SLEEP_BATCH ? n - sent : SLEEP_BATCH;
		p = line + sprintf(line, "{\"op\":\"submit\",\"jobs\":[");
		for (i = 0; i < k; i++)
			p += sprintf(p, "%s{\"type\":\"echo\",\"limits\":[\"bench\"]}",
			    i ? "," : "");
		sprintf(p, "]}");
		r = call("%s", line);
		last = json_integer_value(json_object_get(json_array_get(
		    json_object_get(r, "jobs"), k - 1), "id"));
		json_decref(r);
		sent += k;
	}
	r = call("{\"op\":\"result\",\"wait\":true,\"job\":%lld}", (long long)holder);
	released = view_time(r, "finished_at");
	json_decref(r);
	if (released == 0)
		die("the holder did not finish: submitting took longer than it held (%gs)",
		    hold);
	/* Waiters are granted by priority, then in submit order: the last is last. */
	r = call("{\"op\":\"result\",\"wait\":true,\"job\":%lld}", (long long)last);
	finished = view_time(r, "finished_at");
	json_decref(r);
	printf("loom-bench scenario=limit waiters=%ld us_per_release=%.3f\n", n,
	    (finished - released) / n * 1e6);
	printf("  %ld jobs waiting on one limit of 1: %.2f us per release (%.0f "
	    "hand-overs/s)\n", n, (finished - released) / n * 1e6,
	    n / (finished - released));
	free(line);
/* http: a minimal HTTP server ------------------------------------------- */

/*
 * One epoll thread: accept, read the request head, answer a small page with
 * Connection: close, close.  Just enough to load loomd's client side.
 */
static const char http_answer[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
    "Connection: close\r\n\r\nhello, loomd\n";

static void *
http_serve(void *arg)
{
	int			 lfd = *(int *)arg, ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event	 ev, evs[64];
	char			 buf[4096];
	ssize_t			 n;
	int			 i, k, fd;

	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		k = epoll_wait(ep, evs, 64, -1);
		for (i = 0; i < k; i++) {
			if (evs[i].data.fd == lfd) {
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
				    SOCK_CLOEXEC)) != -1) {
					ev.events = EPOLLIN;
					ev.data.fd = fd;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
				continue;
			}
			/* Requests are small: one read holds the head. */
			fd = evs[i].data.fd;
			n = recv(fd, buf, sizeof(buf), 0);
			if (n > 0 && memmem(buf, (size_t)n, "\r\n\r\n", 4) == NULL)
				continue;
			if (n > 0)
				(void)!send(fd, http_answer, sizeof(http_answer) - 1,
				    MSG_NOSIGNAL);
			close(fd);
		}
	}
	return NULL;
}

/* Start the server on 127.0.0.1 and return its port. */
static int
http_server_start(void)
{
	static int		 lfd;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	pthread_t		 t;
	int			 one = 1;

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 4096) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &len) == -1)
		die("http server: %s", strerror(errno));
	if (pthread_create(&t, NULL, http_serve, &lfd) != 0)
		die("pthread_create");
	pthread_detach(t);
	return ntohs(sin.sin_port);
}

static void
usage(void)
{
	fprintf(stderr, "usage: loom-bench [-d LOOMD] [-s SOCKET] [-p PID] throughput "
	    "[-c CONNS] [-w INFLIGHT] [-t SECONDS]\n"
	    "       loom-bench [-d LOOMD] [-s SOCKET] [-p PID] sleepers [-n JOBS] "
	    "[-S SECONDS]\n"
	    "       loom-bench [-d LOOMD] fanout [-n CHILDREN]\n"
	    "       loom-bench [-d LOOMD] limit [-n JOBS]\n"
	    "       loom-bench [-d LOOMD] [-s SOCKET] [-p PID] exec|http "
	    "[-c CONNS] [-w INFLIGHT] [-t SECONDS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char	*scenario;
	int		 ch, conns = 4, inflight = 64;
	long		 njobs = 100000;
	double		 seconds = 5, sleep_s = 0;

	while ((ch = getopt(argc, argv, "+d:s:p:")) != -1) {
		switch (ch) {
		case 'd':
			opt_loomd = optarg;
			break;
		case 's':
			opt_socket = optarg;
			break;
		case 'p':
			daemon_pid = (pid_t)atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	scenario = argv[optind];
	optind++;
	while ((ch = getopt(argc, argv, "c:w:t:n:S:")) != -1) {
		switch (ch) {
		case 'c':
			conns = atoi(optarg);
			break;
		case 'w':
			inflight = atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'n':
			njobs = atol(optarg);
			break;
		case 'S':
			sleep_s = atof(optarg);
			break;
		default:
			usage();
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(scenario, "throughput") == 0) {
		if (opt_socket == NULL)
			daemon_spawn(NULL);
		bench_throughput(scenario, "echo", echo_line, conns, inflight, seconds);
	} else if (strcmp(scenario, "exec") == 0) {
		char	*extra[] = { "-o", "command.true.argv=/bin/true", NULL };

		/* With -s, the daemon needs [command.true] argv = /bin/true. */
		if (opt_socket == NULL)
			daemon_spawn(extra);
		bench_throughput(scenario, "exec /bin/true", "{\"op\":\"submit\","
		    "\"wait\":true,\"job\":{\"type\":\"exec\",\"ttl\":0,\"args\":"
		    "{\"command\":\"true\"}}}\n", conns, inflight, seconds);
	} else if (strcmp(scenario, "http") == 0) {
		char	 per_host[64], *extra[] = { "-o", per_host, NULL }, *line;
		int	 port = http_server_start();

		/* Every request in flight may connect at once. */
		snprintf(per_host, sizeof(per_host), "http.per_host=%d",
		    conns * inflight);
		if (opt_socket == NULL)
			daemon_spawn(extra);
		if (asprintf(&line, "{\"op\":\"submit\",\"wait\":true,\"job\":{"
		    "\"type\":\"http\",\"ttl\":0,\"args\":{\"url\":"
		    "\"http://127.0.0.1:%d/\"}}}\n", port) == -1)
			die("out of memory");
		bench_throughput(scenario, "http GET", line, conns, inflight, seconds);
		free(line);
	} else if (strcmp(scenario, "sleepers") == 0) {
		char	maxjobs[64], *extra[] = { "-o", maxjobs, NULL };

		snprintf(maxjobs, sizeof(maxjobs), "max_jobs=%ld", njobs + 1000);
		if (opt_socket == NULL)
			daemon_spawn(extra);
		bench_sleepers(njobs, sleep_s > 0 ? sleep_s : 10 + njobs / 20000.0);
	} else if (strcmp(scenario, "fanout") == 0) {
		if (opt_socket == NULL)
			daemon_spawn(NULL);
		bench_fanout(njobs == 100000 ? 10000 : njobs);
	} else if (strcmp(scenario, "limit") == 0) {
		char	maxjobs[64], *extra[] = { "-o", maxjobs, "-o",
			    "limit.bench.concurrency=1", NULL };

		snprintf(maxjobs, sizeof(maxjobs), "max_jobs=%ld", 2 * njobs + 1000);
		if (opt_socket == NULL)
			daemon_spawn(extra);
		bench_limit(njobs);
	} else
		usage();
	daemon_stop();
	return 0;
}
