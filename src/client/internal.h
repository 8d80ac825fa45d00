/* What the files of libloomclient share; not installed. */
#ifndef LOOM_CLIENT_INTERNAL_H
#define LOOM_CLIENT_INTERNAL_H

/* A client around a connected, non-blocking socket; NULL if out of memory. */
struct loom_client	*client_new(int fd);
/* A failure that leaves the connection usable, for loom_error(): -1. */
int			 client_fail_text(struct loom_client *, int err,
			    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
