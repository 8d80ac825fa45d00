/*
 * loomd's configuration: built-in defaults < the file (INI) < -o overrides.
 * Errors name the file, line and key ("loomd.conf:12: max_jobs: ...") or the
 * override ("-o max_jobs=x: ...").
 */
#ifndef LOOM_CONFIG_H
#define LOOM_CONFIG_H

#include <sys/types.h>

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "runtime/util.h"

#ifndef LOOM_SYSCONFDIR
#define LOOM_SYSCONFDIR		"/etc"		/* configure's sysconfdir */
#endif
#define CONFIG_DEFAULT_PATH	LOOM_SYSCONFDIR "/loomd/loomd.conf"
#define CONFIG_NAME_MAX		LOOM_NAME_MAX	/* queue, limit and command names */

enum journal_sync {
	JOURNAL_SYNC_ALWAYS,	/* fdatasync before the reply */
	JOURNAL_SYNC_BATCH,	/* write before the reply, fdatasync soon after */
	JOURNAL_SYNC_OFF,	/* write before the reply; the kernel flushes */
};

struct netpolicy;
/* Which finished jobs get a line in the log (core/joblog.c). */
enum log_jobs {
	LOG_JOBS_ALL,
	LOG_JOBS_FAILED,	/* failed and timed out */
	LOG_JOBS_NONE,
};

/* [queue.NAME] */
struct config_queue {
	char		*name;
	unsigned int	 concurrency;	/* 0: unlimited */
	size_t		 max_pending;	/* 0: unlimited */
};

/* [limit.NAME] */
struct config_limit {
	char		*name;
	unsigned int	 concurrency;	/* >= 1 */
};

/* [command.NAME] */
struct config_command {
	char		*name;
	char		**argv;		/* NULL-ended, split like a shell without expansion */
	bool		 allow_args;
	bool		 allow_options;	/* args may begin with '-' */
	char		*args_pattern;	/* ERE each arg must match whole; NULL: none */
	regex_t		*args_re;	/* args_pattern compiled (config_check) */
	char		**allow_env;	/* names, "PREFIX*"; "*": any; NULL: none */
	char		*cwd;
	double		 timeout;	/* 0: none */
	size_t		 max_output;	/* per stream */
	char		*user;
	char		*group;
};

/* auth_tcp: whether TCP connections must authenticate. */
enum auth_tcp {
	AUTH_TCP_TOKEN,		/* with a [token.NAME]'s secret (the auth op) */
	AUTH_TCP_NONE,		/* anyone who reaches the port is admin */
};

#define TOKEN_DIGEST_LEN	32	/* SHA-256 */

/*
 * [token.NAME]: a client's identity on the network.  The secret is known
 * only by its digest: secret_sha256 as given, or that of secret_file's
 * contents, read when the configuration is built (and on each reload).
 */
struct config_token {
	char		*name;
	char		*secret_sha256;	/* hex, as given; or NULL */
	char		*secret_file;	/* or NULL */
	unsigned int	 roles;		/* ROLE_* of core/principal.h */
	char		**commands;	/* exec commands it may run; NULL: none */
	size_t		 max_jobs;	/* its share; 0: token_max_jobs */
	char		*cert_cn;	/* a client certificate's CN that is it */
	unsigned char	 digest[TOKEN_DIGEST_LEN];
	bool		 has_digest;	/* else only cert_cn identifies it */
};

/* [type.NAME]: a job type run by workers */
struct config_type {
	char		*name;
	double		 lease;		/* seconds */
};

/* [http] */
struct config_http {
	char		*ca_file;
	size_t		 max_body;
	double		 timeout;
	unsigned int	 per_host;
	char		*user_agent;	/* NULL: none sent */
	bool		 allow_private;	/* loopback, private, ... destinations */
	char		**allow_hosts;	/* NULL-ended; empty: any */
	char		**deny_hosts;
	struct netpolicy *policy;	/* the three above, built by config_check */
};

/* [tls]: the server side of tls_listen */
struct config_tls {
	char		*cert_file;	/* PEM, the chain after the certificate */
	char		*key_file;
	int		 min_version;	/* enum config_tls_version */
	char		*client_ca_file;	/* NULL: no client certificates */
	double		 handshake_timeout;
};

enum config_tls_version {
	CONFIG_TLS_1_2,
	CONFIG_TLS_1_3,
};

struct config {
	char		*path;			/* the file read, or NULL */

