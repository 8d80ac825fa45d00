/*
 * http jobs against test servers started here: each is a thread with its
 * own libevent base and evhttp on 127.0.0.1, one plain, one HTTPS with a CA
 * and a server certificate made at test time.
 */
#include "autoconf.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cmocka.h>

#include "harness.h"
#include "testcert.h"

/* A test HTTP(S) server -------------------------------------------------- */

struct server {
	pthread_t		 thread;
	struct event_base	*base;
	struct evhttp		*http;
	struct event		*wake;
	int			 wake_fds[2];
	SSL_CTX			*tls;		/* NULL: plain HTTP */
	int			 port;
	atomic_int		 concurrent;	/* /count requests being held */
	atomic_int		 max_concurrent;
	atomic_int		 requests;
};

/* A /hold or /count request, answered by a timer unless its client goes first. */
struct held {
	struct server		*srv;
	bool			 counted;
	struct evhttp_request	*req;
	struct event		*timer;
};

static struct server	plain, tls;
static struct daemon	d;
static char		dir[64];
static char		ca_opt[256];

static void
server_wake(evutil_socket_t fd, short what, void *arg)
{
	struct server	*s = arg;

	event_base_loopbreak(s->base);
}

static void
held_done(struct held *h)
{
	if (h->counted)
		atomic_fetch_sub(&h->srv->concurrent, 1);
	event_free(h->timer);
	free(h);
}

static void
held_gone(struct evhttp_connection *evcon, void *arg)
{
	held_done(arg);
}

static void
held_answer(evutil_socket_t fd, short what, void *arg)
{
	struct held	*h = arg;

	evhttp_connection_set_closecb(evhttp_request_get_connection(h->req), NULL,
	    NULL);
	evhttp_send_reply(h->req, 200, "OK", NULL);
	held_done(h);
}

static void
serve_hold(struct server *s, struct evhttp_request *req, int ms, bool counted)
{
	struct held	*h = calloc(1, sizeof(*h));
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	int		 now, max;

	h->srv = s;
	h->req = req;
	h->timer = evtimer_new(s->base, held_answer, h);
	evtimer_add(h->timer, &tv);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req), held_gone,
	    h);
	if (!(h->counted = counted))
		return;
	now = atomic_fetch_add(&s->concurrent, 1) + 1;
	max = atomic_load(&s->max_concurrent);
	while (now > max && !atomic_compare_exchange_weak(&s->max_concurrent, &max,
	    now))
		;
}

/* /echo answers with what it received, as JSON. */
static void
serve_echo(struct evhttp_request *req)
{
	struct evkeyvalq	*in = evhttp_request_get_input_headers(req);
	struct evbuffer		*body = evhttp_request_get_input_buffer(req);
	struct evbuffer		*out = evbuffer_new();
	struct evkeyval		*h;
	json_t			*j = json_object(), *hs = json_object();
	char			*text;
	const char		*method;

	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET: method = "GET"; break;
	case EVHTTP_REQ_POST: method = "POST"; break;
	case EVHTTP_REQ_PUT: method = "PUT"; break;
	case EVHTTP_REQ_DELETE: method = "DELETE"; break;
	default: method = "other"; break;
	}
	TAILQ_FOREACH(h, in, next)
		json_object_set_new(hs, h->key, json_string(h->value));
	json_object_set_new(j, "method", json_string(method));
	json_object_set_new(j, "uri", json_string(evhttp_request_get_uri(req)));
	json_object_set_new(j, "headers", hs);
	json_object_set_new(j, "body", json_stringn((const char *)evbuffer_pullup(body,
	    -1), evbuffer_get_length(body)));
	text = json_dumps(j, JSON_COMPACT);
	evbuffer_add(out, text, strlen(text));
	evhttp_add_header(evhttp_request_get_output_headers(req), "X-Test", "one");
	evhttp_add_header(evhttp_request_get_output_headers(req), "X-Test", "two");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
	free(text);
	json_decref(j);
}

