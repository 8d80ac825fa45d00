/* Logging in the OpenSMTPD manner: one line per event, levels from syslog.h,
 * errno-preserving warn variants, fatal for the impossible. */
#ifndef LOOM_LOG_H
#define LOOM_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

enum log_target {
	LOG_TO_STDERR,
	LOG_TO_SYSLOG,
};

enum log_format {
	LOG_FORMAT_TEXT,	/* "loomd: message key=value" */
	LOG_FORMAT_JSON,	/* one JSON object a line: ts, level, msg, fields */
};

/* A named value after a line's message: key=value, or a JSON member. */
enum log_field_kind {
	LOG_FIELD_STR,		/* NULL: left out */
	LOG_FIELD_INT,
	LOG_FIELD_NUM,		/* seconds and the like, %.6g */
};
struct log_field {
	const char		*key;
	enum log_field_kind	 kind;
	const char		*s;
	long long		 i;
	double			 d;
};

void	log_init(const char *ident, int level, enum log_target target);
void	log_set_level(int level);
void	log_set_target(enum log_target);
enum log_target log_get_target(void);
bool	log_to_journal(void);	/* stderr is journald's stream */
/* Any thread, at any time (a reload). */
void	log_set_format(enum log_format);
enum log_format log_get_format(void);
/* An RFC 3339 UTC time before each stderr line: on when stderr is not the
 * journal, which stamps lines itself. */
void	log_set_stamps(bool);
int	log_get_level(void);
int	log_level_parse(const char *name);	/* "debug" → LOG_DEBUG; -1 if unknown */
const char *log_level_name(int level);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_vlog(int, const char *, va_list) __attribute__((format(printf, 2, 0)));
/* A message and its fields, as the format has them. */
void	log_fields(int, const char *msg, const struct log_field *, size_t);
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
