#include "autoconf.h"

#include <sys/time.h>

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/bytes.h"
#include "runtime/log.h"
#include "runtime/util.h"

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

char **
strv_dup(char *const *v)
{
	char	**out;
	size_t	  n, i;

	for (n = 0; v[n] != NULL; n++)
		;
	out = xcalloc(n + 1, sizeof(*out));
	for (i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

void
strv_free(char **v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
test_tunable(atomic_uint_fast64_t *cache, const char *name, uint64_t dflt)
{
	const char	*env;
	uint64_t	 v;

	if ((v = atomic_load_explicit(cache, memory_order_relaxed)) == 0) {
		env = getenv(name);
		v = env != NULL && strtoull(env, NULL, 10) > 0 ?
		    strtoull(env, NULL, 10) : dflt;
		atomic_store_explicit(cache, v, memory_order_relaxed);
	}
	return v;
}

double
now_epoch(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int64_t
now_epoch_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
seconds_to_timeval(double s, struct timeval *tv)
{
	if (!(s > 0))
		s = 0;
	else if (s > SECONDS_MAX)
		s = SECONDS_MAX;
	tv->tv_sec = (time_t)s;
	tv->tv_usec = (suseconds_t)((s - (double)tv->tv_sec) * 1e6);
	if (tv->tv_usec > 999999)
		tv->tv_usec = 999999;
}

int
thread_create_quiet(pthread_t *t, void *(*fn)(void *), void *arg)
{
	static const int async[] = {
		SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGPIPE, SIGUSR1,
		SIGUSR2, SIGALRM, SIGWINCH,
	};
	sigset_t	set, old;
	size_t		i;
	int		error;

	sigemptyset(&set);
	for (i = 0; i < nitems(async); i++)
		sigaddset(&set, async[i]);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	error = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return error;
}

json_t *
json_string_lossy(const char *s)
{
	json_t	*j;

	/* Valid UTF-8 is the common case: only the rest needs repairing. */
	if ((j = json_string(s)) != NULL)
		return j;
	return bytes_text(s, strlen(s));
}

void
error_set(struct error *e, const char *code, const char *fmt, ...)
{
	va_list	 ap;
	char	*message;

	/* Format first: the arguments may be the old message. */
	va_start(ap, fmt);
	if (vasprintf(&message, fmt, ap) == -1)
		fatal("error_set");
	va_end(ap);
	error_clear(e);
	e->code = code;
	e->message = message;
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
	dst->detail = src->detail != NULL ? json_deep_copy(src->detail) : NULL;
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
	json_object_set_new(o, "message", json_string_lossy(e->message != NULL ?
	    e->message : ""));
	if (e->path != NULL)
		json_object_set_new(o, "path", json_string_lossy(e->path));
	/* A copy: the error may be read from several loops at once. */
	if (e->detail != NULL)
		json_object_set_new(o, "detail", json_deep_copy(e->detail));
	return o;
}

bool
name_valid(const char *s, size_t len, bool dots)
{
	size_t	i;

	if (len == 0 || len > LOOM_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' ||
		    (dots && s[i] == '.')))
			return false;
	}
	return true;
}

/* Few codes exist: a list is enough. */
struct error_code {
	struct error_code	*next;
	char			 code[];
};
static struct error_code	*error_codes;
static pthread_mutex_t		 error_codes_lock = PTHREAD_MUTEX_INITIALIZER;

const char *
error_code_static(const char *code)
{
	struct error_code	*ec;
	size_t			 len = strlen(code);

	pthread_mutex_lock(&error_codes_lock);
	for (ec = error_codes; ec != NULL; ec = ec->next) {
		if (strcmp(ec->code, code) == 0)
			break;
	}
	if (ec == NULL) {
		ec = xmalloc(sizeof(*ec) + len + 1);
		memcpy(ec->code, code, len + 1);
		ec->next = error_codes;
		error_codes = ec;
	}
	pthread_mutex_unlock(&error_codes_lock);
	return ec->code;
}
