/*
 * libloomclient over TLS: the handshake, which checks the server's
 * certificate against the CAs given (or the system's store) and its name
 * against the host connected to, and the reads and writes after it.  The
 * socket stays non-blocking; a read or write that must wait says which way
 * (OpenSSL may need to write to read, or the other way round).
 */
#include "autoconf.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "loom/client.h"
#include "internal.h"

#define CLIENT_TLS_TIMEOUT	30.0	/* seconds for a handshake by default */

struct client_tls {
	SSL_CTX	*ctx;
	SSL	*ssl;
};

static void __attribute__((format(printf, 3, 4)))
tls_errbuf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
}

/* OpenSSL's reason for the last failure; its queue emptied. */
static const char *
tls_reason(char *buf, size_t len)
{
	unsigned long	e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, "unknown error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/*
 * The socket BIO, but writing with MSG_NOSIGNAL: the library promises
 * never to raise SIGPIPE, and OpenSSL's own BIO writes with write().
 */
static BIO_METHOD	*tls_bio_method;
static pthread_once_t	 tls_bio_once = PTHREAD_ONCE_INIT;

static int
tls_bio_write(BIO *b, const char *buf, int len)
{
	ssize_t	n = send(BIO_get_fd(b, NULL), buf, (size_t)len, MSG_NOSIGNAL);

	BIO_clear_retry_flags(b);
	if (n <= 0 && BIO_sock_should_retry((int)n))
		BIO_set_retry_write(b);
	return (int)n;
}

static void
tls_bio_init(void)
{
	const BIO_METHOD	*sock = BIO_s_socket();
	BIO_METHOD		*m;

	if ((m = BIO_meth_new(BIO_TYPE_SOCKET, "loom socket")) == NULL)
		return;
	BIO_meth_set_write(m, tls_bio_write);
	BIO_meth_set_read(m, BIO_meth_get_read(sock));
	BIO_meth_set_puts(m, BIO_meth_get_puts(sock));
	BIO_meth_set_ctrl(m, BIO_meth_get_ctrl(sock));
	BIO_meth_set_create(m, BIO_meth_get_create(sock));
	BIO_meth_set_destroy(m, BIO_meth_get_destroy(sock));
	tls_bio_method = m;
}

/* The SSL reads and writes fd through that BIO. */
static int
tls_set_fd(SSL *ssl, int fd)
{
	BIO	*bio;

	pthread_once(&tls_bio_once, tls_bio_init);
	if (tls_bio_method == NULL || (bio = BIO_new(tls_bio_method)) == NULL)
		return 0;
	BIO_set_fd(bio, fd, BIO_NOCLOSE);
	SSL_set_bio(ssl, bio, bio);
	return 1;
}

/* A file that cannot be opened, said plainly rather than as OpenSSL would. */
static int
tls_unreadable(const char *what, const char *path, char *err, size_t errlen)
{
	FILE	*f;

	if (path == NULL || (f = fopen(path, "r")) != NULL) {
		if (path != NULL)
			fclose(f);
		return 0;
	}
	tls_errbuf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	return 1;
}

static SSL_CTX *
tls_context(const struct loom_tls_options *o, char *err, size_t errlen)
{
	const char	*key = o->key_file != NULL ? o->key_file : o->cert_file;
	SSL_CTX		*ctx;
	char		 why[256];

	if (tls_unreadable("CA file", o->ca_file, err, errlen) ||
	    tls_unreadable("certificate", o->cert_file, err, errlen) ||
	    tls_unreadable("key", key, err, errlen))
		return NULL;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_errbuf(err, errlen, "tls: %s", tls_reason(why, sizeof(why)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (o->ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1) {
			tls_errbuf(err, errlen, "CA file %s: %s", o->ca_file,
			    tls_reason(why, sizeof(why)));
			goto fail;
		}
	} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tls_errbuf(err, errlen, "tls: the system's CA store: %s",
		    tls_reason(why, sizeof(why)));
		goto fail;
	}
	if (o->cert_file != NULL &&
	    SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1) {
		tls_errbuf(err, errlen, "certificate %s: %s", o->cert_file,
		    tls_reason(why, sizeof(why)));
		goto fail;
	}
	if (o->cert_file != NULL &&
	    (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)) {
		tls_errbuf(err, errlen, "key %s: %s", key,
		    tls_reason(why, sizeof(why)));
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* The name the server's certificate must carry: a host name or an address. */
static int
tls_expect_name(SSL *ssl, const char *name)
{
	unsigned char	addr[16];

	if (inet_pton(AF_INET, name, addr) == 1 ||
	    inet_pton(AF_INET6, name, addr) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name);
	/* SNI too, for a server with several names. */
	return SSL_set1_host(ssl, name) == 1 &&
	    SSL_set_tlsext_host_name(ssl, name) == 1;
}

/* Milliseconds left before deadline (monotonic seconds), at least 0. */
static int
tls_ms_left(double deadline)
{
	struct timespec	ts;
	double		left;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	left = deadline - (ts.tv_sec + ts.tv_nsec / 1e9);
	if (left <= 0)
		return 0;
	return left * 1000 > INT_MAX ? INT_MAX : (int)(left * 1000) + 1;
}

/* The handshake, waiting on the socket as it asks; -1 with err and errno. */
static int
tls_handshake(SSL *ssl, int fd, double timeout, char *err, size_t errlen)
{
	struct timespec	 ts;
	struct pollfd	 pfd = { .fd = fd };
	double		 deadline;
	long		 verify;
	char		 why[256];
	int		 rc, n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = ts.tv_sec + ts.tv_nsec / 1e9 + timeout;
	ERR_clear_error();
	while ((rc = SSL_connect(ssl)) != 1) {
		switch (SSL_get_error(ssl, rc)) {
		case SSL_ERROR_WANT_READ:
			pfd.events = POLLIN;
			break;
		case SSL_ERROR_WANT_WRITE:
			pfd.events = POLLOUT;
			break;
		case SSL_ERROR_SYSCALL:
			errno = errno != 0 ? errno : ECONNRESET;
			tls_errbuf(err, errlen, "TLS handshake: %s", strerror(errno));
			ERR_clear_error();
			return -1;
		default:
			if ((verify = SSL_get_verify_result(ssl)) != X509_V_OK) {
				tls_errbuf(err, errlen, "TLS: the server's certificate "
				    "does not verify: %s",
				    X509_verify_cert_error_string(verify));
				ERR_clear_error();
			} else
				tls_errbuf(err, errlen, "TLS handshake: %s",
				    tls_reason(why, sizeof(why)));
			errno = EPROTO;
			return -1;
		}
		if ((n = poll(&pfd, 1, tls_ms_left(deadline))) == 0) {
			tls_errbuf(err, errlen, "TLS handshake: timed out");
			errno = ETIMEDOUT;
			return -1;
		}
		if (n == -1 && errno != EINTR) {
			tls_errbuf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

struct client_tls *
client_tls_open(int fd, const char *host, const struct loom_tls_options *o,
    char *err, size_t errlen)
{
	static const struct loom_tls_options	defaults;
	struct client_tls			*t;
	const char				*name;
	double					 timeout;

	if (o == NULL)
		o = &defaults;
	name = o->server_name != NULL ? o->server_name : host;
	timeout = o->timeout > 0 ? o->timeout : CLIENT_TLS_TIMEOUT;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		tls_errbuf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	if ((t->ctx = tls_context(o, err, errlen)) == NULL)
		goto fail;
	if ((t->ssl = SSL_new(t->ctx)) == NULL || tls_set_fd(t->ssl, fd) != 1 ||
	    tls_expect_name(t->ssl, name) != 1) {
		tls_errbuf(err, errlen, "TLS: cannot set up for %s", name);
		goto fail;
	}
	if (tls_handshake(t->ssl, fd, timeout, err, errlen) == -1)
		goto fail;
	return t;
fail:
	if (errno == 0)
		errno = EPROTO;
	client_tls_close(t);
	return NULL;
}

/* After a failed call: EAGAIN and *events to wait for, 0 at the end, or -1. */
static ssize_t
tls_failed(struct client_tls *t, int rc, short *events)
{
	int	saved = errno;

	switch (SSL_get_error(t->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		*events = POLLIN;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*events = POLLOUT;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		/* The server went without close_notify: an end like any. */
		if (saved == 0)
			return 0;
		errno = saved;
		return -1;
	}
	ERR_clear_error();
	errno = EPROTO;
	return -1;
}

ssize_t
client_tls_read(struct client_tls *t, void *buf, size_t len, short *events)
{
	size_t	n;

	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(t->ssl, buf, len, &n) == 1)
		return (ssize_t)n;
	return tls_failed(t, 0, events);
}

ssize_t
client_tls_write(struct client_tls *t, const void *buf, size_t len,
    short *events)
{
	size_t	n;

	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(t->ssl, buf, len, &n) == 1)
		return (ssize_t)n;
	if (tls_failed(t, 0, events) == 0)
		errno = EPIPE;
	return -1;
}

int
client_tls_pending(const struct client_tls *t)
{
	return SSL_pending(t->ssl) > 0;
}

void
client_tls_close(struct client_tls *t)
{
	if (t == NULL)
		return;
	if (t->ssl != NULL && SSL_is_init_finished(t->ssl))
		(void)SSL_shutdown(t->ssl);	/* once, without waiting */
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	ERR_clear_error();
	free(t);
}
