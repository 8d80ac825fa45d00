/*
 * tls: the cost of TLS, against plain TCP in the same run.  One daemon
 * listens on both (a self-signed certificate made here at start): the
 * throughput client runs over TCP, then over TLS, CONNS x INFLIGHT each.
 * Then IDLE connections that each said one ping and went quiet, first plain
 * TCP, then TLS, each on a fresh daemon: its RSS per connection.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common.h"
#include "scenarios.h"

static SSL_CTX	*client_ctx;

void
tls_make_cert(const char *dir, char *cert, char *key, size_t len)
{
	EVP_PKEY	*pkey = EVP_EC_gen("P-256");
	X509		*x = X509_new();
	X509_NAME	*name;
	FILE		*f;

	if (pkey == NULL || x == NULL)
		die("cannot make a key");
	snprintf(cert, len, "%s/cert.pem", dir);
	snprintf(key, len, "%s/key.pem", dir);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"localhost", -1, -1, 0);
	X509_set_issuer_name(x, name);
	if (X509_sign(x, pkey, EVP_sha256()) <= 0)
		die("cannot sign the certificate");
	if ((f = fopen(cert, "w")) == NULL || PEM_write_X509(f, x) != 1 ||
	    fclose(f) != 0)
		die("%s: %s", cert, strerror(errno));
	if ((f = fopen(key, "w")) == NULL ||
	    PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fclose(f) != 0)
		die("%s: %s", key, strerror(errno));
	X509_free(x);
	EVP_PKEY_free(pkey);
}

/* The bench trusts the certificate it made: no verification. */
SSL *
tls_wrap(int fd)
{
	SSL	*ssl;

	if (client_ctx == NULL) {
		if ((client_ctx = SSL_CTX_new(TLS_client_method())) == NULL)
			die("SSL_CTX_new");
		SSL_CTX_set_mode(client_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
		    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	}
	if ((ssl = SSL_new(client_ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_connect(ssl) != 1)
		die("TLS handshake failed: %s",
		    ERR_reason_error_string(ERR_get_error()));
	return ssl;
}

static ssize_t
tls_result(SSL *ssl, int ok, size_t n)
{
	if (ok == 1)
		return (ssize_t)n;
	switch (SSL_get_error(ssl, 0)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	}
	errno = EPROTO;
	return -1;
}

ssize_t
tls_recv(SSL *ssl, void *buf, size_t len)
{
	size_t	n = 0;
	int	ok = SSL_read_ex(ssl, buf, len, &n);

	return tls_result(ssl, ok, n);
}

ssize_t
tls_send(SSL *ssl, const void *buf, size_t len)
{
	size_t	n = 0;
	int	ok = SSL_write_ex(ssl, buf, len, &n);

	return tls_result(ssl, ok, n);
}

void
tls_free(SSL *ssl)
{
	SSL_free(ssl);
}

static const char ping_line[] = "{\"op\":\"ping\"}\n";
static const char echo_line[] =
    "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"echo\",\"ttl\":0,"
    "\"args\":{\"value\":1}}}\n";

/* n connections that each pinged once; the daemon's RSS per connection. */
static double
idle_rss(long n, bool tls)
{
	struct bconn	*c = calloc(n, sizeof(*c));
	char		 buf[512];
	long		 rss0, rss1, i;
	ssize_t		 got;

	bench_tls = tls;
	usleep(200000);
	rss0 = daemon_rss_kib();
	for (i = 0; i < n; i++) {
		bconn_open(&c[i]);
		if (c[i].ssl != NULL) {
			while (tls_send(c[i].ssl, ping_line, sizeof(ping_line) - 1) < 0)
				usleep(100);
			while ((got = tls_recv(c[i].ssl, buf, sizeof(buf))) < 0 &&
			    errno == EAGAIN)
				usleep(100);
		} else {
			send_all(c[i].fd, ping_line, sizeof(ping_line) - 1);
			while ((got = recv(c[i].fd, buf, sizeof(buf), 0)) < 0 &&
			    errno == EAGAIN)
				usleep(100);
		}
		if (got <= 0 || memmem(buf, (size_t)got, "\"ok\":true", 9) == NULL)
			die("connection %ld: no answer to a ping", i);
	}
	usleep(200000);
	rss1 = daemon_rss_kib();
	for (i = 0; i < n; i++)
		bconn_close(&c[i]);
	free(c);
	bench_tls = false;
	return rss1 > 0 ? (rss1 - rss0) * 1024.0 / n : -1.0;
}

void
bench_tls_compare(int conns, int inflight, double seconds, long idle)
{
	char	maxconn[64], *extra[] = { "-o", maxconn, NULL };
	double	tcp_rss, tls_rss;

	if (bench_raise_nofile(idle + 256) < idle + 64)
		die("not enough descriptors for %ld connections", idle);
	snprintf(maxconn, sizeof(maxconn), "max_connections=%ld", idle + 64);
	opt_spawn_tcp = opt_spawn_tls = true;
	bench_spawn(extra);
	bench_tls = false;
	bench_submit("tls_tcp", "echo with wait over plain TCP", echo_line, conns,
	    inflight, seconds);
	bench_tls = true;
	bench_submit("tls_tls", "echo with wait over TLS", echo_line, conns,
	    inflight, seconds);
	bench_tls = false;
	bench_stop();

	bench_spawn(extra);
	tcp_rss = idle_rss(idle, false);
	bench_stop();
	bench_spawn(extra);
	tls_rss = idle_rss(idle, true);
	printf("loom-bench scenario=tls_idle conns=%ld tcp_rss_per_conn_bytes=%.0f "
	    "tls_rss_per_conn_bytes=%.0f\n", idle, tcp_rss, tls_rss);
	printf("  %ld idle connections: %.0f bytes of daemon RSS each over TCP, "
	    "%.0f over TLS\n", idle, tcp_rss, tls_rss);
}
