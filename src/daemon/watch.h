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

/* On the owner loop, after a state change; takes no reference to view. */
void	watch_publish(json_t *view, uint64_t id, const char *queue);
bool	watch_active(void);
/* {"event":"job","job":VIEW}\n, allocated. */
char	*watch_event_text(const json_t *view, size_t *len);

/* On the connection's loop. */
void	watch_add(struct conn *, uint64_t id, const char *queue);
void	watch_remove_all(struct conn *);

#endif
