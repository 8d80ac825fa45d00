/*
 * The hash map: string and uint64_t keys, growth and shrinkage with the
 * entries, keys that share a bucket, and removal while iterating.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"
#include "runtime/hashmap.h"
#include "runtime/util.h"

struct item {
	struct hashmap_entry	 entry;
	uint64_t		 id;
	char			 name[32];
	int			 seen;
};

static const char *
item_key(const struct hashmap_entry *e)
{
	return hashmap_item(e, struct item, entry)->name;
}

static struct item *
find_id(const struct hashmap *map, uint64_t id)
{
	struct hashmap_entry	*e = hashmap_find_u64(map, id);

	return e != NULL ? hashmap_item(e, struct item, entry) : NULL;
}

static struct item *
find_name(const struct hashmap *map, const char *name)
{
	struct hashmap_entry	*e = hashmap_find(map, name);

	return e != NULL ? hashmap_item(e, struct item, entry) : NULL;
}

static size_t
buckets(const struct hashmap *map)
{
	return map->buckets != NULL ? (size_t)1 << map->bits : 0;
}

static size_t
longest_chain(const struct hashmap *map)
{
	struct hashmap_entry	*e;
	size_t			 b, n, most = 0;

	for (b = 0; b < buckets(map); b++) {
		n = 0;
		for (e = map->buckets[b]; e != NULL; e = e->next)
			n++;
		if (n > most)
			most = n;
	}
	return most;
}

/* The inverse of the map's multiplier modulo 2^64 (Newton's iteration). */
static uint64_t
golden_inverse(void)
{
	const uint64_t	g = 0x9e3779b97f4a7c15ULL;
	uint64_t	x = g;
	int		i;

	for (i = 0; i < 6; i++)
		x *= 2 - g * x;
	assert_true(x * g == 1);
	return x;
}

/* FNV-1a, 64 bits: its published values. */
static void
test_strings_hash_with_fnv1a(void **state)
{
	assert_true(hashmap_hash("") == 0xcbf29ce484222325ULL);
	assert_true(hashmap_hash("a") == 0xaf63dc4c8601ec8cULL);
	assert_true(hashmap_hash("foobar") == 0x85944171f73967e8ULL);
}

static void
test_an_empty_map_finds_nothing_and_holds_nothing(void **state)
{
	struct hashmap	ids, names;
	struct item	it = { 0 };

	hashmap_init(&ids, NULL);
	hashmap_init(&names, item_key);
	assert_null(hashmap_find_u64(&ids, 1));
	assert_null(hashmap_find(&names, "x"));
	assert_null(ids.buckets);
	assert_int_equal(hashmap_count(&ids), 0);
	assert_false(hashmap_remove(&ids, &it.entry));	/* not in it */
	assert_int_equal(hashmap_count(&ids), 0);
	hashmap_free(&ids);
	hashmap_free(&names);
}

static void
test_string_keys_are_compared_by_value(void **state)
{
	struct hashmap	 map;
	struct item	 items[4] = { 0 };
	const char	*names[] = { "a", "ab", "", "queue-1" };
	char		 probe[32];
	size_t		 i;

	hashmap_init(&map, item_key);
	for (i = 0; i < nitems(items); i++) {
		snprintf(items[i].name, sizeof(items[i].name), "%s", names[i]);
		hashmap_add(&map, &items[i].entry, items[i].name);
	}
	assert_int_equal(hashmap_count(&map), 4);
	for (i = 0; i < nitems(items); i++) {
		snprintf(probe, sizeof(probe), "%s", names[i]);	/* another pointer */
		assert_ptr_equal(find_name(&map, probe), &items[i]);
	}
	assert_null(find_name(&map, "b"));
	assert_null(find_name(&map, "abc"));
	assert_null(find_name(&map, "queue-2"));
	hashmap_remove(&map, &items[1].entry);
	assert_null(find_name(&map, "ab"));
	assert_ptr_equal(find_name(&map, "a"), &items[0]);
	hashmap_free(&map);
}

