/*
 * loomctl's output for people.  Rows are collected first and printed
 * aligned; members the protocol adds later are still shown, as JSON, rather
 * than hidden.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_print.h"

#define CTL_EVENT_RESULT_MAX	120	/* bytes of a result on an event line */

struct ctl_row {
	char	*label;
	char	*value;
};

struct ctl_rows {
	struct ctl_row	*rows;
	size_t		 n;
	size_t		 size;
};

static char *
ctl_xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		abort();
	return p;
}

static char * __attribute__((format(printf, 1, 2)))
ctl_xprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		abort();
	va_end(ap);
	return s;
}

static char *
ctl_compact(const json_t *v)
{
	char	*s;

	if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
		s = ctl_xstrdup("?");
	return s;
}

/* A string as is, unless control characters would garble the terminal. */
static char *
ctl_string_text(const json_t *v)
{
	const unsigned char	*s = (const unsigned char *)json_string_value(v);

	for (; *s != '\0'; s++) {
		if (*s < 0x20 || *s == 0x7f)
			return ctl_compact(v);
	}
	return ctl_xstrdup(json_string_value(v));
}

/* A value for a table cell: strings bare, numbers plain, the rest JSON. */
static char *
ctl_value_text(const json_t *v)
{
	if (v == NULL)
		return ctl_xstrdup("-");
	if (json_is_string(v))
		return ctl_string_text(v);
	if (json_is_integer(v))
		return ctl_xprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return ctl_xprintf("%.6g", json_real_value(v));
	return ctl_compact(v);
}

static void
ctl_rows_add(struct ctl_rows *r, const char *label, char *value)
{
	if (r->n == r->size) {
		r->size = r->size == 0 ? 16 : r->size * 2;
		r->rows = reallocarray(r->rows, r->size, sizeof(*r->rows));
		if (r->rows == NULL)
			abort();
	}
	r->rows[r->n].label = ctl_xstrdup(label);
	r->rows[r->n].value = value;
	r->n++;
}

static void
ctl_rows_print(FILE *f, struct ctl_rows *r, int indent)
{
	size_t	i, width = 0, len;

	for (i = 0; i < r->n; i++) {
		if ((len = strlen(r->rows[i].label)) > width)
			width = len;
	}
	for (i = 0; i < r->n; i++) {
		if (*r->rows[i].value == '\0')
			fprintf(f, "%*s%s\n", indent, "", r->rows[i].label);
		else
			fprintf(f, "%*s%-*s  %s\n", indent, "", (int)width,
			    r->rows[i].label, r->rows[i].value);
		free(r->rows[i].label);
		free(r->rows[i].value);
	}
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

const char *
ctl_format_time(char *buf, size_t len, double epoch, int millis)
{
	struct tm	tm;
	long long	ms;
	time_t		t;
	char		date[32];

	if (epoch < 0)
		epoch = 0;
	ms = (long long)(epoch * 1000 + 0.5);
	t = (time_t)(ms / 1000);
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	if (millis)
		snprintf(buf, len, "%s.%03lldZ", date, ms % 1000);
	else
		snprintf(buf, len, "%sZ", date);
	return buf;
}

const char *
ctl_format_duration(char *buf, size_t len, double seconds)
{
	long long	s;

	if (seconds < 0)
		seconds = 0;
	if (seconds < 0.9995) {
		snprintf(buf, len, "%lldms", (long long)(seconds * 1000 + 0.5));
		return buf;
	}
	if (seconds < 9.995) {
		snprintf(buf, len, "%.2fs", seconds);
		return buf;
	}
	if (seconds < 59.95) {
		snprintf(buf, len, "%.1fs", seconds);
		return buf;
	}
	s = (long long)(seconds + 0.5);
	if (s < 3600)
		snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%lldh%02lldm%02llds", s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%lldd%02lldh%02lldm", s / 86400, s / 3600 % 24,
		    s / 60 % 60);
	return buf;
}

void
ctl_print_json(FILE *f, const json_t *v)
{
	char	*s = ctl_compact(v);

	fprintf(f, "%s\n", s);
	free(s);
}

void
ctl_print_accepted(FILE *f, const json_t *job)
{
	char	*id = ctl_value_text(json_object_get(job, "id"));
	char	*state = ctl_value_text(json_object_get(job, "state"));

	fprintf(f, "%s %s\n", id, state);
	free(id);
	free(state);
}

