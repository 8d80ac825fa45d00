/*
 * TLS listeners (tls_listen): a real loomd with a TLS listener the harness
 * binds and passes by socket activation (FileDescriptorName=tls), and an
 * OpenSSL client here.  Every certificate and key is made at test time, in
 * a private directory removed at the end.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cmocka.h>

#include "harness.h"
#include "testcert.h"

static char	dir[64];	/* the certificates */

/* Certificates ------------------------------------------------------------ */

static const char *
path_of(const char *name)
{
	/* Enough for every path one test holds at once. */
	static char	path[32][160];
	static int	next;
	char		*p = path[next++ % 32];

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	return p;
}

/* Written whole, then renamed: a reload never reads half a file. */
static void
write_pem(const char *name, X509 *x, EVP_PKEY *key)
{
	char	tmp[200];
	FILE	*f;

	snprintf(tmp, sizeof(tmp), "%s.new", path_of(name));
	assert_non_null(f = fopen(tmp, "w"));
	if (x != NULL)
		assert_int_equal(PEM_write_X509(f, x), 1);
	if (key != NULL)
		assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL,
		    NULL), 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, path_of(name)), 0);
}

static void
write_text(const char *name, const char *text)
{
	FILE	*f;

	assert_non_null(f = fopen(path_of(name), "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

/*
 * ca.pem signs server.pem (CN localhost, serial 100) and server2.pem
 * (serial 200, the same key) and elsewhere.pem (for another name); other-ca.pem signs other-server.pem and
 * stranger.pem (a client); client-ca.pem signs client.pem (CN worker-1).
 */
static int
setup_certs(void **state)
{
	EVP_PKEY	*ca_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
	EVP_PKEY	*other_key = EVP_EC_gen("P-256");
	EVP_PKEY	*client_ca_key = EVP_EC_gen("P-256");
	EVP_PKEY	*client_key = EVP_EC_gen("P-256");
	X509		*ca, *other, *client_ca, *x;
	const char	*san = "DNS:localhost,IP:127.0.0.1";

	snprintf(dir, sizeof(dir), "/tmp/loomtls.XXXXXX");
	assert_non_null(mkdtemp(dir));
	ca = make_cert(ca_key, "loom test CA", NULL, NULL, NULL, 1);
	other = make_cert(other_key, "someone else's CA", NULL, NULL, NULL, 2);
	client_ca = make_cert(client_ca_key, "loom client CA", NULL, NULL, NULL, 3);
	write_pem("ca.pem", ca, NULL);
	write_pem("other-ca.pem", other, NULL);
	write_pem("client-ca.pem", client_ca, NULL);
	write_pem("server.key", NULL, key);
	write_pem("server.pem", x = make_cert(key, "localhost", ca, ca_key, san, 100),
	    NULL);
	X509_free(x);
	write_pem("server2.pem", x = make_cert(key, "localhost", ca, ca_key, san,
	    200), NULL);
	X509_free(x);
	write_pem("elsewhere.pem", x = make_cert(key, "elsewhere", ca, ca_key,
	    "DNS:elsewhere", 600), NULL);
	X509_free(x);
	write_pem("other-server.key", NULL, other_key);
	write_pem("other-server.pem", x = make_cert(other_key, "localhost", other,
	    other_key, san, 300), NULL);
	X509_free(x);
	write_pem("client.key", NULL, client_key);
	write_pem("client.pem", x = make_cert(client_key, "worker-1", client_ca,
	    client_ca_key, NULL, 400), NULL);
	X509_free(x);
	write_pem("stranger.pem", x = make_cert(client_key, "worker-1", other,
	    other_key, NULL, 500), NULL);
	X509_free(x);
	write_text("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64!\n"
	    "-----END CERTIFICATE-----\n");
	X509_free(ca);
	X509_free(other);
	X509_free(client_ca);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(client_ca_key);
	EVP_PKEY_free(client_key);
	return 0;
}

static int
teardown_certs(void **state)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
	return 0;
}

/* A daemon ---------------------------------------------------------------- */

/* loomd with a TLS listener; extra_tls: more lines for [tls]. */
/* With `top` before the [tls] section: the default is auth_tcp = none. */
static void
tls_daemon_start_with(struct daemon *d, const char *top, const char *extra_tls)
{
	struct daemon_opts	opts = {
		.socket_activation = true,
		.tls_activation = true,
	};
	char			config[1024];

	snprintf(config, sizeof(config), "%s[tls]\ncert_file = %s\n"
	    "key_file = %s\n%s", top != NULL ? top : "auth_tcp = none\n",
	    path_of("server.pem"), path_of("server.key"),
	    extra_tls != NULL ? extra_tls : "");
	opts.config = config;
	daemon_start_with(d, &opts);
	assert_true(d->tls_port > 0);
}

static void
tls_daemon_start(struct daemon *d, const char *extra_tls)
{
	tls_daemon_start_with(d, NULL, extra_tls);
}

/* The daemon still answers, on its Unix socket. */
static void
assert_daemon_answers(const struct daemon *d)
{
	struct client	 c;
	json_t		*r;

	client_connect(&c, d);
	r = client_call(&c, "{\"op\":\"ping\",\"id\":\"alive\"}");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	client_close(&c);
}

/* A client ---------------------------------------------------------------- */

struct tls_opts {
	const char	*ca;		/* trusted: the CA file */
	const char	*cert;		/* a client certificate, and its key */
	const char	*key;
	int		 max_version;	/* 0: any */
};

struct tls_client {
	int	 fd;
	SSL_CTX	*ctx;
	SSL	*ssl;
	long	 verify;	/* the server certificate's verification */
	char	 buf[1 << 20];
	size_t	 len;
};

static int
tcp_connect(int port)
{
	struct sockaddr_in	sin;
	struct timeval		tv = { (time_t)HARNESS_WAIT, 0 };
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	/* A hang turns into a failure. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Connect and shake hands, checking the name localhost; false if it fails. */
static bool
tls_connect(struct tls_client *t, const struct daemon *d,
    const struct tls_opts *o)
{
	memset(t, 0, sizeof(*t));
	assert_non_null(t->ctx = SSL_CTX_new(TLS_client_method()));
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	assert_int_equal(SSL_CTX_load_verify_locations(t->ctx, o->ca, NULL), 1);
	if (o->max_version != 0)
		SSL_CTX_set_max_proto_version(t->ctx, o->max_version);
	if (o->cert != NULL) {
		assert_int_equal(SSL_CTX_use_certificate_file(t->ctx, o->cert,
		    SSL_FILETYPE_PEM), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey_file(t->ctx, o->key,
		    SSL_FILETYPE_PEM), 1);
	}
	t->fd = tcp_connect(d->tls_port);
	assert_non_null(t->ssl = SSL_new(t->ctx));
	SSL_set_fd(t->ssl, t->fd);
	SSL_set_tlsext_host_name(t->ssl, "localhost");
	SSL_set1_host(t->ssl, "localhost");
	if (SSL_connect(t->ssl) == 1)
		return true;
	t->verify = SSL_get_verify_result(t->ssl);
	ERR_clear_error();
	return false;
}

static void
tls_close(struct tls_client *t)
{
	if (t->ssl != NULL) {
		SSL_shutdown(t->ssl);
		SSL_free(t->ssl);
	}
	SSL_CTX_free(t->ctx);
	if (t->fd != -1)
		close(t->fd);
	ERR_clear_error();
	memset(t, 0, sizeof(*t));
	t->fd = -1;
}

static void
tls_send(struct tls_client *t, const char *text)
{
	size_t	len = strlen(text), n;

	assert_int_equal(SSL_write_ex(t->ssl, text, len, &n), 1);
	assert_int_equal(n, len);
}

/* The next line as JSON, or NULL if the connection ends (or fails) first. */
static json_t *
tls_recv_or_eof(struct tls_client *t)
{
	json_error_t	 jerr;
	json_t		*msg;
	char		*nl;
	size_t		 n, linelen;

	while ((nl = memchr(t->buf, '\n', t->len)) == NULL) {
		assert_true(t->len < sizeof(t->buf));
		if (SSL_read_ex(t->ssl, t->buf + t->len, sizeof(t->buf) - t->len,
		    &n) != 1) {
			ERR_clear_error();
			return NULL;
		}
		t->len += n;
	}
	linelen = (size_t)(nl - t->buf);
	if ((msg = json_loadb(t->buf, linelen, 0, &jerr)) == NULL)
		fail_msg("reply is not JSON: %s", jerr.text);
	memmove(t->buf, nl + 1, t->len - linelen - 1);
	t->len -= linelen + 1;
	return msg;
}

static json_t *
tls_call(struct tls_client *t, const char *text)
{
	json_t	*r;

	tls_send(t, text);
	if ((r = tls_recv_or_eof(t)) == NULL)
		fail_msg("the daemon closed the TLS connection");
	return r;
}

static void
assert_tls_ping(struct tls_client *t)
{
	json_t	*r = tls_call(t, "{\"op\":\"ping\",\"id\":7}\n");

	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
	json_decref(r);
}

/* The serial number of the certificate the server showed. */
static long
tls_server_serial(const struct tls_client *t)
{
	X509	*x = SSL_get0_peer_certificate(t->ssl);

	assert_non_null(x);
	return ASN1_INTEGER_get(X509_get0_serialNumber(x));
}

/* The tests --------------------------------------------------------------- */

static void
test_a_trusted_client_submits_and_waits_for_a_job(void **state)
{
	struct tls_opts		 o = { .ca = path_of("ca.pem") };
	struct tls_client	 t;
	struct daemon		 d;
	json_t			*r;

	tls_daemon_start(&d, NULL);
	assert_true(tls_connect(&t, &d, &o));
	assert_int_equal(tls_server_serial(&t), 100);
	assert_tls_ping(&t);
	r = tls_call(&t, "{\"op\":\"submit\",\"id\":1,\"wait\":true,\"job\":"
	    "{\"type\":\"echo\",\"args\":{\"value\":{\"over\":\"tls\"}}}}\n");
	assert_string_equal(reply_job_state(r), "done");
	assert_string_equal(json_str(reply_result(r), "over"), "tls");
	json_decref(r);
	tls_close(&t);
	assert_true(daemon_log_contains(&d, "listening on tls 127.0.0.1:"));
	daemon_stop(&d);
}

/* Requests and answers bigger than a TLS record, many at once. */
static void
test_large_and_pipelined_messages_cross_intact(void **state)
{
	struct tls_opts		 o = { .ca = path_of("ca.pem") };
	struct tls_client	 t;
	struct daemon		 d;
	json_t			*r;
	size_t			 big = 300000, i, n = 200, len;
	char			*line;

	tls_daemon_start(&d, NULL);
	assert_true(tls_connect(&t, &d, &o));
	assert_non_null(line = malloc(big + 128));
	len = (size_t)snprintf(line, 128, "{\"op\":\"ping\",\"id\":\"");
	memset(line + len, 'x', big);
	len += big;
	memcpy(line + len, "\"}\n", 4);
	tls_send(&t, line);
	r = tls_recv_or_eof(&t);
	assert_non_null(r);
	assert_int_equal(strlen(json_str(r, "id")), big);
	json_decref(r);
	free(line);

	/* n requests in one write, n answers in order. */
	assert_non_null(line = malloc(n * 64));
	for (i = 0, len = 0; i < n; i++)
		len += (size_t)sprintf(line + len, "{\"op\":\"ping\",\"id\":%zu}\n", i);
	tls_send(&t, line);
	free(line);
	for (i = 0; i < n; i++) {
		assert_non_null(r = tls_recv_or_eof(&t));
		assert_int_equal(json_integer_value(json_object_get(r, "id")), i);
		json_decref(r);
	}
	tls_close(&t);
	daemon_stop(&d);
}

/*
 * A client that writes without reading until the socket is full: the
 * daemon stops reading it once its answers pile up (the bytes TLS read
 * ahead wait in OpenSSL meanwhile), then goes on as the client reads.
 * Every answer comes, in order.
 */
static void
test_a_client_that_reads_late_gets_every_answer(void **state)
{
	struct tls_opts		 o = { .ca = path_of("ca.pem") };
	struct tls_client	 t;
	struct daemon		 d;
	struct pollfd		 pfd;
	size_t			 n = 8000, pad = 3000, sent = 0, got = 0, len = 0;
	size_t			 off = 0, w, linelen, k;
	char			*out, *nl, expect[64];
	bool			 blocked = false;

	tls_daemon_start(&d, NULL);
	assert_true(tls_connect(&t, &d, &o));
	SSL_set_mode(t.ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* n pings whose answers (their ids) are pad bytes each: 9 MB. */
	assert_non_null(out = malloc(n * (pad + 64)));
	for (k = 0; k < n; k++) {
		len += (size_t)sprintf(out + len, "{\"op\":\"ping\",\"id\":\"%06zu", k);
		memset(out + len, 'x', pad);
		len += pad;
		len += (size_t)sprintf(out + len, "\"}\n");
	}
	assert_int_equal(fcntl(t.fd, F_SETFL, O_NONBLOCK), 0);
	while (got < n) {
		if (off < len) {
			if (SSL_write_ex(t.ssl, out + off, len - off, &w) == 1)
				off += w;
			else {
				assert_int_equal(SSL_get_error(t.ssl, 0),
				    SSL_ERROR_WANT_WRITE);
				ERR_clear_error();
				pfd.fd = t.fd;
				pfd.events = POLLOUT;
				if (!blocked && poll(&pfd, 1, 500) == 0)
					blocked = true;
			}
		}
		/* Read nothing until the daemon stops reading: our writes make
		 * no progress for a while (it then has megabytes to write). */
		if (!blocked && off < len)
			continue;
		while (SSL_read_ex(t.ssl, t.buf + t.len, sizeof(t.buf) - t.len,
		    &w) == 1) {
			t.len += w;
			while ((nl = memchr(t.buf, '\n', t.len)) != NULL) {
				linelen = (size_t)(nl - t.buf);
				snprintf(expect, sizeof(expect), "\"id\":\"%06zu", got);
				assert_non_null(memmem(t.buf, linelen, expect,
				    strlen(expect)));
				got++;
				memmove(t.buf, nl + 1, t.len - linelen - 1);
				t.len -= linelen + 1;
			}
		}
		assert_int_equal(SSL_get_error(t.ssl, 0), SSL_ERROR_WANT_READ);
		ERR_clear_error();
		if (got == n)
			break;
		pfd.fd = t.fd;
		pfd.events = POLLIN | (off < len ? POLLOUT : 0);
		assert_true(poll(&pfd, 1, (int)(HARNESS_WAIT * 1000)) > 0);
		sent = off;
	}
	assert_true(blocked);
	assert_int_equal(sent, len);
	free(out);
	tls_close(&t);
	daemon_stop(&d);
}

static void
test_a_server_certificate_from_an_untrusted_ca_fails_to_verify(void **state)
{
	struct tls_opts		o = { .ca = path_of("other-ca.pem") };
	struct tls_client	t;
	struct daemon		d;

	tls_daemon_start(&d, NULL);
	assert_false(tls_connect(&t, &d, &o));
	assert_int_equal(t.verify, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
	tls_close(&t);
	assert_daemon_answers(&d);
	daemon_stop(&d);
}

/*
 * The handshake fails, or (TLS 1.3, where the client finishes first and
 * learns of the refusal after) the first request gets no answer.
 */
static bool
tls_refused(const struct daemon *d, const struct tls_opts *o)
{
	struct tls_client	 t;
	json_t			*r = NULL;
	size_t			 n;
	bool			 refused = true;

	if (tls_connect(&t, d, o)) {
		if (SSL_write_ex(t.ssl, "{\"op\":\"ping\"}\n", 14, &n) == 1 &&
		    (r = tls_recv_or_eof(&t)) != NULL)
			refused = false;
		json_decref(r);
	}
	tls_close(&t);
	return refused;
}

/* With client_ca_file, a client needs a certificate that CA issued. */
static void
test_client_certificates_are_required_and_their_cn_is_seen(void **state)
{
	struct tls_opts		 none = { .ca = path_of("ca.pem") };
	struct tls_opts		 stranger = { .ca = path_of("ca.pem"),
				     .cert = path_of("stranger.pem"),
				     .key = path_of("client.key") };
	struct tls_opts		 worker = { .ca = path_of("ca.pem"),
				     .cert = path_of("client.pem"),
				     .key = path_of("client.key") };
	struct tls_client	 t;
	struct daemon		 d;
	char			 extra[256];

	snprintf(extra, sizeof(extra), "client_ca_file = %s\n",
	    path_of("client-ca.pem"));
	tls_daemon_start(&d, extra);

	assert_true(tls_refused(&d, &none));
	assert_true(tls_refused(&d, &stranger));
	assert_false(daemon_log_contains(&d, "CN worker-1"));

	assert_true(tls_connect(&t, &d, &worker));
	assert_tls_ping(&t);
	/* Logged once the handshake was done, before the answer. */
	assert_true(daemon_log_contains(&d, "client certificate CN worker-1"));
	tls_close(&t);
	assert_true(daemon_log_contains(&d, "handshake failed"));
	daemon_stop(&d);
}

/*
 * A verified client certificate whose CN a token names (cert_cn) is that
 * token, with no auth op; another CN is nobody until it authenticates.
 */
static void
test_a_certificate_cn_names_its_token(void **state)
{
	struct tls_opts		 worker = { .ca = path_of("ca.pem"),
				     .cert = path_of("client.pem"),
				     .key = path_of("client.key") };
	struct tls_client	 t;
	struct daemon		 d;
	char			 extra[512];
	json_t			*r;

	snprintf(extra, sizeof(extra), "client_ca_file = %s\n"
	    "[token.reader]\nroles = read\ncert_cn = worker-1\n",
	    path_of("client-ca.pem"));
	tls_daemon_start_with(&d, "", extra);
	assert_true(tls_connect(&t, &d, &worker));
	r = tls_call(&t, "{\"op\":\"stats\"}\n");
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	r = tls_call(&t, "{\"op\":\"submit\",\"type\":\"echo\","
	    "\"args\":{\"value\":1}}\n");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r,
	    "error"), "code")), "forbidden");
	json_decref(r);
	tls_close(&t);
	daemon_stop(&d);

	/* The same certificate, and no token names worker-1. */
	snprintf(extra, sizeof(extra), "client_ca_file = %s\n"
	    "[token.reader]\nroles = read\ncert_cn = worker-2\n",
	    path_of("client-ca.pem"));
	tls_daemon_start_with(&d, "", extra);
	assert_true(tls_connect(&t, &d, &worker));
	r = tls_call(&t, "{\"op\":\"stats\"}\n");
	assert_string_equal(json_string_value(json_object_get(json_object_get(r,
	    "error"), "code")), "unauthorized");
	json_decref(r);
	tls_close(&t);
	assert_true(daemon_log_contains(&d, "no token has certificate CN"));
	daemon_stop(&d);
}

/* SIGHUP reads the files again: new connections get the new certificate. */
static void
test_a_reload_replaces_the_certificate_for_new_connections(void **state)
{
	struct tls_opts		 o = { .ca = path_of("ca.pem") };
	struct tls_client	 before, after, again;
	struct daemon		 d;
	char			*msg;

	tls_daemon_start(&d, NULL);
	assert_true(tls_connect(&before, &d, &o));
	assert_int_equal(tls_server_serial(&before), 100);

	/* The renewed certificate, under the same name. */
	assert_int_equal(link(path_of("server.pem"), path_of("server1.pem")), 0);
	assert_int_equal(rename(path_of("server2.pem"), path_of("server.pem")), 0);
	daemon_signal(&d, SIGHUP);
	free(msg = daemon_notify_wait(&d, "READY=1"));
	assert_true(tls_connect(&after, &d, &o));
	assert_int_equal(tls_server_serial(&after), 200);
	assert_tls_ping(&before);	/* the old connection goes on */
	assert_tls_ping(&after);

	/* A certificate that does not load: the one in use stays. */
	assert_int_equal(rename(path_of("server.pem"), path_of("server2.pem")), 0);
	assert_int_equal(link(path_of("garbage.pem"), path_of("server.pem")), 0);
	daemon_signal(&d, SIGHUP);
	free(msg = daemon_notify_wait(&d, "READY=1"));
	assert_true(daemon_log_contains(&d, "reload: tls.cert_file"));
	assert_true(tls_connect(&again, &d, &o));
	assert_int_equal(tls_server_serial(&again), 200);
	assert_tls_ping(&again);

	tls_close(&before);
	tls_close(&after);
	tls_close(&again);
	daemon_stop(&d);
	/* As the other tests want them. */
	assert_int_equal(rename(path_of("server1.pem"), path_of("server.pem")), 0);
}

static void
test_min_version_1_3_refuses_a_1_2_client(void **state)
{
	struct tls_opts		o12 = { .ca = path_of("ca.pem"),
				    .max_version = TLS1_2_VERSION };
	struct tls_opts		any = { .ca = path_of("ca.pem") };
	struct tls_client	t;
	struct daemon		d;

	tls_daemon_start(&d, "min_version = 1.3\n");
	assert_false(tls_connect(&t, &d, &o12));
	tls_close(&t);
	assert_true(tls_connect(&t, &d, &any));
	assert_string_equal(SSL_get_version(t.ssl), "TLSv1.3");
	assert_tls_ping(&t);
	tls_close(&t);
	daemon_stop(&d);

	/* The default takes 1.2. */
	tls_daemon_start(&d, NULL);
	assert_true(tls_connect(&t, &d, &o12));
	assert_string_equal(SSL_get_version(t.ssl), "TLSv1.2");
	assert_tls_ping(&t);
	tls_close(&t);
	daemon_stop(&d);
}

/* Read until the daemon closes; what it sent (a TLS alert, if anything). */
static void
assert_closed_by_daemon(int fd)
{
	char	buf[4096];
	ssize_t	n;

	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		assert_true(buf[0] != '{');	/* never an answer in clear */
	assert_true(n == 0 || (n == -1 && errno == ECONNRESET));
}

static void
test_plain_json_on_a_tls_port_is_dropped_without_harm(void **state)
{
	struct tls_opts		o = { .ca = path_of("ca.pem") };
	struct tls_client	t;
	struct daemon		d;
	int			fd;

	tls_daemon_start(&d, NULL);
	fd = tcp_connect(d.tls_port);
	assert_int_equal(send(fd, "{\"op\":\"ping\",\"id\":1}\n", 21, MSG_NOSIGNAL),
	    21);
	assert_closed_by_daemon(fd);
	close(fd);
	assert_true(daemon_log_contains(&d, "handshake failed"));
	assert_daemon_answers(&d);
	assert_true(tls_connect(&t, &d, &o));
	assert_tls_ping(&t);
	tls_close(&t);
	daemon_stop(&d);
}

static void
test_a_silent_client_goes_after_the_handshake_timeout(void **state)
{
	struct daemon	d;
	int		fd;

	tls_daemon_start(&d, "handshake_timeout = 0.5s\n");
	fd = tcp_connect(d.tls_port);
	assert_closed_by_daemon(fd);
	close(fd);
	assert_true(daemon_log_contains(&d, "no handshake within 0.5s"));
	daemon_stop(&d);
}

/*
 * A TLS connection loomd ends (a line left unended for line_timeout) gets
 * its last error line, then the TLS close (close_notify) before the socket
 * closes: the polite close runs the transport's close first.
 */
static void
test_an_ended_connection_says_why_and_closes_tls_cleanly(void **state)
{
	struct tls_opts		 o = { .ca = path_of("ca.pem") };
	struct tls_client	 t;
	struct daemon		 d;
	json_t			*r;
	char			 c;
	size_t			 n;

	tls_daemon_start_with(&d, "auth_tcp = none\nline_timeout = 0.3\n", NULL);
	assert_true(tls_connect(&t, &d, &o));
	assert_tls_ping(&t);
	tls_send(&t, "{\"op\":\"ping\"");	/* and never its end */
	assert_non_null(r = tls_recv_or_eof(&t));
	assert_string_equal(reply_error_code(r), "timeout");
	json_decref(r);
	assert_int_equal(SSL_read_ex(t.ssl, &c, 1, &n), 0);
	assert_int_equal(SSL_get_error(t.ssl, 0), SSL_ERROR_ZERO_RETURN);
	tls_close(&t);
	assert_true(daemon_log_contains(&d, "line_timeout"));
	daemon_stop(&d);
}

/* loomd -t with TLS settings; what it said goes into out. */
static int
check_config(const char *cert, const char *key, char *out, size_t len)
{
	char	cmd[2048];
	FILE	*f;
	size_t	n;
	int	status;

	snprintf(cmd, sizeof(cmd), "'%s' -t -c /dev/null -u '%s/x.sock' "
	    "-o tls_listen=127.0.0.1:7434 -o 'tls.cert_file=%s' "
	    "-o 'tls.key_file=%s' > '%s' 2>&1", daemon_bin("loomd"), dir, cert,
	    key, path_of("check.out"));
	status = system(cmd);
	assert_true(WIFEXITED(status));
	assert_non_null(f = fopen(path_of("check.out"), "r"));
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
	return WEXITSTATUS(status);
}

static void
test_loomd_t_names_a_certificate_or_key_that_does_not_load(void **state)
{
	char	out[2048];

	assert_int_equal(check_config(path_of("server.pem"), path_of("server.key"),
	    out, sizeof(out)), 0);
	assert_int_equal(check_config(path_of("garbage.pem"),
	    path_of("server.key"), out, sizeof(out)), 1);
	assert_non_null(strstr(out, "tls.cert_file '"));
	assert_int_equal(check_config(path_of("server.pem"),
	    path_of("other-server.key"), out, sizeof(out)), 1);
	assert_non_null(strstr(out, "is not the key of tls.cert_file"));
	assert_int_equal(check_config(path_of("server.pem"), path_of("nothing"),
	    out, sizeof(out)), 1);
	assert_non_null(strstr(out, "-o tls.key_file="));
	assert_non_null(strstr(out, ": cannot read '"));
}

/* loomctl: its exit status, and what it printed in out. */
static int
loomctl(const char *args, char *out, size_t len)
{
	char	cmd[2048];
	FILE	*p;
	size_t	n;
	int	status;

	snprintf(cmd, sizeof(cmd), "'%s' %s 2>&1", daemon_bin("loomctl"), args);
	assert_non_null(p = popen(cmd, "r"));
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	status = pclose(p);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_loomctl_speaks_tls_and_checks_the_server(void **state)
{
	struct daemon	d;
	char		args[1024], out[4096];

	tls_daemon_start(&d, NULL);
	snprintf(args, sizeof(args), "-H tls://localhost:%d --ca-file %s submit "
	    "echo value=41 --wait", d.tls_port, path_of("ca.pem"));
	assert_int_equal(loomctl(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "result    41"));
	/* By address: the certificate names 127.0.0.1 too. */
	snprintf(args, sizeof(args), "-H tls://127.0.0.1:%d --ca-file %s --json "
	    "ping", d.tls_port, path_of("ca.pem"));
	assert_int_equal(loomctl(args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"ok\":true"));
	snprintf(args, sizeof(args), "-H tls://localhost:%d --ca-file %s ping",
	    d.tls_port, path_of("other-ca.pem"));
	assert_int_equal(loomctl(args, out, sizeof(out)), 4);
	assert_non_null(strstr(out, "certificate does not verify"));
	/* Plain TCP options do not take TLS files. */
	snprintf(args, sizeof(args), "-H localhost:%d --ca-file %s ping", d.port,
	    path_of("ca.pem"));
	assert_int_equal(loomctl(args, out, sizeof(out)), 2);
	daemon_stop(&d);
}

static void
test_loomctl_refuses_a_certificate_for_another_name(void **state)
{
	struct daemon_opts	opts = {
		.socket_activation = true,
		.tls_activation = true,
	};
	struct daemon		d;
	char			config[512], args[1024], out[4096];

	snprintf(config, sizeof(config), "auth_tcp = none\n[tls]\n"
	    "cert_file = %s\nkey_file = %s\n", path_of("elsewhere.pem"),
	    path_of("server.key"));
	opts.config = config;
	daemon_start_with(&d, &opts);
	snprintf(args, sizeof(args), "-H tls://localhost:%d --ca-file %s ping",
	    d.tls_port, path_of("ca.pem"));
	assert_int_equal(loomctl(args, out, sizeof(out)), 4);
	assert_non_null(strstr(out, "hostname mismatch"));
	snprintf(args, sizeof(args), "-H tls://127.0.0.1:%d --ca-file %s ping",
	    d.tls_port, path_of("ca.pem"));
	assert_int_equal(loomctl(args, out, sizeof(out)), 4);
	assert_non_null(strstr(out, "IP address mismatch"));
	daemon_stop(&d);
}

static void
test_loomctl_presents_a_client_certificate(void **state)
{
	struct daemon	d;
	char		extra[256], args[1024], out[4096];

	snprintf(extra, sizeof(extra), "client_ca_file = %s\n",
	    path_of("client-ca.pem"));
	tls_daemon_start(&d, extra);
	snprintf(args, sizeof(args), "-H tls://localhost:%d --ca-file %s --cert %s "
	    "--cert-key %s ping", d.tls_port, path_of("ca.pem"), path_of("client.pem"),
	    path_of("client.key"));
	assert_int_equal(loomctl(args, out, sizeof(out)), 0);
	assert_true(daemon_log_contains(&d, "client certificate CN worker-1"));
	snprintf(args, sizeof(args), "-H tls://localhost:%d --ca-file %s ping",
	    d.tls_port, path_of("ca.pem"));
	assert_int_equal(loomctl(args, out, sizeof(out)), 4);
	snprintf(args, sizeof(args), "-H tls://localhost:%d --ca-file %s --cert %s "
	    "--cert-key %s ping", d.tls_port, path_of("ca.pem"), path_of("client.pem"),
	    path_of("nothing.key"));
	assert_int_equal(loomctl(args, out, sizeof(out)), 4);
	assert_non_null(strstr(out, "nothing.key: No such file"));
	daemon_stop(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_trusted_client_submits_and_waits_for_a_job),
		cmocka_unit_test(test_large_and_pipelined_messages_cross_intact),
		cmocka_unit_test(test_a_client_that_reads_late_gets_every_answer),
		cmocka_unit_test(test_a_server_certificate_from_an_untrusted_ca_fails_to_verify),
		cmocka_unit_test(test_client_certificates_are_required_and_their_cn_is_seen),
		cmocka_unit_test(test_a_certificate_cn_names_its_token),
		cmocka_unit_test(test_a_reload_replaces_the_certificate_for_new_connections),
		cmocka_unit_test(test_min_version_1_3_refuses_a_1_2_client),
		cmocka_unit_test(test_plain_json_on_a_tls_port_is_dropped_without_harm),
		cmocka_unit_test(test_a_silent_client_goes_after_the_handshake_timeout),
		cmocka_unit_test(test_an_ended_connection_says_why_and_closes_tls_cleanly),
		cmocka_unit_test(test_loomd_t_names_a_certificate_or_key_that_does_not_load),
		cmocka_unit_test(test_loomctl_speaks_tls_and_checks_the_server),
		cmocka_unit_test(test_loomctl_refuses_a_certificate_for_another_name),
		cmocka_unit_test(test_loomctl_presents_a_client_certificate),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup_certs, teardown_certs);
}
