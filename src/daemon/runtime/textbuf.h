/*
 * JSON text written directly into a growing buffer, for the answers every
 * job produces (its view): no jansson objects to build and free, integers
 * and timestamps formatted with integer arithmetic.  What it writes parses
 * back to what jansson would have written: strings are escaped the same way
 * (bytes that are not UTF-8 become U+FFFD, as json_string_lossy() does), and
 * other values go through jansson.
 */
#ifndef LOOM_TEXTBUF_H
#define LOOM_TEXTBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

struct textbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

void	 textbuf_grow(struct textbuf *, size_t);

static inline void
textbuf_add(struct textbuf *tb, const char *s, size_t n)
{
	/* Room for n, and for the NUL of textbuf_steal(). */
	if (tb->cap - tb->len <= n)
		textbuf_grow(tb, n);
	memcpy(tb->p + tb->len, s, n);
	tb->len += n;
}
#define	 textbuf_lit(tb, s)	textbuf_add((tb), (s), sizeof(s) - 1)
void	 textbuf_u64(struct textbuf *, uint64_t);
void	 textbuf_i64(struct textbuf *, int64_t);
/* Nanoseconds since the epoch as seconds with nine decimals:
 * 1763700000.123456789 */
void	 textbuf_time_ns(struct textbuf *, int64_t);
/* A JSON string (quoted and escaped) from a C string. */
void	 textbuf_string(struct textbuf *, const char *);
void	 textbuf_stringn(struct textbuf *, const char *, size_t);
/* Any JSON value, compact (scalars without a trip through jansson). */
void	 textbuf_json(struct textbuf *, const json_t *);
/* The text, NUL-terminated, now the caller's (free()); the buffer is empty. */
char	*textbuf_steal(struct textbuf *, size_t *len);
void	 textbuf_free(struct textbuf *);

#endif
