/*
 * The drain, on the main thread after SIGTERM or SIGINT: listeners close, new
 * submits are refused, running jobs have shutdown_grace to finish, then the
 * rest fail with shutting_down; every client waiting on a job gets its
 * answer before its connection closes; then the loops and the executor stop.
 */
#ifndef LOOM_SHUTDOWN_H
#define LOOM_SHUTDOWN_H

/*
 * sfd is the signalfd of SIGTERM, SIGINT and SIGHUP: a second SIGTERM or
 * SIGINT exits at once (status 0), SIGHUP is ignored.  Returns 0 once
 * everything has stopped, -1 if a loop or a job did not stop in time: then
 * nothing may be freed and the caller exits at once.
 */
int	shutdown_run(int sfd, const char *why);

#endif
