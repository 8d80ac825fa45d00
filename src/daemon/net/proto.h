/*
 * The wire protocol (doc/protocol.md): one JSON request per line, dispatched
 * through the op table.  The transport (net/conn.c) calls it through this
 * handler, which the acceptor gives each connection.
 */
#ifndef LOOM_PROTO_H
#define LOOM_PROTO_H

#include "net/conn.h"

extern const struct conn_handler	proto_handler;

#endif
