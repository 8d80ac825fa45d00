/* Allocation that aborts on OOM (control structures only: per-connection
 * paths allocate with plain malloc and fail gracefully), clocks, and the
 * error record shared by futures, jobs and requests. */
#ifndef LOOM_UTIL_H
#define LOOM_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
int	 xasprintf(char **, const char *, ...) __attribute__((format(printf, 2, 3)));
/* NULL-ended vectors of strings. */
char	**strv_dup(char *const *);
void	 strv_free(char **);

uint64_t now_ns(void);			/* CLOCK_MONOTONIC */

/* A number a test may set in the environment (LOOMD_TEST_...), else dflt:
 * read once, into *cache, which any thread may be the first to fill. */
uint64_t test_tunable(atomic_uint_fast64_t *cache, const char *name,
	    uint64_t dflt);
double	 now_epoch(void);		/* CLOCK_REALTIME, seconds */
int64_t	 now_epoch_ns(void);		/* CLOCK_REALTIME, nanoseconds */

/* Seconds as a timer interval: NaN and negatives are 0, the longest is a
 * year (no timer here needs more, and time_t cannot take everything). */
#define SECONDS_MAX	(366.0 * 86400)
struct timeval;
void	 seconds_to_timeval(double, struct timeval *);

/* Threads other than main take no asynchronous signals; synchronous ones
 * (SEGV, BUS, FPE, ILL) stay deliverable so crashes still report. */
int	 thread_create_quiet(pthread_t *, void *(*)(void *), void *);

/*
 * Names of queues, limits, locks, events and commands: 1 to LOOM_NAME_MAX of
 * A-Z a-z 0-9 _ - and, where `dots` is true, '.' (configured names have no
 * dots, so that -o keys split cleanly at them).  `len` is the string's
 * length, so that an embedded NUL is not a short name.
 */
#define LOOM_NAME_MAX	64
bool	 name_valid(const char *, size_t len, bool dots);

/* A JSON string even from bytes that are not UTF-8: each invalid byte
 * becomes U+FFFD, valid sequences stay. */
json_t	*json_string_lossy(const char *);

/*
 * An error as it travels from where it happened to the JSON reply: a protocol
 * code ("bad_request", "timeout", ...), a message for people, the request
 * field at fault if any, and optional structured detail.
 */
struct error {
	const char	*code;		/* static string; NULL means no error */
	char		*message;
	char		*path;
	json_t		*detail;
};

/* An error code read back (replay) as a static string: the same pointer
 * for the same code, kept until exit. */
const char *error_code_static(const char *code);
void	error_set(struct error *, const char *code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	error_set_path(struct error *, const char *path);
void	error_set_detail(struct error *, json_t *detail);	/* steals */
void	error_move(struct error *dst, struct error *src);
/* A copy sharing nothing with src (its detail deep-copied): src may be
 * another thread's, as an outcome's or an executor result's is. */
void	error_copy(struct error *dst, const struct error *src);
void	error_clear(struct error *);
json_t	*error_to_json(const struct error *);

#endif
