/*
 * Fault injection for tests, without privileges: preloaded (LD_PRELOAD), it
 * makes chosen system calls fail, as LOOM_FAULT says:
 *
 *	LOOM_FAULT="fdatasync=EIO@3,writev=ENOSPC@5+"
 *
 * fails the third fdatasync with EIO, and the fifth writev and every one
 * after it with ENOSPC; a failed call does nothing.  The calls: write,
 * writev, pwrite, pwritev, fallocate, posix_fallocate, fdatasync, fsync.
 * Only calls on regular files and directories above fd 2 count, so that a
 * program's own output is left alone.  The first fault fired is told on
 * stderr.
 *
 *	LOOM_FAULT_GATE=/path/gate
 *
 * holds every fdatasync and fsync for as long as that file exists: a test
 * makes it to keep what is being written from becoming durable, and removes
 * it to let the calls go on.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/stat.h>
#include <sys/uio.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum fault_call {
	FAULT_WRITE,
	FAULT_WRITEV,
	FAULT_PWRITE,
	FAULT_PWRITEV,
	FAULT_FALLOCATE,
	FAULT_POSIX_FALLOCATE,
	FAULT_FDATASYNC,
	FAULT_FSYNC,
	FAULT_NCALLS,
};

static const char *const fault_names[FAULT_NCALLS] = {
	"write", "writev", "pwrite", "pwritev", "fallocate", "posix_fallocate",
	"fdatasync", "fsync",
};

static const struct {
	const char	*name;
	int		 value;
} fault_errnos[] = {
	{ "EIO", EIO }, { "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT },
	{ "EROFS", EROFS }, { "EFBIG", EFBIG }, { "EBADF", EBADF },
	{ "EINTR", EINTR }, { "EINVAL", EINVAL },
};

struct fault_rule {
	int		errnum;		/* 0: this call is left alone */
	unsigned long	at;		/* the call that fails, from 1 */
	bool		onward;		/* and every one after it */
};

static struct fault_rule	fault_rules[FAULT_NCALLS];
static atomic_ulong		fault_counts[FAULT_NCALLS];
static const char		*fault_gate;

static int
fault_errno(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(fault_errnos) / sizeof(fault_errnos[0]); i++) {
		if (strlen(fault_errnos[i].name) == len &&
		    strncmp(fault_errnos[i].name, s, len) == 0)
			return fault_errnos[i].value;
	}
	return atoi(s);
}

/* One "call=ERRNO@K[+]"; a malformed one is said on stderr and ignored. */
static void
fault_parse_one(const char *s, size_t len)
{
	const char	*eq = memchr(s, '=', len), *at = memchr(s, '@', len);
	int		 i;

	if (eq == NULL || at == NULL || at < eq)
		goto bad;
	for (i = 0; i < FAULT_NCALLS; i++) {
		if (strlen(fault_names[i]) == (size_t)(eq - s) &&
		    strncmp(fault_names[i], s, (size_t)(eq - s)) == 0)
			break;
	}
	if (i == FAULT_NCALLS)
		goto bad;
	fault_rules[i].errnum = fault_errno(eq + 1, (size_t)(at - eq - 1));
	fault_rules[i].at = strtoul(at + 1, NULL, 10);
	fault_rules[i].onward = s[len - 1] == '+';
	if (fault_rules[i].errnum > 0 && fault_rules[i].at > 0)
		return;
	fault_rules[i].errnum = 0;
bad:
	fprintf(stderr, "fault: cannot read \"%.*s\"\n", (int)len, s);
}

__attribute__((constructor)) static void
fault_init(void)
{
	const char	*s = getenv("LOOM_FAULT"), *comma;

	fault_gate = getenv("LOOM_FAULT_GATE");
	if (s == NULL)
		return;
	while (*s != '\0') {
		comma = strchr(s, ',');
		if (comma == NULL)
			comma = s + strlen(s);
		if (comma > s)
			fault_parse_one(s, (size_t)(comma - s));
		s = *comma == ',' ? comma + 1 : comma;
	}
}

