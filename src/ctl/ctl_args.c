/*
 * loomctl's command line.  Options may come before or after the command
 * word, as people type them; each command lists the options it takes and
 * builds its request from the words and options it was given.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loom/client.h"
#include "ctl_args.h"

const char ctl_usage[] =
"usage: loomctl [-s SOCKET | -H HOST:PORT] [--json] COMMAND [ARGS...]\n"
"\n"
"Commands:\n"
"  ping                          check that loomd answers\n"
"  submit TYPE [KEY=VALUE...]    submit a job; VALUE is JSON if it parses as\n"
"                                JSON, otherwise a string\n"
"      --args JSON               the whole args object (KEY=VALUE goes on top)\n"
"      --name NAME  --queue Q  --priority N  --timeout S  --delay S\n"
"      --retries N  --retry-delay S  --ttl S  --key KEY  --lock NAME\n"
"      --after ID[,ID...]\n"
"      --wait                    wait until the job has finished; the exit\n"
"                                status tells how it ended\n"
"      --wait-timeout S          stop waiting after S (the job goes on)\n"
"  status ID                     show a job\n"
"  result ID [--wait] [--timeout S]\n"
"                                show a finished job; with --wait, wait for it\n"
"  cancel ID [--reason TEXT]     cancel a job and show how it ended\n"
"  retry ID                      run a failed, cancelled or timed-out job again\n"
"  list [--state S] [--queue Q] [--limit N] [--before ID]\n"
"                                list jobs, newest first\n"
"  watch [ID | --queue Q]        print job events as they happen; with an ID,\n"
"                                until that job has finished\n"
"  stats                         show the daemon's counters\n"
"  workers                       show the workers connected, what each runs,\n"
"                                and the jobs waiting for one, per type\n"
"  request JSON                  send one request object, print the answer\n"
"\n"
"Options:\n"
"  -s, --socket SOCKET   connect to a Unix socket (default: $LOOMD_SOCKET,\n"
"                        else " LOOM_DEFAULT_SOCKET ")\n"
"  -H, --host HOST:PORT  connect over TCP; [::1]:7433 for IPv6\n"
"  --json                print the answers and events as JSON lines\n"
"  -h, --help            show this help\n"
"  -V, --version         show the version\n"
"\n"
"S is a duration: seconds, or a number with ms, s, m, h or d.\n"
"Exit status: 0 ok or job done; 1 job failed or request refused; 2 usage\n"
"error; 3 job cancelled or timed out; 4 connection or protocol error.\n";

enum ctl_opt {
	OPT_ARGS,
	OPT_NAME,
	OPT_QUEUE,
	OPT_PRIORITY,
	OPT_TIMEOUT,
	OPT_DELAY,
	OPT_RETRIES,
	OPT_RETRY_DELAY,
	OPT_TTL,
	OPT_KEY,
	OPT_LOCK,
	OPT_AFTER,
	OPT_WAIT,
	OPT_WAIT_TIMEOUT,
	OPT_REASON,
	OPT_STATE,
	OPT_LIMIT,
	OPT_BEFORE,
	OPT_COUNT
};

static const struct ctl_option {
	const char	*name;
	int		 value;		/* takes a value */
} ctl_options[OPT_COUNT] = {
	[OPT_ARGS] = { "args", 1 },
	[OPT_NAME] = { "name", 1 },
	[OPT_QUEUE] = { "queue", 1 },
	[OPT_PRIORITY] = { "priority", 1 },
	[OPT_TIMEOUT] = { "timeout", 1 },
	[OPT_DELAY] = { "delay", 1 },
	[OPT_RETRIES] = { "retries", 1 },
	[OPT_RETRY_DELAY] = { "retry-delay", 1 },
	[OPT_TTL] = { "ttl", 1 },
	[OPT_KEY] = { "key", 1 },
	[OPT_LOCK] = { "lock", 1 },
	[OPT_AFTER] = { "after", 1 },
	[OPT_WAIT] = { "wait", 0 },
	[OPT_WAIT_TIMEOUT] = { "wait-timeout", 1 },
	[OPT_REASON] = { "reason", 1 },
	[OPT_STATE] = { "state", 1 },
	[OPT_LIMIT] = { "limit", 1 },
	[OPT_BEFORE] = { "before", 1 },
};

