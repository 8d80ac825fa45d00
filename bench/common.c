#include "autoconf.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

const char	*opt_loomd = "./loomd";
const char	*opt_socket;
const char	*opt_tcp;
bool		 opt_spawn_tcp;
bool		 opt_spawn_tls;
const char	*opt_tls;
bool		 bench_tls;
pid_t		 daemon_pid;
const char	*opt_loomd_args[16];

static bool	 spawned;
static char	 tmpdir[64];	/* ours, while it exists */
static char *const *saved_extra;	/* bench_spawn's, for a restart */

double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
die(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "loom-bench: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	if (spawned && daemon_pid > 0)
		kill(daemon_pid, SIGKILL);
	exit(1);
}

static int
connect_unix(const char *path)
{
	struct sockaddr_un	sun;
	int			fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd == -1)
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
connect_tcp(const char *spec)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256], *colon;
	int		 fd = -1, one = 1;

	snprintf(host, sizeof(host), "%s", spec);
	if ((colon = strrchr(host, ':')) == NULL)
		die("-H %s: not HOST:PORT", spec);
	*colon = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
		die("-H %s: cannot resolve", spec);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0)) == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd != -1)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

int
bench_connect(void)
{
	return opt_tcp != NULL ? connect_tcp(opt_tcp) : connect_unix(opt_socket);
}

int
bench_connect_tls_fd(void)
{
	if (opt_tls == NULL)
		die("no TLS listener");
	return connect_tcp(opt_tls);
}

void
bconn_open(struct bconn *c)
{
	memset(c, 0, sizeof(*c));
	if ((c->fd = bench_tls ? bench_connect_tls_fd() : bench_connect()) == -1)
		die("cannot connect: %s", strerror(errno));
	if (bench_tls)
		c->ssl = tls_wrap(c->fd);
	fcntl(c->fd, F_SETFL, O_NONBLOCK);
}

void
bconn_close(struct bconn *c)
{
	if (c->ssl != NULL)
		tls_free(c->ssl);
	close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

long
bench_raise_nofile(long want)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	if (rl.rlim_cur < (rlim_t)want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)want ?
		    (rlim_t)want : rl.rlim_max;
		/* As root the hard limit can go up too. */
		if (rl.rlim_cur < (rlim_t)want && geteuid() == 0) {
			rl.rlim_cur = rl.rlim_max = (rlim_t)want;
		}
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (long)rl.rlim_cur;
}

/* A loopback port nobody uses right now. */
static int
free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof(sin);
	int			fd = socket(AF_INET, SOCK_STREAM, 0), port;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		die("no free loopback port: %s", strerror(errno));
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

