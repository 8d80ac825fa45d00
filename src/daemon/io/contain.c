/*
 * Containment of exec jobs' processes (contain.h).
 *
 * Both ways share the subreaper: in cgroup mode too loomd adopts its jobs'
 * orphans and marks its children, so that the sweep works the same; the
 * leaf adds a kill that nothing escapes.  A job is running, for the sweep,
 * from child_spawn() until child_reap() of its first process: the
 * registered set below.  Spawning holds the lock until the child is
 * registered, so the sweep never reaps a child that child.c will wait for.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/contain.h"
#include "io/contain_private.h"
#include "runtime/log.h"
#include "runtime/util.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC	0x63677270
#endif
#define CONTAIN_ENVIRON_MAX	(256 * 1024)	/* bytes of environ read */
#define CONTAIN_DEPTH_MAX	64		/* levels of descendants */

struct contain_child {
	pid_t		pid;
	uint64_t	job;
};

/* Spawns hold it shared, sweeps exclusive; then contain_mtx, for the set. */
static pthread_rwlock_t		 contain_rw =
    PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pthread_mutex_t		 contain_mtx = PTHREAD_MUTEX_INITIALIZER;
static enum contain_mode	 contain_how = CONTAIN_SUBREAPER;
static char			 contain_inst[17] = "0000000000000000";
static char			*contain_cgdir;		/* cgroup mode: ours */
static struct contain_child	*contain_children;
static size_t			 contain_nchildren;

/* Identities ----------------------------------------------------------- */

void
contain_instance_of(const char *state_dir, char out[17])
{
	char		 real[PATH_MAX];
	const char	*p = realpath(state_dir, real) != NULL ? real : state_dir;
	uint64_t	 h = 0xcbf29ce484222325ULL;	/* FNV-1a */

	for (; *p != '\0'; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ULL;
	}
	snprintf(out, 17, "%016" PRIx64, h);
}

const char *
contain_instance(void)
{
	return contain_inst;
}

enum contain_mode
contain_mode(void)
{
	return contain_how;
}

bool
contain_environ_job(const char *env, size_t len, const char *instance,
    uint64_t *job)
{
	const char	*p = env, *end = env + len, *v;
	char		*stop;
	bool		 ours = false, have = false;
	size_t		 n;

	for (; p < end; p += n + 1) {
		n = strnlen(p, (size_t)(end - p));
		if (n > 15 && strncmp(p, "LOOMD_INSTANCE=", 15) == 0)
			ours = n - 15 == strlen(instance) &&
			    strncmp(p + 15, instance, n - 15) == 0;
		else if (n > 10 && strncmp(p, "LOOMD_JOB=", 10) == 0 &&
		    p + n < end) {	/* whole, not cut short by the read */
			v = p + 10;
			errno = 0;
			*job = strtoull(v, &stop, 10);
			have = errno == 0 && *stop == '\0' && stop != v && *v != '-';
		}
	}
	return ours && have;
}

/* The unified hierarchy's line, "0::/path", of /proc/self/cgroup. */
char *
contain_parse_cgroup(const char *text)
{
	const char	*line = text, *nl;
	size_t		 len;
	char		*path;

	for (; *line != '\0'; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			nl = line + strlen(line);
		len = (size_t)(nl - line);
		if (len > 3 && strncmp(line, "0::", 3) == 0 && line[3] == '/') {
			path = xmalloc(len - 2);
			memcpy(path, line + 3, len - 3);
			path[len - 3] = '\0';
			return path;
		}
		if (*nl == '\0')
			break;
	}
	return NULL;
}

/* Reading /proc ------------------------------------------------------------ */

