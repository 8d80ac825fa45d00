/*
 * exec: run a command the operator configured in a [command.NAME] section.
 * Clients name the command, never a path; they may append `args` and set
 * `env` only where the command allows it, and may give `stdin`.  Even then
 * an argument that is an option (a leading '-') needs the command's
 * allow_options or must match its args_pattern, and no env name on the
 * loader and interpreter list (exec_env.c) is ever taken: `forbidden`.
 *
 * The child runs in its own process group with a clean slate (child.c).  Its
 * owner loop writes stdin, reads stdout and stderr (each kept up to the
 * command's max_output, the rest read and dropped) and watches a pidfd for
 * the exit, without SIGCHLD.  The job ends once the command has exited and
 * both output pipes are at EOF; background processes that keep the pipes
 * open get kill_grace, then the group is killed and the job ends with what
 * was read.  Whatever is left of the process group when the job ends is
 * killed, and so is every process the command started that escaped the
 * group (setsid, double fork): contain.c finds them by their cgroup leaf or
 * by the marker in their environment.  A command's processes do not
 * outlive its job.
 *
 * The result is {"exit_code", "signal", "stdout", "stderr",
 * "stdout_truncated", "stderr_truncated", "elapsed"}: exit_code is null
 * after a signal, signal is its name ("SIGKILL") or null.  Output is text
 * with each byte that is not valid UTF-8 replaced by U+FFFD, or base64 with
 * `output: "base64"`.  A non-zero exit or a death by signal fails the job
 * with exit_status; the command's own `timeout`, when the job sets none,
 * kills it (SIGTERM, then SIGKILL after kill_grace) and fails the job with
 * timeout.  Either way the result is the error's detail.
 *
 * Cancel and the job's timeout send SIGTERM to the group at once and leave
 * the rest to child_terminate(): SIGKILL to the group after kill_grace,
 * then reap.  At shutdown the group is killed at once.
 */
#include "autoconf.h"

#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/bytes.h"
#include "core/config.h"
#include "runtime/fields.h"
#include "core/job.h"
#include "jobs/exec_env.h"
#include "jobs/types.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "io/child.h"
#include "io/contain.h"
#include "runtime/util.h"

#define EXEC_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define EXEC_ARGS_MAX	4096
#define EXEC_ENV_MAX	256
#define EXEC_ENV_LEN	32768		/* bytes per value */
#define EXEC_READ	65536		/* bytes per read */
#define EXEC_DRAIN_READS 64		/* reads of what is left, at the end */

struct exec_args {
	char		 *name;
	char		**argv;		/* the command's words, then the job's args */
	char		**env;		/* the job's "NAME=value", NULL-ended */
	char		 *input;	/* stdin; NULL: /dev/null */
	size_t		  input_len;
	char		 *cwd;
	char		 *user;
	char		 *group;
	double		  timeout;	/* the command's; 0: none */
	double		  kill_grace;
	size_t		  max_output;
	size_t		  max_children;
	bool		  base64;
};

static const char *const exec_fields[] = {
	"command", "args", "stdin", "env", "output", NULL
};
static const char *const exec_outputs[] = { "text", "base64", NULL };

/* Parsing ------------------------------------------------------------- */

static void
exec_free_parsed(void *parsed)
{
	struct exec_args	*a = parsed;

	if (a == NULL)
		return;
	free(a->name);
	strv_free(a->argv);
	strv_free(a->env);
	free(a->input);
	free(a->cwd);
	free(a->user);
	free(a->group);
	free(a);
}

static char *
exec_strdup_opt(const char *s)
{
	return s != NULL && *s != '\0' ? xstrdup(s) : NULL;
}

/* Like fields_fail, for what is well formed but never admitted here. */
static int
exec_forbid(struct error *e, const char *base, const char *key,
    const char *what, const char *name)
{
	fields_fail(e, base, key, "%s (command \"%s\")", what, name);
	e->code = "forbidden";
	return -1;
}

