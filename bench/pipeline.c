/*
 * Request/answer load: throughput (loomd), beanstalkd (the same client on
 * beanstalkd's protocol) and latency.
 *
 * The pipelined client is one epoll thread.  Each connection keeps INFLIGHT
 * job cycles going; the requests that replace finished cycles are queued
 * while a read's answers are handled and sent with one write, so the client
 * costs about one system call per read, not one per job.  Both servers get
 * exactly this client.
 */
#include "autoconf.h"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "scenarios.h"

/* How one server's job cycle looks on the wire. */
struct cycle_proto {
	const char	*name;
	/* Queue the requests of one new cycle. */
	void		(*start)(struct bconn *, struct obuf *);
	/* One answer line; true when it ends a cycle (then *ok says how). */
	bool		(*line)(struct bconn *, char *, size_t, struct obuf *, bool *ok);
};

struct pipeline {
	const struct cycle_proto	*proto;
	struct obuf			 out;
	long				 cycles;
	long				 failed;
	bool				 refill;
};

/* loomd: submit echo with wait; the answer is the finished job. */
static const char echo_line[] =
    "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"echo\",\"ttl\":0,"
    "\"args\":{\"value\":1}}}\n";

/* What a loomd cycle submits: echo by default, exec or http (io.c). */
static const char	*loomd_request = echo_line;
static const char	*loomd_scenario = "throughput";
static const char	*loomd_what = "echo with wait";

static void
loomd_start(struct bconn *c, struct obuf *o)
{
	obuf_add(o, loomd_request, strlen(loomd_request));
}

static bool
loomd_line(struct bconn *c, char *line, size_t len, struct obuf *o, bool *ok)
{
	*ok = memmem(line, len, "\"state\":\"done\"", 14) != NULL;
	return true;
}

static const struct cycle_proto loomd_proto = { "loomd", loomd_start, loomd_line };

/*
 * beanstalkd: put, reserve, delete.  put and reserve go together; the
 * reserve takes whichever job is ready (ours or another connection's, all the
 * same), and the delete of the job it got ends the cycle.
 */
enum { BS_REPLY, BS_BODY };

static const char bs_put[] = "put 0 0 60 1\r\nx\r\nreserve\r\n";

static void
bs_start(struct bconn *c, struct obuf *o)
{
	obuf_add(o, bs_put, sizeof(bs_put) - 1);
}

static bool
bs_line(struct bconn *c, char *line, size_t len, struct obuf *o, bool *ok)
{
	char		 del[48];
	unsigned long	 id;
	int		 n;

	if (c->state == BS_BODY) {	/* the reserved job's body */
		c->state = BS_REPLY;
		return false;
	}
	if (len >= 9 && memcmp(line, "INSERTED ", 9) == 0)
		return false;
	if (len >= 9 && memcmp(line, "RESERVED ", 9) == 0) {
		id = strtoul(line + 9, NULL, 10);
		n = snprintf(del, sizeof(del), "delete %lu\r\n", id);
		obuf_add(o, del, (size_t)n);
		c->state = BS_BODY;
		return false;
	}
	*ok = len >= 7 && memcmp(line, "DELETED", 7) == 0;
	if (!*ok)
		die("beanstalkd answered: %.*s", (int)(len > 100 ? 100 : len), line);
	return true;
}

static const struct cycle_proto beanstalkd_proto = { "beanstalkd", bs_start, bs_line };

static void
pipeline_line(struct bconn *c, char *line, size_t len, void *arg)
{
	struct pipeline	*p = arg;
	bool		 ok = true;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (!p->proto->line(c, line, len, &p->out, &ok))
		return;
	c->inflight--;
	p->cycles++;
	if (!ok)
		p->failed++;
	if (p->refill) {
		p->proto->start(c, &p->out);
		c->inflight++;
	}
}

static void
pipeline_read(struct pipeline *p, struct bconn *c)
{
	read_lines(c, pipeline_line, p);
	if (p->out.len > 0)
		obuf_send_conn(&p->out, c);
}