static ssize_t
contain_read(const char *path, char *buf, size_t len)
{
	ssize_t	n, got = 0;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((size_t)got < len - 1 &&
	    (n = read(fd, buf + got, len - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	return got;
}

/* State and parent of a process, from /proc/PID/stat; false if gone. */
static bool
contain_stat(pid_t pid, char *state, pid_t *ppid)
{
	char	path[64], buf[1024], *p;
	int	pp;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (contain_read(path, buf, sizeof(buf)) <= 0 ||
	    (p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1, " %c %d", state, &pp) != 2)
		return false;
	*ppid = (pid_t)pp;
	return true;
}

static void
contain_push(pid_t **v, size_t *n, pid_t pid)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = pid;
}

/* Children of pid by a scan of every process: without CONFIG_PROC_CHILDREN. */
static void
contain_children_scan(pid_t pid, pid_t **v, size_t *n)
{
	DIR		*dp;
	struct dirent	*de;
	char		 state;
	pid_t		 ppid, p;

	if ((dp = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		p = (pid_t)strtol(de->d_name, NULL, 10);
		if (contain_stat(p, &state, &ppid) && ppid == pid)
			contain_push(v, n, p);
	}
	closedir(dp);
}

/* The children of pid, from each of its threads' children list. */
static void
contain_children_of(pid_t pid, pid_t **v, size_t *n)
{
	static atomic_int no_list = -1;	/* -1: not known yet */
	DIR		*dp;
	struct dirent	*de;
	char		 path[384], *buf, *p, *end;
	long		 c;

	if (no_list == 1) {
		contain_children_scan(pid, v, n);
		return;
	}
	snprintf(path, sizeof(path), "/proc/%ld/task", (long)pid);
	if ((dp = opendir(path)) == NULL)
		return;
	buf = xmalloc(65536);
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/task/%s/children",
		    (long)pid, de->d_name);
		if (contain_read(path, buf, 65536) == -1) {
			if (errno == ENOENT && no_list == -1 &&
			    access("/proc/self/task", F_OK) == 0 &&
			    access(path, F_OK) == -1) {
				/* A kernel without the lists: scan instead. */
				no_list = 1;
				closedir(dp);
				free(buf);
				contain_children_scan(pid, v, n);
				return;
			}
			continue;
		}
		no_list = 0;
		for (p = buf; (c = strtol(p, &end, 10)) > 0; p = end)
			contain_push(v, n, (pid_t)c);
	}
	closedir(dp);
	free(buf);
}

/*
 * SIGKILL a process we know as a child of `parent`, through a pidfd taken
 * before checking that it still is: the pid cannot be another's by then.
 */
static void
contain_kill_child_of(pid_t pid, pid_t parent)
{
	char	state;
	pid_t	ppid;
	int	fd;

	if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1)
		return;
	if (contain_stat(pid, &state, &ppid) && ppid == parent)
		(void)syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
	close(fd);
}

/* pid and everything below it, children first seen then killed. */
static void
contain_kill_tree(pid_t pid, pid_t parent, int depth)
{
	pid_t	*kids = NULL;
	size_t	 n = 0, i;

	/* Stop it first: a killed process cannot fork any more. */
	contain_kill_child_of(pid, parent);
	if (depth >= CONTAIN_DEPTH_MAX)
		return;
	contain_children_of(pid, &kids, &n);
	for (i = 0; i < n; i++)
		contain_kill_tree(kids[i], pid, depth + 1);
	free(kids);
}

/* The job an environ marks with our instance; false if none or unreadable. */
static bool
contain_marked(pid_t pid, uint64_t *job)
{
	char	path[64], *buf = xmalloc(CONTAIN_ENVIRON_MAX);
	ssize_t	n;
	bool	found;

	snprintf(path, sizeof(path), "/proc/%ld/environ", (long)pid);
	n = contain_read(path, buf, CONTAIN_ENVIRON_MAX);
	found = n > 0 && contain_environ_job(buf, (size_t)n, contain_inst, job);
	free(buf);
	return found;
}

/* The registered set ------------------------------------------------------- */

void
contain_spawn_begin(void)
{
	pthread_rwlock_rdlock(&contain_rw);
}

void
contain_spawn_end(void)
{
	pthread_rwlock_unlock(&contain_rw);
}

void
contain_register(pid_t pid, uint64_t job)
{
	pthread_mutex_lock(&contain_mtx);
	contain_children = xreallocarray(contain_children,
	    contain_nchildren + 1, sizeof(*contain_children));
	contain_children[contain_nchildren].pid = pid;
	contain_children[contain_nchildren].job = job;
	contain_nchildren++;
	pthread_mutex_unlock(&contain_mtx);
}

/* The job of a registered child, now reaped; 0 if it was not registered. */
uint64_t
contain_unregister(pid_t pid)
{
	uint64_t	job = 0;
	size_t		i;

	pthread_mutex_lock(&contain_mtx);
	for (i = 0; i < contain_nchildren; i++) {
		if (contain_children[i].pid == pid) {
			job = contain_children[i].job;
			contain_children[i] = contain_children[--contain_nchildren];
			break;
		}
	}
	pthread_mutex_unlock(&contain_mtx);
	return job;
}

static bool
contain_registered_pid(pid_t pid)
{
	size_t	i;

	for (i = 0; i < contain_nchildren; i++) {
		if (contain_children[i].pid == pid)
			return true;
	}
	return false;
}

static bool
contain_registered_job(uint64_t job)
{
	size_t	i;

	for (i = 0; i < contain_nchildren; i++) {
		if (contain_children[i].job == job)
			return true;
	}
	return false;
}

/* The sweep ---------------------------------------------------------------- */

static void	contain_leaves_sweep(bool all, bool wait);

/*
 * With contain_rw exclusive and contain_mtx: each child of loomd that child.c does not wait for is an
 * adopted orphan.  A zombie is reaped; a live one is left only if a running
 * job's marker is on it, else it and its descendants are killed (also one
 * that cleared its marker: nothing can claim it, and it came from a job).
 */
