/*
 * The acceptor, on the main thread: TCP and Unix listeners, accept, and the
 * round-robin handoff of each connection to a loop (memcached's
 * dispatch_conn_new).
 */
#ifndef LOOM_SERVER_H
#define LOOM_SERVER_H

#include <stdbool.h>

#include <event2/event.h>

struct config;
struct conn_handler;

/* The protocol every accepted connection speaks; before any accept. */
void	server_set_handler(const struct conn_handler *);
/* Bind everything configured; -1 with a message in err. */
int	server_listen(struct event_base *, const struct config *, char *err, size_t errlen);
/* Take a listener passed by systemd's socket activation instead; tls: its
 * FileDescriptorName is "tls" (the server context must be loaded). */
int	server_adopt(struct event_base *, int fd, bool tls, char *err,
	    size_t errlen);
const char *server_unix_path(void);	/* the socket file we bound, or NULL */
bool	server_has_tcp(void);		/* a TCP listener, configured or passed */
void	server_close(void);	/* stop accepting; remove the socket file */

#endif