static void
serve(struct evhttp_request *req, void *arg)
{
	struct server	*s = arg;
	const char	*uri = evhttp_request_get_uri(req);
	struct evbuffer	*out = evbuffer_new();
	unsigned char	 bytes[256];
	char		*big;
	int		 i, ms;

	atomic_fetch_add(&s->requests, 1);
	if (strncmp(uri, "/echo", 5) == 0)
		serve_echo(req);
	else if (strcmp(uri, "/binary") == 0) {
		for (i = 0; i < 256; i++)
			bytes[i] = (unsigned char)i;
		evbuffer_add(out, bytes, sizeof(bytes));
		evhttp_send_reply(req, 200, "OK", out);
	} else if (strcmp(uri, "/big") == 0) {
		big = malloc(100000);
		memset(big, 'b', 100000);
		evbuffer_add(out, big, 100000);
		free(big);
		evhttp_send_reply(req, 200, "OK", out);
	} else if (strcmp(uri, "/chunked") == 0) {
		/* No Content-Length: the limit must bite while reading. */
		evhttp_send_reply_start(req, 200, "OK");
		for (i = 0; i < 5; i++) {
			evbuffer_add(out, "0123456789", 10);
			evhttp_send_reply_chunk(req, out);
		}
		evhttp_send_reply_end(req);
	} else if (sscanf(uri, "/hold?ms=%d", &ms) == 1)
		serve_hold(s, req, ms, false);
	else if (sscanf(uri, "/count?ms=%d", &ms) == 1)
		serve_hold(s, req, ms, true);
	else {
		evbuffer_add_printf(out, "nothing at %s", uri);
		evhttp_send_reply(req, 404, "Not Found", out);
	}
	evbuffer_free(out);
}

static struct bufferevent *
server_tls_bev(struct event_base *base, void *arg)
{
	struct server	*s = arg;

	return bufferevent_openssl_socket_new(base, -1, SSL_new(s->tls),
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

static void *
server_main(void *arg)
{
	struct server	*s = arg;

	event_base_dispatch(s->base);
	return NULL;
}

static void
server_start(struct server *s, SSL_CTX *ctx)
{
	struct evhttp_bound_socket	*bound;
	struct sockaddr_in		 sin;
	socklen_t			 len = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->tls = ctx;
	assert_non_null(s->base = event_base_new());
	assert_non_null(s->http = evhttp_new(s->base));
	evhttp_set_gencb(s->http, serve, s);
	if (ctx != NULL)
		evhttp_set_bevcb(s->http, server_tls_bev, s);
	assert_non_null(bound = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0));
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bound),
	    (struct sockaddr *)&sin, &len), 0);
	s->port = ntohs(sin.sin_port);
	assert_int_equal(pipe(s->wake_fds), 0);
	s->wake = event_new(s->base, s->wake_fds[0], EV_READ, server_wake, s);
	event_add(s->wake, NULL);
	assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void
server_stop(struct server *s)
{
	(void)!write(s->wake_fds[1], "x", 1);
	pthread_join(s->thread, NULL);
	evhttp_free(s->http);
	event_free(s->wake);
	event_base_free(s->base);
	close(s->wake_fds[0]);
	close(s->wake_fds[1]);
	SSL_CTX_free(s->tls);
}

/* A test CA and a server certificate --------------------------------------- */

/* Writes DIR/ca.pem; the server certificate is for IP 127.0.0.1 only. */
static SSL_CTX *
make_tls(void)
{
	EVP_PKEY	*ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
	X509		*ca, *cert;
	SSL_CTX		*ctx;
	char		 path[128];
	FILE		*fp;

	assert_non_null(ca_key);
	assert_non_null(key);
	ca = make_cert(ca_key, "loom test CA", NULL, NULL, NULL, 1);
	cert = make_cert(key, "loom test server", ca, ca_key, "IP:127.0.0.1",
	    2);
	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	assert_non_null(fp = fopen(path, "w"));
	PEM_write_X509(fp, ca);
	fclose(fp);
	snprintf(ca_opt, sizeof(ca_opt), "http.ca_file=%s", path);

	assert_non_null(ctx = SSL_CTX_new(TLS_server_method()));
	assert_int_equal(SSL_CTX_use_certificate(ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, key), 1);
	X509_free(ca);
	X509_free(cert);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	return ctx;
}

/* Set-up ---------------------------------------------------------------- */

static int
setup(void **state)
{
	const char	*extra[] = { "-o", ca_opt, "-o", "http.per_host=2", "-o",
			    "http.allow_private=yes", NULL };

	snprintf(dir, sizeof(dir), "/tmp/loomhttp.XXXXXX");
	assert_non_null(mkdtemp(dir));
	server_start(&plain, NULL);
	server_start(&tls, make_tls());
	daemon_start(&d, extra);
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[128];

	daemon_stop(&d);
	server_stop(&plain);
	server_stop(&tls);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	return 0;
}

/* Helpers ---------------------------------------------------------------- */

/* Submit one http job with these args (a JSON object text) and wait. */
static json_t *
fetch(struct client *c, const char *fmt, ...)
{
	char	*args;
	json_t	*r;
	va_list	 ap;

	va_start(ap, fmt);
	assert_true(vasprintf(&args, fmt, ap) >= 0);
	va_end(ap);
	r = client_call(c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"http\","
	    "\"args\":%s}}", args);
	free(args);
	return r;
}

