/*
 * loomd: parse the command line and the config, listen, start the loops and
 * the executor, and serve until SIGINT or SIGTERM.  Then drain (shutdown.c)
 * and free what is left.
 */
#include "autoconf.h"

#include <sys/signalfd.h>

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "core/config.h"
#include "core/loomd.h"
#include "net/server.h"
#include "net/tls.h"
#include "runtime/executor.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"
#include "service/daemon.h"
#include "service/health.h"
#include "io/contain.h"
#include "service/metrics.h"
#include "service/reload.h"
#include "service/shutdown.h"
#include "service/state.h"
#include "service/systemd.h"

struct loomd	loomd;

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: loomd [-c FILE] [-l HOST:PORT]... [-u PATH] "
	    "[-o KEY=VALUE]... [-t] [-V] [-h]\n"
	    "  -c FILE        config file (default " CONFIG_DEFAULT_PATH ")\n"
	    "  -l HOST:PORT   listen on TCP here instead of the configured listen\n"
	    "  -u PATH        Unix socket instead of the configured unix_socket\n"
	    "                 (-u '' for none)\n"
	    "  -o KEY=VALUE   set a config key, over the file: loops=4,\n"
	    "                 http.ca_file=/x.pem, queue.images.concurrency=2\n"
	    "  -t             check the configuration and exit\n"
	    "  -V             print the version and exit\n"
	    "  -h             this help\n");
}

/*
 * Where the configuration comes from: the file, then the -o assignments,
 * then -l and -u as assignments of listen and unix_socket.  Kept for SIGHUP,
 * which builds the configuration again from the same sources.
 */
struct config_source {
	const char	 *path;		/* -c, or NULL for the default */
	char		**assignments;
	size_t		  n;
};

static void
source_add(struct config_source *src, char *assignment)
{
	src->assignments = xreallocarray(src->assignments, src->n + 1,
	    sizeof(*src->assignments));
	src->assignments[src->n++] = assignment;
}

static void
source_free(struct config_source *src)
{
	size_t	i;

	for (i = 0; i < src->n; i++)
		free(src->assignments[i]);
	free(src->assignments);
}

