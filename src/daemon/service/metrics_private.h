/*
 * Inside the metrics listener (service/metrics*.c): its state, the replies,
 * and the routes the files share.  All of it lives on the metrics loop.
 */
#ifndef LOOM_METRICS_PRIVATE_H
#define LOOM_METRICS_PRIVATE_H

#include <jansson.h>

struct evbuffer;
struct evhttp;
struct evhttp_request;
struct loop;

struct metrics {
	struct loop	*loop;		/* NULL: not serving */
	struct evhttp	*http;
	int		 fds[8];	/* bound, until the server has them */
	int		 nfds;
};
extern struct metrics	M;

void	metrics_route(struct evhttp_request *, void *);
void	metrics_reply(struct evhttp_request *, int code, const char *reason,
	    const char *type, struct evbuffer *);
void	metrics_reply_text(struct evhttp_request *, int code, const char *reason,
	    const char *text);
void	metrics_reply_json(struct evhttp_request *, int code, const char *reason,
	    json_t *);		/* steals it */

/* metrics_api.c */
void	metrics_healthz(struct evhttp_request *);
void	metrics_api(struct evhttp_request *, const char *rest);
void	metrics_history_start(void);
void	metrics_history_stop(void);
/* Those still waiting for a loop that has stopped: answered and freed. */
void	metrics_gathers_close(void);

#endif
