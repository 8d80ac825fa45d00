/*
 * http: one HTTP/1.1 request with libevent's evhttp client, on the owner
 * loop, over TLS for https:// (DESIGN.md, "TLS and outbound HTTP").
 *
 * Each request has its own connection (Connection: close) and its own
 * deadline timer: `timeout` bounds the whole request, from the wait for a
 * per-host slot to the last byte of the body.  libevent's defaults (no size
 * limits, 45-50 s inactivity timeouts) are replaced: the body is limited to
 * `max_body`, the headers to HTTP_HEADERS_MAX, and libevent's own timeouts
 * are set past the deadline so that the deadline always speaks first.
 *
 * The result is {"status", "headers", "body", "bytes", "sha256", "elapsed"}
 * for any status (a 404 is done).  Header names are lowercased; a header
 * received more than once is joined with ", ".  `body` is text with each
 * byte that is not valid UTF-8 replaced by U+FFFD (the default), base64, or
 * null with response_body "none"; `bytes` and `sha256` are always those of
 * the body as received.  No response at all fails with http_error and a
 * message saying what went wrong (resolving, connecting, TLS verification,
 * the deadline); a body over max_body fails with too_large.
 *
 * HTTPS verifies the peer against the system's CA store plus [http]
 * ca_file, sends SNI and checks the host name (or IP address) with OpenSSL;
 * the TLS context and each loop's resolver come from outbound.c.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/dns.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "runtime/bytes.h"
#include "core/config.h"
#include "runtime/fields.h"
#include "io/hostlimit.h"
#include "core/job.h"
#include "jobs/types.h"
#include "runtime/log.h"
#include "io/outbound.h"
#include "runtime/loop.h"
#include "runtime/util.h"

#define HTTP_URL_MAX		8192
#define HTTP_HEADERS_ARG_MAX	100		/* headers a job may send */
#define HTTP_HEADER_VALUE_MAX	8192
#define HTTP_HEADERS_MAX	(64 * 1024)	/* bytes of response headers */

enum http_response_body {
	HTTP_BODY_TEXT,
	HTTP_BODY_BASE64,
	HTTP_BODY_NONE,
};

struct http_header {
	char	*name;
	char	*value;
};

struct http_args {
	bool			 https;
	char			*host;		/* to connect to: no [brackets] */
	bool			 host_is_ip;
	int			 port;
	char			*host_header;	/* Host: as in the URL */
	char			*key;		/* per-host limit: host:port */
	char			*target;	/* path and query */
	enum evhttp_cmd_type	 method;
	struct http_header	*headers;
	size_t			 nheaders;
	char			*body;		/* NULL: none */
	size_t			 body_len;
	double			 timeout;
	size_t			 max_body;
	enum http_response_body	 response_body;
	unsigned int		 per_host;
	char			*user_agent;	/* NULL: none */
};

static const char *const http_fields[] = {
	"url", "method", "headers", "body", "timeout", "max_body",
	"response_body", NULL
};
static const char *const http_response_bodies[] = {
	"text", "base64", "none", NULL
};

static const struct {
	const char		*name;
	enum evhttp_cmd_type	 type;
} http_methods[] = {
	{ "GET", EVHTTP_REQ_GET },
	{ "HEAD", EVHTTP_REQ_HEAD },
	{ "POST", EVHTTP_REQ_POST },
	{ "PUT", EVHTTP_REQ_PUT },
	{ "DELETE", EVHTTP_REQ_DELETE },
	{ "OPTIONS", EVHTTP_REQ_OPTIONS },
	{ "PATCH", EVHTTP_REQ_PATCH },
};

/* Headers loomd writes itself, for framing the one request it sends. */
static const char *const http_reserved_headers[] = {
	"Content-Length", "Transfer-Encoding", "Connection", NULL
};

/* Parsing ------------------------------------------------------------- */