/*
 * An argument the command may be given: one that matches args_pattern
 * whole, if the command has one; else anything but an option (a leading
 * '-'), unless allow_options.  An option can change what a program does
 * beyond its operands: tar --checkpoint-action=exec=CMD runs CMD.
 */
static int
exec_check_arg(const struct config_command *cmd, const char *arg,
    const char *path, struct error *e)
{
	if (cmd->args_re != NULL) {
		if (regexec(cmd->args_re, arg, 0, NULL, 0) != 0)
			return exec_forbid(e, path, NULL, "does not match the "
			    "command's args_pattern", cmd->name);
		return 0;
	}
	if (arg[0] == '-' && !cmd->allow_options)
		return exec_forbid(e, path, NULL, "begins with '-', an option, "
		    "which the command does not allow (allow_options, "
		    "args_pattern)", cmd->name);
	return 0;
}

static int
exec_parse_args(const json_t *list, const char *base,
    const struct config_command *cmd, struct exec_args *a, struct error *e)
{
	char		 path[512];
	const json_t	*v;
	size_t		 n, i;

	if (!json_is_array(list))
		return fields_fail(e, base, "args", "must be an array of strings");
	if (json_array_size(list) > EXEC_ARGS_MAX)
		return fields_fail(e, base, "args", "must have at most %d elements",
		    EXEC_ARGS_MAX);
	for (n = 0; a->argv[n] != NULL; n++)
		;
	a->argv = xreallocarray(a->argv, n + json_array_size(list) + 1,
	    sizeof(*a->argv));
	a->argv[n] = NULL;
	json_array_foreach(list, i, v) {
		snprintf(path, sizeof(path), "%s.args[%zu]", base, i);
		if (!json_is_string(v))
			return fields_fail(e, path, NULL, "must be a string");
		if (strlen(json_string_value(v)) != json_string_length(v))
			return fields_fail(e, path, NULL, "must not contain NUL");
		if (exec_check_arg(cmd, json_string_value(v), path, e) == -1)
			return -1;
		a->argv[n++] = xstrdup(json_string_value(v));
		a->argv[n] = NULL;
	}
	return 0;
}

/* The command's allow_env admits the name: "*", the name, or a prefix*. */
static bool
exec_env_admitted(char *const *allow, const char *name)
{
	size_t	i, len;

	for (i = 0; allow[i] != NULL; i++) {
		len = strlen(allow[i]);
		if (allow[i][len - 1] == '*' ?
		    strncmp(allow[i], name, len - 1) == 0 :
		    strcmp(allow[i], name) == 0)
			return true;
	}
	return false;
}

static int
exec_parse_env(const json_t *obj, const char *base,
    const struct config_command *cmd, struct exec_args *a, struct error *e)
{
	const char	*deny;
	char		 envbase[512];
	const char	*key;
	json_t		*v;
	size_t		 n = 0;

	if (!json_is_object(obj))
		return fields_fail(e, base, "env", "must be an object of strings");
	if (json_object_size(obj) > EXEC_ENV_MAX)
		return fields_fail(e, base, "env", "must have at most %d members",
		    EXEC_ENV_MAX);
	field_path(envbase, sizeof(envbase), base, "env");
	a->env = xcalloc(json_object_size(obj) + 1, sizeof(*a->env));
	json_object_foreach((json_t *)obj, key, v) {
		if (!exec_env_name_ok(key))
			return fields_fail(e, envbase, key, "is not a variable name "
			    "(A-Z a-z 0-9 _, not starting with a digit)");
		if ((deny = exec_env_forbidden(key)) != NULL) {
			fields_fail(e, envbase, key, "may never be set by a job: "
			    "%s is on the list of loader, shell and interpreter "
			    "variables (loomd.conf(5))", deny);
			e->code = "forbidden";
			return -1;
		}
		if (!exec_env_admitted(cmd->allow_env, key))
			return exec_forbid(e, envbase, key, "is not in the "
			    "command's allow_env", cmd->name);
		if (!json_is_string(v))
			return fields_fail(e, envbase, key, "must be a string");
		if (strlen(json_string_value(v)) != json_string_length(v))
			return fields_fail(e, envbase, key, "must not contain NUL");
		if (json_string_length(v) > EXEC_ENV_LEN)
			return fields_fail(e, envbase, key, "must be at most %d bytes",
			    EXEC_ENV_LEN);
		xasprintf(&a->env[n++], "%s=%s", key, json_string_value(v));
	}
	return 0;
}

