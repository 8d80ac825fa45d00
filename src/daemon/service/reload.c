/*
 * Reloading the configuration.
 *
 * The new configuration is built whole, beside the one in use.  Keys that
 * need a restart take their old values in it.  Queues and limits, which
 * live outside the configuration, are changed under their locks (a queue's
 * admission on its home loop).  Then loomd.config points at the new one.
 *
 * Loops read loomd.config afresh in each callback and copy what a job needs
 * into the job (exec's argv, http's user agent, digest's files_root), so no
 * pointer into a configuration outlives the callback that read it.  The old
 * one is therefore freed once every loop has run a call posted after the
 * swap: by then each has finished any callback that could have read it.
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "io/outbound.h"
#include "runtime/log.h"
#include "core/loomd.h"
#include "runtime/loop.h"
#include "core/queue.h"
#include "core/sem.h"
#include "net/tls.h"
#include "net/server.h"
#include "net/worker.h"
#include "service/metrics.h"
#include "service/reload.h"
#include "service/systemd.h"
#include "runtime/util.h"

/* What only a restart changes: threads, listeners, files, the user. */
static const char *const reload_restart_keys[] = {
	"loops", "executor_threads", "executor_queue", "listen", "tls_listen",
	"unix_socket",
	"unix_socket_mode", "state_dir", "user", "group", "journal", "journal_sync",
	"journal_sync_interval", "journal_max_bytes", "journal_repair",
	"metrics_listen",
};

/* A replaced configuration, until every loop has passed a call. */
struct reload_retired {
	struct config	*config;
	unsigned int	 reload;	/* the reload that replaced it */
	atomic_uint	 pending;	/* loops yet to pass, and the main thread */
};

static unsigned int		  reload_count;
/* Those a stopping loop refused the call for: freed after the loops stop. */
static struct reload_retired	**reload_kept;
static size_t			  reload_nkept;

struct reload_diff {
	const char	*kept[nitems(reload_restart_keys)];
	size_t		 nkept;
	size_t		 changes;
};

static void
reload_find_restart(const char *key, const char *was, const char *now, void *arg)
{
	struct reload_diff	*rd = arg;
	size_t			 i;

	for (i = 0; i < nitems(reload_restart_keys); i++) {
		if (strcmp(reload_restart_keys[i], key) == 0)
			break;
	}
	if (i == nitems(reload_restart_keys))
		return;
	log_warnx("reload: %s changed from %s to %s; that takes a restart, "
	    "%s stays in effect", key, was, now, was);
	rd->kept[rd->nkept++] = reload_restart_keys[i];
}

/* One line per change that took effect. */
static void
reload_log_change(const char *key, const char *was, const char *now, void *arg)
{
	struct reload_diff	*rd = arg;

	rd->changes++;
	if (was == NULL)
		log_info("reload: %s added", key);
	else if (now == NULL && (strncmp(key, "queue.", 6) == 0 ||
	    strncmp(key, "limit.", 6) == 0))
		log_info("reload: %s is no longer in the file; it stays as it is "
		    "until a restart", key);
	else if (now == NULL)
		log_info("reload: %s removed", key);
	else
		log_info("reload: %s: %s -> %s", key, was, now);
}

/* Queues and limits of the new configuration, made or changed. */
static void
reload_queues(struct config *cfg, const struct config *old)
{
	const struct config_queue	*prev;
	size_t				 i;

	for (i = 0; i < cfg->nqueues; i++) {
		if (queue_configure(&cfg->queues[i]) != -1)
			continue;
		prev = config_find_queue(old, cfg->queues[i].name);
		log_warnx("reload: queue.%s.concurrency: the queue was made without "
		    "a limit, so its jobs are spread over the loops; a limit takes "
		    "a restart", cfg->queues[i].name);
		/* What the configuration says is what is in effect. */
		cfg->queues[i].concurrency = prev != NULL ? prev->concurrency : 0;
	}
	for (i = 0; i < cfg->nlimits; i++)
		(void)limit_configure(&cfg->limits[i]);
}

static void
reload_retired_put(struct reload_retired *r)
{
	if (atomic_fetch_sub(&r->pending, 1) != 1)
		return;
	log_debug("reload: freed the configuration that reload %u replaced",
	    r->reload);
	config_free(r->config);
	free(r);
}

