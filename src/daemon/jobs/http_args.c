/*
 * http: the arguments of an http job, checked and made ready for the request
 * once, at submit (http.c runs the request).  The URL is split into what
 * connecting, the per-host limit and the request line each need; headers
 * that loomd writes itself, and values with CR, LF or NUL, are refused here.
 */
#include "autoconf.h"

#include <sys/socket.h>

#include <arpa/inet.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/http.h>

#include "core/config.h"
#include "io/netpolicy.h"
#include "runtime/fields.h"
#include "jobs/http.h"
#include "runtime/util.h"

#define HTTP_URL_MAX		8192
#define HTTP_HEADERS_ARG_MAX	100		/* headers a job may send */
#define HTTP_HEADER_VALUE_MAX	8192

static const char *const http_fields[] = {
	"url", "method", "headers", "body", "timeout", "max_body",
	"response_body", NULL
};
static const char *const http_response_bodies[] = {
	"text", "base64", "none", NULL
};

static const struct {
	const char		*name;
	enum evhttp_cmd_type	 type;
} http_methods[] = {
	{ "GET", EVHTTP_REQ_GET },
	{ "HEAD", EVHTTP_REQ_HEAD },
	{ "POST", EVHTTP_REQ_POST },
	{ "PUT", EVHTTP_REQ_PUT },
	{ "DELETE", EVHTTP_REQ_DELETE },
	{ "OPTIONS", EVHTTP_REQ_OPTIONS },
	{ "PATCH", EVHTTP_REQ_PATCH },
};

/* Headers loomd writes itself, for framing the one request it sends. */
static const char *const http_reserved_headers[] = {
	"Content-Length", "Transfer-Encoding", "Connection", NULL
};

void
http_free_parsed(void *parsed)
{
	struct http_args	*a = parsed;
	size_t			 i;

	if (a == NULL)
		return;
	free(a->host);
	free(a->host_header);
	free(a->key);
	free(a->target);
	for (i = 0; i < a->nheaders; i++) {
		free(a->headers[i].name);
		free(a->headers[i].value);
	}
	free(a->headers);
	free(a->body);
	free(a->user_agent);
	netpolicy_unref(a->policy);
	free(a);
}

static int
http_parse_url(const char *url, const char *base, struct http_args *a,
    struct error *e)
{
	struct evhttp_uri	*uri;
	const char		*scheme, *host, *path, *query;
	unsigned char		 addr[sizeof(struct in6_addr)];
	size_t			 len;
	char			*p;
	int			 port, rc = -1;

	if ((uri = evhttp_uri_parse_with_flags(url, 0)) == NULL)
		return fields_fail(e, base, "url", "is not a valid URL");
	scheme = evhttp_uri_get_scheme(uri);
	if (scheme == NULL || (strcasecmp(scheme, "http") != 0 &&
	    strcasecmp(scheme, "https") != 0)) {
		fields_fail(e, base, "url", "must be an http:// or https:// URL");
		goto out;
	}
	a->https = strcasecmp(scheme, "https") == 0;
	if ((host = evhttp_uri_get_host(uri)) == NULL || *host == '\0') {
		fields_fail(e, base, "url", "has no host");
		goto out;
	}
	if (evhttp_uri_get_userinfo(uri) != NULL) {
		fields_fail(e, base, "url", "must not carry credentials (send an "
		    "Authorization header instead)");
		goto out;
	}
	if ((port = evhttp_uri_get_port(uri)) == 0 || port > 65535) {
		fields_fail(e, base, "url", "has an invalid port");
		goto out;
	}

	len = strlen(host);
	if (host[0] == '[') {
		a->host = xstrdup(host + 1);
		a->host[len - 2] = '\0';
	} else
		a->host = xstrdup(host);
	for (p = a->host; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	a->host_is_ip = inet_pton(AF_INET, a->host, addr) == 1 ||
	    inet_pton(AF_INET6, a->host, addr) == 1;
	if (host[0] == '[' && !a->host_is_ip) {
		fields_fail(e, base, "url", "has an invalid IPv6 address");
		goto out;
	}
	a->port = port != -1 ? port : a->https ? 443 : 80;
	if (port != -1)
		xasprintf(&a->host_header, "%s:%d", host, port);
	else
		a->host_header = xstrdup(host);
	xasprintf(&a->key, strchr(a->host, ':') != NULL ? "[%s]:%d" : "%s:%d",
	    a->host, a->port);

	path = evhttp_uri_get_path(uri);
	query = evhttp_uri_get_query(uri);
	xasprintf(&a->target, "%s%s%s", path != NULL && *path != '\0' ? path : "/",
	    query != NULL ? "?" : "", query != NULL ? query : "");
	rc = 0;
out:
	evhttp_uri_free(uri);
	return rc;
}

static int
http_parse_method(const json_t *args, const char *base, struct http_args *a,
    struct error *e)
{
	const char	*m = NULL;
	size_t		 i;

