/*
 * Server TLS.  A connection's SSL object reads and writes its socket
 * directly (no memory BIOs, no copies), reading ahead; the connection's
 * own events wait for what OpenSSL wants, which may be the other direction.  Idle
 * connections cost little: the context sets SSL_MODE_RELEASE_BUFFERS, so
 * an SSL keeps no record buffers between reads, and there are no session
 * caches or tickets (loomd's clients do not resume).
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/config.h"
#include "net/conn_io.h"
#include "net/tls.h"
#include "runtime/log.h"
#include "runtime/util.h"

struct tls_conn {
	SSL	*ssl;
	char	*peer_cn;	/* the verified client certificate's */
	short	 want;		/* EV_READ or EV_WRITE, after EAGAIN */
	bool	 ready;		/* handshake done */
	bool	 failed;	/* a fatal error: no close_notify */
	bool	 ended;		/* seen behind data already returned */
	bool	 full;		/* the last read filled its buffer */
};

/* The context new connections use; swapped whole under the lock. */
static pthread_mutex_t	 tls_lock = PTHREAD_MUTEX_INITIALIZER;
static SSL_CTX		*tls_ctx;

/* OpenSSL's reason for the last failure, and its queue emptied. */
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

/* A key with a passphrase fails to load instead of asking a terminal. */
static int
tls_no_passphrase(char *buf, int size, int rwflag, void *arg)
{
	return 0;
}

static int
tls_load_files(SSL_CTX *ctx, const struct config_tls *t, char *err,
    size_t errlen)
{
	char	why[256];

	if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1) {
		snprintf(err, errlen, "tls.cert_file '%s': %s", t->cert_file,
		    tls_reason(why, sizeof(why)));
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
		snprintf(err, errlen, "tls.key_file '%s': %s", t->key_file,
		    tls_reason(why, sizeof(why)));
		return -1;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "tls.key_file '%s' is not the key of "
		    "tls.cert_file '%s'", t->key_file, t->cert_file);
		ERR_clear_error();
		return -1;
	}
	if (t->client_ca_file == NULL)
		return 0;
	if (SSL_CTX_load_verify_locations(ctx, t->client_ca_file, NULL) != 1) {
		snprintf(err, errlen, "tls.client_ca_file '%s': %s",
		    t->client_ca_file, tls_reason(why, sizeof(why)));
		return -1;
	}
	/* The CAs a client may choose its certificate by. */
	SSL_CTX_set_client_CA_list(ctx, SSL_load_client_CA_file(t->client_ca_file));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
	    NULL);
	return 0;
}

static SSL_CTX *
tls_build(const struct config_tls *t, char *err, size_t errlen)
{
	SSL_CTX	*ctx;
	char	 why[256];

	if (t->cert_file == NULL || t->key_file == NULL) {
		snprintf(err, errlen, "tls.cert_file and tls.key_file are not set");
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "cannot set up TLS: %s",
		    tls_reason(why, sizeof(why)));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, t->min_version == CONFIG_TLS_1_3 ?
	    TLS1_3_VERSION : TLS1_2_VERSION);
	/* libevent 2.1 misreads OpenSSL 3's unexpected EOF (DESIGN.md), and
	 * a client that just closes is no error here either. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* A read takes what the socket has, not a record's header then its
	 * body: one system call where there were two per record. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"loomd", 5);
	SSL_CTX_set_default_passwd_cb(ctx, tls_no_passphrase);
	if (tls_load_files(ctx, t, err, errlen) == -1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* What was loaded, for the log: whose certificate, until when. */
static void
tls_log_loaded(SSL_CTX *ctx, const struct config_tls *t)
{
	X509		*x = SSL_CTX_get0_certificate(ctx);
	char		 subject[256] = "?", until[64] = "?";
	BIO		*b;
	int		 n;

	if (x == NULL)
		return;
	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	if ((b = BIO_new(BIO_s_mem())) != NULL) {
		if (ASN1_TIME_print(b, X509_get0_notAfter(x)) == 1 &&
		    (n = BIO_read(b, until, sizeof(until) - 1)) > 0)
			until[n] = '\0';
		BIO_free(b);
	}
	log_info("tls: certificate %s (valid until %s) from %s; TLS %s or later%s",
	    subject, until, t->cert_file,
	    t->min_version == CONFIG_TLS_1_3 ? "1.3" : "1.2",
	    t->client_ca_file != NULL ? "; client certificates required" : "");
	if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0)
		log_warnx("tls: the certificate in %s has expired", t->cert_file);
	ERR_clear_error();
}

