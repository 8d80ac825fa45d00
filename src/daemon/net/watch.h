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
struct watch_filter;

/* Subscribe to the job-state seam (at start, before the loops run). */
void	watch_init(void);
/* {"event":"job","job":VIEW}\n from the view's text, allocated. */
char	*watch_event_text(const char *view, size_t len, size_t *outlen);

/* On the connection's loop; `filters` is the connection's list. */
void	watch_add(struct conn *, struct watch_filter **filters, uint64_t job,
	    const char *queue);
void	watch_remove_all(struct conn *, struct watch_filter **filters);

#endif
