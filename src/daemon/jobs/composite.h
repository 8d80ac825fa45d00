/*
 * Composite jobs (asyncio's gather, TaskGroup, wait, sequential await):
 * the machinery they share.  Children are full jobs, submitted through the
 * same path as any job; the parent follows their futures from its own loop.
 */
#ifndef LOOM_JOBS_COMPOSITE_H
#define LOOM_JOBS_COMPOSITE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "runtime/util.h"

struct config;
struct job;
struct job_spec;

enum composite_kind {
	COMPOSITE_GATHER,
	COMPOSITE_GROUP,
	COMPOSITE_WAIT,
	COMPOSITE_SEQUENCE,
};

enum wait_when {
	WAIT_ALL_COMPLETED,
	WAIT_FIRST_COMPLETED,
	WAIT_FIRST_EXCEPTION,
};

struct composite_args {
	enum composite_kind	 kind;
	struct job_spec		**specs;	/* args.jobs, parsed */
	size_t			 n;
	size_t			 descendants;
	bool			 return_exceptions;	/* gather */
	enum wait_when		 return_when;		/* wait */
	double			 timeout;		/* wait: 0 = none */
	bool			 cancel_pending;	/* wait */
};

/* parse() of a composite type: `jobs` and the extra fields it allows. */
int	composite_parse(enum composite_kind, const json_t *args, const char *base,
	    const struct config *, void **parsed, struct error *);
void	composite_free_parsed(void *);
size_t	composite_descendants(const void *);
const struct job_spec *const *composite_children(const void *, size_t *n);
void	composite_start(struct job *, void *parsed);
void	composite_cancel(struct job *, void *parsed);

#endif
