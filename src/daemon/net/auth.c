/*
 * Authentication (net/auth.h): tokens proved by their secret, the rights of
 * each request, client certificates for the TLS listener, and the guard
 * against HTTP requests sent to the protocol's port.  Secrets are known here only while
 * their digest is computed; they are never logged.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/config.h"
#include "core/loomd.h"
#include "core/principal.h"
#include "net/auth.h"
#include "net/conn.h"
#include "runtime/log.h"
#include "runtime/util.h"

/* The peer, as the log names it. */
static void
auth_peer(int fd, struct auth_conn *a)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof(ss);
	struct ucred		 cred;
	char			 host[INET6_ADDRSTRLEN];

	snprintf(a->peer, sizeof(a->peer), "an unknown peer");
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	a->unix_socket = ss.ss_family == AF_UNIX;
	if (a->unix_socket) {
		len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
			snprintf(a->peer, sizeof(a->peer), "uid %u pid %d",
			    (unsigned int)cred.uid, (int)cred.pid);
		return;
	}
	len = sizeof(ss);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(a->peer, sizeof(a->peer), "%s:%u", host,
		    (unsigned int)ntohs(sin->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(a->peer, sizeof(a->peer), "[%s]:%u", host,
		    (unsigned int)ntohs(sin6->sin6_port));
	}
}

void
auth_open(struct conn *c, struct auth_conn *a)
{
	memset(a, 0, sizeof(*a));
	auth_peer(conn_fd(c), a);
	a->fallback = principal_get(a->unix_socket ? PRINCIPAL_UNIX :
	    PRINCIPAL_ANONYMOUS);
	/* One line per connection: debug, or a busy server's log is all this. */
	log_debug("connection %s %s", a->unix_socket ? "on the Unix socket from" :
	    "from", a->peer);
}

/* Still the token it proved, as the configuration in use has it? */
static const struct config_token *
auth_token_current(const struct auth_conn *a)
{
	const struct config_token	*t;

	if ((t = config_find_token(loomd.config, a->token)) == NULL)
		return NULL;
	if (a->by_cert)
		return t->cert_cn != NULL && strcmp(t->cert_cn, a->cn) == 0 ? t : NULL;
	if (!t->has_digest ||
	    CRYPTO_memcmp(t->digest, a->digest, TOKEN_DIGEST_LEN) != 0)
		return NULL;
	return t;
}

void
auth_rights(struct auth_conn *a, struct auth_rights *r)
{
	const struct config	*cfg = loomd.config;
	const struct config_token *t;

	memset(r, 0, sizeof(*r));
	if (a->principal != NULL) {
		if ((t = auth_token_current(a)) != NULL) {
			r->roles = t->roles;
			r->principal = a->principal;
			r->token = t;
			return;
		}
		log_info("connection from %s: token %s was removed or changed by a "
		    "reload; the connection must authenticate again", a->peer,
		    a->token);
		a->principal = NULL;
		a->token[0] = '\0';
	}
	r->principal = a->fallback;
	if (a->unix_socket)
		r->roles = cfg->unix_socket_roles;
	else if (cfg->auth_tcp == AUTH_TCP_NONE)
		r->roles = ROLE_ALL;
}

const char *
auth_who(const struct auth_rights *r, char *buf, size_t len)
{
	if (r->token != NULL)
		snprintf(buf, len, "token %s", r->token->name);
	else if (strcmp(r->principal->name, PRINCIPAL_UNIX) == 0)
		snprintf(buf, len, "the Unix socket");
	else
		snprintf(buf, len, "an unauthenticated connection");
	return buf;
}

/*
 * The token with this secret's digest.  Every token is compared, in
 * constant time, whichever matches: the time taken tells nothing of which
 * digest came close.
 */
