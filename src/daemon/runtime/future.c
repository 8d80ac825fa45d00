/*
 * Thread-safe futures.  State, callbacks and the owner-set links are guarded
 * by one of a small array of striped mutexes (a future is too small and too
 * numerous to carry its own); a thread never holds two of them at once.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/future.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

/*
 * A done callback.  Its references: one for the callback (until it has run,
 * been dropped or been removed) and one for a handle, if it was asked for
 * (until future_remove_done()).  `listed` says, under the future's lock,
 * whether it is still in the future's list, from which a handle removes it
 * at once: a client that leaves tens of thousands of waits on one job must
 * not make dropping them quadratic.
 */
struct future_link {
	TAILQ_ENTRY(future_link)	 entry;
	struct future			*future;
	struct loop			*loop;
	future_cb			 fn;
	void				*arg;
	const char			*name;
	atomic_uint			 refs;
	bool				 listed;
};

TAILQ_HEAD(future_links, future_link);

struct future {
	_Atomic unsigned int	 refs;
	enum future_state	 state;
	struct loop		*owner;
	json_t			*result;	/* immutable once done */
	void			*value;		/* or this, with its release */
	future_release_fn	 value_release;
	struct error		 error;
	struct future_links	 links;		/* callbacks, in order */

	/* Owner thread only. */
	future_cancel_hook	 hook;
	future_release_fn	 hook_release;
	void			*hook_arg;

	/* While pending, in what its owner loop owns (loop_own). */
	struct loop_owned	 owned;
};

#define FUTURE_LOCKS	64
#define FUTURE_WAIT_MAX	(86400.0 * 366)
static pthread_mutex_t	future_locks[FUTURE_LOCKS] = {
	[0 ... FUTURE_LOCKS - 1] = PTHREAD_MUTEX_INITIALIZER
};

static pthread_mutex_t *
future_lock_of(const struct future *f)
{
	uintptr_t	h = (uintptr_t)f;

	h ^= h >> 12;
	return &future_locks[(h >> 6) % FUTURE_LOCKS];
}

#define FUTURE_LOCK(f)		pthread_mutex_lock(future_lock_of(f))
#define FUTURE_UNLOCK(f)	pthread_mutex_unlock(future_lock_of(f))

static void	future_owned_close(struct loop_owned *);

struct future *
future_new(struct loop *owner)
{
	struct future	*f = xcalloc(1, sizeof(*f));

	/* The owner holds a reference until the future completes. */
	atomic_init(&f->refs, owner != NULL ? 2 : 1);
	f->state = FUTURE_PENDING;
	TAILQ_INIT(&f->links);
	f->owner = owner;
	f->owned.close = future_owned_close;
	if (owner != NULL && loop_own(owner, &f->owned) == -1) {
		/* The owner is gone: nobody else could ever complete it. */
		atomic_store(&f->refs, 1);
		f->owner = NULL;
		future_fail(f, "shutting_down", "loop %u has stopped",
		    loop_index(owner));
	}
	return f;
}

void
future_ref(struct future *f)
{
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

void
future_unref(struct future *f)
{
	if (f == NULL)
		return;
	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* Callbacks and the owner's set hold references: neither is left. */
	if (!TAILQ_EMPTY(&f->links))
		fatalx("future freed with callbacks registered");
	if (f->hook_release != NULL)
		f->hook_release(f->hook_arg);
	json_decref(f->result);
	if (f->value_release != NULL)
		f->value_release(f->value);
	error_clear(&f->error);
	free(f);
}

static void
future_link_release(struct future_link *l)
{
	if (atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) == 1)
		free(l);
}

/* Nothing of the link is touched once fn has run but its release: fn may
 * free what its argument points to. */
static void
future_cb_run(void *arg)
{
	struct future_link	*l = arg;
	struct future		*f = l->future;

	l->fn(f, l->arg);
	future_link_release(l);
	future_unref(f);
}