/* Built-in defaults < file < -o; -l and -u replace the listeners. */
static struct config *
load_config(int argc, char **argv, struct config_source *src, bool *check_only)
{
	struct config	*cfg;
	char		*listen = NULL, *unix_path = NULL, *assignment;
	char		 err[1024];
	int		 ch;

	memset(src, 0, sizeof(*src));
	while ((ch = getopt(argc, argv, "c:l:u:o:tVh")) != -1) {
		switch (ch) {
		case 'c':
			src->path = optarg;
			break;
		case 'l':
			if (listen == NULL)
				listen = xstrdup(optarg);
			else {
				char	*more;

				xasprintf(&more, "%s %s", listen, optarg);
				free(listen);
				listen = more;
			}
			break;
		case 'u':
			free(unix_path);
			unix_path = xstrdup(optarg);
			break;
		case 'o':
			source_add(src, xstrdup(optarg));
			break;
		case 't':
			*check_only = true;
			break;
		case 'V':
			printf("loomd %s\n", PACKAGE_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind != argc) {
		fprintf(stderr, "loomd: unexpected argument %s\n", argv[optind]);
		usage(stderr);
		exit(2);
	}

	/* -l alone means no Unix socket, -u alone no TCP listener. */
	if (listen != NULL) {
		xasprintf(&assignment, "listen=%s", listen);
		source_add(src, assignment);
		if (unix_path == NULL)
			unix_path = xstrdup("");
	}
	if (unix_path != NULL) {
		xasprintf(&assignment, "unix_socket=%s", unix_path);
		source_add(src, assignment);
		if (listen == NULL)
			source_add(src, xstrdup("listen="));
	}
	free(listen);
	free(unix_path);
	if ((cfg = config_build(src->path, src->assignments, src->n, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "loomd: %s\n", err);
		exit(1);
	}
	return cfg;
}

/* The listeners systemd passed, or else the configured ones. */
static int
listen_all(struct event_base *base, const struct config *cfg, char *err,
    size_t errlen)
{
	int	n, i;

	if ((n = systemd_listen_fds(err, errlen)) == -1)
		return -1;
	if (n == 0)
		return server_listen(base, cfg, err, errlen);
	for (i = 0; i < n; i++) {
		if (server_adopt(base, SYSTEMD_LISTEN_FDS_START + i,
		    strcmp(systemd_listen_fd_name(i), "tls") == 0, err,
		    errlen) == -1)
			return -1;
	}
	log_info("socket activation: %d listener%s from systemd; listen, "
	    "tls_listen and unix_socket are not used", n, n == 1 ? "" : "s");
	return 0;
}

/*
 * The configuration checks TCP in `listen`; systemd may pass a TCP socket
 * too, which only now is known.  The same rule: no TCP without tokens,
 * unless auth_tcp = none.
 */
static int
auth_check_listeners(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->auth_tcp != AUTH_TCP_TOKEN || cfg->ntokens > 0 ||
	    !server_has_tcp())
		return 0;
	snprintf(err, errlen, "a TCP listener (from systemd) needs a "
	    "[token.NAME] section, since auth_tcp = token: add one (`loomctl "
	    "token new NAME` prints a secret and its lines), or set auth_tcp = "
	    "none to let in anyone who reaches the port");
	return -1;
}

/*
 * Started as root with user or group set: become them, for good, before
 * any thread starts.  The Unix socket we made goes to them first, so that
 * the group can connect and we can remove it at exit.
 */
static int
drop_privileges(const struct config *cfg, char *err, size_t errlen)
{
	struct passwd	*pw;
	struct group	*gr;
	const char	*path;
	char		 user[256] = "";
	uid_t		 uid = (uid_t)-1;
	gid_t		 gid = (gid_t)-1;

	if (cfg->user == NULL && cfg->group == NULL)
		return 0;
	if (geteuid() != 0) {
		log_info("user and group are ignored: not started as root");
		return 0;
	}
	if (cfg->user != NULL) {
		if ((pw = getpwnam(cfg->user)) == NULL) {
			snprintf(err, errlen, "user %s: no such user", cfg->user);
			return -1;
		}
		snprintf(user, sizeof(user), "%s", pw->pw_name);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (cfg->group != NULL) {
		if ((gr = getgrnam(cfg->group)) == NULL) {
			snprintf(err, errlen, "group %s: no such group", cfg->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if ((path = server_unix_path()) != NULL && chown(path, uid, gid) == -1) {
		snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
		return -1;
	}
	if (state_prepare(cfg->state_dir, uid, gid, err, errlen) == -1)
		return -1;
	if ((*user != '\0' ? initgroups(user, gid) : setgroups(1, &gid)) == -1 ||
	    setgid(gid) == -1 || (uid != (uid_t)-1 && setuid(uid) == -1)) {
		snprintf(err, errlen, "dropping privileges: %s", strerror(errno));
		return -1;
	}
	if (uid != (uid_t)-1 && uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		fatalx("dropping privileges: root came back");
	log_info("privileges dropped: running as uid %u%s%s%s, gid %u",
	    (unsigned int)getuid(), *user != '\0' ? " (" : "", user,
	    *user != '\0' ? ")" : "", (unsigned int)getgid());
	return 0;
}

static const char *
signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	}
	return "a signal";
}

/*
 * Signals arrive on a signalfd: they are blocked in every thread, so none
 * can land on a loop or an executor thread, and the shutdown can watch for
 * a second one without a handler.
 */
static int
signals_open(void)
{
	sigset_t	set;
	int		fd;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);	/* orphans adopted: contain.c reaps */
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		fatal("sigprocmask");
	if ((fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	return fd;
}

struct main_state {
	struct event_base	*base;
	struct config_source	*src;
	int			 stop_signal;
};

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	struct main_state	*ms = arg;
	struct signalfd_siginfo	 si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			(void)reload_run(ms->src->path, ms->src->assignments,
			    ms->src->n);
			break;
		case SIGCHLD:
			contain_sweep();
			break;
		default:
			ms->stop_signal = (int)si.ssi_signo;
			event_base_loopbreak(ms->base);
			return;
		}
	}
}

static void
on_health_timer(evutil_socket_t fd, short what, void *arg)
{
	health_tick();
}

/* Ready: signals, health, READY=1, and the main loop until a signal stops it. */
static void
serve(struct main_state *ms, int sfd)
{
	struct executor_stats	 es;
	struct event		*sigev, *health_timer;
	struct timeval		 tv;

	executor_get_stats(loomd.executor, &es);
	sigev = event_new(ms->base, sfd, EV_READ | EV_PERSIST, on_signal, ms);
	event_add(sigev, NULL);
	health_init();
	health_timer = event_new(ms->base, -1, EV_PERSIST, on_health_timer, NULL);
	seconds_to_timeval(health_interval(), &tv);
	event_add(health_timer, &tv);
	log_info("loomd %s ready: boot %llu, %u loops, %u executor threads",
	    PACKAGE_VERSION, (unsigned long long)loomd.boot, loomd.nloops,
	    es.threads);
	systemd_notify("READY=1");
	health_tick();

	event_base_dispatch(ms->base);

	event_free(sigev);
	event_free(health_timer);
}

int
main(int argc, char **argv)
{
	struct config		*cfg;
	struct main_state	 ms = { 0 };
	struct config_source	 src;
	char			 err[1024];
	bool			 check_only = false;
	int			 sfd;

	cfg = load_config(argc, argv, &src, &check_only);
	/* The certificate and key are read, so a bad one is caught now. */
	if (check_only && cfg->tls.cert_file != NULL &&
	    tls_server_check(&cfg->tls, err, sizeof(err)) == -1) {
		fprintf(stderr, "loomd: %s\n", err);
		config_free(cfg);
		source_free(&src);
		return 1;
	}
	if (check_only) {
		printf("loomd: configuration %s is valid\n",
		    cfg->path != NULL ? cfg->path : "(built-in defaults)");
		config_free(cfg);
		source_free(&src);
		return 0;
	}
	log_init("loomd", cfg->log_level, cfg->log_target);
	log_set_format(cfg->log_format);
	log_set_stamps(!log_to_journal());
	loop_set_slow_callback_ms(cfg->slow_callback_ms);
	loop_set_spin_us(cfg->loop_spin_us);
	signal(SIGPIPE, SIG_IGN);
	sfd = signals_open();
	systemd_init();

	ms.src = &src;
	memset(&loomd, 0, sizeof(loomd));
	loomd.config = cfg;
	loomd.started_at = now_epoch();

	/* Before privileges go: the key may be readable by root alone. */
	if (cfg->tls.cert_file != NULL &&
	    tls_server_load(&cfg->tls, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		config_free(cfg);
		source_free(&src);
		close(sfd);
		return 1;
	}

	/* Listen first, then drop privileges: no thread has started yet. */
	if ((ms.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (listen_all(ms.base, cfg, err, sizeof(err)) == -1 ||
	    auth_check_listeners(cfg, err, sizeof(err)) == -1 ||
	    metrics_open(cfg, err, sizeof(err)) == -1 ||
	    drop_privileges(cfg, err, sizeof(err)) == -1 ||
	    state_open(cfg->state_dir, err, sizeof(err)) == -1 ||
	    contain_init(cfg->state_dir, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		server_close();
		tls_server_free();
		metrics_stop();
		event_base_free(ms.base);
		config_free(cfg);
		source_free(&src);
		close(sfd);
		return 1;
	}

	if (daemon_start(cfg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		systemd_notifyf("STATUS=%s", err);
		contain_kill_all();
		_exit(1);	/* the loops run: nothing to take apart cleanly */
	}
	metrics_start();
	serve(&ms, sfd);
	if (shutdown_run(sfd, signal_name(ms.stop_signal)) == -1) {
		/* Something still runs and may touch anything: leave it all. */
		log_warnx("shutdown: exiting without cleaning up");
		contain_kill_all();	/* but no command outlives loomd */
		_exit(1);
	}
	metrics_stop();		/* it reads the shards: before they go */
	contain_kill_all();
	daemon_free();
	health_free();
	state_close();
	event_base_free(ms.base);
	config_free((struct config *)loomd.config);
	reload_free();
	tls_server_free();
	source_free(&src);
	close(sfd);
	return 0;
}
