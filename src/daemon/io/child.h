/*
 * Starting a child process with a clean slate, from a loop thread of a
 * multithreaded daemon: its own process group, default signal dispositions
 * and an empty mask, only the three standard descriptors, the environment
 * and working directory given, and optionally another user and group.
 * Everything is prepared before the fork; between fork and exec the child
 * makes only async-signal-safe calls.
 *
 * The child dies with the thread that started it (PR_SET_PDEATHSIG), joins
 * its job's cgroup leaf if there is one, and is registered with contain.c
 * under its job; the job's environment carries its marker (exec.c).
 *
 * The parent gets the pid and a pidfd for it.  Nothing reaps it but
 * child_reap(), with waitid(P_PIDFD) (DESIGN.md, "Child processes"): never
 * waitpid(-1).  SIGCHLD only makes contain.c reap the orphans loomd
 * adopts as a subreaper, never a registered child.  Until then the child's pid, which is also its
 * process group id, cannot be reused, so signalling the group is safe.
 */
#ifndef LOOM_CHILD_H
#define LOOM_CHILD_H

#include <sys/types.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/util.h"

struct loop;

/* Credentials to switch to, resolved on the parent's side. */
struct child_ids {
	bool	 set;		/* false: keep loomd's own */
	uid_t	 uid;
	gid_t	 gid;
	gid_t	*groups;
	int	 ngroups;
	char	*home;		/* the user's home, or NULL */
};

/*
 * Resolve `user` (its primary group and supplementary groups) and `group`
 * (either may be NULL or empty).  Other credentials than loomd's own need
 * loomd to run as root.  -1 with the error set ("failed").
 */
int	child_ids_resolve(const char *user, const char *group, struct child_ids *,
	    struct error *);
void	child_ids_clear(struct child_ids *);

struct child_spec {
	const char		*path;		/* absolute */
	char *const		*argv;
	char *const		*envp;
	int			 in_fd;		/* -1: /dev/null */
	int			 out_fd;
	int			 err_fd;
	const char		*cwd;		/* NULL: loomd's */
	const struct child_ids	*ids;		/* NULL: loomd's */
	uint64_t		 job;		/* whose it is (contain.h); > 0 */
};

/*
 * Start the child; the descriptors given are the child's ends and stay open
 * in the parent.  0 with *pid and *pidfd (close-on-exec) set, or -1 with the
 * error set ("failed") and nothing left running.
 */
int	child_spawn(const struct child_spec *, pid_t *pid, int *pidfd, struct error *);

/*
 * Children alive across the daemon (max_children): take a place before
 * child_spawn(), give it back with child_unreserve() if that fails;
 * child_reap() gives it back for a child that ran.
 */
bool	child_reserve(size_t max);
void	child_unreserve(void);

/* True once the child has exited, with its status in *si.  It stays a
 * zombie, keeping its pid and group id, until child_reap(). */
bool	child_exited(int pidfd, siginfo_t *si);
void	child_signal_group(pid_t pgid, int sig);
void	child_reap(pid_t pid, int pidfd);	/* also closes the pidfd */

/*
 * Terminate the child's process group from `loop`, taking over pid and
 * pidfd: SIGTERM now, SIGKILL after `grace` seconds, then reap.  This runs
 * by itself on the loop; when the loop stops (or has), it kills and reaps
 * at once.
 */
void	child_terminate(struct loop *, pid_t pid, int pidfd, bool exited,
	    double grace);

#endif
