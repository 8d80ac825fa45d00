/*
 * The metrics listener (metrics_listen): HTTP on a thread of its own, so a
 * scrape never runs on a job loop.  GET /metrics (Prometheus text 0.0.4),
 * /healthz (every loop answers a ping), / (the dashboard) and the JSON it
 * reads (/api/overview, /api/job/ID).  It reads what the loops publish for
 * any thread (atomics, the counters' sums) and asks the loops, by a post,
 * only for what they alone may read (their running jobs, a job's view).
 */
#ifndef LOOM_METRICS_H
#define LOOM_METRICS_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct evbuffer;
struct loop;

/* Main thread, before privileges are dropped: bind (nothing if off). */
int	metrics_open(const struct config *, char *err, size_t errlen);
/* Once the loops run: serve, on the metrics thread. */
void	metrics_start(void);
/* After the job loops have stopped, before daemon_free(). */
void	metrics_stop(void);
/* Its loop while it serves, else NULL: it reads the configuration too, so
 * a reload frees the old one only once this loop has passed as well. */
struct loop *metrics_loop(void);

/*
 * Who may read.  Without tokens configured anyone who can connect may: the
 * listener must then be on loopback (config_check refuses otherwise).  With
 * tokens, /metrics and /api/ need "Authorization: Bearer <secret>" of a
 * token with role read (or admin).  service/metrics_auth.c and metrics.c.
 */
bool	metrics_auth_required(const struct config *);
bool	metrics_auth_check(const struct config *, const char *secret);
/* Whether HOST:PORT listens on loopback only (127.0.0.0/8, ::1, localhost). */
bool	metrics_listen_is_loopback(const char *spec);

/* The exposition, into buf (service/metrics_prom.c). */
void	metrics_prom_write(struct evbuffer *);
/* key="value", the value escaped as the text format wants. */
void	metrics_prom_label(struct evbuffer *, const char *key, const char *value);

/* The dashboard's files, built into the binary (dashboard.c, generated). */
struct dashboard_file {
	const char		*path;		/* "/", "/app.css" */
	const char		*type;		/* Content-Type */
	const unsigned char	*data;
	size_t			 len;
};
extern const struct dashboard_file	dashboard_files[];
extern const size_t			dashboard_nfiles;

#endif
