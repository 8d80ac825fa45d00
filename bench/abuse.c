/*
 * abuse: the floods of a hostile client, each against a fresh daemon, while
 * a normal client pings on its own connection (a thread of its own).  For
 * each: the daemon's peak RSS over its size before the flood (VmHWM, so a
 * spike between samples counts), and the normal client's ping p50/p99
 * during it.  The target is under 256 MiB and under 10 ms.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "scenarios.h"

#define PINGS_MAX	(1 << 20)

struct pinger {
	pthread_t	 thread;
	atomic_bool	 stop;
	double		*lat;
	long		 n;
	bool		 lost;		/* its connection closed under it */
};

static const char ping_line[] = "{\"op\":\"ping\"}\n";

static void *
pinger_main(void *arg)
{
	struct pinger	*p = arg;
	char		 buf[512];
	double		 t0;
	ssize_t		 n;
	int		 fd;

	if ((fd = bench_connect()) == -1)
		die("cannot connect: %s", strerror(errno));
	while (!atomic_load(&p->stop) && p->n < PINGS_MAX) {
		t0 = now();
		send_all(fd, ping_line, sizeof(ping_line) - 1);
		do {
			if ((n = recv(fd, buf, sizeof(buf), 0)) <= 0) {
				p->lost = true;
				close(fd);
				return NULL;
			}
		} while (memchr(buf, '\n', (size_t)n) == NULL);
		p->lat[p->n++] = now() - t0;
		usleep(1000);
	}
	close(fd);
	return NULL;
}

static long
status_kib(const char *key)
{
	char	 path[64], line[256];
	size_t	 len = strlen(key);
	long	 kib = 0;
	FILE	*f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_pid);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, len) == 0 && line[len] == ':')
			kib = atol(line + len + 1);
	}
	fclose(f);
	return kib;
}

static char *
filler(size_t len)
{
	char	*s = malloc(len + 1);

	memset(s, 'x', len);
	s[len] = '\0';
	return s;
}

/* n copies of a line on a new connection that is never read; its fd. */
static int
flood_lines(const char *line, long n)
{
	struct obuf	 o = { 0 };
	size_t		 len = strlen(line), sent = 0;
	struct pollfd	 pfd;
	ssize_t		 k;
	int		 fd;
	long		 i;

	if ((fd = bench_connect()) == -1)
		die("cannot connect: %s", strerror(errno));
	for (i = 0; i < n; i++)
		obuf_add(&o, line, len);
	/* Until the daemon stops taking it for half a second: a daemon that
	 * stops reading is the point. */
	while (sent < o.len) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, 500) != 1)
			break;
		if ((k = send(fd, o.p + sent, o.len - sent, MSG_DONTWAIT |
		    MSG_NOSIGNAL)) <= 0 && errno != EAGAIN)
			break;
		if (k > 0)
			sent += (size_t)k;
	}
	free(o.p);
	return fd;
}

static void
flood_list(void)
{
	char	*batch = malloc(64 * 1024), *p = batch;
	long	 i;
	int	 fd;

	p += sprintf(p, "{\"op\":\"submit\",\"jobs\":[");
	for (i = 0; i < 1000; i++)
		p += sprintf(p, "%s{\"type\":\"echo\",\"args\":{\"value\":1}}", i ? "," : "");
	sprintf(p, "]}");
	json_decref(call("%s", batch));
	free(batch);
	fd = flood_lines("{\"op\":\"list\",\"limit\":1000}\n", 8000);
	sleep(3);
	close(fd);
}

/* 200,000 sleeping jobs, in batches of 10,000 (the most a submit takes). */
static void
setup_list_large(void)
{
	static const char job[] = "{\"type\":\"sleep\",\"args\":{\"seconds\":600}}";
	struct obuf	 o = { 0 };
	json_t		*r;
	int		 b, i;

	for (b = 0; b < 20; b++) {
		obuf_add(&o, "{\"op\":\"submit\",\"jobs\":[", 23);
		for (i = 0; i < 10000; i++) {
			if (i > 0)
				obuf_add(&o, ",", 1);
			obuf_add(&o, job, sizeof(job) - 1);
		}
		obuf_add(&o, "]}", 3);
		r = call("%s", o.p);
		if (!json_is_true(json_object_get(r, "ok")))
			die("the jobs for list_large were refused");
		json_decref(r);
		o.len = 0;
	}
	free(o.p);
}

/*
 * Lists over all of them that find nothing (so each looks at every job)
 * and lists of the oldest (so each passes every newer one), not read.
 */
static void
flood_list_large(void)
{
	int	fd = flood_lines("{\"op\":\"list\",\"state\":\"failed\"}\n"
	    "{\"op\":\"list\",\"before\":100}\n", 100);

	sleep(3);
	close(fd);
}

static long	result_job;

/* The id the answer to a submit gave, the answer freed. */
static long
answer_id(json_t *r)
{
	long	id = (long)json_integer_value(json_object_get(json_object_get(r,
		    "job"), "id"));

	json_decref(r);
	return id;
}

