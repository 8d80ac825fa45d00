/*
 * Listeners.  A Unix socket is bound under a temporary name, given its mode,
 * then renamed into place, so it never exists with the wrong permissions;
 * an existing socket file is replaced only if nothing answers on it.  When
 * accept() runs out of descriptors, accepting pauses and a timer re-arms it
 * (OpenSMTPD) instead of spinning on a listener that stays readable.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "net/conn.h"
#include "net/linger.h"
#include "runtime/log.h"
#include "core/loomd.h"
#include "runtime/loop.h"
#include "net/server.h"
#include "net/tls.h"
#include "runtime/util.h"

#define SERVER_LISTENERS_MAX	16
#define SERVER_BACKLOG		1024
#define SERVER_EMFILE_PAUSE_MS	100
#define SERVER_LINGER_MAX	256	/* refused sockets closing politely */

struct listener {
	int		 fd;
	enum conn_transport transport;
	struct event	*ev;
	char		*path;		/* Unix socket file to remove */
	char		 name[128];
};

static struct listener	 listeners[SERVER_LISTENERS_MAX];
static size_t		 nlisteners;
static struct event	*pause_timer;
static unsigned int	 next_loop;
static const struct conn_handler *server_handler;	/* the protocol spoken */
/* Refused connections closing politely: their busy line arrives. */
static struct linger_set server_lingers = {
	TAILQ_HEAD_INITIALIZER(server_lingers.list), 0, SERVER_LINGER_MAX
};

static void
server_pause(void)
{
	struct timeval	tv = { 0, SERVER_EMFILE_PAUSE_MS * 1000 };
	size_t		i;

	log_warn("accept: out of file descriptors; pausing for %d ms",
	    SERVER_EMFILE_PAUSE_MS);
	for (i = 0; i < nlisteners; i++)
		event_del(listeners[i].ev);
	evtimer_add(pause_timer, &tv);
}

static void
server_resume(evutil_socket_t fd, short what, void *arg)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++)
		event_add(listeners[i].ev, NULL);
}

static void
server_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct listener	*l = arg;
	int		 fd, one = 1;
	unsigned int	 i;

	/* Take all that are waiting: one wake-up, many connections. */
	for (i = 0; i < 256; i++) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE)
				server_pause();
			else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept on %s", l->name);
			return;
		}
		if (atomic_load(&conn_counts.current) >= loomd.config->max_connections) {
			/* Plain text would be noise to a TLS client: it just
			 * closes.  The refusal is closed politely, so a reset
			 * does not destroy it before it is read. */
			if (l->transport != CONN_TLS) {
				(void)!send(fd, server_handler->refusal,
				    strlen(server_handler->refusal), MSG_NOSIGNAL);
				linger_close(&server_lingers,
				    event_get_base(l->ev), fd, NULL);
			} else
				close(fd);
			atomic_fetch_add(&conn_counts.rejected, 1);
			continue;
		}
		if (l->transport != CONN_UNIX)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		atomic_fetch_add(&conn_counts.current, 1);
		atomic_fetch_add(&conn_counts.total, 1);
		if (conn_handoff(loomd.loops[next_loop++ % loomd.nloops], fd,
		    l->transport, l->transport == CONN_TLS ? &tls_io : NULL,
		    server_handler) == -1) {
			close(fd);
			atomic_fetch_sub(&conn_counts.current, 1);
		}
	}
}

static int
server_add(struct event_base *base, int fd, enum conn_transport transport,
    const char *name, const char *path, char *err, size_t errlen)
{
	struct listener	*l;

	if (transport == CONN_TLS && !tls_server_loaded()) {
		snprintf(err, errlen, "%s: TLS needs tls.cert_file and "
		    "tls.key_file", name);
		close(fd);
		return -1;
	}
	if (nlisteners == SERVER_LISTENERS_MAX) {
		snprintf(err, errlen, "too many listeners (at most %d)",
		    SERVER_LISTENERS_MAX);
		close(fd);
		return -1;
	}
	l = &listeners[nlisteners++];
	l->fd = fd;
	l->transport = transport;
	l->path = path != NULL ? xstrdup(path) : NULL;
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->ev = event_new(base, fd, EV_READ | EV_PERSIST, server_accept, l);
	event_add(l->ev, NULL);
	log_info("listening on %s", name);
	return 0;
}

