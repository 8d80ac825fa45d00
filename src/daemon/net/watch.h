/*
 * Watches: connections that asked for state-change events of one job, one
 * queue, or everything.  Watch is an observer of the job-state seam: a job's
 * owner publishes a view once and it is posted to every loop with watchers,
 * which keeps its own.
 */
#ifndef LOOM_WATCH_H
#define LOOM_WATCH_H

#include <stddef.h>
#include <stdint.h>

struct conn;
struct principal;
struct watch_filter;

/* Subscribe to the job-state seam (at start, before the loops run). */
void	watch_init(void);
/* {"event":"job","at":T,"job":VIEW}\n from the view's text, allocated;
 * at_ns is when the change happened (0: unknown, no "at"). */
char	*watch_event_text(const char *view, size_t len, int64_t at_ns,
	    size_t *outlen);

/* On the connection's loop; `filters` is the connection's list. */
/* only: events of that principal's jobs alone (NULL: anyone's). */
void	watch_add(struct conn *, struct watch_filter **filters, uint64_t job,
	    const char *queue, const struct principal *only);
void	watch_remove_all(struct conn *, struct watch_filter **filters);

#endif
