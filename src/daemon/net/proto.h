/*
 * The wire protocol (doc/protocol.md): one JSON request per line, dispatched
 * through the op table.  The transport (net/conn.c) calls it through this
 * handler, which the acceptor gives each connection.
 */
#ifndef LOOM_PROTO_H
#define LOOM_PROTO_H

#include "net/conn.h"

extern const struct conn_handler	proto_handler;

/*
 * A TLS listener, once the handshake verified a client certificate: the
 * connection acts as the token whose cert_cn is cn, without auth.  -1 (and
 * logged) if no token has it: the connection may still use auth.
 */
int	proto_cert(struct conn *, const char *cn);

#endif