	a->method = EVHTTP_REQ_GET;
	if (field_string(args, base, "method", FIELD_OPTIONAL, 16, &m, e) == -1)
		return -1;
	if (m == NULL)
		return 0;
	for (i = 0; i < nitems(http_methods); i++) {
		if (strcasecmp(m, http_methods[i].name) == 0) {
			a->method = http_methods[i].type;
			return 0;
		}
	}
	return fields_fail(e, base, "method", "must be one of GET, HEAD, POST, PUT, "
	    "DELETE, OPTIONS, PATCH");
}

static bool
http_token_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && strchr("!#$%&'*+-.^_`|~", *s) == NULL)
			return false;
	}
	return true;
}

static int
http_parse_headers(const json_t *obj, const char *base, struct http_args *a,
    struct error *e)
{
	char		 hbase[512];
	const char	*name, *value;
	json_t		*v;
	size_t		 i;

	if (!json_is_object(obj))
		return fields_fail(e, base, "headers", "must be an object of strings");
	if (json_object_size(obj) > HTTP_HEADERS_ARG_MAX)
		return fields_fail(e, base, "headers", "must have at most %d members",
		    HTTP_HEADERS_ARG_MAX);
	field_path(hbase, sizeof(hbase), base, "headers");
	a->headers = xcalloc(json_object_size(obj), sizeof(*a->headers));
	json_object_foreach((json_t *)obj, name, v) {
		if (!http_token_ok(name))
			return fields_fail(e, hbase, name, "is not a header name");
		for (i = 0; http_reserved_headers[i] != NULL; i++) {
			if (strcasecmp(name, http_reserved_headers[i]) == 0)
				return fields_fail(e, hbase, name, "is set by loomd");
		}
		if (!json_is_string(v))
			return fields_fail(e, hbase, name, "must be a string");
		value = json_string_value(v);
		if (json_string_length(v) > HTTP_HEADER_VALUE_MAX)
			return fields_fail(e, hbase, name, "must be at most %d bytes",
			    HTTP_HEADER_VALUE_MAX);
		if (strlen(value) != json_string_length(v) ||
		    strpbrk(value, "\r\n") != NULL)
			return fields_fail(e, hbase, name, "must not contain CR, LF "
			    "or NUL");
		a->headers[a->nheaders].name = xstrdup(name);
		a->headers[a->nheaders].value = xstrdup(value);
		a->nheaders++;
	}
	return 0;
}

int
http_parse(const json_t *args, const char *base, const struct config *cfg,
    void **parsed, struct error *e)
{
	struct http_args	*a;
	const char		*url = NULL;
	const json_t		*v;
	double			 timeout = cfg->http.timeout;
	json_int_t		 max_body = (json_int_t)cfg->http.max_body;
	int			 response_body = HTTP_BODY_TEXT;

	if (args == NULL)
		return fields_fail(e, base, "url", "is required");
	if (fields_object(args, base, http_fields, e) == -1 ||
	    field_string(args, base, "url", FIELD_REQUIRED, HTTP_URL_MAX, &url,
	    e) == -1 ||
	    field_number_above(args, base, "timeout", FIELD_OPTIONAL, 0,
	    SECONDS_MAX, &timeout, e) == -1 ||
	    field_integer(args, base, "max_body", FIELD_OPTIONAL, 0,
	    (json_int_t)cfg->http.max_body, &max_body, e) == -1 ||
	    field_choice(args, base, "response_body", FIELD_OPTIONAL,
	    http_response_bodies, &response_body, e) == -1)
		return -1;

	a = xcalloc(1, sizeof(*a));
	if (http_parse_url(url, base, a, e) == -1 ||
	    http_parse_method(args, base, a, e) == -1)
		goto fail;
	if ((v = json_object_get(args, "headers")) != NULL && !json_is_null(v) &&
	    http_parse_headers(v, base, a, e) == -1)
		goto fail;
	if ((v = json_object_get(args, "body")) != NULL && !json_is_null(v)) {
		if (!json_is_string(v)) {
			fields_fail(e, base, "body", "must be a string");
			goto fail;
		}
		a->body_len = json_string_length(v);
		a->body = xmalloc(a->body_len + 1);
		memcpy(a->body, json_string_value(v), a->body_len + 1);
	}
	a->timeout = timeout;
	a->max_body = (size_t)max_body;
	a->response_body = response_body;
	a->per_host = cfg->http.per_host;
	a->policy = netpolicy_ref(cfg->http.policy);
	if (cfg->http.user_agent != NULL && *cfg->http.user_agent != '\0')
		a->user_agent = xstrdup(cfg->http.user_agent);
	*parsed = a;
	return 0;
fail:
	http_free_parsed(a);
	return -1;
}
