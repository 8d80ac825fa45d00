/*
 * Reading the JSON of a request line, faster than json_loadb() and with
 * exactly its results.  The plain shape of most requests (objects, arrays,
 * ASCII strings without escapes, integers, ordinary reals, literals) is
 * read directly into jansson values; at anything else (an escape, a byte
 * over 0x7f, a duplicate key, deep nesting, an integer too long, any error)
 * it gives up and json_loadb() reads the whole line, so every value, error
 * message and position is jansson's own.  And about how much memory a
 * parsed value holds, for the budgets that count it.
 */
#ifndef LOOM_JSONLOAD_H
#define LOOM_JSONLOAD_H

#include <stddef.h>

#include <jansson.h>

/* As json_loadb(buf, len, flags, error). */
json_t	*json_load_line(const char *buf, size_t len, size_t flags, json_error_t *);

/*
 * Where some values were in the line, so that their text can be kept as it
 * came instead of written again: the objects that are members of the
 * top-level object, and the objects in its array members, as read.  Only
 * when the fast path read the line (else none), and at most
 * JSON_SPANS_MAX of them.
 */
#define JSON_SPANS_MAX		16384
#define JSON_SPANS_INLINE	4
struct json_span {
	const json_t	*value;
	size_t		 off;		/* in the line */
	size_t		 len;
};
struct json_spans {
	struct json_span	*v;
	size_t			 n;
	size_t			 cap;
	size_t			 next;		/* where json_span_of() looks first */
	struct json_span	 inline_v[JSON_SPANS_INLINE];
};
/* As json_load_line(), noting the spans (spans is set up here). */
json_t	*json_load_line_spans(const char *buf, size_t len, size_t flags,
	    json_error_t *, struct json_spans *);
/* The span of value, or NULL.  Looked for from where the last one found
 * was, so that a whole array's elements take one pass. */
const struct json_span *json_span_of(struct json_spans *, const json_t *);
void	 json_spans_free(struct json_spans *);
/* About the bytes a parsed value holds (for budgets): its strings and keys,
 * and a little for each value. */
size_t	 json_held_size(const json_t *);

#endif