static int
exec_parse(const json_t *args, const char *base, const struct config *cfg,
    void **parsed, struct error *e)
{
	const struct config_command	*cmd;
	struct exec_args		*a;
	const char			*name = NULL;
	const json_t			*v;
	int				 output = 0;

	if (args == NULL)
		return fields_fail(e, base, "command", "is required");
	if (fields_object(args, base, exec_fields, e) == -1 ||
	    field_string(args, base, "command", FIELD_REQUIRED, CONFIG_NAME_MAX,
	    &name, e) == -1 ||
	    field_choice(args, base, "output", FIELD_OPTIONAL, exec_outputs,
	    &output, e) == -1)
		return -1;
	if ((cmd = config_find_command(cfg, name)) == NULL)
		return fields_fail(e, base, "command", "no command \"%s\" is "
		    "configured", name);

	a = xcalloc(1, sizeof(*a));
	a->name = xstrdup(cmd->name);
	a->argv = strv_dup(cmd->argv);
	a->cwd = exec_strdup_opt(cmd->cwd);
	a->user = exec_strdup_opt(cmd->user);
	a->group = exec_strdup_opt(cmd->group);
	a->timeout = cmd->timeout;
	a->kill_grace = cfg->kill_grace;
	a->max_output = cmd->max_output;
	a->max_children = cfg->max_children;
	a->base64 = output == 1;

	if ((v = json_object_get(args, "args")) != NULL && !json_is_null(v)) {
		if (!cmd->allow_args) {
			fields_fail(e, base, "args", "command \"%s\" does not take "
			    "args", name);
			goto fail;
		}
		if (exec_parse_args(v, base, cmd, a, e) == -1)
			goto fail;
	}
	if ((v = json_object_get(args, "env")) != NULL && !json_is_null(v)) {
		if (!cmd->allow_env) {
			fields_fail(e, base, "env", "command \"%s\" does not take "
			    "env", name);
			goto fail;
		}
		if (exec_parse_env(v, base, cmd, a, e) == -1)
			goto fail;
	}
	if ((v = json_object_get(args, "stdin")) != NULL && !json_is_null(v)) {
		if (!json_is_string(v)) {
			fields_fail(e, base, "stdin", "must be a string");
			goto fail;
		}
		a->input_len = json_string_length(v);
		a->input = xmalloc(a->input_len + 1);
		memcpy(a->input, json_string_value(v), a->input_len + 1);
	}
	*parsed = a;
	return 0;
fail:
	exec_free_parsed(a);
	return -1;
}

/* Running ------------------------------------------------------------- */

enum exec_phase {
	EXEC_RUNNING,		/* timer: the command's timeout, if any */
	EXEC_TERMINATING,	/* SIGTERM sent; timer: SIGKILL after kill_grace */
	EXEC_KILLED,		/* SIGKILL sent; waiting for the exit */
	EXEC_DRAINING,		/* exited; timer: the cap on waiting for EOF */
};

struct exec_run;

struct exec_stream {
	struct exec_run		*run;
	struct loop_event	 ev;
	int			 fd;		/* -1 at EOF */
	char			*buf;
	size_t			 len;
	size_t			 cap;
	bool			 truncated;
};

struct exec_run {
	struct job		*job;
	const struct exec_args	*args;
	pid_t			 pid;
	int			 pidfd;
	uint64_t		 started;
	enum exec_phase		 phase;
	bool			 exited;
	bool			 timed_out;	/* by the command's timeout */
	int			 code;		/* CLD_EXITED, CLD_KILLED, ... */
	int			 status;	/* exit status or signal */

