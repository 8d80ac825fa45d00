/*
 * loomctl's command line: one invocation's words and options turned into the
 * request to send.  No I/O and no exit here, so the tests can call it.
 */
#ifndef LOOM_CTL_ARGS_H
#define LOOM_CTL_ARGS_H

#include <stddef.h>

#include <jansson.h>

/* Exit statuses, as systemd-run --wait reports a unit's fate. */
enum ctl_exit {
	CTL_EXIT_OK = 0,	/* done; or any request answered ok */
	CTL_EXIT_FAILED = 1,	/* the job failed, or the answer was ok:false */
	CTL_EXIT_USAGE = 2,
	CTL_EXIT_CANCELLED = 3,	/* the job was cancelled or timed out */
	CTL_EXIT_CONNECTION = 4,	/* cannot connect, or the server broke the protocol */
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
};

struct ctl_invocation {
	enum ctl_command	 command;
	const char		*name;		/* the command word */
	char			*target;	/* for loom_connect() */
	int			 json;		/* --json: print raw lines */
	int			 help;		/* -h: print the usage, nothing else */
	int			 version;	/* -V */
	int			 fate;		/* the answer is a finished job whose
						 * state is the exit status */
	long long		 watch_job;	/* watch ID, or -1 */
	json_t			*request;	/* without an id */
};

/*
 * Parse argv (argv[0] is the program) into inv.  env_target is $LOOMD_SOCKET
 * or NULL.  Returns 0, or CTL_EXIT_USAGE with a message in err.  -h and -V
 * win over any other error.  Free with ctl_invocation_clear() either way.
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

extern const char ctl_usage[];

#endif