/* A time row: the time, and in brackets how long since an earlier one. */
static void
ctl_time_row(struct ctl_rows *r, const char *label, const json_t *at,
    const json_t *since, const char *how)
{
	char	when[64], took[32];

	if (at == NULL)
		return;
	if (!json_is_number(at)) {
		ctl_rows_add(r, label, ctl_value_text(at));
		return;
	}
	ctl_format_time(when, sizeof(when), json_number_value(at), 1);
	if (!json_is_number(since)) {
		ctl_rows_add(r, label, ctl_xstrdup(when));
		return;
	}
	ctl_format_duration(took, sizeof(took),
	    json_number_value(at) - json_number_value(since));
	ctl_rows_add(r, label, ctl_xprintf("%s (%s %s)", when, how, took));
}

/* "code: message", the way people read an error. */
static char *
ctl_error_text(const json_t *error)
{
	const char	*code, *message;

	if (!json_is_object(error))
		return ctl_value_text(error);
	code = json_string_value(json_object_get(error, "code"));
	message = json_string_value(json_object_get(error, "message"));
	if (code == NULL)
		code = "error";
	if (message == NULL || *message == '\0')
		return ctl_xstrdup(code);
	return ctl_xprintf("%s: %s", code, message);
}

/* What an error carries beyond code and message, or NULL. */
static char *
ctl_error_extra(const json_t *error)
{
	json_t		*extra, *v;
	const char	*key;
	char		*s;

	if (!json_is_object(error))
		return NULL;
	extra = json_object();
	json_object_foreach((json_t *)error, key, v) {
		if (strcmp(key, "code") != 0 && strcmp(key, "message") != 0)
			json_object_set(extra, key, v);
	}
	if (json_object_size(extra) == 0)
		s = NULL;
	else if (json_object_size(extra) == 1 &&
	    (v = json_object_get(extra, "detail")) != NULL)
		s = ctl_compact(v);
	else
		s = ctl_compact(extra);
	json_decref(extra);
	return s;
}

static char *
ctl_ids_text(const json_t *ids)
{
	json_t	*v;
	char	*s = NULL, *t, *item;
	size_t	 i;

	if (!json_is_array(ids))
		return ctl_value_text(ids);
	json_array_foreach(ids, i, v) {
		item = ctl_value_text(v);
		t = ctl_xprintf("%s%s%s", s != NULL ? s : "", s != NULL ? " " : "",
		    item);
		free(item);
		free(s);
		s = t;
	}
	return s != NULL ? s : ctl_xstrdup("");
}

void
ctl_print_view(FILE *f, const json_t *view)
{
	static const char *const plain[] = {
		"id", "type", "name", "queue", "priority", "state", "attempt",
		"parent", NULL
	};
	static const char *const shown[] = {
		"id", "type", "name", "queue", "priority", "state", "attempt",
		"parent", "children", "created_at", "started_at", "finished_at",
		"result", "error", NULL
	};
	struct ctl_rows	 r = { 0 };
	const json_t	*v, *created, *started, *finished;
	const char	*key;
	char		*extra;
	size_t		 i;

	for (i = 0; plain[i] != NULL; i++) {
		if ((v = json_object_get(view, plain[i])) != NULL)
			ctl_rows_add(&r, plain[i], ctl_value_text(v));
	}
	if ((v = json_object_get(view, "children")) != NULL)
		ctl_rows_add(&r, "children", ctl_ids_text(v));

	created = json_object_get(view, "created_at");
	started = json_object_get(view, "started_at");
	finished = json_object_get(view, "finished_at");
	ctl_time_row(&r, "created", created, NULL, NULL);
	ctl_time_row(&r, "started", started, created, "waited");
	if (started != NULL)
		ctl_time_row(&r, "finished", finished, started, "ran");
	else
		ctl_time_row(&r, "finished", finished, created, "after");

	if ((v = json_object_get(view, "result")) != NULL)
		ctl_rows_add(&r, "result", ctl_compact(v));
	if ((v = json_object_get(view, "error")) != NULL) {
		ctl_rows_add(&r, "error", ctl_error_text(v));
		if ((extra = ctl_error_extra(v)) != NULL)
			ctl_rows_add(&r, "detail", extra);
	}

	/* Whatever a newer server adds. */
	json_object_foreach((json_t *)view, key, v) {
		for (i = 0; shown[i] != NULL; i++) {
			if (strcmp(key, shown[i]) == 0)
				break;
		}
		if (shown[i] == NULL)
			ctl_rows_add(&r, key, ctl_value_text(v));
	}
	ctl_rows_print(f, &r, 0);
}

