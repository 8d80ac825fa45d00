/*
 * The metrics listener.  Its own loop (a runtime loop with its own thread,
 * numbered past the job loops, owning no shard), so that a scrape, a
 * dashboard poll or a slow client costs the job loops nothing but the
 * posts it makes to them.  What a job loop alone may read (its running
 * jobs, a live job's view, whether it answers at all) is asked for with a
 * post, answered with a post back; a gather has a deadline and answers
 * with what it has when it passes.
 *
 * The sockets are bound by the main thread before privileges are dropped;
 * the loop starts once the job loops run and stops after they have.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <jansson.h>

#include "core/config.h"
#include "core/loomd.h"
#include "core/registry.h"
#include "runtime/future.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"
#include "core/principal.h"
#include "net/auth.h"
#include "service/metrics.h"
#include "service/metrics_private.h"

#define METRICS_SOCKETS_MAX	nitems(M.fds)

struct metrics	M;

/* The first of the spec's addresses that binds, as listen does; -1 with
 * the last address's error if none does. */
static int
metrics_bind(const char *spec, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256], port[32];
	const char	*colon;
	int		 fd = -1, one = 1, rc;

	if (M.nfds == METRICS_SOCKETS_MAX) {
		snprintf(err, errlen, "metrics_listen %s: at most %d addresses",
		    spec, (int)METRICS_SOCKETS_MAX);
		return -1;
	}
	if (spec[0] == '[') {
		colon = strchr(spec, ']');
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec - 1), spec + 1);
		colon++;
	} else {
		colon = strrchr(spec, ':');
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	}
	snprintf(port, sizeof(port), "%s", colon + 1);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "metrics_listen %s: %s", spec, gai_strerror(rc));
		return -1;
	}
	snprintf(err, errlen, "metrics_listen %s: no address", spec);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0)
			break;
		snprintf(err, errlen, "metrics_listen %s: %s", spec, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return -1;
	M.fds[M.nfds++] = fd;
	return 0;
}

