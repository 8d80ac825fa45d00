/*
 * Queues, limits and locks (asyncio's PriorityQueue, Semaphore and Lock, as
 * a service).  See queue.h for who owns what.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/job.h"
#include "core/job_private.h"
#include "runtime/log.h"
#include "core/loomd.h"
#include "runtime/loop.h"
#include "core/queue.h"
#include "runtime/util.h"

#define container_of(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

/* A binary min-heap of heap_nodes, each knowing its place. */
struct heap {
	struct heap_node	**a;
	size_t			  n;
	size_t			  cap;
};

static bool
heap_less(const struct heap_node *x, const struct heap_node *y)
{
	return x->key < y->key || (x->key == y->key && x->seq < y->seq);
}

static void
heap_set(struct heap *h, size_t i, struct heap_node *node)
{
	h->a[i] = node;
	node->index = i + 1;
}

static void
heap_up(struct heap *h, size_t i)
{
	struct heap_node	*node = h->a[i];

	while (i > 0 && heap_less(node, h->a[(i - 1) / 2])) {
		heap_set(h, i, h->a[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(h, i, node);
}

static void
heap_down(struct heap *h, size_t i)
{
	struct heap_node	*node = h->a[i];
	size_t			 child;

	while ((child = 2 * i + 1) < h->n) {
		if (child + 1 < h->n && heap_less(h->a[child + 1], h->a[child]))
			child++;
		if (!heap_less(h->a[child], node))
			break;
		heap_set(h, i, h->a[child]);
		i = child;
	}
	heap_set(h, i, node);
}

static void
heap_push(struct heap *h, struct heap_node *node)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->a = xreallocarray(h->a, h->cap, sizeof(*h->a));
	}
	h->a[h->n++] = node;
	heap_up(h, h->n - 1);
}

static void
heap_remove(struct heap *h, struct heap_node *node)
{
	size_t	i = node->index - 1;

	node->index = 0;
	if (i == --h->n)
		return;
	heap_set(h, i, h->a[h->n]);
	heap_down(h, i);
	heap_up(h, h->a[i]->index - 1);
}

static struct heap_node *
heap_pop(struct heap *h)
{
	struct heap_node	*top;

	if (h->n == 0)
		return NULL;
	top = h->a[0];
	heap_remove(h, top);
	return top;
}

/* Queues ------------------------------------------------------------------ */

struct queue {
	struct queue	*next;		/* queues_map chain */
	char		*name;
	unsigned int	 refs;		/* under queues_lock */
	bool		 configured;	/* under queues_lock */
	atomic_uint	 concurrency;	/* 0: unlimited; a reload may change it */
	atomic_size_t	 max_pending;	/* 0: unlimited; a reload may change it */
	struct loop	*home;		/* when limited at creation; never changes */
	atomic_bool	 paused;
	atomic_long	 waiting;	/* submitted, not yet running */
	atomic_long	 running;
	/* Per loop, each touched only by its loop (only home's when limited). */
	struct heap	*ready;
	bool		*admitting;
	unsigned int	 slots;		/* home only: jobs holding a slot */
};

#define QUEUE_BUCKETS	256

static pthread_mutex_t	  limits_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sem	**limits;	/* under limits_lock; reloads add to it */
static size_t		  nlimits;
static struct sem	*sem_new(const char *, unsigned int, bool);

static pthread_mutex_t	 queues_lock = PTHREAD_MUTEX_INITIALIZER;
static struct queue	*queues_map[QUEUE_BUCKETS];
static unsigned int	 queues_nloops;
static unsigned int	 queues_next_home;

static size_t
name_hash(const char *s)
{
	size_t	h = 14695981039346656037u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* Under queues_lock. */
static struct queue *
queue_create(const char *name, const struct config_queue *cq)
{
	struct queue	*q = xcalloc(1, sizeof(*q));
	size_t		 b = name_hash(name) % QUEUE_BUCKETS;

	q->name = xstrdup(name);
	q->ready = xcalloc(queues_nloops, sizeof(*q->ready));
	q->admitting = xcalloc(queues_nloops, sizeof(*q->admitting));
	if (cq != NULL) {
		q->configured = true;
		q->concurrency = cq->concurrency;
		q->max_pending = cq->max_pending;
	}
	if (q->concurrency > 0)
		q->home = loomd.loops[queues_next_home++ % queues_nloops];
	q->next = queues_map[b];
	queues_map[b] = q;
	return q;
}

static void
queue_free(struct queue *q)
{
	unsigned int	i;

	for (i = 0; i < queues_nloops; i++)
		free(q->ready[i].a);
	free(q->ready);
	free(q->admitting);
	free(q->name);
	free(q);
}

void
queue_init(const struct config *cfg, unsigned int nloops)
{
	size_t	i;

	limits = xcalloc(cfg->nlimits, sizeof(*limits));
	for (i = 0; i < cfg->nlimits; i++)
		limits[nlimits++] = sem_new(cfg->limits[i].name,
		    cfg->limits[i].concurrency, false);
	queues_nloops = nloops;
	pthread_mutex_lock(&queues_lock);
	for (i = 0; i < cfg->nqueues; i++)
		queue_create(cfg->queues[i].name, &cfg->queues[i]);
	pthread_mutex_unlock(&queues_lock);
}

struct queue *
queue_get(const char *name)
{
	struct queue	*q;

	pthread_mutex_lock(&queues_lock);
	for (q = queues_map[name_hash(name) % QUEUE_BUCKETS]; q != NULL; q = q->next) {
		if (strcmp(q->name, name) == 0)
			break;
	}
	if (q == NULL)
		q = queue_create(name, NULL);	/* unconfigured: unlimited */
	q->refs++;
	pthread_mutex_unlock(&queues_lock);
	return q;
}

/* An unconfigured queue nobody uses (and nobody paused) goes away. */
void
queue_put(struct queue *q)
{
	struct queue	**pp;

	pthread_mutex_lock(&queues_lock);
	if (--q->refs > 0 || q->configured || atomic_load(&q->paused)) {
		pthread_mutex_unlock(&queues_lock);
		return;
	}
	for (pp = &queues_map[name_hash(q->name) % QUEUE_BUCKETS]; *pp != q;
	    pp = &(*pp)->next)
		;
	*pp = q->next;
	pthread_mutex_unlock(&queues_lock);
	queue_free(q);
}

const char *
queue_name(const struct queue *q)
{
	return q->name;
}

struct loop *
queue_home(const struct queue *q)
{
	return q->home;
}

/* max_pending: count n more waiting jobs, or busy.  No check without e. */
int
queue_reserve(struct queue *q, size_t n, struct error *e)
{
	long	cur = atomic_load(&q->waiting);
	size_t	max = atomic_load_explicit(&q->max_pending, memory_order_relaxed);

	do {
		if (e != NULL && max != 0 && (size_t)cur + n > max) {
			error_set(e, "busy", "queue %s has %ld jobs waiting (max_pending "
			    "is %zu); retry later", q->name, cur, max);
			return -1;
		}
	} while (!atomic_compare_exchange_weak(&q->waiting, &cur, cur + (long)n));
	return 0;
}

void
queue_unreserve(struct queue *q, size_t n)
{
	atomic_fetch_sub(&q->waiting, (long)n);
}

void
queue_running(struct queue *q, int delta)
{
	atomic_fetch_add(&q->running, delta);
}

static bool
queue_has_slot(const struct queue *q)
{
	unsigned int	max = atomic_load_explicit(&q->concurrency,
			    memory_order_relaxed);

	return !atomic_load(&q->paused) && (max == 0 || q->slots < max);
}

bool
queue_enter(struct queue *q, struct job *job)
{
	struct heap	*ready = &q->ready[loop_index(loop_current())];

	/* Nobody jumps the jobs already waiting: they go in priority order. */
	if (ready->n == 0 && queue_has_slot(q)) {
		if (q->concurrency > 0) {
			q->slots++;
			job->slot = true;
		}
		return true;
	}
	heap_push(ready, &job->parked);
	return false;
}

/* Start parked jobs while the queue lets them; not re-entrant. */
static void
queue_admit(struct queue *q)
{
	unsigned int	 li = loop_index(loop_current());
	struct heap	*ready = &q->ready[li];
	struct job	*job;

	if (q->admitting[li])
		return;		/* the loop below goes on */
	q->admitting[li] = true;
	while (ready->n > 0 && queue_has_slot(q)) {
		job = container_of(heap_pop(ready), struct job, parked);
		if (q->concurrency > 0) {
			q->slots++;
			job->slot = true;
		}
		job_admitted(job);
	}
	q->admitting[li] = false;
}

void
queue_leave(struct queue *q, struct job *job)
{
	q->slots--;
	job->slot = false;
	queue_admit(q);
}

void
queue_unpark(struct queue *q, struct job *job)
{
	heap_remove(&q->ready[loop_index(loop_current())], &job->parked);
}

static void
queue_kick(void *arg)
{
	struct queue	*q = arg;

	queue_admit(q);
	queue_put(q);
}

json_t *
queue_set_paused(const char *name, bool paused)
{
	struct queue	*q = queue_get(name);
	json_t		*view;
	unsigned int	 i;

	atomic_store(&q->paused, paused);
	/* Resumed: each loop with parked jobs starts them (the home alone if limited). */
	for (i = 0; !paused && i < queues_nloops; i++) {
		if (q->home != NULL && q->home != loomd.loops[i])
			continue;
		pthread_mutex_lock(&queues_lock);
		q->refs++;
		pthread_mutex_unlock(&queues_lock);
		if (loop_post(loomd.loops[i], queue_kick, q) == -1)
			queue_put(q);
	}
	view = json_pack("{s:s,s:b,s:I,s:I}", "name", q->name, "paused", paused,
	    "pending", (json_int_t)atomic_load(&q->waiting),
	    "running", (json_int_t)atomic_load(&q->running));
	queue_put(q);
	return view;
}

json_t *
queue_stats(void)
{
	json_t		*all = json_object();
	struct queue	*q;
	size_t		 b;

	pthread_mutex_lock(&queues_lock);
	for (b = 0; b < QUEUE_BUCKETS; b++) {
		for (q = queues_map[b]; q != NULL; q = q->next) {
			json_object_set_new(all, q->name, json_pack(
			    "{s:I,s:I,s:i,s:I,s:b}",
			    "depth", (json_int_t)atomic_load(&q->waiting),
			    "running", (json_int_t)atomic_load(&q->running),
			    "concurrency", (int)q->concurrency,
			    "max_pending", (json_int_t)q->max_pending,
			    "paused", atomic_load(&q->paused)));
		}
	}
	pthread_mutex_unlock(&queues_lock);
	return all;
}

/* Limits and locks ---------------------------------------------------- */

struct sem {
	struct sem	*next;		/* locks_map chain */
	char		*name;
	bool		 lock;
	unsigned int	 concurrency;
	unsigned int	 refs;		/* locks: under locks_lock */
	pthread_mutex_t	 mu;
	unsigned int	 held;
	struct heap	 waiters;
};

struct sem_waiter {
	struct heap_node	 node;
	struct sem		*sem;
	struct job		*job;		/* dereferenced on its loop only */
	struct loop		*loop;
	bool			 cancelled;	/* under sem->mu */
	atomic_uint		 refs;		/* the grant path and the job */
};

#define LOCK_BUCKETS	256

static pthread_mutex_t	  locks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sem	 *locks_map[LOCK_BUCKETS];

static struct sem *
sem_new(const char *name, unsigned int concurrency, bool lock)
{
	struct sem	*sem = xcalloc(1, sizeof(*sem));

	sem->name = xstrdup(name);
	sem->concurrency = concurrency;
	sem->lock = lock;
	pthread_mutex_init(&sem->mu, NULL);
	return sem;
}

static void
sem_free(struct sem *sem)
{
	pthread_mutex_destroy(&sem->mu);
	free(sem->waiters.a);
	free(sem->name);
	free(sem);
}

struct sem *
limit_find(const char *name)
{
	struct sem	*found = NULL;
	size_t		 i;

	pthread_mutex_lock(&limits_lock);
	for (i = 0; i < nlimits; i++) {
		if (strcmp(limits[i]->name, name) == 0) {
			found = limits[i];
			break;
		}
	}
	pthread_mutex_unlock(&limits_lock);
	return found;
}

struct sem *
lock_get(const char *name)
{
	struct sem	*sem, **bucket = &locks_map[name_hash(name) % LOCK_BUCKETS];

	pthread_mutex_lock(&locks_lock);
	for (sem = *bucket; sem != NULL; sem = sem->next) {
		if (strcmp(sem->name, name) == 0)
			break;
	}
	if (sem == NULL) {
		sem = sem_new(name, 1, true);
		sem->next = *bucket;
		*bucket = sem;
	}
	sem->refs++;
	pthread_mutex_unlock(&locks_lock);
	return sem;
}

/* A lock nobody refers to any more is freed. */
void
lock_put(struct sem *sem)
{
	struct sem	**pp;

	pthread_mutex_lock(&locks_lock);
	if (--sem->refs > 0) {
		pthread_mutex_unlock(&locks_lock);
		return;
	}
	for (pp = &locks_map[name_hash(sem->name) % LOCK_BUCKETS]; *pp != sem;
	    pp = &(*pp)->next)
		;
	*pp = sem->next;
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

static void
sem_waiter_unref(struct sem_waiter *w)
{
	if (atomic_fetch_sub(&w->refs, 1) == 1)
		free(w);
}

bool
sem_acquire(struct sem *sem, struct job *job, struct sem_waiter **wp)
{
	struct sem_waiter	*w;

	pthread_mutex_lock(&sem->mu);
	if (sem->held < sem->concurrency && sem->waiters.n == 0) {
		sem->held++;
		pthread_mutex_unlock(&sem->mu);
		return true;
	}
	w = xcalloc(1, sizeof(*w));
	w->node.key = job->spec->priority;
	w->node.seq = job->reg.id;
	w->sem = sem;
	w->job = job;
	w->loop = job->reg.owner;
	atomic_init(&w->refs, 2);
	heap_push(&sem->waiters, &w->node);
	pthread_mutex_unlock(&sem->mu);
	job_ref(job);		/* for the grant */
	*wp = w;
	return false;
}

static void
sem_grant(void *arg)
{
	job_granted(arg);
}

/* Hand the slot to the best waiter, on its loop, or give it back. */
void
sem_release(struct sem *sem)
{
	struct sem_waiter	*w;

	pthread_mutex_lock(&sem->mu);
	/* Above its concurrency after a reload lowered it: no hand-over. */
	if (sem->waiters.n == 0 || sem->held > sem->concurrency) {
		sem->held--;
		pthread_mutex_unlock(&sem->mu);
		return;
	}
	w = container_of(heap_pop(&sem->waiters), struct sem_waiter, node);
	pthread_mutex_unlock(&sem->mu);
	/* Always a post, even here: granting inline would recurse through
	 * every waiter whose job finishes at once. */
	if (loop_post(w->loop, sem_grant, w) == -1) {
		/* Its loop has stopped: the slot goes back. */
		pthread_mutex_lock(&sem->mu);
		sem->held--;
		pthread_mutex_unlock(&sem->mu);
		sem_waiter_unref(w);
	}
}

/* The job's side: it no longer wants the slot. */
void
sem_cancel(struct sem_waiter *w)
{
	struct sem	*sem = w->sem;
	struct job	*job = w->job;
	bool		 removed = false;

	pthread_mutex_lock(&sem->mu);
	if (w->node.index != 0) {
		heap_remove(&sem->waiters, &w->node);
		removed = true;
	} else
		w->cancelled = true;	/* its grant is on the way */
	pthread_mutex_unlock(&sem->mu);
	if (removed) {
		sem_waiter_unref(w);
		job_unref(job);
	}
	sem_waiter_unref(w);
}

struct job *
sem_waiter_job(struct sem_waiter *w)
{
	return w->job;
}

struct sem *
sem_waiter_sem(struct sem_waiter *w)
{
	return w->sem;
}

/* The grant's side, on the job's loop: true if the job takes the slot. */
bool
sem_waiter_claim(struct sem_waiter *w)
{
	struct sem	*sem = w->sem;
	bool		 cancelled;

	pthread_mutex_lock(&sem->mu);
	cancelled = w->cancelled;
	pthread_mutex_unlock(&sem->mu);
	if (cancelled) {
		sem_waiter_unref(w);
		sem_release(sem);
		return false;
	}
	sem_waiter_unref(w);	/* the grant */
	sem_waiter_unref(w);	/* the job's: job_granted forgets it */
	return true;
}

void
queue_shutdown(void)
{
	struct queue	*q, *qnext;
	struct sem	*sem, *snext;
	size_t		 b, i;

	for (b = 0; b < QUEUE_BUCKETS; b++) {
		for (q = queues_map[b]; q != NULL; q = qnext) {
			qnext = q->next;
			queue_free(q);
		}
		queues_map[b] = NULL;
	}
	for (b = 0; b < LOCK_BUCKETS; b++) {
		for (sem = locks_map[b]; sem != NULL; sem = snext) {
			snext = sem->next;
			sem_free(sem);
		}
		locks_map[b] = NULL;
	}
	for (i = 0; i < nlimits; i++)
		sem_free(limits[i]);
	free(limits);
	limits = NULL;
	nlimits = 0;
}

/* Reloads --------------------------------------------------------------- */

int
queue_configure(const struct config_queue *cq)
{
	struct queue	*q;
	struct loop	*home;

	pthread_mutex_lock(&queues_lock);
	for (q = queues_map[name_hash(cq->name) % QUEUE_BUCKETS]; q != NULL;
	    q = q->next) {
		if (strcmp(q->name, cq->name) == 0)
			break;
	}
	if (q == NULL) {
		queue_create(cq->name, cq);
		pthread_mutex_unlock(&queues_lock);
		return 1;
	}
	q->configured = true;
	atomic_store(&q->max_pending, cq->max_pending);
	if (cq->concurrency == atomic_load(&q->concurrency)) {
		pthread_mutex_unlock(&queues_lock);
		return 0;
	}
	if (q->home == NULL) {
		pthread_mutex_unlock(&queues_lock);
		return -1;
	}
	atomic_store(&q->concurrency, cq->concurrency);
	home = q->home;
	q->refs++;
	pthread_mutex_unlock(&queues_lock);
	/* Its home starts what the new concurrency lets through. */
	if (loop_post(home, queue_kick, q) == -1)
		queue_put(q);
	return 0;
}

/* Waiters are granted, in order, as far as the new concurrency allows. */
static void
sem_resize(struct sem *sem, unsigned int concurrency)
{
	struct sem_waiter	*w;

	pthread_mutex_lock(&sem->mu);
	sem->concurrency = concurrency;
	while (sem->held < sem->concurrency && sem->waiters.n > 0) {
		w = container_of(heap_pop(&sem->waiters), struct sem_waiter, node);
		sem->held++;
		pthread_mutex_unlock(&sem->mu);
		if (loop_post(w->loop, sem_grant, w) == -1) {
			pthread_mutex_lock(&sem->mu);
			sem->held--;
			pthread_mutex_unlock(&sem->mu);
			sem_waiter_unref(w);
		}
		pthread_mutex_lock(&sem->mu);
	}
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
	limits = xreallocarray(limits, nlimits + 1, sizeof(*limits));
	limits[nlimits++] = sem;
	pthread_mutex_unlock(&limits_lock);
	return 1;
}
