/*
 * libloomclient: a plain, blocking client for loomd's wire protocol
 * (doc/protocol.md).  Link with `pkg-config --cflags --libs loomclient`.
 *
 * A connection carries one compact JSON object per line each way.  Requests
 * may be pipelined and their responses come back in any order, matched by
 * "id"; the server also pushes events (objects with an "event" member and no
 * "ok" member) for watches and streamed submits.  Whatever arrives while the
 * caller waits for something else is queued in arrival order, never dropped,
 * and handed out later by loom_receive(), loom_wait_response() or
 * loom_next_event().
 *
 * Conventions for every function below:
 * - A client is used by one thread at a time; different clients are
 *   independent.  No function raises SIGPIPE.
 * - `timeout` is in seconds: < 0 waits forever, 0 only takes what is already
 *   there (buffered, or readable without blocking).  A call's timeout covers
 *   all of its work, sending included.
 * - Functions returning int return 0 on success, or -1 with errno set and a
 *   message for people from loom_error().  errno is:
 *     ETIMEDOUT   the timeout ran out.  The client stays usable: an answer
 *                 that arrives later is queued like any other message.
 *     EPROTO      the server sent a line that is not a JSON object.
 *     ECONNRESET  the server closed the connection (or reset it).
 *     EINVAL      a bad argument (e.g. a request that is not an object).
 *     ENOMEM      out of memory.
 *     other       from the failing system call.
 *   A timeout while waiting, or EINVAL, leaves the connection usable.  Any
 *   other failure, and a timeout after part of a request was written, ends
 *   it: later calls still hand out the messages read before the failure, then
 *   fail with the same error.
 * - JSON arguments are borrowed: the library never takes the caller's
 *   reference.  JSON results (*response, *msg, *event) are new references
 *   that the caller owns and must json_decref().
 * - A loom_request() answered with "ok": false still returns 0: the request
 *   was carried out, and the answer says why the server refused it.
 */
#ifndef LOOM_CLIENT_H
#define LOOM_CLIENT_H

#include <stddef.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LOOM_PROTOCOL_VERSION	1
#define LOOM_DEFAULT_SOCKET	"/run/loomd/loomd.sock"
#define LOOM_DEFAULT_PORT	"7433"
#define LOOM_DEFAULT_TLS_PORT	"7434"

struct loom_client;

/*
 * Connect to a target, which is one of:
 *   "unix:PATH", or any PATH containing a '/'    a Unix stream socket
 *   "tcp:HOST:PORT", or "HOST:PORT"               TCP; HOST may be a name,
 *                                                 an IPv4 address or an IPv6
 *                                                 address in brackets
 *                                                 ("[::1]:7433")
 *   "tls://HOST:PORT", or "tls:HOST:PORT"         TLS over TCP, the server's
 *                                                 certificate checked against
 *                                                 the system's CA store and
 *                                                 HOST (see loom_connect_tls)
 * A TCP target without ":PORT" uses LOOM_DEFAULT_PORT, a TLS one
 * LOOM_DEFAULT_TLS_PORT.  Returns a client, or NULL with a message in err
 * (errlen bytes, always terminated; err may be NULL) and errno set.
 */
struct loom_client *loom_connect(const char *target, char *err, size_t errlen);

/*
 * TLS settings.  Zero them, then set what differs from the defaults.  The
 * server's certificate must chain to a trusted CA and name the host
 * connected to (a DNS name, or an IP address in its subjectAltName), or
 * the handshake fails (errno EPROTO, err saying why).  TLS 1.2 or later.
 */
struct loom_tls_options {
	const char	*ca_file;	/* trusted CAs, PEM; NULL: the system's store */
	const char	*cert_file;	/* a client certificate (PEM, with its chain),
					 * for servers with tls.client_ca_file; NULL:
					 * none */
	const char	*key_file;	/* its key, PEM; NULL: in cert_file */
	const char	*server_name;	/* the name to check instead of the host */
	double		 timeout;	/* for the handshake, seconds; <= 0: 30 */
};

/* loom_connect() with these settings for a TLS target (NULL: defaults). */
struct loom_client *loom_connect_with(const char *target,
		    const struct loom_tls_options *, char *err, size_t errlen);

