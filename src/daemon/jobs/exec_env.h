/*
 * exec: the environment variables no client may set, whatever a command's
 * allow_env says.  They make the dynamic loader, the C library, a shell or an
 * interpreter load or run code of the setter's choosing (LD_PRELOAD,
 * BASH_ENV, PYTHONSTARTUP, NODE_OPTIONS ...), or change how the command's
 * own words are found and split (PATH, IFS).  doc/loomd.conf.5 lists them.
 */
#ifndef LOOM_EXEC_ENV_H
#define LOOM_EXEC_ENV_H

#include <stdbool.h>

/*
 * The entry of the list that forbids `name` ("LD_*", "PATH"), or NULL if
 * it may be set.  A name ending in '*' (an allow_env prefix) is forbidden
 * if what comes before the '*' is.
 */
const char	*exec_env_forbidden(const char *name);

/* A variable name: A-Z a-z 0-9 _, not starting with a digit. */
bool		 exec_env_name_ok(const char *);

#endif