/* What the scan of argv found, for a command's build function. */
struct ctl_parsed {
	const char	*opt[OPT_COUNT];	/* value ("" for a flag), or NULL */
	json_t		*after;			/* every --after value, in order */
	char *const	*words;			/* after the command word */
	int		 nwords;
};

#define O(x)	(1u << (x))
#define SUBMIT_OPTIONS	(O(OPT_ARGS) | O(OPT_NAME) | O(OPT_QUEUE) | \
	O(OPT_PRIORITY) | O(OPT_TIMEOUT) | O(OPT_DELAY) | O(OPT_RETRIES) | \
	O(OPT_RETRY_DELAY) | O(OPT_TTL) | O(OPT_KEY) | O(OPT_LOCK) | \
	O(OPT_AFTER) | O(OPT_WAIT) | O(OPT_WAIT_TIMEOUT))

typedef int (*ctl_build_fn)(struct ctl_invocation *, struct ctl_parsed *,
    char *, size_t);

static int	ctl_build_simple(struct ctl_invocation *, struct ctl_parsed *,
		    char *, size_t);
static int	ctl_build_submit(struct ctl_invocation *, struct ctl_parsed *,
		    char *, size_t);
static int	ctl_build_stats(struct ctl_invocation *, struct ctl_parsed *,
		    char *, size_t);
static int	ctl_build_job(struct ctl_invocation *, struct ctl_parsed *,
		    char *, size_t);
static int	ctl_build_list(struct ctl_invocation *, struct ctl_parsed *,
		    char *, size_t);
static int	ctl_build_watch(struct ctl_invocation *, struct ctl_parsed *,
		    char *, size_t);
static int	ctl_build_request(struct ctl_invocation *, struct ctl_parsed *,
		    char *, size_t);

static const struct ctl_command_entry {
	const char		*name;
	enum ctl_command	 command;
	const char		*usage;
	int			 min_words;
	int			 max_words;	/* -1: any number */
	unsigned int		 options;
	ctl_build_fn		 build;
} ctl_commands[] = {
	{ "ping", CTL_PING, "ping", 0, 0, 0, ctl_build_simple },
	{ "submit", CTL_SUBMIT, "submit TYPE [KEY=VALUE...] [options]", 1, -1,
	    SUBMIT_OPTIONS, ctl_build_submit },
	{ "status", CTL_STATUS, "status ID", 1, 1, 0, ctl_build_job },
	{ "result", CTL_RESULT, "result ID [--wait] [--timeout S]", 1, 1,
	    O(OPT_WAIT) | O(OPT_TIMEOUT), ctl_build_job },
	{ "cancel", CTL_CANCEL, "cancel ID [--reason TEXT]", 1, 1, O(OPT_REASON),
	    ctl_build_job },
	{ "retry", CTL_RETRY, "retry ID", 1, 1, 0, ctl_build_job },
	{ "list", CTL_LIST, "list [--state S] [--queue Q] [--limit N] [--before ID]",
	    0, 0, O(OPT_STATE) | O(OPT_QUEUE) | O(OPT_LIMIT) | O(OPT_BEFORE),
	    ctl_build_list },
	{ "watch", CTL_WATCH, "watch [ID | --queue Q]", 0, 1, O(OPT_QUEUE),
	    ctl_build_watch },
	{ "stats", CTL_STATS, "stats", 0, 0, 0, ctl_build_simple },
	{ "workers", CTL_WORKERS, "workers", 0, 0, 0, ctl_build_stats },
	{ "request", CTL_REQUEST, "request JSON", 1, 1, 0, ctl_build_request },
};

static const char *const ctl_states[] = {
	"pending", "queued", "running", "done", "failed", "cancelled",
	"timed_out", NULL
};

static int __attribute__((format(printf, 3, 4)))
ctl_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return CTL_EXIT_USAGE;
}

json_t *
ctl_parse_value(const char *s)
{
	json_t	*v;

	if ((v = json_loads(s, JSON_DECODE_ANY, NULL)) != NULL)
		return v;
	return json_string(s);
}

