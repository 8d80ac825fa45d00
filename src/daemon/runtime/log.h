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

void	log_init(const char *ident, int level, enum log_target target);
void	log_set_level(int level);
void	log_set_target(enum log_target);
enum log_target log_get_target(void);
bool	log_to_journal(void);	/* stderr is journald's stream */
int	log_get_level(void);
int	log_level_parse(const char *name);	/* "debug" → LOG_DEBUG; -1 if unknown */
const char *log_level_name(int level);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_vlog(int, const char *, va_list) __attribute__((format(printf, 2, 0)));
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
