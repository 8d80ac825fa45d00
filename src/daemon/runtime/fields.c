#include "autoconf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/fields.h"
#include "runtime/util.h"

const char *
field_path(char *buf, size_t len, const char *base, const char *key)
{
	size_t	blen = base != NULL ? strlen(base) : 0;
	size_t	klen = key != NULL ? strlen(key) : 0;

	/* Every parse builds its args path: no snprintf when it fits. */
	if (blen + klen + 2 > len) {
		if (blen == 0)
			snprintf(buf, len, "%s", key);
		else if (klen == 0)
			snprintf(buf, len, "%s", base);
		else
			snprintf(buf, len, "%s.%s", base, key);
		return buf;
	}
	if (blen > 0)
		memcpy(buf, base, blen);
	if (blen > 0 && klen > 0)
		buf[blen++] = '.';
	if (klen > 0)
		memcpy(buf + blen, key, klen);
	buf[blen + klen] = '\0';
	return buf;
}

int
fields_fail(struct error *e, const char *base, const char *key, const char *fmt, ...)
{
	char	path[512];
	char	*msg;
	va_list	ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	field_path(path, sizeof(path), base, key);
	error_set(e, "bad_request", "%s: %s", path, msg != NULL ? msg : "invalid");
	error_set_path(e, path);
	free(msg);
	return -1;
}

int
fields_object(const json_t *obj, const char *base, const char *const known[],
    struct error *e)
{
	const char	*key;
	json_t		*value;
	size_t		 i;

	if (!json_is_object(obj))
		return fields_fail(e, base, NULL, "must be an object");
	json_object_foreach((json_t *)obj, key, value) {
		for (i = 0; known[i] != NULL; i++) {
			if (key[0] == known[i][0] && strcmp(key, known[i]) == 0)
				break;
		}
		if (known[i] == NULL)
			return fields_fail(e, base, key, "unknown field");
	}
	return 0;
}

/* The value, or NULL if absent; fails if absent and required. */
static int
field_lookup(const json_t *obj, const char *base, const char *key,
    enum field_need need, json_t **value, struct error *e)
{
	*value = json_object_get(obj, key);
	if (*value != NULL && json_is_null(*value))
		*value = NULL;
	if (*value == NULL && need == FIELD_REQUIRED)
		return fields_fail(e, base, key, "is required");
	return 0;
}

/* 31622400 rather than 3.16224e+07: bounds read as people write them. */
static const char *
field_num_text(double d, char *buf, size_t len)
{
	if (d == floor(d) && fabs(d) < 1e15)
		snprintf(buf, len, "%.0f", d);
	else
		snprintf(buf, len, "%g", d);
	return buf;
}

static int
field_number_in(const json_t *obj, const char *base, const char *key,
    enum field_need need, double min, bool min_open, double max, double *out,
    struct error *e)
{
	json_t	*v;
	double	 d;
	char	 lo[32], hi[32];

	if (field_lookup(obj, base, key, need, &v, e) == -1)
		return -1;
	if (v == NULL)
		return 0;
	if (!json_is_number(v))
		return fields_fail(e, base, key, "must be a number");
	d = json_number_value(v);
	if (!isfinite(d) || (min_open ? d <= min : d < min) || d > max) {
		return fields_fail(e, base, key, "must be %s %s and at most %s",
		    min_open ? "greater than" : "at least",
		    field_num_text(min, lo, sizeof(lo)), field_num_text(max, hi, sizeof(hi)));
	}
	*out = d;
	return 0;
}

int
field_number(const json_t *obj, const char *base, const char *key,
    enum field_need need, double min, double max, double *out, struct error *e)
{
	return field_number_in(obj, base, key, need, min, false, max, out, e);
}

int
field_number_above(const json_t *obj, const char *base, const char *key,
    enum field_need need, double above, double max, double *out, struct error *e)
{
	return field_number_in(obj, base, key, need, above, true, max, out, e);
}

int
field_integer(const json_t *obj, const char *base, const char *key,
    enum field_need need, json_int_t min, json_int_t max, json_int_t *out,
    struct error *e)
{
	json_t		*v;
	json_int_t	 i;
	double		 d;

	if (field_lookup(obj, base, key, need, &v, e) == -1)
		return -1;
	if (v == NULL)
		return 0;
	if (json_is_integer(v))
		i = json_integer_value(v);
	else {
		/* 3.0 is an integer too. */
		d = json_is_real(v) ? json_real_value(v) : 0.5;
		if (d != floor(d) || fabs(d) >= 9e15)
			return fields_fail(e, base, key, "must be an integer");
		i = (json_int_t)d;
	}
	if (i < min || i > max) {
		return fields_fail(e, base, key, "must be between %lld and %lld",
		    (long long)min, (long long)max);
	}
	*out = i;
	return 0;
}

int
field_bool(const json_t *obj, const char *base, const char *key,
    enum field_need need, bool *out, struct error *e)
{
	json_t	*v;

	if (field_lookup(obj, base, key, need, &v, e) == -1)
		return -1;
	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return fields_fail(e, base, key, "must be true or false");
	*out = json_is_true(v);
	return 0;
}

int
field_string(const json_t *obj, const char *base, const char *key,
    enum field_need need, size_t max_len, const char **out, struct error *e)
{
	json_t	*v;

	if (field_lookup(obj, base, key, need, &v, e) == -1)
		return -1;
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return fields_fail(e, base, key, "must be a string");
	if (max_len != 0 && json_string_length(v) > max_len)
		return fields_fail(e, base, key, "must be at most %zu bytes", max_len);
	*out = json_string_value(v);
	return 0;
}

int
field_name(const json_t *obj, const char *base, const char *key,
    enum field_need need, const char **out, struct error *e)
{
	const char	*s = NULL;

	if (field_string(obj, base, key, need, LOOM_NAME_MAX, &s, e) == -1)
		return -1;
	if (s == NULL)
		return 0;
	if (!name_valid(s, json_string_length(json_object_get(obj, key)), true))
		return fields_fail(e, base, key, "must be 1 to %d of A-Z a-z 0-9 _ - .",
		    LOOM_NAME_MAX);
	*out = s;
	return 0;
}

int
field_choice(const json_t *obj, const char *base, const char *key,
    enum field_need need, const char *const choices[], int *out, struct error *e)
{
	const char	*s = NULL;
	char		 list[256] = "";
	size_t		 i;

	if (field_string(obj, base, key, need, 0, &s, e) == -1)
		return -1;
	if (s == NULL)
		return 0;
	for (i = 0; choices[i] != NULL; i++) {
		if (strcmp(s, choices[i]) == 0) {
			*out = (int)i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
		    i ? ", " : "", choices[i]);
	}
	return fields_fail(e, base, key, "must be one of %s", list);
}
