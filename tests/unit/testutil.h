/* Helpers shared by the runtime's unit tests. */
#ifndef LOOM_TESTUTIL_H
#define LOOM_TESTUTIL_H

#include <errno.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/loop.h"

/* Generous bound for any wait in a test: the tests wait on events, and this
 * only turns a hang into a failure. */
#define TEST_WAIT_SECONDS	60

static inline void
sem_wait_or_fail(sem_t *sem)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += TEST_WAIT_SECONDS;
	while (sem_timedwait(sem, &ts) == -1) {
		if (errno != EINTR)
			fail_msg("timed out waiting for an event");
	}
}

struct run_on_call {
	void	(*fn)(void *);
	void	*arg;
	sem_t	 done;
};

static inline void
run_on_trampoline(void *p)
{
	struct run_on_call	*c = p;

	c->fn(c->arg);
	sem_post(&c->done);
}

/* Run fn(arg) on the loop's thread and wait until it has returned. */
static inline void
run_on(struct loop *loop, void (*fn)(void *), void *arg)
{
	struct run_on_call	c = { .fn = fn, .arg = arg };

	sem_init(&c.done, 0, 0);
	assert_int_equal(loop_post(loop, run_on_trampoline, &c), 0);
	sem_wait_or_fail(&c.done);
	sem_destroy(&c.done);
}

static inline struct loop *
start_loop(unsigned int index)
{
	struct loop	*loop = loop_new(index);

	assert_int_equal(loop_start(loop), 0);
	return loop;
}

static inline void
finish_loop(struct loop *loop)
{
	loop_stop(loop);
	loop_join(loop);
	loop_free(loop);
}

/* Send stderr to a temporary file; stderr_captured() returns what was
 * written since and restores the real stderr. */
static int	captured_fd = -1, saved_stderr = -1;

static inline void
capture_stderr(void)
{
	char	path[] = "/tmp/loomtestXXXXXX";

	fflush(stderr);
	captured_fd = mkstemp(path);
	assert_true(captured_fd != -1);
	unlink(path);
	saved_stderr = dup(STDERR_FILENO);
	dup2(captured_fd, STDERR_FILENO);
}

static inline char *
stderr_captured(void)
{
	static char	buf[8192];
	ssize_t		n;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	lseek(captured_fd, 0, SEEK_SET);
	n = read(captured_fd, buf, sizeof(buf) - 1);
	close(captured_fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

#endif
