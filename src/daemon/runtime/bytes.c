#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/bytes.h"
#include "runtime/log.h"

/* Below util.c (which uses this file), so its own abort-on-OOM malloc. */
static void *
bytes_alloc(size_t n)
{
	void	*p = malloc(n);

	if (p == NULL)
		fatal("bytes %zu", n);
	return p;
}

size_t
bytes_utf8_seq(const unsigned char *s, size_t len)
{
	unsigned char	c = s[0], lo = 0x80, hi = 0xbf;
	size_t		n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	} else
		return 0;
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	}
	return n;
}

json_t *
bytes_text(const void *data, size_t len)
{
	const unsigned char	*s = data;
	unsigned char		*clean, *p;
	size_t			 i, n;
	json_t			*j;

	for (i = 0; i < len; i += n) {
		if (s[i] == '\0' || (n = bytes_utf8_seq(s + i, len - i)) == 0)
			break;
	}
	if (i == len)
		return json_stringn_nocheck(len > 0 ? data : "", len);

	/* Each byte that breaks UTF-8, and NUL, becomes U+FFFD (3 bytes). */
	clean = bytes_alloc(len * 3);
	memcpy(clean, s, i);
	p = clean + i;
	while (i < len) {
		if (s[i] == '\0' || (n = bytes_utf8_seq(s + i, len - i)) == 0) {
			*p++ = 0xef;
			*p++ = 0xbf;
			*p++ = 0xbd;
			i++;
			continue;
		}
		memcpy(p, s + i, n);
		p += n;
		i += n;
	}
	j = json_stringn_nocheck((const char *)clean, (size_t)(p - clean));
	free(clean);
	return j;
}

json_t *
bytes_base64(const void *data, size_t len)
{
	static const char	 alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char	*s = data;
	char			*out, *p;
	size_t			 i;
	uint32_t		 v;
	json_t			*j;

	p = out = bytes_alloc((len + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = alphabet[(v >> 6) & 63];
		*p++ = alphabet[v & 63];
	}
	if (i < len) {
		v = (uint32_t)s[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)s[i + 1] << 8;
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
		*p++ = '=';
	}
	j = json_stringn_nocheck(out, (size_t)(p - out));
	free(out);
	return j;
}
