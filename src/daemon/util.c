#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

void *
xmalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		fatal("xmalloc %zu", size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void	*p;

	if ((p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		fatal("xcalloc %zu*%zu", n, size);
	return p;
}

void *
xreallocarray(void *ptr, size_t n, size_t size)
{
	void	*p;

	if ((p = reallocarray(ptr, n == 0 ? 1 : n, size == 0 ? 1 : size)) == NULL)
		fatal("xreallocarray %zu*%zu", n, size);
	return p;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		fatal("xstrdup");
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("xasprintf");
	return n;
}

uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double
now_epoch(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
error_set(struct error *e, const char *code, const char *fmt, ...)
{
	va_list	ap;

	error_clear(e);
	e->code = code;
	va_start(ap, fmt);
	if (vasprintf(&e->message, fmt, ap) == -1)
		fatal("error_set");
	va_end(ap);
}

void
error_set_path(struct error *e, const char *path)
{
	free(e->path);
	e->path = path != NULL ? xstrdup(path) : NULL;
}

void
error_set_detail(struct error *e, json_t *detail)
{
	json_decref(e->detail);
	e->detail = detail;
}

void
error_move(struct error *dst, struct error *src)
{
	error_clear(dst);
	*dst = *src;
	memset(src, 0, sizeof(*src));
}

void
error_copy(struct error *dst, const struct error *src)
{
	error_clear(dst);
	dst->code = src->code;
	dst->message = src->message != NULL ? xstrdup(src->message) : NULL;
	dst->path = src->path != NULL ? xstrdup(src->path) : NULL;
	dst->detail = json_incref(src->detail);
}

void
error_clear(struct error *e)
{
	free(e->message);
	free(e->path);
	json_decref(e->detail);
	memset(e, 0, sizeof(*e));
}

json_t *
error_to_json(const struct error *e)
{
	json_t	*o = json_object();

	json_object_set_new(o, "code", json_string(e->code != NULL ? e->code : "internal"));
	json_object_set_new(o, "message", json_string(e->message != NULL ? e->message : ""));
	if (e->path != NULL)
		json_object_set_new(o, "path", json_string(e->path));
	/* A copy: the error may be read from several loops at once. */
	if (e->detail != NULL)
		json_object_set_new(o, "detail", json_deep_copy(e->detail));
	return o;
}