	struct loop_event	 exit_ev;
	struct loop_event	 timer;
	struct loop_event	 in_ev;
	int			 in_fd;		/* -1 once closed */
	size_t			 in_off;
	struct exec_stream	 out;
	struct exec_stream	 err;
};

static void	exec_check_done(struct exec_run *);

static void
exec_arm(struct exec_run *run, enum exec_phase phase, double seconds)
{
	struct timeval	tv;

	run->phase = phase;
	event_del(&run->timer.ev);
	seconds_to_timeval(seconds, &tv);
	event_add(&run->timer.ev, &tv);
}

static void
exec_stream_close(struct exec_stream *s)
{
	if (s->fd == -1)
		return;
	event_del(&s->ev.ev);
	close(s->fd);
	s->fd = -1;
}

static void
exec_stream_keep(struct exec_stream *s, const char *data, size_t n)
{
	size_t	max = s->run->args->max_output, room = max - s->len;

	if (n > room) {
		s->truncated = true;
		n = room;
	}
	if (n == 0)
		return;
	if (s->len + n > s->cap) {
		s->cap = s->cap != 0 ? s->cap : 4096;
		while (s->cap < s->len + n)
			s->cap *= 2;
		if (s->cap > max)
			s->cap = max;
		s->buf = xreallocarray(s->buf, s->cap, 1);
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
}

/* 1 for more to come, 0 at EOF (or a read error), -1 for nothing now. */
static int
exec_stream_read(struct exec_stream *s)
{
	char	buf[EXEC_READ];
	ssize_t	n;

	if ((n = read(s->fd, buf, sizeof(buf))) > 0) {
		exec_stream_keep(s, buf, (size_t)n);
		return 1;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return -1;
	if (n == -1)
		log_warn("exec %s: read", s->run->args->name);
	return 0;
}

static void
exec_stream_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_stream	*s = arg;

	if (exec_stream_read(s) != 0)
		return;
	exec_stream_close(s);
	exec_check_done(s->run);
}

/*
 * Stop waiting for EOF: keep what the pipe holds now, then close it.  A
 * writer outside the group could go on for ever, hence the bound.
 */
static void
exec_stream_drain(struct exec_stream *s)
{
	int	i;

	if (s->fd == -1)
		return;
	for (i = 0; i < EXEC_DRAIN_READS && exec_stream_read(s) == 1; i++)
		;
	exec_stream_close(s);
}

static void
exec_input_close(struct exec_run *run)
{
	if (run->in_fd == -1)
		return;
	event_del(&run->in_ev.ev);
	close(run->in_fd);
	run->in_fd = -1;
}

static void
exec_input_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_run		*run = arg;
	const struct exec_args	*a = run->args;
	ssize_t			 n;

	n = write(run->in_fd, a->input + run->in_off, a->input_len - run->in_off);
	if (n > 0) {
		run->in_off += (size_t)n;
		if (run->in_off == a->input_len)
			exec_input_close(run);
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EPIPE: the command stopped reading its input, which is its right. */
	exec_input_close(run);
}

static void
exec_exit_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_run	*run = arg;
	siginfo_t	 si;

	if (!child_exited(run->pidfd, &si))
		return;
	event_del(&run->exit_ev.ev);
	run->exited = true;
	run->code = si.si_code;
	run->status = si.si_status;
	exec_input_close(run);
	/* Background processes may hold the pipes: wait for them, but not long. */
	if (run->phase != EXEC_TERMINATING &&
	    (run->out.fd != -1 || run->err.fd != -1))
		exec_arm(run, EXEC_DRAINING, run->args->kill_grace);
	exec_check_done(run);
}

