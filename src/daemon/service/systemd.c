/*
 * sd_notify is one datagram per notification to the AF_UNIX socket named
 * by NOTIFY_SOCKET (a path, or an abstract name written with a leading '@').
 * Socket activation passes LISTEN_FDS descriptors from 3 on, for the process
 * named by LISTEN_PID.  The watchdog wants WATCHDOG=1 every WATCHDOG_USEC
 * microseconds, if WATCHDOG_PID (when set) is this process.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

#include "runtime/log.h"
#include "service/systemd.h"
#include "runtime/util.h"

static char	*notify_path;	/* NOTIFY_SOCKET, read once; NULL: none */
static char	*listen_names;	/* LISTEN_FDNAMES, read once; NULL: none */

/* Kept before the variable goes: the names say what each listener is for. */
static void
systemd_keep_names(void)
{
	const char	*names = getenv("LISTEN_FDNAMES");

	free(listen_names);
	listen_names = names != NULL ? xstrdup(names) : NULL;
}

const char *
systemd_listen_fd_name(int i)
{
	static char	 name[256];
	const char	*p = listen_names, *end;

	for (; p != NULL && i > 0; i--) {
		if ((p = strchr(p, ':')) != NULL)
			p++;
	}
	if (p == NULL)
		return "";
	end = strchr(p, ':');
	snprintf(name, sizeof(name), "%.*s", end != NULL ? (int)(end - p) :
	    (int)strlen(p), p);
	return name;
}

void
systemd_init(void)
{
	const char	*path = getenv("NOTIFY_SOCKET");

	free(notify_path);
	notify_path = path != NULL && (*path == '/' || *path == '@') ?
	    xstrdup(path) : NULL;
}

int
systemd_own_notify(const char *path, const char *state)
{
	struct sockaddr_un	sun;
	size_t			len = strlen(path);
	socklen_t		salen;
	int			fd, rc;

	if (len >= sizeof(sun.sun_path) || (*path != '/' && *path != '@')) {
		errno = EINVAL;
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, len);
	if (*path == '@')
		sun.sun_path[0] = '\0';		/* abstract: no terminating NUL */
	else
		len++;
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	rc = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, salen) == -1 ? -1 : 0;
	close(fd);
	return rc;
}

void
systemd_notify(const char *state)
{
	int	rc;

	if (notify_path == NULL)
		return;
#ifdef HAVE_LIBSYSTEMD
	if ((rc = sd_notify(0, state)) < 0)
		errno = -rc;
#else
	rc = systemd_own_notify(notify_path, state);
#endif
	if (rc < 0)
		log_debug("notify %s: %s", state, strerror(errno));
}

void
systemd_notifyf(const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;

	if (notify_path == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	systemd_notify(buf);
}

/* A whole decimal number that fits, or -1. */
static long long
systemd_number(const char *s)
{
	char		*end;
	long long	 n;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	return n;
}

int
systemd_own_listen_fds(char *err, size_t errlen)
{
	long long	pid = systemd_number(getenv("LISTEN_PID"));
	long long	n = systemd_number(getenv("LISTEN_FDS"));
	int		fd, rc = 0;

	if (getenv("LISTEN_FDS") == NULL)
		goto out;
	if (n < 0 || n > 4096) {
		snprintf(err, errlen, "LISTEN_FDS=%s is not a count",
		    getenv("LISTEN_FDS"));
		rc = -1;
		goto out;
	}
	/* Meant for our parent, say, and inherited: not ours. */
	if (pid != (long long)getpid())
		goto out;
	systemd_keep_names();
	for (fd = SYSTEMD_LISTEN_FDS_START; fd < SYSTEMD_LISTEN_FDS_START + n; fd++) {
		if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
			snprintf(err, errlen, "LISTEN_FDS: descriptor %d: %s", fd,
			    strerror(errno));
			rc = -1;
			goto out;
		}
	}
	rc = (int)n;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return rc;
}

int
systemd_listen_fds(char *err, size_t errlen)
{
#ifdef HAVE_LIBSYSTEMD
	int	n;

	if (getenv("LISTEN_PID") != NULL &&
	    strtoll(getenv("LISTEN_PID"), NULL, 10) == (long long)getpid())
		systemd_keep_names();
	n = sd_listen_fds(1);
	if (n < 0)
		snprintf(err, errlen, "LISTEN_FDS: %s", strerror(-n));
	unsetenv("LISTEN_FDNAMES");
	return n < 0 ? -1 : n;
#else
	return systemd_own_listen_fds(err, errlen);
#endif
}

uint64_t
systemd_own_watchdog_usec(void)
{
	long long	usec = systemd_number(getenv("WATCHDOG_USEC"));
	const char	*pid = getenv("WATCHDOG_PID");

	if (usec <= 0)
		return 0;
	if (pid != NULL && systemd_number(pid) != (long long)getpid())
		return 0;
	return (uint64_t)usec;
}

uint64_t
systemd_watchdog_usec(void)
{
#ifdef HAVE_LIBSYSTEMD
	uint64_t	usec = 0;

	return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
#else
	return systemd_own_watchdog_usec();
#endif
}