static void
http_free_parsed(void *parsed)
{
	struct http_args	*a = parsed;
	size_t			 i;

	if (a == NULL)
		return;
	free(a->host);
	free(a->host_header);
	free(a->key);
	free(a->target);
	for (i = 0; i < a->nheaders; i++) {
		free(a->headers[i].name);
		free(a->headers[i].value);
	}
	free(a->headers);
	free(a->body);
	free(a->user_agent);
	free(a);
}

static int
http_parse_url(const char *url, const char *base, struct http_args *a,
    struct error *e)
{
	struct evhttp_uri	*uri;
	const char		*scheme, *host, *path, *query;
	unsigned char		 addr[sizeof(struct in6_addr)];
	size_t			 len;
	char			*p;
	int			 port, rc = -1;

	if ((uri = evhttp_uri_parse_with_flags(url, 0)) == NULL)
		return fields_fail(e, base, "url", "is not a valid URL");
	scheme = evhttp_uri_get_scheme(uri);
	if (scheme == NULL || (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0)) {
		fields_fail(e, base, "url", "must be an http:// or https:// URL");
		goto out;
	}
	a->https = strcasecmp(scheme, "https") == 0;
	if ((host = evhttp_uri_get_host(uri)) == NULL || *host == '\0') {
		fields_fail(e, base, "url", "has no host");
		goto out;
	}
	if (evhttp_uri_get_userinfo(uri) != NULL) {
		fields_fail(e, base, "url", "must not carry credentials (send an "
		    "Authorization header instead)");
		goto out;
	}
	if ((port = evhttp_uri_get_port(uri)) == 0 || port > 65535) {
		fields_fail(e, base, "url", "has an invalid port");
		goto out;
	}

	len = strlen(host);
	if (host[0] == '[') {
		a->host = xstrdup(host + 1);
		a->host[len - 2] = '\0';
	} else
		a->host = xstrdup(host);
	for (p = a->host; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	a->host_is_ip = inet_pton(AF_INET, a->host, addr) == 1 ||
	    inet_pton(AF_INET6, a->host, addr) == 1;
	if (host[0] == '[' && !a->host_is_ip) {
		fields_fail(e, base, "url", "has an invalid IPv6 address");
		goto out;
	}
	a->port = port != -1 ? port : a->https ? 443 : 80;
	if (port != -1)
		xasprintf(&a->host_header, "%s:%d", host, port);
	else
		a->host_header = xstrdup(host);
	xasprintf(&a->key, strchr(a->host, ':') != NULL ? "[%s]:%d" : "%s:%d",
	    a->host, a->port);

	path = evhttp_uri_get_path(uri);
	query = evhttp_uri_get_query(uri);
	xasprintf(&a->target, "%s%s%s", path != NULL && *path != '\0' ? path : "/",
	    query != NULL ? "?" : "", query != NULL ? query : "");
	rc = 0;
out:
	evhttp_uri_free(uri);
	return rc;
}

static int
http_parse_method(const json_t *args, const char *base, struct http_args *a,
    struct error *e)
{
	const char	*m = NULL;
	size_t		 i;

	a->method = EVHTTP_REQ_GET;
	if (field_string(args, base, "method", FIELD_OPTIONAL, 16, &m, e) == -1)
		return -1;
	if (m == NULL)
		return 0;
	for (i = 0; i < nitems(http_methods); i++) {
		if (strcasecmp(m, http_methods[i].name) == 0) {
			a->method = http_methods[i].type;
			return 0;
		}
	}
	return fields_fail(e, base, "method", "must be one of GET, HEAD, POST, PUT, "
	    "DELETE, OPTIONS, PATCH");
}

static bool
http_token_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return false;
	}
	return true;
}

static int
http_parse_headers(const json_t *obj, const char *base, struct http_args *a,
    struct error *e)
{
	char		 hbase[512];
	const char	*name, *value;
	json_t		*v;
	size_t		 i;

