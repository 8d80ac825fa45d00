/*
 * loomctl: the command-line client.  It parses its arguments into one
 * request (ctl_args.c), sends it, prints the answer (ctl_print.c) and says
 * how things went in its exit status; watch then prints events until the
 * connection ends, or until the job it watches has finished.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loom/client.h"
#include "ctl_args.h"
#include "ctl_print.h"

static double
ctl_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
ctl_protocol_error(const char *what)
{
	fprintf(stderr, "loomctl: protocol error: %s\n", what);
	return CTL_EXIT_CONNECTION;
}

/*
 * Send the request and check the answer's shape.  Returns 0 with *answer
 * when it is ok, else the exit status (the error has been printed).
 */
static int
ctl_call(struct loom_client *c, json_t *request, json_t **answer,
    int print_json)
{
	json_t	*ok;

	if (loom_request(c, request, answer, -1) == -1) {
		fprintf(stderr, "loomctl: %s\n", loom_error(c));
		return CTL_EXIT_CONNECTION;
	}
	ok = json_object_get(*answer, "ok");
	if (print_json)
		ctl_print_json(stdout, *answer);
	if (!json_is_boolean(ok)) {
		json_decref(*answer);
		*answer = NULL;
		return ctl_protocol_error("the answer has no \"ok\" member");
	}
	if (json_is_false(ok)) {
		ctl_print_error(stderr, *answer);
		json_decref(*answer);
		*answer = NULL;
		return CTL_EXIT_FAILED;
	}
	return 0;
}

/* The member a command's answer must have. */
static const json_t *
ctl_member(const json_t *answer, const char *key, int (*check)(const json_t *))
{
	const json_t	*v = json_object_get(answer, key);

	return (v != NULL && check(v)) ? v : NULL;
}

static int
ctl_is_object(const json_t *v)
{
	return json_is_object(v);
}

static int
ctl_is_array(const json_t *v)
{
	return json_is_array(v);
}

static int
ctl_run(struct loom_client *c, const struct ctl_invocation *inv)
{
	const json_t	*job = NULL, *jobs;
	json_t		*answer;
	double		 start = ctl_now();
	int		 rc;

	/* A raw request's answer is printed as it is, refused or not. */
	rc = ctl_call(c, inv->request, &answer,
	    inv->json || inv->command == CTL_REQUEST);
	if (rc != 0)
		return rc;

	switch (inv->command) {
	case CTL_SUBMIT:
	case CTL_STATUS:
	case CTL_RESULT:
	case CTL_CANCEL:
	case CTL_RETRY:
		if ((job = ctl_member(answer, "job", ctl_is_object)) == NULL) {
			rc = ctl_protocol_error("the answer has no job");
			break;
		}
		if (inv->fate)
			rc = ctl_job_exit(job);
		if (rc == CTL_EXIT_CONNECTION)
			rc = ctl_protocol_error("the job has not finished");
		if (inv->json)
			break;
		if ((inv->command == CTL_SUBMIT && !inv->fate) ||
		    inv->command == CTL_RETRY)
			ctl_print_accepted(stdout, job);
		else
			ctl_print_view(stdout, job);
		break;
	case CTL_LIST:
		if ((jobs = ctl_member(answer, "jobs", ctl_is_array)) == NULL)
			rc = ctl_protocol_error("the answer has no job list");
		else if (!inv->json)
			ctl_print_list(stdout, jobs, json_object_get(answer, "next"));
		break;
	case CTL_STATS:
		if (json_object_get(answer, "stats") == NULL)
			rc = ctl_protocol_error("the answer has no stats");
		else if (!inv->json)
			ctl_print_stats(stdout, json_object_get(answer, "stats"));
		break;
	case CTL_WORKERS:
		if (json_object_get(answer, "stats") == NULL)
			rc = ctl_protocol_error("the answer has no stats");
		else if (!inv->json)
			ctl_print_workers(stdout, json_object_get(answer, "stats"));
		break;
	case CTL_PING:
		if (!inv->json)
			ctl_print_ping(stdout, answer, ctl_now() - start);
		break;
	default:
		break;
	}
	json_decref(answer);
	return rc;
}

