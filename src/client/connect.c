/*
 * libloomclient: making the connection.  A target names a Unix socket, a
 * TCP address or a TLS one; whatever the route, the result is a connected
 * stream socket handed to loom_attach(), with TLS over it for the last.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loom/client.h"
#include "internal.h"

/* Format into a caller's buffer, which may be NULL; errno is preserved. */
static void __attribute__((format(printf, 3, 4)))
client_errbuf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = saved;
}

struct loom_client *
loom_attach(int fd, char *err, size_t errlen)
{
	struct loom_client	*c;
	socklen_t		 len = sizeof(int);
	int			 type, flags;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_STREAM) {
		errno = EINVAL;
		client_errbuf(err, errlen, "descriptor %d is not a stream socket", fd);
		return NULL;
	}
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		client_errbuf(err, errlen, "fcntl: %s", strerror(errno));
		return NULL;
	}
	if ((c = client_new(fd)) == NULL) {
		errno = ENOMEM;
		client_errbuf(err, errlen, "out of memory");
		return NULL;
	}
	return c;
}

/* connect(), finishing in the background if a signal interrupts it. */
static int
client_connect_fd(int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLOUT };
	socklen_t	len = sizeof(int);
	int		error;

	if (connect(fd, sa, salen) == 0)
		return 0;
	if (errno != EINTR)
		return -1;
	while (poll(&pfd, 1, -1) == -1) {
		if (errno != EINTR)
			return -1;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
		return -1;
	if (error != 0) {
		errno = error;
		return -1;
	}
	return 0;
}

static struct loom_client *
client_attach_new(int fd, char *err, size_t errlen)
{
	struct loom_client	*c;
	int			 saved;

	if ((c = loom_attach(fd, err, errlen)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
	}
	return c;
}

struct loom_client *
loom_connect_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path == NULL || *path == '\0') {
		errno = EINVAL;
		client_errbuf(err, errlen, "empty socket path");
		return NULL;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		client_errbuf(err, errlen, "%s: socket path too long", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		client_errbuf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	if (client_connect_fd(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		client_errbuf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	return client_attach_new(fd, err, errlen);
}

struct loom_client *
loom_connect_tcp(const char *host, const char *port, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	const char	*open = "", *close_ = "";
	int		 fd = -1, rc, saved = 0, one = 1;

	if (host == NULL || *host == '\0' || port == NULL || *port == '\0') {
		errno = EINVAL;
		client_errbuf(err, errlen, "missing host or port");
		return NULL;
	}
	if (strchr(host, ':') != NULL) {
		open = "[";
		close_ = "]";
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		if (rc == EAI_SYSTEM)
			saved = errno;
		client_errbuf(err, errlen, "%s%s%s:%s: %s", open, host, close_,
		    port, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		errno = rc == EAI_SYSTEM ? saved : ENOENT;
		return NULL;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		if (client_connect_fd(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		client_errbuf(err, errlen, "%s%s%s:%s: %s", open, host, close_,
		    port, strerror(saved));
		errno = saved;
		return NULL;
	}
	/* One small request, one small answer: do not wait to coalesce. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return client_attach_new(fd, err, errlen);
}

struct loom_client *
loom_connect_tls(const char *host, const char *port,
    const struct loom_tls_options *options, char *err, size_t errlen)
{
	struct loom_client	*c;
	struct client_tls	*t;
	int			 saved;

	if ((c = loom_connect_tcp(host, port, err, errlen)) == NULL)
		return NULL;
	if ((t = client_tls_open(loom_fd(c), host, options, err, errlen)) == NULL) {
		saved = errno;
		loom_close(c);
		errno = saved;
		return NULL;
	}
	client_set_tls(c, t);
	return c;
}

/* "HOST:PORT", "[V6]:PORT", "HOST" (default port); TLS if options. */
static struct loom_client *
client_connect_hostport(const char *s, const struct loom_tls_options *options,
    char *err, size_t errlen)
{
	struct loom_client	*c;
	const char		*start = s, *end, *colon;
	const char		*port = options != NULL ? LOOM_DEFAULT_TLS_PORT :
				    LOOM_DEFAULT_PORT;
	char			*host;
	size_t			 hostlen;

	if (*s == '[') {
		if ((end = strchr(s, ']')) == NULL) {
			errno = EINVAL;
			client_errbuf(err, errlen, "%s: missing ']'", s);
			return NULL;
		}
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0') {
			errno = EINVAL;
			client_errbuf(err, errlen, "%s: expected ':' after ']'", s);
			return NULL;
		}
		start = s + 1;
		hostlen = end - start;
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon) {
			errno = EINVAL;
			client_errbuf(err, errlen, "%s: an IPv6 address needs "
			    "brackets, as in [::1]:%s", s, port);
			return NULL;
		}
		if (colon != NULL) {
			port = colon + 1;
			hostlen = colon - s;
		} else
			hostlen = strlen(s);
	}
	if (*port == '\0') {
		errno = EINVAL;
		client_errbuf(err, errlen, "%s: missing port after ':'", s);
		return NULL;
	}
	if (hostlen == 0)
		host = strdup("localhost");
	else
		host = strndup(start, hostlen);
	if (host == NULL) {
		client_errbuf(err, errlen, "out of memory");
		return NULL;
	}
	if (options != NULL)
		c = loom_connect_tls(host, port, options, err, errlen);
	else
		c = loom_connect_tcp(host, port, err, errlen);
	free(host);
	return c;
}

struct loom_client *
loom_connect_with(const char *target, const struct loom_tls_options *options,
    char *err, size_t errlen)
{
	static const struct loom_tls_options	defaults;
	const struct loom_tls_options		*tls =
						    options != NULL ? options : &defaults;

	if (target == NULL || *target == '\0') {
		errno = EINVAL;
		client_errbuf(err, errlen, "empty target");
		return NULL;
	}
	if (strncmp(target, "tls://", 6) == 0)
		return client_connect_hostport(target + 6, tls, err, errlen);
	if (strncmp(target, "tls:", 4) == 0)
		return client_connect_hostport(target + 4, tls, err, errlen);
	if (strncmp(target, "unix:", 5) == 0)
		return loom_connect_unix(target + 5, err, errlen);
	if (strncmp(target, "tcp:", 4) == 0)
		return client_connect_hostport(target + 4, NULL, err, errlen);
	if (strchr(target, '/') != NULL)
		return loom_connect_unix(target, err, errlen);
	return client_connect_hostport(target, NULL, err, errlen);
}

struct loom_client *
loom_connect(const char *target, char *err, size_t errlen)
{
	return loom_connect_with(target, NULL, err, errlen);
}
