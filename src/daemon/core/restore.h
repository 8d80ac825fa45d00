/*
 * Jobs made again from what a store kept, at start (core/restore.c).
 */
#ifndef LOOM_RESTORE_H
#define LOOM_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/job.h"

/* What replay knows of one job: its submission, and its last state. */
struct job_restore {
	uint64_t	 id;
	uint32_t	 version;
	const char	*spec;		/* JSON text */
	size_t		 spec_len;
	const char	*owner;		/* who submitted it; NULL: "unix" */
	uint64_t	 parent;
	uint32_t	 index;
	int64_t		 created_ns;
	bool		 has_state;	/* else as its spec makes it */
	enum job_state	 state;
	uint32_t	 attempt;
	int64_t		 started_ns;
	int64_t		 due_ns;	/* pending for a retry */
	int64_t		 finished_ns;
	int64_t		 expires_ns;
	const char	*view;		/* finished: its terminal view */
	size_t		 view_len;
	const uint64_t	*children;	/* a composite's, by index (0: none) */
	size_t		 nchildren;
};

/*
 * On the main thread, with the loops running and no client yet, in id
 * order: make the job and register it.  -1 (and nothing made) if its spec
 * no longer parses, e.g. the config lost what it names.  Once all are
 * made, job_restore_go() hands each to its owner, in the same order.
 */
int	job_restore(const struct job_restore *, struct error *);
void	job_restore_go(void);

#endif
