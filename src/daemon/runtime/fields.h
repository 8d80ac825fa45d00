/*
 * Checking JSON fields of requests, job specs and job arguments.  Each
 * getter takes the object, the path of that object in the request (""
 * at the top level, "job.args", "jobs[2].args", ...) and the key, and on a bad
 * value fails with bad_request and error->path naming the field, e.g.
 * "jobs[2].args.seconds".  An absent (or null) optional field leaves *out at
 * the given default.  Unknown fields are rejected, not ignored: a misspelt
 * "timout" must not silently mean "no timeout".
 */
#ifndef LOOM_FIELDS_H
#define LOOM_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "runtime/util.h"

enum field_need {
	FIELD_OPTIONAL,
	FIELD_REQUIRED,
};

/* "jobs[2].args" + "seconds" → "jobs[2].args.seconds" (into buf). */
const char *field_path(char *buf, size_t len, const char *base, const char *key);
int	fields_fail(struct error *, const char *base, const char *key,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The object must be a JSON object whose keys are all in `known` (NULL-ended). */
int	fields_object(const json_t *, const char *base, const char *const known[],
	    struct error *);

int	field_number(const json_t *, const char *base, const char *key,
	    enum field_need, double min, double max, double *out, struct error *);
/* Like field_number, but the lower bound is exclusive (timeout > 0). */
int	field_number_above(const json_t *, const char *base, const char *key,
	    enum field_need, double above, double max, double *out, struct error *);
int	field_integer(const json_t *, const char *base, const char *key,
	    enum field_need, json_int_t min, json_int_t max, json_int_t *out,
	    struct error *);
int	field_bool(const json_t *, const char *base, const char *key,
	    enum field_need, bool *out, struct error *);
/* *out borrows from the JSON; max_len in bytes (0: no limit). */
int	field_string(const json_t *, const char *base, const char *key,
	    enum field_need, size_t max_len, const char **out, struct error *);
/* A name field (name_valid(), dots allowed); *out borrows from the JSON. */
int	field_name(const json_t *, const char *base, const char *key,
	    enum field_need, const char **out, struct error *);
/* One of the NULL-ended choices; *out is its index. */
int	field_choice(const json_t *, const char *base, const char *key,
	    enum field_need, const char *const choices[], int *out, struct error *);

#endif
