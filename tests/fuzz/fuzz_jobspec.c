/*
 * libFuzzer target: the job-spec parser (job_parse), as op_submit calls it
 * for each spec, with every built-in type registered and a configuration
 * that names a queue, a limit and a command, so that the paths which look
 * them up are reached.  An input is one JSON text; the parser sees what
 * jansson makes of it.  No job is submitted: an accepted one is discarded.
 *
 * Checked besides the sanitizers: a refused spec is refused with
 * bad_request, unknown_type or forbidden (an exec env name or option the
 * configuration never admits), a message and the path of the field at
 * fault under "job"; an accepted one counts at least one job.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/job.h"
#include "runtime/util.h"

#include "fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_init(void)
{
	static const char *const assignments[] = {
		"loops=1",
		"executor_threads=1",
		"files_root=/nonexistent/loomd-fuzz",
		"queue.solo.concurrency=1",
		"queue.capped.max_pending=2",
		"limit.db.concurrency=2",
		"command.hello.argv=/bin/true hello",
		"command.hello.allow_args=yes",
		"command.hello.allow_env=yes",
		"command.fixed.argv=/bin/true",
		NULL
	};

	fuzz_daemon_start(fuzz_config(assignments));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool	 started;
	struct error	 e = { 0 };
	struct job	*job;
	json_error_t	 jerr;
	json_t		*spec;

	if (!started) {
		fuzz_init();
		started = true;
	}
	if ((spec = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &jerr)) == NULL)
		return 0;
	if ((job = job_parse(spec, "job", &e)) == NULL) {
		if (e.code == NULL || e.message == NULL || e.path == NULL ||
		    strncmp(e.path, "job", 3) != 0 ||
		    (strcmp(e.code, "bad_request") != 0 &&
		    strcmp(e.code, "unknown_type") != 0 &&
		    strcmp(e.code, "forbidden") != 0))
			abort();
		error_clear(&e);
	} else {
		if (job_count(&job, 1) < 1)
			abort();
		(void)job_has_delay(job);
		(void)job_uses_executor(job);
		job_discard(job);
	}
	json_decref(spec);
	return 0;
}
