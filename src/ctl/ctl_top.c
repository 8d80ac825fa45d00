/*
 * loomctl top's frame.  Everything shown comes from the two samples given,
 * so that a frame is a pure function of them and tests compare it byte for
 * byte.  Rates are differences of the cumulative counters that stats keeps
 * per queue, over the time between the samples.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_print.h"
#include "ctl_top.h"

static double
ctl_num(const json_t *obj, const char *key)
{
	const json_t	*v = json_object_get(obj, key);

	return json_is_number(v) ? json_number_value(v) : 0;
}

static void
ctl_cell_num(struct ctl_table *t, const json_t *obj, const char *key)
{
	const json_t	*v = json_object_get(obj, key);
	char		 buf[32];

	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
	else
		snprintf(buf, sizeof(buf), "-");
	ctl_table_cell(t, buf, NULL);
}

/* A counter's rate per second between two samples, or "-". */
static void
ctl_cell_rate(struct ctl_table *t, const json_t *cur, const json_t *prev,
    const char *const *keys, double dt, const char *sgr)
{
	double	delta = 0;
	char	buf[32];
	size_t	i;

	if (prev == NULL || dt <= 0) {
		ctl_table_cell(t, "-", NULL);
		return;
	}
	for (i = 0; keys[i] != NULL; i++)
		delta += ctl_num(cur, keys[i]) - ctl_num(prev, keys[i]);
	if (delta < 0)
		delta = 0;	/* a restart in between */
	snprintf(buf, sizeof(buf), "%.1f", delta / dt);
	ctl_table_cell(t, buf, delta > 0 ? sgr : NULL);
}

static int
ctl_top_summary(FILE *f, const struct ctl_top_sample *cur, int width)
{
	const json_t	*st = cur->stats, *jobs = json_object_get(st, "jobs");
	const json_t	*loops = json_object_get(st, "loops"), *loop, *ex;
	const char	*version = json_string_value(json_object_get(st, "version"));
	char		 line[512], up[32], when[64];
	double		 lag = 0;
	size_t		 i;

	json_array_foreach(loops, i, loop) {
		if (ctl_num(loop, "lag_ms") > lag)
			lag = ctl_num(loop, "lag_ms");
	}
	ex = json_object_get(st, "executor");
	snprintf(line, sizeof(line), "loomd %s  pid %.0f  up %s  rss %.1fMiB  %s",
	    version != NULL ? version : "?", ctl_num(st, "pid"),
	    ctl_format_duration(up, sizeof(up), ctl_num(st, "uptime")),
	    ctl_num(st, "rss_bytes") / 1048576, ctl_format_time(when,
	    sizeof(when), cur->now, 0));
	fprintf(f, "%.*s\n", width > 0 ? width : (int)sizeof(line), line);
	snprintf(line, sizeof(line), "jobs %.0f running, %.0f queued, %.0f pending"
	    "  connections %.0f  executor %.0f/%.0f busy, %.0f queued  lag %.1fms",
	    ctl_num(jobs, "running"), ctl_num(jobs, "queued"),
	    ctl_num(jobs, "pending"), ctl_num(json_object_get(st, "connections"),
	    "current"), ctl_num(ex, "running"), ctl_num(ex, "threads"),
	    ctl_num(ex, "queued"), lag);
	fprintf(f, "%.*s\n\n", width > 0 ? width : (int)sizeof(line), line);
	return 3;
}

