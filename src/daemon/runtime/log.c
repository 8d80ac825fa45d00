/* Logging: stderr (with <N> priority prefixes when stderr is the journal) or
 * syslog.  Each line is formatted whole and written with one write(2), so lines
 * from different threads never interleave. */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "runtime/log.h"

static const char	*log_ident = "loomd";
static _Atomic int	 log_level = LOG_INFO;
static _Atomic int	 log_target = LOG_TO_STDERR;	/* enum log_target */
static int		 log_journal;	/* stderr is connected to journald */

static const char *const log_names[] = {
	[LOG_EMERG] = "emerg", [LOG_ALERT] = "alert", [LOG_CRIT] = "crit",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/* JOURNAL_STREAM is "dev:ino" of the stream journald gave us; it only
 * applies if stderr is still that stream. */
static int
log_stderr_is_journal(void)
{
	const char		*env = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;

	if (env == NULL || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (st.st_dev == dev && st.st_ino == ino);
}

static void
log_libevent(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	default:
		log_warnx("libevent: %s", msg);
		break;
	}
}

static void
log_libevent_fatal(int err)
{
	fatalx("libevent fatal error %d", err);
}

void
log_init(const char *ident, int level, enum log_target target)
{
	if (ident != NULL)
		log_ident = ident;
	log_level = level;
	log_target = target;
	log_journal = log_stderr_is_journal();
	if (target == LOG_TO_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	event_set_log_callback(log_libevent);
	event_set_fatal_callback(log_libevent_fatal);
}

void
log_set_level(int level)
{
	log_level = level;
}

/* A reload may switch targets while other threads log. */
void
log_set_target(enum log_target target)
{
	if ((int)target == atomic_load(&log_target))
		return;
	if (target == LOG_TO_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	atomic_store(&log_target, (int)target);
	if (target != LOG_TO_SYSLOG)
		closelog();
}

enum log_target
log_get_target(void)
{
	return (enum log_target)atomic_load(&log_target);
}

bool
log_to_journal(void)
{
	return log_journal;
}

int
log_get_level(void)
{
	return log_level;
}

int
log_level_parse(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++) {
		if (log_names[i] != NULL && strcmp(log_names[i], name) == 0)
			return (int)i;
	}
	if (strcmp(name, "warn") == 0)
		return LOG_WARNING;
	if (strcmp(name, "err") == 0)
		return LOG_ERR;
	return -1;
}

const char *
log_level_name(int level)
{
	if (level < 0 || level > LOG_DEBUG)
		return "unknown";
	return log_names[level];
}

void
log_vlog(int pri, const char *fmt, va_list ap)
{
	char	 line[2048];
	int	 n = 0, m;
	int	 saved = errno;

	if (pri > log_level)
		return;
	if (log_target == LOG_TO_SYSLOG) {
		vsyslog(pri, fmt, ap);
		errno = saved;
		return;
	}
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%d>", pri);
	else
		n = snprintf(line, sizeof(line), "%.64s: ", log_ident);
	m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, n);
	errno = saved;
}

static void
log_at(int pri, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(pri, fmt, ap);
	va_end(ap);
}

/* Appends ": strerror(errno)" and leaves errno as it found it. */
static void
log_with_errno(int pri, const char *fmt, va_list ap)
{
	char	buf[1536];
	int	saved = errno;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_at(pri, "%s: %s", buf, strerror(saved));
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_with_errno(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < LOG_DEBUG)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_with_errno(LOG_CRIT, fmt, ap);
	va_end(ap);
	abort();
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	abort();
}
