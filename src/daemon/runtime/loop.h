/*
 * An event loop: one thread running one libevent base, which owns every
 * connection and job handed to it (DESIGN.md, "Ownership").  Other threads
 * reach a loop only through loop_post(), asyncio's call_soon_threadsafe.
 */
#ifndef LOOM_LOOP_H
#define LOOM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

struct loop;

typedef void (*loop_fn)(void *arg);

struct loop_stats {
	uint64_t	posts;		/* calls run from the inbox */
	uint64_t	passes;		/* drain passes that ran calls */
	uint64_t	lag_last_ns;	/* post → run delay of the last batch's oldest call */
	uint64_t	lag_max_ns;
	uint64_t	slow_callbacks;
};

struct loop	*loop_new(unsigned int index);
int		 loop_start(struct loop *);	/* returns once the thread runs */
void		 loop_stop(struct loop *);	/* closes the inbox; any thread */
void		 loop_join(struct loop *);
bool		 loop_finished(struct loop *);	/* stopped and out of its loop: join won't block */
void		 loop_free(struct loop *);	/* after join */

/*
 * The macros record the callback's name for the slow-callback warning; the
 * _named forms are for code that forwards a name it was given.
 */
int		 loop_post_named(struct loop *, loop_fn, void *arg, const char *name);
#define loop_post(loop, fn, arg)	loop_post_named((loop), (fn), (arg), #fn)

struct loop	*loop_current(void);
bool		 loop_is_current(const struct loop *);
unsigned int	 loop_index(const struct loop *);
struct event_base *loop_base(struct loop *);
void		 loop_get_stats(struct loop *, struct loop_stats *);

/*
 * What a loop owns that must hear of its stop (its pending futures, which
 * then fail with shutting_down).  loop_own() adds one, from any thread, or
 * fails (-1) once the loop has closed; loop_disown() takes it out again and
 * says whether it was there.  When the loop closes it takes out every one
 * and calls its close() on the loop's thread.
 */
struct loop_owned {
	struct loop_owned	*prev;
	struct loop_owned	*next;
	struct loop		*loop;		/* while owned */
	void			(*close)(struct loop_owned *);
};
int		 loop_own(struct loop *, struct loop_owned *);
bool		 loop_disown(struct loop *, struct loop_owned *);

/*
 * Events whose callbacks are timed for the slow-callback warning (asyncio
 * debug mode).  Embed one where the event lives; no allocation.
 */
struct loop_event {
	struct event		 ev;
	event_callback_fn	 cb;
	void			*arg;
	const char		*name;
};
int		 loop_event_assign_named(struct loop_event *, struct loop *,
		     evutil_socket_t, short, event_callback_fn, void *, const char *);
#define loop_event_assign(le, loop, fd, what, cb, arg) \
	loop_event_assign_named((le), (loop), (fd), (what), (cb), (arg), #cb)
void		 loop_set_slow_callback_ms(unsigned int ms);
void		 loop_set_spin_us(unsigned int us);	/* 0: never spin */

#endif