static void
sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char	md[32];
	unsigned int	mdlen, i;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* Tests ------------------------------------------------------------------- */

static void
test_get_sends_headers_and_returns_the_response(void **state)
{
	struct client	 c;
	json_t		*r, *echo, *heard;
	const char	*body;
	char		 host[64], hex[65];

	client_connect(&c, &d);
	r = fetch(&c, "{\"url\":\"http://127.0.0.1:%d/echo?q=1\",\"headers\":"
	    "{\"X-Token\":\"abc\"}}", plain.port);
	assert_string_equal(reply_job_state(r), "done");
	assert_int_equal(json_integer_value(json_object_get(reply_result(r), "status")),
	    200);
	/* Names lowercased; a repeated header joined. */
	assert_string_equal(json_str(json_object_get(reply_result(r), "headers"), "x-test"),
	    "one, two");
	body = json_str(reply_result(r), "body");
	assert_int_equal(json_integer_value(json_object_get(reply_result(r), "bytes")),
	    strlen(body));
	sha256_hex(body, strlen(body), hex);
	assert_string_equal(json_str(reply_result(r), "sha256"), hex);
	assert_true(json_number_value(json_object_get(reply_result(r), "elapsed")) > 0);

	assert_non_null(echo = json_loads(body, 0, NULL));
	assert_string_equal(json_str(echo, "method"), "GET");
	assert_string_equal(json_str(echo, "uri"), "/echo?q=1");
	heard = json_object_get(echo, "headers");
	assert_string_equal(json_str(heard, "X-Token"), "abc");
	snprintf(host, sizeof(host), "127.0.0.1:%d", plain.port);
	assert_string_equal(json_str(heard, "Host"), host);
	assert_true(strncmp(json_str(heard, "User-Agent"), "loomd/", 6) == 0);
	json_decref(echo);
	json_decref(r);
	client_close(&c);
}

static void
test_post_sends_the_body(void **state)
{
	struct client	 c;
	json_t		*r, *echo;

	client_connect(&c, &d);
	r = fetch(&c, "{\"url\":\"http://127.0.0.1:%d/echo\",\"method\":\"post\","
	    "\"body\":\"{\\\"n\\\":1}\",\"headers\":{\"Content-Type\":"
	    "\"application/json\",\"User-Agent\":\"crawler/2\"}}", plain.port);
	assert_string_equal(reply_job_state(r), "done");
	assert_non_null(echo = json_loads(json_str(reply_result(r), "body"), 0, NULL));
	assert_string_equal(json_str(echo, "method"), "POST");
	assert_string_equal(json_str(echo, "body"), "{\"n\":1}");
	assert_string_equal(json_str(json_object_get(echo, "headers"), "Content-Type"),
	    "application/json");
	assert_string_equal(json_str(json_object_get(echo, "headers"), "Content-Length"),
	    "7");
	/* The job's User-Agent replaces the configured one. */
	assert_string_equal(json_str(json_object_get(echo, "headers"), "User-Agent"),
	    "crawler/2");
	json_decref(echo);
	json_decref(r);
	client_close(&c);
}

static void
test_a_404_is_a_result_not_a_failure(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = fetch(&c, "{\"url\":\"http://127.0.0.1:%d/missing\"}", plain.port);
	assert_string_equal(reply_job_state(r), "done");
	assert_int_equal(json_integer_value(json_object_get(reply_result(r), "status")),
	    404);
	assert_string_equal(json_str(reply_result(r), "body"), "nothing at /missing");
	json_decref(r);
	client_close(&c);
}

static void
test_a_binary_body_as_base64_text_or_none(void **state)
{
	struct client	 c;
	json_t		*r, *want;
	unsigned char	 bytes[256], b64[400];
	char		 hex[65];
	int		 i;

	for (i = 0; i < 256; i++)
		bytes[i] = (unsigned char)i;
	EVP_EncodeBlock(b64, bytes, sizeof(bytes));
	sha256_hex(bytes, sizeof(bytes), hex);
	client_connect(&c, &d);

	r = fetch(&c, "{\"url\":\"http://127.0.0.1:%d/binary\",\"response_body\":"
	    "\"base64\"}", plain.port);
	assert_string_equal(reply_job_state(r), "done");
	assert_string_equal(json_str(reply_result(r), "body"), (char *)b64);
	assert_string_equal(json_str(reply_result(r), "sha256"), hex);
	assert_int_equal(json_integer_value(json_object_get(reply_result(r), "bytes")),
	    256);
	json_decref(r);

	/* As text: ASCII kept, NUL and the bytes above 127 become U+FFFD. */
	r = fetch(&c, "{\"url\":\"http://127.0.0.1:%d/binary\"}", plain.port);
	assert_string_equal(reply_job_state(r), "done");
	want = json_object_get(reply_result(r), "body");
	assert_int_equal(json_string_length(want), 3 + 127 + 128 * 3);
	assert_memory_equal(json_string_value(want), "\xef\xbf\xbd\x01\x02", 5);
	assert_string_equal(json_str(reply_result(r), "sha256"), hex);
	json_decref(r);

	r = fetch(&c, "{\"url\":\"http://127.0.0.1:%d/binary\",\"response_body\":"
	    "\"none\"}", plain.port);
	assert_string_equal(reply_job_state(r), "done");
	assert_true(json_is_null(json_object_get(reply_result(r), "body")));
	assert_string_equal(json_str(reply_result(r), "sha256"), hex);
	json_decref(r);
	client_close(&c);
}

