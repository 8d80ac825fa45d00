/* gather: a composite job; see composite.c for what it shares. */
#include "autoconf.h"

#include "core/job.h"
#include "jobs/composite.h"
#include "jobs/types.h"

static int
gather_parse(const json_t *args, const char *base, const struct config *cfg,
    void **parsed, struct error *e)
{
	return composite_parse(COMPOSITE_GATHER, args, base, cfg, parsed, e);
}

const struct job_type job_type_gather = {
	.name = "gather",
	.runs = JOB_RUNS_LOOP,
	.parse = gather_parse,
	.free_parsed = composite_free_parsed,
	.start = composite_start,
	.cancel = composite_cancel,
	.descendants = composite_descendants,
	.children = composite_children,
};
