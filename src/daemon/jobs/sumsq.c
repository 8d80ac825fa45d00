/*
 * sumsq: the exact sum of i² for 0 ≤ i < n, as a decimal string.  It is
 * CPU-bound on purpose (the executor benchmark runs it), so it iterates
 * rather than use the closed form.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/executor.h"
#include "runtime/fields.h"
#include "core/job.h"
#include "jobs/types.h"
#include "runtime/util.h"

#define SUMSQ_MAX_N	10000000000LL	/* the sum stays below 2^99 */
#define SUMSQ_BLOCK	(1u << 20)	/* iterations between cancel polls */
/* Digits of 2^128 - 1, and a NUL. */
#define SUMSQ_DIGITS	40

struct sumsq_args {
	uint64_t	n;
};

/* Exported for the unit tests, which check values too big to iterate. */
char	*sumsq_format(unsigned __int128, char *, size_t);

static int
sumsq_parse(const json_t *args, const char *base, const struct config *config,
    void **parsed, struct error *e)
{
	static const char *const known[] = { "n", NULL };
	struct sumsq_args	*a;
	json_int_t		 n = 0;

	if (args != NULL && fields_object(args, base, known, e) == -1)
		return -1;
	if (field_integer(args, base, "n", FIELD_REQUIRED, 0, SUMSQ_MAX_N, &n,
	    e) == -1)
		return -1;
	a = xmalloc(sizeof(*a));
	a->n = (uint64_t)n;
	*parsed = a;
	return 0;
}

static void
sumsq_free_parsed(void *parsed)
{
	free(parsed);
}

/* The decimal digits of v, written backwards from the end of buf. */
char *
sumsq_format(unsigned __int128 v, char *buf, size_t len)
{
	char	*p = buf + len;

	*--p = '\0';
	do {
		*--p = '0' + (char)(v % 10);
		v /= 10;
	} while (v != 0 && p > buf);
	return p;
}

static json_t *
sumsq_work(void *parsed, struct error *e)
{
	const struct sumsq_args	*a = parsed;
	unsigned __int128	 sum = 0;
	uint64_t		 i = 0, end;
	char			 buf[SUMSQ_DIGITS];

	while (i < a->n) {
		end = a->n - i > SUMSQ_BLOCK ? i + SUMSQ_BLOCK : a->n;
		for (; i < end; i++) {
			/*
			 * Hide i from the optimiser: a compiler that sees the
			 * induction (clang does) replaces the loop with the
			 * closed form and the work is gone.
			 */
			__asm__("" : "+r" (i));
			sum += (unsigned __int128)i * i;
		}
		if (executor_cancelled())
			return NULL;
	}
	return json_string(sumsq_format(sum, buf, sizeof(buf)));
}

const struct job_type job_type_sumsq = {
	.name = "sumsq",
	.runs = JOB_RUNS_EXECUTOR,
	.parse = sumsq_parse,
	.free_parsed = sumsq_free_parsed,
	.work = sumsq_work,
};
