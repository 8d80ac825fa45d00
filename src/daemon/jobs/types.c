/* The built-in job types: adding one is a file here and a line below. */
#include "autoconf.h"

#include "core/job.h"
#include "jobs/types.h"
#include "runtime/util.h"

static const struct job_type *const jobs_builtin[] = {
	&job_type_echo,
	&job_type_sleep,
	&job_type_sumsq,
	&job_type_digest,
	&job_type_pbkdf2,
	&job_type_gather,
	&job_type_group,
	&job_type_wait,
	&job_type_sequence,
	&job_type_wait_event,
	&job_type_exec,
	&job_type_http,
};

void
jobs_register_builtin(void)
{
	job_types_register(jobs_builtin, nitems(jobs_builtin));
}
