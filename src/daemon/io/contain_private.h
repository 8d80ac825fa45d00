/*
 * Between contain.c and child.c: the set of children child.c waits for,
 * each with its job.  child_spawn() is inside contain_spawn_begin() and
 * _end() from before the fork until the child is registered, so no sweep
 * runs in between (spawns on several loops may be inside at once; a sweep
 * waits for them all); child_reap() unregisters it.
 */
#ifndef LOOM_CONTAIN_PRIVATE_H
#define LOOM_CONTAIN_PRIVATE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stdint.h>

void		 contain_spawn_begin(void);
void		 contain_spawn_end(void);
void		 contain_register(pid_t, uint64_t job);	/* inside the above */
uint64_t	 contain_unregister(pid_t);		/* its job, or 0 */

/* For tests: root + path if it is a delegated cgroup v2 directory; and
 * whether a directory (of any file system) looks delegated to us. */
char		*contain_cgroup_dir(const char *root, const char *path);
bool		 contain_delegated(const char *dir);

#endif