/* "HOST:PORT" or "[V6]:PORT". */
static int
server_split(const char *spec, char *host, size_t hostlen, char *port,
    size_t portlen)
{
	const char	*colon;

	if (spec[0] == '[') {
		const char	*close = strchr(spec, ']');

		if (close == NULL || close[1] != ':')
			return -1;
		snprintf(host, hostlen, "%.*s", (int)(close - spec - 1), spec + 1);
		snprintf(port, portlen, "%s", close + 2);
		return 0;
	}
	if ((colon = strrchr(spec, ':')) == NULL)
		return -1;
	snprintf(host, hostlen, "%.*s", (int)(colon - spec), spec);
	snprintf(port, portlen, "%s", colon + 1);
	return 0;
}

static int
server_listen_tcp(struct event_base *base, const char *spec, bool tls,
    char *err, size_t errlen)
{
	const char	*key = tls ? "tls_listen" : "listen";
	struct addrinfo	 hints, *res, *ai;
	char		 host[256], port[32], name[300];
	int		 fd = -1, one = 1, rc;

	if (server_split(spec, host, sizeof(host), port, sizeof(port)) == -1) {
		snprintf(err, errlen, "%s %s: not HOST:PORT", key, spec);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(*host ? host : NULL, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s %s: %s", key, spec, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ai->ai_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SERVER_BACKLOG) == 0)
			break;
		snprintf(err, errlen, "%s %s: %s", key, spec, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return -1;
	snprintf(name, sizeof(name), "%s %s", tls ? "tls" : "tcp", spec);
	return server_add(base, fd, tls ? CONN_TLS : CONN_TCP, name, NULL, err,
	    errlen);
}

/* Is something serving on this socket file?  Then it is not ours to remove. */
static bool
server_socket_live(const struct sockaddr_un *sun)
{
	int	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool	live;

	if (fd == -1)
		return false;
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	return live;
}

static int
server_listen_unix(struct event_base *base, const char *path, mode_t mode,
    char *err, size_t errlen)
{
	struct sockaddr_un	 sun;
	struct stat		 st;
	char			 tmp[sizeof(sun.sun_path)], name[300];
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path) ||
	    snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "unix_socket %s: path too long", path);
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "unix_socket %s: exists and is not a socket",
			    path);
			return -1;
		}
		if (server_socket_live(&sun)) {
			snprintf(err, errlen, "unix_socket %s: another server is "
			    "listening there", path);
			return -1;
		}
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "unix_socket: %s", strerror(errno));
		return -1;
	}
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", tmp);
	unlink(tmp);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(tmp, mode) == -1 || listen(fd, SERVER_BACKLOG) == -1 ||
	    rename(tmp, path) == -1) {
		snprintf(err, errlen, "unix_socket %s: %s", path, strerror(errno));
		unlink(tmp);
		close(fd);
		return -1;
	}
	snprintf(name, sizeof(name), "unix %s", path);
	return server_add(base, fd, CONN_UNIX, name, path, err, errlen);
}

void
server_set_handler(const struct conn_handler *handler)
{
	server_handler = handler;
}