	if (!json_is_object(obj))
		return fields_fail(e, base, "headers", "must be an object of strings");
	if (json_object_size(obj) > HTTP_HEADERS_ARG_MAX)
		return fields_fail(e, base, "headers", "must have at most %d members",
		    HTTP_HEADERS_ARG_MAX);
	field_path(hbase, sizeof(hbase), base, "headers");
	a->headers = xcalloc(json_object_size(obj), sizeof(*a->headers));
	json_object_foreach((json_t *)obj, name, v) {
		if (!http_token_ok(name))
			return fields_fail(e, hbase, name, "is not a header name");
		for (i = 0; http_reserved_headers[i] != NULL; i++) {
			if (strcasecmp(name, http_reserved_headers[i]) == 0)
				return fields_fail(e, hbase, name, "is set by loomd");
		}
		if (!json_is_string(v))
			return fields_fail(e, hbase, name, "must be a string");
		value = json_string_value(v);
		if (json_string_length(v) > HTTP_HEADER_VALUE_MAX)
			return fields_fail(e, hbase, name, "must be at most %d bytes",
			    HTTP_HEADER_VALUE_MAX);
		if (strlen(value) != json_string_length(v) ||
		    strpbrk(value, "\r\n") != NULL)
			return fields_fail(e, hbase, name, "must not contain CR, LF "
			    "or NUL");
		a->headers[a->nheaders].name = xstrdup(name);
		a->headers[a->nheaders].value = xstrdup(value);
		a->nheaders++;
	}
	return 0;
}

static int
http_parse(const json_t *args, const char *base, const struct config *cfg,
    void **parsed, struct error *e)
{
	struct http_args	*a;
	const char		*url = NULL;
	const json_t		*v;
	double			 timeout = cfg->http.timeout;
	json_int_t		 max_body = (json_int_t)cfg->http.max_body;
	int			 response_body = HTTP_BODY_TEXT;

	if (args == NULL)
		return fields_fail(e, base, "url", "is required");
	if (fields_object(args, base, http_fields, e) == -1 ||
	    field_string(args, base, "url", FIELD_REQUIRED, HTTP_URL_MAX, &url,
	    e) == -1 ||
	    field_number_above(args, base, "timeout", FIELD_OPTIONAL, 0,
	    SECONDS_MAX, &timeout, e) == -1 ||
	    field_integer(args, base, "max_body", FIELD_OPTIONAL, 0,
	    (json_int_t)cfg->http.max_body, &max_body, e) == -1 ||
	    field_choice(args, base, "response_body", FIELD_OPTIONAL,
	    http_response_bodies, &response_body, e) == -1)
		return -1;

	a = xcalloc(1, sizeof(*a));
	if (http_parse_url(url, base, a, e) == -1 ||
	    http_parse_method(args, base, a, e) == -1)
		goto fail;
	if ((v = json_object_get(args, "headers")) != NULL && !json_is_null(v) &&
	    http_parse_headers(v, base, a, e) == -1)
		goto fail;
	if ((v = json_object_get(args, "body")) != NULL && !json_is_null(v)) {
		if (!json_is_string(v)) {
			fields_fail(e, base, "body", "must be a string");
			goto fail;
		}
		a->body_len = json_string_length(v);
		a->body = xmalloc(a->body_len + 1);
		memcpy(a->body, json_string_value(v), a->body_len + 1);
	}
	a->timeout = timeout;
	a->max_body = (size_t)max_body;
	a->response_body = response_body;
	a->per_host = cfg->http.per_host;
	if (cfg->http.user_agent != NULL && *cfg->http.user_agent != '\0')
		a->user_agent = xstrdup(cfg->http.user_agent);
	*parsed = a;
	return 0;
fail:
	http_free_parsed(a);
	return -1;
}

/* Running ------------------------------------------------------------- */

struct http_run {
	struct job		*job;
	const struct http_args	*args;
	struct outbound_dns	*dns;
	uint64_t		 started;
	struct loop_event	 deadline;
	struct loop_event	 done;		/* finish outside libevent's callbacks */

	struct waiter		*wait;		/* queued for a per-host slot */
	bool			 holds_slot;
	struct evhttp_connection *evcon;
	bool			 called_back;	/* libevent is done with the request */

