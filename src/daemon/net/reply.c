/*
 * Replies: every protocol message loomd writes is built here, on the
 * connection's loop, and handed to the transport as text.  Views of finished
 * jobs are written from the text their outcomes carry, never referenced.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/durable.h"
#include "core/job.h"
#include "net/conn.h"
#include "net/ops.h"
#include "runtime/future.h"
#include "runtime/log.h"
#include "runtime/util.h"

static int
reply_append(const char *buf, size_t len, void *arg)
{
	conn_write(arg, buf, len);
	return 0;
}

void
reply_write_json(struct conn *c, const json_t *value)
{
	if (json_dump_callback(value, reply_append, c,
	    JSON_COMPACT | JSON_ENCODE_ANY) == -1)
		log_warnx("reply: a value does not serialize");
}

static void
reply_send(struct conn *c, const json_t *msg)
{
	reply_write_json(c, msg);
	conn_write(c, "\n", 1);
	conn_write_done(c);
}

void
reply_ok(struct conn *c, json_t *id, json_t *fields)
{
	json_t	*msg = json_object();

	if (id != NULL)
		json_object_set(msg, "id", id);
	json_object_set_new(msg, "ok", json_true());
	if (fields != NULL) {
		json_object_update(msg, fields);
		json_decref(fields);
	}
	reply_send(c, msg);
	json_decref(msg);
}

/* An answer that tells of a change this loop has just published. */
struct reply_later {
	struct conn	*conn;
	json_t		*id;
	json_t		*fields;
};

static void
reply_later_send(void *arg)
{
	struct reply_later	*rl = arg;

	if (conn_alive(rl->conn)) {
		reply_ok(rl->conn, rl->id, rl->fields);
		conn_request_done(rl->conn);
	} else
		json_decref(rl->fields);
	conn_unref(rl->conn);
	json_decref(rl->id);
	free(rl);
}

void
reply_ok_durable(struct conn *c, json_t *id, json_t *fields)
{
	struct reply_later	*rl;

	if (durable_done(durable_mark())) {
		reply_ok(c, id, fields);
		return;
	}
	rl = xmalloc(sizeof(*rl));
	rl->conn = c;
	rl->id = json_incref(id);
	rl->fields = fields;
	conn_ref(c);
	conn_request_start(c);
	durable_then(reply_later_send, rl);
}

void
reply_error(struct conn *c, json_t *id, const struct error *e)
{
	json_t	*msg = json_object();

	if (id != NULL)
		json_object_set(msg, "id", id);
	json_object_set_new(msg, "ok", json_false());
	json_object_set_new(msg, "error", error_to_json(e));
	reply_send(c, msg);
	json_decref(msg);
}

void
reply_fail(struct conn *c, json_t *id, const char *code, const char *fmt, ...)
{
	struct error	e = { 0 };
	va_list		ap;

	e.code = code;
	va_start(ap, fmt);
	if (vasprintf(&e.message, fmt, ap) == -1)
		e.message = NULL;
	va_end(ap);
	reply_error(c, id, &e);
	error_clear(&e);
}

void
reply_begin(struct conn *c, json_t *id, bool batch)
{
	conn_write(c, "{", 1);
	if (id != NULL) {
		conn_write_lit(c, "\"id\":");
		reply_write_json(c, id);
		conn_write(c, ",", 1);
	}
	if (batch)
		conn_write_lit(c, "\"ok\":true,\"jobs\":[");
	else
		conn_write_lit(c, "\"ok\":true,\"job\":");
}

void
reply_end(struct conn *c, bool batch)
{
	conn_write(c, batch ? "]}\n" : "}\n", batch ? 3 : 2);
	conn_write_done(c);
}

/*
 * {"id":…,"ok":true,"job":VIEW} or "jobs":[VIEW…] for finished jobs, from
 * their futures; the first that did not complete done answers with its
 * error instead.
 */
void
reply_views(struct conn *c, json_t *id, struct future *const *futures, size_t n,
    bool batch)
{
	const struct job_outcome	*o;
	size_t				 i;

	for (i = 0; i < n; i++) {
		if (future_state(futures[i]) != FUTURE_DONE) {
			reply_error(c, id, future_error(futures[i]));
			return;
		}
	}
	reply_begin(c, id, batch);
	for (i = 0; i < n; i++) {
		if (i > 0)
			conn_write(c, ",", 1);
		if ((o = job_outcome(futures[i])) != NULL)
			conn_write(c, o->view, o->view_len);
		else
			reply_write_json(c, future_result(futures[i]));
	}
	reply_end(c, batch);
}

void
reply_not_found(struct request *r, uint64_t id)
{
	struct error	e = { 0 };

	error_set(&e, "not_found", "no job %llu (it never existed, or its "
	    "result expired)", (unsigned long long)id);
	error_set_path(&e, "job");
	reply_error(r->conn, r->id, &e);
	error_clear(&e);
}
