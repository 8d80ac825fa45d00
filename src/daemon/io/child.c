/*
 * Spawning: vfork (fork to change credentials), with every value the child
 * needs prepared beforehand, and a close-on-exec pipe on which the child
 * reports a failure before exec.  Not posix_spawn, which runs the child the
 * same way but offers no way to do what containment needs in it
 * (contain.c): PR_SET_PDEATHSIG, and joining the job's cgroup leaf.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/child.h"
#include "io/contain.h"
#include "io/contain_private.h"
#include "runtime/future.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

/* What the child was doing when it failed, reported to the parent. */
enum child_stage {
	CHILD_PGID,
	CHILD_CONTAIN,
	CHILD_STDIO,
	CHILD_CWD,
	CHILD_IDS,
	CHILD_EXEC,
};

struct child_report {
	int	stage;
	int	err;
};

/* Children alive across the daemon, being terminated included. */
static atomic_size_t	child_count;

static char *
child_pwbuf(long which, size_t *len)
{
	long	n = sysconf(which);

	*len = n > 0 ? (size_t)n : 16384;
	return xmalloc(*len);
}

int
child_ids_resolve(const char *user, const char *group, struct child_ids *ids,
    struct error *e)
{
	struct passwd	 pw, *pwp = NULL;
	struct group	 gr, *grp = NULL;
	char		*buf;
	size_t		 len;
	int		 r, n;

	memset(ids, 0, sizeof(*ids));
	if (user != NULL && *user == '\0')
		user = NULL;
	if (group != NULL && *group == '\0')
		group = NULL;
	if (user == NULL && group == NULL)
		return 0;

	ids->uid = geteuid();
	ids->gid = getegid();
	if (user != NULL) {
		buf = child_pwbuf(_SC_GETPW_R_SIZE_MAX, &len);
		while ((r = getpwnam_r(user, &pw, buf, len, &pwp)) == ERANGE) {
			len *= 2;
			buf = xreallocarray(buf, len, 1);
		}
		if (pwp == NULL) {
			error_set(e, "failed", "no user \"%s\"%s%s", user,
			    r != 0 ? ": " : "", r != 0 ? strerror(r) : "");
			free(buf);
			return -1;
		}
		ids->uid = pw.pw_uid;
		ids->gid = pw.pw_gid;
		ids->home = xstrdup(pw.pw_dir);
		free(buf);
	}
	if (group != NULL) {
		buf = child_pwbuf(_SC_GETGR_R_SIZE_MAX, &len);
		while ((r = getgrnam_r(group, &gr, buf, len, &grp)) == ERANGE) {
			len *= 2;
			buf = xreallocarray(buf, len, 1);
		}
		if (grp == NULL) {
			error_set(e, "failed", "no group \"%s\"%s%s", group,
			    r != 0 ? ": " : "", r != 0 ? strerror(r) : "");
			free(buf);
			child_ids_clear(ids);
			return -1;
		}
		ids->gid = gr.gr_gid;
		free(buf);
	}

	if (geteuid() != 0) {
		if (ids->uid == geteuid() && ids->gid == getegid()) {
			child_ids_clear(ids);	/* already them */
			return 0;
		}
		error_set(e, "failed", "loomd must run as root to run commands as "
		    "%s%s%s", user != NULL ? user : "", user != NULL &&
		    group != NULL ? ":" : "", group != NULL ? group : "");
		child_ids_clear(ids);
		return -1;
	}

	/* A user brings its groups; a group alone stands alone. */
	if (user != NULL && group == NULL) {
		n = 16;
		ids->groups = xreallocarray(NULL, (size_t)n, sizeof(gid_t));
		while (getgrouplist(user, ids->gid, ids->groups, &n) == -1)
			ids->groups = xreallocarray(ids->groups, (size_t)n, sizeof(gid_t));
		ids->ngroups = n;
	} else {
		ids->groups = xmalloc(sizeof(gid_t));
		ids->groups[0] = ids->gid;
		ids->ngroups = 1;
	}
	ids->set = true;
	return 0;
}

