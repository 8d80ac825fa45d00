/*
 * loomctl top: one frame of the live view from a stats answer and the
 * running jobs.  Rendering only; the terminal is loomctl.c's.
 */
#ifndef LOOM_CTL_TOP_H
#define LOOM_CTL_TOP_H

#include <stdio.h>

#include <jansson.h>

struct ctl_top_sample {
	json_t	*stats;		/* stats' "stats" object */
	json_t	*running;	/* views of running jobs, newest first */
	json_t	*failed;	/* the last failed jobs, newest first, or NULL */
	double	 now;		/* epoch seconds it was taken */
};

/*
 * A frame: a summary, the queues with their rates since prev (NULL: no
 * rates yet), the workers if stats has any, the last failures with their
 * error, and the running jobs with age and progress.  Lines are cut at width columns and the jobs at height
 * lines in all (0: no limit).
 */
void	ctl_top_frame(FILE *, const struct ctl_top_sample *cur,
	    const struct ctl_top_sample *prev, int width, int height);

/* "3/10 30% resizing" from a job view's progress; NULL if it has none. */
char	*ctl_top_progress(const json_t *progress);

#endif