/* On each loop, after the swap: it no longer reads the old configuration. */
static void
reload_retired_pass(void *arg)
{
	reload_retired_put(arg);
}

static void
reload_retire(struct config *old)
{
	struct reload_retired	*r = xcalloc(1, sizeof(*r));
	struct loop		*metrics = metrics_loop();
	unsigned int		 i;
	bool			 refused = false;

	r->config = old;
	r->reload = reload_count;
	atomic_init(&r->pending, loomd.nloops + 1 + (metrics != NULL));
	for (i = 0; i < loomd.nloops; i++) {
		if (loop_post(loomd.loops[i], reload_retired_pass, r) == -1)
			refused = true;
	}
	if (metrics != NULL && loop_post(metrics, reload_retired_pass, r) == -1)
		refused = true;
	if (refused) {
		reload_kept = xreallocarray(reload_kept, reload_nkept + 1,
		    sizeof(*reload_kept));
		reload_kept[reload_nkept++] = r;
	} else
		reload_retired_put(r);
}

/*
 * The server's certificate and key, read again even if the names did not
 * change (a renewed certificate).  New connections get the new context;
 * those open keep theirs.  If it cannot be built nothing changes.
 */
static int
reload_tls(const struct config *cfg)
{
	char	err[1024];

	if (cfg->tls.cert_file == NULL) {
		if (tls_server_loaded())
			log_warnx("reload: tls.cert_file is no longer set; the TLS "
			    "listeners keep the certificate they have until a "
			    "restart");
		return 0;
	}
	if (tls_server_load(&cfg->tls, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; nothing changed", err);
		return -1;
	}
	return 0;
}

int
reload_run(const char *path, char *const *assignments, size_t n)
{
	const struct config	*old = loomd.config;
	struct reload_diff	 rd = { 0 };
	struct config		*cfg;
	struct timespec		 ts;
	char			 err[1024];
	size_t			 i;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	systemd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000 + (unsigned long long)ts.tv_nsec / 1000);
	log_info("SIGHUP: reloading %s", path != NULL ? path :
	    old->path != NULL ? old->path : "the configuration");
	if ((cfg = config_build(path, assignments, n, err, sizeof(err))) == NULL) {
		log_warnx("reload: %s; nothing changed", err);
		systemd_notify("READY=1");
		return -1;
	}
	/* A TCP socket from systemd is not in `listen`: the same rule. */
	if (cfg->auth_tcp == AUTH_TCP_TOKEN && cfg->ntokens == 0 &&
	    server_has_tcp()) {
		log_warnx("reload: a TCP listener needs a [token.NAME] section, "
		    "since auth_tcp = token; nothing changed");
		config_free(cfg);
		systemd_notify("READY=1");
		return -1;
	}

	config_diff(old, cfg, reload_find_restart, &rd);
	for (i = 0; i < rd.nkept; i++)
		config_keep(cfg, old, rd.kept[i]);
	if (reload_tls(cfg) == -1) {
		config_free(cfg);
		systemd_notify("READY=1");
		return -1;
	}
	reload_queues(cfg, old);
	log_set_level(cfg->log_level);
	log_set_target(cfg->log_target);
	log_set_format(cfg->log_format);
	loop_set_slow_callback_ms(cfg->slow_callback_ms);
	loop_set_spin_us(cfg->loop_spin_us);

	config_diff(old, cfg, reload_log_change, &rd);
	loomd.config = cfg;
	if (worker_configure(cfg, err, sizeof(err)) == -1)
		log_warnx("reload: %s", err);
	reload_count++;
	reload_retire((struct config *)old);
	/* ca_file and the system's store, read again (even if unchanged). */
	outbound_tls_reload(cfg->http.ca_file);
	log_info("reload: done, %zu change%s", rd.changes, rd.changes == 1 ? "" : "s");
	systemd_notify("READY=1");
	return 0;
}

void
reload_free(void)
{
	size_t	i;

	for (i = 0; i < reload_nkept; i++) {
		config_free(reload_kept[i]->config);
		free(reload_kept[i]);
	}
	free(reload_kept);
	reload_kept = NULL;
	reload_nkept = 0;
}
