#include "autoconf.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/jsonload.h"
#include "runtime/util.h"

#define FAST_DEPTH_MAX	32	/* deeper: jansson (and its own limit) */
#define FAST_NUMBER_MAX	64	/* a longer number: jansson */

struct fast {
	const char		*p;
	const char		*end;
	const char		*start;
	int			 depth;
	struct json_spans	*spans;		/* or NULL */
};

static json_t	*fast_value(struct fast *, bool note);

/* A value read from start to f->p, if it is an object worth a span. */
static void
fast_note(struct fast *f, const json_t *v, const char *start)
{
	struct json_spans	*sp = f->spans;

	if (sp == NULL || !json_is_object(v) || sp->n == JSON_SPANS_MAX)
		return;
	if (sp->n == sp->cap) {
		sp->cap *= 2;
		if (sp->v == sp->inline_v) {
			sp->v = xreallocarray(NULL, sp->cap, sizeof(*sp->v));
			memcpy(sp->v, sp->inline_v, sizeof(sp->inline_v));
		} else
			sp->v = xreallocarray(sp->v, sp->cap, sizeof(*sp->v));
	}
	sp->v[sp->n].value = v;
	sp->v[sp->n].off = (size_t)(start - f->start);
	sp->v[sp->n].len = (size_t)(f->p - start);
	sp->n++;
}

