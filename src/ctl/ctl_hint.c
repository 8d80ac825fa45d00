/*
 * "Did you mean" for names only the daemon knows: job types and queues,
 * from its stats.  Asked only after a refusal, or before an operator's
 * command, never on a script's fast path.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl_run.h"
#include "ctl_suggest.h"

/* The built-in types, which stats lists only once they have been used. */
static const char *const ctl_builtin_types[] = {
	"echo", "sleep", "sumsq", "digest", "pbkdf2", "gather", "group", "wait",
	"sequence", "wait_event", "http", "exec", NULL
};

static json_t *
ctl_stats(struct loom_client *c)
{
	json_t	*request = json_pack("{ss}", "op", "stats"), *answer, *stats;

	if (loom_request(c, request, &answer, 5) == -1) {
		json_decref(request);
		return NULL;
	}
	json_decref(request);
	stats = json_incref(json_object_get(answer, "stats"));
	json_decref(answer);
	return stats;
}

void
ctl_hint_type(struct loom_client *c, const char *type)
{
	json_t		*stats = ctl_stats(c);
	const char	*near = ctl_suggest_key(type, json_object_get(stats,
			    "types"));

	if (near == NULL)
		near = ctl_suggest(type, ctl_builtin_types);
	if (near != NULL)
		fprintf(stderr, "loomctl: did you mean '%s'?\n", near);
	json_decref(stats);
}

/*
 * A queue name that the daemon does not know and that is near one it does:
 * a warning, or with refuse a usage error.  Returns 0 to go on.
 */
int
ctl_hint_queue(struct loom_client *c, const char *queue, int refuse)
{
	json_t		*stats = ctl_stats(c), *queues;
	const char	*near;
	int		 rc = 0;

	queues = json_object_get(stats, "queues");
	if (queues == NULL || json_object_get(queues, queue) != NULL) {
		json_decref(stats);
		return 0;
	}
	if ((near = ctl_suggest_key(queue, queues)) != NULL) {
		if (refuse) {
			fprintf(stderr, "loomctl: no queue '%s' (did you mean "
			    "'%s'?)\n", queue, near);
			rc = CTL_EXIT_USAGE;
		} else
			fprintf(stderr, "loomctl: note: no queue '%s' yet (did "
			    "you mean '%s'?)\n", queue, near);
	}
	json_decref(stats);
	return rc;
}

/* A refused submit's type gets a suggestion; a new queue's name a note. */
void
ctl_hint_submit(struct loom_client *c, const struct ctl_invocation *inv,
    int refused)
{
	const json_t	*job = json_object_get(inv->request, "job");
	const char	*queue = json_string_value(json_object_get(job, "queue"));

	/* A note for a person at a terminal; scripts pay no stats for it. */
	if (!refused && queue != NULL && !inv->json && isatty(STDERR_FILENO))
		ctl_hint_queue(c, queue, 0);
	if (refused && strcmp(ctl_refused, "unknown_type") == 0)
		ctl_hint_type(c, json_string_value(json_object_get(job, "type")));
}
