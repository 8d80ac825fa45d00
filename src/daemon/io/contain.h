/*
 * Containment: every process an exec job starts, whatever it does (setsid,
 * double fork, a cleared environment), is found and killed when the job
 * ends, when loomd drains or exits, and, after loomd was killed outright,
 * when it next starts.  doc/architecture.md, "Containing commands".
 *
 * Two ways, chosen once at start-up:
 *
 *   cgroup: loomd's own cgroup v2 is delegated to it (systemd's
 *   Delegate=yes, or owned by loomd's user); each job runs in a leaf
 *   job-<id> below it, and cgroup.kill kills the leaf whole.  Leaves a
 *   killed loomd left behind are killed and removed at the next start.
 *
 *   subreaper: loomd is a child subreaper, so a job's orphans become
 *   loomd's children instead of init's; each child carries LOOMD_JOB=<id>
 *   and LOOMD_INSTANCE=<instance> in its environment and dies with loomd's
 *   thread (PR_SET_PDEATHSIG).  A sweep reaps loomd's zombie orphans and
 *   kills each orphan (and its descendants) that no running job claims.
 *   At start-up, processes anywhere that carry this instance's marker (the
 *   state_dir's) are killed.
 */
#ifndef LOOM_CONTAIN_H
#define LOOM_CONTAIN_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum contain_mode {
	CONTAIN_SUBREAPER,
	CONTAIN_CGROUP,
};

/*
 * Choose the mode, become a subreaper or move loomd into its own leaf, and
 * kill what an earlier loomd of this state_dir left.  Main thread, before
 * any loop starts.  -1 with a message if loomd cannot contain at all.
 */
int		 contain_init(const char *state_dir, char *err, size_t len);
enum contain_mode contain_mode(void);
const char	*contain_instance(void);	/* the marker's value */

/*
 * The cgroup.procs of a new leaf for this job, open for the child to
 * write "0" to before exec; -1 in subreaper mode or if the leaf cannot be
 * made (the job then runs with the subreaper's means only).
 */
int		 contain_leaf_open(uint64_t job);
/* The child never started: remove the leaf made for it. */
void		 contain_leaf_abandon(uint64_t job);

/* A job's processes are done with: kill what is left of them. */
void		 contain_job_ended(uint64_t job);

/*
 * Reap loomd's zombie orphans and kill orphans no running job claims: on
 * SIGCHLD.  Any thread.
 */
void		 contain_sweep(void);

/* Exiting, by whatever path: kill every process of every job.  Any thread. */
void		 contain_kill_all(void);

/* For tests: the unified hierarchy's path in a /proc/self/cgroup text,
 * or NULL (v1 only, or malformed).  Allocated. */
char		*contain_parse_cgroup(const char *text);
/* For tests: the instance marker of a state_dir (16 hex digits). */
void		 contain_instance_of(const char *state_dir, char out[17]);
/* For tests: the job id in an environ block (NUL-separated) carrying this
 * instance's marker; false if it carries none. */
bool		 contain_environ_job(const char *env, size_t len,
		     const char *instance, uint64_t *job);

#endif