static void
test_a_body_over_max_body_is_too_large(void **state)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, &d);
	r = fetch(&c, "{\"url\":\"http://127.0.0.1:%d/big\",\"max_body\":1000}",
	    plain.port);
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "too_large");
	json_decref(r);
	/* Without Content-Length, counted as it arrives. */
	r = fetch(&c, "{\"url\":\"http://127.0.0.1:%d/chunked\",\"max_body\":25}",
	    plain.port);
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "too_large");
	json_decref(r);
	r = fetch(&c, "{\"url\":\"http://127.0.0.1:%d/chunked\",\"max_body\":50}",
	    plain.port);
	assert_string_equal(reply_job_state(r), "done");
	assert_int_equal(json_integer_value(json_object_get(reply_result(r), "bytes")),
	    50);
	json_decref(r);
	client_close(&c);
}

static void
test_a_slow_server_hits_the_deadline(void **state)
{
	struct client	 c;
	json_t		*r;
	double		 t0 = now_seconds();

	client_connect(&c, &d);
	/* The request's own timeout: no response is http_error. */
	r = fetch(&c, "{\"url\":\"http://127.0.0.1:%d/hold?ms=5000\",\"timeout\":0.3}",
	    plain.port);
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "http_error");
	assert_non_null(strstr(json_str(reply_error(r), "message"), "timed out after 0.3s"));
	json_decref(r);
	assert_true(now_seconds() - t0 < 3);

	/* The job's timeout: the job is cancelled and ends timed_out. */
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"http\","
	    "\"timeout\":0.3,\"args\":{\"url\":\"http://127.0.0.1:%d/hold?ms=5000\"}}}",
	    plain.port);
	assert_string_equal(reply_job_state(r), "timed_out");
	json_decref(r);
	client_close(&c);
}

static void
test_connection_refused_is_http_error(void **state)
{
	struct client	 c;
	json_t		*r;
	struct sockaddr_in sin;
	socklen_t	 len = sizeof(sin);
	int		 fd = socket(AF_INET, SOCK_STREAM, 0);

	/* A port held here, bound but not listening: nobody else can take it,
	 * and a connection to it is refused. */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);

	client_connect(&c, &d);
	r = fetch(&c, "{\"url\":\"http://127.0.0.1:%d/\"}", ntohs(sin.sin_port));
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "http_error");
	assert_non_null(strstr(json_str(reply_error(r), "message"), "Connection refused"));
	json_decref(r);
	client_close(&c);
	close(fd);
}

static void
test_https_is_verified_against_the_configured_ca(void **state)
{
	struct client	 c;
	json_t		*r, *echo;

	client_connect(&c, &d);
	r = fetch(&c, "{\"url\":\"https://127.0.0.1:%d/echo\",\"method\":\"PUT\","
	    "\"body\":\"secret\"}", tls.port);
	assert_string_equal(reply_job_state(r), "done");
	assert_int_equal(json_integer_value(json_object_get(reply_result(r), "status")),
	    200);
	assert_non_null(echo = json_loads(json_str(reply_result(r), "body"), 0, NULL));
	assert_string_equal(json_str(echo, "method"), "PUT");
	assert_string_equal(json_str(echo, "body"), "secret");
	json_decref(echo);
	json_decref(r);
	client_close(&c);
}

static void
test_https_with_the_wrong_host_name_fails_and_says_so(void **state)
{
	struct client	 c;
	json_t		*r;
	const char	*msg;

	client_connect(&c, &d);
	/* The certificate is for 127.0.0.1, not for the name localhost. */
	r = fetch(&c, "{\"url\":\"https://localhost:%d/echo\"}", tls.port);
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "http_error");
	msg = json_str(reply_error(r), "message");
	assert_non_null(strstr(msg, "TLS certificate verification failed"));
	assert_non_null(strstr(msg, "host name localhost"));
	json_decref(r);
	client_close(&c);
}