/* TLS to host and port (as loom_connect_tcp), then the handshake. */
struct loom_client *loom_connect_tls(const char *host, const char *port,
		    const struct loom_tls_options *, char *err, size_t errlen);

/* Connect to a Unix stream socket at path. */
struct loom_client *loom_connect_unix(const char *path, char *err, size_t errlen);

/*
 * Connect over TCP to host (a name or a numeric IPv4/IPv6 address, without
 * brackets) and port (a number or a service name), trying each address
 * getaddrinfo() returns in turn.
 */
struct loom_client *loom_connect_tcp(const char *host, const char *port,
		    char *err, size_t errlen);

/*
 * Wrap a stream socket that is already connected (socket activation, a
 * socketpair(), a test).  The client owns fd from then on, and makes it
 * non-blocking and close-on-exec.  NULL on error, fd left open.
 */
struct loom_client *loom_attach(int fd, char *err, size_t errlen);

/*
 * Authenticate the connection as a token (loomd's auth op), as a client on
 * TCP must before anything but ping: 0, or -1 with loom_error() saying why
 * ("auth: unauthorized: ...") and errno EACCES if the server refused.
 * loom_auth_file() reads the secret from a file (a trailing newline is not
 * part of it).  The secret is never kept.
 */
int		 loom_auth(struct loom_client *, const char *secret,
		    double timeout);
int		 loom_auth_file(struct loom_client *, const char *path,
		    double timeout);

/* Close the connection and free the client and anything still queued.
 * NULL is allowed. */
void		 loom_close(struct loom_client *);

/*
 * The message of the last call that failed, e.g. "connection closed by
 * server"; "" if none has.  Valid until the next call on this client.
 */
const char	*loom_error(struct loom_client *);

/*
 * Send request and wait for its response.  If request has no "id", a fresh
 * integer id is used for the wire (request itself is left unchanged); an id
 * the caller set is used as is.  Anything else that arrives meanwhile is
 * queued.  On success *response is the server's answer ("ok" true or
 * false).  If the wait times out, the connection stays usable; the late
 * answer to an id the library chose is dropped when it comes, while the
 * answer to a caller's id is queued for loom_wait_response().
 *
 * A response without an "id" (the server could not read a request: bad_json,
 * line_too_long, or a connection-wide busy) is taken as the answer to the
 * request being waited for, since the server cannot say which one it was.
 */
int		 loom_request(struct loom_client *, json_t *request,
		    json_t **response, double timeout);

/*
 * Send request without waiting for an answer, for pipelining.  If it has no
 * "id", a fresh integer id is added to request itself, so the caller can read
 * it back with json_object_get(request, "id").  Integer ids chosen by the
 * caller are skipped by later fresh ids.  If the server sends more than it
 * reads meanwhile, its lines are buffered so neither side can block the
 * other.  A timeout after part of the line was written ends the connection,
 * since the rest of the stream would be corrupt.
 */
int		 loom_send(struct loom_client *, json_t *request, double timeout);

/*
 * The next message of any kind in arrival order: the oldest queued one, else
 * the next line read.
 */
int		 loom_receive(struct loom_client *, json_t **msg, double timeout);

/*
 * The response whose "id" equals id (json_equal(), so 7 and 7.0 differ), or
 * with id NULL the next response of any id.  Queued messages are searched
 * first; others that arrive meanwhile are queued.  A response without an
 * "id" counts as a match, as for loom_request().
 */
int		 loom_wait_response(struct loom_client *, json_t *id,
		    json_t **response, double timeout);

/*
 * The next pushed event ({"event": ...} without "ok"), queued or read;
 * responses that arrive meanwhile are queued.
 */
int		 loom_next_event(struct loom_client *, json_t **event,
		    double timeout);

/*
 * The socket, to poll() for readability alongside other descriptors.  Do not
 * read from it, write to it or close it.  Check loom_pending() before
 * sleeping on it: messages already read into memory do not make it readable.
 */
int		 loom_fd(struct loom_client *);

/*
 * Non-zero if loom_receive() would return at once without waiting for the
 * socket: a message is queued or already buffered, or the connection has
 * ended (then it returns the error).
 */
int		 loom_pending(struct loom_client *);

#ifdef __cplusplus
}
#endif

#endif