/* A decimal integer in [min, max], nothing else. */
static int
ctl_parse_integer(const char *s, long long min, long long max, long long *out)
{
	const char	*p = s;
	char		*end;
	long long	 v;

	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
ctl_parse_seconds(const char *s, double *out)
{
	static const struct {
		const char	*unit;
		double		 scale;
	} units[] = {
		{ "", 1 }, { "s", 1 }, { "ms", 0.001 }, { "m", 60 }, { "h", 3600 },
		{ "d", 86400 },
	};
	char	*end;
	double	 v;
	size_t	 i;

	/* strtod alone would take "inf", "nan", "0x1p3" and " 5". */
	if (!isdigit((unsigned char)s[0]) &&
	    !(s[0] == '.' && isdigit((unsigned char)s[1])))
		return -1;
	if (strpbrk(s, "xX") != NULL)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit) == 0) {
			v *= units[i].scale;
			if (!isfinite(v))
				return -1;
			*out = v;
			return 0;
		}
	}
	return -1;
}

/* Whole seconds go out as JSON integers, the rest as reals. */
static json_t *
ctl_json_seconds(double v)
{
	if (v < 9007199254740992.0 && (double)(json_int_t)v == v)
		return json_integer((json_int_t)v);
	return json_real(v);
}

int
ctl_job_exit(const json_t *view)
{
	const char	*state = json_string_value(json_object_get(view, "state"));

	if (state == NULL)
		return CTL_EXIT_CONNECTION;
	if (strcmp(state, "done") == 0)
		return CTL_EXIT_OK;
	if (strcmp(state, "failed") == 0)
		return CTL_EXIT_FAILED;
	if (strcmp(state, "cancelled") == 0 || strcmp(state, "timed_out") == 0)
		return CTL_EXIT_CANCELLED;
	return CTL_EXIT_CONNECTION;
}

static int
ctl_job_id(const char *s, const char *what, long long *out, char *err,
    size_t errlen)
{
	if (ctl_parse_integer(s, 0, LLONG_MAX, out) == -1)
		return ctl_fail(err, errlen, "%s: '%s' is not a job id", what, s);
	return 0;
}

/* Set key to a string option if it was given. */
static int
ctl_set_string(json_t *obj, const char *key, const char *value, const char *opt,
    char *err, size_t errlen)
{
	json_t	*s;

	if (value == NULL)
		return 0;
	if ((s = json_string(value)) == NULL)
		return ctl_fail(err, errlen, "--%s: not valid UTF-8", opt);
	json_object_set_new(obj, key, s);
	return 0;
}

static int
ctl_set_integer(json_t *obj, const char *key, const char *value,
    const char *opt, long long min, long long max, char *err, size_t errlen)
{
	long long	v;

	if (value == NULL)
		return 0;
	if (ctl_parse_integer(value, min, max, &v) == -1) {
		if (min == LLONG_MIN)
			return ctl_fail(err, errlen, "--%s: '%s' is not an "
			    "integer", opt, value);
		return ctl_fail(err, errlen, "--%s: '%s' is not an integer "
		    "from %lld to %lld", opt, value, min, max);
	}
	json_object_set_new(obj, key, json_integer(v));
	return 0;
}

/* A duration option; positive: must be > 0, else >= 0. */
static int
ctl_set_seconds(json_t *obj, const char *key, const char *value,
    const char *opt, int positive, char *err, size_t errlen)
{
	double	v;

	if (value == NULL)
		return 0;
	if (ctl_parse_seconds(value, &v) == -1) {
		return ctl_fail(err, errlen, "--%s: '%s' is not a duration "
		    "(seconds, or a number with ms, s, m, h or d)", opt, value);
	}
	if (positive && v <= 0)
		return ctl_fail(err, errlen, "--%s must be more than 0", opt);
	json_object_set_new(obj, key, ctl_json_seconds(v));
	return 0;
}

static int
ctl_build_simple(struct ctl_invocation *inv, struct ctl_parsed *p, char *err,
    size_t errlen)
{
	inv->request = json_pack("{ss}", "op", inv->name);
	return 0;
}

/* workers: what stats says of them. */
static int
ctl_build_stats(struct ctl_invocation *inv, struct ctl_parsed *p, char *err,
    size_t errlen)
{
	inv->request = json_pack("{ss}", "op", "stats");
	return 0;
}