	/* How connecting went, seen before libevent resets the connection. */
	bufferevent_event_cb	 conn_cb;
	void			*conn_arg;
	bool			 conn_failed;
	short			 conn_what;
	int			 conn_errno;
	int			 dns_error;
	unsigned long		 tls_error;
	long			 verify_error;	/* X509_V_OK: none seen */

	/* The response. */
	int			 failure;	/* an evhttp_request_error, or -1 */
	int			 failure_errno;
	bool			 got_headers;
	bool			 complete;
	int			 status;
	json_t			*headers;
	struct evbuffer		*body;
};

static int	http_ssl_index = -1;
static pthread_once_t	http_ssl_index_once = PTHREAD_ONCE_INIT;

static void
http_ssl_index_init(void)
{
	http_ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static void
http_run_free(struct http_run *run)
{
	event_del(&run->deadline.ev);
	event_del(&run->done.ev);
	if (run->wait != NULL)
		hostlimit_cancel(run->wait);
	if (run->evcon != NULL)
		evhttp_connection_free(run->evcon);
	if (run->holds_slot)
		hostlimit_release(run->args->key);
	outbound_dns_put(run->dns);
	json_decref(run->headers);
	evbuffer_free(run->body);
	free(run);
}

static void
http_finish_error(struct http_run *run, struct error *e)
{
	struct job	*job = run->job;

	job_set_type_state(job, NULL);
	http_run_free(run);
	job_fail(job, e);
}

/* Record the first certificate problem, which SSL_clear() would forget. */
static int
http_verify_cb(int ok, X509_STORE_CTX *store)
{
	SSL		*ssl = X509_STORE_CTX_get_ex_data(store,
			    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct http_run	*run = ssl != NULL ? SSL_get_ex_data(ssl, http_ssl_index) :
			    NULL;

	if (!ok && run != NULL && run->verify_error == X509_V_OK)
		run->verify_error = X509_STORE_CTX_get_error(store);
	return ok;
}

/*
 * While connecting, libevent's own event callback goes through this one,
 * which notes the error before libevent resets the connection (and errno,
 * and the TLS state).  libevent replaces it once connected.
 */
static void
http_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct http_run	*run = arg;
	int		 saved = errno;

	if (!(what & BEV_EVENT_CONNECTED) && !run->conn_failed) {
		run->conn_failed = true;
		run->conn_what = what;
		run->conn_errno = saved;
		run->dns_error = bufferevent_socket_get_dns_error(bev);
		if (run->args->https)
			run->tls_error = bufferevent_get_openssl_error(bev);
	}
	errno = saved;
	run->conn_cb(bev, what, run->conn_arg);
}

static int
http_header_cb(struct evhttp_request *req, void *arg)
{
	struct http_run		*run = arg;
	struct evkeyvalq	*hs = evhttp_request_get_input_headers(req);
	struct evkeyval		*h;
	json_t			*old;
	char			*name, *p, *joined;

	run->got_headers = true;
	run->status = evhttp_request_get_response_code(req);
	json_decref(run->headers);
	run->headers = json_object();
	TAILQ_FOREACH(h, hs, next) {
		name = xstrdup(h->key);
		for (p = name; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if ((old = json_object_get(run->headers, name)) != NULL) {
			xasprintf(&joined, "%s, %s", json_string_value(old), h->value);
			json_object_set_new(run->headers, name, bytes_text(joined,
			    strlen(joined)));
			free(joined);
		} else {
			json_object_set_new(run->headers, name, bytes_text(h->value,
			    strlen(h->value)));
		}
		free(name);
	}
	return 0;
}

static void
http_error_cb(enum evhttp_request_error error, void *arg)
{
	struct http_run	*run = arg;

	run->failure = (int)error;
	run->failure_errno = errno;
}

static void
http_response_cb(struct evhttp_request *req, void *arg)
{
	struct http_run	*run = arg;

	run->called_back = true;
	if (req != NULL && evhttp_request_get_response_code(req) != 0) {
		if (!run->got_headers)
			http_header_cb(req, run);
		evbuffer_add_buffer(run->body, evhttp_request_get_input_buffer(req));
		run->complete = true;
	}
	/* libevent frees req after this returns, and may still use the
	 * connection: finish from the loop instead. */
	event_active(&run->done.ev, EV_TIMEOUT, 0);
}

/* Why no response came, as precisely as libevent lets us know. */
static void
http_explain(const struct http_run *run, struct error *e)
{
	const struct http_args	*a = run->args;
	char			 why[256];

	if (run->failure == EVREQ_HTTP_DATA_TOO_LONG) {
		if (run->got_headers)
			error_set(e, "too_large", "the response body from %s is larger "
			    "than max_body (%zu bytes)", a->key, a->max_body);
		else
			error_set(e, "too_large", "the response headers from %s are "
			    "larger than %d bytes", a->key, HTTP_HEADERS_MAX);
		return;
	}
	if (run->dns_error != 0) {
		error_set(e, "http_error", "cannot resolve %s: %s", a->host,
		    evutil_gai_strerror(run->dns_error));
		return;
	}
	if (run->verify_error == X509_V_ERR_HOSTNAME_MISMATCH ||
	    run->verify_error == X509_V_ERR_IP_ADDRESS_MISMATCH) {
		error_set(e, "http_error", "TLS certificate verification failed: the "
		    "certificate of %s is not valid for the %s %s (%s)", a->key,
		    a->host_is_ip ? "IP address" : "host name", a->host,
		    X509_verify_cert_error_string(run->verify_error));
		return;
	}
	if (run->verify_error != X509_V_OK) {
		error_set(e, "http_error", "TLS certificate verification failed for "
		    "%s: %s", a->key, X509_verify_cert_error_string(run->verify_error));
		return;
	}
	if (run->tls_error != 0) {
		ERR_error_string_n(run->tls_error, why, sizeof(why));
		error_set(e, "http_error", "TLS handshake with %s failed: %s", a->key,
		    why);
		return;
	}
	if (run->conn_failed) {
		if (a->https && (run->conn_what & BEV_EVENT_EOF))
			error_set(e, "http_error", "%s closed the connection during the "
			    "TLS handshake", a->key);
		else if (run->conn_what & BEV_EVENT_TIMEOUT)
			error_set(e, "http_error", "cannot connect to %s: timed out",
			    a->key);
		else if (run->conn_errno != 0)
			error_set(e, "http_error", "cannot connect to %s: %s", a->key,
			    strerror(run->conn_errno));
		else
			error_set(e, "http_error", "cannot connect to %s", a->key);
		return;
	}
	switch (run->failure) {
	case EVREQ_HTTP_EOF:
		if (run->failure_errno != 0 && run->failure_errno != EAGAIN)
			error_set(e, "http_error", "%s closed the connection before a "
			    "complete response: %s", a->key, strerror(run->failure_errno));
		else
			error_set(e, "http_error", "%s closed the connection before a "
			    "complete response", a->key);
		break;
	case EVREQ_HTTP_INVALID_HEADER:
		error_set(e, "http_error", "%s sent a malformed response", a->key);
		break;
	case EVREQ_HTTP_TIMEOUT:
		error_set(e, "http_error", "%s stopped answering", a->key);
		break;
	default:
		error_set(e, "http_error", "no response from %s", a->key);
		break;
	}
}

static json_t *
http_result(struct http_run *run)
{
	const struct http_args	*a = run->args;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	char			 hex[2 * EVP_MAX_MD_SIZE + 1];
	size_t			 len = evbuffer_get_length(run->body);
	const unsigned char	*body = evbuffer_pullup(run->body, -1);
	json_t			*r = json_object();

	if (body == NULL)
		body = (const unsigned char *)"";
	EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[2 * mdlen] = '\0';

	json_object_set_new(r, "status", json_integer(run->status));
	json_object_set_new(r, "headers", run->headers != NULL ?
	    json_incref(run->headers) : json_object());
	switch (a->response_body) {
	case HTTP_BODY_TEXT:
		json_object_set_new(r, "body", bytes_text(body, len));
		break;
	case HTTP_BODY_BASE64:
		json_object_set_new(r, "body", bytes_base64(body, len));
		break;
	case HTTP_BODY_NONE:
		json_object_set_new(r, "body", json_null());
		break;
	}
	json_object_set_new(r, "bytes", json_integer((json_int_t)len));
	json_object_set_new(r, "sha256", json_string(hex));
	json_object_set_new(r, "elapsed",
	    json_real((double)(now_ns() - run->started) / 1e9));
	return r;
}

static void
http_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_run	*run = arg;
	struct job	*job = run->job;
	struct error	 e = { 0 };
	json_t		*result;

	if (!run->complete) {
		/* A resolver failure can end the request before we watch it. */
		if (run->dns_error == 0)
			run->dns_error = bufferevent_socket_get_dns_error(
			    evhttp_connection_get_bufferevent(run->evcon));
		http_explain(run, &e);
		ERR_clear_error();
		http_finish_error(run, &e);
		return;
	}
	result = http_result(run);
	job_set_type_state(job, NULL);
	http_run_free(run);
	job_succeed(job, result);
}

static void
http_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_run		*run = arg;
	const struct http_args	*a = run->args;
	struct error		 e = { 0 };

	if (run->wait != NULL)
		error_set(&e, "http_error", "timed out after %gs waiting for a "
		    "connection to %s (per_host allows %u at once)", a->timeout,
		    a->key, a->per_host);
	else if (run->got_headers)
		error_set(&e, "http_error", "timed out after %gs reading the "
		    "response body from %s", a->timeout, a->key);
	else
		error_set(&e, "http_error", "timed out after %gs: no response from "
		    "%s", a->timeout, a->key);
	http_finish_error(run, &e);
}