enum {
	COL_ID,
	COL_STATE,
	COL_TYPE,
	COL_QUEUE,
	COL_ATTEMPT,
	COL_CREATED,
	COL_RAN,
	COL_NAME,
	COL_COUNT
};

static char *
ctl_list_cell(const json_t *job, int col)
{
	const json_t	*v, *started, *finished;
	char		 buf[64];

	switch (col) {
	case COL_ID:
	case COL_STATE:
	case COL_TYPE:
	case COL_QUEUE:
	case COL_ATTEMPT:
	case COL_NAME: {
		static const char *const keys[COL_COUNT] = {
			[COL_ID] = "id", [COL_STATE] = "state", [COL_TYPE] = "type",
			[COL_QUEUE] = "queue", [COL_ATTEMPT] = "attempt",
			[COL_NAME] = "name",
		};

		v = json_object_get(job, keys[col]);
		return v != NULL ? ctl_value_text(v) : ctl_xstrdup(col ==
		    COL_NAME ? "" : "-");
	}
	case COL_CREATED:
		v = json_object_get(job, "created_at");
		if (!json_is_number(v))
			return ctl_xstrdup("-");
		return ctl_xstrdup(ctl_format_time(buf, sizeof(buf),
		    json_number_value(v), 0));
	case COL_RAN:
		started = json_object_get(job, "started_at");
		finished = json_object_get(job, "finished_at");
		if (!json_is_number(started) || !json_is_number(finished))
			return ctl_xstrdup("-");
		return ctl_xstrdup(ctl_format_duration(buf, sizeof(buf),
		    json_number_value(finished) - json_number_value(started)));
	}
	return ctl_xstrdup("");
}

void
ctl_print_list(FILE *f, const json_t *jobs, const json_t *next)
{
	static const char *const header[COL_COUNT] = {
		"ID", "STATE", "TYPE", "QUEUE", "ATTEMPT", "CREATED", "RAN", "NAME"
	};
	size_t	 n = json_array_size(jobs), i, len, width[COL_COUNT];
	char	**cells;
	int	 col, last;

	if ((cells = calloc((n + 1) * COL_COUNT, sizeof(*cells))) == NULL)
		abort();
	for (col = 0; col < COL_COUNT; col++) {
		cells[col] = ctl_xstrdup(header[col]);
		width[col] = strlen(header[col]);
	}
	for (i = 0; i < n; i++) {
		for (col = 0; col < COL_COUNT; col++) {
			cells[(i + 1) * COL_COUNT + col] =
			    ctl_list_cell(json_array_get(jobs, i), col);
			len = strlen(cells[(i + 1) * COL_COUNT + col]);
			if (len > width[col])
				width[col] = len;
		}
	}
	for (i = 0; i <= n; i++) {
		/* No padding after the last cell: an empty name leaves none. */
		for (last = COL_COUNT - 1; last > 0; last--) {
			if (*cells[i * COL_COUNT + last] != '\0')
				break;
		}
		for (col = 0; col < COL_COUNT; col++) {
			if (col < last)
				fprintf(f, "%-*s  ", (int)width[col],
				    cells[i * COL_COUNT + col]);
			else if (col == last)
				fprintf(f, "%s\n", cells[i * COL_COUNT + col]);
			free(cells[i * COL_COUNT + col]);
		}
	}
	free(cells);
	if (next != NULL && !json_is_null(next)) {
		char	*s = ctl_value_text(next);

		fprintf(f, "more: list --before %s\n", s);
		free(s);
	}
}

/* A leaf for stats: scalars, empty containers, arrays of scalars. */
static int
ctl_is_leaf(const json_t *v)
{
	json_t	*item;
	size_t	 i;

	if (json_is_object(v))
		return json_object_size(v) == 0;
	if (!json_is_array(v))
		return 1;
	json_array_foreach(v, i, item) {
		if (json_is_object(item) || json_is_array(item))
			return 0;
	}
	return 1;
}

