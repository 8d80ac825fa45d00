/*
 * worker: jobs run by a worker.  WORKERS connections say worker.hello for
 * the type "bench" with concurrency CONCURRENCY and complete every job
 * pushed to them at once; CONNS client connections keep INFLIGHT submits
 * of that type with wait going.  A cycle is a submit answered done: submit,
 * push to a worker, job.complete, answer.  The same epoll thread is client
 * and workers, one write per connection per read, as in pipeline.c.
 */
#include "autoconf.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "scenarios.h"

static const char submit_line[] =
    "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"bench\",\"ttl\":0,"
    "\"args\":{\"value\":1}}}\n";

enum { CLIENT, WORKER };

struct wbench {
	struct obuf	 out;
	long		 cycles;
	long		 failed;
	long		 pushed;
	bool		 refill;
};

/* A worker's line: a run is completed at once; answers are counted. */
static void
worker_line(struct bconn *c, char *line, size_t len, struct wbench *b)
{
	char		 buf[96], *p;
	unsigned long	 id;
	int		 n;

	if (len > 17 && memcmp(line, "{\"event\":\"run\"", 14) == 0) {
		if ((p = memmem(line, len, "\"id\":", 5)) == NULL)
			die("a run without an id: %.*s", (int)len, line);
		id = strtoul(p + 5, NULL, 10);
		n = snprintf(buf, sizeof(buf), "{\"op\":\"job.complete\",\"job\":%lu,"
		    "\"result\":1}\n", id);
		obuf_add(&b->out, buf, (size_t)n);
		c->inflight++;
		b->pushed++;
		return;
	}
	if (memmem(line, len, "\"ok\":true", 9) == NULL)
		die("a worker was answered: %.*s", (int)(len > 200 ? 200 : len), line);
	c->inflight--;
}

static void
bench_line(struct bconn *c, char *line, size_t len, void *arg)
{
	struct wbench	*b = arg;

	if (c->state == WORKER) {
		worker_line(c, line, len, b);
		return;
	}
	c->inflight--;
	b->cycles++;
	if (memmem(line, len, "\"state\":\"done\"", 14) == NULL)
		b->failed++;
	if (b->refill) {
		obuf_add(&b->out, submit_line, sizeof(submit_line) - 1);
		c->inflight++;
	}
}

static void
bench_read(struct wbench *b, struct bconn *c)
{
	read_lines(c, bench_line, b);
	if (b->out.len > 0)
		obuf_send(&b->out, c->fd);
}

static void
connect_all(struct bconn *c, int n, int ep, int role)
{
	struct epoll_event	ev;
	int			i;

	for (i = 0; i < n; i++) {
		if ((c[i].fd = bench_connect()) == -1)
			die("cannot connect: %s", strerror(errno));
		c[i].state = role;
		ev.events = EPOLLIN;
		ev.data.ptr = &c[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
	}
}

/* Each worker's hello, answered before any load starts. */
static void
hello_all(struct bconn *w, int n, int concurrency)
{
	char	line[160], buf[512];
	ssize_t	got;
	int	i, len;

	for (i = 0; i < n; i++) {
		len = snprintf(line, sizeof(line), "{\"op\":\"worker.hello\","
		    "\"types\":[\"bench\"],\"concurrency\":%d,\"name\":\"bench%d\"}\n",
		    concurrency, i);
		send_all(w[i].fd, line, (size_t)len);
		if ((got = recv(w[i].fd, buf, sizeof(buf) - 1, 0)) <= 0)
			die("worker.hello: no answer");
		buf[got] = '\0';
		if (strstr(buf, "\"ok\":true") == NULL)
			die("worker.hello: %s", buf);
		fcntl(w[i].fd, F_SETFL, O_NONBLOCK);
	}
}

void
bench_worker(int conns, int inflight, int workers, int concurrency,
    double seconds)
{
	struct bconn		*c = calloc(conns, sizeof(*c));
	struct bconn		*w = calloc(workers, sizeof(*w));
	struct epoll_event	 evs[64];
	struct wbench		 b = { .refill = true };
	double			 start = 0, end, t0, cpu0 = 0, cpu;
	long			 counted = 0, owed;
	int			 ep = epoll_create1(EPOLL_CLOEXEC), i, j, n;

	if (c == NULL || w == NULL)
		die("out of memory");
	connect_all(w, workers, ep, WORKER);
	hello_all(w, workers, concurrency);
	connect_all(c, conns, ep, CLIENT);
	for (i = 0; i < conns; i++) {
		fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
		for (j = 0; j < inflight; j++)
			obuf_add(&b.out, submit_line, sizeof(submit_line) - 1);
		obuf_send(&b.out, c[i].fd);
		c[i].inflight = inflight;
	}
	t0 = now();
	end = t0 + 1.0 + seconds;	/* a one-second warm-up */
	while (now() < end) {
		if (start == 0 && now() >= t0 + 1.0) {
			start = now();
			counted = b.cycles;
			cpu0 = daemon_cpu_seconds();
		}
		n = epoll_wait(ep, evs, 64, 100);
		for (i = 0; i < n; i++)
			bench_read(&b, evs[i].data.ptr);
	}
	end = now();
	cpu = daemon_cpu_seconds() - cpu0;
	counted = b.cycles - counted;
	/* Drain: every submit answered, every completion acknowledged. */
	b.refill = false;
	for (;;) {
		for (owed = 0, i = 0; i < conns; i++)
			owed += c[i].inflight;
		for (i = 0; i < workers; i++)
			owed += w[i].inflight;
		if (owed == 0)
			break;
		if ((n = epoll_wait(ep, evs, 64, 5000)) == 0)
			die("%ld answers never came", owed);
		for (i = 0; i < n; i++)
			bench_read(&b, evs[i].data.ptr);
	}
	printf("loom-bench scenario=worker conns=%d inflight=%d workers=%d "
	    "concurrency=%d seconds=%.1f cycles=%ld cycles_per_s=%.0f failed=%ld "
	    "daemon_cpu_us_per_job=%.2f\n", conns, inflight, workers, concurrency,
	    end - start, counted, counted / (end - start), b.failed,
	    cpu > 0 ? cpu / counted * 1e6 : -1.0);
	printf("  %d clients x %d submits with wait, %d workers x %d: %.0f jobs/s "
	    "run by a worker\n", conns, inflight, workers, concurrency,
	    counted / (end - start));
	for (i = 0; i < conns; i++)
		close(c[i].fd);
	for (i = 0; i < workers; i++)
		close(w[i].fd);
	free(c);
	free(w);
	free(b.out.p);
}
