/*
 * The Prometheus text exposition (version 0.0.4) of what loomd counts.
 * Everything here is read where any thread may read it: the counters' and
 * histograms' sums, the shards' and queues' atomics, the loops' and the
 * executor's stats, /proc for the process.
 */
#include "autoconf.h"

#include <sys/resource.h>

#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "core/counters.h"
#include "core/loomd.h"
#include "core/queue.h"
#include "io/journal.h"
#include "io/journal_file.h"
#include "net/conn.h"
#include "runtime/executor.h"
#include "runtime/histogram.h"
#include "runtime/loop.h"
#include "runtime/util.h"
#include "net/worker.h"
#include "service/metrics.h"

static void
prom_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* A label value: backslash, double quote and newline escaped. */
void
metrics_prom_label(struct evbuffer *b, const char *key, const char *value)
{
	const char	*p;

	evbuffer_add_printf(b, "%s=\"", key);
	for (p = value; *p != '\0'; p++) {
		if (*p == '\\')
			evbuffer_add(b, "\\\\", 2);
		else if (*p == '"')
			evbuffer_add(b, "\\\"", 2);
		else if (*p == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, p, 1);
	}
	evbuffer_add(b, "\"", 1);
}

struct prom_by {
	struct evbuffer	*b;
	const char	*label;		/* "queue" or "type" */
	const char	*metric;
};

/* loomd_jobs_total{queue,type,state}: the counters kept per queue and
 * type pair, "QUEUE" COUNTERS_SEP "TYPE". */
static void
prom_counts(const char *name, const uint64_t n[COUNT_N], void *arg)
{
	struct prom_by	*p = arg;
	const char	*sep = strchr(name, COUNTERS_SEP);
	char		 queue[LOOM_NAME_MAX + 1];
	int		 c;

	if (sep == NULL)
		return;
	snprintf(queue, sizeof(queue), "%.*s", (int)(sep - name), name);
	for (c = 0; c < COUNT_N; c++) {
		evbuffer_add_printf(p->b, "loomd_jobs_total{");
		metrics_prom_label(p->b, "queue", queue);
		evbuffer_add(p->b, ",", 1);
		metrics_prom_label(p->b, "type", sep + 1);
		evbuffer_add(p->b, ",", 1);
		metrics_prom_label(p->b, "state", counter_name(c));
		evbuffer_add_printf(p->b, "} %llu\n", (unsigned long long)n[c]);
	}
}

