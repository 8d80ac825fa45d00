/* Logging: stderr (with <N> priority prefixes when stderr is the journal) or
 * syslog, as text or JSON.  Each line is formatted whole and written with one
 * write(2), so lines from different threads never interleave. */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "runtime/log.h"

static const char	*log_ident = "loomd";
static _Atomic int	 log_level = LOG_INFO;
static _Atomic int	 log_target = LOG_TO_STDERR;	/* enum log_target */
static _Atomic int	 log_format = LOG_FORMAT_TEXT;	/* enum log_format */
static atomic_bool	 log_stamps;
static int		 log_journal;	/* stderr is connected to journald */

#define LOG_MSG_MAX	2048	/* a message, cut there */
#define LOG_VALUE_MAX	512	/* a field's text, cut there */
#define LOG_LINE_MAX	16384	/* room for the message escaped, and fields */

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
log_set_format(enum log_format format)
{
	atomic_store(&log_format, (int)format);
}

enum log_format
log_get_format(void)
{
	return (enum log_format)atomic_load(&log_format);
}

void
log_set_stamps(bool on)
{
	atomic_store(&log_stamps, on);
}

/* A line being built; what does not fit is cut. */
struct log_line {
	char	 buf[LOG_LINE_MAX];
	size_t	 len;
};

static void
line_add(struct log_line *l, const char *s, size_t n)
{
	size_t	room = sizeof(l->buf) - 2 - l->len;	/* '\n' and NUL */

	if (n > room)
		n = room;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

static void
line_str(struct log_line *l, const char *s)
{
	line_add(l, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
line_printf(struct log_line *l, const char *fmt, ...)
{
	char	tmp[64];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		line_add(l, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void
line_stamp(struct log_line *l)
{
	struct timespec	ts;
	struct tm	tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	line_printf(l, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    ts.tv_nsec / 1000000);
}

/* A JSON string, at most max bytes of s. */
static void
line_json_string(struct log_line *l, const char *s, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i;

	line_add(l, "\"", 1);
	for (i = 0; p[i] != '\0' && i < max; i++) {
		if (p[i] == '"' || p[i] == '\\') {
			line_add(l, "\\", 1);
			line_add(l, (const char *)&p[i], 1);
		} else if (p[i] == '\n')
			line_add(l, "\\n", 2);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			line_printf(l, "\\u%04x", p[i]);
		else
			line_add(l, (const char *)&p[i], 1);
	}
	line_add(l, "\"", 1);
}

/* key=value, quoted when the value is empty or has blanks, quotes or '='. */
static void
line_text_value(struct log_line *l, const char *s)
{
	size_t	n = strlen(s);

	if (n > LOG_VALUE_MAX)
		n = LOG_VALUE_MAX;
	if (n > 0 && strcspn(s, " \t\n\"=\\") >= n) {
		line_add(l, s, n);
		return;
	}
	line_json_string(l, s, n);
}

static void
line_field(struct log_line *l, const struct log_field *f, bool json)
{
	if (f->kind == LOG_FIELD_STR && f->s == NULL)
		return;
	if (json) {
		line_add(l, ",", 1);
		line_json_string(l, f->key, LOG_VALUE_MAX);
		line_add(l, ":", 1);
	} else {
		line_add(l, " ", 1);
		line_str(l, f->key);
		line_add(l, "=", 1);
	}
	switch (f->kind) {
	case LOG_FIELD_STR:
		if (json)
			line_json_string(l, f->s, LOG_VALUE_MAX);
		else
			line_text_value(l, f->s);
		break;
	case LOG_FIELD_INT:
		line_printf(l, "%lld", f->i);
		break;
	case LOG_FIELD_NUM:
		line_printf(l, "%.6g", f->d);
		break;
	}
}

/*
 * stderr: "<6>" first for the journal, else the time (if stamps are on) and
 * the ident in text; syslog gets the rest, its own stamp and ident.
 */
static void
log_emit(int pri, const char *msg, const struct log_field *fields, size_t n)
{
	struct log_line	 l;
	bool		 json = atomic_load(&log_format) == LOG_FORMAT_JSON;
	bool		 sys = atomic_load(&log_target) == LOG_TO_SYSLOG;
	bool		 stamp = !sys && !log_journal && atomic_load(&log_stamps);
	size_t		 i;

	l.len = 0;
	l.buf[0] = '\0';
	if (!sys && log_journal)
		line_printf(&l, "<%d>", pri);
	if (json) {
		line_str(&l, "{");
		if (stamp) {
			line_str(&l, "\"ts\":\"");
			line_stamp(&l);
			line_str(&l, "\",");
		}
		line_str(&l, "\"level\":\"");
		line_str(&l, log_level_name(pri));
		line_str(&l, "\",\"msg\":");
		line_json_string(&l, msg, LOG_MSG_MAX);
	} else {
		if (stamp) {
			line_stamp(&l);
			line_str(&l, " ");
		}
		if (!sys && !log_journal) {
			line_add(&l, log_ident, strnlen(log_ident, 64));
			line_str(&l, ": ");
		}
		line_str(&l, msg);
	}
	for (i = 0; i < n; i++)
		line_field(&l, &fields[i], json);
	if (json)
		line_str(&l, "}");
	if (sys) {
		syslog(pri, "%s", l.buf);
		return;
	}
	l.buf[l.len++] = '\n';
	(void)!write(STDERR_FILENO, l.buf, l.len);
}

void
log_fields(int pri, const char *msg, const struct log_field *fields, size_t n)
{
	int	saved = errno;

	if (pri > log_level)
		return;
	log_emit(pri, msg, fields, n);
	errno = saved;
}

void
log_vlog(int pri, const char *fmt, va_list ap)
{
	char	 msg[LOG_MSG_MAX];
	int	 saved = errno;

	if (pri > log_level)
		return;
	if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
		msg[0] = '\0';
	log_emit(pri, msg, NULL, 0);
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
