/*
 * Job registry: 64 shards of chained hash tables keyed by id.  The links are
 * embedded in the jobs, so registering costs no allocation.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/future.h"
#include "runtime/loop.h"
#include "core/registry.h"
#include "runtime/util.h"

#define REGISTRY_SHARDS	64

struct shard {
	pthread_mutex_t		  lock;
	struct registry_link	**buckets;
	size_t			  nbuckets;	/* a power of two */
	size_t			  count;
};

struct key_entry {
	char			*key;
	uint64_t		 id;
	struct key_entry	*next;
};

static struct shard		 shards[REGISTRY_SHARDS];
static atomic_uint_fast64_t	 next_id = 1;
static atomic_size_t		 total;

static pthread_mutex_t		 keys_lock = PTHREAD_MUTEX_INITIALIZER;
static struct key_entry		**keys;
static size_t			 nkeys_buckets = 1024;

static struct shard *
shard_of(uint64_t id)
{
	return &shards[id % REGISTRY_SHARDS];
}

static size_t
bucket_of(const struct shard *s, uint64_t id)
{
	/* Ids in one shard step by REGISTRY_SHARDS; divide that out. */
	return (size_t)(id / REGISTRY_SHARDS) & (s->nbuckets - 1);
}

void
registry_init(void)
{
	size_t	i;

	for (i = 0; i < REGISTRY_SHARDS; i++) {
		pthread_mutex_init(&shards[i].lock, NULL);
		shards[i].nbuckets = 256;
		shards[i].buckets = xcalloc(shards[i].nbuckets,
		    sizeof(*shards[i].buckets));
		shards[i].count = 0;
	}
	keys = xcalloc(nkeys_buckets, sizeof(*keys));
}

void
registry_free(void)
{
	struct key_entry	*k, *next;
	size_t			 i;

	for (i = 0; i < REGISTRY_SHARDS; i++) {
		free(shards[i].buckets);
		shards[i].buckets = NULL;
		pthread_mutex_destroy(&shards[i].lock);
	}
	for (i = 0; i < nkeys_buckets; i++) {
		for (k = keys[i]; k != NULL; k = next) {
			next = k->next;
			free(k->key);
			free(k);
		}
	}
	free(keys);
	keys = NULL;
}

uint64_t
registry_next_id(void)
{
	return atomic_fetch_add(&next_id, 1);
}

static void
shard_grow(struct shard *s)
{
	struct registry_link	**old = s->buckets, *link, *next;
	size_t			  oldn = s->nbuckets, i, b;

	s->nbuckets *= 2;
	s->buckets = xcalloc(s->nbuckets, sizeof(*s->buckets));
	for (i = 0; i < oldn; i++) {
		for (link = old[i]; link != NULL; link = next) {
			next = link->next;
			b = bucket_of(s, link->id);
			link->next = s->buckets[b];
			s->buckets[b] = link;
		}
	}
	free(old);
}

void
registry_insert(struct registry_link *link)
{
	struct shard	*s = shard_of(link->id);
	size_t		 b;

	pthread_mutex_lock(&s->lock);
	if (s->count >= s->nbuckets)
		shard_grow(s);
	b = bucket_of(s, link->id);
	link->next = s->buckets[b];
	s->buckets[b] = link;
	s->count++;
	pthread_mutex_unlock(&s->lock);
	atomic_fetch_add(&total, 1);
}

void
registry_remove(struct registry_link *link)
{
	struct shard		 *s = shard_of(link->id);
	struct registry_link	**pp;

	pthread_mutex_lock(&s->lock);
	for (pp = &s->buckets[bucket_of(s, link->id)]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == link) {
			*pp = link->next;
			s->count--;
			atomic_fetch_sub(&total, 1);
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static struct registry_link *
shard_find(struct shard *s, uint64_t id)
{
	struct registry_link	*link;

	for (link = s->buckets[bucket_of(s, id)]; link != NULL; link = link->next) {
		if (link->id == id)
			return link;
	}
	return NULL;
}

bool
registry_lookup(uint64_t id, struct loop **owner, struct future **future)
{
	struct shard		*s = shard_of(id);
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

struct job *
registry_job(uint64_t id)
{
	struct shard		*s = shard_of(id);
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

static size_t
key_hash(const char *key)
{
	size_t	h = 14695981039346656037u;	/* FNV-1a */

	for (; *key != '\0'; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211u;
	return h & (nkeys_buckets - 1);
}

uint64_t
registry_key_claim(const char *key, uint64_t id)
{
	struct key_entry	*k;
	size_t			 b = key_hash(key);
	uint64_t		 holder = 0;

	pthread_mutex_lock(&keys_lock);
	for (k = keys[b]; k != NULL; k = k->next) {
		if (strcmp(k->key, key) == 0) {
			holder = k->id;
			break;
		}
	}
	if (holder == 0) {
		k = xmalloc(sizeof(*k));
		k->key = xstrdup(key);
		k->id = id;
		k->next = keys[b];
		keys[b] = k;
	}
	pthread_mutex_unlock(&keys_lock);
	return holder;
}

void
registry_key_release(const char *key, uint64_t id)
{
	struct key_entry	**pp, *k;

	pthread_mutex_lock(&keys_lock);
	for (pp = &keys[key_hash(key)]; (k = *pp) != NULL; pp = &k->next) {
		if (k->id == id && strcmp(k->key, key) == 0) {
			*pp = k->next;
			free(k->key);
			free(k);
			break;
		}
	}
	pthread_mutex_unlock(&keys_lock);
}