/* --args, then KEY=VALUE words on top. */
static int
ctl_build_args(struct ctl_parsed *p, json_t **out, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*args, *value;
	const char	*word, *eq;
	char		*key;
	int		 i, rc;

	*out = NULL;
	if (p->opt[OPT_ARGS] != NULL) {
		args = json_loads(p->opt[OPT_ARGS], JSON_DECODE_ANY, &jerr);
		if (args == NULL)
			return ctl_fail(err, errlen, "--args: not valid JSON: %s",
			    jerr.text);
		if (!json_is_object(args)) {
			json_decref(args);
			return ctl_fail(err, errlen, "--args must be a JSON object");
		}
	} else
		args = json_object();

	for (i = 1; i < p->nwords; i++) {
		word = p->words[i];
		if ((eq = strchr(word, '=')) == NULL) {
			json_decref(args);
			return ctl_fail(err, errlen, "expected KEY=VALUE after the "
			    "job type, got '%s'", word);
		}
		if (eq == word) {
			json_decref(args);
			return ctl_fail(err, errlen, "'%s': the key is empty", word);
		}
		if ((value = ctl_parse_value(eq + 1)) == NULL) {
			json_decref(args);
			return ctl_fail(err, errlen, "'%s': not valid UTF-8", word);
		}
		key = strndup(word, eq - word);
		rc = key != NULL ? json_object_set_new(args, key, value) : -1;
		free(key);
		if (rc == -1) {
			json_decref(args);
			return ctl_fail(err, errlen, "'%s': not valid UTF-8", word);
		}
	}
	*out = args;
	return 0;
}

static int
ctl_build_after(json_t *job, json_t *values, char *err, size_t errlen)
{
	json_t		*ids, *v;
	const char	*s;
	char		*copy, *tok, *save;
	long long	 id;
	size_t		 i;
	int		 rc = 0;

	if (json_array_size(values) == 0)
		return 0;
	ids = json_array();
	json_array_foreach(values, i, v) {
		s = json_string_value(v);
		if ((copy = strdup(s)) == NULL) {
			rc = ctl_fail(err, errlen, "out of memory");
			break;
		}
		for (tok = strtok_r(copy, ",", &save); tok != NULL && rc == 0;
		    tok = strtok_r(NULL, ",", &save)) {
			if ((rc = ctl_job_id(tok, "--after", &id, err, errlen)) == 0)
				json_array_append_new(ids, json_integer(id));
		}
		free(copy);
		if (rc != 0)
			break;
	}
	if (rc == 0 && json_array_size(ids) == 0)
		rc = ctl_fail(err, errlen, "--after needs at least one job id");
	if (rc != 0) {
		json_decref(ids);
		return rc;
	}
	json_object_set_new(job, "after", ids);
	return 0;
}

static int
ctl_build_submit(struct ctl_invocation *inv, struct ctl_parsed *p, char *err,
    size_t errlen)
{
	json_t	*job, *args;
	int	 wait = p->opt[OPT_WAIT] != NULL;

	if (*p->words[0] == '\0')
		return ctl_fail(err, errlen, "the job type is empty");
	if (p->opt[OPT_WAIT_TIMEOUT] != NULL && !wait)
		return ctl_fail(err, errlen, "--wait-timeout needs --wait");

	job = json_object();
	inv->request = json_pack("{ss so}", "op", "submit", "job", job);
	if (ctl_set_string(job, "type", p->words[0], "type", err, errlen) != 0 ||
	    ctl_set_string(job, "name", p->opt[OPT_NAME], "name", err, errlen) != 0 ||
	    ctl_set_string(job, "queue", p->opt[OPT_QUEUE], "queue", err, errlen) != 0 ||
	    ctl_set_integer(job, "priority", p->opt[OPT_PRIORITY], "priority",
	    LLONG_MIN, LLONG_MAX, err, errlen) != 0)
		return CTL_EXIT_USAGE;
	if (ctl_build_args(p, &args, err, errlen) != 0)
		return CTL_EXIT_USAGE;
	json_object_set_new(job, "args", args);
	if (ctl_set_seconds(job, "delay", p->opt[OPT_DELAY], "delay", 0,
	    err, errlen) != 0 ||
	    ctl_set_seconds(job, "timeout", p->opt[OPT_TIMEOUT], "timeout", 1,
	    err, errlen) != 0 ||
	    ctl_set_integer(job, "retries", p->opt[OPT_RETRIES], "retries", 0,
	    LLONG_MAX, err, errlen) != 0 ||
	    ctl_set_seconds(job, "retry_delay", p->opt[OPT_RETRY_DELAY],
	    "retry-delay", 0, err, errlen) != 0 ||
	    ctl_set_seconds(job, "ttl", p->opt[OPT_TTL], "ttl", 0, err, errlen) != 0 ||
	    ctl_set_string(job, "key", p->opt[OPT_KEY], "key", err, errlen) != 0 ||
	    ctl_set_string(job, "lock", p->opt[OPT_LOCK], "lock", err, errlen) != 0 ||
	    ctl_build_after(job, p->after, err, errlen) != 0)
		return CTL_EXIT_USAGE;

	if (wait) {
		json_object_set_new(inv->request, "wait", json_true());
		if (ctl_set_seconds(inv->request, "timeout",
		    p->opt[OPT_WAIT_TIMEOUT], "wait-timeout", 0, err, errlen) != 0)
			return CTL_EXIT_USAGE;
		inv->fate = 1;
	}
	return 0;
}