static struct bufferevent *
http_tls_bufferevent(struct http_run *run, struct event_base *base,
    struct error *e)
{
	const struct http_args	*a = run->args;
	struct bufferevent	*bev;
	SSL_CTX			*ctx;
	SSL			*ssl;
	const char		*why;

	pthread_once(&http_ssl_index_once, http_ssl_index_init);
	if ((ctx = outbound_tls(&why)) == NULL) {
		error_set(e, "http_error", "%s", why);
		return NULL;
	}
	if ((ssl = SSL_new(ctx)) == NULL)
		goto fail;
	SSL_set_ex_data(ssl, http_ssl_index, run);
	SSL_set_verify(ssl, SSL_VERIFY_PEER, http_verify_cb);
	if (a->host_is_ip) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), a->host) != 1)
			goto fail;
	} else if (SSL_set_tlsext_host_name(ssl, a->host) != 1 ||
	    SSL_set1_host(ssl, a->host) != 1)
		goto fail;
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (bev == NULL)
		goto fail;
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
fail:
	SSL_free(ssl);
	ERR_clear_error();
	error_set(e, "http_error", "cannot set up TLS for %s", a->key);
	return NULL;
}

static void
http_connect(struct http_run *run)
{
	const struct http_args	*a = run->args;
	struct event_base	*base = loop_base(job_loop(run->job));
	struct bufferevent	*bev = NULL;
	struct evhttp_request	*req;
	struct evkeyvalq	*out;
	struct error		 e = { 0 };
	struct timeval		 tv;
	bufferevent_data_cb	 rcb, wcb;
	char			 len[32];
	size_t			 i;
	bool			 agent = false;

	if (a->https && (bev = http_tls_bufferevent(run, base, &e)) == NULL) {
		http_finish_error(run, &e);
		return;
	}
	run->evcon = evhttp_connection_base_bufferevent_new(base,
	    outbound_dns_base(run->dns), bev,
	    a->host, (unsigned short)a->port);
	if (run->evcon == NULL) {
		if (bev != NULL)
			bufferevent_free(bev);
		error_set(&e, "http_error", "cannot set up a connection to %s",
		    a->key);
		http_finish_error(run, &e);
		return;
	}
	evhttp_connection_set_max_headers_size(run->evcon, HTTP_HEADERS_MAX);
	evhttp_connection_set_max_body_size(run->evcon, (ev_ssize_t)a->max_body);
	seconds_to_timeval(a->timeout + 60, &tv);	/* the deadline is ours */
	evhttp_connection_set_timeout_tv(run->evcon, &tv);

	req = evhttp_request_new(http_response_cb, run);
	evhttp_request_set_header_cb(req, http_header_cb);
	evhttp_request_set_error_cb(req, http_error_cb);
	out = evhttp_request_get_output_headers(req);
	evhttp_add_header(out, "Host", a->host_header);
	for (i = 0; i < a->nheaders; i++) {
		if (strcasecmp(a->headers[i].name, "Host") == 0)
			evhttp_remove_header(out, "Host");
		if (strcasecmp(a->headers[i].name, "User-Agent") == 0)
			agent = true;
		evhttp_add_header(out, a->headers[i].name, a->headers[i].value);
	}
	if (!agent && a->user_agent != NULL)
		evhttp_add_header(out, "User-Agent", a->user_agent);
	evhttp_add_header(out, "Connection", "close");
	if (a->body != NULL || a->method == EVHTTP_REQ_POST ||
	    a->method == EVHTTP_REQ_PUT || a->method == EVHTTP_REQ_PATCH) {
		snprintf(len, sizeof(len), "%zu", a->body_len);
		evhttp_add_header(out, "Content-Length", len);
		if (a->body_len > 0)
			evbuffer_add(evhttp_request_get_output_buffer(req), a->body,
			    a->body_len);
	}

	if (evhttp_make_request(run->evcon, req, a->method, a->target) == -1) {
		error_set(&e, "http_error", "cannot start a request to %s", a->key);
		http_finish_error(run, &e);
		return;
	}
	/* Watch the connecting, unless it is over already. */
	bev = evhttp_connection_get_bufferevent(run->evcon);
	if (!run->called_back) {
		bufferevent_getcb(bev, &rcb, &wcb, &run->conn_cb, &run->conn_arg);
		if (run->conn_cb != NULL)
			bufferevent_setcb(bev, rcb, wcb, http_conn_event, run);
	}
}

