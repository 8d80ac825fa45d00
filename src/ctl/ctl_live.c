/*
 * loomctl top on a terminal: the alternate screen, redrawn in place every
 * interval, keys read raw (q, or Ctrl-C as a key) until it quits.  The
 * terminal's modes are restored on every way out: a quit, an error, exit(),
 * and the signals that end a process.  Without a terminal, or with --once,
 * it prints one frame and ends.
 */
#include "autoconf.h"

#include <sys/ioctl.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "ctl_print.h"
#include "ctl_run.h"
#include "ctl_top.h"

#define CTL_TOP_JOBS	200	/* running jobs asked for in each frame */
#define CTL_TOP_FAILED	5	/* and failed ones */

static struct termios		ctl_saved;
static char			ctl_errors[4096];
static volatile sig_atomic_t	ctl_raw;

static void
ctl_term_restore(void)
{
	static const char	leave[] = "\033[?25h\033[?1049l";
	ssize_t			n;

	if (!ctl_raw)
		return;
	ctl_raw = 0;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &ctl_saved);
	n = write(STDOUT_FILENO, leave, sizeof(leave) - 1);
	(void)n;
}

/* Put the terminal back, then die of the signal as if nothing caught it. */
static void
ctl_term_signal(int sig)
{
	ctl_term_restore();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
ctl_winch(int sig)
{
	/* Only to interrupt poll(): the next frame reads the new size. */
}

static int
ctl_term_raw(void)
{
	static const int	 deadly[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	static const char	 enter[] = "\033[?1049h\033[?25l";
	struct sigaction	 sa;
	struct termios		 raw;
	size_t			 i;

	if (tcgetattr(STDIN_FILENO, &ctl_saved) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = ctl_term_signal;
	for (i = 0; i < sizeof(deadly) / sizeof(deadly[0]); i++)
		sigaction(deadly[i], &sa, NULL);
	sa.sa_handler = ctl_winch;
	sigaction(SIGWINCH, &sa, NULL);
	atexit(ctl_term_restore);

	raw = ctl_saved;
	/* Keys one at a time, unechoed; Ctrl-C is a key, not a signal. */
	raw.c_lflag &= ~(ICANON | ECHO | ISIG | IEXTEN);
	raw.c_iflag &= ~(IXON | ICRNL);
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	ctl_raw = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == -1) {
		ctl_raw = 0;
		return -1;
	}
	fputs(enter, stdout);
	fflush(stdout);
	return 0;
}

static void
ctl_sample_clear(struct ctl_top_sample *s)
{
	json_decref(s->stats);
	json_decref(s->running);
	json_decref(s->failed);
	memset(s, 0, sizeof(*s));
}

/* The jobs in a state, newest first: its list, or NULL with rc set. */
static json_t *
ctl_sample_jobs(struct loom_client *c, const char *state, int limit, int *rc)
{
	json_t	*list, *answer, *jobs;

	list = json_pack("{ss ss si}", "op", "list", "state", state, "limit",
	    limit);
	*rc = ctl_call(c, list, &answer, 0);
	json_decref(list);
	if (*rc != 0)
		return NULL;
	jobs = json_incref(json_object_get(answer, "jobs"));
	json_decref(answer);
	if (!json_is_array(jobs)) {
		json_decref(jobs);
		*rc = ctl_protocol_error("list answered without its jobs");
		return NULL;
	}
	return jobs;
}

/* stats, the running jobs and the last failures; 0, or the exit status
 * (printed). */
static int
ctl_sample(struct loom_client *c, struct ctl_top_sample *s)
{
	json_t	*stats = json_pack("{ss}", "op", "stats"), *answer;
	int	 rc;

	memset(s, 0, sizeof(*s));
	rc = ctl_call(c, stats, &answer, 0);
	json_decref(stats);
	if (rc != 0)
		return rc;
	s->stats = json_incref(json_object_get(answer, "stats"));
	json_decref(answer);
	if (!json_is_object(s->stats)) {
		ctl_sample_clear(s);
		return ctl_protocol_error("stats answered without its stats");
	}
	if ((s->running = ctl_sample_jobs(c, "running", CTL_TOP_JOBS, &rc)) ==
	    NULL || (s->failed = ctl_sample_jobs(c, "failed", CTL_TOP_FAILED,
	    &rc)) == NULL) {
		ctl_sample_clear(s);
		return rc;
	}
	s->now = ctl_epoch();
	return 0;
}

/* A frame written at once over the last: each line cleared to its end. */
static void
ctl_draw(const struct ctl_top_sample *cur, const struct ctl_top_sample *prev)
{
	struct winsize	 ws = { 0 };
	char		*text = NULL, *p;
	size_t		 len = 0;
	FILE		*mem;

	ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
	if ((mem = open_memstream(&text, &len)) == NULL)
		return;
	ctl_top_frame(mem, cur, prev, ws.ws_col, ws.ws_row > 1 ?
	    ws.ws_row - 1 : 0);
	fclose(mem);
	fputs("\033[H", stdout);
	for (p = text; *p != '\0'; p++) {
		if (*p == '\n')
			fputs("\033[K", stdout);
		fputc(*p, stdout);
	}
	fputs("\033[J", stdout);
	fflush(stdout);
	free(text);
}

/* Wait for a key or the interval: 1 to quit, 0 for the next frame. */
static int
ctl_keys(double interval)
{
	struct pollfd	pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	char		key;
	double		deadline = ctl_now() + interval, left;

	while ((left = deadline - ctl_now()) > 0) {
		if (poll(&pfd, 1, (int)(left * 1000) + 1) == -1)
			return errno == EINTR ? 0 : 1;	/* a resize: redraw */
		if (pfd.revents == 0)
			continue;
		if (read(STDIN_FILENO, &key, 1) != 1)
			return 1;
		if (key == 'q' || key == 'Q' || key == 3 || key == 4)
			return 1;
		if (key == ' ' || key == 'r')
			return 0;
	}
	return 0;
}

int
ctl_top(struct loom_client *c, const struct ctl_invocation *inv)
{
	struct ctl_top_sample	cur, prev = { 0 };
	int			rc;

	if (inv->once || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		if ((rc = ctl_sample(c, &cur)) != 0)
			return rc;
		ctl_top_frame(stdout, &cur, NULL, 0, 0);
		ctl_sample_clear(&cur);
		return 0;
	}
	/* Errors wait until the screen they would be lost on is gone. */
	setvbuf(stderr, ctl_errors, _IOFBF, sizeof(ctl_errors));
	if (ctl_term_raw() == -1) {
		fprintf(stderr, "loomctl: top: cannot set up the terminal\n");
		return CTL_EXIT_FAILED;
	}
	for (;;) {
		if ((rc = ctl_sample(c, &cur)) != 0)
			break;
		ctl_draw(&cur, prev.stats != NULL ? &prev : NULL);
		ctl_sample_clear(&prev);
		prev = cur;
		if (ctl_keys(inv->interval))
			break;
	}
	ctl_sample_clear(&prev);
	ctl_term_restore();
	fflush(stderr);
	return rc;
}
