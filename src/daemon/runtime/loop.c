/*
 * Event loops (memcached's thread.c, asyncio's call_soon_threadsafe).
 *
 * Each loop is a thread running its own event_base, created with
 * EVENT_BASE_FLAG_NOLOCK: only that thread ever touches the base.  The inbox is
 * a mutex-guarded array of calls plus an eventfd.  A post signals the eventfd
 * only when the inbox goes from empty to non-empty; the loop swaps the whole
 * array out under the lock and runs the calls unlocked, at most
 * LOOP_BATCH_MAX per pass so that a flood cannot starve I/O.
 *
 * Stopping closes the inbox: later posts fail, calls already queued still
 * run, then the loop fails the futures it owns with shutting_down and exits.
 */
#include "autoconf.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

#define LOOP_BATCH_MAX	1024

struct post {
	loop_fn		 fn;
	void		*arg;
	const char	*name;
};

enum loop_state {
	LOOP_NEW,
	LOOP_RUNNING,
	LOOP_CLOSED,		/* inbox closed, still draining */
	LOOP_DONE,
};

struct loop {
	unsigned int		 index;
	struct event_base	*base;
	pthread_t		 thread;
	bool			 started;	/* under lock */
	int			 efd;
	struct event		*wake;

	pthread_mutex_t		 lock;		/* inbox, state */
	pthread_cond_t		 cond;		/* state changes */
	enum loop_state		 state;
	struct post		*inbox;
	size_t			 inbox_len;
	size_t			 inbox_cap;
	uint64_t		 inbox_since;	/* when the inbox went non-empty */

	/* Loop thread only. */
	struct post		*run;
	size_t			 run_len;
	size_t			 run_cap;
	size_t			 run_pos;
	bool			 draining;
	bool			 owned_closed;	/* the owned have been told */
	bool			 finished;	/* stop: leave the event loop */
	unsigned long		 activity;	/* callbacks run, for spinning */

	/* What the loop owns that must hear of its stop: under owned_lock. */
	pthread_mutex_t		 owned_lock;
	struct loop_owned	*owned;
	size_t			 nowned;
	bool			 owned_refused;

	_Atomic uint64_t	 posts;
	_Atomic uint64_t	 passes;
	_Atomic uint64_t	 lag_last_ns;
	_Atomic uint64_t	 lag_max_ns;
	_Atomic uint64_t	 slow_callbacks;
};

static __thread struct loop	*loop_self;
static _Atomic uint64_t		 loop_slow_ns;
static atomic_bool		 loop_slow_coarse;	/* time callbacks coarsely */
static _Atomic uint64_t		 loop_spin_ns;

static void	loop_wake_cb(evutil_socket_t, short, void *);
static void	loop_close_owned(struct loop *);