static void
test_https_with_an_untrusted_ca_fails_and_says_so(void **state)
{
	const char	*extra[] = { "-o", "http.allow_private=yes", NULL };
	struct daemon	 own;
	struct client	 c;
	json_t		*r;

	daemon_start(&own, extra);	/* no ca_file: the system's CAs only */
	client_connect(&c, &own);
	r = fetch(&c, "{\"url\":\"https://127.0.0.1:%d/echo\"}", tls.port);
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "http_error");
	assert_non_null(strstr(json_str(reply_error(r), "message"),
	    "TLS certificate verification failed"));
	json_decref(r);
	client_close(&c);
	daemon_stop(&own);
}

/* SIGHUP, then the reload's RELOADING=1 and READY=1. */
static void
reload(struct daemon *dd)
{
	char	*msg;

	daemon_signal(dd, SIGHUP);
	msg = daemon_notify_wait(dd, "RELOADING=1");
	free(msg);
	msg = daemon_notify_wait(dd, "READY=1");
	free(msg);
}

/*
 * A reload applies [http] ca_file to the requests that follow, while a
 * request already connected keeps the context it was made with.
 */
static void
test_a_reload_applies_a_new_ca_file(void **state)
{
	struct daemon_opts	 opts = { .config = "[http]\n"
				     "allow_private = yes\n",
				     .notify = true };
	struct daemon		 own;
	struct client		 c;
	json_t			*r;
	json_int_t		 held;
	char			 conf[256];
	double			 deadline;

	daemon_start_with(&own, &opts);
	client_connect(&c, &own);
	r = fetch(&c, "{\"url\":\"https://127.0.0.1:%d/echo\"}", tls.port);
	assert_string_equal(reply_job_state(r), "failed");
	assert_non_null(strstr(json_str(reply_error(r), "message"),
	    "TLS certificate verification failed"));
	json_decref(r);

	snprintf(conf, sizeof(conf), "[http]\nallow_private = yes\n"
	    "ca_file = %s/ca.pem\n", dir);
	daemon_write_config(&own, conf);
	reload(&own);
	r = fetch(&c, "{\"url\":\"https://127.0.0.1:%d/echo\"}", tls.port);
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);

	/* Connected with this context, held by the server across a reload
	 * that replaces the context. */
	atomic_store(&tls.concurrent, 0);
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"http\",\"args\":"
	    "{\"url\":\"https://127.0.0.1:%d/count?ms=500\"}}}", tls.port);
	held = reply_job_id(r);
	json_decref(r);
	deadline = now_seconds() + HARNESS_WAIT;
	while (atomic_load(&tls.concurrent) == 0 && now_seconds() < deadline)
		usleep(10000);
	assert_int_equal(atomic_load(&tls.concurrent), 1);
	reload(&own);
	r = fetch(&c, "{\"url\":\"https://127.0.0.1:%d/echo\"}", tls.port);
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	r = client_call(&c, "{\"op\":\"result\",\"wait\":true,\"job\":%lld}",
	    (long long)held);
	assert_string_equal(reply_job_state(r), "done");
	assert_int_equal(json_integer_value(json_object_get(reply_result(r),
	    "status")), 200);
	json_decref(r);
	client_close(&c);
	daemon_stop(&own);
}

static void
test_per_host_limits_requests_across_the_daemon(void **state)
{
	struct client	 c[3];
	json_t		*r;
	int		 i, j;
	double		 t0 = now_seconds();

	atomic_store(&plain.max_concurrent, 0);
	/* Three connections, so the jobs land on different loops. */
	for (i = 0; i < 3; i++) {
		client_connect(&c[i], &d);
		for (j = 0; j < 2; j++)
			client_send(&c[i], "{\"op\":\"submit\",\"wait\":true,\"job\":{"
			    "\"type\":\"http\",\"args\":{\"url\":"
			    "\"http://127.0.0.1:%d/count?ms=200\"}}}", plain.port);
	}
	for (i = 0; i < 3; i++) {
		for (j = 0; j < 2; j++) {
			r = client_recv(&c[i], HARNESS_WAIT);
			assert_string_equal(reply_job_state(r), "done");
			json_decref(r);
		}
		client_close(&c[i]);
	}
	/* per_host is 2: six 200 ms requests take three rounds. */
	assert_int_equal(atomic_load(&plain.max_concurrent), 2);
	assert_true(now_seconds() - t0 >= 0.55);
}