static void
future_cb_dispatch(struct future_link *l)
{
	struct future	*f = l->future;

	if (l->loop == NULL) {
		future_cb_run(l);
		return;
	}
	/* Never inline: a stopping loop still takes its own posts. */
	if (loop_post_named(l->loop, future_cb_run, l, l->name) == 0)
		return;
	log_debug("future callback dropped: loop %u has stopped",
	    loop_index(l->loop));
	future_link_release(l);
	future_unref(f);
}

static int
future_complete(struct future *f, enum future_state state, json_t *result,
    void *value, future_release_fn release, struct error *error)
{
	struct future_links	 run;
	struct future_link	*l, *next;
	struct loop		*owner;

	FUTURE_LOCK(f);
	if (f->state != FUTURE_PENDING) {
		FUTURE_UNLOCK(f);
		json_decref(result);
		if (release != NULL)
			release(value);
		if (error != NULL)
			error_clear(error);
		return -1;
	}
	f->state = state;
	f->result = result;
	f->value = value;
	f->value_release = release;
	if (error != NULL)
		error_move(&f->error, error);
	/* Out of the list, none can be removed: each runs, once. */
	TAILQ_FOREACH(l, &f->links, entry)
		l->listed = false;
	TAILQ_INIT(&run);
	TAILQ_CONCAT(&run, &f->links, entry);
	/* Complete, it needs its owner no more, and may outlive it. */
	owner = f->owner;
	f->owner = NULL;
	FUTURE_UNLOCK(f);

	/* The next one first: a link dispatched may be freed at once. */
	for (l = TAILQ_FIRST(&run); l != NULL; l = next) {
		next = TAILQ_NEXT(l, entry);
		future_cb_dispatch(l);
	}
	if (owner != NULL && loop_disown(owner, &f->owned))
		future_unref(f);
	return 0;
}

int
future_set_result(struct future *f, json_t *result)
{
	return future_complete(f, FUTURE_DONE, result != NULL ? result : json_null(),
	    NULL, NULL, NULL);
}

int
future_set_value(struct future *f, void *value, future_release_fn release)
{
	return future_complete(f, FUTURE_DONE, NULL, value, release, NULL);
}

int
future_set_error(struct future *f, struct error *error)
{
	if (error->code == NULL)
		error->code = "internal";
	return future_complete(f, FUTURE_FAILED, NULL, NULL, NULL, error);
}

int
future_fail(struct future *f, const char *code, const char *fmt, ...)
{
	struct error	e = { 0 };
	va_list		ap;

	e.code = code;
	va_start(ap, fmt);
	if (vasprintf(&e.message, fmt, ap) == -1)
		fatal("future_fail");
	va_end(ap);
	return future_complete(f, FUTURE_FAILED, NULL, NULL, NULL, &e);
}

int
future_set_cancelled(struct future *f, const char *reason)
{
	struct error	e = { 0 };

	e.code = "cancelled";
	e.message = xstrdup(reason != NULL ? reason : "cancelled");
	return future_complete(f, FUTURE_CANCELLED, NULL, NULL, NULL, &e);
}

void
future_set_cancel_hook(struct future *f, future_cancel_hook hook,
    future_release_fn release, void *arg)
{
	f->hook = hook;
	f->hook_release = release;
	f->hook_arg = arg;
}

/*
 * On the owner's thread (or any thread for an unowned future).  Without a
 * hook the cancel is the outcome, if it wins; with one, it is a request.
 */
static bool
future_cancel_here(struct future *f, const char *reason)
{
	if (future_done(f))
		return false;
	if (f->hook == NULL)
		return future_set_cancelled(f, reason) == 0;
	f->hook(f, f->hook_arg, reason);
	return true;
}

struct future_cancel_req {
	struct future	*future;
	char		*reason;
};

static void
future_cancel_run(void *arg)
{
	struct future_cancel_req	*req = arg;

	(void)future_cancel_here(req->future, req->reason);
	future_unref(req->future);
	free(req->reason);
	free(req);
}

/*
 * Request cancellation from any thread.  True if the request was made; the
 * outcome is then up to the owner's hook, or for a future with neither owner
 * nor hook, true means it is now cancelled.  False if the future was already
 * complete or its owner has stopped.
 */
