/*
 * The worker ops: worker.hello and worker.bye, then the reports on the jobs
 * pushed to the connection (job.complete, job.fail, job.progress,
 * job.heartbeat).  The work is net/worker.c's; this reads the requests.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/loomd.h"
#include "net/conn.h"
#include "net/ops.h"
#include "net/worker.h"
#include "runtime/fields.h"
#include "runtime/util.h"

static void
op_error(struct request *r, struct error *e)
{
	reply_error(r->conn, r->id, e);
	error_clear(e);
}

static int
hello_types(struct request *r, const char **names, size_t *n, struct error *e)
{
	json_t	*types = json_object_get(r->msg, "types"), *v;
	size_t	 i;
	char	 key[32];

	if (!json_is_array(types) || json_array_size(types) == 0)
		return fields_fail(e, "", "types", "must be a non-empty array of "
		    "type names");
	if (json_array_size(types) > WORKER_HELLO_TYPES_MAX)
		return fields_fail(e, "", "types", "at most %d types",
		    WORKER_HELLO_TYPES_MAX);
	json_array_foreach(types, i, v) {
		snprintf(key, sizeof(key), "types[%zu]", i);
		if (!json_is_string(v) || !name_valid(json_string_value(v),
		    json_string_length(v), true))
			return fields_fail(e, "", key, "must be a type name: 1 to "
			    "%d of A-Z a-z 0-9 _ - .", LOOM_NAME_MAX);
		names[i] = json_string_value(v);
	}
	*n = json_array_size(types);
	return 0;
}

void
op_worker_hello(struct request *r)
{
	const struct config	*cfg = atomic_load(&loomd.config);
	struct proto_conn	*pc = proto_conn(r->conn);
	struct error		 e = { 0 };
	const char		*names[WORKER_HELLO_TYPES_MAX], *name = NULL;
	json_int_t		 concurrency = 1;
	size_t			 n = 0;

	if (pc->worker != NULL) {
		reply_fail(r->conn, r->id, "invalid_state", "this connection is a "
		    "worker already");
		return;
	}
	if (hello_types(r, names, &n, &e) == -1 ||
	    field_integer(r->msg, "", "concurrency", FIELD_OPTIONAL, 1,
	    cfg->max_worker_concurrency, &concurrency, &e) == -1 ||
	    field_string(r->msg, "", "name", FIELD_OPTIONAL, 128, &name, &e) == -1) {
		op_error(r, &e);
		return;
	}
	pc->worker = worker_hello(r->conn, names, n, (unsigned int)concurrency,
	    name, &e);
	if (pc->worker == NULL) {
		op_error(r, &e);
		return;
	}
	/* Once a type it named is durable: known across restarts from then. */
	reply_ok_durable(r->conn, r->id, json_pack("{s:{s:s}}", "worker", "id",
	    worker_link_id(pc->worker)));
}

void
op_worker_bye(struct request *r)
{
	struct proto_conn	*pc = proto_conn(r->conn);

	if (pc->worker == NULL) {
		reply_fail(r->conn, r->id, "invalid_state", "this connection is "
		    "not a worker (send worker.hello first)");
		return;
	}
	worker_bye(pc->worker);
	reply_ok(r->conn, r->id, NULL);
}

/*
 * Error codes are static strings for the life of the daemon: the codes
 * workers name are kept in a table of their own, bounded, so that a worker
 * inventing codes cannot grow it without end (past the bound, `failed`).
 */
#define WORKER_CODES_MAX	1024

static const char	*worker_codes[WORKER_CODES_MAX];
static size_t		 worker_ncodes;
static pthread_mutex_t	 worker_codes_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *
worker_code(const char *code)
{
	const char	*found = "failed";
	size_t		 i;

	pthread_mutex_lock(&worker_codes_lock);
	for (i = 0; i < worker_ncodes; i++) {
		if (strcmp(worker_codes[i], code) == 0)
			break;
	}
	if (i == worker_ncodes && worker_ncodes < WORKER_CODES_MAX)
		worker_codes[worker_ncodes++] = error_code_static(code);
	if (i < worker_ncodes)
		found = worker_codes[i];
	pthread_mutex_unlock(&worker_codes_lock);
	return found;
}

/* The error a job.fail names: code (default failed), message, detail. */
static int
report_error(struct request *r, struct error *out, struct error *e)
{
	static const char *const fields[] = { "code", "message", "detail", NULL };
	json_t		*err = json_object_get(r->msg, "error");
	const char	*code = "failed", *message = "failed";

	if (err == NULL)
		goto done;
	if (fields_object(err, "error", fields, e) == -1 ||
	    field_name(err, "error", "code", FIELD_OPTIONAL, &code, e) == -1 ||
	    field_string(err, "error", "message", FIELD_OPTIONAL, 4096, &message,
	    e) == -1)
		return -1;
done:
	error_set(out, worker_code(code), "%s", message);
	if (err != NULL && json_object_get(err, "detail") != NULL)
		error_set_detail(out, json_deep_copy(json_object_get(err, "detail")));
	return 0;
}

static int
report_progress(struct request *r, json_t **out, struct error *e)
{
	static const char *const fields[] = { "done", "total", "message", NULL };
	json_t		*p = json_object_get(r->msg, "progress");
	double		 done, total;
	const char	*message;

	if (p == NULL)
		return fields_fail(e, "", "progress", "is required");
	if (fields_object(p, "progress", fields, e) == -1 ||
	    field_number(p, "progress", "done", FIELD_OPTIONAL, 0, 1e18, &done,
	    e) == -1 ||
	    field_number(p, "progress", "total", FIELD_OPTIONAL, 0, 1e18, &total,
	    e) == -1 ||
	    field_string(p, "progress", "message", FIELD_OPTIONAL, 1024, &message,
	    e) == -1)
		return -1;
	*out = json_deep_copy(p);
	return 0;
}

static void
op_report(struct request *r, enum worker_report_kind kind)
{
	struct proto_conn	*pc = proto_conn(r->conn);
	struct error		 e = { 0 }, err = { 0 };
	json_t			*payload = NULL;
	json_int_t		 id;
	bool			 retry = true;

	if (pc->worker == NULL) {
		reply_fail(r->conn, r->id, "invalid_state", "this connection is "
		    "not a worker (send worker.hello first)");
		return;
	}
	if (field_integer(r->msg, "", "job", FIELD_REQUIRED, 1, INT64_MAX, &id,
	    &e) == -1)
		goto fail;
	switch (kind) {
	case WORKER_COMPLETE:
		payload = json_deep_copy(json_object_get(r->msg, "result"));
		if (payload == NULL)
			payload = json_null();
		break;
	case WORKER_FAIL:
		if (report_error(r, &err, &e) == -1 ||
		    field_bool(r->msg, "", "retry", FIELD_OPTIONAL, &retry, &e) == -1)
			goto fail;
		break;
	case WORKER_PROGRESS:
		if (report_progress(r, &payload, &e) == -1)
			goto fail;
		break;
	case WORKER_HEARTBEAT:
		break;
	}
	worker_report(r->conn, r->id, pc->worker, kind, (uint64_t)id, payload,
	    &err, retry);
	return;
fail:
	error_clear(&err);
	op_error(r, &e);
}

void
op_job_complete(struct request *r)
{
	op_report(r, WORKER_COMPLETE);
}

void
op_job_fail(struct request *r)
{
	op_report(r, WORKER_FAIL);
}

void
op_job_progress(struct request *r)
{
	op_report(r, WORKER_PROGRESS);
}

void
op_job_heartbeat(struct request *r)
{
	op_report(r, WORKER_HEARTBEAT);
}
