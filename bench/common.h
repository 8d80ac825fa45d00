/*
 * What loom-bench's scenarios share: the daemon they load (their own,
 * started here, or a running one), connections, line reading, clocks and
 * percentiles.
 */
#ifndef LOOM_BENCH_COMMON_H
#define LOOM_BENCH_COMMON_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Where the daemon is: set by the options, or by bench_spawn(). */
extern const char	*opt_loomd;	/* the binary to start (-d) */
extern const char	*opt_socket;	/* Unix socket (-s) */
extern const char	*opt_tcp;	/* HOST:PORT (-H) */
extern bool		 opt_spawn_tcp;	/* our own daemon listens on loopback TCP (-T) */
/* Our own daemon also listens with TLS, on a certificate made at start
 * (tls.c); opt_tls is then its HOST:PORT, and bench_tls makes the pipelined
 * scenarios connect there. */
extern bool		 opt_spawn_tls;
extern const char	*opt_tls;
extern bool		 bench_tls;
extern pid_t		 daemon_pid;	/* for RSS (-p, or our own) */
extern const char	*opt_loomd_args[16];	/* -o KEY=VALUE for our own */

double	 now(void);				/* CLOCK_MONOTONIC, seconds */
void	 die(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Start our own loomd with these extra arguments (NULL-ended), or do nothing
 * if -s or -H named a running server. */
void	 bench_spawn(char *const extra[]);
void	 bench_stop(void);
/* kill -9 our own daemon, start it again on its state_dir; wait for it. */
void	 bench_crash_restart(void);
const char *bench_state_dir(void);	/* our own daemon's, else NULL */
long	 daemon_rss_kib(void);			/* 0 if unknown */
double	 daemon_cpu_seconds(void);		/* user + system; 0 if unknown */

/* A blocking connection to the server (-H if given, else the socket). */
int	 bench_connect(void);
/* At least `want` descriptors, as far as the hard limit allows; the limit. */
long	 bench_raise_nofile(long want);

struct ssl_st;

/* A connection as the pipelined scenarios see it. */
struct bconn {
	int		 fd;
	struct ssl_st	*ssl;	/* TLS over fd, or NULL */
	char	*buf;
	size_t	 len;
	size_t	 cap;
	long	 inflight;
	int	 state;		/* the scenario's own */
};

/* A growable output buffer: a scenario queues requests, then sends once. */
struct obuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};
void	 obuf_add(struct obuf *, const void *, size_t);
void	 obuf_send(struct obuf *, int fd);	/* all of it, then empty */
void	 obuf_send_conn(struct obuf *, struct bconn *);	/* TLS or not */
/* Open c (TLS if bench_tls), non-blocking; close it. */
void	 bconn_open(struct bconn *);
void	 bconn_close(struct bconn *);

/* tls.c: a self-signed certificate and key for localhost, made in dir. */
void	 tls_make_cert(const char *dir, char *cert, char *key, size_t len);
/* TLS over a connected blocking socket, the handshake done. */
struct ssl_st *tls_wrap(int fd);
/* As recv() and send() on a non-blocking socket: -1 EAGAIN to wait. */
ssize_t	 tls_recv(struct ssl_st *, void *, size_t);
ssize_t	 tls_send(struct ssl_st *, const void *, size_t);
void	 tls_free(struct ssl_st *);
/* A blocking connection to opt_tls. */
int	 bench_connect_tls_fd(void);

void	 send_all(int fd, const void *, size_t);
/* Read what is there; call line() for each complete line (without "\n").
 * Returns the bytes read (0 when nothing was ready). */
size_t	 read_lines(struct bconn *, void (*line)(struct bconn *, char *, size_t,
	    void *), void *arg);

/* One request on a fresh connection, its answer parsed; dies unless ok. */
json_t	*call(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int	 cmp_double(const void *, const void *);
/* The p-th quantile (0..1) of n sorted values. */
double	 quantile(const double *, size_t n, double p);

#endif
