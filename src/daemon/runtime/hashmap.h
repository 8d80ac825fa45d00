/*
 * A hash map of entries embedded in what they index, so that adding one
 * allocates nothing; keyed by strings or by uint64_t.  Chained, with a
 * power-of-two bucket count that doubles when the entries outnumber the
 * buckets and halves when they fall under a quarter of them: lookups stay
 * O(1) however many keys come and go.  No locking: each user guards its maps.
 *
 * A string map is given a function that returns an entry's key; a uint64_t
 * map compares the keys themselves.  Strings are hashed with FNV-1a, and
 * every hash is spread over the buckets by Fibonacci hashing (its top bits
 * after a multiplication), so that ids that count up spread evenly.
 */
#ifndef LOOM_HASHMAP_H
#define LOOM_HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hashmap_entry {
	struct hashmap_entry	*next;		/* bucket chain */
	uint64_t		 hash;		/* a uint64_t key is its own hash */
};

typedef const char *(*hashmap_key_fn)(const struct hashmap_entry *);

struct hashmap {
	struct hashmap_entry	**buckets;	/* NULL until the first add */
	size_t			  count;
	unsigned int		  bits;		/* log2 of the bucket count */
	hashmap_key_fn		  key;		/* NULL: uint64_t keys */
};

/* For a static map, instead of hashmap_init(). */
#define HASHMAP_INITIALIZER(keyfn)	{ NULL, 0, 0, (keyfn) }

/* The struct an entry is embedded in. */
#define hashmap_item(entry, type, member) \
	((type *)(void *)((char *)(entry) - offsetof(type, member)))

/* key: an entry's string key, for a string map; NULL for uint64_t keys. */
void		 hashmap_init(struct hashmap *, hashmap_key_fn key);
/* Frees the buckets (the entries are not the map's); the map can be reused. */
void		 hashmap_free(struct hashmap *);
uint64_t	 hashmap_hash(const char *);

struct hashmap_entry *hashmap_find(const struct hashmap *, const char *key);
struct hashmap_entry *hashmap_find_u64(const struct hashmap *, uint64_t key);
/* The key must not be in the map already. */
/* Room for n entries without growing (many about to be added). */
void		 hashmap_reserve(struct hashmap *, size_t n);
void		 hashmap_add(struct hashmap *, struct hashmap_entry *, const char *key);
void		 hashmap_add_u64(struct hashmap *, struct hashmap_entry *, uint64_t key);
/* False, and nothing happens, if the entry is not in the map. */
bool		 hashmap_remove(struct hashmap *, struct hashmap_entry *);

static inline size_t
hashmap_count(const struct hashmap *map)
{
	return map->count;
}

/*
 * Every entry once, in no particular order:
 *
 *	for (e = hashmap_first(map, &it); e != NULL; e = hashmap_next(&it))
 *
 * The entry just returned may be removed (and freed) before the next call,
 * even if that shrinks the map; nothing else may be added or removed.
 */
struct hashmap_iter {
	const struct hashmap	*map;
	struct hashmap_entry	*next;
};
struct hashmap_entry *hashmap_first(const struct hashmap *, struct hashmap_iter *);
struct hashmap_entry *hashmap_next(struct hashmap_iter *);

#endif
