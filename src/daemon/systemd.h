/*
 * Working under systemd: notifications to the service manager (sd_notify:
 * READY=1, STOPPING=1, STATUS=..., WATCHDOG=1).  Without NOTIFY_SOCKET in
 * the environment every call is a no-op.  Main thread only.
 */
#ifndef LOOM_SYSTEMD_H
#define LOOM_SYSTEMD_H

/* Read the environment once, before any thread starts. */
void	systemd_init(void);
/* One or more "KEY=VALUE" lines. */
void	systemd_notify(const char *state);
void	systemd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
