/*
 * Job registry: 64 shards, each a map by id under its own mutex.  The links
 * are embedded in the jobs, so registering costs no allocation.
 * Idempotency keys are one more map, under one more mutex.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/principal.h"
#include "core/registry.h"
#include "runtime/future.h"
#include "runtime/hashmap.h"
#include "runtime/loop.h"
#include "runtime/util.h"

#define REGISTRY_SHARDS	64

/* Each on cache lines of its own: the loops take different shards at once. */
struct registry_shard {
	pthread_mutex_t		 lock;
	struct hashmap		 ids;
} __attribute__((aligned(64)));

struct key_entry {
	struct hashmap_entry	 entry;
	uint64_t		 id;
	char			 key[];
};

static const char		*key_of(const struct hashmap_entry *);

static struct registry_shard		 shards[REGISTRY_SHARDS];
static atomic_uint_fast64_t	 next_id = 1;

/* Ids below the ceiling are reserved durably (registry_ids); the next
 * block is asked for once an id reaches refill_at. */
static pthread_mutex_t		 ids_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t			 ids_ceiling;		/* under ids_lock */
static uint64_t			 ids_block;
static atomic_uint_fast64_t	 ids_refill_at = UINT64_MAX;
static registry_reserve_fn	 ids_reserve;
static atomic_size_t		 total;

static pthread_mutex_t		 keys_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap		 keys = HASHMAP_INITIALIZER(key_of);

static struct registry_shard *
registry_shard_of(uint64_t id)
{
	return &shards[id % REGISTRY_SHARDS];
}

static const char *
key_of(const struct hashmap_entry *e)
{
	return hashmap_item(e, struct key_entry, entry)->key;
}

void
registry_init(void)
{
	size_t	i;

	for (i = 0; i < REGISTRY_SHARDS; i++) {
		pthread_mutex_init(&shards[i].lock, NULL);
		hashmap_init(&shards[i].ids, NULL);
	}
}

void
registry_free(void)
{
	struct hashmap_iter	 it;
	struct hashmap_entry	*e;
	size_t			 i;

	for (i = 0; i < REGISTRY_SHARDS; i++) {
		hashmap_free(&shards[i].ids);
		pthread_mutex_destroy(&shards[i].lock);
	}
	for (e = hashmap_first(&keys, &it); e != NULL; e = hashmap_next(&it))
		free(hashmap_item(e, struct key_entry, entry));
	hashmap_free(&keys);
}

void
registry_ids(uint64_t next, uint64_t ceiling, uint64_t block,
    registry_reserve_fn reserve)
{
	pthread_mutex_lock(&ids_lock);
	atomic_store(&next_id, next);
	ids_ceiling = ceiling;
	ids_block = block;
	ids_reserve = reserve;
	atomic_store(&ids_refill_at, ceiling - block / 2);
	pthread_mutex_unlock(&ids_lock);
}

/*
 * Past the middle of the reserved block: reserve the next, durably, before
 * any id beyond the ceiling is handed out.  The loop that crosses first
 * writes; one whose id is past the ceiling waits for it here.  Once a
 * block (a million ids), so the write's cost does not show.
 */
static void
registry_refill(uint64_t id)
{
	pthread_mutex_lock(&ids_lock);
	while (ids_reserve != NULL && id >= ids_ceiling - ids_block / 2) {
		ids_ceiling = ids_reserve((id >= ids_ceiling ? id + 1 : ids_ceiling) +
		    ids_block);
		atomic_store(&ids_refill_at, ids_ceiling - ids_block / 2);
	}
	pthread_mutex_unlock(&ids_lock);
}

uint64_t
registry_next_id(void)
{
	uint64_t	id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);

	if (id >= atomic_load_explicit(&ids_refill_at, memory_order_relaxed))
		registry_refill(id);
	return id;
}

void
registry_reserve(size_t n)
{
	unsigned int	i;

	for (i = 0; i < REGISTRY_SHARDS; i++) {
		pthread_mutex_lock(&shards[i].lock);
		hashmap_reserve(&shards[i].ids, hashmap_count(&shards[i].ids) +
		    n / REGISTRY_SHARDS + 1);
		pthread_mutex_unlock(&shards[i].lock);
	}
}

void
registry_insert(struct registry_link *link)
{
	struct registry_shard	*s = registry_shard_of(link->id);

	pthread_mutex_lock(&s->lock);
	hashmap_add_u64(&s->ids, &link->entry, link->id);
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&total, 1);
	if (link->principal != NULL)
		atomic_fetch_add(&link->principal->jobs, 1);
}

