/*
 * Between contain.c and child.c: the set of children child.c waits for,
 * each with its job.  child_spawn() holds the lock from before the fork
 * until the child is registered; child_reap() unregisters it.
 */
#ifndef LOOM_CONTAIN_PRIVATE_H
#define LOOM_CONTAIN_PRIVATE_H

#include <sys/types.h>

#include <stdint.h>

void		 contain_lock(void);
void		 contain_unlock(void);
void		 contain_register(pid_t, uint64_t job);	/* under the lock */
uint64_t	 contain_unregister(pid_t);		/* its job, or 0 */

/* For tests: root + path if it is a delegated cgroup v2 directory. */
char		*contain_cgroup_dir(const char *root, const char *path);

#endif