/* The errno this call on fd is to fail with, or 0. */
static int
fault_hit(enum fault_call c, int fd)
{
	struct fault_rule	*r = &fault_rules[c];
	struct stat		 st;
	unsigned long		 n;

	if (r->errnum == 0 || fd <= 2 || fstat(fd, &st) == -1 ||
	    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
		return 0;
	n = atomic_fetch_add(&fault_counts[c], 1) + 1;
	if (n != r->at && !(r->onward && n > r->at))
		return 0;
	if (n == r->at)
		fprintf(stderr, "fault: %s #%lu%s fails with %s\n",
		    fault_names[c], n, r->onward ? " and on" : "",
		    strerror(r->errnum));
	return r->errnum;
}

static void *
fault_real(const char *name)
{
	void	*fn = dlsym(RTLD_NEXT, name);

	if (fn == NULL) {
		fprintf(stderr, "fault: no %s to wrap\n", name);
		abort();
	}
	return fn;
}

typedef ssize_t	(*write_fn)(int, const void *, size_t);
typedef ssize_t	(*writev_fn)(int, const struct iovec *, int);
typedef ssize_t	(*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t	(*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef int	(*fallocate_fn)(int, int, off_t, off_t);
typedef int	(*posix_fallocate_fn)(int, off_t, off_t);
typedef int	(*sync_fn)(int);

#define FAULT_REAL(type, name)						\
	static type real;						\
	if (real == NULL)						\
		real = (type)fault_real(name)

ssize_t
write(int fd, const void *buf, size_t n)
{
	FAULT_REAL(write_fn, "write");
	int	e = fault_hit(FAULT_WRITE, fd);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return real(fd, buf, n);
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
	FAULT_REAL(writev_fn, "writev");
	int	e = fault_hit(FAULT_WRITEV, fd);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return real(fd, iov, cnt);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
	FAULT_REAL(pwrite_fn, "pwrite");
	int	e = fault_hit(FAULT_PWRITE, fd);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return real(fd, buf, n, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	return pwrite(fd, buf, n, off);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	FAULT_REAL(pwritev_fn, "pwritev");
	int	e = fault_hit(FAULT_PWRITEV, fd);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return real(fd, iov, cnt, off);
}

int
fallocate(int fd, int mode, off_t off, off_t len)
{
	FAULT_REAL(fallocate_fn, "fallocate");
	int	e = fault_hit(FAULT_FALLOCATE, fd);

	if (e != 0) {
		errno = e;
		return -1;
	}
	return real(fd, mode, off, len);
}

int
fallocate64(int fd, int mode, off_t off, off_t len)
{
	return fallocate(fd, mode, off, len);
}

/* posix_fallocate answers with the error, not errno. */
int
posix_fallocate(int fd, off_t off, off_t len)
{
	FAULT_REAL(posix_fallocate_fn, "posix_fallocate");
	int	e = fault_hit(FAULT_POSIX_FALLOCATE, fd);

	return e != 0 ? e : real(fd, off, len);
}

int
posix_fallocate64(int fd, off_t off, off_t len)
{
	return posix_fallocate(fd, off, len);
}

/* A sync waits while the gate is there. */
static void
fault_gate_wait(void)
{
	struct stat	st;

	while (fault_gate != NULL && stat(fault_gate, &st) == 0)
		usleep(1000);
}

int
fdatasync(int fd)
{
	FAULT_REAL(sync_fn, "fdatasync");
	int	e = fault_hit(FAULT_FDATASYNC, fd);

	fault_gate_wait();

	if (e != 0) {
		errno = e;
		return -1;
	}
	return real(fd);
}

int
fsync(int fd)
{
	FAULT_REAL(sync_fn, "fsync");
	int	e = fault_hit(FAULT_FSYNC, fd);

	fault_gate_wait();

	if (e != 0) {
		errno = e;
		return -1;
	}
	return real(fd);
}
