/*
 * What loomctl's commands share once connected: a request and its checked
 * answer.  Only the program uses these (they print and read the clock);
 * the tests call ctl_args.c and ctl_print.c instead.
 */
#ifndef LOOM_CTL_RUN_H
#define LOOM_CTL_RUN_H

#include <jansson.h>

#include "loom/client.h"
#include "ctl_args.h"

/* What ctl_call prints of the answer as JSON: nothing, all, or only a
 * refusal (a first request whose success is not the command's answer). */
enum { CTL_JSON_NONE = 0, CTL_JSON_ALL = 1, CTL_JSON_REFUSAL = 2 };

/* Send the request; 0 with *answer if it is ok, else the exit status
 * (the error has been printed).  print_json: what to print as it is. */
int	ctl_call(struct loom_client *, json_t *request, json_t **answer,
	    int print_json);
int	ctl_protocol_error(const char *what);
extern char ctl_refused[64];	/* the code of the last refusal ctl_call saw */
double	ctl_now(void);		/* monotonic seconds */
double	ctl_epoch(void);	/* wall-clock seconds */

/* ctl_wait.c: submit --wait, submit --file, result --wait. */
int	ctl_submit_wait(struct loom_client *, const struct ctl_invocation *);
int	ctl_submit_batch(struct loom_client *, const struct ctl_invocation *);
int	ctl_result_wait(struct loom_client *, const struct ctl_invocation *);

/* ctl_live.c: top. */
int	ctl_top(struct loom_client *, const struct ctl_invocation *);

/* ctl_hint.c: "did you mean" from what the daemon knows. */
void	ctl_hint_type(struct loom_client *, const char *type);
void	ctl_hint_submit(struct loom_client *, const struct ctl_invocation *,
	    int refused);
int	ctl_hint_queue(struct loom_client *, const char *queue, int refuse);

#endif
