/*
 * What outbound connections share (DESIGN.md, "TLS and outbound HTTP"): one
 * client TLS context for the whole daemon, built on first use and replaced
 * whole by a reload (never changed once built), and one DNS resolver per
 * loop, since libevent objects never cross loops.
 */
#ifndef LOOM_OUTBOUND_H
#define LOOM_OUTBOUND_H

#include <stddef.h>

#include <openssl/ssl.h>

struct loop;
struct outbound_dns;

/*
 * The client context: peer verification against the system's CA store plus
 * [http] ca_file, TLS 1.2 or later, SSL_OP_IGNORE_UNEXPECTED_EOF.  With a
 * reference for the caller to drop (SSL_CTX_free) once it has made its SSL,
 * which holds its own: a context a reload replaced lives as long as the
 * requests made with it.  NULL, with the reason in why, if it cannot be
 * built (a bad ca_file).  Any thread.
 */
SSL_CTX			*outbound_tls(char *why, size_t len);
/*
 * A new context from this ca_file (NULL: none) and the system's store, read
 * again; requests from now on use it.  For a reload; any thread.
 */
void			 outbound_tls_reload(const char *ca_file);

/*
 * The resolver of the current loop, made on first use, with a reference
 * that outbound_dns_put() drops; NULL once the loop is stopping.  It is
 * freed when the loop has stopped and the last reference is gone.
 */
struct outbound_dns	*outbound_dns_get(struct loop *);
struct evdns_base	*outbound_dns_base(const struct outbound_dns *);
void			 outbound_dns_put(struct outbound_dns *);

#endif
