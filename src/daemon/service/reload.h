/*
 * SIGHUP: build the configuration again from the same sources (the file,
 * then the command line's assignments) and apply what can change while
 * loomd runs.  Main thread only.
 */
#ifndef LOOM_RELOAD_H
#define LOOM_RELOAD_H

#include <stddef.h>

/*
 * A file that does not load changes nothing (the log says why).  Otherwise
 * queues, limits, commands, [http], the limits on requests and jobs, logging
 * and the loops' diagnostics take effect now; keys that need a restart are
 * logged and keep their values.  0 if applied, -1 if not.
 */
int	reload_run(const char *path, char *const *assignments, size_t n);
/*
 * After the loops have stopped: the replaced configurations still kept (a
 * reload frees the one it replaced once every loop has passed a call posted
 * after the swap, or here if a loop was stopping and refused it).
 */
void	reload_free(void);

#endif
