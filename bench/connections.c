/*
 * connections: CONNS idle connections held open.  Each says one ping first,
 * as a client that connected, talked and went quiet would; then the
 * daemon's RSS per connection, and the ping latency of another client while
 * they are held (and before, for comparison).
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "scenarios.h"

static const char ping_line[] = "{\"op\":\"ping\"}\n";

/* Wait for one whole answer on fd (blocking); dies on anything but ok. */
static void
read_answer(int fd)
{
	char	buf[512];
	size_t	len = 0;
	ssize_t	n;

	for (;;) {
		n = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (n <= 0)
			die("loomd closed a connection (%s)", n == 0 ? "EOF" :
			    strerror(errno));
		len += (size_t)n;
		if (memchr(buf, '\n', len) != NULL)
			break;
		if (len == sizeof(buf))
			die("an answer too long for a ping");
	}
	if (memmem(buf, len, "\"ok\":true", 9) == NULL)
		die("ping answered: %.*s", (int)len, buf);
}

/* p50 and p99 of `n` pings, one at a time, on a fresh connection. */
static void
ping_latency(long n, double *p50, double *p99)
{
	double	*lat = calloc(n, sizeof(*lat)), t0;
	long	 i;
	int	 fd;

	if ((fd = bench_connect()) == -1)
		die("cannot connect: %s", strerror(errno));
	for (i = -n / 10; i < n; i++) {
		t0 = now();
		send_all(fd, ping_line, sizeof(ping_line) - 1);
		read_answer(fd);
		if (i >= 0)
			lat[i] = now() - t0;
	}
	close(fd);
	qsort(lat, n, sizeof(*lat), cmp_double);
	*p50 = quantile(lat, n, 0.5);
	*p99 = quantile(lat, n, 0.99);
	free(lat);
}

void
bench_connections(long conns, long pings)
{
	char	 maxconn[64], *extra[] = { "-o", maxconn, NULL };
	double	 idle50, idle99, held50, held99;
	long	 limit, rss0, rss1, i;
	int	*fds;

	limit = bench_raise_nofile(conns + 256);
	if (limit < conns + 64) {
		fprintf(stderr, "loom-bench: only %ld descriptors: %ld connections\n",
		    limit, limit - 64);
		conns = limit - 64;
	}
	snprintf(maxconn, sizeof(maxconn), "max_connections=%ld", conns + 64);
	bench_spawn(extra);
	fds = calloc(conns, sizeof(*fds));
	ping_latency(pings, &idle50, &idle99);
	usleep(200000);
	rss0 = daemon_rss_kib();
	for (i = 0; i < conns; i++) {
		if ((fds[i] = bench_connect()) == -1)
			die("connection %ld: %s", i, strerror(errno));
	}
	for (i = 0; i < conns; i++)
		send_all(fds[i], ping_line, sizeof(ping_line) - 1);
	for (i = 0; i < conns; i++)
		read_answer(fds[i]);
	usleep(200000);
	rss1 = daemon_rss_kib();
	ping_latency(pings, &held50, &held99);
	printf("loom-bench scenario=connections conns=%ld rss_per_conn_bytes=%.0f "
	    "ping_p50_us=%.1f ping_p99_us=%.1f ping_before_p50_us=%.1f "
	    "ping_before_p99_us=%.1f\n", conns,
	    rss1 > 0 ? (rss1 - rss0) * 1024.0 / conns : -1.0, held50 * 1e6,
	    held99 * 1e6, idle50 * 1e6, idle99 * 1e6);
	printf("  %ld idle connections: %.0f bytes of daemon RSS each; ping p50 "
	    "%.1f us, p99 %.1f us while held (%.1f / %.1f us before)\n", conns,
	    rss1 > 0 ? (rss1 - rss0) * 1024.0 / conns : -1.0, held50 * 1e6,
	    held99 * 1e6, idle50 * 1e6, idle99 * 1e6);
	for (i = 0; i < conns; i++)
		close(fds[i]);
	free(fds);
}
