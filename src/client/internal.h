/* What the files of libloomclient share; not installed. */
#ifndef LOOM_CLIENT_INTERNAL_H
#define LOOM_CLIENT_INTERNAL_H

/* A client around a connected, non-blocking socket; NULL if out of memory. */
struct loom_client	*client_new(int fd);

#endif