static void
contain_sweep_locked(void)
{
	pid_t		*kids = NULL, self = getpid(), ppid;
	size_t		 n = 0, i;
	siginfo_t	 si;
	uint64_t	 job;
	char		 state;

	contain_children_of(self, &kids, &n);
	for (i = 0; i < n; i++) {
		if (contain_registered_pid(kids[i]) ||
		    !contain_stat(kids[i], &state, &ppid))
			continue;
		if (state == 'Z') {
			memset(&si, 0, sizeof(si));
			(void)waitid(P_PID, (id_t)kids[i], &si, WEXITED | WNOHANG);
			continue;
		}
		if (contain_marked(kids[i], &job) && contain_registered_job(job))
			continue;
		log_debug("contain: killing orphan %ld and its descendants",
		    (long)kids[i]);
		contain_kill_tree(kids[i], self, 0);
	}
	free(kids);
	/* Leaves that were still emptying when their job ended. */
	contain_leaves_sweep(false, false);
}

static void
contain_sweep_lock(void)
{
	pthread_rwlock_wrlock(&contain_rw);
	pthread_mutex_lock(&contain_mtx);
}

static void
contain_sweep_unlock(void)
{
	pthread_mutex_unlock(&contain_mtx);
	pthread_rwlock_unlock(&contain_rw);
}

void
contain_sweep(void)
{
	contain_sweep_lock();
	contain_sweep_locked();
	contain_sweep_unlock();
}

/* cgroup leaves ------------------------------------------------------------ */

static int
contain_write(const char *dir, const char *file, const char *text)
{
	char	path[PATH_MAX];
	int	fd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		rc = -1;
	close(fd);
	return rc;
}

static void
contain_leaf_path(uint64_t job, char *path, size_t len)
{
	snprintf(path, len, "%s/job-%" PRIu64, contain_cgdir, job);
}