void
child_ids_clear(struct child_ids *ids)
{
	free(ids->groups);
	free(ids->home);
	memset(ids, 0, sizeof(*ids));
}

/* Descriptors 0-2 are the child's targets: keep ours clear of them. */
static int
child_high_fd(int fd, int *tmp)
{
	if (fd == -1 || fd > STDERR_FILENO)
		return fd;
	if ((*tmp = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1)) == -1)
		return -1;
	return *tmp;
}

static void
child_fail(int fd, enum child_stage stage)
{
	struct child_report	r = { .stage = stage, .err = errno };

	(void)!write(fd, &r, sizeof(r));
	_exit(127);
}

/* In the forked child: async-signal-safe calls only, then exec. */
static void __attribute__((noreturn))
child_exec(const struct child_spec *sp, const int fds[3], int report,
    int leaf, pid_t parent, const struct sigaction *dfl, const sigset_t *none)
{
	int	sig, fd;

	for (sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, dfl, NULL);
	}
	if (sigprocmask(SIG_SETMASK, none, NULL) == -1 || setpgid(0, 0) == -1)
		child_fail(report, CHILD_PGID);
	/* Die with the thread that started us; it may have gone already. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) == -1)
		child_fail(report, CHILD_CONTAIN);
	if (getppid() != parent)
		_exit(127);
	if (leaf != -1 && write(leaf, "0", 1) != 1)
		child_fail(report, CHILD_CONTAIN);

	if ((fd = fds[0]) == -1 &&
	    (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		child_fail(report, CHILD_STDIO);
	if (dup2(fd, STDIN_FILENO) == -1 ||
	    dup2(fds[1], STDOUT_FILENO) == -1 ||
	    dup2(fds[2], STDERR_FILENO) == -1)
		child_fail(report, CHILD_STDIO);
	/* Everything else closes at exec; the report pipe until then. */
	if (close_range(STDERR_FILENO + 1, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
		child_fail(report, CHILD_STDIO);

	if (sp->cwd != NULL && chdir(sp->cwd) == -1)
		child_fail(report, CHILD_CWD);
	if (sp->ids != NULL && sp->ids->set &&
	    (setgroups((size_t)sp->ids->ngroups, sp->ids->groups) == -1 ||
	    setgid(sp->ids->gid) == -1 || setuid(sp->ids->uid) == -1))
		child_fail(report, CHILD_IDS);
	execve(sp->path, sp->argv, sp->envp);
	child_fail(report, CHILD_EXEC);
	_exit(127);	/* not reached */
}

/*
 * vfork, unless credentials change: the child makes only system calls
 * before exec, as in glibc's posix_spawn, and costs no copy of the page
 * tables.  setuid() and friends need fork: glibc has them signal every
 * thread of the process, which a vfork child shares with its parent.  The
 * parent waits here until the child has exec'd or exited.
 */
static pid_t
child_start(const struct child_spec *sp, const int fds[3], int report,
    int leaf, pid_t parent, const struct sigaction *dfl, const sigset_t *none)
{
	pid_t	pid;

	if (sp->ids != NULL && sp->ids->set)
		pid = fork();
	else
		pid = vfork();
	if (pid == 0)
		child_exec(sp, fds, report, leaf, parent, dfl, none);
	return pid;
}

static int
child_fork(const struct child_spec *sp, const int fds[3], int leaf,
    pid_t *pidp, struct child_report *report)
{
	struct sigaction	dfl;
	sigset_t		none;
	siginfo_t		si;
	ssize_t			n;
	pid_t			pid, parent = getpid();
	int			pfd[2], hi = -1, err;

	if (pipe2(pfd, O_CLOEXEC) == -1)
		return errno;
	if (child_high_fd(pfd[1], &hi) == -1) {
		err = errno;
		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigemptyset(&none);

	pid = child_start(sp, fds, hi != -1 ? hi : pfd[1], leaf, parent, &dfl,
	    &none);
	err = errno;
	if (pid > 0)
		contain_register(pid, sp->job);
	close(pfd[1]);
	if (hi != -1)
		close(hi);
	if (pid == -1) {
		close(pfd[0]);
		return err;
	}

	/* Nothing until exec: the write end closes then.  A report: it failed. */
	do
		n = read(pfd[0], report, sizeof(*report));
	while (n == -1 && errno == EINTR);
	close(pfd[0]);
	if (n != (ssize_t)sizeof(*report)) {
		*pidp = pid;
		return 0;
	}
	while (waitid(P_PID, (id_t)pid, &si, WEXITED) == -1 && errno == EINTR)
		;
	(void)contain_unregister(pid);	/* nothing of it ran */
	return report->err;
}

int
child_spawn(const struct child_spec *sp, pid_t *pidp, int *pidfdp, struct error *e)
{
	struct child_report	 report = { .stage = CHILD_EXEC };
	siginfo_t		 si;
	pid_t			 pid = -1;
	uint64_t		 job;
	const int		 given[3] = { sp->in_fd, sp->out_fd, sp->err_fd };
	int			 fds[3], tmp[3] = { -1, -1, -1 }, r = 0, i, pidfd;
	int			 leaf = -1, hi = -1;
	const char		*what;

	for (i = 0; i < 3; i++) {
		fds[i] = given[i];
		if (given[i] != -1 &&
		    (fds[i] = child_high_fd(given[i], &tmp[i])) == -1) {
			r = errno;
			break;
		}
	}
	/* The leaf and the child exist for a sweep only once registered. */
	contain_spawn_begin();
	if (r == 0 && (leaf = contain_leaf_open(sp->job)) != -1 &&
	    child_high_fd(leaf, &hi) == -1)
		r = errno;
	if (r == 0)
		r = child_fork(sp, fds, hi != -1 ? hi : leaf, &pid, &report);
	if (r != 0 && leaf != -1)
		contain_leaf_abandon(sp->job);
	contain_spawn_end();
	for (i = 0; i < 3; i++) {
		if (tmp[i] != -1)
			close(tmp[i]);
	}
	if (hi != -1)
		close(hi);
	if (leaf != -1)
		close(leaf);
	if (r != 0) {
		switch (report.stage) {
		case CHILD_CWD:
			what = "cannot change to its directory";
			break;
		case CHILD_IDS:
			what = "cannot switch user and group";
			break;
		case CHILD_CONTAIN:
			what = "cannot contain it (PR_SET_PDEATHSIG, cgroup)";
			break;
		case CHILD_PGID:
		case CHILD_STDIO:
			what = "cannot set up the child";
			break;
		default:
			what = "cannot start it";
			break;
		}
		error_set(e, "failed", "%s: %s", what, strerror(r));
		return -1;
	}

	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1) {
		r = errno;
		kill(-pid, SIGKILL);
		while (waitid(P_PID, (id_t)pid, &si, WEXITED) == -1 && errno == EINTR)
			;
		if ((job = contain_unregister(pid)) != 0)
			contain_job_ended(job);
		error_set(e, "failed", "pidfd_open: %s", strerror(r));
		return -1;
	}
	*pidp = pid;
	*pidfdp = pidfd;
	return 0;
}

/* Reaping ------------------------------------------------------------- */

bool
child_reserve(size_t max)
{
	if (atomic_fetch_add(&child_count, 1) < max)
		return true;
	atomic_fetch_sub(&child_count, 1);
	return false;
}

void
child_unreserve(void)
{
	atomic_fetch_sub(&child_count, 1);
}

void
child_reap(pid_t pid, int pidfd)
{
	siginfo_t	si;

	uint64_t	job;

	while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) == -1 && errno == EINTR)
		;
	close(pidfd);
	child_unreserve();
	log_debug("child: reaped process group %ld", (long)pid);
	/* Its job is over: what is left of it goes (contain.c). */
	if ((job = contain_unregister(pid)) != 0)
		contain_job_ended(job);
}

