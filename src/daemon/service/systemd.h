/*
 * Working under systemd: notifications to the service manager (sd_notify:
 * READY=1, STOPPING=1, RELOADING=1, STATUS=..., WATCHDOG=1), the listeners
 * of socket activation (LISTEN_FDS), and the watchdog's interval.  With
 * libsystemd (configure --with-systemd) its functions do the work; without
 * it, the small implementations below speak the same protocol.  Outside
 * systemd every call is a no-op.  Main thread only, and systemd_init() and
 * systemd_listen_fds() before any other thread starts.
 */
#ifndef LOOM_SYSTEMD_H
#define LOOM_SYSTEMD_H

#include <stddef.h>
#include <stdint.h>

#define SYSTEMD_LISTEN_FDS_START	3

void	systemd_init(void);
/* One or more "KEY=VALUE" lines. */
void	systemd_notify(const char *state);
void	systemd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The listeners passed by socket activation, at SYSTEMD_LISTEN_FDS_START
 * and on: how many (0: none, -1: a bad environment, message in err).  The
 * LISTEN_* variables are removed so that no child sees them.
 */
int	systemd_listen_fds(char *err, size_t errlen);
/*
 * The FileDescriptorName of the i-th of them (from 0), as LISTEN_FDNAMES
 * gave it before systemd_listen_fds() removed it; "" if none was given.
 */
const char *systemd_listen_fd_name(int i);
/* WATCHDOG_USEC when it is meant for this process, else 0. */
uint64_t systemd_watchdog_usec(void);

/* The implementations used without libsystemd; the tests call them. */
int	systemd_own_notify(const char *socket_path, const char *state);
int	systemd_own_listen_fds(char *err, size_t errlen);
uint64_t systemd_own_watchdog_usec(void);

#endif
