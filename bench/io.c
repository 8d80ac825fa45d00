/*
 * exec and http jobs under the pipelined load of throughput: exec runs
 * /bin/true (the daemon loom-bench starts defines command "true"; one given
 * with -s must too), http fetches a small page from a server in this process.
 */
#include "autoconf.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "scenarios.h"

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

void
bench_exec(int conns, int inflight, double seconds)
{
	char	*extra[] = { "-o", "command.true.argv=/bin/true", NULL };

	bench_spawn(extra);
	bench_submit("exec", "exec /bin/true with wait", "{\"op\":\"submit\","
	    "\"wait\":true,\"job\":{\"type\":\"exec\",\"ttl\":0,\"args\":"
	    "{\"command\":\"true\"}}}\n", conns, inflight, seconds);
}

void
bench_http(int conns, int inflight, double seconds)
{
	char	 per_host[64], *line;
	char	*extra[] = { "-o", per_host, "-o", "http.allow_private=yes", NULL };
	int	 port = http_server_start();

	/* Every request in flight may connect at once; the server is on
	 * loopback, which the outbound policy refuses by default. */
	snprintf(per_host, sizeof(per_host), "http.per_host=%d", conns * inflight);
	bench_spawn(extra);
	if (asprintf(&line, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"http\",\"ttl\":0,\"args\":{\"url\":\"http://127.0.0.1:%d/\"}}}\n",
	    port) == -1)
		die("out of memory");
	bench_submit("http", "http GET with wait (no keep-alive)", line, conns,
	    inflight, seconds);
	free(line);
}