int
tls_server_load(const struct config_tls *t, char *err, size_t errlen)
{
	SSL_CTX	*ctx, *old;

	if ((ctx = tls_build(t, err, errlen)) == NULL)
		return -1;
	tls_log_loaded(ctx, t);
	pthread_mutex_lock(&tls_lock);
	old = tls_ctx;
	tls_ctx = ctx;
	pthread_mutex_unlock(&tls_lock);
	SSL_CTX_free(old);	/* connections made with it hold their own */
	return 0;
}

int
tls_server_check(const struct config_tls *t, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = tls_build(t, err, errlen)) == NULL)
		return -1;
	SSL_CTX_free(ctx);
	return 0;
}

bool
tls_server_loaded(void)
{
	bool	loaded;

	pthread_mutex_lock(&tls_lock);
	loaded = tls_ctx != NULL;
	pthread_mutex_unlock(&tls_lock);
	return loaded;
}

void
tls_server_free(void)
{
	pthread_mutex_lock(&tls_lock);
	SSL_CTX_free(tls_ctx);
	tls_ctx = NULL;
	pthread_mutex_unlock(&tls_lock);
}

/* The transport ----------------------------------------------------------- */

static void *
tls_open(int fd)
{
	struct tls_conn	*t;
	SSL		*ssl = NULL;

	pthread_mutex_lock(&tls_lock);
	if (tls_ctx != NULL)
		ssl = SSL_new(tls_ctx);	/* takes its own reference */
	pthread_mutex_unlock(&tls_lock);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    (t = calloc(1, sizeof(*t))) == NULL) {
		log_warnx("tls: cannot set up a connection");
		SSL_free(ssl);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_accept_state(ssl);
	t->ssl = ssl;
	return t;
}

/* Who is at the other end, for a message. */
static const char *
tls_peer(int fd, char *buf, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	char			 host[INET6_ADDRSTRLEN] = "?";
	int			 port = 0;

	memset(&ss, 0, sizeof(ss));
	if (getpeername(fd, (struct sockaddr *)&ss, &sslen) == 0) {
		if (ss.ss_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
			    host, sizeof(host));
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		} else if (ss.ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
			    host, sizeof(host));
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
	}
	snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%d" : "%s:%d", host,
	    port);
	return buf;
}

/* The one CN of a subject, as UTF-8 without NULs; NULL if none or several. */
static char *
tls_subject_cn(X509 *x)
{
	X509_NAME	*name = X509_get_subject_name(x);
	unsigned char	*utf8;
	char		*cn;
	int		 i, len;

	if ((i = X509_NAME_get_index_by_NID(name, NID_commonName, -1)) < 0 ||
	    X509_NAME_get_index_by_NID(name, NID_commonName, i) >= 0)
		return NULL;
	len = ASN1_STRING_to_UTF8(&utf8,
	    X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
	if (len < 0)
		return NULL;
	cn = memchr(utf8, '\0', (size_t)len) == NULL ?
	    strndup((char *)utf8, (size_t)len) : NULL;
	OPENSSL_free(utf8);
	return cn;
}

/* The handshake just finished: note the client's certificate. */
static void
tls_established(struct tls_conn *t, int fd)
{
	X509	*x;
	char	 peer[64];

	t->ready = true;
	if ((x = SSL_get0_peer_certificate(t->ssl)) != NULL &&
	    SSL_get_verify_result(t->ssl) == X509_V_OK &&
	    (t->peer_cn = tls_subject_cn(x)) == NULL)
		log_info("tls: %s: the client certificate has no single CN",
		    tls_peer(fd, peer, sizeof(peer)));
	log_debug("tls: %s: %s %s%s%s", tls_peer(fd, peer, sizeof(peer)),
	    SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl),
	    t->peer_cn != NULL ? ", client certificate CN " : "",
	    t->peer_cn != NULL ? t->peer_cn : "");
}

