/*
 * The transport under a connection (net/conn.c): a plain socket, or TLS
 * over one (net/tls.c).  The connection frames lines and buffers output the
 * same way over either; only these calls differ.
 */
#ifndef LOOM_CONN_IO_H
#define LOOM_CONN_IO_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

/* What a connection came in on: the trust the protocol gives it differs. */
enum conn_transport {
	CONN_UNIX,
	CONN_TCP,
	CONN_TLS,
};

/*
 * Every call runs on the connection's loop.  read and write move bytes and
 * return how many, 0 for the end of input (read), or -1 with errno; EAGAIN
 * means waiting for the socket to become what want() says (EV_READ or
 * EV_WRITE: TLS may need to write to read, or read to write).
 */
struct conn_io {
	/* The state for one socket; NULL if it cannot be made. */
	void		*(*open)(int fd);
	ssize_t		 (*read)(void *, int fd, void *, size_t);
	ssize_t		 (*write)(void *, int fd, const void *, size_t);
	short		 (*want)(const void *);
	/* Input taken from the socket already, not yet read. */
	bool		 (*pending)(const void *);
	/* The handshake is done: until then it is bounded in time. */
	bool		 (*ready)(const void *);
	/* The verified client certificate's CN, or NULL. */
	const char	*(*peer_cn)(const void *);
	/* The connection closes: say goodbye, release what is big. */
	void		 (*close)(void *, int fd);
	/* The connection is freed. */
	void		 (*free)(void *);
};

#endif