void
bench_spawn(char *const extra[])
{
	static char	sock[128], listen[64], tcp[64], state[160], tls[64];
	static char	tls_listen[96], cert_opt[200], key_opt[200];
	char		cert[160], key[160];
	const char	*argv[72];
	int		argc = 0, i, fd;
	double		deadline;

	if (opt_socket != NULL || opt_tcp != NULL)
		return;
	if (tmpdir[0] == '\0') {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/loombench.XXXXXX");
		if (mkdtemp(tmpdir) == NULL)
			die("mkdtemp: %s", strerror(errno));
		saved_extra = extra;
	}
	snprintf(sock, sizeof(sock), "%s/loomd.sock", tmpdir);
	unlink(sock);
	argv[argc++] = opt_loomd;
	argv[argc++] = "-c";
	argv[argc++] = "/dev/null";
	argv[argc++] = "-u";
	argv[argc++] = sock;
	if (opt_spawn_tcp) {
		snprintf(tcp, sizeof(tcp), "127.0.0.1:%d", free_port());
		snprintf(listen, sizeof(listen), "%s", tcp);
		argv[argc++] = "-l";
		argv[argc++] = listen;
		/* Its own loopback port, for the protocol's cost without auth. */
		argv[argc++] = "-o";
		argv[argc++] = "auth_tcp=none";
	}
	if (opt_spawn_tls) {
		tls_make_cert(tmpdir, cert, key, sizeof(cert));
		snprintf(tls, sizeof(tls), "127.0.0.1:%d", free_port());
		snprintf(tls_listen, sizeof(tls_listen), "tls_listen=%s", tls);
		snprintf(cert_opt, sizeof(cert_opt), "tls.cert_file=%s", cert);
		snprintf(key_opt, sizeof(key_opt), "tls.key_file=%s", key);
		argv[argc++] = "-o";
		argv[argc++] = tls_listen;
		argv[argc++] = "-o";
		argv[argc++] = cert_opt;
		argv[argc++] = "-o";
		argv[argc++] = key_opt;
	}
	argv[argc++] = "-o";
	argv[argc++] = "log_level=warning";
	snprintf(state, sizeof(state), "state_dir=%s/state", tmpdir);
	argv[argc++] = "-o";
	argv[argc++] = state;
	for (i = 0; extra != NULL && extra[i] != NULL && argc < 36; i++)
		argv[argc++] = extra[i];
	for (i = 0; opt_loomd_args[i] != NULL && argc < 36; i++) {
		argv[argc++] = "-o";
		argv[argc++] = opt_loomd_args[i];
	}
	argv[argc] = NULL;
	if ((daemon_pid = fork()) == 0) {
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "loom-bench: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	spawned = true;
	opt_socket = sock;
	deadline = now() + 30;
	while ((fd = connect_unix(sock)) == -1) {
		if (now() > deadline || waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid)
			die("loomd did not start (is -d right?)");
		usleep(10000);
	}
	close(fd);
	if (opt_spawn_tcp)
		opt_tcp = tcp;
	if (opt_spawn_tls)
		opt_tls = tls;
}

/*
 * Kill our own daemon with SIGKILL, as a crash would, and start it again on
 * the same state_dir and arguments; returns when it accepts connections
 * (after its replay).
 */
void
bench_crash_restart(void)
{
	if (!spawned)
		die("a crash restart needs loom-bench's own daemon (not -s or -H)");
	kill(daemon_pid, SIGKILL);
	waitpid(daemon_pid, NULL, 0);
	opt_socket = NULL;
	opt_tcp = NULL;
	bench_spawn(saved_extra);
}

const char *
bench_state_dir(void)
{
	static char	dir[96];

	snprintf(dir, sizeof(dir), "%s/state", tmpdir);
	return spawned ? dir : NULL;
}

void
bench_stop(void)
{
	char	cmd[128];

	if (!spawned)
		return;
	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
	tmpdir[0] = '\0';
	saved_extra = NULL;
	spawned = false;
	daemon_pid = 0;
	opt_socket = NULL;
	opt_tcp = NULL;
	opt_tls = NULL;
}

long
daemon_rss_kib(void)
{
	char	 path[64], line[256];
	long	 kib = 0;
	FILE	*fp;

	if (daemon_pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)daemon_pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	}
	fclose(fp);
	return kib;
}

