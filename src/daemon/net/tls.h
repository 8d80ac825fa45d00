/*
 * Server TLS (tls_listen): one immutable SSL_CTX for the whole daemon, built
 * from [tls] at start and replaced whole by a reload, and the transport
 * (struct conn_io) that runs a connection's bytes through an SSL object of
 * its own.  An SSL object stays on its connection's loop; the context is
 * shared, and one a reload replaced lives as long as the connections made
 * with it.
 */
#ifndef LOOM_TLS_H
#define LOOM_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct config_tls;
struct conn_io;

/*
 * Build a context from these settings and make it the one new connections
 * use; -1 with the reason in err (the file and OpenSSL's words) and the
 * context in use, if any, kept.  Main thread (start and reload).
 */
int		 tls_server_load(const struct config_tls *, char *err, size_t errlen);
/* The same build, only to see that it can be made (loomd -t). */
int		 tls_server_check(const struct config_tls *, char *err, size_t errlen);
/* Whether a context is in use: a TLS listener needs one. */
bool		 tls_server_loaded(void);
void		 tls_server_free(void);

/* The transport of a connection accepted on a TLS listener. */
extern const struct conn_io	tls_io;

#endif