static void
ctl_print_tree(FILE *f, const json_t *v, int indent)
{
	struct ctl_rows	 r = { 0 };
	const char	*key;
	json_t		*item;
	char		 buf[32], label[32];
	size_t		 i;

	if (json_is_object(v)) {
		/* Leaves first, aligned; then the sections. */
		json_object_foreach((json_t *)v, key, item) {
			if (!ctl_is_leaf(item))
				continue;
			if (strcmp(key, "uptime") == 0 && json_is_number(item)) {
				ctl_rows_add(&r, key, ctl_xstrdup(ctl_format_duration(
				    buf, sizeof(buf), json_number_value(item))));
			} else if (json_is_array(item))
				ctl_rows_add(&r, key, ctl_ids_text(item));
			else
				ctl_rows_add(&r, key, ctl_value_text(item));
		}
		ctl_rows_print(f, &r, indent);
		json_object_foreach((json_t *)v, key, item) {
			if (ctl_is_leaf(item))
				continue;
			fprintf(f, "%*s%s\n", indent, "", key);
			ctl_print_tree(f, item, indent + 2);
		}
		return;
	}
	json_array_foreach(v, i, item) {
		snprintf(label, sizeof(label), "[%zu]", i);
		if (ctl_is_leaf(item)) {
			ctl_rows_add(&r, label, ctl_value_text(item));
			continue;
		}
		ctl_rows_print(f, &r, indent);
		fprintf(f, "%*s%s\n", indent, "", label);
		ctl_print_tree(f, item, indent + 2);
	}
	ctl_rows_print(f, &r, indent);
}

void
ctl_print_stats(FILE *f, const json_t *stats)
{
	if (!json_is_object(stats) && !json_is_array(stats)) {
		ctl_print_json(f, stats);
		return;
	}
	ctl_print_tree(f, stats, 0);
}

/* The time a job view's state began: finished, started or created. */
static const json_t *
ctl_view_time(const json_t *view)
{
	static const char *const keys[] = {
		"finished_at", "started_at", "created_at", NULL
	};
	const json_t	*v;
	size_t		 i;

	for (i = 0; keys[i] != NULL; i++) {
		if (json_is_number(v = json_object_get(view, keys[i])))
			return v;
	}
	return NULL;
}

static void
ctl_print_job_line(FILE *f, const char *what, const json_t *view)
{
	const json_t	*at = ctl_view_time(view), *v;
	char		 when[64], *id, *state, *type, *s;
	size_t		 len;

	if (at != NULL)
		ctl_format_time(when, sizeof(when), json_number_value(at), 1);
	else
		snprintf(when, sizeof(when), "-");
	id = ctl_value_text(json_object_get(view, "id"));
	state = ctl_value_text(json_object_get(view, "state"));
	type = ctl_value_text(json_object_get(view, "type"));
	fprintf(f, "%s %s %s %s %s", when, what, id, state, type);
	free(id);
	free(state);
	free(type);

	if ((v = json_object_get(view, "name")) != NULL) {
		s = ctl_compact(v);
		fprintf(f, " name=%s", s);
		free(s);
	}
	if (json_is_integer(v = json_object_get(view, "attempt")) &&
	    json_integer_value(v) > 1)
		fprintf(f, " attempt=%lld", (long long)json_integer_value(v));
	if ((v = json_object_get(view, "result")) != NULL) {
		s = ctl_compact(v);
		len = strlen(s);
		if (len > CTL_EVENT_RESULT_MAX)
			fprintf(f, " result=%.*s...", CTL_EVENT_RESULT_MAX, s);
		else
			fprintf(f, " result=%s", s);
		free(s);
	}
	if ((v = json_object_get(view, "error")) != NULL) {
		s = ctl_error_text(v);
		fprintf(f, " error=%s", s);
		free(s);
	}
	fputc('\n', f);
}

void
ctl_print_event(FILE *f, const json_t *event)
{
	const char	*kind = json_string_value(json_object_get(event, "event"));
	const json_t	*job = json_object_get(event, "job");
	const json_t	*index = json_object_get(event, "index");
	char		 what[64];

	if (kind != NULL && strcmp(kind, "job") == 0 && json_is_object(job)) {
		ctl_print_job_line(f, "job", job);
		return;
	}
	if (kind != NULL && strcmp(kind, "child") == 0 && json_is_object(job) &&
	    json_is_integer(index)) {
		snprintf(what, sizeof(what), "child[%lld]",
		    (long long)json_integer_value(index));
		ctl_print_job_line(f, what, job);
		return;
	}
	ctl_print_json(f, event);
}

void
ctl_print_ping(FILE *f, const json_t *answer, double rtt)
{
	const json_t	*version = json_object_get(answer, "version");
	const json_t	*uptime = json_object_get(answer, "uptime");
	char		 up[32], *s;

	s = version != NULL ? ctl_value_text(version) : ctl_xstrdup("?");
	fprintf(f, "loomd %s", s);
	free(s);
	if (json_is_number(uptime)) {
		fprintf(f, ", up %s", ctl_format_duration(up, sizeof(up),
		    json_number_value(uptime)));
	}
	fprintf(f, ", round trip %.2fms\n", rtt * 1000);
}