/* Never more entries than buckets; under a quarter of them it halves. */
static void
test_it_grows_and_shrinks_with_its_entries(void **state)
{
	struct hashmap	 map;
	struct item	*items = calloc(20000, sizeof(*items));
	size_t		 i, smallest;

	hashmap_init(&map, NULL);
	hashmap_add_u64(&map, &items[0].entry, 1000);
	smallest = buckets(&map);
	assert_true(smallest > 0);
	for (i = 1; i < 20000; i++) {
		hashmap_add_u64(&map, &items[i].entry, 1000 + i);
		assert_true(hashmap_count(&map) <= buckets(&map));
	}
	assert_true(buckets(&map) >= 20000 && buckets(&map) < 2 * 32768 + 1);
	assert_true(longest_chain(&map) <= 8);
	for (i = 0; i < 20000; i++)
		assert_ptr_equal(find_id(&map, 1000 + i), &items[i]);
	assert_null(find_id(&map, 999));
	assert_null(find_id(&map, 21000));

	/* Keep every hundredth. */
	for (i = 0; i < 20000; i++) {
		if (i % 100 != 0)
			hashmap_remove(&map, &items[i].entry);
		assert_true(hashmap_count(&map) >= buckets(&map) / 4 ||
		    buckets(&map) == smallest);
	}
	assert_int_equal(hashmap_count(&map), 200);
	assert_true(buckets(&map) <= 1024);
	for (i = 0; i < 20000; i++) {
		if (i % 100 == 0)
			assert_ptr_equal(find_id(&map, 1000 + i), &items[i]);
		else
			assert_null(find_id(&map, 1000 + i));
	}
	for (i = 0; i < 20000; i += 100)
		hashmap_remove(&map, &items[i].entry);
	assert_int_equal(hashmap_count(&map), 0);
	assert_int_equal(buckets(&map), smallest);	/* never below the first size */
	hashmap_free(&map);
	free(items);
}

/* Ids that step by the registry's shard count still spread evenly. */
static void
test_strided_ids_spread_over_the_buckets(void **state)
{
	struct hashmap	 map;
	struct item	*items = calloc(4096, sizeof(*items));
	size_t		 i;

	hashmap_init(&map, NULL);
	for (i = 0; i < 4096; i++)
		hashmap_add_u64(&map, &items[i].entry, 7 + 64 * i);
	assert_true(longest_chain(&map) <= 6);
	hashmap_free(&map);
	free(items);
}

/*
 * Keys whose hashes differ only in their low bits land in one bucket at
 * every size: one long chain, in which each is still found and removed.
 */
static void
test_keys_in_one_bucket_are_told_apart(void **state)
{
	struct hashmap	 map;
	struct item	 items[300] = { 0 };
	uint64_t	 inv = golden_inverse(), base = 0x123456789ULL << 20;
	size_t		 i;

	hashmap_init(&map, NULL);
	for (i = 0; i < nitems(items); i++) {
		items[i].id = inv * (base + i);
		hashmap_add_u64(&map, &items[i].entry, items[i].id);
	}
	assert_int_equal(longest_chain(&map), nitems(items));
	for (i = 0; i < nitems(items); i++)
		assert_ptr_equal(find_id(&map, items[i].id), &items[i]);
	assert_null(find_id(&map, inv * (base + nitems(items))));

	/* Out of the middle, the front and the back of the chain. */
	for (i = 0; i < nitems(items); i += 3)
		hashmap_remove(&map, &items[i].entry);
	for (i = 0; i < nitems(items); i++) {
		if (i % 3 == 0)
			assert_null(find_id(&map, items[i].id));
		else
			assert_ptr_equal(find_id(&map, items[i].id), &items[i]);
	}
	hashmap_free(&map);
}