static void
setup_result(void)
{
	char	*v = filler(1000 * 1024);

	result_job = answer_id(call("{\"op\":\"submit\",\"wait\":true,\"job\":"
	    "{\"type\":\"echo\",\"args\":{\"value\":\"%s\"}}}", v));
	free(v);
}

static void
flood_result(void)
{
	char	line[128];
	int	fd;

	snprintf(line, sizeof(line), "{\"op\":\"result\",\"job\":%ld}\n", result_job);
	fd = flood_lines(line, 2000);
	sleep(3);
	close(fd);
}

static void
flood_watch(void)
{
	char	*v = filler(64 * 1024);
	double	 end = now() + 3;
	int	 fd = flood_lines("{\"op\":\"watch\"}\n", 1);

	while (now() < end)
		json_decref(call("{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
		    "\"echo\",\"ttl\":0,\"args\":{\"value\":\"%s\"}}}", v));
	close(fd);
	free(v);
}

static void
flood_stream(void)
{
	char	*id = filler(450 * 1024), *line = malloc(1024 * 1024), *p = line;
	long	 i;
	int	 fd;

	p += sprintf(p, "{\"op\":\"submit\",\"id\":\"%s\",\"wait\":true,\"stream\":"
	    "true,\"job\":{\"type\":\"group\",\"args\":{\"jobs\":[", id);
	for (i = 0; i < 6000; i++)
		p += sprintf(p, "%s{\"type\":\"echo\",\"args\":{\"value\":1}}", i ? "," : "");
	sprintf(p, "]}}}\n");
	fd = flood_lines(line, 1);
	sleep(3);
	close(fd);
	free(id);
	free(line);
}

/* One request whose answer is short; whether it was ok. */
static bool
ask(int fd, const char *line)
{
	char	buf[4096];
	size_t	len = 0;
	ssize_t	n;

	send_all(fd, line, strlen(line));
	do {
		if ((n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) <= 0)
			die("loomd closed the connection");
		len += (size_t)n;
	} while (memchr(buf, '\n', len) == NULL && len < sizeof(buf) - 1);
	buf[len] = '\0';
	return strstr(buf, "\"ok\":true") != NULL;
}

static void
flood_results_held(void)
{
	char	*v = filler(700 * 1024), *line;
	bool	 busy = false;
	long	 i;
	int	 fd = bench_connect();

	if (asprintf(&line, "{\"op\":\"submit\",\"job\":{\"type\":\"echo\","
	    "\"args\":{\"value\":\"%s\"}}}\n", v) == -1)
		die("out of memory");
	for (i = 0; i < 2000 && !busy; i++)
		busy = !ask(fd, line);
	printf("  results held: %s after %ld submits of 700 KB\n",
	    busy ? "busy" : "still taken", i);
	close(fd);
	free(line);
	free(v);
}

static void
flood_gone(void)
{
	long	 id = answer_id(call("{\"op\":\"submit\",\"job\":{\"type\":"
		    "\"sleep\",\"args\":{\"seconds\":60}}}"));
	json_t	*r;
	char	 line[128];
	int	 i, fd;

	snprintf(line, sizeof(line), "{\"op\":\"result\",\"job\":%ld,\"wait\":true}\n",
	    id);
	for (i = 0; i < 2000; i++) {
		if ((fd = bench_connect()) == -1)
			die("cannot connect: %s", strerror(errno));
		send_all(fd, line, strlen(line));
		close(fd);
	}
	sleep(1);
	r = call("{\"op\":\"stats\"}");
	printf("  clients gone while waiting: %lld connections left of 2,000\n",
	    (long long)json_integer_value(json_object_get(json_object_get(
	    json_object_get(r, "stats"), "connections"), "current")));
	json_decref(r);
}

/*
 * n waits on job `id` on connection fd, then a ping: once it is answered,
 * every wait is registered (a connection's lines are taken in order).
 */
static void
place_waits(int fd, long id, long n)
{
	static const char placed[] = "{\"op\":\"ping\",\"id\":\"placed\"}\n";
	struct obuf	 o = { 0 };
	char		 line[128], buf[4096];
	size_t		 len = 0;
	ssize_t		 k;
	int		 len1;
	long		 i;

	len1 = snprintf(line, sizeof(line), "{\"op\":\"result\",\"job\":%ld,"
	    "\"wait\":true}\n", id);
	for (i = 0; i < n; i++)
		obuf_add(&o, line, (size_t)len1);
	obuf_add(&o, placed, sizeof(placed) - 1);
	obuf_send(&o, fd);
	free(o.p);
	for (;;) {
		if ((k = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) <= 0)
			die("loomd closed the connection");
		len += (size_t)k;
		buf[len] = '\0';
		if (strstr(buf, "placed") != NULL)
			return;
		if (len > sizeof(buf) / 2) {	/* keep the tail, for a split id */
			memmove(buf, buf + len - 16, 16);
			len = 16;
		}
	}
}

/*
 * 30,000 waits on a sleep job kept by one connection, then for 3 s: a
 * connection places 20,000 more and closes.  Its waits are dropped at
 * once, each behind the kept ones in the job's list of callbacks.
 */