	unsigned int	 loops;			/* 0: one per CPU */
	unsigned int	 executor_threads;	/* 0: one per CPU */
	size_t		 executor_queue;
	char		**listen;		/* "HOST:PORT", NULL-ended; empty: none */
	char		**tls_listen;		/* "HOST:PORT", NULL-ended; empty: none */
	char		*unix_socket;		/* NULL or "": none */
	mode_t		 unix_socket_mode;
	char		*state_dir;
	bool		 journal;		/* keep jobs in state_dir/journal */
	int		 journal_sync;		/* enum journal_sync */
	double		 journal_sync_interval;	/* batch: fdatasync at least this often */
	size_t		 journal_max_bytes;
	bool		 journal_repair;	/* replay drops from damage on */
	size_t		 max_line_bytes;
	unsigned int	 max_connections;
	size_t		 max_jobs;
	size_t		 max_children;
	double		 result_ttl;
	unsigned int	 slow_callback_ms;	/* 0: off */
	unsigned int	 loop_spin_us;		/* 0: off */
	int		 log_level;		/* LOG_DEBUG ... LOG_ERR */
	int		 log_target;		/* enum log_target */
	int		 log_format;		/* enum log_format */
	int		 log_jobs;		/* enum log_jobs */
	char		**metrics_listen;	/* "HOST:PORT", NULL-ended; empty: off */
	char		*files_root;		/* NULL: digest's `path` is refused */
	double		 shutdown_grace;
	double		 kill_grace;
	double		 idle_timeout;		/* 0: off */
	size_t		 client_output_limit;	/* unread answers; 0: none */
	size_t		 max_result_bytes;	/* finished jobs' outcomes; 0: none */
	double		 line_timeout;		/* an unended line; 0: none */
	size_t		 max_input_bytes;	/* input held, all connections; 0: none */
	char		*user;
	char		*group;
	int		 auth_tcp;		/* enum auth_tcp */
	unsigned int	 unix_socket_roles;	/* ROLE_* for the Unix socket */
	size_t		 token_max_jobs;	/* a token's share of max_jobs */
	double		 max_result_ttl;	/* caps a job's ttl; 0: no cap */
	double		 auth_timeout;		/* to authenticate; 0: no limit */
	unsigned int	 max_workers;
	unsigned int	 max_worker_types;
	unsigned int	 max_worker_concurrency;

	struct config_queue	*queues;
	size_t			 nqueues;
	struct config_limit	*limits;
	size_t			 nlimits;
	struct config_command	*commands;
	size_t			 ncommands;
	struct config_type	*types;
	size_t			 ntypes;
	struct config_http	 http;
	struct config_tls	 tls;
	struct config_token	*tokens;
	size_t			 ntokens;

	/* Where each key was set, for messages (service/config*.c). */
	struct config_origin	*origins;
	size_t			 norigins;
};

/*
 * On failure these return -1 with the message in err and may have changed
 * some values already: read into a fresh config and drop it on error (a
 * reload keeps the old one).
 */
struct config	*config_new(void);		/* built-in defaults */
void		 config_free(struct config *);
/* Read an INI file over the current values.  -1 with a message in err. */
int		 config_load_file(struct config *, const char *path, char *err,
		     size_t errlen);
/* One -o KEY=VALUE: "loops", "http.ca_file", "queue.images.concurrency". */
int		 config_override(struct config *, const char *assignment, char *err,
		     size_t errlen);
/* Cross-key checks once everything is read. */
int		 config_check(struct config *, char *err, size_t errlen);
/*
 * That what the configuration names exists on this machine: commands'
 * programs (executable regular files), [http] ca_file (readable),
 * files_root (a directory), the users and groups.  The message begins as
 * those of the file's errors do: "loomd.conf:12: argv: ..." or "-o KEY=...".
 */
int		 config_check_system(const struct config *, char *err,
		     size_t errlen);

/*
 * The whole configuration from its sources: built-in defaults, the file
 * (path; NULL: CONFIG_DEFAULT_PATH if it exists), each KEY=VALUE as with -o,
 * then config_check() and config_check_system().  NULL with the message in
 * err.  Start-up and reload
 * both build this way, so a reload reads exactly what a restart would.
 */
struct config	*config_build(const char *path, char *const *assignments,
		     size_t n, char *err, size_t errlen);

/*
 * Every difference between two configurations, as the key ("max_jobs",
 * "http.timeout", "queue.images.concurrency") and both values as text; a
 * named section only in a has now == NULL ("limit.db"), one only in b has
 * was == NULL.
 */
typedef void	(*config_diff_fn)(const char *key, const char *was,
		     const char *now, void *arg);
void		 config_diff(const struct config *a, const struct config *b,
		     config_diff_fn, void *arg);
/* Give dst src's value of a global key; -1 if there is no such key. */
int		 config_keep(struct config *dst, const struct config *src,
		     const char *key);

const struct config_queue   *config_find_queue(const struct config *, const char *);
const struct config_limit   *config_find_limit(const struct config *, const char *);
const struct config_command *config_find_command(const struct config *, const char *);
const struct config_token   *config_find_token(const struct config *, const char *);

/* 1 to CONFIG_NAME_MAX of A-Z a-z 0-9 _ -: no dots, so -o keys split cleanly. */
bool		 config_name_valid(const char *);

#endif
