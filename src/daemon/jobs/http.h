/*
 * http: what parsing an http job's arguments (http_args.c) and running its
 * request (http.c) share.
 */
#ifndef LOOM_JOBS_HTTP_H
#define LOOM_JOBS_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/http.h>

#include <jansson.h>

#include "runtime/util.h"

struct config;
struct netpolicy;

#define HTTP_HEADERS_MAX	(64 * 1024)	/* bytes of response headers */

enum http_response_body {
	HTTP_BODY_TEXT,
	HTTP_BODY_BASE64,
	HTTP_BODY_NONE,
};

struct http_header {
	char	*name;
	char	*value;
};

struct http_args {
	bool			 https;
	char			*host;		/* to connect to: no [brackets] */
	bool			 host_is_ip;
	int			 port;
	char			*host_header;	/* Host: as in the URL */
	char			*key;		/* per-host limit: host:port */
	char			*target;	/* path and query */
	enum evhttp_cmd_type	 method;
	struct http_header	*headers;
	size_t			 nheaders;
	char			*body;		/* NULL: none */
	size_t			 body_len;
	double			 timeout;
	size_t			 max_body;
	enum http_response_body	 response_body;
	unsigned int		 per_host;
	char			*user_agent;	/* NULL: none */
	struct netpolicy	*policy;	/* where it may connect; a reference */
};

/* parse() and free_parsed() of the http job type. */
int	http_parse(const json_t *args, const char *base, const struct config *,
	    void **parsed, struct error *);
void	http_free_parsed(void *);

#endif
