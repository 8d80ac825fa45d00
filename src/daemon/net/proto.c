/*
 * The wire protocol (doc/protocol.md), as the transport sees it: a handler
 * that takes each line, parses it, checks it against the op table (tmux's
 * cmd_table) and runs the op.  The ops are in op_*.c, replies in reply.c.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <string.h>

#include "core/config.h"
#include "core/loomd.h"
#include "net/conn.h"
#include "net/ops.h"
#include "net/proto.h"
#include "net/watch.h"
#include "runtime/fields.h"
#include "runtime/jsonload.h"
#include "runtime/util.h"

struct op {
	const char	*name;
	const char	*const *fields;	/* besides "op" and "id" */
	void		(*handle)(struct request *);
};

/* The op table ------------------------------------------------------------ */

static const char *const fields_none[] = { NULL };
static const char *const fields_submit[] = { "job", "jobs", "wait", "timeout", "stream", NULL };
static const char *const fields_job[] = { "job", NULL };
static const char *const fields_result[] = { "job", "wait", "timeout", NULL };
static const char *const fields_cancel[] = { "job", "reason", NULL };
static const char *const fields_watch[] = { "job", "queue", NULL };
static const char *const fields_list[] = { "state", "queue", "limit", "before", NULL };
static const char *const fields_name[] = { "name", NULL };

static const struct op ops[] = {
	{ "ping",	fields_none,	op_ping },
	{ "submit",	fields_submit,	op_submit },
	{ "status",	fields_job,	op_status },
	{ "result",	fields_result,	op_result },
	{ "cancel",	fields_cancel,	op_cancel },
	{ "retry",	fields_job,	op_retry },
	{ "watch",	fields_watch,	op_watch },
	{ "unwatch",	fields_none,	op_unwatch },
	{ "list",	fields_list,	op_list },
	{ "stats",	fields_none,	op_stats },
	{ "queue.pause", fields_name,	op_queue_pause },
	{ "queue.resume", fields_name,	op_queue_resume },
	{ "event.set",	fields_name,	op_event_set },
	{ "event.clear", fields_name,	op_event_clear },
	{ "event.get",	fields_name,	op_event_get },
};

static const struct op *
op_find(const char *name)
{
	size_t	i;

	for (i = 0; i < nitems(ops); i++) {
		if (strcmp(ops[i].name, name) == 0)
			return &ops[i];
	}
	return NULL;
}

/* Unknown request fields are rejected like unknown job fields. */
static int
request_check_fields(const json_t *msg, const struct op *op, struct error *e)
{
	const char	*key;
	json_t		*value;
	size_t		 i;

	json_object_foreach((json_t *)msg, key, value) {
		if ((key[0] == 'o' && strcmp(key, "op") == 0) ||
		    (key[0] == 'i' && strcmp(key, "id") == 0))
			continue;
		for (i = 0; op->fields[i] != NULL; i++) {
			if (key[0] == op->fields[i][0] && strcmp(key, op->fields[i]) == 0)
				break;
		}
		if (op->fields[i] == NULL)
			return fields_fail(e, "", key, "unknown field for op %s", op->name);
	}
	return 0;
}

static void
proto_line(struct conn *c, void *state, const char *line, size_t len)
{
	struct request	 r = { .conn = c };
	struct error	 e = { 0 };
	const struct op	*op;
	const char	*name = NULL;
	json_error_t	 jerr;

	r.msg = json_load_line(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (r.msg == NULL || !json_is_object(r.msg)) {
		if (r.msg == NULL)
			reply_fail(c, NULL, "bad_json", "not JSON: %s (at byte %d)",
			    jerr.text, jerr.position);
		else
			reply_fail(c, NULL, "bad_json", "a request is a JSON object");
		json_decref(r.msg);
		return;
	}
	r.id = json_object_get(r.msg, "id");
	if (r.id != NULL && (json_is_object(r.id) || json_is_array(r.id))) {
		r.id = NULL;
		fields_fail(&e, "", "id", "must be a string, number, boolean or null");
		goto fail;
	}
	if (field_string(r.msg, "", "op", FIELD_REQUIRED, 64, &name, &e) == -1)
		goto fail;
	if ((op = op_find(name)) == NULL) {
		error_set(&e, "unknown_op", "no op \"%s\"", name);
		error_set_path(&e, "op");
		goto fail;
	}
	if (request_check_fields(r.msg, op, &e) == -1)
		goto fail;
	op->handle(&r);
	json_decref(r.msg);
	return;
fail:
	reply_error(c, r.id, &e);
	error_clear(&e);
	json_decref(r.msg);
}

struct proto_conn *
proto_conn(struct conn *c)
{
	return conn_state(c);
}

static void
proto_open(struct conn *c, void *state)
{
	struct proto_conn	*pc = state;

	TAILQ_INIT(&pc->waits);
	pc->watches = NULL;
}

static void
proto_overlong(struct conn *c, void *state, size_t max)
{
	reply_fail(c, NULL, "line_too_long",
	    "line exceeds max_line_bytes (%zu); it was discarded", max);
}

static void
proto_ending(struct conn *c, void *state, const char *code, const char *message)
{
	reply_fail(c, NULL, code, "%s", message);
}

/* A watching connection stays, even with nothing in flight. */
static bool
proto_busy(const struct conn *c, const void *state)
{
	const struct proto_conn	*pc = state;

	return pc->watches != NULL;
}

static void
proto_closed(struct conn *c, void *state)
{
	struct proto_conn	*pc = state;

	wait_end_all(c);
	watch_remove_all(c, &pc->watches);
}

const struct conn_handler proto_handler = {
	.state_size = sizeof(struct proto_conn),
	.refusal = "{\"ok\":false,\"error\":{\"code\":\"busy\",\"message\":"
	    "\"too many connections (max_connections); retry later\"}}\n",
	.open = proto_open,
	.line = proto_line,
	.overlong = proto_overlong,
	.ending = proto_ending,
	.busy = proto_busy,
	.closed = proto_closed,
};
