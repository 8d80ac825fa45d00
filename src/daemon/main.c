/*
 * loomd: parse the command line and the config, start the loops and the
 * executor, listen, and serve until SIGINT or SIGTERM.  Then stop in a fixed
 * order: listeners, connections, loops, executor, and free what is left.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "config.h"
#include "conn.h"
#include "event.h"
#include "executor.h"
#include "future.h"
#include "job.h"
#include "log.h"
#include "loomd.h"
#include "loop.h"
#include "queue.h"
#include "registry.h"
#include "server.h"
#include "util.h"
#include "watch.h"

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

static unsigned int
cpus(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (unsigned int)n;
}

/* Built-in defaults < file < -o; -l and -u replace the listeners. */
static struct config *
load_config(int argc, char **argv, bool *check_only)
{
	struct config	*cfg = config_new();
	const char	*path = NULL;
	char		*listen = NULL, *unix_path = NULL, *assignment;
	char		**overrides = xcalloc(argc, sizeof(*overrides));
	char		 err[1024];
	size_t		 noverrides = 0, i;
	struct stat	 st;
	int		 ch;

	while ((ch = getopt(argc, argv, "c:l:u:o:tVh")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
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
			overrides[noverrides++] = optarg;
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

	/* The default file is optional: without it, the built-in defaults. */
	if (path == NULL && stat(CONFIG_DEFAULT_PATH, &st) == 0)
		path = CONFIG_DEFAULT_PATH;
	if (path != NULL && config_load_file(cfg, path, err, sizeof(err)) == -1)
		goto fail;
	for (i = 0; i < noverrides; i++) {
		if (config_override(cfg, overrides[i], err, sizeof(err)) == -1)
			goto fail;
	}
	if (listen != NULL) {
		xasprintf(&assignment, "listen=%s", listen);
		if (config_override(cfg, assignment, err, sizeof(err)) == -1)
			goto fail;
		free(assignment);
		if (unix_path == NULL)
			unix_path = xstrdup("");
	}
	if (unix_path != NULL) {
		xasprintf(&assignment, "unix_socket=%s", unix_path);
		if (config_override(cfg, assignment, err, sizeof(err)) == -1)
			goto fail;
		free(assignment);
		if (listen == NULL && config_override(cfg, "listen=", err,
		    sizeof(err)) == -1)
			goto fail;
	}
	if (config_check(cfg, err, sizeof(err)) == -1)
		goto fail;
	free(listen);
	free(unix_path);
	free(overrides);
	return cfg;
fail:
	fprintf(stderr, "loomd: %s\n", err);
	exit(1);
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct event_base	*base = arg;

	log_info("%s: shutting down", strsignal((int)sig));
	event_base_loopbreak(base);
}

static void
close_connections(struct future *f, void *arg)
{
	conn_close_all();
	future_set_result(f, NULL);
}

int
main(int argc, char **argv)
{
	struct config		*cfg;
	struct event_base	*base;
	struct event		*sigint, *sigterm;
	struct future		*f;
	char			 err[1024];
	bool			 check_only = false;
	unsigned int		 i, nthreads;

	cfg = load_config(argc, argv, &check_only);
	if (check_only) {
		printf("loomd: configuration %s is valid\n",
		    cfg->path != NULL ? cfg->path : "(built-in defaults)");
		config_free(cfg);
		return 0;
	}
	log_init("loomd", cfg->log_level, cfg->log_target);
	loop_set_slow_callback_ms(cfg->slow_callback_ms);
	loop_set_spin_us(cfg->loop_spin_us);
	signal(SIGPIPE, SIG_IGN);

	memset(&loomd, 0, sizeof(loomd));
	loomd.config = cfg;
	loomd.started_at = now_epoch();
	loomd.nloops = cfg->loops != 0 ? cfg->loops : cpus();
	loomd.loops = xcalloc(loomd.nloops, sizeof(*loomd.loops));
	loomd.counters = xcalloc(loomd.nloops, sizeof(*loomd.counters));
	registry_init();
	job_init(loomd.nloops);
	conn_init(loomd.nloops);
	watch_init(loomd.nloops);

	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; i < loomd.nloops; i++) {
		loomd.loops[i] = loop_new(i);
		if (loop_start(loomd.loops[i]) == -1)
			fatal("loop %u", i);
	}
	queue_init(cfg, loomd.nloops);
	nthreads = cfg->executor_threads != 0 ? cfg->executor_threads : cpus();
	loomd.executor = executor_new(nthreads, cfg->executor_queue);

	if (server_listen(base, cfg, err, sizeof(err)) == -1) {
		log_warnx("%s", err);
		server_close();
		atomic_store(&loomd.draining, true);
		goto stop;
	}
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	event_add(sigint, NULL);
	event_add(sigterm, NULL);
	log_info("loomd %s ready: %u loops, %u executor threads", PACKAGE_VERSION,
	    loomd.nloops, nthreads);

	event_base_dispatch(base);

	event_free(sigint);
	event_free(sigterm);
	server_close();
	atomic_store(&loomd.draining, true);
	/* Close the connections on their own loops, then stop the loops. */
	for (i = 0; i < loomd.nloops; i++) {
		if ((f = loop_submit(loomd.loops[i], close_connections, NULL)) != NULL) {
			future_wait(f, -1);
			future_unref(f);
		}
	}
	err[0] = '\0';
stop:
	for (i = 0; i < loomd.nloops; i++)
		loop_stop(loomd.loops[i]);
	for (i = 0; i < loomd.nloops; i++)
		loop_join(loomd.loops[i]);
	executor_shutdown(loomd.executor, EXECUTOR_CANCEL);
	job_shutdown();
	queue_shutdown();
	for (i = 0; i < loomd.nloops; i++)
		loop_free(loomd.loops[i]);
	executor_free(loomd.executor);
	watch_shutdown();
	conn_shutdown();
	registry_free();
	named_event_cleanup();
	event_base_free(base);
	free(loomd.loops);
	free(loomd.counters);
	config_free(cfg);
	return err[0] == '\0' ? 0 : 1;
}
