/*
 * Limits and locks: see sem.h.  Limits and locks are two maps by name, each
 * under its own mutex; a semaphore's count and waiters are under its own.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/sem.h"
#include "runtime/hashmap.h"
#include "runtime/loop.h"
#include "runtime/util.h"
#include "runtime/waiter.h"

struct sem {
	struct hashmap_entry	 entry;		/* limits or locks */
	char			*name;
	bool			 lock;
	unsigned int		 refs;		/* locks: under locks_lock */
	pthread_mutex_t		 mu;
	unsigned int		 concurrency;	/* under mu: a reload may change it */
	unsigned int		 held;
	struct waitq		 waiters;
};

static const char	*sem_key(const struct hashmap_entry *);

static pthread_mutex_t	limits_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap	limits = HASHMAP_INITIALIZER(sem_key);	/* reloads add */
static pthread_mutex_t	locks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hashmap	locks = HASHMAP_INITIALIZER(sem_key);

static const char *
sem_key(const struct hashmap_entry *e)
{
	return hashmap_item(e, struct sem, entry)->name;
}

static struct sem *
sem_new(const char *name, unsigned int concurrency, bool lock)
{
	struct sem	*sem = xcalloc(1, sizeof(*sem));

	sem->name = xstrdup(name);
	sem->concurrency = concurrency;
	sem->lock = lock;
	pthread_mutex_init(&sem->mu, NULL);
	waitq_init(&sem->waiters, "sem_grant");
	return sem;
}

static void
sem_free(struct sem *sem)
{
	pthread_mutex_destroy(&sem->mu);
	waitq_free(&sem->waiters);
	free(sem->name);
	free(sem);
}

void
limit_init(const struct config *cfg)
{
	size_t	i;

	for (i = 0; i < cfg->nlimits; i++)
		(void)limit_configure(&cfg->limits[i]);
}

static void
sem_free_all(struct hashmap *map)
{
	struct hashmap_iter	 it;
	struct hashmap_entry	*e;

	for (e = hashmap_first(map, &it); e != NULL; e = hashmap_next(&it))
		sem_free(hashmap_item(e, struct sem, entry));
	hashmap_free(map);
}

void
limit_shutdown(void)
{
	sem_free_all(&limits);
	sem_free_all(&locks);
}

struct sem *
limit_find(const char *name)
{
	struct hashmap_entry	*e;

	pthread_mutex_lock(&limits_lock);
	e = hashmap_find(&limits, name);
	pthread_mutex_unlock(&limits_lock);
	return e != NULL ? hashmap_item(e, struct sem, entry) : NULL;
}

struct sem *
lock_get(const char *name)
{
	struct hashmap_entry	*e;
	struct sem		*sem;

	pthread_mutex_lock(&locks_lock);
	if ((e = hashmap_find(&locks, name)) != NULL)
		sem = hashmap_item(e, struct sem, entry);
	else {
		sem = sem_new(name, 1, true);
		hashmap_add(&locks, &sem->entry, sem->name);
	}
	sem->refs++;
	pthread_mutex_unlock(&locks_lock);
	return sem;
}

/* A lock nobody refers to any more is freed. */
void
lock_put(struct sem *sem)
{
	pthread_mutex_lock(&locks_lock);
	if (--sem->refs > 0) {
		pthread_mutex_unlock(&locks_lock);
		return;
	}
	hashmap_remove(&locks, &sem->entry);
	pthread_mutex_unlock(&locks_lock);
	sem_free(sem);
}

const char *
sem_name(const struct sem *sem)
{
	return sem->name;
}

bool
sem_is_lock(const struct sem *sem)
{
	return sem->lock;
}

bool
sem_acquire(struct sem *sem, int64_t key, uint64_t seq, waiter_fn fn, void *arg,
    struct waiter **wait)
{
	bool	taken;

	pthread_mutex_lock(&sem->mu);
	/* Nobody jumps the waiters: they go in priority order. */
	if ((taken = sem->held < sem->concurrency && waitq_len(&sem->waiters) == 0))
		sem->held++;
	else
		*wait = waitq_add(&sem->waiters, loop_current(), fn, arg, key, seq);
	pthread_mutex_unlock(&sem->mu);
	return taken;
}

/* Under mu: hand a slot to the best waiter, or give it back. */
static void
sem_pass(struct sem *sem)
{
	/* Above its concurrency after a reload lowered it: no hand-over. */
	if (sem->held > sem->concurrency || !waitq_grant(&sem->waiters))
		sem->held--;
}

void
sem_release(struct sem *sem)
{
	pthread_mutex_lock(&sem->mu);
	sem_pass(sem);
	pthread_mutex_unlock(&sem->mu);
}

void
sem_cancel(struct sem *sem, struct waiter *w)
{
	pthread_mutex_lock(&sem->mu);
	if (waiter_withdraw(w) == WAITER_GRANTED)
		sem_pass(sem);		/* the slot that was on its way */
	pthread_mutex_unlock(&sem->mu);
}

/* Waiters are granted, in order, as far as the new concurrency allows. */
static void
sem_resize(struct sem *sem, unsigned int concurrency)
{
	pthread_mutex_lock(&sem->mu);
	sem->concurrency = concurrency;
	while (sem->held < sem->concurrency && waitq_grant(&sem->waiters))
		sem->held++;
	pthread_mutex_unlock(&sem->mu);
}

int
limit_configure(const struct config_limit *cl)
{
	struct sem	*sem;

	if ((sem = limit_find(cl->name)) != NULL) {
		sem_resize(sem, cl->concurrency);
		return 0;
	}
	sem = sem_new(cl->name, cl->concurrency, false);
	pthread_mutex_lock(&limits_lock);
	hashmap_add(&limits, &sem->entry, sem->name);
	pthread_mutex_unlock(&limits_lock);
	return 1;
}