static void
prom_histo_series(struct evbuffer *b, const char *metric, const char *label,
    const char *value, const struct histo_sum *h)
{
	uint64_t	cum = 0;
	unsigned int	i;

	for (i = 0; i <= HISTO_BOUNDS; i++) {
		cum += h->n[i];
		evbuffer_add_printf(b, "%s_bucket{", metric);
		if (label != NULL) {
			metrics_prom_label(b, label, value);
			evbuffer_add(b, ",", 1);
		}
		if (i < HISTO_BOUNDS)
			evbuffer_add_printf(b, "le=\"%g\"} %llu\n", histo_bounds[i],
			    (unsigned long long)cum);
		else
			evbuffer_add_printf(b, "le=\"+Inf\"} %llu\n",
			    (unsigned long long)cum);
	}
	evbuffer_add_printf(b, "%s_sum", metric);
	if (label != NULL) {
		evbuffer_add(b, "{", 1);
		metrics_prom_label(b, label, value);
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add_printf(b, " %.9f\n%s_count", h->sum_ns / 1e9, metric);
	if (label != NULL) {
		evbuffer_add(b, "{", 1);
		metrics_prom_label(b, label, value);
		evbuffer_add(b, "}", 1);
	}
	evbuffer_add_printf(b, " %llu\n", (unsigned long long)cum);
}

static void
prom_histo(const char *name, const struct histo_sum *h, void *arg)
{
	struct prom_by	*p = arg;

	prom_histo_series(p->b, p->metric, p->label, name, h);
}

static void
prom_queue(const struct queue_info *qi, void *arg)
{
	struct evbuffer	*b = arg;
	long		 queued = qi->queued > 0 ? qi->queued : 0;
	long		 pending = qi->waiting - queued;
	const char	*states[] = { "pending", "queued", "running" };
	long		 n[] = { pending > 0 ? pending : 0, queued,
			    qi->running > 0 ? qi->running : 0 };
	int		 i;

	for (i = 0; i < 3; i++) {
		evbuffer_add(b, "loomd_jobs{", 11);
		metrics_prom_label(b, "queue", qi->name);
		evbuffer_add(b, ",", 1);
		metrics_prom_label(b, "state", states[i]);
		evbuffer_add_printf(b, "} %ld\n", n[i]);
	}
}

static void
prom_jobs(struct evbuffer *b)
{
	struct prom_by	p = { b, "queue", NULL };

	prom_head(b, "loomd_jobs_total", "counter", "Jobs by queue and type and "
	    "what happened to them: submitted, done, failed, cancelled, "
	    "timed_out, retried.");
	counters_each(COUNTERS_BY_PAIR, prom_counts, &p);

	prom_head(b, "loomd_jobs", "gauge", "Jobs in each queue now, by state.");
	queue_each(prom_queue, b);

	prom_head(b, "loomd_job_duration_seconds", "histogram", "Jobs' runs, "
	    "started to finished, by type.");
	p.label = "type";
	p.metric = "loomd_job_duration_seconds";
	counters_each_histo(COUNTERS_BY_TYPE, prom_histo, &p);

	prom_head(b, "loomd_job_wait_seconds", "histogram", "Jobs' waits, "
	    "queued to running, by queue.");
	p.label = "queue";
	p.metric = "loomd_job_wait_seconds";
	counters_each_histo(COUNTERS_BY_QUEUE, prom_histo, &p);
}

static void
prom_daemon(struct evbuffer *b)
{
	struct executor_stats	 es;
	struct journal_stats	 js;
	struct loop_stats	 ls;
	struct histo_sum	 h = { 0 };
	unsigned int		 i;

	prom_head(b, "loomd_connections", "gauge", "Client connections open.");
	evbuffer_add_printf(b, "loomd_connections %lu\n",
	    (unsigned long)atomic_load(&conn_counts.current));
	prom_head(b, "loomd_workers", "gauge", "Workers connected.");
	evbuffer_add_printf(b, "loomd_workers %zu\n", worker_count());
	prom_head(b, "loomd_loop_lag_seconds", "gauge", "How long the last "
	    "call posted to each event loop waited to run.");
	for (i = 0; i < loomd.nloops; i++) {
		loop_get_stats(loomd.loops[i], &ls);
		evbuffer_add_printf(b, "loomd_loop_lag_seconds{loop=\"%u\"} %.9f\n",
		    i, ls.lag_last_ns / 1e9);
	}
	executor_get_stats(loomd.executor, &es);
	prom_head(b, "loomd_executor_queued", "gauge", "Work waiting for an "
	    "executor thread.");
	evbuffer_add_printf(b, "loomd_executor_queued %zu\n", es.queued);
	journal_get_stats(&js);
	prom_head(b, "loomd_journal_bytes", "gauge", "The journal's size on "
	    "disk (0: off).");
	evbuffer_add_printf(b, "loomd_journal_bytes %llu\n",
	    (unsigned long long)js.bytes);
	prom_head(b, "loomd_journal_sync_seconds", "histogram", "The journal's "
	    "fdatasync calls.");
	histo_add_to(&journal_sync_histo, &h);
	prom_histo_series(b, "loomd_journal_sync_seconds", NULL, NULL, &h);
}

/* CPU seconds (user + system) from /proc/self/stat; -1 if unreadable. */
static double
prom_cpu_seconds(void)
{
	unsigned long	 utime, stime;
	char		 buf[1024], *p;
	FILE		*f;
	size_t		 n;

	if ((f = fopen("/proc/self/stat", "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command's closing parenthesis: fields 3 on; 14 and 15. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
	    &stime) != 2)
		return -1;
	return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

static long
prom_open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	long		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n - 1;		/* not the one reading the directory */
}

static void
prom_process(struct evbuffer *b)
{
	struct rlimit	 rl;
	unsigned long	 size, resident = 0;
	double		 cpu = prom_cpu_seconds();
	long		 fds = prom_open_fds();
	FILE		*f;

	if (cpu >= 0) {
		prom_head(b, "process_cpu_seconds_total", "counter", "User and "
		    "system CPU time spent in seconds.");
		evbuffer_add_printf(b, "process_cpu_seconds_total %.2f\n", cpu);
	}
	if ((f = fopen("/proc/self/statm", "r")) != NULL) {
		if (fscanf(f, "%lu %lu", &size, &resident) == 2) {
			prom_head(b, "process_resident_memory_bytes", "gauge",
			    "Resident memory size in bytes.");
			evbuffer_add_printf(b, "process_resident_memory_bytes %llu\n",
			    (unsigned long long)resident * sysconf(_SC_PAGESIZE));
		}
		fclose(f);
	}
	if (fds >= 0) {
		prom_head(b, "process_open_fds", "gauge", "Open file descriptors.");
		evbuffer_add_printf(b, "process_open_fds %ld\n", fds);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		prom_head(b, "process_max_fds", "gauge", "The most file "
		    "descriptors it may open.");
		evbuffer_add_printf(b, "process_max_fds %llu\n",
		    (unsigned long long)rl.rlim_cur);
	}
	prom_head(b, "process_start_time_seconds", "gauge", "Start time of the "
	    "process since the epoch in seconds.");
	evbuffer_add_printf(b, "process_start_time_seconds %.3f\n",
	    loomd.started_at);
}

void
metrics_prom_write(struct evbuffer *b)
{
	prom_jobs(b);
	prom_daemon(b);
	prom_process(b);
}