bool
future_cancel(struct future *f, const char *reason)
{
	struct future_cancel_req	*req;
	struct loop			*owner;

	FUTURE_LOCK(f);
	if (f->state != FUTURE_PENDING) {
		FUTURE_UNLOCK(f);
		return false;
	}
	owner = f->owner;
	FUTURE_UNLOCK(f);

	if (owner == NULL || loop_is_current(owner))
		return future_cancel_here(f, reason);
	req = xmalloc(sizeof(*req));
	req->future = f;
	req->reason = reason != NULL ? xstrdup(reason) : NULL;
	future_ref(f);
	if (loop_post(owner, future_cancel_run, req) == -1) {
		future_unref(f);
		free(req->reason);
		free(req);
		return false;
	}
	return true;
}

static struct future_link *
future_link_add(struct future *f, struct loop *loop, future_cb fn, void *arg,
    const char *name, unsigned int refs)
{
	struct future_link	*l = xmalloc(sizeof(*l));

	l->future = f;
	l->loop = loop;
	l->fn = fn;
	l->arg = arg;
	l->name = name;
	atomic_init(&l->refs, refs);
	future_ref(f);

	FUTURE_LOCK(f);
	if (f->state == FUTURE_PENDING) {
		l->listed = true;
		TAILQ_INSERT_TAIL(&f->links, l, entry);
		FUTURE_UNLOCK(f);
		return l;
	}
	l->listed = false;
	FUTURE_UNLOCK(f);
	future_cb_dispatch(l);
	return l;
}

void
future_on_done_named(struct future *f, struct loop *loop, future_cb fn,
    void *arg, const char *name)
{
	(void)future_link_add(f, loop, fn, arg, name, 1);
}

struct future_link *
future_on_done_handle_named(struct future *f, struct loop *loop, future_cb fn,
    void *arg, const char *name)
{
	return future_link_add(f, loop, fn, arg, name, 2);
}

/*
 * asyncio remove_done_callback, by handle, in constant time: false if it
 * already ran or is on its way.  The handle is given back either way.
 */
bool
future_remove_done(struct future *f, struct future_link *l)
{
	bool	removed;

	if (l == NULL)
		return false;
	if (l->future != f)
		fatalx("future_remove_done: a handle of another future");
	FUTURE_LOCK(f);
	if ((removed = l->listed)) {
		TAILQ_REMOVE(&f->links, l, entry);
		l->listed = false;
	}
	FUTURE_UNLOCK(f);
	if (removed) {
		future_link_release(l);		/* the callback's, never to run */
		future_unref(f);
	}
	future_link_release(l);			/* the handle's */
	return removed;
}

struct future_waiter {
	pthread_mutex_t	lock;
	pthread_cond_t	cond;
	bool		done;
};

static void
future_waiter_cb(struct future *f, void *arg)
{
	struct future_waiter	*w = arg;

	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/*
 * Block until the future completes or `timeout` seconds pass (< 0: forever).
 * For threads that are not loops: tests, shutdown.  Returns the state, which
 * is FUTURE_PENDING on timeout.
 */
enum future_state
future_wait(struct future *f, double timeout)
{
	struct future_waiter	w = { .done = false };
	struct future_link	*l;
	struct timespec		deadline;
	pthread_condattr_t	attr;
	int			error = 0;

	if (!(timeout < FUTURE_WAIT_MAX))	/* NaN and huge: forever */
		timeout = -1;
	pthread_mutex_init(&w.lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cond, &attr);
	pthread_condattr_destroy(&attr);

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timeout >= 0) {
		deadline.tv_sec += (time_t)timeout;
		deadline.tv_nsec += (long)((timeout - (time_t)timeout) * 1e9);
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}

	l = future_on_done_handle(f, NULL, future_waiter_cb, &w);
	pthread_mutex_lock(&w.lock);
	while (!w.done && error == 0) {
		if (timeout < 0)
			pthread_cond_wait(&w.cond, &w.lock);
		else
			error = pthread_cond_timedwait(&w.cond, &w.lock, &deadline);
	}
	pthread_mutex_unlock(&w.lock);

	if (!future_remove_done(f, l)) {
		/* It ran, or completion raced the timeout and it is about to. */
		pthread_mutex_lock(&w.lock);
		while (!w.done)
			pthread_cond_wait(&w.cond, &w.lock);
		pthread_mutex_unlock(&w.lock);
	}
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return future_state(f);
}