static void
flood_waits(void)
{
	long	 id = answer_id(call("{\"op\":\"submit\",\"job\":{\"type\":"
		    "\"sleep\",\"args\":{\"seconds\":600}}}"));
	double	 end;
	long	 rounds = 0;
	int	 keeper, fd;

	if ((keeper = bench_connect()) == -1)
		die("cannot connect: %s", strerror(errno));
	place_waits(keeper, id, 30000);
	end = now() + 3;
	while (now() < end) {
		if ((fd = bench_connect()) == -1)
			die("cannot connect: %s", strerror(errno));
		place_waits(fd, id, 20000);
		close(fd);
		rounds++;
	}
	sleep(1);	/* the pings go on while the last ones are dropped */
	printf("  waits: %ld connections placed 20,000 waits and closed\n",
	    rounds);
	close(keeper);
}

static void
flood_partial(void)
{
	char	*part = filler(900 * 1024);
	int	 fds[200], i;

	for (i = 0; i < 200; i++) {
		if ((fds[i] = bench_connect()) == -1)
			die("cannot connect: %s", strerror(errno));
		(void)!send(fds[i], part, 900 * 1024, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	sleep(3);
	for (i = 0; i < 200; i++)
		close(fds[i]);
	free(part);
}

/* 4,000 pbkdf2 in one queue, then a small sumsq in another: how long it
 * waited (on a daemon with one executor thread). */
static void
flood_cpu(void)
{
	struct obuf	 o = { 0 };
	double		 t0;
	json_t		*r;
	int		 fd, i;

	fd = bench_connect();
	obuf_add(&o, "{\"op\":\"submit\",\"jobs\":[", 23);
	for (i = 0; i < 4000; i++) {
		char	job[160];
		int	len = snprintf(job, sizeof(job), "%s{\"type\":\"pbkdf2\","
		    "\"queue\":\"flood\",\"args\":{\"password\":\"p\",\"salt\":\"s\","
		    "\"iterations\":20000}}", i ? "," : "");

		obuf_add(&o, job, (size_t)len);
	}
	obuf_add(&o, "]}\n", 3);
	obuf_send(&o, fd);
	free(o.p);
	usleep(200000);
	t0 = now();
	r = call("{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"sumsq\","
	    "\"queue\":\"small\",\"args\":{\"n\":1000}}}");
	printf("  cpu: a small sumsq behind 4,000 pbkdf2 in another queue: "
	    "done in %.1f ms\n", (now() - t0) * 1e3);
	json_decref(r);
	close(fd);
}

struct flood {
	const char	*name;
	void		(*setup)(void);
	void		(*run)(void);
	char		*extra[8];
};

static const struct flood floods[] = {
	{ "list", NULL, flood_list, { NULL } },
	{ "list_large", setup_list_large, flood_list_large, { NULL } },
	{ "result", setup_result, flood_result, { NULL } },
	{ "watch", NULL, flood_watch, { NULL } },
	{ "stream", NULL, flood_stream, { NULL } },
	{ "results_held", NULL, flood_results_held, { NULL } },
	{ "gone_waiting", NULL, flood_gone, { "-o", "max_connections=10000", NULL } },
	{ "waits", NULL, flood_waits, { NULL } },
	{ "partial_lines", NULL, flood_partial, { NULL } },
	{ "cpu", NULL, flood_cpu, { "-o", "executor_threads=1", "-o",
	    "executor_queue=10000", NULL } },
};

static void
run_flood(const struct flood *fl)
{
	struct pinger	 p = { 0 };
	long		 base, peak;

	bench_spawn(fl->extra[0] != NULL ? (char **)fl->extra : NULL);
	if (fl->setup != NULL)
		fl->setup();
	usleep(200000);
	base = status_kib("VmRSS");
	p.lat = calloc(PINGS_MAX, sizeof(*p.lat));
	if (pthread_create(&p.thread, NULL, pinger_main, &p) != 0)
		die("pthread_create");
	fl->run();
	atomic_store(&p.stop, true);
	pthread_join(p.thread, NULL);
	peak = status_kib("VmHWM");
	qsort(p.lat, (size_t)p.n, sizeof(*p.lat), cmp_double);
	printf("loom-bench scenario=abuse flood=%s rss_idle_mib=%.1f "
	    "rss_peak_over_idle_mib=%.1f ping_n=%ld ping_p50_ms=%.3f "
	    "ping_p99_ms=%.3f ping_lost=%d\n", fl->name, base / 1024.0,
	    (peak - base) / 1024.0, p.n, p.n ? quantile(p.lat, (size_t)p.n, 0.5) * 1e3 : -1,
	    p.n ? quantile(p.lat, (size_t)p.n, 0.99) * 1e3 : -1, p.lost);
	free(p.lat);
	bench_stop();
}

/* All the floods, or the one named. */
void
bench_abuse(const char *only)
{
	size_t	i;

	for (i = 0; i < sizeof(floods) / sizeof(floods[0]); i++) {
		if (only == NULL || strcmp(only, floods[i].name) == 0)
			run_flood(&floods[i]);
	}
}
