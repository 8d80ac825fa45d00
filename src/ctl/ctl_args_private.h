/*
 * What ctl_args.c shares with ctl_spec.c: its usage errors, job ids, and
 * the parts of a submit's spec built in ctl_spec.c.
 */
#ifndef LOOM_CTL_ARGS_PRIVATE_H
#define LOOM_CTL_ARGS_PRIVATE_H

#include <stddef.h>

#include <jansson.h>

/* The message into err; returns CTL_EXIT_USAGE. */
int	ctl_fail(char *err, size_t errlen, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* A job id in s, or a usage error naming what it was for. */
int	ctl_job_id(const char *s, const char *what, long long *out, char *err,
	    size_t errlen);

/* The args object: --args (JSON, @FILE or - for stdin), then the
 * KEY=VALUE words on top. */
int	ctl_spec_args(const char *args_opt, char *const *words, int nwords,
	    json_t **out, char *err, size_t errlen);
/* "after" and "limits" from every value of --after and --limits. */
int	ctl_spec_after(json_t *job, json_t *values, char *err, size_t errlen);
int	ctl_spec_limits(json_t *job, json_t *values, char *err, size_t errlen);

#endif
