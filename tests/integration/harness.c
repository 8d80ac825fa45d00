#include "autoconf.h"

#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

double
now_seconds(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

const char *
daemon_bin(const char *name)
{
	static char	path[1024];
	const char	*dir = getenv("LOOM_BUILDDIR");

	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : ".", name);
	return path;
}

void
fault_env(const char *env[4], const char *more)
{
	static char	 preload[1100], asan[512];
	const char	*opts = getenv("ASAN_OPTIONS");

	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", daemon_bin(
	    "tests/fault/.libs/fault.so"));
	/* A sanitizer's runtime wants to come first; the shim does. */
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
	    opts != NULL ? opts : "", opts != NULL && *opts ? ":" : "");
	env[0] = preload;
	env[1] = asan;
	env[2] = more;
	env[3] = NULL;
}

/* The gate: test_state_dir/gate. */
static const char *
fault_gate(void)
{
	static char	path[128];

	snprintf(path, sizeof(path), "%s/gate", test_state_dir);
	return path;
}

void
fault_gate_env(const char *env[4])
{
	static char	gate_env[160];

	snprintf(gate_env, sizeof(gate_env), "LOOM_FAULT_GATE=%s", fault_gate());
	fault_env(env, gate_env);
}

void
fault_gate_hold(void)
{
	int	fd = open(fault_gate(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	close(fd);
}

void
fault_gate_release(void)
{
	assert_int_equal(unlink(fault_gate()), 0);
}

void
state_dir_make(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/loomstate.XXXXXX");
	assert_non_null(mkdtemp(dir));
}

void
state_dir_remove(const char *dir)
{
	char	cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	(void)!system(cmd);
}

char	test_state_dir[64];

int
state_dir_setup(void **unused)
{
	state_dir_make(test_state_dir, sizeof(test_state_dir));
	return 0;
}

int
state_dir_teardown(void **unused)
{
	state_dir_remove(test_state_dir);
	return 0;
}

void
daemon_refused(const char *state_dir, char *out, size_t len)
{
	char	cmd[1024], path[256];
	FILE	*f;
	size_t	 n;
	int	 status;

	snprintf(path, sizeof(path), "%s/refused.out", state_dir);
	snprintf(cmd, sizeof(cmd), "'%s' -c /dev/null -u '%s/refused.sock' "
	    "-o listen= -o 'state_dir=%s' > '%s' 2>&1", daemon_bin("loomd"),
	    state_dir, state_dir, path);
	status = system(cmd);
	assert_true(WIFEXITED(status));
	assert_int_not_equal(WEXITSTATUS(status), 0);
	assert_non_null(f = fopen(path, "r"));
	n = fread(out, 1, len - 1, f);
	out[n] = '\0';
	fclose(f);
}

static int
unix_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
daemon_dump_log(const struct daemon *d)
{
	char	buf[4096];
	ssize_t	n;
	int	fd = open(d->log, O_RDONLY);

	if (fd == -1)
		return;
	fprintf(stderr, "---- loomd log (%s) ----\n", d->log);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		(void)!write(STDERR_FILENO, buf, (size_t)n);
	fprintf(stderr, "---- end of log ----\n");
	close(fd);
}

void
daemon_start(struct daemon *d, const char *const extra[])
{
	struct daemon_opts	opts = { .extra = extra };

	daemon_start_with(d, &opts);
}

void
daemon_write_config(struct daemon *d, const char *text)
{
	char	tmp[160];
	FILE	*f;

	/* Written whole, then renamed: a reload never sees half a file. */
	snprintf(tmp, sizeof(tmp), "%s.new", d->conf);
	assert_non_null(f = fopen(tmp, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(rename(tmp, d->conf), 0);
}

static int
notify_open(struct daemon *d, char *path, size_t len)
{
	struct sockaddr_un	sun;
	int			fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd != -1);
	snprintf(path, len, "%s/notify.sock", d->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	/* Reachable after loomd drops privileges, as systemd's own socket is. */
	assert_int_equal(chmod(d->dir, 0711), 0);
	assert_int_equal(chmod(path, 0666), 0);
	return fd;
}

/* A TCP listener on 127.0.0.1, on a port the kernel picks: *port. */
static int
activation_tcp(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 64), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

/* The listeners systemd would pass: TCP on a port the kernel picks, Unix at d->sock. */
static void
activation_open(struct daemon *d, int *tcp, int *un)
{
	struct sockaddr_un	sun;

	*tcp = activation_tcp(&d->port);

	*un = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(d->sock) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, d->sock, strlen(d->sock) + 1);
	assert_int_equal(bind(*un, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(*un, 64), 0);
}

/* In the child: listeners at 3, 4 (and 5: TLS), and the variables
 * sd_listen_fds reads. */
static void
activation_pass(int tcp, int un, int tls)
{
	char	pid[32];
	int	t = fcntl(tcp, F_DUPFD, 10), u = fcntl(un, F_DUPFD, 10), s = -1;

	if (tls != -1 && (s = fcntl(tls, F_DUPFD, 10)) == -1)
		_exit(126);
	if (t == -1 || u == -1 || dup2(t, 3) == -1 || dup2(u, 4) == -1 ||
	    (s != -1 && dup2(s, 5) == -1))
		_exit(126);
	close(t);
	close(u);
	if (s != -1)
		close(s);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", s != -1 ? "3" : "2", 1);
	setenv("LISTEN_FDNAMES", s != -1 ? "tcp:unix:tls" : "tcp:unix", 1);
}

void
daemon_start_with(struct daemon *d, const struct daemon_opts *opts)
{
	char		 unused[128], notify_path[128], state_dir[160];
	const char	*argv[64];
	double		 deadline;
	int		 argc = 0, fd, status, i, tcp = -1, un = -1, tls = -1;
	bool		 notify = opts->notify || opts->socket_activation;
	char		*msg;
	pid_t		 parent;

	memset(d, 0, sizeof(*d));
	d->notify_fd = -1;
	snprintf(d->dir, sizeof(d->dir), "/tmp/loomtest.XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->sock, sizeof(d->sock), "%s/loomd.sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/loomd.log", d->dir);
	if (opts->config != NULL) {
		snprintf(d->conf, sizeof(d->conf), "%s/loomd.conf", d->dir);
		daemon_write_config(d, opts->config);
	}
	if (notify)
		d->notify_fd = notify_open(d, notify_path, sizeof(notify_path));

	argv[argc++] = daemon_bin("loomd");
	argv[argc++] = "-c";
	argv[argc++] = opts->config != NULL ? d->conf : "/dev/null";
	if (opts->socket_activation) {
		activation_open(d, &tcp, &un);
		if (opts->tls_activation)
			tls = activation_tcp(&d->tls_port);
		snprintf(unused, sizeof(unused), "%s/unused.sock", d->dir);
		argv[argc++] = "-u";
		argv[argc++] = unused;
	} else {
		/* -u alone: no TCP listener (a port picked here could be taken). */
		argv[argc++] = "-u";
		argv[argc++] = d->sock;
	}
	argv[argc++] = "-o";
	argv[argc++] = "log_level=debug";
	if (opts->state_dir != NULL)
		snprintf(state_dir, sizeof(state_dir), "state_dir=%s", opts->state_dir);
	else
		snprintf(state_dir, sizeof(state_dir), "state_dir=%s/state", d->dir);
	argv[argc++] = "-o";
	argv[argc++] = state_dir;
	/* Jobs left running when a test stops the daemon end at once. */
	argv[argc++] = "-o";
	argv[argc++] = "shutdown_grace=0";
	for (i = 0; opts->extra != NULL && opts->extra[i] != NULL && argc < 62; i++)
		argv[argc++] = opts->extra[i];
	argv[argc] = NULL;

	parent = getpid();
	if ((d->pid = fork()) == 0) {
#ifdef __linux__
		/* A test that fails mid-way must not leave its daemon behind. */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 || getppid() != parent)
			_exit(127);
#endif
		fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
		if (notify)
			setenv("NOTIFY_SOCKET", notify_path, 1);
		for (i = 0; opts->env != NULL && opts->env[i] != NULL; i++)
			putenv((char *)opts->env[i]);
		if (opts->socket_activation)
			activation_pass(tcp, un, tls);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	assert_true(d->pid > 0);
	if (tcp != -1)
		close(tcp);
	if (un != -1)
		close(un);
	if (tls != -1)
		close(tls);

	if (notify) {
		msg = daemon_notify_wait(d, "READY=1");
		free(msg);
		return;
	}
	/* Ready when the socket answers. */
	deadline = now_seconds() + HARNESS_WAIT;
	for (;;) {
		if ((fd = unix_connect(d->sock)) != -1) {
			close(fd);
			return;
		}
		if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
			daemon_dump_log(d);
			fail_msg("loomd exited during start-up (status %d)", status);
		}
		if (now_seconds() > deadline) {
			daemon_dump_log(d);
			fail_msg("loomd did not start listening");
		}
		usleep(10000);
	}
}

char *
daemon_notify_recv(struct daemon *d, double timeout)
{
	double		 deadline = now_seconds() + timeout;
	struct pollfd	 pfd = { .fd = d->notify_fd, .events = POLLIN };
	char		 buf[4096];
	ssize_t		 n;
	int		 ms, status;

	assert_true(d->notify_fd != -1);
	for (;;) {
		ms = (int)((deadline - now_seconds()) * 1000);
		if (ms <= 0) {
			daemon_dump_log(d);
			/* Leave no daemon behind the failed test. */
			if (d->pid > 0) {
				kill(d->pid, SIGKILL);
				waitpid(d->pid, NULL, 0);
				d->pid = 0;
			}
			fail_msg("no notify message within %.0f s", timeout);
		}
		/* A daemon that died says nothing more: fail now, not at the deadline. */
		if (poll(&pfd, 1, ms > 100 ? 100 : ms) <= 0) {
			if (d->pid > 0 && waitpid(d->pid, &status, WNOHANG) == d->pid) {
				d->pid = 0;
				daemon_dump_log(d);
				fail_msg("loomd exited (status %d) before notifying", status);
			}
			continue;
		}
		n = recv(d->notify_fd, buf, sizeof(buf) - 1, 0);
		if (n == -1 && errno == EINTR)
			continue;
		assert_true(n >= 0);
		buf[n] = '\0';
		return strdup(buf);
	}
}

char *
daemon_notify_wait(struct daemon *d, const char *line)
{
	size_t	 len = strlen(line);
	char	*msg, *p;

	for (;;) {
		msg = daemon_notify_recv(d, HARNESS_WAIT);
		for (p = msg; p != NULL; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
			if (strncmp(p, line, len) == 0 && (p[len] == '\n' || p[len] == '\0'))
				return msg;
		}
		free(msg);
	}
}

void
daemon_signal(const struct daemon *d, int sig)
{
	assert_true(d->pid > 0);
	assert_int_equal(kill(d->pid, sig), 0);
}

bool
daemon_log_contains(const struct daemon *d, const char *text)
{
	FILE	*f = fopen(d->log, "r");
	char	*buf;
	size_t	 n;
	bool	 found;

	if (f == NULL)
		return false;
	buf = calloc(1, 1 << 20);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	found = strstr(buf, text) != NULL;
	free(buf);
	return found;
}

void
stats_until(struct client *c, bool (*fn)(const json_t *, void *), void *arg)
{
	double	 deadline = now_seconds() + HARNESS_WAIT;
	json_t	*r;
	bool	 done;

	for (;;) {
		r = client_call(c, "{\"op\":\"stats\"}");
		done = fn(json_object_get(r, "stats"), arg);
		json_decref(r);
		if (done)
			return;
		assert_true(now_seconds() < deadline);
		usleep(10000);
	}
}

bool
daemon_log_wait(const struct daemon *d, const char *text)
{
	double	deadline = now_seconds() + HARNESS_WAIT;

	while (!daemon_log_contains(d, text)) {
		if (now_seconds() > deadline)
			return false;
		usleep(10000);
	}
	return true;
}

static void
daemon_cleanup(struct daemon *d)
{
	char	cmd[256];

	if (d->notify_fd != -1) {
		close(d->notify_fd);
		d->notify_fd = -1;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
	(void)!system(cmd);
	d->pid = 0;
}

int
daemon_wait_exit(struct daemon *d)
{
	double	deadline = now_seconds() + HARNESS_WAIT;
	int	status;

	assert_true(d->pid > 0);
	while (waitpid(d->pid, &status, WNOHANG) != d->pid) {
		if (now_seconds() > deadline) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &status, 0);
			daemon_dump_log(d);
			fail_msg("loomd did not exit");
		}
		usleep(10000);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		daemon_dump_log(d);
	daemon_cleanup(d);
	return status;
}

void
daemon_stop(struct daemon *d)
{
	int	status;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	status = daemon_wait_exit(d);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("loomd exited with status %d", status);
}

void
daemon_kill(struct daemon *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	daemon_cleanup(d);
}

void
client_connect(struct client *c, const struct daemon *d)
{
	memset(c, 0, sizeof(*c));
	c->fd = unix_connect(d->sock);
	assert_true(c->fd != -1);
}

/*
 * Connect and check with a ping that the daemon took the connection: one
 * that has just closed others may still count them and answer busy.
 */
void
client_connect_ready(struct client *c, const struct daemon *d)
{
	double	 deadline = now_seconds() + HARNESS_WAIT;
	json_t	*r;
	bool	 busy;

	static const char ping[] = "{\"op\":\"ping\",\"id\":\"ready\"}\n";

	for (;;) {
		client_connect(c, d);
		/* A refused connection may be reset before the ping is sent. */
		busy = send(c->fd, ping, sizeof(ping) - 1, MSG_NOSIGNAL) !=
		    (ssize_t)sizeof(ping) - 1;
		if (!busy) {
			r = client_recv_or_eof(c, HARNESS_WAIT);
			busy = r == NULL || json_object_get(r, "id") == NULL;
			json_decref(r);
		}
		if (!busy)
			return;
		client_close(c);
		if (now_seconds() > deadline)
			fail_msg("the daemon kept refusing connections");
		usleep(10000);
	}
}

void
client_connect_tcp(struct client *c, const struct daemon *d)
{
	struct sockaddr_in	sin;

	if (d->port == 0)
		fail_msg("no TCP listener: start the daemon with socket_activation");
	memset(c, 0, sizeof(*c));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(d->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
}

void
client_close(struct client *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->len = c->cap = 0;
}

void
client_send_raw(struct client *c, const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 n;

	while (len > 0) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

static void	client_vsend(struct client *, const char *, va_list);

void
client_send(struct client *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	client_vsend(c, fmt, ap);
	va_end(ap);
}

/* The next line, without its newline (caller frees); NULL on EOF. */
char *
client_recv_text_or_eof(struct client *c, double timeout)
{
	double		 deadline = now_seconds() + timeout;
	struct pollfd	 pfd = { .fd = c->fd, .events = POLLIN };
	char		*nl, *line;
	size_t		 linelen;
	ssize_t		 n;
	int		 ms;

	for (;;) {
		if (c->len > 0 && (nl = memchr(c->buf, '\n', c->len)) != NULL) {
			linelen = (size_t)(nl - c->buf);
			assert_non_null(line = malloc(linelen + 1));
			memcpy(line, c->buf, linelen);
			line[linelen] = '\0';
			memmove(c->buf, nl + 1, c->len - linelen - 1);
			c->len -= linelen + 1;
			return line;
		}
		ms = (int)((deadline - now_seconds()) * 1000);
		if (ms <= 0)
			fail_msg("no reply within %.0f s", timeout);
		if (poll(&pfd, 1, ms) <= 0)
			continue;
		if (c->cap - c->len < 65536) {
			c->cap = c->cap ? c->cap * 2 : 131072;
			c->buf = realloc(c->buf, c->cap);
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n == 0 || (n == -1 && errno == ECONNRESET))
			return NULL;
		if (n == -1 && errno == EINTR)
			continue;
		assert_true(n > 0);
		c->len += (size_t)n;
	}
}

json_t *
client_recv_or_eof(struct client *c, double timeout)
{
	json_error_t	 jerr;
	json_t		*msg;
	char		*line = client_recv_text_or_eof(c, timeout);
	size_t		 len;

	if (line == NULL)
		return NULL;
	len = strlen(line);
	if ((msg = json_loadb(line, len, 0, &jerr)) == NULL)
		fail_msg("reply is not JSON: %s: %.*s", jerr.text,
		    (int)(len > 200 ? 200 : len), line);
	free(line);
	return msg;
}

char *
client_recv_text(struct client *c, double timeout)
{
	char	*line = client_recv_text_or_eof(c, timeout);

	if (line == NULL)
		fail_msg("the daemon closed the connection");
	return line;
}

json_t *
client_recv(struct client *c, double timeout)
{
	json_t	*msg = client_recv_or_eof(c, timeout);

	if (msg == NULL)
		fail_msg("the daemon closed the connection");
	return msg;
}

static void
client_vsend(struct client *c, const char *fmt, va_list ap)
{
	char	*line;
	int	 n;

	n = vasprintf(&line, fmt, ap);
	assert_true(n >= 0);
	client_send_raw(c, line, (size_t)n);
	client_send_raw(c, "\n", 1);
	free(line);
}

json_t *
client_call(struct client *c, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	client_vsend(c, fmt, ap);
	va_end(ap);
	return client_recv(c, HARNESS_WAIT);
}

void
client_assert_pings(struct client *c)
{
	json_t	*r = client_call(c, "{\"op\":\"ping\",\"id\":\"alive\"}");

	assert_string_equal(json_string_value(json_object_get(r, "id")), "alive");
	json_decref(r);
}

json_int_t
client_submit(struct client *c, const char *job)
{
	json_t		*r = client_call(c, "{\"op\":\"submit\",\"job\":%s}", job);
	json_int_t	 id = reply_job_id(r);

	if (id <= 0)
		fail_msg("submit %s: %s", job, json_dumps(r, 0));
	json_decref(r);
	return id;
}

/* Poll the job's status until it has left `state`; returns the new view. */
json_t *
client_wait_left(struct client *c, json_int_t id, const char *state)
{
	double	 deadline = now_seconds() + HARNESS_WAIT;
	json_t	*r, *view;

	for (;;) {
		r = client_call(c, "{\"op\":\"status\",\"id\":\"poll\",\"job\":%lld}",
		    (long long)id);
		view = json_object_get(r, "job");
		if (view == NULL)
			fail_msg("job %lld: %s", (long long)id, reply_error_code(r));
		if (strcmp(json_string_value(json_object_get(view, "state")), state) != 0) {
			json_incref(view);
			json_decref(r);
			return view;
		}
		json_decref(r);
		if (now_seconds() > deadline)
			fail_msg("job %lld stayed %s", (long long)id, state);
		usleep(10000);
	}
}

const char *
reply_error_code(const json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "error"), "code"));
}

const char *
reply_error_path(const json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "error"), "path"));
}

const char *
reply_job_state(const json_t *r)
{
	return json_string_value(json_object_get(json_object_get(r, "job"), "state"));
}

json_t *
reply_job(const json_t *r)
{
	return json_object_get(r, "job");
}

json_t *
reply_result(const json_t *r)
{
	return json_object_get(reply_job(r), "result");
}

json_t *
reply_error(const json_t *r)
{
	return json_object_get(reply_job(r), "error");
}

const char *
json_str(const json_t *obj, const char *key)
{
	const char	*s = json_string_value(json_object_get(obj, key));

	assert_non_null(s);
	return s;
}

json_int_t
reply_job_id(const json_t *r)
{
	return json_integer_value(json_object_get(json_object_get(r, "job"), "id"));
}
