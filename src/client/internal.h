/* What the files of libloomclient share; not installed. */
#ifndef LOOM_CLIENT_INTERNAL_H
#define LOOM_CLIENT_INTERNAL_H

#include <sys/types.h>

struct loom_tls_options;

/* A client around a connected, non-blocking socket; NULL if out of memory. */
struct loom_client	*client_new(int fd);
/* A failure that leaves the connection usable, for loom_error(): -1. */
int			 client_fail(struct loom_client *, int err,
			    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * TLS (tls.c) over a connected socket: the handshake done, the server's
 * certificate verified for host (or the options' server_name); NULL with
 * err and errno.  Reads and writes return bytes, 0 at the end (read), or
 * -1 with errno, EAGAIN with *events what poll() must wait for.
 */
struct client_tls	*client_tls_open(int fd, const char *host,
			    const struct loom_tls_options *, char *err,
			    size_t errlen);
ssize_t			 client_tls_read(struct client_tls *, void *, size_t,
			    short *events);
ssize_t			 client_tls_write(struct client_tls *, const void *,
			    size_t, short *events);
int			 client_tls_pending(const struct client_tls *);
void			 client_tls_close(struct client_tls *);
/* The client reads and writes through t from now on, and owns it. */
void			 client_set_tls(struct loom_client *, struct client_tls *t);

#endif