void
ctl_print_error(FILE *f, const json_t *answer)
{
	const json_t	*error = json_object_get(answer, "error");
	const char	*path = json_string_value(json_object_get(error, "path"));
	char		*s;

	if (error == NULL) {
		fprintf(f, "loomctl: the server refused the request\n");
		return;
	}
	s = ctl_error_text(error);
	if (path != NULL && *path != '\0' && strstr(s, path) == NULL)
		fprintf(f, "loomctl: %s (at %s)\n", s, path);
	else
		fprintf(f, "loomctl: %s\n", s);
	free(s);
}

/* A worker's column: id, name, types, concurrency, running, connected, jobs. */
#define WCOL_COUNT	7

static char *
ctl_join(const json_t *a)
{
	const json_t	*v;
	size_t		 i;
	char		*s = ctl_xstrdup(""), *t, *item;

	json_array_foreach(a, i, v) {
		item = ctl_value_text(v);
		t = ctl_xprintf("%s%s%s", s, i > 0 ? "," : "", item);
		free(item);
		free(s);
		s = t;
	}
	if (*s == '\0') {
		free(s);
		s = ctl_xstrdup("-");
	}
	return s;
}

static char *
ctl_worker_cell(const json_t *w, int col)
{
	char	buf[64];

	switch (col) {
	case 0:
		return ctl_value_text(json_object_get(w, "id"));
	case 1:
		return ctl_value_text(json_object_get(w, "name"));
	case 2:
		return ctl_join(json_object_get(w, "types"));
	case 3:
		return ctl_value_text(json_object_get(w, "concurrency"));
	case 4:
		return json_is_true(json_object_get(w, "bye")) ?
		    ctl_xprintf("%lld (bye)", (long long)json_integer_value(
		    json_object_get(w, "running"))) :
		    ctl_value_text(json_object_get(w, "running"));
	case 5:
		return ctl_xstrdup(ctl_format_time(buf, sizeof(buf),
		    json_number_value(json_object_get(w, "connected_at")), 0));
	default:
		return ctl_join(json_object_get(w, "jobs"));
	}
}

void
ctl_print_workers(FILE *f, const json_t *stats)
{
	static const char *const header[WCOL_COUNT] = {
		"ID", "NAME", "TYPES", "CONCURRENCY", "RUNNING", "CONNECTED", "JOBS"
	};
	const json_t	*workers = json_object_get(stats, "workers");
	const json_t	*types = json_object_get(stats, "worker_types"), *t;
	const char	*name;
	size_t		 n = json_array_size(workers), i, width[WCOL_COUNT];
	char		**cells;
	int		 col;

	if (n == 0)
		fprintf(f, "no workers connected\n");
	else {
		if ((cells = calloc((n + 1) * WCOL_COUNT, sizeof(*cells))) == NULL)
			abort();
		for (col = 0; col < WCOL_COUNT; col++) {
			cells[col] = ctl_xstrdup(header[col]);
			width[col] = strlen(header[col]);
		}
		for (i = 0; i < n; i++) {
			for (col = 0; col < WCOL_COUNT; col++) {
				cells[(i + 1) * WCOL_COUNT + col] = ctl_worker_cell(
				    json_array_get(workers, i), col);
				if (strlen(cells[(i + 1) * WCOL_COUNT + col]) > width[col])
					width[col] = strlen(cells[(i + 1) *
					    WCOL_COUNT + col]);
			}
		}
		for (i = 0; i <= n; i++) {
			for (col = 0; col < WCOL_COUNT; col++) {
				if (col < WCOL_COUNT - 1)
					fprintf(f, "%-*s  ", (int)width[col],
					    cells[i * WCOL_COUNT + col]);
				else
					fprintf(f, "%s\n", cells[i * WCOL_COUNT + col]);
				free(cells[i * WCOL_COUNT + col]);
			}
		}
		free(cells);
	}
	if (json_object_size(types) == 0)
		return;
	fprintf(f, "\nwaiting for a worker:\n");
	json_object_foreach((json_t *)types, name, t) {
		fprintf(f, "  %s  %lld\n", name, (long long)json_integer_value(
		    json_object_get(t, "waiting")));
	}
}
