/*
 * loomctl's output for people: job views as aligned tables, lists as
 * columns, events as one line each.  Everything printed depends only on the
 * JSON given (times in UTC), so tests can compare it byte for byte.
 */
#ifndef LOOM_CTL_PRINT_H
#define LOOM_CTL_PRINT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

/* One compact JSON line: what --json prints. */
void		 ctl_print_json(FILE *, const json_t *);

/* "17 queued": a job submitted without waiting. */
void		 ctl_print_accepted(FILE *, const json_t *job);

/* A job view, one "label  value" row per member that is present. */
void		 ctl_print_view(FILE *, const json_t *view);

/* list's answer: a header and one row per job; next is the cursor or null. */
void		 ctl_print_list(FILE *, const json_t *jobs, const json_t *next);

/* stats' answer: nested objects as indented sections. */
void		 ctl_print_stats(FILE *, const json_t *stats);

/* The workers in stats' answer: one row each, then the jobs waiting per type. */
void		 ctl_print_workers(FILE *, const json_t *stats);

/* A pushed event on one line. */
void		 ctl_print_event(FILE *, const json_t *event);

/* ping's answer and the measured round trip in seconds. */
void		 ctl_print_ping(FILE *, const json_t *answer, double rtt);

/* "loomctl: CODE: MESSAGE (at PATH)" for an answer with ok false. */
void		 ctl_print_error(FILE *, const json_t *answer);

/* 2025-11-21T05:33:20.123Z (with millis) or 2025-11-21T05:33:20Z. */
const char	*ctl_format_time(char *buf, size_t len, double epoch, int millis);

/* 350ms, 2.50s, 12.3s, 5m03s, 2h05m10s, 3d04h05m. */
const char	*ctl_format_duration(char *buf, size_t len, double seconds);

#endif