double
daemon_cpu_seconds(void)
{
	char		 path[64], buf[1024], *p;
	unsigned long	 utime, stime;
	FILE		*fp;
	size_t		 n;

	if (daemon_pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)daemon_pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	/* After the command name in parentheses: fields 3 on; utime is 14th. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
	    &utime, &stime) != 2)
		return 0;
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

void
send_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			usleep(100);
			continue;
		}
		if (n <= 0)
			die("send: %s", strerror(errno));
		p += n;
		len -= (size_t)n;
	}
}

void
obuf_add(struct obuf *o, const void *p, size_t len)
{
	if (o->cap - o->len < len) {
		while (o->cap - o->len < len)
			o->cap = o->cap ? o->cap * 2 : 65536;
		if ((o->p = realloc(o->p, o->cap)) == NULL)
			die("out of memory");
	}
	memcpy(o->p + o->len, p, len);
	o->len += len;
}

void
obuf_send(struct obuf *o, int fd)
{
	send_all(fd, o->p, o->len);
	o->len = 0;
}

void
obuf_send_conn(struct obuf *o, struct bconn *c)
{
	size_t	off = 0;
	ssize_t	n;

	if (c->ssl == NULL) {
		obuf_send(o, c->fd);
		return;
	}
	while (off < o->len) {
		if ((n = tls_send(c->ssl, o->p + off, o->len - off)) > 0)
			off += (size_t)n;
		else if (n == -1 && errno == EAGAIN)
			usleep(100);
		else
			die("TLS send: %s", n == 0 ? "the server closed a "
			    "connection" : strerror(errno));
	}
	o->len = 0;
}

/* Every record TLS can give now: it may hold more than the socket shows. */
static ssize_t
read_tls(struct bconn *c)
{
	size_t	got = 0;
	ssize_t	n;

	for (;;) {
		if (c->cap - c->len - got < 16384) {
			c->cap *= 2;
			if ((c->buf = realloc(c->buf, c->cap)) == NULL)
				die("out of memory");
		}
		n = tls_recv(c->ssl, c->buf + c->len + got, c->cap - c->len - got);
		if (n <= 0)
			return got > 0 ? (ssize_t)got : n;
		got += (size_t)n;
	}
}

size_t
read_lines(struct bconn *c, void (*line)(struct bconn *, char *, size_t, void *),
    void *arg)
{
	ssize_t	 n;
	size_t	 start = 0;
	char	*nl;

	if (c->cap - c->len < 65536) {
		c->cap = c->cap ? c->cap * 2 : 262144;
		if ((c->buf = realloc(c->buf, c->cap)) == NULL)
			die("out of memory");
	}
	if (c->ssl != NULL)
		n = read_tls(c);
	else
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
	if (n == 0)
		die("the server closed a connection");
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		die("recv: %s", strerror(errno));
	}
	c->len += (size_t)n;
	while ((nl = memchr(c->buf + start, '\n', c->len - start)) != NULL) {
		line(c, c->buf + start, (size_t)(nl - (c->buf + start)), arg);
		start = (size_t)(nl - c->buf) + 1;
	}
	memmove(c->buf, c->buf + start, c->len - start);
	c->len -= start;
	return (size_t)n;
}

json_t *
call(const char *fmt, ...)
{
	struct bconn	 c = { 0 };
	json_t		*r = NULL;
	json_error_t	 err;
	char		*line, *nl, *text;
	va_list		 ap;
	int		 n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0 || (c.fd = bench_connect()) == -1)
		die("cannot reach loomd");
	send_all(c.fd, line, (size_t)n);
	send_all(c.fd, "\n", 1);
	free(line);
	for (;;) {
		if (c.len > 0 && (nl = memchr(c.buf, '\n', c.len)) != NULL) {
			if ((r = json_loadb(c.buf, (size_t)(nl - c.buf), 0, &err)) == NULL)
				die("bad reply: %s", err.text);
			break;
		}
		if (c.cap - c.len < 65536) {
			c.cap = c.cap ? c.cap * 2 : 1 << 20;
			if ((c.buf = realloc(c.buf, c.cap)) == NULL)
				die("out of memory");
		}
		if ((n = (int)recv(c.fd, c.buf + c.len, c.cap - c.len, 0)) <= 0)
			die("loomd closed the connection");
		c.len += (size_t)n;
	}
	close(c.fd);
	free(c.buf);
	if (!json_is_true(json_object_get(r, "ok"))) {
		text = json_dumps(r, JSON_COMPACT);
		die("request failed: %s", text != NULL ? text : "?");
	}
	return r;
}

int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
quantile(const double *v, size_t n, double p)
{
	size_t	i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}