/*
 * The crawler: 50 fetches in a gather with return_exceptions, through a
 * limit of 3.  Every tenth one is refused: its error stands at its index and
 * the others go on; the server never sees more than three at once.
 */
static void
test_fifty_fetches_through_a_limit_of_three(void **state)
{
	const char	*extra[] = { "-o", "limit.fetch.concurrency=3", "-o",
			    "http.per_host=64", "-o", "http.allow_private=yes", NULL };
	struct daemon	 own;
	struct client	 c;
	json_t		*r, *results, *errors;
	char		*jobs, *p;
	int		 i;

	atomic_store(&plain.max_concurrent, 0);
	daemon_start(&own, extra);
	jobs = p = malloc(50 * 160);
	for (i = 0; i < 50; i++)
		p += sprintf(p, "%s{\"type\":\"http\",\"limits\":[\"fetch\"],"
		    "\"args\":{\"url\":\"http://127.0.0.1:%d/count?ms=30\"}}", i ? "," : "",
		    i % 10 == 9 ? 1 : plain.port);
	client_connect(&c, &own);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"gather\",\"args\":{\"return_exceptions\":true,\"jobs\":[%s]}}}", jobs);
	assert_string_equal(reply_job_state(r), "done");
	results = json_object_get(reply_result(r), "results");
	errors = json_object_get(reply_result(r), "errors");
	assert_int_equal(json_array_size(results), 50);
	for (i = 0; i < 50; i++) {
		if (i % 10 == 9) {
			assert_true(json_is_null(json_array_get(results, i)));
			assert_string_equal(json_str(json_array_get(errors, i), "code"),
			    "http_error");
		} else {
			assert_int_equal(json_integer_value(json_object_get(
			    json_array_get(results, i), "status")), 200);
			assert_true(json_is_null(json_array_get(errors, i)));
		}
	}
	assert_int_equal(atomic_load(&plain.max_concurrent), 3);
	json_decref(r);
	free(jobs);
	client_close(&c);
	daemon_stop(&own);
}

static void
test_cancel_of_a_request_waiting_for_its_host(void **state)
{
	struct client	 c;
	json_t		*r;
	json_int_t	 ids[3];
	int		 i;

	client_connect(&c, &d);
	/* Two hold the host's slots; the third waits for one. */
	for (i = 0; i < 3; i++) {
		r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"http\",\"args\":"
		    "{\"url\":\"http://127.0.0.1:%d/hold?ms=30000\"}}}", plain.port);
		ids[i] = reply_job_id(r);
		json_decref(r);
	}
	for (i = 2; i >= 0; i--) {
		r = client_call(&c, "{\"op\":\"cancel\",\"job\":%lld}", (long long)ids[i]);
		assert_string_equal(reply_job_state(r), "cancelled");
		json_decref(r);
	}
	/* The slots are free again. */
	r = fetch(&c, "{\"url\":\"http://127.0.0.1:%d/missing\"}", plain.port);
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	client_close(&c);
}

/* A job refused by the outbound policy: forbidden, naming what it refused. */
static void
assert_forbidden(struct client *c, const char *url, const char *words)
{
	json_t		*r;
	const char	*msg;

	r = fetch(c, "{\"url\":\"%s\"}", url);
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "forbidden");
	msg = json_str(reply_error(r), "message");
	if (strstr(msg, words) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", url, msg, words);
	json_decref(r);
}

static void
assert_fetched(struct client *c, const char *url)
{
	json_t	*r = fetch(c, "{\"url\":\"%s\"}", url);

	if (strcmp(reply_job_state(r), "done") != 0)
		fail_msg("%s: %s", url, json_str(reply_error(r), "message"));
	json_decref(r);
}

/*
 * By default no loopback, private, link-local or unspecified destination,
 * however it is written; the server never hears of the request.
 */
