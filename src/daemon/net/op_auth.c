/*
 * The auth op: {"op":"auth","token":SECRET}.  The connection acts as the
 * token whose secret it is, or is answered unauthorized; after
 * AUTH_FAILURES_MAX wrong ones it is closed (net/auth.c counts and logs).
 */
#include "autoconf.h"

#include "core/config.h"
#include "core/principal.h"
#include "net/auth.h"
#include "net/conn.h"
#include "net/ops.h"
#include "runtime/fields.h"
#include "runtime/util.h"

#define AUTH_SECRET_MAX		4096

static json_t *
auth_roles_json(unsigned int roles)
{
	json_t		*list = json_array();
	unsigned int	 bit;

	for (bit = 1; bit <= ROLE_ADMIN; bit <<= 1) {
		if (roles & bit)
			json_array_append_new(list, json_string(role_name(bit)));
	}
	return list;
}

void
op_auth(struct request *r)
{
	struct auth_conn		*a = &proto_conn(r->conn)->auth;
	const struct config_token	*t;
	struct error			 e = { 0 };
	const char			*secret;

	if (field_string(r->msg, "", "token", FIELD_REQUIRED, AUTH_SECRET_MAX,
	    &secret, &e) == -1) {
		reply_error(r->conn, r->id, &e);
		error_clear(&e);
		return;
	}
	if ((t = auth_login(a, secret)) == NULL) {
		reply_fail(r->conn, r->id, "unauthorized", "no token has this "
		    "secret%s", a->failures >= AUTH_FAILURES_MAX ?
		    "; closing the connection" : "");
		if (a->failures >= AUTH_FAILURES_MAX)
			conn_end(r->conn, NULL, NULL);
		return;
	}
	reply_ok(r->conn, r->id, json_pack("{s:{s:s,s:o}}", "auth", "name",
	    t->name, "roles", auth_roles_json(t->roles)));
}