int
metrics_open(const struct config *cfg, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; cfg->metrics_listen[i] != NULL; i++) {
		if (metrics_bind(cfg->metrics_listen[i], err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* "http://127.0.0.1:9100/": where it listens, with the port a 0 took. */
static void
metrics_announce(int fd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	char			 host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	log_info("metrics: serving http://%s%s%s:%s/ (/metrics, /healthz, the "
	    "dashboard)%s", ss.ss_family == AF_INET6 ? "[" : "", host,
	    ss.ss_family == AF_INET6 ? "]" : "", port,
	    metrics_auth_required(atomic_load(&loomd.config)) ?
	    "; a token with role read is needed" : "");
}

/* On the metrics loop: the HTTP server on the bound sockets. */
static void
metrics_serve(void *arg)
{
	int	i;

	(void)arg;
	if ((M.http = evhttp_new(loop_base(M.loop))) == NULL)
		fatalx("metrics: evhttp_new");
	evhttp_set_allowed_methods(M.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(M.http, 30);
	evhttp_set_max_headers_size(M.http, 16384);
	evhttp_set_max_body_size(M.http, 0);
	evhttp_set_gencb(M.http, metrics_route, NULL);
	for (i = 0; i < M.nfds; i++) {
		if (evhttp_accept_socket_with_handle(M.http, M.fds[i]) == NULL)
			fatalx("metrics: cannot serve socket %d", M.fds[i]);
		metrics_announce(M.fds[i]);
	}
	metrics_history_start();
}

void
metrics_start(void)
{
	if (M.nfds == 0)
		return;
	M.loop = loop_new(loomd.nloops);
	if (loop_start(M.loop) == -1)
		fatal("metrics loop");
	if (loop_post(M.loop, metrics_serve, NULL) == -1)
		fatalx("metrics: the loop refused its start");
}

/* On the metrics loop, its last call: the server goes with what it holds. */
static void
metrics_close(void *arg)
{
	(void)arg;
	metrics_history_stop();
	metrics_gathers_close();
	if (M.http != NULL)
		evhttp_free(M.http);	/* closes the sockets it was given */
	M.http = NULL;
	M.nfds = 0;
}

struct loop *
metrics_loop(void)
{
	return M.loop;
}

void
metrics_stop(void)
{
	int	i;

	if (M.loop == NULL) {
		for (i = 0; i < M.nfds; i++)
			close(M.fds[i]);
		M.nfds = 0;
		return;
	}
	if (loop_post(M.loop, metrics_close, NULL) == -1)
		log_warnx("metrics: the loop had stopped");
	loop_stop(M.loop);
	loop_join(M.loop);
	loop_free(M.loop);
	M.loop = NULL;
}

/* Routes ---------------------------------------------------------------- */

void
metrics_reply(struct evhttp_request *req, int code, const char *reason,
    const char *type, struct evbuffer *body)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_send_reply(req, code, reason, body);
}

void
metrics_reply_text(struct evhttp_request *req, int code, const char *reason,
    const char *text)
{
	struct evbuffer	*b = evbuffer_new();

	evbuffer_add_printf(b, "%s\n", text);
	metrics_reply(req, code, reason, "text/plain; charset=utf-8", b);
	evbuffer_free(b);
}

void
metrics_reply_json(struct evhttp_request *req, int code, const char *reason,
    json_t *o)
{
	struct evbuffer	*b = evbuffer_new();
	char		*text = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (text != NULL)
		evbuffer_add(b, text, strlen(text));
	free(text);
	metrics_reply(req, code, reason, "application/json", b);
	evbuffer_free(b);
}

/* The bearer of a token's secret (compared in constant time) with role read
 * or admin. */
bool
metrics_auth_check(const struct config *cfg, const char *secret)
{
	const struct config_token	*t;

	t = auth_find_secret(cfg, secret, strlen(secret));
	return t != NULL && (t->roles & (ROLE_READ | ROLE_ADMIN)) != 0;
}

/* With tokens configured: a bearer with role read, else 401. */
static bool
metrics_allowed(struct evhttp_request *req)
{
	const struct config	*cfg = atomic_load(&loomd.config);
	const char		*auth;

	if (!metrics_auth_required(cfg))
		return true;
	auth = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0 &&
	    metrics_auth_check(cfg, auth + 7))
		return true;
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "WWW-Authenticate", "Bearer realm=\"loomd\"");
	metrics_reply_text(req, 401, "Unauthorized", "a token with role read is "
	    "needed: Authorization: Bearer <secret>");
	return false;
}

static void
metrics_get_metrics(struct evhttp_request *req)
{
	struct evbuffer	*b = evbuffer_new();

	metrics_prom_write(b);
	metrics_reply(req, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", b);
	evbuffer_free(b);
}

/* The dashboard's files hold no data: they are served to anyone who can
 * connect; what they show comes from /api/, behind the token. */
static bool
metrics_get_file(struct evhttp_request *req, const char *path)
{
	struct evbuffer	*b;
	size_t		 i;

	for (i = 0; i < dashboard_nfiles; i++) {
		if (strcmp(dashboard_files[i].path, path) != 0)
			continue;
		b = evbuffer_new();
		evbuffer_add_reference(b, dashboard_files[i].data,
		    dashboard_files[i].len, NULL, NULL);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Security-Policy", "default-src 'self'; "
		    "img-src 'self' data:; frame-ancestors 'none'");
		metrics_reply(req, 200, "OK", dashboard_files[i].type, b);
		evbuffer_free(b);
		return true;
	}
	return false;
}

void
metrics_route(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

	(void)arg;
	if (path == NULL || *path == '\0')
		path = "/";
	if (strcmp(path, "/healthz") == 0) {
		metrics_healthz(req);	/* no secret in it: for probes */
		return;
	}
	if (metrics_get_file(req, path))
		return;
	if (strcmp(path, "/metrics") == 0) {
		if (metrics_allowed(req))
			metrics_get_metrics(req);
		return;
	}
	if (strncmp(path, "/api/", 5) == 0) {
		if (metrics_allowed(req))
			metrics_api(req, path + 5);
		return;
	}
	metrics_reply_text(req, 404, "Not Found", "not found: /metrics, /healthz, "
	    "/ (the dashboard), /api/overview, /api/job/ID");
}