static void
test_loopback_and_private_destinations_are_forbidden_by_default(void **state)
{
	static const struct {
		const char	*host;
		const char	*words;
	} cases[] = {
		{ "127.0.0.1", "127.0.0.1 (127.0.0.1) is a loopback address" },
		{ "127.1.2.3", "127.1.2.3 (127.1.2.3) is a loopback address" },
		{ "[::1]", "::1 (::1) is a loopback address" },
		{ "[::ffff:127.0.0.1]", "is a loopback address" },
		{ "0.0.0.0", "is a unspecified address" },
		{ "[::]", "is a unspecified address" },
		{ "10.1.2.3", "is a private address" },
		{ "192.168.0.1", "is a private address" },
		{ "172.16.5.4", "is a private address" },
		{ "169.254.169.254", "is a link-local address" },
		{ "[fe80::1]", "is a link-local address" },
		{ "[fd00::1]", "is a private (unique local) address" },
		{ "224.0.0.1", "is a multicast address" },
		{ "255.255.255.255", "is a broadcast address" },
		{ "[64:ff9b::a00:1]", "is a private address" },
	};
	struct daemon	 own;
	struct client	 c;
	char		 url[128];
	size_t		 i;
	int		 before = atomic_load(&plain.requests);

	daemon_start(&own, NULL);
	client_connect(&c, &own);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(url, sizeof(url), "http://%s:%d/echo", cases[i].host,
		    plain.port);
		assert_forbidden(&c, url, cases[i].words);
	}
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/echo", tls.port);
	assert_forbidden(&c, url, "allow_private");
	assert_int_equal(atomic_load(&plain.requests), before);
	client_close(&c);
	daemon_stop(&own);
}

/* The check is on the address resolved, not on the name. */
static void
test_a_name_resolving_to_loopback_is_forbidden(void **state)
{
	struct daemon	 own;
	struct client	 c;
	char		 url[128];

	daemon_start(&own, NULL);
	client_connect(&c, &own);
	snprintf(url, sizeof(url), "http://localhost:%d/echo", plain.port);
	assert_forbidden(&c, url, "(localhost) is a loopback address");
	snprintf(url, sizeof(url), "http://LocalHost:%d/echo", plain.port);
	assert_forbidden(&c, url, "is a loopback address");
	client_close(&c);
	daemon_stop(&own);
}

static void
test_allow_private_lets_loopback_through(void **state)
{
	const char	*extra[] = { "-o", "http.allow_private=yes", NULL };
	struct daemon	 own;
	struct client	 c;
	char		 url[128];

	daemon_start(&own, extra);
	client_connect(&c, &own);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", plain.port);
	assert_fetched(&c, url);
	snprintf(url, sizeof(url), "http://localhost:%d/echo", plain.port);
	assert_fetched(&c, url);
	client_close(&c);
	daemon_stop(&own);
}

/*
 * deny_hosts wins; a non-empty allow_hosts admits only what it lists; an
 * address block in allow_hosts admits special addresses, a name does not.
 */
static void
test_allow_hosts_and_deny_hosts(void **state)
{
	struct daemon_opts	 opts = { 0 };
	struct daemon		 own;
	struct client		 c;
	char			 url[128], local[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", plain.port);
	snprintf(local, sizeof(local), "http://localhost:%d/echo", plain.port);

	/* A block admits loopback without allow_private, and nothing else. */
	opts.config = "[http]\nallow_hosts = 127.0.0.0/8, example.org\n";
	daemon_start_with(&own, &opts);
	client_connect(&c, &own);
	assert_fetched(&c, url);
	assert_forbidden(&c, "http://10.0.0.1/", "is not in [http] allow_hosts");
	client_close(&c);
	daemon_stop(&own);

	/* A name in allow_hosts does not make loopback right. */
	opts.config = "[http]\nallow_hosts = localhost\n";
	daemon_start_with(&own, &opts);
	client_connect(&c, &own);
	assert_forbidden(&c, local, "is a loopback address");
	assert_forbidden(&c, url, "is not in [http] allow_hosts");
	client_close(&c);
	daemon_stop(&own);

	/* deny_hosts beats allow_private and allow_hosts, by name or block. */
	opts.config = "[http]\nallow_private = yes\n"
	    "allow_hosts = 127.0.0.0/8 localhost\n"
	    "deny_hosts = *.internal, LocalHost, ::ffff:127.0.0.2/128\n";
	daemon_start_with(&own, &opts);
	client_connect(&c, &own);
	assert_fetched(&c, url);
	assert_forbidden(&c, local, "(localhost) is refused by [http] deny_hosts");
	snprintf(url, sizeof(url), "http://127.0.0.2:%d/echo", plain.port);
	assert_forbidden(&c, url, "127.0.0.2 (127.0.0.2) is refused by [http] "
	    "deny_hosts");
	client_close(&c);
	daemon_stop(&own);
}

static void
test_bad_arguments_are_refused_at_submit(void **state)
{
	static const struct {
		const char	*args;
		const char	*path;
	} cases[] = {
		{ "{}", "job.args.url" },
		{ "{\"url\":\"ftp://example.org/\"}", "job.args.url" },
		{ "{\"url\":\"file:///etc/passwd\"}", "job.args.url" },
		{ "{\"url\":\"gopher://127.0.0.1:70/\"}", "job.args.url" },
		{ "{\"url\":\"not a url\"}", "job.args.url" },
		{ "{\"url\":\"http://user:pw@example.org/\"}", "job.args.url" },
		{ "{\"url\":\"http://example.org/\",\"method\":\"BREW\"}",
		  "job.args.method" },
		{ "{\"url\":\"http://example.org/\",\"headers\":{\"Content-Length\":"
		  "\"5\"}}", "job.args.headers.Content-Length" },
		{ "{\"url\":\"http://example.org/\",\"headers\":{\"X\":\"a\\r\\nB: c\"}}",
		  "job.args.headers.X" },
		{ "{\"url\":\"http://example.org/\",\"max_body\":1e12}",
		  "job.args.max_body" },
		{ "{\"url\":\"http://example.org/\",\"timeout\":0}", "job.args.timeout" },
		{ "{\"url\":\"http://example.org/\",\"response_body\":\"hex\"}",
		  "job.args.response_body" },
	};
	struct client	 c;
	json_t		*r;
	size_t		 i;

	client_connect(&c, &d);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"http\","
		    "\"args\":%s}}", cases[i].args);
		assert_string_equal(reply_error_code(r), "bad_request");
		assert_string_equal(reply_error_path(r), cases[i].path);
		json_decref(r);
	}
	client_close(&c);
}