static void
ctl_print_event_as(const struct ctl_invocation *inv, const json_t *event)
{
	if (inv->json)
		ctl_print_json(stdout, event);
	else
		ctl_print_event(stdout, event);
}

/* Is this event the end of the job being watched? */
static int
ctl_watch_ends(const struct ctl_invocation *inv, const json_t *event)
{
	const json_t	*job = json_object_get(event, "job");
	const json_t	*id = json_object_get(job, "id");
	const char	*kind = json_string_value(json_object_get(event, "event"));

	if (inv->watch_job < 0 || kind == NULL || strcmp(kind, "job") != 0)
		return 0;
	if (!json_is_integer(id) || json_integer_value(id) != inv->watch_job)
		return 0;
	return ctl_job_exit(job) != CTL_EXIT_CONNECTION;
}

/*
 * A job watched by id ends the watch when it finishes.  One that finished
 * before the watch began sends no event, so ask for its state once the
 * watch is in place; its view is then printed as the one event.
 */
static int
ctl_watch_finished(struct loom_client *c, const struct ctl_invocation *inv,
    int *done)
{
	json_t	*status, *answer, *event;
	int	 rc;

	*done = 0;
	status = json_pack("{ss sI}", "op", "status", "job",
	    (json_int_t)inv->watch_job);
	rc = ctl_call(c, status, &answer, 0);
	json_decref(status);
	if (rc != 0)
		return rc;
	event = json_pack("{ss sO?}", "event", "job", "job",
	    json_object_get(answer, "job"));
	if (ctl_watch_ends(inv, event)) {
		ctl_print_event_as(inv, event);
		*done = 1;
	}
	json_decref(event);
	json_decref(answer);
	return 0;
}

static int
ctl_watch(struct loom_client *c, const struct ctl_invocation *inv)
{
	json_t	*answer, *event;
	int	 rc, done;

	/* Each event should reach a pipe as soon as it happens. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((rc = ctl_call(c, inv->request, &answer, 0)) != 0)
		return rc;
	json_decref(answer);
	if (inv->watch_job >= 0) {
		if ((rc = ctl_watch_finished(c, inv, &done)) != 0 || done)
			return rc;
	}
	for (;;) {
		if (loom_next_event(c, &event, -1) == -1) {
			fprintf(stderr, "loomctl: %s\n", loom_error(c));
			return CTL_EXIT_CONNECTION;
		}
		ctl_print_event_as(inv, event);
		done = ctl_watch_ends(inv, event);
		json_decref(event);
		if (done)
			return CTL_EXIT_OK;
	}
}

int
main(int argc, char **argv)
{
	struct ctl_invocation	 inv;
	struct loom_client	*c;
	char			 err[512];
	int			 rc;

	rc = ctl_parse(&inv, argc, argv, getenv("LOOMD_SOCKET"), err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "loomctl: %s\n"
		    "Try 'loomctl -h' for more information.\n", err);
		goto out;
	}
	if (inv.help) {
		fputs(ctl_usage, stdout);
		goto out;
	}
	if (inv.version) {
		printf("loomctl %s (protocol %d)\n", PACKAGE_VERSION,
		    LOOM_PROTOCOL_VERSION);
		goto out;
	}

	if ((c = loom_connect(inv.target, err, sizeof(err))) == NULL) {
		fprintf(stderr, "loomctl: cannot connect: %s\n", err);
		rc = CTL_EXIT_CONNECTION;
		goto out;
	}
	if (inv.command == CTL_WATCH)
		rc = ctl_watch(c, &inv);
	else
		rc = ctl_run(c, &inv);
	loom_close(c);

out:
	ctl_invocation_clear(&inv);
	if (fflush(stdout) == EOF && rc == 0) {
		fprintf(stderr, "loomctl: cannot write the output\n");
		rc = CTL_EXIT_FAILED;
	}
	return rc;
}