static size_t
iterate(struct hashmap *map, struct item *items, size_t n, bool (*drop)(size_t))
{
	struct hashmap_iter	 it;
	struct hashmap_entry	*e;
	struct item		*item;
	size_t			 visits = 0, i;

	for (i = 0; i < n; i++)
		items[i].seen = 0;
	for (e = hashmap_first(map, &it); e != NULL; e = hashmap_next(&it)) {
		item = hashmap_item(e, struct item, entry);
		item->seen++;
		visits++;
		if (drop(item->id)) {
			hashmap_remove(map, e);
			memset(&item->entry, 0xa5, sizeof(item->entry));	/* as if freed */
		}
	}
	return visits;
}

static bool
drop_all(size_t id)
{
	return true;
}

static bool
drop_odd(size_t id)
{
	return id % 2 == 1;
}

static bool
drop_none(size_t id)
{
	return false;
}

/* The entry just returned may go, even when that halves the map. */
static void
test_removal_while_iterating_visits_each_entry_once(void **state)
{
	struct hashmap	 map;
	struct item	*items = calloc(5000, sizeof(*items));
	size_t		 i, n = 5000, before;

	hashmap_init(&map, NULL);
	for (i = 0; i < n; i++) {
		items[i].id = i;
		hashmap_add_u64(&map, &items[i].entry, i * 2654435761u);
	}
	before = buckets(&map);
	assert_int_equal(iterate(&map, items, n, drop_odd), n);
	for (i = 0; i < n; i++)
		assert_int_equal(items[i].seen, 1);
	assert_int_equal(hashmap_count(&map), n / 2);

	assert_int_equal(iterate(&map, items, n, drop_none), n / 2);
	for (i = 0; i < n; i++)
		assert_int_equal(items[i].seen, i % 2 == 0 ? 1 : 0);

	assert_int_equal(iterate(&map, items, n, drop_all), n / 2);
	assert_int_equal(hashmap_count(&map), 0);
	assert_true(buckets(&map) < before);	/* it shrank on the way */
	for (i = 0; i < n; i += 2)
		assert_int_equal(items[i].seen, 1);
	hashmap_free(&map);
	free(items);
}

/* Adds, finds and removes mixed, checked against a plain array. */
static void
test_a_churning_map_agrees_with_a_model(void **state)
{
	struct hashmap	 map;
	struct item	*items = calloc(2048, sizeof(*items));
	bool		*in = calloc(2048, sizeof(*in));
	size_t		 i, k, count = 0;
	unsigned int	 seed = 1;

	hashmap_init(&map, item_key);
	for (i = 0; i < 2048; i++)
		snprintf(items[i].name, sizeof(items[i].name), "key-%zu", i);
	for (i = 0; i < 200000; i++) {
		k = (size_t)rand_r(&seed) % 2048;
		if (in[k]) {
			assert_ptr_equal(find_name(&map, items[k].name), &items[k]);
			hashmap_remove(&map, &items[k].entry);
			count--;
		} else {
			assert_null(find_name(&map, items[k].name));
			hashmap_add(&map, &items[k].entry, items[k].name);
			count++;
		}
		in[k] = !in[k];
		assert_int_equal(hashmap_count(&map), count);
	}
	for (k = 0; k < 2048; k++)
		assert_true((find_name(&map, items[k].name) != NULL) == in[k]);
	hashmap_free(&map);
	free(items);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings_hash_with_fnv1a),
		cmocka_unit_test(test_an_empty_map_finds_nothing_and_holds_nothing),
		cmocka_unit_test(test_string_keys_are_compared_by_value),
		cmocka_unit_test(test_it_grows_and_shrinks_with_its_entries),
		cmocka_unit_test(test_strided_ids_spread_over_the_buckets),
		cmocka_unit_test(test_keys_in_one_bucket_are_told_apart),
		cmocka_unit_test(test_removal_while_iterating_visits_each_entry_once),
		cmocka_unit_test(test_a_churning_map_agrees_with_a_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