/* Until the server has had `n` requests in all (each arrives whole). */
static void
server_await_requests(struct server *s, int n)
{
	double	deadline = now_seconds() + HARNESS_WAIT;

	while (atomic_load(&s->requests) < n) {
		if (now_seconds() > deadline)
			fail_msg("the server had %d requests, not %d",
			    atomic_load(&s->requests), n);
		usleep(1000);
	}
}

static void
test_shutdown_with_requests_in_flight(void **state)
{
	const char	*extra[] = { "-o", ca_opt, "-o", "http.per_host=1", "-o",
			    "http.allow_private=yes", NULL };
	struct daemon	 own;
	struct client	 c;
	json_t		*r, *view;
	json_int_t	 waiting = 0;
	int		 i, plain_before = atomic_load(&plain.requests),
			 tls_before = atomic_load(&tls.requests);

	daemon_start(&own, extra);
	client_connect(&c, &own);
	/* One connected and held, one waiting for the host, one TLS. */
	for (i = 0; i < 2; i++) {
		r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"http\",\"args\":"
		    "{\"url\":\"http://127.0.0.1:%d/hold?ms=30000\"}}}", plain.port);
		waiting = reply_job_id(r);
		json_decref(r);
	}
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"http\",\"args\":"
	    "{\"url\":\"https://127.0.0.1:%d/hold?ms=30000\"}}}", tls.port);
	json_decref(r);
	/* In flight: the servers hold two, and the second job has started. */
	server_await_requests(&plain, plain_before + 1);
	server_await_requests(&tls, tls_before + 1);
	view = client_wait_left(&c, waiting, "queued");
	assert_string_equal(json_str(view, "state"), "running");
	json_decref(view);
	assert_int_equal(atomic_load(&plain.requests), plain_before + 1);
	client_close(&c);
	daemon_stop(&own);	/* exits 0, with nothing leaked */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_sends_headers_and_returns_the_response),
		cmocka_unit_test(test_post_sends_the_body),
		cmocka_unit_test(test_a_404_is_a_result_not_a_failure),
		cmocka_unit_test(test_a_binary_body_as_base64_text_or_none),
		cmocka_unit_test(test_a_body_over_max_body_is_too_large),
		cmocka_unit_test(test_a_slow_server_hits_the_deadline),
		cmocka_unit_test(test_connection_refused_is_http_error),
		cmocka_unit_test(test_https_is_verified_against_the_configured_ca),
		cmocka_unit_test(test_https_with_the_wrong_host_name_fails_and_says_so),
		cmocka_unit_test(test_https_with_an_untrusted_ca_fails_and_says_so),
		cmocka_unit_test(test_a_reload_applies_a_new_ca_file),
		cmocka_unit_test(test_per_host_limits_requests_across_the_daemon),
		cmocka_unit_test(test_fifty_fetches_through_a_limit_of_three),
		cmocka_unit_test(test_cancel_of_a_request_waiting_for_its_host),
		cmocka_unit_test(test_loopback_and_private_destinations_are_forbidden_by_default),
		cmocka_unit_test(test_a_name_resolving_to_loopback_is_forbidden),
		cmocka_unit_test(test_allow_private_lets_loopback_through),
		cmocka_unit_test(test_allow_hosts_and_deny_hosts),
		cmocka_unit_test(test_bad_arguments_are_refused_at_submit),
		cmocka_unit_test(test_shutdown_with_requests_in_flight),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
