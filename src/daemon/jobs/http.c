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
 *
 * The arguments are checked and parsed at submit, in http_args.c.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

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
#include "io/hostlimit.h"
#include "io/netpolicy.h"
#include "core/job.h"
#include "jobs/http.h"
#include "jobs/types.h"
#include "io/outbound.h"
#include "runtime/loop.h"
#include "runtime/util.h"

struct http_run {
	struct job		*job;
	const struct http_args	*args;
	struct outbound_dns	*dns;
	uint64_t		 started;
	struct loop_event	 deadline;
	struct loop_event	 done;		/* finish outside libevent's callbacks */

	struct waiter		*wait;		/* queued for a per-host slot */
	bool			 holds_slot;
	struct evdns_getaddrinfo_request *resolving;
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
	if (run->resolving != NULL)
		evdns_getaddrinfo_cancel(run->resolving);	/* calls back now */
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
	/* A copy: the result outlives the run, on any loop (see echo.c). */
	json_object_set_new(r, "headers", run->headers != NULL ?
	    json_deep_copy(run->headers) : json_object());
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
	char			 why[512];

	pthread_once(&http_ssl_index_once, http_ssl_index_init);
	if ((ctx = outbound_tls(why, sizeof(why))) == NULL) {
		error_set(e, "http_error", "%s", why);
		return NULL;
	}
	ssl = SSL_new(ctx);
	SSL_CTX_free(ctx);	/* the SSL holds the context */
	if (ssl == NULL)
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

/* Connect to `addr`, the numeric address the policy has let through. */
static void
http_connect_to(struct http_run *run, const char *addr)
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
	/* No resolver: libevent connects to the address given, no other. */
	run->evcon = evhttp_connection_base_bufferevent_new(base, NULL, bev,
	    addr, (unsigned short)a->port);
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

/*
 * The first address the outbound policy allows, as text for libevent, or
 * -1 with the error ("forbidden", naming the first address refused).
 */
static int
http_pick(struct http_run *run, const struct evutil_addrinfo *ai,
    char *addr, size_t len, struct error *e)
{
	const struct http_args	*a = run->args;
	char			 why[512], first[512] = "";
	const void		*in;

	for (; ai != NULL; ai = ai->ai_next) {
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		if (netpolicy_check(a->policy, a->host, ai->ai_addr, why,
		    sizeof(why)) == -1) {
			if (first[0] == '\0')
				snprintf(first, sizeof(first), "%s", why);
			continue;
		}
		in = ai->ai_family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		if (inet_ntop(ai->ai_family, in, addr, (socklen_t)len) != NULL)
			return 0;
	}
	if (first[0] != '\0')
		error_set(e, "forbidden", "refused to connect to %s: %s", a->key,
		    first);
	else
		error_set(e, "http_error", "cannot resolve %s: no IP address",
		    a->host);
	return -1;
}

static void
http_resolved(int result, struct evutil_addrinfo *ai, void *arg)
{
	struct http_run	*run = arg;
	struct error	 e = { 0 };
	char		 addr[INET6_ADDRSTRLEN];

	if (result == EVUTIL_EAI_CANCEL)
		return;		/* the run is being freed */
	run->resolving = NULL;
	if (result != 0) {
		error_set(&e, "http_error", "cannot resolve %s: %s",
		    run->args->host, evutil_gai_strerror(result));
		http_finish_error(run, &e);
	} else if (http_pick(run, ai, addr, sizeof(addr), &e) == -1)
		http_finish_error(run, &e);
	else
		http_connect_to(run, addr);
	if (ai != NULL)
		evutil_freeaddrinfo(ai);
}

/*
 * Resolve the host ourselves and connect to an address the policy allows:
 * the check is on what is connected to, so no name, and no answer that
 * changes between a check and the connect, can lead elsewhere.
 */
static void
http_connect(struct http_run *run)
{
	const struct http_args		*a = run->args;
	struct evutil_addrinfo		 hints;
	struct evdns_getaddrinfo_request *req;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	hints.ai_flags = a->host_is_ip ? EVUTIL_AI_NUMERICHOST :
	    EVUTIL_AI_ADDRCONFIG;
	/* It may call back before it returns, with run finished. */
	req = evdns_getaddrinfo(outbound_dns_base(run->dns), a->host, NULL,
	    &hints, http_resolved, run);
	if (req != NULL)
		run->resolving = req;
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