enum future_state
future_state(struct future *f)
{
	enum future_state	state;

	FUTURE_LOCK(f);
	state = f->state;
	FUTURE_UNLOCK(f);
	return state;
}

bool
future_done(struct future *f)
{
	return future_state(f) != FUTURE_PENDING;
}

json_t *
future_result(struct future *f)
{
	return future_state(f) == FUTURE_DONE ? f->result : NULL;
}

void *
future_value(struct future *f)
{
	return future_state(f) == FUTURE_DONE ? f->value : NULL;
}

const struct error *
future_error(struct future *f)
{
	enum future_state	state = future_state(f);

	if (state == FUTURE_FAILED || state == FUTURE_CANCELLED)
		return &f->error;
	return NULL;
}

const char *
future_state_name(enum future_state state)
{
	switch (state) {
	case FUTURE_PENDING:
		return "pending";
	case FUTURE_DONE:
		return "done";
	case FUTURE_FAILED:
		return "failed";
	case FUTURE_CANCELLED:
		return "cancelled";
	}
	return "unknown";
}

/*
 * The owner is stopping: fail the future with shutting_down, then give its
 * cancel hook a chance to release the work behind it (its own completion
 * attempt finds the future already failed).  The owner's reference is ours
 * to drop.
 */
static void
future_owned_close(struct loop_owned *o)
{
	struct future	*f = (struct future *)(void *)((char *)o -
			    offsetof(struct future, owned));

	if (future_fail(f, "shutting_down", "its loop has stopped") == 0 &&
	    f->hook != NULL)
		f->hook(f, f->hook_arg, "shutting_down");
	future_unref(f);
}

struct future_submission {
	void		(*fn)(struct future *, void *);
	void		*arg;
	struct future	*future;
};

static void
future_submit_run(void *arg)
{
	struct future_submission	*s = arg;

	s->fn(s->future, s->arg);
	future_unref(s->future);
	free(s);
}

/*
 * run_coroutine_threadsafe: run fn(future, arg) on the loop, which owns the
 * future and must complete it.  NULL if the loop has stopped; fn then never
 * runs and arg stays the caller's.
 */
struct future *
future_submit_named(struct loop *loop, void (*fn)(struct future *, void *),
    void *arg, const char *name)
{
	struct future_submission	*s = xmalloc(sizeof(*s));
	struct future			*f = future_new(loop);

	s->fn = fn;
	s->arg = arg;
	s->future = f;
	future_ref(f);
	if (loop_post_named(loop, future_submit_run, s, name) == -1) {
		future_unref(f);
		future_unref(f);
		free(s);
		return NULL;
	}
	return f;
}

struct sleeper {
	struct loop_event	 timer;
	struct future		*future;
};

static void
sleeper_free(struct sleeper *s)
{
	event_del(&s->timer.ev);
	future_unref(s->future);
	free(s);
}

static void
sleeper_fire(evutil_socket_t fd, short what, void *arg)
{
	struct sleeper	*s = arg;

	future_set_result(s->future, json_null());
	sleeper_free(s);
}

static void
sleeper_cancel(struct future *f, void *arg, const char *reason)
{
	future_set_cancelled(f, reason);
	sleeper_free(arg);
}

struct future *
future_sleep(double seconds)
{
	struct loop	*loop = loop_current();
	struct sleeper	*s;
	struct future	*f;
	struct timeval	 tv;

	if (loop == NULL)
		fatalx("future_sleep called off a loop");
	/* Past the final sweep the future is born failed: no timer then. */
	if (future_done(f = future_new(loop)))
		return f;
	s = xmalloc(sizeof(*s));
	s->future = f;
	future_ref(f);
	future_set_cancel_hook(f, sleeper_cancel, NULL, s);
	seconds_to_timeval(seconds, &tv);
	loop_event_assign(&s->timer, loop, -1, 0, sleeper_fire, s);
	event_add(&s->timer.ev, &tv);
	return f;
}