static const struct config_token *
auth_token_by_secret(const struct config *cfg, const char *secret, size_t len,
    unsigned char *digest)
{
	const struct config_token	*found = NULL, *t;
	size_t				 i;

	if (EVP_Digest(secret, len, digest, NULL, EVP_sha256(), NULL) != 1)
		return NULL;
	for (i = 0; i < cfg->ntokens; i++) {
		t = &cfg->tokens[i];
		if (t->has_digest &&
		    CRYPTO_memcmp(t->digest, digest, TOKEN_DIGEST_LEN) == 0)
			found = t;
	}
	return found;
}

const struct config_token *
auth_find_secret(const struct config *cfg, const char *secret, size_t len)
{
	const struct config_token	*t;
	unsigned char			 digest[TOKEN_DIGEST_LEN];

	t = auth_token_by_secret(cfg, secret, len, digest);
	OPENSSL_cleanse(digest, sizeof(digest));
	return t;
}

const struct config_token *
auth_token_by_cn(const char *cn)
{
	const struct config	*cfg = loomd.config;
	size_t			 i;

	for (i = 0; i < cfg->ntokens; i++) {
		if (cfg->tokens[i].cert_cn != NULL &&
		    strcmp(cfg->tokens[i].cert_cn, cn) == 0)
			return &cfg->tokens[i];
	}
	return NULL;
}

static void
auth_become(struct auth_conn *a, const struct config_token *t)
{
	a->principal = principal_get(t->name);
	snprintf(a->token, sizeof(a->token), "%s", t->name);
	a->failures = 0;
}

int
auth_set_cert(struct auth_conn *a, const char *cn)
{
	const struct config_token	*t;

	if (strlen(cn) > AUTH_CN_MAX || (t = auth_token_by_cn(cn)) == NULL) {
		log_info("connection from %s: no token has certificate CN \"%.*s\"",
		    a->peer, AUTH_CN_MAX, cn);
		return -1;
	}
	auth_become(a, t);
	a->by_cert = true;
	snprintf(a->cn, sizeof(a->cn), "%s", cn);
	log_debug("connection from %s is token %s by its certificate", a->peer,
	    t->name);
	return 0;
}

/*
 * The auth op's work: the token whose secret this is, which the connection
 * now acts as; or NULL, counted as a failure (logged with the peer).
 */
const struct config_token *
auth_login(struct auth_conn *a, const char *secret)
{
	const struct config_token	*t;
	unsigned char			 digest[TOKEN_DIGEST_LEN];

	t = auth_token_by_secret(loomd.config, secret, strlen(secret), digest);
	if (t == NULL) {
		OPENSSL_cleanse(digest, sizeof(digest));
		a->failures++;
		log_warnx("connection from %s: auth with a wrong token (%u of %d)",
		    a->peer, a->failures, AUTH_FAILURES_MAX);
		if (a->failures >= AUTH_FAILURES_MAX)
			log_warnx("connection from %s: closed after %d wrong tokens",
			    a->peer, AUTH_FAILURES_MAX);
		return NULL;
	}
	auth_become(a, t);
	a->by_cert = false;
	memcpy(a->digest, digest, sizeof(digest));
	OPENSSL_cleanse(digest, sizeof(digest));
	log_debug("connection from %s is token %s", a->peer, t->name);
	return t;
}

/*
 * A browser or an HTTP client sent here: a page's script can make a
 * browser POST to any port, with JSON in the body (cross-protocol
 * requests).  Such a line never starts a JSON request.
 */
bool
auth_http_line(const char *line, size_t len)
{
	static const char *const methods[] = {
		"GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH",
		"CONNECT", "TRACE",
	};
	size_t	i, n;

	if (len == 0 || line[0] == '{')
		return false;
	if (len >= 5 && strncasecmp(line, "Host:", 5) == 0)
		return true;
	for (i = 0; i < nitems(methods); i++) {
		n = strlen(methods[i]);
		if (len > n && memcmp(line, methods[i], n) == 0 && line[n] == ' ')
			return true;
	}
	return false;
}
