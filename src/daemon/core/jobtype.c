/*
 * Job types and states by name.  The types are the jobs/ layer's, one file
 * each; the service registers their table at start (tmux's cmd_table), so
 * the job layer runs whatever it is given and names none of them.
 */
#include "autoconf.h"

#include <string.h>

#include "core/job.h"
#include "runtime/util.h"

static const struct job_type *const	*job_types;
static size_t				 job_ntypes;
static const struct job_type	*(*job_types_more)(const char *);

static const char *const job_state_names[JOB_NSTATES] = {
	[JOB_PENDING] = "pending",
	[JOB_QUEUED] = "queued",
	[JOB_RUNNING] = "running",
	[JOB_DONE] = "done",
	[JOB_FAILED] = "failed",
	[JOB_CANCELLED] = "cancelled",
	[JOB_TIMED_OUT] = "timed_out",
};

void
job_types_register(const struct job_type *const *types, size_t n)
{
	job_types = types;
	job_ntypes = n;
}

void
job_types_extend(const struct job_type *(*find)(const char *))
{
	job_types_more = find;
}

const struct job_type *
job_type_builtin(const char *name)
{
	size_t	i;

	for (i = 0; i < job_ntypes; i++) {
		if (strcmp(job_types[i]->name, name) == 0)
			return job_types[i];
	}
	return NULL;
}

const struct job_type *
job_type_find(const char *name)
{
	const struct job_type	*t;

	if ((t = job_type_builtin(name)) == NULL && job_types_more != NULL)
		t = job_types_more(name);
	return t;
}

const char *
job_state_name(enum job_state state)
{
	return job_state_names[state];
}

int
job_state_parse(const char *name)
{
	int	i;

	for (i = 0; i < JOB_NSTATES; i++) {
		if (strcmp(job_state_names[i], name) == 0)
			return i;
	}
	return -1;
}

bool
job_state_terminal(enum job_state state)
{
	return state >= JOB_DONE;
}