static int
ctl_top_queues(FILE *f, const struct ctl_top_sample *cur,
    const struct ctl_top_sample *prev, int width)
{
	static const char *const header[] = {
		"QUEUE", "WAITING", "RUNNING", "CONC", "IN/S", "DONE/S", "FAIL/S",
		"DONE", "FAILED", "", NULL
	};
	static const char *const in[] = { "submitted", NULL };
	static const char *const done[] = { "done", NULL };
	static const char *const failed[] = { "failed", "timed_out", NULL };
	const json_t		*queues = json_object_get(cur->stats, "queues");
	const json_t		*pq = NULL, *q, *old;
	struct ctl_table	*t = ctl_table_new(header, "lrrrrrrrr");
	const char		*name;
	double			 dt = 0;
	int			 lines = 1, paused;

	if (prev != NULL) {
		pq = json_object_get(prev->stats, "queues");
		dt = cur->now - prev->now;
	}
	json_object_foreach((json_t *)queues, name, q) {
		old = pq != NULL ? json_object_get(pq, name) : NULL;
		ctl_table_cell(t, name, NULL);
		ctl_cell_num(t, q, "depth");
		ctl_cell_num(t, q, "running");
		if (ctl_num(q, "concurrency") > 0)
			ctl_cell_num(t, q, "concurrency");
		else
			ctl_table_cell(t, "-", NULL);
		ctl_cell_rate(t, q, old, in, old != NULL ? dt : 0, NULL);
		ctl_cell_rate(t, q, old, done, old != NULL ? dt : 0, "32");
		ctl_cell_rate(t, q, old, failed, old != NULL ? dt : 0, "31");
		ctl_cell_num(t, q, "done");
		ctl_cell_num(t, q, "failed");
		paused = json_is_true(json_object_get(q, "paused"));
		ctl_table_cell(t, paused ? "paused" : "", paused ? "33" : NULL);
		ctl_table_end_row(t);
		lines++;
	}
	ctl_table_print(f, t, width);
	fputc('\n', f);
	return lines + 1;
}

/* ["a","b"]: "a,b". */
static char *
ctl_top_names(const json_t *names)
{
	const json_t	*v;
	char		*s = NULL, *t;
	size_t		 i;

	json_array_foreach(names, i, v) {
		if (!json_is_string(v))
			continue;
		if (asprintf(&t, "%s%s%s", s != NULL ? s : "", s != NULL ? "," :
		    "", json_string_value(v)) == -1)
			abort();
		free(s);
		s = t;
	}
	return s != NULL ? s : strdup("-");
}

static int
ctl_top_workers(FILE *f, const struct ctl_top_sample *cur, int width)
{
	static const char *const header[] = {
		"WORKER", "NAME", "TYPES", "RUNNING", "CONNECTED", NULL
	};
	const json_t		*workers = json_object_get(cur->stats, "workers");
	const json_t		*w, *at;
	struct ctl_table	*t;
	char			 buf[64], *s;
	size_t			 i;

	if (!json_is_array(workers) || json_array_size(workers) == 0)
		return 0;
	t = ctl_table_new(header, "lllr");
	json_array_foreach(workers, i, w) {
		s = json_dumps(json_object_get(w, "id"), JSON_ENCODE_ANY);
		ctl_table_cell(t, json_is_string(json_object_get(w, "id")) ?
		    json_string_value(json_object_get(w, "id")) : s != NULL ? s :
		    "-", NULL);
		free(s);
		ctl_table_cell(t, json_is_string(json_object_get(w, "name")) ?
		    json_string_value(json_object_get(w, "name")) : "", NULL);
		s = ctl_top_names(json_object_get(w, "types"));
		ctl_table_cell(t, s, NULL);
		free(s);
		snprintf(buf, sizeof(buf), "%.0f/%.0f", ctl_num(w, "running"),
		    ctl_num(w, "concurrency"));
		ctl_table_cell(t, buf, NULL);
		at = json_object_get(w, "connected_at");
		ctl_table_cell(t, json_is_number(at) ? ctl_format_duration(buf,
		    sizeof(buf), cur->now - json_number_value(at)) : "-", NULL);
		ctl_table_end_row(t);
	}
	ctl_table_print(f, t, width);
	fputc('\n', f);
	return (int)json_array_size(workers) + 2;
}

char *
ctl_top_progress(const json_t *progress)
{
	const json_t	*done = json_object_get(progress, "done");
	const json_t	*total = json_object_get(progress, "total");
	const char	*message = json_string_value(json_object_get(progress,
			    "message"));
	char		*s, part[64] = "";

	if (!json_is_object(progress))
		return NULL;
	if (json_is_number(done) && json_is_number(total) &&
	    json_number_value(total) > 0)
		snprintf(part, sizeof(part), "%g/%g %.0f%%", json_number_value(done),
		    json_number_value(total), 100 * json_number_value(done) /
		    json_number_value(total));
	else if (json_is_number(done))
		snprintf(part, sizeof(part), "%g", json_number_value(done));
	if (asprintf(&s, "%s%s%s", part, *part != '\0' && message != NULL ?
	    " " : "", message != NULL ? message : "") == -1)
		abort();
	return s;
}