bool
child_exited(int pidfd, siginfo_t *si)
{
	memset(si, 0, sizeof(*si));
	if (waitid(P_PIDFD, (id_t)pidfd, si, WEXITED | WNOHANG | WNOWAIT) == -1)
		return errno == ECHILD;		/* gone already: nothing to wait for */
	return si->si_pid != 0;
}

void
child_signal_group(pid_t pgid, int sig)
{
	if (kill(-pgid, sig) == -1 && errno != ESRCH)
		log_warn("child: kill(-%ld, %d)", (long)pgid, sig);
}

/*
 * A child being terminated outlives whoever started it, until it is reaped.
 * It got SIGTERM; its group gets SIGKILL after the grace, then the reaper
 * reaps and frees itself.  It holds a future owned by its loop only to hear
 * when that loop stops (the future fails): then it kills at once.
 */
struct child_reaper {
	pid_t			 pid;
	int			 pidfd;
	bool			 exited;
	bool			 killed;
	struct loop_event	 exit_ev;
	struct loop_event	 timer;
	struct future		*stopping;
};

static void
child_reaper_free(struct child_reaper *r)
{
	event_del(&r->exit_ev.ev);
	event_del(&r->timer.ev);
	child_reap(r->pid, r->pidfd);
	future_set_result(r->stopping, NULL);
	future_unref(r->stopping);
	free(r);
}