void
registry_remove(struct registry_link *link)
{
	struct registry_shard	*s = registry_shard_of(link->id);

	bool			 removed;

	pthread_mutex_lock(&s->lock);
	removed = hashmap_remove(&s->ids, &link->entry);
	pthread_mutex_unlock(&s->lock);
	if (!removed)
		return;
	atomic_fetch_sub(&total, 1);
	if (link->principal != NULL)
		atomic_fetch_sub(&link->principal->jobs, 1);
}

static struct registry_link *
shard_find(struct registry_shard *s, uint64_t id)
{
	struct hashmap_entry	*e = hashmap_find_u64(&s->ids, id);

	return e != NULL ? hashmap_item(e, struct registry_link, entry) : NULL;
}

struct future *
registry_set_future(struct registry_link *link, struct future *f)
{
	struct registry_shard	*s = registry_shard_of(link->id);
	struct future		*old;

	pthread_mutex_lock(&s->lock);
	old = link->future;
	link->future = f;
	pthread_mutex_unlock(&s->lock);
	return old;
}

bool
registry_lookup(uint64_t id, struct loop **owner, struct future **future)
{
	struct registry_shard		*s = registry_shard_of(id);
	struct registry_link	*link;

	pthread_mutex_lock(&s->lock);
	if ((link = shard_find(s, id)) != NULL) {
		*owner = link->owner;
		*future = link->future;
		future_ref(link->future);
	}
	pthread_mutex_unlock(&s->lock);
	return link != NULL;
}

const struct principal *
registry_principal(uint64_t id)
{
	struct registry_shard	*s = registry_shard_of(id);
	struct registry_link	*link;
	const struct principal	*p = NULL;

	pthread_mutex_lock(&s->lock);
	if ((link = shard_find(s, id)) != NULL)
		p = link->principal;
	pthread_mutex_unlock(&s->lock);
	return p;
}

struct job *
registry_job(uint64_t id)
{
	struct registry_shard		*s = registry_shard_of(id);
	struct registry_link	*link;
	struct job		*job = NULL;

	pthread_mutex_lock(&s->lock);
	if ((link = shard_find(s, id)) != NULL && loop_is_current(link->owner))
		job = link->job;
	pthread_mutex_unlock(&s->lock);
	return job;
}

size_t
registry_count(void)
{
	return atomic_load(&total);
}

/* A key as the table has it: its principal's name, a '/', the key. */
static char *
registry_key_scoped(const struct principal *p, const char *key, char *buf,
    size_t size)
{
	const char	*scope = p != NULL ? p->name : "";
	size_t		 slen = strlen(scope), klen = strlen(key);
	char		*s = slen + klen + 2 <= size ? buf : xmalloc(slen + klen + 2);

	memcpy(s, scope, slen);
	s[slen] = '/';
	memcpy(s + slen + 1, key, klen + 1);
	return s;
}

uint64_t
registry_key_claim(const struct principal *p, const char *rawkey, uint64_t id)
{
	struct hashmap_entry	*e;
	struct key_entry	*k;
	char			 buf[256], *key;
	size_t			 len;
	uint64_t		 holder = 0;

	key = registry_key_scoped(p, rawkey, buf, sizeof(buf));
	len = strlen(key);
	pthread_mutex_lock(&keys_lock);
	if ((e = hashmap_find(&keys, key)) != NULL)
		holder = hashmap_item(e, struct key_entry, entry)->id;
	else {
		k = xmalloc(sizeof(*k) + len + 1);
		memcpy(k->key, key, len + 1);
		k->id = id;
		hashmap_add(&keys, &k->entry, k->key);
	}
	pthread_mutex_unlock(&keys_lock);
	if (key != buf)
		free(key);
	return holder;
}

void
registry_key_release(const struct principal *p, const char *rawkey, uint64_t id)
{
	struct hashmap_entry	*e;
	struct key_entry	*k = NULL;
	char			 buf[256], *key;

	key = registry_key_scoped(p, rawkey, buf, sizeof(buf));
	pthread_mutex_lock(&keys_lock);
	if ((e = hashmap_find(&keys, key)) != NULL &&
	    (k = hashmap_item(e, struct key_entry, entry))->id == id)
		hashmap_remove(&keys, e);
	else
		k = NULL;
	pthread_mutex_unlock(&keys_lock);
	free(k);
	if (key != buf)
		free(key);
}