static void
exec_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct exec_run	*run = arg;

	switch (run->phase) {
	case EXEC_RUNNING:
		log_debug("exec %s: timed out after %gs", run->args->name,
		    run->args->timeout);
		run->timed_out = true;
		child_signal_group(run->pid, SIGTERM);
		child_signal_group(run->pid, SIGCONT);
		exec_arm(run, EXEC_TERMINATING, run->args->kill_grace);
		break;
	case EXEC_TERMINATING:
		child_signal_group(run->pid, SIGKILL);
		if (run->exited)
			exec_arm(run, EXEC_DRAINING, run->args->kill_grace);
		else
			run->phase = EXEC_KILLED;
		break;
	case EXEC_KILLED:
		break;
	case EXEC_DRAINING:
		log_debug("exec %s: output still open %gs after the exit; killing "
		    "its process group", run->args->name, run->args->kill_grace);
		child_signal_group(run->pid, SIGKILL);
		exec_stream_drain(&run->out);
		exec_stream_drain(&run->err);
		exec_check_done(run);
		break;
	}
}

static json_t *
exec_output(const struct exec_stream *s)
{
	if (s->run->args->base64)
		return bytes_base64(s->buf, s->len);
	return bytes_text(s->buf, s->len);
}

static json_t *
exec_result(const struct exec_run *run)
{
	json_t		*r = json_object();
	const char	*abbrev;
	char		 name[32];

	if (run->code == CLD_EXITED) {
		json_object_set_new(r, "exit_code", json_integer(run->status));
		json_object_set_new(r, "signal", json_null());
	} else {
		json_object_set_new(r, "exit_code", json_null());
		if ((abbrev = sigabbrev_np(run->status)) != NULL)
			snprintf(name, sizeof(name), "SIG%s", abbrev);
		else
			snprintf(name, sizeof(name), "%d", run->status);
		json_object_set_new(r, "signal", json_string(name));
	}
	json_object_set_new(r, "stdout", exec_output(&run->out));
	json_object_set_new(r, "stderr", exec_output(&run->err));
	json_object_set_new(r, "stdout_truncated", json_boolean(run->out.truncated));
	json_object_set_new(r, "stderr_truncated", json_boolean(run->err.truncated));
	json_object_set_new(r, "elapsed",
	    json_real((double)(now_ns() - run->started) / 1e9));
	return r;
}

/* Stop everything but the child: events, pipes, buffers. */
static void
exec_run_free(struct exec_run *run)
{
	event_del(&run->exit_ev.ev);
	event_del(&run->timer.ev);
	exec_input_close(run);
	exec_stream_close(&run->out);
	exec_stream_close(&run->err);
	free(run->out.buf);
	free(run->err.buf);
	free(run);
}

static void
exec_check_done(struct exec_run *run)
{
	struct job		*job = run->job;
	const struct exec_args	*a = run->args;
	struct error		 e = { 0 };
	json_t			*result;
	char			 how[64];

	if (!run->exited || run->out.fd != -1 || run->err.fd != -1)
		return;

	/* Whatever is left of its group goes with it; then reap. */
	child_signal_group(run->pid, SIGKILL);
	child_reap(run->pid, run->pidfd);
	result = exec_result(run);
	job_set_type_state(job, NULL);

	if (run->code == CLD_EXITED)
		snprintf(how, sizeof(how), "exited with status %d", run->status);
	else {
		snprintf(how, sizeof(how), "was killed by signal %s",
		    json_string_value(json_object_get(result, "signal")));
	}
	if (run->timed_out) {
		error_set(&e, "timeout", "command \"%s\" ran past its timeout of "
		    "%gs and %s", a->name, a->timeout, how);
	} else if (run->code != CLD_EXITED || run->status != 0)
		error_set(&e, "exit_status", "command \"%s\" %s", a->name, how);
	exec_run_free(run);

	if (e.code == NULL) {
		job_succeed(job, result);
		return;
	}
	error_set_detail(&e, result);
	job_fail(job, &e);
}

/*
 * PATH, LANG and HOME, unless the job sets them (never PATH: exec_env.c),
 * then the job's env, then the containment marker (contain.h), which no
 * job may set: LOOMD_JOB=<id> and LOOMD_INSTANCE=<state_dir's instance>.
 */