/* status, result, cancel and retry: one job id and a few options. */
static int
ctl_build_job(struct ctl_invocation *inv, struct ctl_parsed *p, char *err,
    size_t errlen)
{
	long long	id;
	int		wait = p->opt[OPT_WAIT] != NULL;

	if (ctl_job_id(p->words[0], inv->name, &id, err, errlen) != 0)
		return CTL_EXIT_USAGE;
	inv->request = json_pack("{ss sI}", "op", inv->name, "job", (json_int_t)id);
	if (inv->command == CTL_RESULT) {
		if (p->opt[OPT_TIMEOUT] != NULL && !wait)
			return ctl_fail(err, errlen, "--timeout needs --wait");
		if (wait)
			json_object_set_new(inv->request, "wait", json_true());
		if (ctl_set_seconds(inv->request, "timeout", p->opt[OPT_TIMEOUT],
		    "timeout", 0, err, errlen) != 0)
			return CTL_EXIT_USAGE;
		inv->fate = 1;
	}
	return ctl_set_string(inv->request, "reason", p->opt[OPT_REASON],
	    "reason", err, errlen);
}

static int
ctl_build_list(struct ctl_invocation *inv, struct ctl_parsed *p, char *err,
    size_t errlen)
{
	const char	*state = p->opt[OPT_STATE];
	long long	 id;
	size_t		 i;

	inv->request = json_pack("{ss}", "op", "list");
	if (state != NULL) {
		for (i = 0; ctl_states[i] != NULL; i++) {
			if (strcmp(state, ctl_states[i]) == 0)
				break;
		}
		if (ctl_states[i] == NULL) {
			return ctl_fail(err, errlen, "--state: '%s' is not a state "
			    "(pending, queued, running, done, failed, cancelled, "
			    "timed_out)", state);
		}
		json_object_set_new(inv->request, "state", json_string(state));
	}
	if (ctl_set_string(inv->request, "queue", p->opt[OPT_QUEUE], "queue",
	    err, errlen) != 0 ||
	    ctl_set_integer(inv->request, "limit", p->opt[OPT_LIMIT], "limit",
	    1, 1000, err, errlen) != 0)
		return CTL_EXIT_USAGE;
	if (p->opt[OPT_BEFORE] != NULL) {
		if (ctl_job_id(p->opt[OPT_BEFORE], "--before", &id, err, errlen) != 0)
			return CTL_EXIT_USAGE;
		json_object_set_new(inv->request, "before", json_integer(id));
	}
	return 0;
}

static int
ctl_build_watch(struct ctl_invocation *inv, struct ctl_parsed *p, char *err,
    size_t errlen)
{
	long long	id;

	inv->request = json_pack("{ss}", "op", "watch");
	if (p->nwords == 1) {
		if (p->opt[OPT_QUEUE] != NULL)
			return ctl_fail(err, errlen, "watch takes a job id or "
			    "--queue, not both");
		if (ctl_job_id(p->words[0], "watch", &id, err, errlen) != 0)
			return CTL_EXIT_USAGE;
		json_object_set_new(inv->request, "job", json_integer(id));
		inv->watch_job = id;
	}
	return ctl_set_string(inv->request, "queue", p->opt[OPT_QUEUE], "queue",
	    err, errlen);
}