static void
fast_ws(struct fast *f)
{
	while (f->p < f->end && (*f->p == ' ' || *f->p == '\t' || *f->p == '\n' ||
	    *f->p == '\r'))
		f->p++;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* At '"': a string of printable ASCII without escapes, or false. */
static bool
fast_string(struct fast *f, const char **s, size_t *len)
{
	const char	*p = ++f->p;

	while (p < f->end) {
		unsigned char	c = (unsigned char)*p;

		if (c == '"') {
			*s = f->p;
			*len = (size_t)(p - f->p);
			f->p = p + 1;
			return true;
		}
		if (c == '\\' || c < 0x20 || c >= 0x80)
			return false;
		p++;
	}
	return false;
}

/* The JSON number grammar; an integer of up to 18 digits, or a real that
 * strtod() reads whole and finite, as jansson would have them. */
static json_t *
fast_number(struct fast *f)
{
	const char	*s = f->p, *digits;
	char		 text[FAST_NUMBER_MAX], *end;
	bool		 neg = false;
	int64_t		 v = 0;
	double		 d;
	size_t		 len;

	if (f->p < f->end && *f->p == '-') {
		neg = true;
		f->p++;
	}
	digits = f->p;
	if (f->p < f->end && *f->p == '0')
		f->p++;
	else if (f->p < f->end && *f->p >= '1' && *f->p <= '9') {
		while (f->p < f->end && is_digit(*f->p))
			f->p++;
	} else
		return NULL;
	if (f->p == f->end || (*f->p != '.' && *f->p != 'e' && *f->p != 'E')) {
		if (f->p - digits > 18)
			return NULL;	/* jansson says whether it fits */
		for (; digits < f->p; digits++)
			v = v * 10 + (*digits - '0');
		return json_integer(neg ? -v : v);
	}
	if (*f->p == '.') {
		f->p++;
		if (f->p == f->end || !is_digit(*f->p))
			return NULL;
		while (f->p < f->end && is_digit(*f->p))
			f->p++;
	}
	if (f->p < f->end && (*f->p == 'e' || *f->p == 'E')) {
		f->p++;
		if (f->p < f->end && (*f->p == '+' || *f->p == '-'))
			f->p++;
		if (f->p == f->end || !is_digit(*f->p))
			return NULL;
		while (f->p < f->end && is_digit(*f->p))
			f->p++;
	}
	if ((len = (size_t)(f->p - s)) >= sizeof(text))
		return NULL;
	memcpy(text, s, len);
	text[len] = '\0';
	errno = 0;
	d = strtod(text, &end);
	/* Another locale's decimal point, or an overflow: jansson's call. */
	if (end != text + len || (errno == ERANGE && (d > 1 || d < -1)))
		return NULL;
	return json_real(d);
}

static bool
fast_literal(struct fast *f, const char *word, size_t len)
{
	if ((size_t)(f->end - f->p) < len || memcmp(f->p, word, len) != 0)
		return false;
	f->p += len;
	return true;
}

static json_t *
fast_object(struct fast *f)
{
	json_t		*o = json_object(), *v;
	const char	*key;
	size_t		 klen;

	f->p++;
	fast_ws(f);
	if (f->p < f->end && *f->p == '}') {
		f->p++;
		return o;
	}
	for (;;) {
		if (f->p == f->end || *f->p != '"' || !fast_string(f, &key, &klen))
			goto fail;
		fast_ws(f);
		if (f->p == f->end || *f->p != ':')
			goto fail;
		f->p++;
		fast_ws(f);
		/* The top-level object's members (its depth is 1). */
		if ((v = fast_value(f, f->depth == 1)) == NULL)
			goto fail;
		/* A duplicate: jansson decides, by the caller's flags. */
		if (json_object_getn(o, key, klen) != NULL ||
		    json_object_setn_new_nocheck(o, key, klen, v) == -1) {
			json_decref(v);
			goto fail;
		}
		fast_ws(f);
		if (f->p == f->end)
			goto fail;
		if (*f->p == '}') {
			f->p++;
			return o;
		}
		if (*f->p != ',')
			goto fail;
		f->p++;
		fast_ws(f);
	}
fail:
	json_decref(o);
	return NULL;
}

/* note: the elements are noted (an array member of the top level). */
static json_t *
fast_array(struct fast *f, bool note)
{
	json_t	*a = json_array(), *v;

	f->p++;
	fast_ws(f);
	if (f->p < f->end && *f->p == ']') {
		f->p++;
		return a;
	}
	for (;;) {
		if ((v = fast_value(f, note)) == NULL ||
		    json_array_append_new(a, v) == -1)
			goto fail;
		fast_ws(f);
		if (f->p == f->end)
			goto fail;
		if (*f->p == ']') {
			f->p++;
			return a;
		}
		if (*f->p != ',')
			goto fail;
		f->p++;
		fast_ws(f);
	}
fail:
	json_decref(a);
	return NULL;
}

/* note: a value whose span is noted if it is an object (fast_note). */
static json_t *
fast_value(struct fast *f, bool note)
{
	const char	*s, *start = f->p;
	size_t		 len;
	json_t		*v = NULL;

	if (f->p == f->end)
		return NULL;
	switch (*f->p) {
	case '{':
	case '[':
		if (++f->depth > FAST_DEPTH_MAX)
			return NULL;
		v = *f->p == '{' ? fast_object(f) :
		    fast_array(f, note && f->depth == 2);
		f->depth--;
		if (v != NULL && note)
			fast_note(f, v, start);
		return v;
	case '"':
		return fast_string(f, &s, &len) ? json_stringn_nocheck(s, len) : NULL;
	case 't':
		return fast_literal(f, "true", 4) ? json_true() : NULL;
	case 'f':
		return fast_literal(f, "false", 5) ? json_false() : NULL;
	case 'n':
		return fast_literal(f, "null", 4) ? json_null() : NULL;
	default:
		return fast_number(f);
	}
}

static json_t *
json_load_fast(const char *buf, size_t len, size_t flags, json_error_t *error,
    struct json_spans *spans)
{
	struct fast	 f = { .p = buf, .end = buf + len, .start = buf,
			    .spans = spans };
	json_t		*v;

	/* Flags that change what is read are jansson's alone. */
	if ((flags & ~(size_t)JSON_REJECT_DUPLICATES) != 0)
		return json_loadb(buf, len, flags, error);
	fast_ws(&f);
	/* Only an object or an array is JSON text without JSON_DECODE_ANY. */
	if (f.p < f.end && (*f.p == '{' || *f.p == '[') &&
	    (v = fast_value(&f, false)) != NULL) {
		fast_ws(&f);
		if (f.p == f.end)
			return v;
		json_decref(v);
	}
	if (spans != NULL)
		spans->n = 0;	/* jansson's values: none of these */
	return json_loadb(buf, len, flags, error);
}

json_t *
json_load_line(const char *buf, size_t len, size_t flags, json_error_t *error)
{
	return json_load_fast(buf, len, flags, error, NULL);
}

json_t *
json_load_line_spans(const char *buf, size_t len, size_t flags,
    json_error_t *error, struct json_spans *spans)
{
	spans->v = spans->inline_v;
	spans->n = spans->next = 0;
	spans->cap = JSON_SPANS_INLINE;
	return json_load_fast(buf, len, flags, error, spans);
}

const struct json_span *
json_span_of(struct json_spans *spans, const json_t *value)
{
	size_t	i, k;

	for (i = 0; i < spans->n; i++) {
		k = (spans->next + i) % spans->n;
		if (spans->v[k].value == value) {
			spans->next = k + 1;
			return &spans->v[k];
		}
	}
	return NULL;
}

void
json_spans_free(struct json_spans *spans)
{
	if (spans->v != spans->inline_v)
		free(spans->v);
	spans->v = spans->inline_v;
	spans->n = spans->cap = spans->next = 0;
}

/*
 * About what a parsed value holds: its strings' and keys' bytes, and
 * JSON_VALUE_BYTES for each value and each key (jansson's structure and
 * the allocator's header).  An estimate for budgets, not an exact count.
 */
#define JSON_VALUE_BYTES	32

size_t
json_held_size(const json_t *v)
{
	const char	*key;
	json_t		*item;
	size_t		 n = JSON_VALUE_BYTES, i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		n += json_string_length(v);
		break;
	case JSON_ARRAY:
		json_array_foreach((json_t *)v, i, item)
			n += json_held_size(item);
		break;
	case JSON_OBJECT:
		json_object_foreach((json_t *)v, key, item)
			n += JSON_VALUE_BYTES + strlen(key) + json_held_size(item);
		break;
	default:
		break;
	}
	return n;
}
