/*
 * Thread-safe futures.  State, callbacks and the owner-set links are guarded
 * by one of a small array of striped mutexes (a future is too small and too
 * numerous to carry its own); a thread never holds two of them at once.
 */
#include "autoconf.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "runtime/future.h"
#include "runtime/jsonload.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

struct future_cb {
	struct future_cb	*next;
	struct future		*future;
	struct loop		*loop;
	future_cb		 fn;
	void			*arg;
	const char		*name;
};

struct future {
	_Atomic unsigned int	 refs;
	enum future_state	 state;
	struct loop		*owner;
	json_t			*result;	/* NULL until parsed from text */
	char			*text;		/* immutable once done */
	size_t			 text_len;
	struct error		 error;
	struct future_cb	*cbs;
	struct future_cb	**cbs_tail;

	/* Owner thread only. */
	future_cancel_hook	 hook;
	future_release_fn	 hook_release;
	void			*hook_arg;

	/* In the owner's future_set, guarded by the set's lock. */
	struct future_set	*set;
	struct future		*set_prev;
	struct future		*set_next;
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

/* True if it was in the set (whose reference the caller now drops). */
static bool
future_set_remove(struct future *f, struct loop *owner)
{
	struct future_set	*set;
	bool			 found;

	if (owner == NULL)
		return false;
	set = loop_futures(owner);
	pthread_mutex_lock(&set->lock);
	if ((found = (f->set == set))) {
		if (f->set_prev != NULL)
			f->set_prev->set_next = f->set_next;
		else
			set->head = f->set_next;
		if (f->set_next != NULL)
			f->set_next->set_prev = f->set_prev;
		f->set = NULL;
		set->count--;
	}
	pthread_mutex_unlock(&set->lock);
	return found;
}

struct future *
future_new(struct loop *owner)
{
	struct future		*f = xcalloc(1, sizeof(*f));
	struct future_set	*set;
	bool			 closed = false;

	atomic_init(&f->refs, 1);
	f->state = FUTURE_PENDING;
	f->cbs_tail = &f->cbs;
	f->owner = owner;
	if (owner != NULL) {
		set = loop_futures(owner);
		pthread_mutex_lock(&set->lock);
		if (set->closed)
			closed = true;
		else {
			/* The set holds a reference until the future completes. */
			atomic_store(&f->refs, 2);
			f->set = set;
			f->set_next = set->head;
			if (set->head != NULL)
				set->head->set_prev = f;
			set->head = f;
			set->count++;
		}
		pthread_mutex_unlock(&set->lock);
	}
	if (closed) {
		/* The owner is gone: nobody else could ever complete it. */
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
	struct future_cb	*cb, *next;

	if (f == NULL)
		return;
	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	/* Callbacks and the owner's set hold references: neither is left. */
	for (cb = f->cbs; cb != NULL; cb = next) {
		next = cb->next;
		free(cb);
	}
	if (f->hook_release != NULL)
		f->hook_release(f->hook_arg);
	json_decref(f->result);
	free(f->text);
	error_clear(&f->error);
	free(f);
}

static void
future_cb_run(void *arg)
{
	struct future_cb	*cb = arg;
	struct future		*f = cb->future;

	cb->fn(f, cb->arg);
	free(cb);
	future_unref(f);
}

static void
future_cb_dispatch(struct future_cb *cb)
{
	if (cb->loop == NULL) {
		future_cb_run(cb);
		return;
	}
	/* Never inline: a stopping loop still takes its own posts. */
	if (loop_post_named(cb->loop, future_cb_run, cb, cb->name) == 0)
		return;
	log_debug("future callback dropped: loop %u has stopped",
	    loop_index(cb->loop));
	future_unref(cb->future);
	free(cb);
}

static int
future_complete(struct future *f, enum future_state state, json_t *result,
    char *text, size_t text_len, struct error *error)
{
	struct future_cb	*cbs, *next;
	struct loop		*owner;

	FUTURE_LOCK(f);
	if (f->state != FUTURE_PENDING) {
		FUTURE_UNLOCK(f);
		json_decref(result);
		free(text);
		if (error != NULL)
			error_clear(error);
		return -1;
	}
	f->state = state;
	f->result = result;
	f->text = text;
	f->text_len = text_len;
	if (error != NULL)
		error_move(&f->error, error);
	cbs = f->cbs;
	f->cbs = NULL;
	f->cbs_tail = &f->cbs;
	/* Complete, it needs its owner no more, and may outlive it. */
	owner = f->owner;
	f->owner = NULL;
	FUTURE_UNLOCK(f);

	for (; cbs != NULL; cbs = next) {
		next = cbs->next;
		future_cb_dispatch(cbs);
	}
	if (future_set_remove(f, owner))
		future_unref(f);
	return 0;
}

int
future_set_result(struct future *f, json_t *result)
{
	return future_complete(f, FUTURE_DONE, result != NULL ? result : json_null(),
	    NULL, 0, NULL);
}

int
future_set_view(struct future *f, char *text, size_t len)
{
	return future_complete(f, FUTURE_DONE, NULL, text, len, NULL);
}

int
future_set_error(struct future *f, struct error *error)
{
	if (error->code == NULL)
		error->code = "internal";
	return future_complete(f, FUTURE_FAILED, NULL, NULL, 0, error);
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
	return future_complete(f, FUTURE_FAILED, NULL, NULL, 0, &e);
}

int
future_set_cancelled(struct future *f, const char *reason)
{
	struct error	e = { 0 };

	e.code = "cancelled";
	e.message = xstrdup(reason != NULL ? reason : "cancelled");
	return future_complete(f, FUTURE_CANCELLED, NULL, NULL, 0, &e);
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

void
future_on_done_named(struct future *f, struct loop *loop, future_cb fn,
    void *arg, const char *name)
{
	struct future_cb	*cb = xmalloc(sizeof(*cb));

	cb->next = NULL;
	cb->future = f;
	cb->loop = loop;
	cb->fn = fn;
	cb->arg = arg;
	cb->name = name;
	future_ref(f);

	FUTURE_LOCK(f);
	if (f->state == FUTURE_PENDING) {
		*f->cbs_tail = cb;
		f->cbs_tail = &cb->next;
		FUTURE_UNLOCK(f);
		return;
	}
	FUTURE_UNLOCK(f);
	future_cb_dispatch(cb);
}

/* asyncio remove_done_callback: false if it already ran or is on its way. */
bool
future_remove_done(struct future *f, future_cb fn, void *arg)
{
	struct future_cb	**pp, *cb = NULL;

	FUTURE_LOCK(f);
	for (pp = &f->cbs; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->fn == fn && (*pp)->arg == arg) {
			cb = *pp;
			*pp = cb->next;
			if (f->cbs_tail == &cb->next)
				f->cbs_tail = pp;
			break;
		}
	}
	FUTURE_UNLOCK(f);
	if (cb == NULL)
		return false;
	free(cb);
	future_unref(f);
	return true;
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

	future_on_done(f, NULL, future_waiter_cb, &w);
	pthread_mutex_lock(&w.lock);
	while (!w.done && error == 0) {
		if (timeout < 0)
			pthread_cond_wait(&w.cond, &w.lock);
		else
			error = pthread_cond_timedwait(&w.cond, &w.lock, &deadline);
	}
	pthread_mutex_unlock(&w.lock);

	if (!w.done && !future_remove_done(f, future_waiter_cb, &w)) {
		/* Completion raced the timeout: the callback is about to run. */
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
	json_t		*result = NULL, *parsed;
	const char	*text = NULL;

	FUTURE_LOCK(f);
	if (f->state == FUTURE_DONE) {
		result = f->result;
		text = f->text;
	}
	FUTURE_UNLOCK(f);
	if (result != NULL || text == NULL)
		return result;
	/* Parsed once, outside the lock; a thread that loses the race drops its
	 * copy, which nobody else has seen. */
	if ((parsed = json_load_line(text, f->text_len, 0, NULL)) == NULL)
		parsed = json_null();
	FUTURE_LOCK(f);
	if (f->result == NULL) {
		f->result = parsed;
		parsed = NULL;
	}
	result = f->result;
	FUTURE_UNLOCK(f);
	json_decref(parsed);
	return result;
}

const char *
future_text(struct future *f, size_t *len)
{
	const char	*text = NULL;

	FUTURE_LOCK(f);
	if (f->state == FUTURE_DONE) {
		text = f->text;
		*len = f->text_len;
	}
	FUTURE_UNLOCK(f);
	return text;
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

void
future_set_init(struct future_set *set)
{
	pthread_mutex_init(&set->lock, NULL);
	set->head = NULL;
	set->closed = false;
	set->count = 0;
}

/*
 * The owner is stopping: fail every pending future it owns with
 * shutting_down, then give each cancel hook a chance to release the work
 * behind it (its own completion attempt finds the future already failed).
 */
void
future_set_close(struct future_set *set)
{
	struct future	**all, *f;
	size_t		  n = 0, i;

	/* Detached futures keep the set's reference, now ours to drop. */
	pthread_mutex_lock(&set->lock);
	set->closed = true;
	all = xcalloc(set->count, sizeof(*all));
	while ((f = set->head) != NULL) {
		set->head = f->set_next;
		f->set = NULL;
		f->set_prev = f->set_next = NULL;
		all[n++] = f;
	}
	set->count = 0;
	pthread_mutex_unlock(&set->lock);

	for (i = 0; i < n; i++) {
		f = all[i];
		if (future_fail(f, "shutting_down", "its loop has stopped") == 0 &&
		    f->hook != NULL)
			f->hook(f, f->hook_arg, "shutting_down");
		future_unref(f);
	}
	free(all);
}

void
future_set_destroy(struct future_set *set)
{
	pthread_mutex_destroy(&set->lock);
}