static int
ctl_build_request(struct ctl_invocation *inv, struct ctl_parsed *p, char *err,
    size_t errlen)
{
	json_error_t	 jerr;
	json_t		*req;

	if ((req = json_loads(p->words[0], JSON_DECODE_ANY, &jerr)) == NULL)
		return ctl_fail(err, errlen, "request: not valid JSON: %s", jerr.text);
	if (!json_is_object(req)) {
		json_decref(req);
		return ctl_fail(err, errlen, "request: must be a JSON object");
	}
	inv->request = req;
	return 0;
}

static const struct ctl_command_entry *
ctl_find_command(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++) {
		if (strcmp(ctl_commands[i].name, name) == 0)
			return &ctl_commands[i];
	}
	return NULL;
}

static int
ctl_find_option(const char *name, size_t len)
{
	int	i;

	for (i = 0; i < OPT_COUNT; i++) {
		if (strlen(ctl_options[i].name) == len &&
		    strncmp(ctl_options[i].name, name, len) == 0)
			return i;
	}
	return -1;
}

static int
ctl_set_target(struct ctl_invocation *inv, const char *prefix, const char *value,
    char *err, size_t errlen)
{
	free(inv->target);
	if (asprintf(&inv->target, "%s%s", prefix, value) == -1) {
		inv->target = NULL;
		return ctl_fail(err, errlen, "out of memory");
	}
	return 0;
}

/*
 * One option at argv[*i]: a global one is applied to inv at once, a
 * command's is recorded in p.  Advances *i past a separate value.
 */
static int
ctl_scan_option(struct ctl_invocation *inv, struct ctl_parsed *p, int argc,
    char *const argv[], int *i, int *seen_s, int *seen_h, char *err,
    size_t errlen)
{
	const char	*arg = argv[*i], *name, *value = NULL, *eq;
	size_t		 len;
	int		 opt;

	if (arg[1] != '-') {
		/* Short options: -h, -V, -s PATH, -H HOST:PORT, -sPATH. */
		switch (arg[1]) {
		case 'h':
		case 'V':
			if (arg[2] != '\0')
				break;
			if (arg[1] == 'h')
				inv->help = 1;
			else
				inv->version = 1;
			return 0;
		case 's':
		case 'H':
			if (arg[2] != '\0')
				value = arg + 2;
			else if (*i + 1 < argc)
				value = argv[++*i];
			else
				return ctl_fail(err, errlen, "-%c needs a value", arg[1]);
			if (arg[1] == 's') {
				*seen_s = 1;
				return ctl_set_target(inv, "unix:", value, err, errlen);
			}
			*seen_h = 1;
			return ctl_set_target(inv, "tcp:", value, err, errlen);
		}
		return ctl_fail(err, errlen, "unknown option '%s'", arg);
	}

	name = arg + 2;
	if ((eq = strchr(name, '=')) != NULL) {
		len = eq - name;
		value = eq + 1;
	} else
		len = strlen(name);

	if (len == 4 && strncmp(name, "help", 4) == 0 && value == NULL) {
		inv->help = 1;
		return 0;
	}
	if (len == 7 && strncmp(name, "version", 7) == 0 && value == NULL) {
		inv->version = 1;
		return 0;
	}
	if (len == 4 && strncmp(name, "json", 4) == 0 && value == NULL) {
		inv->json = 1;
		return 0;
	}
	if ((len == 6 && strncmp(name, "socket", 6) == 0) ||
	    (len == 4 && strncmp(name, "host", 4) == 0)) {
		if (value == NULL && *i + 1 >= argc)
			return ctl_fail(err, errlen, "%s needs a value", arg);
		if (value == NULL)
			value = argv[++*i];
		if (name[0] == 's') {
			*seen_s = 1;
			return ctl_set_target(inv, "unix:", value, err, errlen);
		}
		*seen_h = 1;
		return ctl_set_target(inv, "tcp:", value, err, errlen);
	}

	if ((opt = ctl_find_option(name, len)) == -1)
		return ctl_fail(err, errlen, "unknown option '%.*s'", (int)len + 2, arg);
	if (!ctl_options[opt].value) {
		if (value != NULL)
			return ctl_fail(err, errlen, "--%s takes no value",
			    ctl_options[opt].name);
		p->opt[opt] = "";
		return 0;
	}
	if (value == NULL) {
		if (*i + 1 >= argc)
			return ctl_fail(err, errlen, "--%s needs a value",
			    ctl_options[opt].name);
		value = argv[++*i];
	}
	p->opt[opt] = value;
	if (opt == OPT_AFTER)
		json_array_append_new(p->after, json_string_nocheck(value));
	return 0;
}