/* Cycles per second over `seconds`, after a one-second warm-up. */
static void
pipeline_run(const struct cycle_proto *proto, int conns, int inflight,
    double seconds)
{
	struct bconn		*c = calloc(conns, sizeof(*c));
	struct epoll_event	 ev, evs[64];
	struct pipeline		 p = { .proto = proto, .refill = true };
	double			 start = 0, end, warm = 1.0, t0, cpu0 = 0, cpu;
	long			 counted = 0, owed;
	int			 ep = epoll_create1(EPOLL_CLOEXEC), i, j, n;

	for (i = 0; i < conns; i++) {
		bconn_open(&c[i]);
		ev.events = EPOLLIN;
		ev.data.ptr = &c[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
	}
	for (i = 0; i < conns; i++) {
		for (j = 0; j < inflight; j++)
			proto->start(&c[i], &p.out);
		obuf_send_conn(&p.out, &c[i]);
		c[i].inflight = inflight;
	}
	t0 = now();
	end = t0 + warm + seconds;
	while (now() < end) {
		if (start == 0 && now() >= t0 + warm) {
			start = now();
			counted = p.cycles;
			cpu0 = daemon_cpu_seconds();
		}
		n = epoll_wait(ep, evs, 64, 100);
		for (i = 0; i < n; i++)
			pipeline_read(&p, evs[i].data.ptr);
	}
	end = now();
	cpu = daemon_cpu_seconds() - cpu0;
	counted = p.cycles - counted;
	/* Drain what is still in flight so the server ends idle. */
	p.refill = false;
	for (;;) {
		for (owed = 0, i = 0; i < conns; i++)
			owed += c[i].inflight;
		if (owed == 0)
			break;
		if ((n = epoll_wait(ep, evs, 64, 5000)) == 0)
			die("%ld answers never came", owed);
		for (i = 0; i < n; i++)
			pipeline_read(&p, evs[i].data.ptr);
	}
	if (proto == &loomd_proto) {
		printf("loom-bench scenario=%s conns=%d inflight=%d seconds=%.1f "
		    "jobs=%ld jobs_per_s=%.0f failed=%ld daemon_cpu_us_per_job=%.2f\n",
		    loomd_scenario, conns, inflight, end - start, counted,
		    counted / (end - start), p.failed, cpu > 0 ? cpu / counted * 1e6 :
		    -1.0);
		printf("  %s, %d connections x %d in flight: %.0f jobs/s "
		    "(%ld jobs in %.1f s, %ld not done); the daemon used %.2f us of "
		    "CPU a job\n", loomd_what, conns, inflight, counted / (end - start),
		    counted, end - start, p.failed, cpu > 0 ? cpu / counted * 1e6 : -1.0);
	} else {
		printf("loom-bench scenario=%s conns=%d inflight=%d seconds=%.1f "
		    "cycles=%ld cycles_per_s=%.0f daemon_cpu_us_per_cycle=%.2f\n",
		    proto->name, conns, inflight, end - start, counted,
		    counted / (end - start), cpu > 0 ? cpu / counted * 1e6 : -1.0);
		printf("  %s put+reserve+delete, %d connections x %d in flight: %.0f "
		    "job cycles/s (%ld in %.1f s); the server used %.2f us of CPU a "
		    "cycle\n", proto->name, conns, inflight, counted / (end - start),
		    counted, end - start, cpu > 0 ? cpu / counted * 1e6 : -1.0);
	}
	for (i = 0; i < conns; i++)
		bconn_close(&c[i]);
	free(c);
	free(p.out.p);
	close(ep);
}

void
bench_throughput(int conns, int inflight, double seconds)
{
	pipeline_run(&loomd_proto, conns, inflight, seconds);
}

/* Like throughput, with another job: `request` is one submit line with wait. */
void
bench_submit(const char *scenario, const char *what, const char *request,
    int conns, int inflight, double seconds)
{
	loomd_scenario = scenario;
	loomd_what = what;
	loomd_request = request;
	pipeline_run(&loomd_proto, conns, inflight, seconds);
}

void
bench_beanstalkd(int conns, int inflight, double seconds)
{
	if (opt_tcp == NULL)
		die("beanstalkd: give its address with -H HOST:PORT");
	pipeline_run(&beanstalkd_proto, conns, inflight, seconds);
}

/* latency ------------------------------------------------------------------ */

/* Read until one whole line is in c; returns its length (line at c->buf). */
static size_t
read_one_line(struct bconn *c)
{
	char	*nl;
	ssize_t	 n;

	for (;;) {
		if (c->len > 0 && (nl = memchr(c->buf, '\n', c->len)) != NULL)
			return (size_t)(nl - c->buf);
		if (c->cap - c->len < 4096) {
			c->cap = c->cap ? c->cap * 2 : 65536;
			if ((c->buf = realloc(c->buf, c->cap)) == NULL)
				die("out of memory");
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n <= 0)
			die("loomd closed the connection");
		c->len += (size_t)n;
	}
}

static void
consume_line(struct bconn *c, size_t len)
{
	memmove(c->buf, c->buf + len + 1, c->len - len - 1);
	c->len -= len + 1;
}

static void
report(const char *what, const char *key, double *lat, size_t n, const char *extra)
{
	qsort(lat, n, sizeof(*lat), cmp_double);
	printf("loom-bench scenario=latency mode=%s%s samples=%zu p50_us=%.1f "
	    "p99_us=%.1f p999_us=%.1f max_us=%.1f\n", key, extra, n,
	    quantile(lat, n, 0.5) * 1e6, quantile(lat, n, 0.99) * 1e6,
	    quantile(lat, n, 0.999) * 1e6, lat[n - 1] * 1e6);
	printf("  %s: p50 %.1f us, p99 %.1f us, p99.9 %.1f us (%zu jobs)\n", what,
	    quantile(lat, n, 0.5) * 1e6, quantile(lat, n, 0.99) * 1e6,
	    quantile(lat, n, 0.999) * 1e6, n);
}

/* One job at a time: submit, wait for the answer, again. */
static void
latency_lone(long n)
{
	struct bconn	 c = { 0 };
	double		*lat = calloc(n, sizeof(*lat)), t0;
	size_t		 len;
	long		 i, warm = n / 10 + 100;

	if ((c.fd = bench_connect()) == -1)
		die("cannot connect: %s", strerror(errno));
	for (i = -warm; i < n; i++) {
		t0 = now();
		send_all(c.fd, echo_line, sizeof(echo_line) - 1);
		len = read_one_line(&c);
		if (i >= 0)
			lat[i] = now() - t0;
		if (memmem(c.buf, len, "\"state\":\"done\"", 14) == NULL)
			die("a job did not finish done: %.*s", (int)len, c.buf);
		consume_line(&c, len);
	}
	report("one job at a time, submit to result", "lone", lat, (size_t)n, "");
	close(c.fd);
	free(c.buf);
	free(lat);
}

static void
rate_line(struct bconn *c, char *line, size_t len, void *arg)
{
	double	*lat = arg, sent;
	long	 i;
	char	*p;

	if ((p = memmem(line, len, "\"id\":", 5)) == NULL)
		die("an answer without an id");
	i = strtol(p + 5, NULL, 10);
	memcpy(&sent, &lat[i], sizeof(sent));
	lat[i] = now() - sent;
	c->inflight--;
}

/*
 * Open loop at a fixed rate: requests go out on schedule whether or not
 * earlier ones were answered; each latency runs from its own send.
 */
static void
latency_rate(double rate, double seconds)
{
	struct bconn		 c = { 0 };
	struct epoll_event	 ev;
	struct timespec		 ts;
	long			 n = (long)(rate * seconds), i = 0;
	double			*lat = calloc(n, sizeof(*lat)), t0, next, wait, t;
	char			 line[256], extra[64];
	int			 ep = epoll_create1(EPOLL_CLOEXEC), len;

	/* Wake on time: the default 50 us timer slack would blur the schedule. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	if ((c.fd = bench_connect()) == -1)
		die("cannot connect: %s", strerror(errno));
	fcntl(c.fd, F_SETFL, O_NONBLOCK);
	ev.events = EPOLLIN;
	ev.data.ptr = &c;
	epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
	t0 = now();
	while (i < n || c.inflight > 0) {
		next = t0 + i / rate;
		t = now();
		if (i < n && t >= next) {
			len = snprintf(line, sizeof(line), "{\"op\":\"submit\",\"id\":%ld,"
			    "\"wait\":true,\"job\":{\"type\":\"echo\",\"ttl\":0,"
			    "\"args\":{\"value\":1}}}\n", i);
			memcpy(&lat[i], &t, sizeof(t));	/* the send time, until answered */
			send_all(c.fd, line, (size_t)len);
			c.inflight++;
			i++;
			continue;
		}
		wait = i < n ? next - t : 5.0;
		ts.tv_sec = (time_t)wait;
		ts.tv_nsec = (long)((wait - (double)ts.tv_sec) * 1e9);
		if (epoll_pwait2(ep, &ev, 1, &ts, NULL) == 1)
			read_lines(&c, rate_line, lat);
		else if (i >= n)
			die("%ld answers never came", c.inflight);
	}
	snprintf(extra, sizeof(extra), " rate=%.0f", rate);
	snprintf(line, sizeof(line), "%.0f jobs/s at a fixed rate, submit to result",
	    rate);
	report(line, "rate", lat, (size_t)n, extra);
	close(ep);
	close(c.fd);
	free(c.buf);
	free(lat);
}

void
bench_latency(long n, double rate, double seconds)
{
	latency_lone(n);
	latency_rate(rate, seconds);
}
