/*
 * Waiting for jobs, as systemd-run --wait and pueue follow do: the id goes
 * to stderr as soon as the job is accepted, and a wait that ends early
 * (Ctrl-C, --wait-timeout) says that the job goes on and which it is.
 * submit --wait is a submit and then a result with wait, so that the id is
 * known before the wait begins; with --stream it is one request, whose
 * child events name their parent.
 */
#include "autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl_print.h"
#include "ctl_run.h"

/* What Ctrl-C prints while a wait is under way: set before it begins. */
static char			ctl_stop_text[256];
static volatile sig_atomic_t	ctl_stop_len;

static void
ctl_stop_waiting(int sig)
{
	ssize_t	n;

	n = write(STDERR_FILENO, ctl_stop_text, ctl_stop_len);
	(void)n;
	_exit(CTL_EXIT_INTERRUPTED);
}

/* From now on Ctrl-C says this job goes on (id < 0: not known yet). */
static void
ctl_on_interrupt(long long id)
{
	struct sigaction	sa;
	int			n;

	if (id >= 0)
		n = snprintf(ctl_stop_text, sizeof(ctl_stop_text), "\nloomctl: "
		    "stopped waiting; job %lld goes on (loomctl result --wait "
		    "%lld)\n", id, id);
	else
		n = snprintf(ctl_stop_text, sizeof(ctl_stop_text), "\nloomctl: "
		    "stopped waiting; the job goes on (loomctl list shows it)\n");
	ctl_stop_len = n;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ctl_stop_waiting;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
}

static void
ctl_interrupt_default(void)
{
	signal(SIGINT, SIG_DFL);
}

/* A finished job's answer: its view (or JSON) and its fate as the status. */
static int
ctl_show_fate(const struct ctl_invocation *inv, const json_t *answer)
{
	const json_t	*job = json_object_get(answer, "job");
	int		 rc;

	if (!json_is_object(job))
		return ctl_protocol_error("the answer has no job");
	if ((rc = ctl_job_exit(job)) == CTL_EXIT_CONNECTION)
		return ctl_protocol_error("the job has not finished");
	if (!inv->json)
		ctl_print_view(stdout, job);
	return rc;
}

/* A wait that ran out: the job's id from the answer, else the one known. */
static int
ctl_wait_ran_out(const json_t *answer, long long id, double timeout)
{
	const json_t	*detail = json_object_get(json_object_get(answer, "error"),
			    "detail");
	const json_t	*job = json_object_get(detail, "job");
	char		 took[32];

	if (json_is_integer(job))
		id = json_integer_value(job);
	ctl_format_duration(took, sizeof(took), timeout);
	if (id >= 0)
		fprintf(stderr, "loomctl: stopped waiting after %s; job %lld goes "
		    "on (loomctl result --wait %lld)\n", took, id, id);
	else
		fprintf(stderr, "loomctl: stopped waiting after %s; the job goes "
		    "on\n", took);
	return CTL_EXIT_WAIT_TIMEOUT;
}

static int
ctl_is_timeout(const json_t *answer)
{
	const char	*code = json_string_value(json_object_get(
			    json_object_get(answer, "error"), "code"));

	return json_is_false(json_object_get(answer, "ok")) && code != NULL &&
	    strcmp(code, "timeout") == 0;
}

/* result with wait for job id: print how it ended. */
static int
ctl_wait_for(struct loom_client *c, const struct ctl_invocation *inv,
    long long id, double timeout)
{
	json_t	*request, *answer;
	int	 rc;

	request = json_pack("{ss sI sb}", "op", "result", "job", (json_int_t)id,
	    "wait", 1);
	if (timeout >= 0)
		json_object_set_new(request, "timeout", json_real(timeout));
	ctl_on_interrupt(id);
	rc = loom_request(c, request, &answer, -1);
	json_decref(request);
	ctl_interrupt_default();
	if (rc == -1) {
		fprintf(stderr, "loomctl: %s\n", loom_error(c));
		return CTL_EXIT_CONNECTION;
	}
	if (inv->json)
		ctl_print_json(stdout, answer);
	if (ctl_is_timeout(answer))
		rc = ctl_wait_ran_out(answer, id, timeout);
	else if (json_is_true(json_object_get(answer, "ok")))
		rc = ctl_show_fate(inv, answer);
	else if (json_is_false(json_object_get(answer, "ok"))) {
		ctl_print_error(stderr, answer);
		rc = CTL_EXIT_FAILED;
	} else
		rc = ctl_protocol_error("the answer has no \"ok\" member");
	json_decref(answer);
	return rc;
}

int
ctl_result_wait(struct loom_client *c, const struct ctl_invocation *inv)
{
	const json_t	*timeout = json_object_get(inv->request, "timeout");

	return ctl_wait_for(c, inv, json_integer_value(json_object_get(
	    inv->request, "job")), json_is_number(timeout) ?
	    json_number_value(timeout) : -1);
}

