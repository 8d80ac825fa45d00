#include "autoconf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/bytes.h"
#include "runtime/textbuf.h"
#include "runtime/util.h"

void
textbuf_grow(struct textbuf *tb, size_t n)
{
	size_t	cap = tb->cap ? tb->cap : 256;

	while (cap - tb->len <= n)
		cap *= 2;
	tb->p = xreallocarray(tb->p, cap, 1);
	tb->cap = cap;
}

static void
textbuf_reserve(struct textbuf *tb, size_t n)
{
	if (tb->cap - tb->len <= n)
		textbuf_grow(tb, n);
}

static const char	digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* The decimal digits of v, written backwards ending at end; the first. */
static char *
digits(uint64_t v, char *end)
{
	while (v >= 100) {
		end -= 2;
		memcpy(end, digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		end -= 2;
		memcpy(end, digit_pairs + 2 * v, 2);
	} else
		*--end = (char)('0' + v);
	return end;
}

void
textbuf_u64(struct textbuf *tb, uint64_t v)
{
	char	buf[24], *p = digits(v, buf + sizeof(buf));

	textbuf_add(tb, p, (size_t)(buf + sizeof(buf) - p));
}

void
textbuf_i64(struct textbuf *tb, int64_t v)
{
	char	buf[24], *p;

	p = digits(v < 0 ? -(uint64_t)v : (uint64_t)v, buf + sizeof(buf));
	if (v < 0)
		*--p = '-';
	textbuf_add(tb, p, (size_t)(buf + sizeof(buf) - p));
}

void
textbuf_time_ns(struct textbuf *tb, int64_t ns)
{
	char		 buf[32], *end = buf + sizeof(buf), *p = end;
	uint64_t	 u = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;
	uint32_t	 frac = (uint32_t)(u % 1000000000u);
	int		 i;

	/* Nine decimals: four pairs and one digit. */
	for (i = 0; i < 4; i++) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * (frac % 100), 2);
		frac /= 100;
	}
	*--p = (char)('0' + frac);
	*--p = '.';
	p = digits(u / 1000000000u, p);
	if (ns < 0)
		*--p = '-';
	textbuf_add(tb, p, (size_t)(end - p));
}

/* Is s[0..n) UTF-8 as jansson accepts it (no overlongs, surrogates, > U+10FFFF)? */
static bool
utf8_valid(const unsigned char *s, size_t n)
{
	size_t		i = 0, k, len;
	uint32_t	cp;

	while (i < n) {
		unsigned char	c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else
			return false;
		if (n - i < len)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

void
textbuf_stringn(struct textbuf *tb, const char *str, size_t n)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*s = (const unsigned char *)str;
	bool			 lossy = !utf8_valid(s, n);
	size_t			 i, run = 0;
	char			 esc[6];

	/* Room for it all unescaped; each escape makes room for the rest. */
	textbuf_reserve(tb, n + 2);
	tb->p[tb->len++] = '"';
	for (i = 0; i < n; i++) {
		unsigned char	c = s[i];
		size_t		k = 0;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80)
			continue;
		/* Not UTF-8 as a whole: keep the valid sequences, replace the rest
		 * (as json_string_lossy does). */
		if (c >= 0x80 && (!lossy || (k = bytes_utf8_seq(s + i, n - i)) > 0)) {
			if (lossy)
				i += k - 1;
			continue;
		}
		textbuf_reserve(tb, n - run + 8);
		memcpy(tb->p + tb->len, s + run, i - run);
		tb->len += i - run;
		run = i + 1;
		if (c >= 0x80) {		/* lossy: U+FFFD */
			memcpy(tb->p + tb->len, "\xef\xbf\xbd", 3);
			tb->len += 3;
			continue;
		}
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			memcpy(tb->p + tb->len, esc, 6);
			tb->len += 6;
			continue;
		}
		memcpy(tb->p + tb->len, esc, 2);
		tb->len += 2;
	}
	memcpy(tb->p + tb->len, s + run, n - run);
	tb->len += n - run;
	tb->p[tb->len++] = '"';
}

void
textbuf_string(struct textbuf *tb, const char *s)
{
	textbuf_stringn(tb, s, strlen(s));
}

static int
textbuf_dump_cb(const char *buf, size_t len, void *arg)
{
	textbuf_add(arg, buf, len);
	return 0;
}

void
textbuf_json(struct textbuf *tb, const json_t *v)
{
	const char	*key;
	json_t		*member;
	size_t		 i, n;

	switch (json_typeof(v)) {
	case JSON_OBJECT:
		/* Members in jansson's order, as its compact dump has them. */
		textbuf_lit(tb, "{");
		n = 0;
		json_object_foreach((json_t *)v, key, member) {
			if (n++ > 0)
				textbuf_lit(tb, ",");
			textbuf_string(tb, key);
			textbuf_lit(tb, ":");
			textbuf_json(tb, member);
		}
		textbuf_lit(tb, "}");
		break;
	case JSON_ARRAY:
		textbuf_lit(tb, "[");
		n = json_array_size(v);
		for (i = 0; i < n; i++) {
			if (i > 0)
				textbuf_lit(tb, ",");
			textbuf_json(tb, json_array_get(v, i));
		}
		textbuf_lit(tb, "]");
		break;
	case JSON_INTEGER:
		textbuf_i64(tb, (int64_t)json_integer_value(v));
		break;
	case JSON_STRING:
		textbuf_stringn(tb, json_string_value(v), json_string_length(v));
		break;
	case JSON_TRUE:
		textbuf_lit(tb, "true");
		break;
	case JSON_FALSE:
		textbuf_lit(tb, "false");
		break;
	case JSON_NULL:
		textbuf_lit(tb, "null");
		break;
	default:
		/* Reals: jansson's own digits. */
		(void)json_dump_callback(v, textbuf_dump_cb, tb,
		    JSON_COMPACT | JSON_ENCODE_ANY);
		break;
	}
}

char *
textbuf_steal(struct textbuf *tb, size_t *len)
{
	char	*p;

	textbuf_reserve(tb, 0);
	tb->p[tb->len] = '\0';
	/* It may be kept a long time (a job's spec, for its ttl), and budgets
	 * count its length: no more than a page of slack. */
	if (tb->cap - tb->len > 4096)
		tb->p = xreallocarray(tb->p, tb->len + 1, 1);
	p = tb->p;
	*len = tb->len;
	memset(tb, 0, sizeof(*tb));
	return p;
}

void
textbuf_free(struct textbuf *tb)
{
	free(tb->p);
	memset(tb, 0, sizeof(*tb));
}
