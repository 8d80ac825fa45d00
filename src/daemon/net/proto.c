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
#include "core/principal.h"
#include "net/auth.h"
#include "net/conn.h"
#include "net/ops.h"
#include "net/proto.h"
#include "net/watch.h"
#include "net/worker.h"
#include "runtime/fields.h"
#include "runtime/jsonload.h"
#include "runtime/log.h"
#include "runtime/util.h"

/* Any connection, authenticated or not, may. */
#define OP_OPEN		0x100

/*
 * An op names the roles that may run it (any one of them; admin may run
 * every op, and an op that names none is admin's alone), and of those, the
 * roles that reach every job: with another of its roles a request sees
 * only the jobs of its own principal (a submit token, its own jobs).
 */
struct op {
	const char	*name;
	const char	*const *fields;	/* besides "op" and "id" */
	void		(*handle)(struct request *);
	unsigned int	 roles;
	unsigned int	 every_job;
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
static const char *const fields_auth[] = { "token", NULL };
static const char *const fields_hello[] = { "types", "concurrency", "name", NULL };
static const char *const fields_complete[] = { "job", "result", NULL };
static const char *const fields_jobfail[] = { "job", "error", "retry", NULL };
static const char *const fields_progress[] = { "job", "progress", NULL };

#define R	ROLE_READ
#define S	ROLE_SUBMIT
#define C	ROLE_CONTROL
#define W	ROLE_WORK
static const struct op ops[] = {
	{ "ping",	fields_none,	op_ping,	OP_OPEN, 0 },
	{ "auth",	fields_auth,	op_auth,	OP_OPEN, 0 },
	{ "submit",	fields_submit,	op_submit,	S, 0 },
	{ "status",	fields_job,	op_status,	R | S, R },
	{ "result",	fields_result,	op_result,	R | S, R },
	{ "cancel",	fields_cancel,	op_cancel,	S | C, C },
	{ "retry",	fields_job,	op_retry,	C, C },
	{ "watch",	fields_watch,	op_watch,	R | S, R },
	{ "unwatch",	fields_none,	op_unwatch,	R | S, R },
	{ "list",	fields_list,	op_list,	R | S, R },
	{ "stats",	fields_none,	op_stats,	R, R },
	{ "queue.pause", fields_name,	op_queue_pause,	C, C },
	{ "queue.resume", fields_name,	op_queue_resume, C, C },
	{ "event.set",	fields_name,	op_event_set,	C, C },
	{ "event.clear", fields_name,	op_event_clear,	C, C },
	{ "event.get",	fields_name,	op_event_get,	R, R },
	{ "worker.hello", fields_hello,	op_worker_hello, W, 0 },
	{ "worker.bye",	fields_none,	op_worker_bye,	W, 0 },
	{ "job.complete", fields_complete, op_job_complete, W, 0 },
	{ "job.fail",	fields_jobfail,	op_job_fail,	W, 0 },
	{ "job.progress", fields_progress, op_job_progress, W, 0 },
	{ "job.heartbeat", fields_job,	op_job_heartbeat, W, 0 },
};
#undef R
#undef S
#undef C
#undef W

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

/* "submit", "status or cancel": the roles an op names, for a message. */
static const char *
op_roles_text(unsigned int roles, char *buf, size_t len)
{
	unsigned int	bit;
	size_t		used;

	snprintf(buf, len, "%s", (roles & ROLE_ALL) == 0 ? "admin" : "");
	for (bit = 1; bit <= ROLE_ADMIN; bit <<= 1) {
		if (!(roles & bit))
			continue;
		used = strlen(buf);
		snprintf(buf + used, len - used, "%s%s", used > 0 ? " or " : "",
		    role_name(bit));
	}
	return buf;
}

/* The one place rights are checked: may this request run this op? */
static int
proto_allowed(struct proto_conn *pc, const struct op *op, struct request *r,
    struct error *e)
{
	struct auth_rights	*ar = &r->rights;
	char			 need[64], have[64], who[CONFIG_NAME_MAX + 32];