/* --stream: one request; children are printed as they finish. */
static int
ctl_submit_stream(struct loom_client *c, const struct ctl_invocation *inv)
{
	json_t		*msg;
	const json_t	*parent;
	long long	 job = -1;
	int		 rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ctl_on_interrupt(-1);
	if (loom_send(c, inv->request, -1) == -1) {
		fprintf(stderr, "loomctl: %s\n", loom_error(c));
		return CTL_EXIT_CONNECTION;
	}
	for (;;) {
		if (loom_receive(c, &msg, -1) == -1) {
			fprintf(stderr, "loomctl: %s\n", loom_error(c));
			rc = CTL_EXIT_CONNECTION;
			break;
		}
		if (json_object_get(msg, "ok") == NULL) {
			/* A child: its parent is the job submitted. */
			parent = json_object_get(json_object_get(msg, "job"), "parent");
			if (job < 0 && json_is_integer(parent)) {
				job = json_integer_value(parent);
				ctl_on_interrupt(job);
				fprintf(stderr, "job %lld running%s\n", job,
				    isatty(STDERR_FILENO) ? "; waiting for it "
				    "(Ctrl-C stops waiting, the job goes on)" : "");
			}
			if (inv->json)
				ctl_print_json(stdout, msg);
			else
				ctl_print_event(stdout, msg);
			json_decref(msg);
			continue;
		}
		if (inv->json)
			ctl_print_json(stdout, msg);
		if (ctl_is_timeout(msg))
			rc = ctl_wait_ran_out(msg, job, inv->wait_timeout);
		else if (json_is_true(json_object_get(msg, "ok")))
			rc = ctl_show_fate(inv, msg);
		else {
			ctl_print_error(stderr, msg);
			rc = CTL_EXIT_FAILED;
		}
		json_decref(msg);
		break;
	}
	ctl_interrupt_default();
	return rc;
}

int
ctl_submit_wait(struct loom_client *c, const struct ctl_invocation *inv)
{
	json_t		*request, *answer;
	const json_t	*job;
	long long	 id;
	int		 rc;

	if (inv->stream)
		return ctl_submit_stream(c, inv);
	request = json_deep_copy(inv->request);
	json_object_del(request, "wait");
	json_object_del(request, "timeout");
	ctl_hint_submit(c, inv, 0);
	rc = ctl_call(c, request, &answer, inv->json ? CTL_JSON_REFUSAL :
	    CTL_JSON_NONE);
	json_decref(request);
	if (rc == CTL_EXIT_FAILED)
		ctl_hint_submit(c, inv, 1);
	if (rc != 0)
		return rc;
	job = json_object_get(answer, "job");
	if (!json_is_integer(json_object_get(job, "id"))) {
		json_decref(answer);
		return ctl_protocol_error("the answer has no job id");
	}
	id = json_integer_value(json_object_get(job, "id"));
	/* At once, as systemd-run says its unit: the id is on record.  Ctrl-C
	 * names it from before it is told, so that whoever reacts to the line
	 * cannot interrupt before. */
	ctl_on_interrupt(id);
	fprintf(stderr, "job %lld %s%s\n", id, json_is_string(json_object_get(job,
	    "state")) ? json_string_value(json_object_get(job, "state")) :
	    "submitted", isatty(STDERR_FILENO) ? "; waiting for it (Ctrl-C "
	    "stops waiting, the job goes on)" : "");
	json_decref(answer);
	return ctl_wait_for(c, inv, id, inv->wait_timeout);
}

/* "jobs[3].args.n": the spec's index and the rest of the path. */
static int
ctl_batch_index(const char *path, size_t *index, const char **rest)
{
	char	*end;

	if (path == NULL || strncmp(path, "jobs[", 5) != 0)
		return -1;
	*index = strtoul(path + 5, &end, 10);
	if (end == path + 5 || *end != ']')
		return -1;
	*rest = end[1] == '.' ? end + 2 : end + 1;
	return 0;
}

/* A refused batch: which line of the file was at fault. */
static void
ctl_batch_error(const struct ctl_invocation *inv, const json_t *answer)
{
	const json_t	*error = json_object_get(answer, "error");
	const char	*path = json_string_value(json_object_get(error, "path"));
	const char	*code = json_string_value(json_object_get(error, "code"));
	const char	*message = json_string_value(json_object_get(error,
			    "message"));
	const char	*rest;
	const char	*file = strcmp(inv->batch_file, "-") == 0 ? "stdin" :
			    inv->batch_file;
	size_t		 index;
	json_t		*line;

	if (ctl_batch_index(path, &index, &rest) == -1 ||
	    !json_is_integer(line = json_array_get(inv->batch_lines, index))) {
		ctl_print_error(stderr, answer);
		return;
	}
	/* The message names the path in the request; the line's is rest. */
	if (message != NULL && strncmp(message, path, strlen(path)) == 0 &&
	    strncmp(message + strlen(path), ": ", 2) == 0)
		message += strlen(path) + 2;
	fprintf(stderr, "loomctl: %s:%lld: %s%s%s (%s); nothing was submitted\n",
	    file, (long long)json_integer_value(line), rest, *rest != '\0' ?
	    ": " : "", message != NULL ? message : "", code != NULL ? code :
	    "error");
}

int
ctl_submit_batch(struct loom_client *c, const struct ctl_invocation *inv)
{
	const json_t	*jobs, *job;
	json_t		*answer;
	size_t		 i;
	int		 rc = 0;

	if (loom_request(c, inv->request, &answer, -1) == -1) {
		fprintf(stderr, "loomctl: %s\n", loom_error(c));
		return CTL_EXIT_CONNECTION;
	}
	if (inv->json)
		ctl_print_json(stdout, answer);
	if (json_is_false(json_object_get(answer, "ok"))) {
		ctl_batch_error(inv, answer);
		json_decref(answer);
		return CTL_EXIT_FAILED;
	}
	jobs = json_object_get(answer, "jobs");
	if (!json_is_true(json_object_get(answer, "ok")) || !json_is_array(jobs))
		rc = ctl_protocol_error("the answer has no jobs");
	else if (!inv->json) {
		json_array_foreach(jobs, i, job)
			printf("%lld\n", (long long)json_integer_value(
			    json_object_get(job, "id")));
	}
	json_decref(answer);
	return rc;
}