/* After a call failed: EAGAIN for what it waits on, or the error. */
static ssize_t
tls_failed(struct tls_conn *t, int fd, int rc, const char *op)
{
	char	peer[64], why[256];
	int	saved = errno;

	switch (SSL_get_error(t->ssl, rc)) {
	case SSL_ERROR_WANT_READ:
		t->want = EV_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		t->want = EV_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		t->failed = true;
		ERR_clear_error();
		errno = saved != 0 ? saved : ECONNRESET;
		return -1;
	}
	t->failed = true;
	/* A client that cannot agree on TLS is worth a line; its bytes are not. */
	if (!t->ready)
		log_info("tls: %s: handshake failed: %s",
		    tls_peer(fd, peer, sizeof(peer)), tls_reason(why, sizeof(why)));
	else
		log_debug("tls: %s: %s: %s", tls_peer(fd, peer, sizeof(peer)), op,
		    tls_reason(why, sizeof(why)));
	errno = EPROTO;
	return -1;
}

/* As much as there is, up to len: one record per SSL_read. */
static ssize_t
tls_read(void *arg, int fd, void *buf, size_t len)
{
	struct tls_conn	*t = arg;
	size_t		 got = 0, n;
	ssize_t		 rc = 0;
	int		 saved;

	t->ended = false;	/* it comes again from SSL_read */
	ERR_clear_error();
	while (got < len) {
		if (SSL_read_ex(t->ssl, (char *)buf + got, len - got, &n) != 1) {
			rc = tls_failed(t, fd, 0, "read");
			break;
		}
		got += n;
	}
	if (!t->ready && SSL_is_init_finished(t->ssl)) {
		saved = errno;		/* the result's, not the log's */
		tls_established(t, fd);
		errno = saved;
	}
	t->full = got == len;
	if (got == 0)
		return rc;
	/* The end, or an error, after data: told at the next read. */
	if (rc == 0 && got < len)
		t->ended = true;
	else if (rc == -1 && errno != EAGAIN)
		t->ended = true;
	return (ssize_t)got;
}

static ssize_t
tls_write(void *arg, int fd, const void *buf, size_t len)
{
	struct tls_conn	*t = arg;
	size_t		 n;

	ERR_clear_error();
	if (SSL_write_ex(t->ssl, buf, len, &n) == 1)
		return (ssize_t)n;
	if (tls_failed(t, fd, 0, "write") == 0)
		errno = EPIPE;	/* closed under a write */
	return -1;
}

static short
tls_want(const void *arg)
{
	return ((const struct tls_conn *)arg)->want;
}

static bool
tls_pending(const void *arg)
{
	const struct tls_conn	*t = arg;

	/* Read ahead, records may wait in OpenSSL's buffer; but after a read
	 * that stopped for want of bytes, what waits there is a partial record,
	 * which only the socket can complete. */
	return t->ended || (t->ssl != NULL && (SSL_pending(t->ssl) > 0 ||
	    (t->full && SSL_has_pending(t->ssl))));
}

static bool
tls_ready(const void *arg)
{
	return ((const struct tls_conn *)arg)->ready;
}

static const char *
tls_peer_cn(const void *arg)
{
	return ((const struct tls_conn *)arg)->peer_cn;
}

/* A close_notify if it goes out at once; the SSL object goes now. */
static void
tls_close(void *arg, int fd)
{
	struct tls_conn	*t = arg;

	if (t->ready && !t->failed) {
		ERR_clear_error();
		(void)SSL_shutdown(t->ssl);
	}
	SSL_free(t->ssl);
	t->ssl = NULL;
	ERR_clear_error();
}

static void
tls_free(void *arg)
{
	struct tls_conn	*t = arg;

	free(t->peer_cn);
	free(t);
}

const struct conn_io tls_io = {
	.open = tls_open,
	.read = tls_read,
	.write = tls_write,
	.want = tls_want,
	.pending = tls_pending,
	.ready = tls_ready,
	.peer_cn = tls_peer_cn,
	.close = tls_close,
	.free = tls_free,
};
