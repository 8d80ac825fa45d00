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

/*
 * Colours: 0 until loomctl turns them on (a terminal, no NO_COLOR, no
 * --no-color).  Only state names, headings and badges are painted.
 */
extern int	 ctl_color;

/* Whether to paint: not with --no-color, a non-empty NO_COLOR (no-color.org)
 * or output that is not a terminal. */
int		 ctl_color_wanted(int no_color_option, const char *no_color_env,
		    int is_tty);

/* The SGR code for a job state ("32" for done), or NULL for none. */
const char	*ctl_state_sgr(const char *state);

/*
 * Tables: a header row, then rows of cells; columns are as wide as their
 * widest cell, right-aligned where align has 'r'.  A cell may carry an
 * SGR code, painted around the text but not its padding.
 */
struct ctl_table;

struct ctl_table *ctl_table_new(const char *const *header, const char *align);
/* Add a cell to the row under way; text is copied.  sgr may be NULL. */
void		 ctl_table_cell(struct ctl_table *, const char *text,
		    const char *sgr);
void		 ctl_table_end_row(struct ctl_table *);
/* Print and free; width > 0 cuts lines at that many columns. */
void		 ctl_table_print(FILE *, struct ctl_table *, int width);

/* One compact JSON line: what --json prints. */
void		 ctl_print_json(FILE *, const json_t *);

/* "17 queued": a job submitted without waiting. */
void		 ctl_print_accepted(FILE *, const json_t *job);

/* A job view, one "label  value" row per member that is present. */
void		 ctl_print_view(FILE *, const json_t *view);

/* list's answer: a header and one row per job; next is the cursor or null.
 * A running job's time is how long it has run until now (epoch seconds). */
void		 ctl_print_list(FILE *, const json_t *jobs, const json_t *next,
		    double now);

/* queue list, from stats' answer. */
void		 ctl_print_queues(FILE *, const json_t *stats);

/* An event.* answer: "NAME set, 2 waiters". */
void		 ctl_print_event_state(FILE *, const json_t *event);

/* A queue.* answer: "NAME paused: 3 waiting, 1 running". */
void		 ctl_print_queue_state(FILE *, const json_t *queue);

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
