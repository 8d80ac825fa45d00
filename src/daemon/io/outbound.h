/*
 * What outbound connections share (DESIGN.md, "TLS and outbound HTTP"): one
 * client TLS context for the whole daemon, built on first use and never
 * changed, and one DNS resolver per loop, since libevent objects never
 * cross loops.
 */
#ifndef LOOM_OUTBOUND_H
#define LOOM_OUTBOUND_H

#include <openssl/ssl.h>

struct loop;
struct outbound_dns;

/*
 * The client context: peer verification against the system's CA store plus
 * [http] ca_file, TLS 1.2 or later, SSL_OP_IGNORE_UNEXPECTED_EOF.  NULL,
 * with the reason in *why, if it cannot be built (a bad ca_file).
 */
SSL_CTX			*outbound_tls(const char **why);

/*
 * The resolver of the current loop, made on first use, with a reference
 * that outbound_dns_put() drops; NULL once the loop is stopping.  It is
 * freed when the loop has stopped and the last reference is gone.
 */
struct outbound_dns	*outbound_dns_get(struct loop *);
struct evdns_base	*outbound_dns_base(const struct outbound_dns *);
void			 outbound_dns_put(struct outbound_dns *);

#endif
