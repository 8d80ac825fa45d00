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
/* About the bytes a parsed value holds (for budgets): its strings and keys,
 * and a little for each value. */
size_t	 json_held_size(const json_t *);

#endif
