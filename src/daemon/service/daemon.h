/*
 * The daemon's parts, put together in one place and taken apart in the
 * reverse order: the job types and the observers of the job-state seam,
 * the loops and what each owns, queues and limits, the executor.
 */
#ifndef LOOM_DAEMON_H
#define LOOM_DAEMON_H

#include <stddef.h>

struct config;

/* Once the listeners are bound, privileges dropped and state_dir opened
 * (service/state.h): start the loops and replay the journal; -1 and a
 * message in err if that cannot be done. */
int	daemon_start(const struct config *, char *err, size_t errlen);
/* After the loops have stopped (shutdown_run): free what is left. */
void	daemon_free(void);

#endif