/* A per-host slot came free on some loop and is ours now. */
static void
http_granted(void *arg)
{
	struct http_run	*run = arg;

	run->wait = NULL;
	run->holds_slot = true;
	http_connect(run);
}

static void
http_start(struct job *job, void *parsed)
{
	const struct http_args	*a = parsed;
	struct loop		*loop = job_loop(job);
	struct outbound_dns	*dns;
	struct http_run		*run;
	struct error		 e = { 0 };
	struct timeval		 tv;

	if ((dns = outbound_dns_get(loop)) == NULL) {
		error_set(&e, "shutting_down", "the loop is stopping");
		job_fail(job, &e);
		return;
	}
	run = xcalloc(1, sizeof(*run));
	run->job = job;
	run->args = a;
	run->dns = dns;
	run->started = now_ns();
	run->failure = -1;
	run->verify_error = X509_V_OK;
	run->body = evbuffer_new();
	loop_event_assign(&run->deadline, loop, -1, 0, http_deadline_cb, run);
	seconds_to_timeval(a->timeout, &tv);
	event_add(&run->deadline.ev, &tv);
	loop_event_assign(&run->done, loop, -1, 0, http_done_cb, run);
	job_set_type_state(job, run);

	if (hostlimit_acquire(a->key, a->per_host, loop, http_granted, run,
	    &run->wait) == 1) {
		run->holds_slot = true;
		http_connect(run);
	}
}

static void
http_cancel(struct job *job, void *parsed)
{
	struct http_run	*run = job_type_state(job);

	if (run == NULL)
		return;
	job_set_type_state(job, NULL);
	http_run_free(run);
}

const struct job_type job_type_http = {
	.name = "http",
	.runs = JOB_RUNS_LOOP,
	.parse = http_parse,
	.free_parsed = http_free_parsed,
	.start = http_start,
	.cancel = http_cancel,
};
