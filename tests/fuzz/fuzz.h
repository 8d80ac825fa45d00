/*
 * What the libFuzzer targets share: a configuration built as loomd builds
 * its own (defaults, then KEY=VALUE assignments, then the cross-key checks)
 * and a core started as loomd starts it, without listeners.
 */
#ifndef LOOM_FUZZ_H
#define LOOM_FUZZ_H

struct config;

/* NULL-ended KEY=VALUE assignments, as with -o; exits on a bad one. */
struct config	*fuzz_config(const char *const *assignments);
/* daemon_start(), quiet: only errors are logged. */
void		 fuzz_daemon_start(struct config *);

#endif
