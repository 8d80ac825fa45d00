/*
 * The hash map: see hashmap.h.
 *
 * Resizing keeps the order of the entries: bucket j of a map of 2^b buckets
 * holds the hashes whose top b bits (after the multiplication) are j, so
 * halving the map puts bucket 2j's chain and then bucket 2j+1's into bucket
 * j, and doubling it splits bucket j's chain into 2j and 2j+1 in order.
 * That is what lets an iteration go on after a removal has shrunk the map:
 * the entries after its next one, in bucket order, are the ones not seen.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "runtime/hashmap.h"
#include "runtime/util.h"

#define HASHMAP_MIN_BITS	4
#define HASHMAP_GOLDEN		0x9e3779b97f4a7c15ULL	/* 2^64 / phi, odd */

static size_t
hashmap_bucket(const struct hashmap *map, uint64_t hash)
{
	return (size_t)((hash * HASHMAP_GOLDEN) >> (64 - map->bits));
}

static size_t
hashmap_size(const struct hashmap *map)
{
	return map->buckets != NULL ? (size_t)1 << map->bits : 0;
}

void
hashmap_init(struct hashmap *map, hashmap_key_fn key)
{
	memset(map, 0, sizeof(*map));
	map->key = key;
}

void
hashmap_free(struct hashmap *map)
{
	free(map->buckets);
	map->buckets = NULL;
	map->count = 0;
	map->bits = 0;
}

uint64_t
hashmap_hash(const char *s)
{
	uint64_t	h = 14695981039346656037ULL;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* Twice the buckets: each chain splits in two, in order. */
static void
hashmap_grow(struct hashmap *map)
{
	struct hashmap_entry	**old = map->buckets, *e, *next, **tail[2];
	size_t			  oldn = hashmap_size(map), j, half;

	map->bits++;
	map->buckets = xcalloc((size_t)1 << map->bits, sizeof(*map->buckets));
	for (j = 0; j < oldn; j++) {
		tail[0] = &map->buckets[2 * j];
		tail[1] = &map->buckets[2 * j + 1];
		for (e = old[j]; e != NULL; e = next) {
			next = e->next;
			e->next = NULL;
			half = hashmap_bucket(map, e->hash) & 1;
			*tail[half] = e;
			tail[half] = &e->next;
		}
	}
	free(old);
}

/* Half the buckets: chains 2j and 2j+1 become chain j, in that order. */
static void
hashmap_shrink(struct hashmap *map)
{
	struct hashmap_entry	**old = map->buckets, **tail;
	size_t			  j;

	map->bits--;
	map->buckets = xcalloc((size_t)1 << map->bits, sizeof(*map->buckets));
	for (j = 0; j < hashmap_size(map); j++) {
		map->buckets[j] = old[2 * j];
		for (tail = &map->buckets[j]; *tail != NULL; tail = &(*tail)->next)
			;
		*tail = old[2 * j + 1];
	}
	free(old);
}

static void
hashmap_insert(struct hashmap *map, struct hashmap_entry *e)
{
	size_t	b;

	if (map->buckets == NULL) {
		map->bits = HASHMAP_MIN_BITS;
		map->buckets = xcalloc((size_t)1 << map->bits, sizeof(*map->buckets));
	}
	b = hashmap_bucket(map, e->hash);
	e->next = map->buckets[b];
	map->buckets[b] = e;
	if (++map->count > hashmap_size(map))
		hashmap_grow(map);
}

void
hashmap_reserve(struct hashmap *map, size_t n)
{
	if (map->buckets == NULL) {
		map->bits = HASHMAP_MIN_BITS;
		map->buckets = xcalloc((size_t)1 << map->bits, sizeof(*map->buckets));
	}
	while (hashmap_size(map) < n)
		hashmap_grow(map);
}

void
hashmap_add(struct hashmap *map, struct hashmap_entry *e, const char *key)
{
	e->hash = hashmap_hash(key);
	hashmap_insert(map, e);
}

void
hashmap_add_u64(struct hashmap *map, struct hashmap_entry *e, uint64_t key)
{
	e->hash = key;
	hashmap_insert(map, e);
}

struct hashmap_entry *
hashmap_find(const struct hashmap *map, const char *key)
{
	struct hashmap_entry	*e;
	uint64_t		 hash;

	if (map->count == 0)
		return NULL;
	hash = hashmap_hash(key);
	for (e = map->buckets[hashmap_bucket(map, hash)]; e != NULL; e = e->next) {
		if (e->hash == hash && strcmp(map->key(e), key) == 0)
			return e;
	}
	return NULL;
}

struct hashmap_entry *
hashmap_find_u64(const struct hashmap *map, uint64_t key)
{
	struct hashmap_entry	*e;

	if (map->count == 0)
		return NULL;
	for (e = map->buckets[hashmap_bucket(map, key)]; e != NULL; e = e->next) {
		if (e->hash == key)
			return e;
	}
	return NULL;
}

bool
hashmap_remove(struct hashmap *map, struct hashmap_entry *e)
{
	struct hashmap_entry	**pp;

	if (map->count == 0)
		return false;
	for (pp = &map->buckets[hashmap_bucket(map, e->hash)]; *pp != e;
	    pp = &(*pp)->next) {
		if (*pp == NULL)
			return false;
	}
	*pp = e->next;
	e->next = NULL;
	if (--map->count < hashmap_size(map) / 4 && map->bits > HASHMAP_MIN_BITS)
		hashmap_shrink(map);
	return true;
}

/* The first entry in bucket b or after it. */
static struct hashmap_entry *
hashmap_scan(const struct hashmap *map, size_t b)
{
	for (; b < hashmap_size(map); b++) {
		if (map->buckets[b] != NULL)
			return map->buckets[b];
	}
	return NULL;
}

struct hashmap_entry *
hashmap_first(const struct hashmap *map, struct hashmap_iter *it)
{
	it->map = map;
	it->next = hashmap_scan(map, 0);
	return hashmap_next(it);
}

/* The one after is found now, while the entry returned is sure to exist. */
struct hashmap_entry *
hashmap_next(struct hashmap_iter *it)
{
	struct hashmap_entry	*e = it->next;

	if (e != NULL) {
		it->next = e->next != NULL ? e->next :
		    hashmap_scan(it->map, hashmap_bucket(it->map, e->hash) + 1);
	}
	return e;
}