static void
child_reaper_exit(evutil_socket_t fd, short what, void *arg)
{
	struct child_reaper	*r = arg;
	siginfo_t		 si;

	if (!child_exited(r->pidfd, &si))
		return;
	r->exited = true;
	event_del(&r->exit_ev.ev);
	if (r->killed)
		child_reaper_free(r);
}

static void
child_reaper_timer(evutil_socket_t fd, short what, void *arg)
{
	struct child_reaper	*r = arg;

	child_signal_group(r->pid, SIGKILL);
	r->killed = true;
	if (r->exited)
		child_reaper_free(r);
}

/* At shutdown: nothing will run later on the loop, so kill and reap now. */
static void
child_kill_now(pid_t pid, int pidfd)
{
	child_signal_group(pid, SIGKILL);
	child_reap(pid, pidfd);
}

static void
child_reaper_stop(struct future *f, void *arg, const char *reason)
{
	struct child_reaper	*r = arg;

	event_del(&r->exit_ev.ev);
	event_del(&r->timer.ev);
	child_kill_now(r->pid, r->pidfd);
	future_unref(r->stopping);
	free(r);
}

void
child_terminate(struct loop *loop, pid_t pid, int pidfd, bool exited,
    double grace)
{
	struct child_reaper	*r;
	struct future		*stopping = future_new(loop);
	struct timeval		 tv;

	if (future_done(stopping)) {
		/* The loop has stopped (shutdown). */
		future_unref(stopping);
		child_kill_now(pid, pidfd);
		return;
	}
	child_signal_group(pid, SIGTERM);
	child_signal_group(pid, SIGCONT);	/* a stopped process cannot die of TERM */

	r = xcalloc(1, sizeof(*r));
	r->pid = pid;
	r->pidfd = pidfd;
	r->exited = exited;
	r->stopping = stopping;
	loop_event_assign(&r->exit_ev, loop, pidfd, EV_READ | EV_PERSIST,
	    child_reaper_exit, r);
	if (!exited)
		event_add(&r->exit_ev.ev, NULL);
	loop_event_assign(&r->timer, loop, -1, 0, child_reaper_timer, r);
	seconds_to_timeval(grace, &tv);
	event_add(&r->timer.ev, &tv);
	future_set_cancel_hook(stopping, child_reaper_stop, NULL, r);
}
