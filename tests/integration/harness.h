/*
 * Integration test harness: start a real loomd in a private temporary
 * directory (Unix socket there; TCP only with socket_activation, on a port
 * the harness holds from bind to loomd's exit), talk to it with
 * raw NDJSON lines, and stop it with SIGTERM, checking that it exits 0 (so an
 * ASan leak report fails the test).  Waits are on events (a reply, a
 * connectable socket), each bounded by a generous HARNESS_WAIT.
 */
#ifndef LOOM_HARNESS_H
#define LOOM_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#define HARNESS_WAIT	60.0	/* seconds: turns a hang into a failure */

struct daemon {
	pid_t	pid;
	char	dir[64];
	char	sock[128];
	char	log[128];
	char	conf[128];	/* the -c file, when one was written */
	int	port;		/* TCP, with socket_activation; else 0 */
	int	tls_port;	/* TLS, with tls_activation; else 0 */
	int	notify_fd;	/* our end of its NOTIFY_SOCKET, or -1 */
};

/* For daemon_start_with(); zero is the plain daemon_start(). */
struct daemon_opts {
	const char *const	*extra;		/* NULL-ended loomd arguments */
	const char		*config;	/* a config file's text, given with -c */
	bool			 notify;	/* a NOTIFY_SOCKET; started at READY=1 */
	/* Listen as systemd's socket activation does: the harness binds the
	 * Unix socket and the TCP port and passes them (LISTEN_FDS); loomd's
	 * own unix_socket is <dir>/unused.sock.  Implies notify.  The only way
	 * to a TCP listener: a port is never picked, released and bound again,
	 * which another process could take in between. */
	bool			 socket_activation;
	/* With socket_activation, a third listener on another port the
	 * harness holds, named "tls" (FileDescriptorName=tls), which loomd
	 * serves with TLS: the config must give [tls] cert_file and key_file. */
	bool			 tls_activation;
	const char *const	*env;		/* NULL-ended NAME=VALUE to add */
	/* A state_dir that outlives the daemon (restarts); else <dir>/state. */
	const char		*state_dir;
};

struct client {
	int	 fd;
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

/* extra: NULL-ended extra loomd arguments, e.g. {"-o", "max_jobs=5", NULL}. */
void	 daemon_start(struct daemon *, const char *const extra[]);
void	 daemon_stop(struct daemon *);
void	 daemon_kill(struct daemon *);	/* no exit check */
void	 daemon_start_with(struct daemon *, const struct daemon_opts *);
void	 daemon_signal(const struct daemon *, int sig);
/* Wait for it to exit and clean up; returns the wait status. */
int	 daemon_wait_exit(struct daemon *);
/* Its next sd_notify message (allocated), failing the test on timeout. */
char	*daemon_notify_recv(struct daemon *, double timeout);
/* Skip messages until one has this line, e.g. "READY=1"; returns it. */
char	*daemon_notify_wait(struct daemon *, const char *line);
/* Whether its log holds this text so far. */
bool	 daemon_log_contains(const struct daemon *, const char *);
/* Wait until it does; false after HARNESS_WAIT. */
bool	 daemon_log_wait(const struct daemon *, const char *);
/* Ask `stats` every 10 ms until fn(its "stats", arg) says so; fails the
 * test after HARNESS_WAIT.  For what the daemon does on its own time. */
void	 stats_until(struct client *, bool (*fn)(const json_t *, void *),
	    void *arg);
/* Replace the -c file (for reloads). */
void	 daemon_write_config(struct daemon *, const char *text);
const char *daemon_bin(const char *name);	/* path of a built program */
/* The environment of a daemon under the fault shim (tests/fault/fault.c),
 * for daemon_opts.env: LD_PRELOAD, what a sanitizer build needs to take it,
 * and more (e.g. "LOOM_FAULT=...", or NULL); NULL-ended. */
void	 fault_env(const char *env[4], const char *more);
/* The same with the shim's gate at test_state_dir/gate (STATE_DIR_TEST):
 * while held, every fdatasync and fsync of the daemon waits. */
void	 fault_gate_env(const char *env[4]);
void	 fault_gate_hold(void);
void	 fault_gate_release(void);
/* A state_dir of the test's own, to outlive daemons (restarts). */
void	 state_dir_make(char *dir, size_t len);
void	 state_dir_remove(const char *dir);
/* cmocka fixtures for tests of restarts: test_state_dir made before each
 * test and removed after it. */
extern char	 test_state_dir[64];
int	 state_dir_setup(void **);
int	 state_dir_teardown(void **);
#define STATE_DIR_TEST(fn) \
	cmocka_unit_test_setup_teardown(fn, state_dir_setup, state_dir_teardown)
/* loomd on state_dir that must refuse to start: fails the test if it
 * starts or exits 0; what it said goes into out. */
void	 daemon_refused(const char *state_dir, char *out, size_t len);

void	 client_connect(struct client *, const struct daemon *);
void	 client_connect_tcp(struct client *, const struct daemon *);
/* client_connect, retried while the daemon answers busy (max_connections). */
void	 client_connect_ready(struct client *, const struct daemon *);
void	 client_close(struct client *);
void	 client_send_raw(struct client *, const void *, size_t);
void	 client_send(struct client *, const char *fmt, ...)
	     __attribute__((format(printf, 2, 3)));
/* The next line as JSON; fails the test on timeout or EOF. */
json_t	*client_recv(struct client *, double timeout);
/* Like client_recv, but NULL on EOF (the daemon closed the connection). */
json_t	*client_recv_or_eof(struct client *, double timeout);
/* The next line as the daemon wrote it, without the newline (caller frees). */
char	*client_recv_text(struct client *, double timeout);
char	*client_recv_text_or_eof(struct client *, double timeout);
/* Send one request line and return the next line. */
json_t	*client_call(struct client *, const char *fmt, ...)
	     __attribute__((format(printf, 2, 3)));
/* A ping answered on this connection, or the test fails. */
void	 client_assert_pings(struct client *);
/* Submit one job spec (JSON text); its id, or the test fails. */
json_int_t client_submit(struct client *, const char *job);

/* Poll a job's status until it leaves `state`: its new view (caller frees).
 * An event-driven wait for tests that need a job to have started. */
json_t	*client_wait_left(struct client *, json_int_t id, const char *state);

/* Helpers on replies. */
const char *reply_error_code(const json_t *);
const char *reply_error_path(const json_t *);
const char *reply_job_state(const json_t *);
json_int_t reply_job_id(const json_t *);
json_t	*reply_job(const json_t *);		/* its "job" (borrowed) */
json_t	*reply_result(const json_t *);		/* its job's result */
json_t	*reply_error(const json_t *);		/* its job's error */
/* A string member that must be there (the test fails if it is not). */
const char *json_str(const json_t *, const char *key);
double	 now_seconds(void);

#endif