static char **
exec_environment(const struct exec_args *a, uint64_t job, const char *home,
    size_t *owned)
{
	const char	*lang = getenv("LANG");
	char		**envp, *base[5];
	size_t		 n = 0, nbase = 0, i, j, len;

	xasprintf(&base[0], "PATH=%s", EXEC_PATH);
	xasprintf(&base[1], "LANG=%s", lang != NULL && *lang != '\0' ? lang :
	    "C.UTF-8");
	if (home == NULL && ((home = getenv("HOME")) == NULL || *home == '\0'))
		home = "/";
	xasprintf(&base[2], "HOME=%s", home);
	xasprintf(&base[3], "LOOMD_JOB=%llu", (unsigned long long)job);
	xasprintf(&base[4], "LOOMD_INSTANCE=%s", contain_instance());

	for (i = 0; a->env != NULL && a->env[i] != NULL; i++)
		;
	envp = xcalloc(5 + i + 1, sizeof(*envp));
	for (i = 0; i < 5; i++) {
		len = strcspn(base[i], "=") + 1;
		for (j = 0; i < 3 && a->env != NULL && a->env[j] != NULL; j++) {
			if (strncmp(a->env[j], base[i], len) == 0)
				break;
		}
		if (i >= 3 || a->env == NULL || a->env[j] == NULL)
			envp[nbase++] = base[i];
		else
			free(base[i]);
	}
	n = nbase;
	for (j = 0; a->env != NULL && a->env[j] != NULL; j++)
		envp[n++] = a->env[j];
	envp[n] = NULL;
	*owned = nbase;
	return envp;
}

static void
exec_environment_free(char **envp, size_t owned)
{
	size_t	i;

	for (i = 0; i < owned; i++)
		free(envp[i]);
	free(envp);
}