struct loop *
loop_new(unsigned int index)
{
	struct loop		*loop = xcalloc(1, sizeof(*loop));
	struct event_config	*cfg;

	loop->index = index;
	if ((cfg = event_config_new()) == NULL)
		fatalx("event_config_new");
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
	/* Timers count from now, not from the start of the pass: a job must not
	 * finish its sleep early because the pass that armed it was long. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_NO_CACHE_TIME);
	/* Timers to the microsecond (a timerfd), not rounded up to the next
	 * millisecond as epoll_wait's timeout would. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	if ((loop->base = event_base_new_with_config(cfg)) == NULL)
		fatalx("event_base_new_with_config");
	event_config_free(cfg);

	if ((loop->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("eventfd");
	loop->wake = event_new(loop->base, loop->efd, EV_READ | EV_PERSIST,
	    loop_wake_cb, loop);
	if (loop->wake == NULL || event_add(loop->wake, NULL) == -1)
		fatalx("loop %u: wake event", index);

	pthread_mutex_init(&loop->lock, NULL);
	pthread_cond_init(&loop->cond, NULL);
	pthread_mutex_init(&loop->owned_lock, NULL);
	return loop;
}

static void
loop_signal(struct loop *loop)
{
	uint64_t	one = 1;

	if (write(loop->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("loop %u: eventfd write", loop->index);
}

/*
 * After a pass that did work, poll without blocking for up to loop_spin_ns
 * before sleeping in epoll_wait.  Waking a sleeping thread costs a VM exit
 * (~20 us on a guest that does not halt-poll); a loop that is answered
 * within the window sees the answer in about a microsecond instead.  Any new
 * work extends the window; the cost is bounded CPU after each burst.
 */
static void
loop_spin(struct loop *loop)
{
	uint64_t	spin = atomic_load_explicit(&loop_spin_ns, memory_order_relaxed);
	uint64_t	deadline;

	if (spin == 0)
		return;
	deadline = now_ns() + spin;
	while (!loop->finished) {
		unsigned long	seen = loop->activity;
		uint64_t	now;

		if (event_base_loop(loop->base, EVLOOP_NONBLOCK) == -1)
			fatalx("loop %u: event_base_loop failed", loop->index);
		now = now_ns();
		if (loop->activity != seen)
			deadline = now + spin;
		else if (now >= deadline)
			break;
	}
}

static void
loop_set_state(struct loop *loop, enum loop_state state)
{
	pthread_mutex_lock(&loop->lock);
	loop->state = state;
	pthread_cond_broadcast(&loop->cond);
	pthread_mutex_unlock(&loop->lock);
}

static void *
loop_main(void *arg)
{
	struct loop	*loop = arg;

	loop_self = loop;
	pthread_mutex_lock(&loop->lock);
	if (loop->state == LOOP_NEW)
		loop->state = LOOP_RUNNING;
	pthread_cond_broadcast(&loop->cond);
	pthread_mutex_unlock(&loop->lock);

	/* A stop before we got here left a signal on the eventfd. */
	while (!loop->finished) {
		unsigned long	seen = loop->activity;

		if (event_base_loop(loop->base, EVLOOP_ONCE) == -1)
			fatalx("loop %u: event_base_loop failed", loop->index);
		if (loop->activity != seen)
			loop_spin(loop);
	}

	loop_set_state(loop, LOOP_DONE);
	loop_self = NULL;
	return NULL;
}

int
loop_start(struct loop *loop)
{
	int	error;

	pthread_mutex_lock(&loop->lock);
	loop->started = true;
	pthread_mutex_unlock(&loop->lock);
	/* The main thread owns the signals. */
	if ((error = thread_create_quiet(&loop->thread, loop_main, loop)) != 0) {
		pthread_mutex_lock(&loop->lock);
		loop->started = false;
		pthread_mutex_unlock(&loop->lock);
		errno = error;
		return -1;
	}

	pthread_mutex_lock(&loop->lock);
	while (loop->state == LOOP_NEW)
		pthread_cond_wait(&loop->cond, &loop->lock);
	pthread_mutex_unlock(&loop->lock);
	return 0;
}

void
loop_stop(struct loop *loop)
{
	bool	never_started;

	pthread_mutex_lock(&loop->lock);
	never_started = !loop->started && loop->state == LOOP_NEW;
	if (loop->state < LOOP_CLOSED)
		loop->state = never_started ? LOOP_DONE : LOOP_CLOSED;
	pthread_mutex_unlock(&loop->lock);

	if (never_started)
		loop_close_owned(loop);
	else
		loop_signal(loop);
}

void
loop_join(struct loop *loop)
{
	bool	started;

	pthread_mutex_lock(&loop->lock);
	started = loop->started;
	loop->started = false;
	pthread_mutex_unlock(&loop->lock);
	if (started)
		pthread_join(loop->thread, NULL);
}

void
loop_free(struct loop *loop)
{
	if (loop == NULL)
		return;
	event_free(loop->wake);
	close(loop->efd);
	event_base_free(loop->base);
	pthread_mutex_destroy(&loop->owned_lock);
	pthread_mutex_destroy(&loop->lock);
	pthread_cond_destroy(&loop->cond);
	free(loop->inbox);
	free(loop->run);
	free(loop);
}

int
loop_post_named(struct loop *loop, loop_fn fn, void *arg, const char *name)
{
	bool	self = (loop_self == loop);
	bool	was_empty;

	/* A stopping loop still takes its own posts until it is done. */
	pthread_mutex_lock(&loop->lock);
	if (loop->state == LOOP_DONE || (loop->state == LOOP_CLOSED && !self)) {
		pthread_mutex_unlock(&loop->lock);
		errno = ESHUTDOWN;
		return -1;
	}
	if (loop->inbox_len == loop->inbox_cap) {
		loop->inbox_cap = loop->inbox_cap ? loop->inbox_cap * 2 : 64;
		loop->inbox = xreallocarray(loop->inbox, loop->inbox_cap,
		    sizeof(*loop->inbox));
	}
	was_empty = (loop->inbox_len == 0);
	loop->inbox[loop->inbox_len].fn = fn;
	loop->inbox[loop->inbox_len].arg = arg;
	loop->inbox[loop->inbox_len].name = name;
	loop->inbox_len++;
	if (was_empty)
		loop->inbox_since = now_ns();
	pthread_mutex_unlock(&loop->lock);

	if (!was_empty)
		return 0;
	/* A loop posting to itself while draining is seen at the pass's end. */
	if (!self)
		loop_signal(loop);
	else if (!loop->draining)
		event_active(loop->wake, EV_READ, 0);
	return 0;
}

/*
 * The clock that times callbacks for the slow-callback warning.  Every
 * callback is timed, so when the limit is far above the coarse clock's
 * resolution (a few milliseconds against the usual 100), the coarse clock,
 * a memory read, does instead of a full clock read.
 */
static uint64_t
loop_slow_clock(void)
{
	struct timespec	ts;

	if (!atomic_load_explicit(&loop_slow_coarse, memory_order_relaxed))
		return now_ns();
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* asyncio debug mode: name a callback that held the loop too long. */
static void
loop_check_slow(const char *name, uint64_t start)
{
	uint64_t	limit = atomic_load_explicit(&loop_slow_ns, memory_order_relaxed);
	uint64_t	end = loop_slow_clock();
	/* A reload may switch clocks between start and end: never negative. */
	uint64_t	took = end > start ? end - start : 0;

	if (limit == 0 || took < limit)
		return;
	if (loop_self != NULL) {
		atomic_fetch_add_explicit(&loop_self->slow_callbacks, 1,
		    memory_order_relaxed);
	}
	log_warnx("loop %u: slow callback %s took %.1f ms",
	    loop_self != NULL ? loop_self->index : 0, name, took / 1e6);
}

/*
 * The inbox is closed and empty.  First close what this loop owns (its
 * pending futures fail); their callbacks and cancel hooks may post to this
 * loop, so drain once more.
 * Then the loop is done.
 */
static void
loop_finish(struct loop *loop)
{
	if (!loop->owned_closed) {
		loop->owned_closed = true;
		loop_close_owned(loop);
		loop_signal(loop);
		return;
	}
	pthread_mutex_lock(&loop->lock);
	loop->state = LOOP_DONE;
	pthread_mutex_unlock(&loop->lock);
	loop->finished = true;
	event_base_loopbreak(loop->base);
}

static void
loop_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop	*loop = arg;
	struct post	*p, *swap;
	uint64_t	 value, since = 0, lag;
	size_t		 n, cap;
	bool		 more, closed;
	bool		 timed = atomic_load_explicit(&loop_slow_ns,
			    memory_order_relaxed) != 0;

	(void)!read(loop->efd, &value, sizeof(value));
	loop->activity++;

	if (loop->run_pos == loop->run_len) {
		pthread_mutex_lock(&loop->lock);
		swap = loop->run;
		cap = loop->run_cap;
		loop->run = loop->inbox;
		loop->run_cap = loop->inbox_cap;
		loop->run_len = loop->inbox_len;
		loop->inbox = swap;
		loop->inbox_cap = cap;
		loop->inbox_len = 0;
		since = loop->inbox_since;
		pthread_mutex_unlock(&loop->lock);
		loop->run_pos = 0;

		if (loop->run_len != 0) {
			lag = now_ns() - since;
			atomic_store_explicit(&loop->lag_last_ns, lag,
			    memory_order_relaxed);
			if (lag > atomic_load_explicit(&loop->lag_max_ns,
			    memory_order_relaxed))
				atomic_store_explicit(&loop->lag_max_ns, lag,
				    memory_order_relaxed);
		}
	}

	n = loop->run_len - loop->run_pos;
	if (n > LOOP_BATCH_MAX)
		n = LOOP_BATCH_MAX;
	atomic_fetch_add_explicit(&loop->posts, n, memory_order_relaxed);
	if (n > 0)
		atomic_fetch_add_explicit(&loop->passes, 1, memory_order_relaxed);
	loop->draining = true;
	for (; n > 0; n--) {
		p = &loop->run[loop->run_pos++];
		if (timed) {
			uint64_t	start = loop_slow_clock();

			p->fn(p->arg);
			loop_check_slow(p->name, start);
		} else
			p->fn(p->arg);
	}
	loop->draining = false;

	pthread_mutex_lock(&loop->lock);
	more = loop->inbox_len != 0;
	closed = loop->state == LOOP_CLOSED;
	pthread_mutex_unlock(&loop->lock);

	/*
	 * More to do: go round through the eventfd, so that I/O is polled
	 * before the next pass.  The read above may have eaten the signal of
	 * a post that is still in the inbox, so a non-empty inbox counts too.
	 */
	if (loop->run_pos < loop->run_len || more)
		loop_signal(loop);
	else if (closed)
		loop_finish(loop);
}

struct loop *
loop_current(void)
{
	return loop_self;
}

bool
loop_is_current(const struct loop *loop)
{
	return loop_self == loop;
}

unsigned int
loop_index(const struct loop *loop)
{
	return loop->index;
}

struct event_base *
loop_base(struct loop *loop)
{
	return loop->base;
}

int
loop_own(struct loop *loop, struct loop_owned *o)
{
	pthread_mutex_lock(&loop->owned_lock);
	if (loop->owned_refused) {
		pthread_mutex_unlock(&loop->owned_lock);
		return -1;
	}
	o->loop = loop;
	o->prev = NULL;
	o->next = loop->owned;
	if (loop->owned != NULL)
		loop->owned->prev = o;
	loop->owned = o;
	loop->nowned++;
	pthread_mutex_unlock(&loop->owned_lock);
	return 0;
}

bool
loop_disown(struct loop *loop, struct loop_owned *o)
{
	bool	found;

	pthread_mutex_lock(&loop->owned_lock);
	if ((found = (o->loop == loop))) {
		if (o->prev != NULL)
			o->prev->next = o->next;
		else
			loop->owned = o->next;
		if (o->next != NULL)
			o->next->prev = o->prev;
		o->loop = NULL;
		loop->nowned--;
	}
	pthread_mutex_unlock(&loop->owned_lock);
	return found;
}

/*
 * The loop is stopping: refuse new owned things, take out all there are,
 * and tell each (outside the lock: close() may complete a future, whose
 * callbacks post, or disown others).
 */
static void
loop_close_owned(struct loop *loop)
{
	struct loop_owned	**all, *o;
	size_t			  n = 0, i;

	pthread_mutex_lock(&loop->owned_lock);
	loop->owned_refused = true;
	all = xcalloc(loop->nowned + 1, sizeof(*all));
	while ((o = loop->owned) != NULL) {
		loop->owned = o->next;
		o->loop = NULL;
		o->prev = o->next = NULL;
		all[n++] = o;
	}
	loop->nowned = 0;
	pthread_mutex_unlock(&loop->owned_lock);
	for (i = 0; i < n; i++)
		all[i]->close(all[i]);
	free(all);
}

void
loop_get_stats(struct loop *loop, struct loop_stats *st)
{
	st->posts = atomic_load_explicit(&loop->posts, memory_order_relaxed);
	st->passes = atomic_load_explicit(&loop->passes, memory_order_relaxed);
	st->lag_last_ns = atomic_load_explicit(&loop->lag_last_ns, memory_order_relaxed);
	st->lag_max_ns = atomic_load_explicit(&loop->lag_max_ns, memory_order_relaxed);
	st->slow_callbacks = atomic_load_explicit(&loop->slow_callbacks,
	    memory_order_relaxed);
}

void
loop_set_spin_us(unsigned int us)
{
	atomic_store_explicit(&loop_spin_ns, (uint64_t)us * 1000u,
	    memory_order_relaxed);
}

void
loop_set_slow_callback_ms(unsigned int ms)
{
	struct timespec	res;

	atomic_store_explicit(&loop_slow_coarse, ms > 0 &&
	    clock_getres(CLOCK_MONOTONIC_COARSE, &res) == 0 && res.tv_sec == 0 &&
	    (uint64_t)res.tv_nsec * 20 <= (uint64_t)ms * 1000000u,
	    memory_order_relaxed);
	atomic_store_explicit(&loop_slow_ns, (uint64_t)ms * 1000000u,
	    memory_order_relaxed);
}

static void
loop_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop_event	*le = arg;
	const char		*name = le->name;	/* the callback may free le */
	uint64_t		 start;

	if (loop_self != NULL)
		loop_self->activity++;
	if (atomic_load_explicit(&loop_slow_ns, memory_order_relaxed) == 0) {
		le->cb(fd, what, le->arg);
		return;
	}
	start = loop_slow_clock();
	le->cb(fd, what, le->arg);
	loop_check_slow(name, start);
}

int
loop_event_assign_named(struct loop_event *le, struct loop *loop,
    evutil_socket_t fd, short what, event_callback_fn cb, void *arg,
    const char *name)
{
	le->cb = cb;
	le->arg = arg;
	le->name = name;
	return event_assign(&le->ev, loop->base, fd, what, loop_event_cb, le);
}

/* Once true, loop_join() returns at once: shutdown checks this first so that
 * a stuck loop cannot hang it. */
bool
loop_finished(struct loop *loop)
{
	bool	done;

	pthread_mutex_lock(&loop->lock);
	done = loop->state == LOOP_DONE;
	pthread_mutex_unlock(&loop->lock);
	return done;
}
