/*
 * Futures: the only objects shared between threads (DESIGN.md).  A future is
 * refcounted and moves once from pending to done (a JSON result), failed (an
 * error) or cancelled.
 *
 * A future may have an owner loop.  Only the owner's thread completes an
 * owned future, and when the owner stops, its pending futures fail with
 * shutting_down.  future_cancel() may be called from any thread: it reaches
 * the owner through a post and runs the cancel hook the owner installed, so
 * cancelling the future cancels the work (the run_coroutine_threadsafe
 * lesson).  Without a hook, cancel completes the future as cancelled.
 *
 * Done callbacks run exactly once, on the loop they were registered for,
 * whether they were added before or after completion; with a NULL loop they
 * run on the completing thread.  A callback whose loop has stopped cannot run
 * and is dropped (logged at debug), as asyncio drops a call_soon_threadsafe
 * to a closed loop.
 */
#ifndef LOOM_FUTURE_H
#define LOOM_FUTURE_H

#include <stdbool.h>

#include <jansson.h>

#include "runtime/util.h"

struct loop;
struct future;
struct future_link;

enum future_state {
	FUTURE_PENDING,
	FUTURE_DONE,
	FUTURE_FAILED,
	FUTURE_CANCELLED,
};

typedef void (*future_cb)(struct future *, void *arg);
typedef void (*future_cancel_hook)(struct future *, void *arg, const char *reason);
typedef void (*future_release_fn)(void *arg);

struct future	*future_new(struct loop *owner);	/* refcount 1 */
void		 future_ref(struct future *);
void		 future_unref(struct future *);

/* Completion: 0 if this call completed it, -1 if it was already complete.
 * The result and detail references are stolen either way. */
int		 future_set_result(struct future *, json_t *result);
/* Done with an opaque value (a job's outcome), released with the future;
 * immutable from now on, read by any thread. */
int		 future_set_value(struct future *, void *value, future_release_fn);
int		 future_set_error(struct future *, struct error *);	/* moves *error */
int		 future_fail(struct future *, const char *code, const char *fmt, ...)
		     __attribute__((format(printf, 3, 4)));
int		 future_set_cancelled(struct future *, const char *reason);

bool		 future_cancel(struct future *, const char *reason);
/* On the owner's thread; `release` (may be NULL) frees arg with the future. */
void		 future_set_cancel_hook(struct future *, future_cancel_hook,
		     future_release_fn release, void *arg);

void		 future_on_done_named(struct future *, struct loop *, future_cb,
		     void *arg, const char *name);
#define future_on_done(f, loop, fn, arg) \
	future_on_done_named((f), (loop), (fn), (arg), #fn)
/*
 * The same, with a handle to remove the callback by, in constant time
 * however many others the future has.  The handle must be given back once,
 * to future_remove_done(), whether or not the callback has run by then.
 */
struct future_link *future_on_done_handle_named(struct future *, struct loop *,
		     future_cb, void *arg, const char *name);
#define future_on_done_handle(f, loop, fn, arg) \
	future_on_done_handle_named((f), (loop), (fn), (arg), #fn)
/* True if the callback was removed before it ran; false if it has run or is
 * on its way.  Gives the handle back either way (NULL: false). */
bool		 future_remove_done(struct future *, struct future_link *);
enum future_state future_wait(struct future *, double timeout);	/* not on a loop */

enum future_state future_state(struct future *);
bool		 future_done(struct future *);
/*
 * Valid once the future is done, for as long as a reference is held: any
 * thread may read the result, none may reference it (jansson's refcounts
 * are not atomic).  NULL if not done, or done the other way.
 */
json_t		*future_result(struct future *);
void		*future_value(struct future *);
const struct error *future_error(struct future *);
const char	*future_state_name(enum future_state);

/*
 * run_coroutine_threadsafe: run fn(future, arg) on the loop, which owns the
 * future and must complete it; NULL if the loop has stopped.
 */
struct future	*future_submit_named(struct loop *, void (*)(struct future *, void *),
		     void *arg, const char *name);
#define future_submit(loop, fn, arg)	future_submit_named((loop), (fn), (arg), #fn)
/* A timer as a future on the current loop: done with null after `seconds`. */
struct future	*future_sleep(double seconds);

#endif
