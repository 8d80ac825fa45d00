/*
 * loomctl's command line: one invocation's words and options turned into the
 * request to send.  No I/O and no exit here, so the tests can call it.
 */
#ifndef LOOM_CTL_ARGS_H
#define LOOM_CTL_ARGS_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* Exit statuses, as systemd-run --wait reports a unit's fate. */
enum ctl_exit {
	CTL_EXIT_OK = 0,	/* done; or any request answered ok */
	CTL_EXIT_FAILED = 1,	/* the job failed, or the answer was ok:false */
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_CANCELLED = 3,	/* the job was cancelled or timed out */
	CTL_EXIT_CONNECTION = 4,	/* cannot connect, or the server broke the protocol */
	CTL_EXIT_WAIT_TIMEOUT = 5,	/* --wait-timeout ran out; the job goes on */
	CTL_EXIT_INTERRUPTED = 130,	/* Ctrl-C while waiting; the job goes on */
};

enum ctl_command {
	CTL_NONE,
	CTL_PING,
	CTL_SUBMIT,
	CTL_STATUS,
	CTL_RESULT,
	CTL_CANCEL,
	CTL_RETRY,
	CTL_LIST,
	CTL_WATCH,
	CTL_STATS,
	CTL_WORKERS,
	CTL_REQUEST,
	CTL_TOP,
	CTL_QUEUE,		/* queue list|pause|resume */
	CTL_EVENT,		/* event set|clear|get */
	CTL_TOKEN_NEW,		/* local: print a fresh secret, no connection */
};

struct ctl_invocation {
	enum ctl_command	 command;
	const char		*name;		/* the command word */
	char			*target;	/* for loom_connect() */
	/* --ca-file, --cert, --cert-key: for a tls:// target (argv's strings;
	 * --key is submit's idempotency key). */
	const char		*ca_file;
	const char		*cert_file;
	const char		*key_file;
	int			 json;		/* --json: print raw lines */
	int			 help;		/* -h: print the usage, nothing else */
	int			 version;	/* -V */
	int			 fate;		/* the answer is a finished job whose
						 * state is the exit status */
	long long		 watch_job;	/* watch ID, or -1 */
	char			*token_file;	/* --token-file: the secret's file */
	char			*token_name;	/* token new NAME */
	json_t			*request;	/* without an id */
	int			 no_color;	/* --no-color */
	const char		*sub;		/* queue and event: the verb */
	int			 stream;	/* submit --wait --stream */
	double			 wait_timeout;	/* submit --wait-timeout, or -1 */
	int			 once;		/* top --once: one frame */
	double			 interval;	/* top --interval, seconds */
	const char		*batch_file;	/* submit --file: its name */
	json_t			*batch_lines;	/* line number of each spec */
};

/*
 * Parse argv (argv[0] is the program) into inv.  env_target is $LOOMD_SOCKET
 * or NULL.  Returns 0, or CTL_EXIT_USAGE with a message in err.  -h and -V
 * win over any other error.  Free with ctl_invocation_clear() either way.
 * The only input read is what --args @FILE, --args - and --file name.
 */
int		 ctl_parse(struct ctl_invocation *inv, int argc, char *const argv[],
		    const char *env_target, char *err, size_t errlen);
void		 ctl_invocation_clear(struct ctl_invocation *);

/* A KEY=VALUE value: JSON if it parses as JSON, else the string itself;
 * NULL if it is neither (invalid UTF-8). */
json_t		*ctl_parse_value(const char *);

/* Seconds as a number with an optional unit: ms, s, m, h or d.  -1 if bad. */
int		 ctl_parse_seconds(const char *, double *out);

/* The exit status for a finished job's view (4 if it is not finished). */
int		 ctl_job_exit(const json_t *view);

/*
 * A file of job specs, one JSON object per line (blank lines and lines
 * starting with # are skipped): the array of specs and, in lines, each
 * one's line number.  NULL with "NAME:LINE: why" in err.
 */
json_t		*ctl_read_specs(FILE *, const char *name, json_t **lines,
		    char *err, size_t errlen);

/* The command words, from the command table, ending with NULL. */
const char *const *ctl_command_names(void);

extern const char ctl_usage[];

#endif
