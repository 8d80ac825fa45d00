/*
 * A grant travels as a post to the waiter's loop, and the waiter may be
 * withdrawn meanwhile (its job cancelled).  So a waiter is its own small
 * object with three fates, decided under the table's lock: withdrawn while
 * queued (freed by the canceller); withdrawn with its grant in flight
 * (`abandoned`: the grant, when it runs, gives the slot back); or granted to
 * a loop that has stopped (`lost`: the canceller, which the loop's shutdown
 * runs, gives the slot back).
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/hostlimit.h"
#include "runtime/loop.h"
#include "runtime/util.h"

#define HOSTLIMIT_BUCKETS	256

struct hostlimit_wait {
	TAILQ_ENTRY(hostlimit_wait) entry;
	char			*key;
	struct loop		*loop;
	hostlimit_fn		 granted;
	void			*arg;
	bool			 queued;
	bool			 abandoned;
	bool			 lost;
};
TAILQ_HEAD(hostlimit_waits, hostlimit_wait);

struct hostlimit_slot {
	struct hostlimit_slot	*next;
	char			*key;
	unsigned int		 active;
	unsigned int		 limit;
	unsigned int		 waiting;
	struct hostlimit_waits	 waits;
};

static pthread_mutex_t		 hostlimit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hostlimit_slot	*hostlimit_table[HOSTLIMIT_BUCKETS];

static struct hostlimit_slot **
hostlimit_find(const char *key)
{
	struct hostlimit_slot	**sp;
	uint32_t		  h = 2166136261u;	/* FNV-1a */
	const unsigned char	 *p;

	for (p = (const unsigned char *)key; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	for (sp = &hostlimit_table[h % HOSTLIMIT_BUCKETS]; *sp != NULL;
	    sp = &(*sp)->next) {
		if (strcmp((*sp)->key, key) == 0)
			break;
	}
	return sp;
}

static void
hostlimit_wait_free(struct hostlimit_wait *w)
{
	free(w->key);
	free(w);
}

int
hostlimit_acquire(const char *key, unsigned int limit, struct loop *loop,
    hostlimit_fn granted, void *arg, struct hostlimit_wait **wait)
{
	struct hostlimit_slot	**sp, *s;
	struct hostlimit_wait	 *w;

	pthread_mutex_lock(&hostlimit_lock);
	sp = hostlimit_find(key);
	if ((s = *sp) == NULL) {
		s = *sp = xcalloc(1, sizeof(*s));
		s->key = xstrdup(key);
		TAILQ_INIT(&s->waits);
	}
	s->limit = limit;
	if (s->active < limit) {
		s->active++;
		pthread_mutex_unlock(&hostlimit_lock);
		*wait = NULL;
		return 1;
	}
	w = xcalloc(1, sizeof(*w));
	w->key = xstrdup(key);
	w->loop = loop;
	w->granted = granted;
	w->arg = arg;
	w->queued = true;
	TAILQ_INSERT_TAIL(&s->waits, w, entry);
	s->waiting++;
	pthread_mutex_unlock(&hostlimit_lock);
	*wait = w;
	return 0;
}

/* On the waiter's loop: the slot is its, unless it was withdrawn meanwhile. */
static void
hostlimit_grant(void *arg)
{
	struct hostlimit_wait	*w = arg;
	hostlimit_fn		 granted = w->granted;
	void			*garg = w->arg;
	bool			 abandoned;

	pthread_mutex_lock(&hostlimit_lock);
	abandoned = w->abandoned;
	pthread_mutex_unlock(&hostlimit_lock);
	if (abandoned) {
		hostlimit_release(w->key);
		hostlimit_wait_free(w);
		return;
	}
	hostlimit_wait_free(w);
	granted(garg);
}

void
hostlimit_release(const char *key)
{
	struct hostlimit_slot	**sp, *s;
	struct hostlimit_wait	 *w;

	pthread_mutex_lock(&hostlimit_lock);
	sp = hostlimit_find(key);
	if ((s = *sp) == NULL) {
		pthread_mutex_unlock(&hostlimit_lock);
		return;
	}
	while ((w = TAILQ_FIRST(&s->waits)) != NULL) {
		/* Hand the slot over: `active` stays as it is. */
		TAILQ_REMOVE(&s->waits, w, entry);
		s->waiting--;
		w->queued = false;
		pthread_mutex_unlock(&hostlimit_lock);
		if (loop_post(w->loop, hostlimit_grant, w) == 0)
			return;
		pthread_mutex_lock(&hostlimit_lock);
		if (!w->abandoned) {
			w->lost = true;
			pthread_mutex_unlock(&hostlimit_lock);
			return;
		}
		hostlimit_wait_free(w);		/* and try the next one */
	}
	if (--s->active == 0) {
		*sp = s->next;
		free(s->key);
		free(s);
	}
	pthread_mutex_unlock(&hostlimit_lock);
}

void
hostlimit_cancel(struct hostlimit_wait *w)
{
	struct hostlimit_slot	**sp, *s;

	pthread_mutex_lock(&hostlimit_lock);
	if (w->queued) {
		sp = hostlimit_find(w->key);
		s = *sp;
		TAILQ_REMOVE(&s->waits, w, entry);
		s->waiting--;
		pthread_mutex_unlock(&hostlimit_lock);
		hostlimit_wait_free(w);
		return;
	}
	if (w->lost) {
		pthread_mutex_unlock(&hostlimit_lock);
		hostlimit_release(w->key);
		hostlimit_wait_free(w);
		return;
	}
	w->abandoned = true;		/* hostlimit_grant gives the slot back */
	pthread_mutex_unlock(&hostlimit_lock);
}

void
hostlimit_count(const char *key, unsigned int *active, unsigned int *waiting)
{
	struct hostlimit_slot	*s;

	pthread_mutex_lock(&hostlimit_lock);
	s = *hostlimit_find(key);
	*active = s != NULL ? s->active : 0;
	*waiting = s != NULL ? s->waiting : 0;
	pthread_mutex_unlock(&hostlimit_lock);
}
