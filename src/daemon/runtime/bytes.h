/*
 * Bytes from the outside world (a child's output, an HTTP body) as JSON
 * strings: as text, where each byte that is not part of valid UTF-8 becomes
 * U+FFFD, and so does NUL (the protocol refuses \u0000, and so do many JSON
 * readers); or as standard base64 (RFC 4648, padded), which keeps every byte.
 */
#ifndef LOOM_BYTES_H
#define LOOM_BYTES_H

#include <stddef.h>

#include <jansson.h>

json_t	*bytes_text(const void *, size_t);
json_t	*bytes_base64(const void *, size_t);
/* Length of the valid UTF-8 sequence at s (1 to 4), or 0 if it is not one. */
size_t	 bytes_utf8_seq(const unsigned char *s, size_t len);

#endif