int
server_listen(struct event_base *base, const struct config *cfg, char *err,
    size_t errlen)
{
	size_t	i;

	pause_timer = evtimer_new(base, server_resume, NULL);
	for (i = 0; cfg->listen != NULL && cfg->listen[i] != NULL; i++) {
		if (server_listen_tcp(base, cfg->listen[i], false, err, errlen) == -1)
			return -1;
	}
	for (i = 0; cfg->tls_listen != NULL && cfg->tls_listen[i] != NULL; i++) {
		if (server_listen_tcp(base, cfg->tls_listen[i], true, err,
		    errlen) == -1)
			return -1;
	}
	if (cfg->unix_socket != NULL && *cfg->unix_socket != '\0' &&
	    server_listen_unix(base, cfg->unix_socket, cfg->unix_socket_mode,
	    err, errlen) == -1)
		return -1;
	if (nlisteners == 0) {
		snprintf(err, errlen, "no listeners configured");
		return -1;
	}
	return 0;
}

void
server_close(void)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++) {
		event_free(listeners[i].ev);
		close(listeners[i].fd);
		if (listeners[i].path != NULL) {
			unlink(listeners[i].path);
			free(listeners[i].path);
		}
	}
	nlisteners = 0;
	linger_set_clear(&server_lingers);
	if (pause_timer != NULL) {
		event_free(pause_timer);
		pause_timer = NULL;
	}
}

/*
 * A listener passed by systemd (socket activation): a listening stream
 * socket, TCP or Unix, or TCP for TLS (its FileDescriptorName is "tls").
 * Its socket file belongs to systemd: never removed.
 */
int
server_adopt(struct event_base *base, int fd, bool tls, char *err,
    size_t errlen)
{
	enum conn_transport	 tcp = tls ? CONN_TLS : CONN_TCP;
	const char		*proto = tls ? "tls" : "tcp";

	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss), optlen;
	char			 host[INET6_ADDRSTRLEN], name[300];
	int			 type = 0, listening = 0, flags, port;

	if (pause_timer == NULL)
		pause_timer = evtimer_new(base, server_resume, NULL);
	optlen = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen) == -1 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) == -1) {
		snprintf(err, errlen, "socket activation: descriptor %d is not a "
		    "socket", fd);
		return -1;
	}
	optlen = sizeof(listening);
	if (type != SOCK_STREAM ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) == -1 ||
	    !listening) {
		snprintf(err, errlen, "socket activation: descriptor %d is not a "
		    "listening stream socket", fd);
		return -1;
	}
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		snprintf(err, errlen, "socket activation: descriptor %d: %s", fd,
		    strerror(errno));
		return -1;
	}
	switch (ss.ss_family) {
	case AF_UNIX:
		snprintf(name, sizeof(name), "unix %s (from systemd)",
		    ((struct sockaddr_un *)&ss)->sun_path[0] != '\0' ?
		    ((struct sockaddr_un *)&ss)->sun_path : "(abstract)");
		if (tls)
			break;
		return server_add(base, fd, CONN_UNIX, name, NULL, err, errlen);
	case AF_INET:
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
		    sizeof(host));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		snprintf(name, sizeof(name), "%s %s:%d (from systemd)", proto, host,
		    port);
		return server_add(base, fd, tcp, name, NULL, err, errlen);
	case AF_INET6:
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host,
		    sizeof(host));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		snprintf(name, sizeof(name), "%s [%s]:%d (from systemd)", proto,
		    host, port);
		return server_add(base, fd, tcp, name, NULL, err, errlen);
	}
	if (tls) {
		snprintf(err, errlen, "socket activation: descriptor %d is named "
		    "tls but is not a TCP socket", fd);
		return -1;
	}
	snprintf(err, errlen, "socket activation: descriptor %d: address family "
	    "%d is not TCP or Unix", fd, (int)ss.ss_family);
	return -1;
}

bool
server_has_tcp(void)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++) {
		if (listeners[i].transport != CONN_UNIX)
			return true;
	}
	return false;
}

/* The Unix socket file we made, if any: for chown when dropping privileges. */
const char *
server_unix_path(void)
{
	size_t	i;

	for (i = 0; i < nlisteners; i++) {
		if (listeners[i].path != NULL)
			return listeners[i].path;
	}
	return NULL;
}