int
ctl_parse(struct ctl_invocation *inv, int argc, char *const argv[],
    const char *env_target, char *err, size_t errlen)
{
	const struct ctl_command_entry	*cmd = NULL;
	struct ctl_parsed		 p;
	char				*words[argc > 0 ? argc : 1];
	int				 i, nwords = 0, options = 0, rc = 0;
	int				 dashdash = 0, seen_s = 0, seen_h = 0;

	memset(inv, 0, sizeof(*inv));
	inv->watch_job = -1;
	memset(&p, 0, sizeof(p));
	p.after = json_array();
	*err = '\0';

	/* Scan everything so that -h and -V win over earlier mistakes. */
	for (i = 1; i < argc; i++) {
		if (!dashdash && argv[i][0] == '-' && argv[i][1] != '\0') {
			if (strcmp(argv[i], "--") == 0) {
				dashdash = 1;
				continue;
			}
			if (rc == 0) {
				rc = ctl_scan_option(inv, &p, argc, argv, &i,
				    &seen_s, &seen_h, err, errlen);
			} else if (strcmp(argv[i], "-h") == 0 ||
			    strcmp(argv[i], "--help") == 0)
				inv->help = 1;
			else if (strcmp(argv[i], "-V") == 0 ||
			    strcmp(argv[i], "--version") == 0)
				inv->version = 1;
			continue;
		}
		words[nwords++] = argv[i];
	}
	if (inv->help || inv->version) {
		*err = '\0';
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto out;

	if (seen_s && seen_h) {
		rc = ctl_fail(err, errlen, "-s and -H cannot be used together");
		goto out;
	}
	if (inv->target == NULL) {
		if (env_target != NULL && *env_target != '\0')
			inv->target = strdup(env_target);
		else
			inv->target = strdup("unix:" LOOM_DEFAULT_SOCKET);
		if (inv->target == NULL) {
			rc = ctl_fail(err, errlen, "out of memory");
			goto out;
		}
	}

	if (nwords == 0) {
		rc = ctl_fail(err, errlen, "no command given");
		goto out;
	}
	if ((cmd = ctl_find_command(words[0])) == NULL) {
		rc = ctl_fail(err, errlen, "unknown command '%s'", words[0]);
		goto out;
	}
	inv->command = cmd->command;
	inv->name = cmd->name;
	for (i = 0; i < OPT_COUNT; i++) {
		if (p.opt[i] != NULL)
			options |= O(i);
	}
	if ((options & ~cmd->options) != 0) {
		for (i = 0; (options & ~cmd->options & O(i)) == 0; i++)
			;
		rc = ctl_fail(err, errlen, "%s does not take --%s (usage: "
		    "loomctl %s)", cmd->name, ctl_options[i].name, cmd->usage);
		goto out;
	}
	p.words = words + 1;
	p.nwords = nwords - 1;
	if (p.nwords < cmd->min_words ||
	    (cmd->max_words != -1 && p.nwords > cmd->max_words)) {
		rc = ctl_fail(err, errlen, "%s to %s (usage: loomctl %s)",
		    p.nwords < cmd->min_words ? "too few arguments" :
		    "too many arguments", cmd->name, cmd->usage);
		goto out;
	}
	rc = cmd->build(inv, &p, err, errlen);

out:
	json_decref(p.after);
	return rc;
}

void
ctl_invocation_clear(struct ctl_invocation *inv)
{
	free(inv->target);
	json_decref(inv->request);
	memset(inv, 0, sizeof(*inv));
	inv->watch_job = -1;
}
