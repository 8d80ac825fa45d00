/*
 * Who a request acts for, and what it may do.  A principal is a token's
 * name, or "unix" for the Unix socket's connections (trusted by the
 * socket's file mode), or "anonymous" for TCP with auth_tcp = none.  Every
 * job carries the principal that submitted it (its "owner" in the view):
 * interned here, so that a job holds a pointer, comparing two is comparing
 * pointers, and each counts its jobs for its share of max_jobs.  Principals
 * are never freed while the daemon runs; there are as many as token names
 * ever configured or found in the journal.
 *
 * Roles are what a connection may do (doc/security.md has the table).
 */
#ifndef LOOM_PRINCIPAL_H
#define LOOM_PRINCIPAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define ROLE_READ	0x01	/* look at any job, stats, events */
#define ROLE_SUBMIT	0x02	/* submit; look at and cancel its own jobs */
#define ROLE_WORK	0x04	/* run jobs of external types (workers) */
#define ROLE_CONTROL	0x08	/* cancel and retry any job, queues, events */
#define ROLE_ADMIN	0x10	/* everything */
#define ROLE_ALL	0x1f

#define PRINCIPAL_UNIX		"unix"
#define PRINCIPAL_ANONYMOUS	"anonymous"

struct principal {
	const char	*name;
	atomic_size_t	 jobs;		/* registered now, children included */
};

/* The one principal of this name, made on first use; any thread. */
struct principal *principal_get(const char *name);
size_t		  principal_jobs(const struct principal *);
/* A reserved name (unix, anonymous) that no token may take. */
bool		  principal_reserved(const char *name);
/* At exit, once no job is left. */
void		  principal_free_all(void);

/* "read" → ROLE_READ; 0 if no such role. */
unsigned int	  role_parse(const char *, size_t len);
const char	 *role_name(unsigned int bit);
/* "read, submit" (or "none") into buf. */
const char	 *roles_text(unsigned int roles, char *buf, size_t len);

#endif
