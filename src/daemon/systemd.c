/*
 * sd_notify: one datagram per notification to the AF_UNIX socket named by
 * NOTIFY_SOCKET (a path, or an abstract name written with a leading '@').
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "systemd.h"
#include "util.h"

static struct sockaddr_un	notify_addr;
static socklen_t		notify_len;	/* 0: no service manager */
static int			notify_fd = -1;

void
systemd_init(void)
{
	const char	*path = getenv("NOTIFY_SOCKET");
	size_t		 len;

	notify_len = 0;
	if (path == NULL || (*path != '/' && *path != '@'))
		return;
	if ((len = strlen(path)) >= sizeof(notify_addr.sun_path)) {
		log_warnx("NOTIFY_SOCKET is too long; not notifying systemd");
		return;
	}
	memset(&notify_addr, 0, sizeof(notify_addr));
	notify_addr.sun_family = AF_UNIX;
	memcpy(notify_addr.sun_path, path, len);
	if (*path == '@')
		notify_addr.sun_path[0] = '\0';	/* abstract: no terminating NUL */
	else
		len++;
	notify_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

void
systemd_notify(const char *state)
{
	if (notify_len == 0)
		return;
	if (notify_fd == -1 &&
	    (notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("notify socket");
		return;
	}
	if (sendto(notify_fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_addr, notify_len) == -1)
		log_debug("notify %s: %s", state, strerror(errno));
}

void
systemd_notifyf(const char *fmt, ...)
{
	char	buf[1024];
	va_list	ap;

	if (notify_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	systemd_notify(buf);
}