static const char *
ctl_str(const json_t *obj, const char *key, const char *absent)
{
	const char	*s = json_string_value(json_object_get(obj, key));

	return s != NULL ? s : absent;
}

/* The last failures: when, and why, as people read an error. */
static int
ctl_top_failed(FILE *f, const struct ctl_top_sample *cur, int width)
{
	static const char *const header[] = {
		"FAILED", "TYPE", "QUEUE", "AGO", "ERROR", NULL
	};
	struct ctl_table	*t;
	const json_t		*job, *error, *at;
	const char		*code, *message;
	char			 buf[64], text[256], *p;
	size_t			 i;

	if (json_array_size(cur->failed) == 0)
		return 0;
	t = ctl_table_new(header, "rllr");
	json_array_foreach(cur->failed, i, job) {
		snprintf(buf, sizeof(buf), "%.0f", ctl_num(job, "id"));
		ctl_table_cell(t, buf, "31");
		ctl_table_cell(t, ctl_str(job, "type", "-"), NULL);
		ctl_table_cell(t, ctl_str(job, "queue", "-"), NULL);
		at = json_object_get(job, "finished_at");
		ctl_table_cell(t, json_is_number(at) ? ctl_format_duration(buf,
		    sizeof(buf), cur->now - json_number_value(at)) : "-", NULL);
		error = json_object_get(job, "error");
		code = ctl_str(error, "code", "failed");
		message = ctl_str(error, "message", "");
		/* One line each: control characters would break the frame. */
		snprintf(text, sizeof(text), "%s%s%s", code, *message != '\0' ?
		    ": " : "", message);
		for (p = text; *p != '\0'; p++) {
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		}
		ctl_table_cell(t, text, NULL);
		ctl_table_end_row(t);
	}
	ctl_table_print(f, t, width);
	fputc('\n', f);
	return (int)json_array_size(cur->failed) + 2;
}

static void
ctl_top_running(FILE *f, const struct ctl_top_sample *cur, int width, int rows)
{
	static const char *const header[] = {
		"ID", "TYPE", "QUEUE", "AGE", "PROGRESS", "NAME", NULL
	};
	struct ctl_table	*t = ctl_table_new(header, "rllr");
	const json_t		*job, *started;
	char			 buf[64], *s;
	size_t			 i, n = json_array_size(cur->running), shown;
	double			 hidden;

	shown = rows > 0 && (size_t)rows < n ? (size_t)rows : n;
	for (i = 0; i < shown; i++) {
		job = json_array_get(cur->running, i);
		snprintf(buf, sizeof(buf), "%.0f", ctl_num(job, "id"));
		ctl_table_cell(t, buf, NULL);
		ctl_table_cell(t, ctl_str(job, "type", "-"), NULL);
		ctl_table_cell(t, ctl_str(job, "queue", "-"), NULL);
		started = json_object_get(job, "started_at");
		ctl_table_cell(t, json_is_number(started) ? ctl_format_duration(buf,
		    sizeof(buf), cur->now - json_number_value(started)) : "-",
		    NULL);
		s = ctl_top_progress(json_object_get(job, "progress"));
		ctl_table_cell(t, s != NULL ? s : "-", NULL);
		free(s);
		ctl_table_cell(t, ctl_str(job, "name", ""), NULL);
		ctl_table_end_row(t);
	}
	ctl_table_print(f, t, width);
	/* stats counts them all; the list holds the newest only. */
	hidden = ctl_num(json_object_get(cur->stats, "jobs"), "running") - shown;
	if (hidden > 0)
		fprintf(f, "... %.0f more running\n", hidden);
}

void
ctl_top_frame(FILE *f, const struct ctl_top_sample *cur,
    const struct ctl_top_sample *prev, int width, int height)
{
	int	used, rows = 0;

	used = ctl_top_summary(f, cur, width);
	used += ctl_top_queues(f, cur, prev, width);
	used += ctl_top_workers(f, cur, width);
	/* Failures only if a few running jobs still fit below them. */
	if (height == 0 || used + (int)json_array_size(cur->failed) + 2 + 4 <=
	    height)
		used += ctl_top_failed(f, cur, width);
	if (height > 0) {
		/* The header, and a line for "more" when they do not all fit. */
		rows = height - used - 2;
		if (rows < 1)
			rows = 1;
	}
	ctl_top_running(f, cur, width, rows);
}