int
contain_leaf_open(uint64_t job)
{
	char	leaf[PATH_MAX], path[PATH_MAX + 16];
	int	fd;

	if (contain_how != CONTAIN_CGROUP)
		return -1;
	contain_leaf_path(job, leaf, sizeof(leaf));
	if (mkdir(leaf, 0755) == -1 && errno != EEXIST) {
		log_warn("contain: mkdir %s", leaf);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", leaf);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		log_warn("contain: open %s", path);
	return fd;
}

void
contain_leaf_abandon(uint64_t job)
{
	char	leaf[PATH_MAX];

	if (contain_how != CONTAIN_CGROUP)
		return;
	contain_leaf_path(job, leaf, sizeof(leaf));
	(void)rmdir(leaf);	/* nothing ran in it; a sweep retries */
}

/* Kill a leaf whole and remove it once empty (a sweep retries). */
static void
contain_leaf_kill(const char *leaf, bool wait)
{
	struct timespec	ts = { 0, 10 * 1000 * 1000 };
	int		i;

	if (contain_write(leaf, "cgroup.kill", "1") == -1 && errno != ENOENT)
		log_warn("contain: %s/cgroup.kill", leaf);
	for (i = 0; rmdir(leaf) == -1 && errno == EBUSY && wait && i < 200; i++)
		nanosleep(&ts, NULL);
}

/* Each job-* leaf that no running job owns: kill and remove. */
static void
contain_leaves_sweep(bool all, bool wait)
{
	DIR		*dp;
	struct dirent	*de;
	char		 leaf[PATH_MAX];
	uint64_t	 job;

	if (contain_how != CONTAIN_CGROUP || (dp = opendir(contain_cgdir)) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (strncmp(de->d_name, "job-", 4) != 0)
			continue;
		job = strtoull(de->d_name + 4, NULL, 10);
		if (!all && contain_registered_job(job))
			continue;
		snprintf(leaf, sizeof(leaf), "%s/%s", contain_cgdir, de->d_name);
		contain_leaf_kill(leaf, wait);
	}
	closedir(dp);
}

void
contain_job_ended(uint64_t job)
{
	char	leaf[PATH_MAX];

	contain_sweep_lock();
	if (contain_how == CONTAIN_CGROUP && !contain_registered_job(job)) {
		contain_leaf_path(job, leaf, sizeof(leaf));
		contain_leaf_kill(leaf, false);
	}
	contain_sweep_locked();
	contain_sweep_unlock();
}

/* Start-up and exit ---------------------------------------------------------- */

/*
 * Our cgroup directory if it is v2 and delegated to us: writable, with
 * cgroup.kill, and either owned by our (non-root) user or marked delegated
 * by systemd (the trusted.delegate or user.delegate attribute).  Root may
 * write anywhere, so for root only the mark counts: a cgroup systemd
 * manages without delegation is not ours to split.  contain_cgroup_dir()
 * checks the file system, contain_delegated() the rest.
 */
bool
contain_delegated(const char *dir)
{
	struct stat	st;
	char		file[PATH_MAX + 32];

	snprintf(file, sizeof(file), "%s/cgroup.kill", dir);
	if (stat(dir, &st) == -1 || access(dir, W_OK) == -1 ||
	    access(file, F_OK) == -1)
		return false;
	snprintf(file, sizeof(file), "%s/cgroup.procs", dir);
	if (access(file, W_OK) == -1)
		return false;
	if (getxattr(dir, "trusted.delegate", NULL, 0) > 0 ||
	    getxattr(dir, "user.delegate", NULL, 0) > 0)
		return true;
	return geteuid() != 0 && st.st_uid == geteuid();
}

char *
contain_cgroup_dir(const char *root, const char *path)
{
	struct statfs	 fs;
	char		*dir;

	if (path == NULL || strcmp(path, "/") == 0 ||
	    statfs(root, &fs) == -1 || fs.f_type != CGROUP2_SUPER_MAGIC)
		return NULL;
	xasprintf(&dir, "%s%s", root, path);
	if (contain_delegated(dir))
		return dir;
	free(dir);
	return NULL;
}

/* Move loomd into a leaf of its own: no process in an inner cgroup. */
static bool
contain_cgroup_init(void)
{
	char	 buf[4096], *path, *dir = NULL, sup[PATH_MAX], pid[32];

	if (contain_read("/proc/self/cgroup", buf, sizeof(buf)) <= 0)
		return false;
	path = contain_parse_cgroup(buf);
	if ((dir = contain_cgroup_dir("/sys/fs/cgroup", path)) == NULL)
		dir = contain_cgroup_dir("/sys/fs/cgroup/unified", path);
	free(path);
	if (dir == NULL)
		return false;
	/* Started again in our own leaf: the jobs' leaves are beside it. */
	if (strlen(dir) > 11 && strcmp(dir + strlen(dir) - 11, "/supervisor") == 0)
		dir[strlen(dir) - 11] = '\0';
	snprintf(sup, sizeof(sup), "%s/supervisor", dir);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if ((mkdir(sup, 0755) == -1 && errno != EEXIST) ||
	    contain_write(sup, "cgroup.procs", pid) == -1) {
		log_warn("contain: cannot move into %s", sup);
		free(dir);
		return false;
	}
	contain_cgdir = dir;
	return true;
}

/* Processes anywhere that carry our marker: an earlier loomd's leftovers. */
static void
contain_kill_marked(void)
{
	DIR		*dp;
	struct dirent	*de;
	uint64_t	 job;
	pid_t		 pid, self = getpid();
	int		 fd, n = 0;

	if ((dp = opendir("/proc")) == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		if ((pid = (pid_t)strtol(de->d_name, NULL, 10)) == self)
			continue;
		if ((fd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1)
			continue;
		/* Read after the pidfd is taken: it is that process's. */
		if (contain_marked(pid, &job)) {
			(void)syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
			n++;
		}
		close(fd);
	}
	closedir(dp);
	if (n > 0)
		log_info("contain: killed %d processes an earlier loomd of this "
		    "state_dir left", n);
}

int
contain_init(const char *state_dir, char *err, size_t len)
{
	contain_instance_of(state_dir, contain_inst);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == -1) {
		snprintf(err, len, "prctl(PR_SET_CHILD_SUBREAPER): %s",
		    strerror(errno));
		return -1;
	}
	if (contain_cgroup_init()) {
		contain_how = CONTAIN_CGROUP;
		contain_leaves_sweep(true, true);
		log_info("contain: each exec job runs in a cgroup below %s",
		    contain_cgdir);
	} else
		log_info("contain: no delegated cgroup v2: exec jobs are followed "
		    "as a subreaper, by their marker");
	contain_kill_marked();
	return 0;
}

void
contain_kill_all(void)
{
	struct timespec	 ts;
	pid_t		*kids = NULL, self = getpid();
	size_t		 n = 0, i;
	bool		 wr, locked;

	/* A stuck loop may hold a lock: kill anyway, after a moment. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 1;
	wr = pthread_rwlock_timedwrlock(&contain_rw, &ts) == 0;
	locked = pthread_mutex_timedlock(&contain_mtx, &ts) == 0;
	contain_leaves_sweep(true, false);
	contain_children_of(self, &kids, &n);
	for (i = 0; i < n; i++)
		contain_kill_tree(kids[i], self, 0);
	free(kids);
	if (locked)
		pthread_mutex_unlock(&contain_mtx);
	if (wr)
		pthread_rwlock_unlock(&contain_rw);
}
