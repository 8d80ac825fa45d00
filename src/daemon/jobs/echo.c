/* echo: the result is `value`, at once, on the owner loop. */
#include "autoconf.h"

#include <stdlib.h>

#include "runtime/fields.h"
#include "core/job.h"
#include "jobs/types.h"

static const char *const echo_fields[] = { "value", NULL };

static int
echo_parse(const json_t *args, const char *base, const struct config *cfg,
    void **parsed, struct error *e)
{
	json_t	*value = NULL;

	if (args != NULL) {
		if (fields_object(args, base, echo_fields, e) == -1)
			return -1;
		value = json_object_get(args, "value");
	}
	/* A copy: the request is freed on its own loop while the job runs. */
	*parsed = value != NULL ? json_deep_copy(value) : json_null();
	return 0;
}

static void
echo_free(void *parsed)
{
	json_decref(parsed);
}

static void
echo_start(struct job *job, void *parsed)
{
	/* The outcome keeps its result and may be freed on another loop: a
	 * copy of its own, never a second reference to the spec's value
	 * (jansson's counts are not atomic). */
	job_succeed(job, json_deep_copy(parsed));
}

const struct job_type job_type_echo = {
	.name = "echo",
	.runs = JOB_RUNS_LOOP,
	.parse = echo_parse,
	.free_parsed = echo_free,
	.start = echo_start,
};
