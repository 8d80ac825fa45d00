/*
 * Who is on a connection, and what each of its requests may do
 * (doc/security.md).  A Unix socket connection is trusted by the socket's
 * file mode and gets unix_socket_roles; a TCP (or TLS) connection proves a
 * token with the auth op, or a TLS listener hands over the verified CN of
 * its client certificate (auth_set_cert), unless auth_tcp = none.  The
 * identity lives in the protocol's per-connection state; its rights are
 * worked out afresh for each request from the configuration in use, so a
 * reload that removes a token, changes its secret or its roles takes effect
 * on connections already open.
 */
#ifndef LOOM_NET_AUTH_H
#define LOOM_NET_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

struct conn;
struct principal;
struct request;

#define AUTH_FAILURES_MAX	3	/* wrong tokens before the connection closes */
#define AUTH_CN_MAX		64	/* X.509's upper bound for a common name */

struct auth_conn {
	char			 peer[80];	/* for the log: address or uid/pid */
	bool			 unix_socket;
	bool			 by_cert;
	bool			 cert_tried;	/* its certificate looked at */
	unsigned int		 failures;
	struct principal	*fallback;	/* unix, or anonymous (auth_tcp none) */
	/* Once authenticated: the token's name and what proved it. */
	struct principal	*principal;
	char			 token[CONFIG_NAME_MAX + 1];
	unsigned char		 digest[TOKEN_DIGEST_LEN];
	char			 cn[AUTH_CN_MAX + 1];
};

/* What one request may do, valid for the callback that asked. */
struct auth_rights {
	unsigned int		 roles;		/* ROLE_*; 0: must authenticate */
	struct principal	*principal;	/* who it acts for */
	const struct config_token *token;	/* NULL: Unix socket, auth_tcp none */
};

/* A new connection: which door it came in by, and its peer, logged. */
void	auth_open(struct conn *, struct auth_conn *);
void	auth_rights(struct auth_conn *, struct auth_rights *);
/* "token ci", "the Unix socket", "an unauthenticated connection" */
const char *auth_who(const struct auth_rights *, char *buf, size_t len);

/*
 * The token whose secret this is, or NULL; compared in constant time.  For
 * other doors that take a secret (an HTTP Authorization: Bearer header).
 * Good for the current callback only (a reload frees it).
 */
const struct config_token *auth_find_secret(const struct config *,
		    const char *secret, size_t len);
/* The token with this secret, which the connection now is; or NULL,
 * counted and logged as a failure. */
const struct config_token *auth_login(struct auth_conn *, const char *secret);

/*
 * For a TLS listener, on the connection's loop once its handshake has
 * verified a client certificate: the token whose cert_cn this is, or NULL.
 * The pointer is good for the current callback only (a reload frees it).
 * proto_cert() (net/proto.h) makes a connection that token.
 */
const struct config_token *auth_token_by_cn(const char *cn);
int	auth_set_cert(struct auth_conn *, const char *cn);

/* A line that starts as an HTTP request does ("POST / HTTP/1.1", "Host:"). */
bool	auth_http_line(const char *, size_t);

#endif