static int
exec_pipe(int p[2], int parent_end, struct error *e)
{
	if (pipe2(p, O_CLOEXEC) == -1) {
		error_set(e, "failed", "pipe: %s", strerror(errno));
		return -1;
	}
	if (fcntl(p[parent_end], F_SETFL, O_NONBLOCK) == -1) {
		error_set(e, "failed", "fcntl: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		p[0] = p[1] = -1;
		return -1;
	}
	return 0;
}

static void
exec_close_pair(int p[2])
{
	if (p[0] != -1)
		close(p[0]);
	if (p[1] != -1)
		close(p[1]);
	p[0] = p[1] = -1;
}

static void
exec_stream_init(struct exec_run *run, struct exec_stream *s, int fd)
{
	s->run = run;
	s->fd = fd;
	loop_event_assign(&s->ev, job_loop(run->job), fd, EV_READ | EV_PERSIST,
	    exec_stream_cb, s);
	event_add(&s->ev.ev, NULL);
}

/*
 * Start the command in its own process group.  On success the child's ends
 * of the pipes are closed and in[1] (-1 without stdin), out[0] and err[0]
 * are ours; on failure all are closed.
 */
static int
exec_spawn(struct exec_run *run, int in[2], int out[2], int err[2],
    struct error *e)
{
	const struct exec_args	*a = run->args;
	struct child_ids	 ids;
	struct child_spec	 sp;
	char			**envp = NULL;
	size_t			 owned = 0;

	memset(&ids, 0, sizeof(ids));
	if (child_ids_resolve(a->user, a->group, &ids, e) == -1)
		goto fail;
	envp = exec_environment(a, job_id(run->job), ids.home, &owned);
	if ((a->input != NULL && exec_pipe(in, 1, e) == -1) ||
	    exec_pipe(out, 0, e) == -1 || exec_pipe(err, 0, e) == -1)
		goto fail;

	memset(&sp, 0, sizeof(sp));
	sp.path = a->argv[0];
	sp.argv = a->argv;
	sp.envp = envp;
	sp.in_fd = in[0];
	sp.out_fd = out[1];
	sp.err_fd = err[1];
	sp.cwd = a->cwd;
	sp.ids = &ids;
	sp.job = job_id(run->job);
	run->started = now_ns();
	if (child_spawn(&sp, &run->pid, &run->pidfd, e) == -1)
		goto fail;
	close(out[1]);
	close(err[1]);
	if (in[0] != -1)
		close(in[0]);
	exec_environment_free(envp, owned);
	child_ids_clear(&ids);
	return 0;

fail:
	exec_close_pair(in);
	exec_close_pair(out);
	exec_close_pair(err);
	if (envp != NULL)
		exec_environment_free(envp, owned);
	child_ids_clear(&ids);
	return -1;
}

/* Follow the running command: its exit, its timeout, its pipes. */
static void
exec_watch(struct exec_run *run, int in_fd, int out_fd, int err_fd)
{
	const struct exec_args	*a = run->args;
	struct job		*job = run->job;
	struct loop		*loop = job_loop(job);
	struct timeval		 tv;

	run->phase = EXEC_RUNNING;
	loop_event_assign(&run->exit_ev, loop, run->pidfd, EV_READ | EV_PERSIST,
	    exec_exit_cb, run);
	event_add(&run->exit_ev.ev, NULL);
	loop_event_assign(&run->timer, loop, -1, 0, exec_timer_cb, run);
	/* The command's timeout is a default: a job's own replaces it. */
	if (a->timeout > 0 && job_timeout(job) == 0) {
		seconds_to_timeval(a->timeout, &tv);
		event_add(&run->timer.ev, &tv);
	}
	exec_stream_init(run, &run->out, out_fd);
	exec_stream_init(run, &run->err, err_fd);
	run->in_fd = in_fd;
	loop_event_assign(&run->in_ev, loop, in_fd, EV_WRITE | EV_PERSIST,
	    exec_input_cb, run);
	if (in_fd != -1 && a->input_len > 0)
		event_add(&run->in_ev.ev, NULL);
	else
		exec_input_close(run);
}

static void
exec_start(struct job *job, void *parsed)
{
	const struct exec_args	*a = parsed;
	struct exec_run		*run;
	struct error		 e = { 0 };
	int			 in[2] = { -1, -1 }, out[2] = { -1, -1 };
	int			 err[2] = { -1, -1 };

	if (!child_reserve(a->max_children)) {
		error_set(&e, "busy", "%zu child processes are running "
		    "(max_children)", a->max_children);
		job_fail(job, &e);
		return;
	}
	run = xcalloc(1, sizeof(*run));
	run->job = job;
	run->args = a;
	if (exec_spawn(run, in, out, err, &e) == -1)
		goto fail;
	log_debug("exec %s: job %llu started process group %ld", a->name,
	    (unsigned long long)job_id(job), (long)run->pid);
	exec_watch(run, in[1], out[0], err[0]);
	job_set_type_state(job, run);
	return;

fail:
	free(run);
	child_unreserve();
	error_set(&e, e.code, "command \"%s\": %s", a->name, e.message);
	job_fail(job, &e);
}

static void
exec_cancel(struct job *job, void *parsed)
{
	const struct exec_args	*a = parsed;
	struct exec_run		*run = job_type_state(job);

	if (run == NULL)
		return;
	job_set_type_state(job, NULL);
	log_debug("exec %s: job %llu stopped; terminating process group %ld",
	    a->name, (unsigned long long)job_id(job), (long)run->pid);
	child_terminate(job_loop(job), run->pid, run->pidfd, run->exited,
	    a->kill_grace);
	exec_run_free(run);
}

static const char *
exec_command(const void *parsed)
{
	return ((const struct exec_args *)parsed)->name;
}

const struct job_type job_type_exec = {
	.name = "exec",
	.runs = JOB_RUNS_LOOP,
	.parse = exec_parse,
	.free_parsed = exec_free_parsed,
	.start = exec_start,
	.cancel = exec_cancel,
	.command = exec_command,
};
