/*
 * Per-host slots: see hostlimit.h.  A host is in the map while it has a slot
 * taken; its waiters are a waitq, so a grant travels as a post to the
 * waiter's loop and the waiter may be withdrawn meanwhile (its job
 * cancelled): the withdrawal then gives the slot back.  A grant to a loop
 * that has stopped goes to the next waiter instead.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "io/hostlimit.h"
#include "runtime/hashmap.h"
#include "runtime/loop.h"
#include "runtime/util.h"
#include "runtime/waiter.h"

struct hostlimit_slot {
	struct hashmap_entry	 entry;
	unsigned int		 active;
	unsigned int		 limit;
	struct waitq		 waiters;
	char			 key[];
};

static const char	*hostlimit_key(const struct hashmap_entry *);

static pthread_mutex_t	hostlimit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap	hostlimit_map = HASHMAP_INITIALIZER(hostlimit_key);

static struct hostlimit_slot *
hostlimit_of(struct waitq *q)
{
	return (struct hostlimit_slot *)(void *)((char *)q -
	    offsetof(struct hostlimit_slot, waiters));
}

static const char *
hostlimit_key(const struct hashmap_entry *e)
{
	return hashmap_item(e, struct hostlimit_slot, entry)->key;
}

static struct hostlimit_slot *
hostlimit_find(const char *key)
{
	struct hashmap_entry	*e = hashmap_find(&hostlimit_map, key);

	return e != NULL ? hashmap_item(e, struct hostlimit_slot, entry) : NULL;
}

int
hostlimit_acquire(const char *key, unsigned int limit, struct loop *loop,
    hostlimit_fn granted, void *arg, struct waiter **wait)
{
	struct hostlimit_slot	*s;
	size_t			 len = strlen(key);
	int			 taken = 1;

	pthread_mutex_lock(&hostlimit_lock);
	if ((s = hostlimit_find(key)) == NULL) {
		s = xcalloc(1, sizeof(*s) + len + 1);
		memcpy(s->key, key, len + 1);
		waitq_init(&s->waiters, "hostlimit_grant");
		hashmap_add(&hostlimit_map, &s->entry, s->key);
	}
	s->limit = limit;
	if (s->active < limit)
		s->active++;
	else {
		*wait = waitq_add_last(&s->waiters, loop, granted, arg);
		taken = 0;
	}
	pthread_mutex_unlock(&hostlimit_lock);
	if (taken)
		*wait = NULL;
	return taken;
}

/* Under the lock: hand the slot over (`active` stays), or give it back. */
static void
hostlimit_pass(struct hostlimit_slot *s)
{
	if (waitq_grant(&s->waiters) || --s->active > 0)
		return;
	hashmap_remove(&hostlimit_map, &s->entry);
	waitq_free(&s->waiters);
	free(s);
}

void
hostlimit_release(const char *key)
{
	struct hostlimit_slot	*s;

	pthread_mutex_lock(&hostlimit_lock);
	if ((s = hostlimit_find(key)) != NULL)
		hostlimit_pass(s);
	pthread_mutex_unlock(&hostlimit_lock);
}

void
hostlimit_cancel(struct waiter *w)
{
	struct waitq	*q;

	pthread_mutex_lock(&hostlimit_lock);
	/* Used only if a grant is on its way: that slot keeps the host alive. */
	q = waiter_queue(w);
	if (waiter_withdraw(w) == WAITER_GRANTED)
		hostlimit_pass(hostlimit_of(q));
	pthread_mutex_unlock(&hostlimit_lock);
}

void
hostlimit_count(const char *key, unsigned int *active, unsigned int *waiting)
{
	struct hostlimit_slot	*s;

	pthread_mutex_lock(&hostlimit_lock);
	s = hostlimit_find(key);
	*active = s != NULL ? s->active : 0;
	*waiting = s != NULL ? (unsigned int)waitq_len(&s->waiters) : 0;
	pthread_mutex_unlock(&hostlimit_lock);
}