	auth_rights(&pc->auth, ar);
	if (op->roles & OP_OPEN)
		return 0;
	if (ar->roles == 0) {
		error_set(e, "unauthorized", "authenticate first, with "
		    "{\"op\":\"auth\",\"token\":SECRET}");
		return -1;
	}
	if (ar->roles & ROLE_ADMIN)
		return 0;
	if (!(ar->roles & op->roles)) {
		error_set(e, "forbidden", "%s needs the role %s; %s has %s",
		    op->name, op_roles_text(op->roles, need, sizeof(need)),
		    auth_who(ar, who, sizeof(who)),
		    roles_text(ar->roles, have, sizeof(have)));
		return -1;
	}
	if (!(ar->roles & op->every_job))
		r->only = ar->principal;
	return 0;
}

/* An HTTP request on the protocol's port: closed at once, read no further. */
static bool
proto_http_guard(struct conn *c, struct proto_conn *pc, const char *line,
    size_t len)
{
	size_t	n;

	if (pc->auth.unix_socket || !auth_http_line(line, len))
		return false;
	/* The method alone: the rest may hold what is not for the log. */
	for (n = 0; n < len && n < 16 && line[n] != ' ' && line[n] != ':'; n++)
		continue;
	log_warnx("connection from %s: an HTTP request (%.*s) on the protocol's "
	    "port: closing", pc->auth.peer, (int)n, line);
	conn_end(c, NULL, NULL);
	return true;
}

/*
 * A TLS client's verified certificate may name its token (cert_cn): looked
 * up at its first request, when the handshake is over.
 */
static void
proto_first_cert(struct conn *c, struct proto_conn *pc)
{
	const char	*cn;

	if (pc->auth.cert_tried)
		return;
	pc->auth.cert_tried = true;
	if (pc->auth.principal == NULL && (cn = conn_peer_cn(c)) != NULL)
		proto_cert(c, cn);
}

static void
proto_line(struct conn *c, void *state, const char *line, size_t len)
{
	struct request	 r = { .conn = c };
	struct error	 e = { 0 };
	const struct op	*op;
	const char	*name = NULL;
	json_error_t	 jerr;

	if (proto_http_guard(c, state, line, len))
		return;
	proto_first_cert(c, state);
	r.line = line;
	r.msg = json_load_line_spans(line, len, JSON_REJECT_DUPLICATES, &jerr,
	    &r.spans);
	if (r.msg == NULL || !json_is_object(r.msg)) {
		if (r.msg == NULL)
			reply_fail(c, NULL, "bad_json", "not JSON: %s (at byte %d)",
			    jerr.text, jerr.position);
		else
			reply_fail(c, NULL, "bad_json", "a request is a JSON object");
		json_decref(r.msg);
		json_spans_free(&r.spans);
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
	if (proto_allowed(state, op, &r, &e) == -1 ||
	    request_check_fields(r.msg, op, &e) == -1)
		goto fail;
	op->handle(&r);
	json_decref(r.msg);
	json_spans_free(&r.spans);
	return;
fail:
	reply_error(c, r.id, &e);
	error_clear(&e);
	json_decref(r.msg);
	json_spans_free(&r.spans);
}

struct proto_conn *
proto_conn(struct conn *c)
{
	return conn_state(c);
}

int
proto_cert(struct conn *c, const char *cn)
{
	return auth_set_cert(&proto_conn(c)->auth, cn);
}

static void
proto_open(struct conn *c, void *state)
{
	struct proto_conn	*pc = state;

	TAILQ_INIT(&pc->waits);
	TAILQ_INIT(&pc->lists);
	pc->watches = NULL;
	auth_open(c, &pc->auth);
	pc->worker = NULL;
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

/* A watching or working connection stays, even with nothing in flight; a
 * worker's, until its EOF (a worker gone must give its jobs back). */
static bool
proto_busy(const struct conn *c, const void *state)
{
	const struct proto_conn	*pc = state;

	return pc->watches != NULL || (pc->worker != NULL && !conn_at_eof(c));
}

/* auth_timeout: a connection that must authenticate and has not, goes. */
static bool
proto_stale(const struct conn *c, void *state, uint64_t age_ns)
{
	struct proto_conn	*pc = state;
	double			 limit = loomd.config->auth_timeout;
	struct auth_rights	 ar;

	if (limit == 0 || age_ns < (uint64_t)(limit * 1e9) ||
	    pc->auth.principal != NULL)
		return false;
	auth_rights(&pc->auth, &ar);
	if (ar.roles != 0)
		return false;
	log_info("connection from %s: not authenticated after %gs "
	    "(auth_timeout): closing", pc->auth.peer, limit);
	return true;
}

static void
proto_closed(struct conn *c, void *state)
{
	struct proto_conn	*pc = state;

	wait_end_all(c);
	list_abandon_all(c);
	watch_remove_all(c, &pc->watches);
	if (pc->worker != NULL) {
		worker_closed(pc->worker);
		pc->worker = NULL;
	}
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
	.stale = proto_stale,
	.closed = proto_closed,
};
