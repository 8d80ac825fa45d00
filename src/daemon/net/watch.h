/*
 * Watches: connections that asked for state-change events of one job, one
 * queue, or everything.  Each loop keeps its own watchers; a job's owner
 * publishes a view once and it is posted to every loop that has watchers.
 */
#ifndef LOOM_WATCH_H
#define LOOM_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct conn;

void	watch_init(unsigned int nloops);
void	watch_shutdown(void);

/* On the owner loop, after a state change: the view as JSON text (copied). */
void	watch_publish(const char *view, size_t len, uint64_t id, const char *queue);
bool	watch_active(void);
/* {"event":"job","job":VIEW}\n from the view's text, allocated. */
char	*watch_event_text(const char *view, size_t len, size_t *outlen);

/* On the connection's loop. */
void	watch_add(struct conn *, uint64_t id, const char *queue);
void	watch_remove_all(struct conn *);

#endif
