/*
 * The journal when the disk fails, the failures injected without privileges
 * by the fault shim (tests/fault, preloaded): no space, on a write or on a
 * preallocation, is recoverable and loses nothing written before; an I/O
 * error on a write, a preallocation or an fdatasync is fatal, and stays so.
 *
 * Each test runs this program again under the shim, as
 *	test_journal_fault --child DIR RECORDS SEGMENT_SIZE
 * which appends RECORDS records one by one, each synced, says how each went
 * ("3 ok", "4 full", "5 fatal"), and after a fatal one tries once more
 * ("then fatal fatal"); then the test replays, without the shim.
 */
#include "autoconf.h"

#include <sys/wait.h>

#include <errno.h>

#include "journal_testutil.h"
#include "runtime/log.h"

static const char *const outcome_names[] = {
	[JOURNAL_OK] = "ok", [JOURNAL_FULL] = "full", [JOURNAL_FATAL] = "fatal",
};

static int
child(const char *dir, unsigned int n, uint64_t segment_size)
{
	struct journal_file_options	 o = {
		.segment_size = segment_size, .zero_ahead = true
	};
	struct journal_file		*jf;
	enum journal_result		 r, was = JOURNAL_OK;
	char				 err[512];
	unsigned int			 i;

	jf = journal_file_open(dir, &o, err, sizeof(err));
	if (jf == NULL || journal_file_replay(jf, NULL, NULL, false, NULL, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "child: %s\n", err);
		return 2;
	}
	for (i = 0; i < n; i++) {
		r = append_one(jf, i);
		if (r == JOURNAL_OK)
			r = journal_file_sync(jf);
		printf("%u %s\n", i, outcome_names[r]);
		if (r != was)
			fprintf(stderr, "child: %s\n", r == JOURNAL_OK ? "ok again" :
			    journal_file_error(jf));
		was = r;
		if (r == JOURNAL_FATAL) {
			r = append_one(jf, n);
			printf("then %s", outcome_names[r]);
			printf(" %s\n", outcome_names[journal_file_sync(jf)]);
			break;
		}
	}
	journal_file_close(jf);
	return 0;
}

/* The shim, beside this program in the build tree. */
static void
shim_path(char *self, char *shim)
{
	ssize_t	n = readlink("/proc/self/exe", self, PATH_MAX - 1);
	char	*slash;

	assert_true(n > 0);
	self[n] = '\0';
	slash = strrchr(self, '/');
	assert_non_null(slash);
	snprintf(shim, PATH_MAX, "%.*s/../fault/.libs/fault.so",
	    (int)(slash - self), self);
}

static void
exec_child(const struct fixture *fx, const char *self, const char *shim,
    const char *fault, unsigned int n, uint64_t segment_size)
{
	const char	*asan = getenv("ASAN_OPTIONS");
	char		 nbuf[16], sbuf[24], opts[512];

	snprintf(nbuf, sizeof(nbuf), "%u", n);
	snprintf(sbuf, sizeof(sbuf), "%" PRIu64, segment_size);
	/* The sanitizers' runtime would insist on coming first. */
	snprintf(opts, sizeof(opts), "%s%sverify_asan_link_order=0",
	    asan != NULL ? asan : "", asan != NULL && *asan != '\0' ? ":" : "");
	setenv("ASAN_OPTIONS", opts, 1);
	setenv("LD_PRELOAD", shim, 1);
	setenv("LOOM_FAULT", fault, 1);
	execl(self, self, "--child", fx->dir, nbuf, sbuf, (char *)NULL);
	_exit(127);
}

/*
 * Run the child under the shim with LOOM_FAULT=fault; out[i] is how record
 * i went ('o', 'F' full, 'X' fatal, '-' not tried); *then is the line
 * after a fatal one.
 */
static void
run_faulty(const struct fixture *fx, const char *fault, unsigned int n,
    uint64_t segment_size, char *out, char *then, size_t thenlen)
{
	char		self[PATH_MAX], shim[PATH_MAX], report[8192], word[16];
	int		fds[2], status;
	size_t		len = 0;
	ssize_t		r;
	unsigned int	i;
	const char	*p;
	pid_t		pid;

	shim_path(self, shim);
	if (!exists(shim))
		fail_msg("no %s: `make check` builds it", shim);
	assert_int_equal(pipe(fds), 0);
	fflush(NULL);
	if ((pid = fork()) == 0) {
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		close(fds[1]);
		exec_child(fx, self, shim, fault, n, segment_size);
	}
	close(fds[1]);
	while ((r = read(fds[0], report + len, sizeof(report) - 1 - len)) > 0)
		len += (size_t)r;
	close(fds[0]);
	report[len] = '\0';
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	memset(out, '-', n);
	out[n] = '\0';
	*then = '\0';
	for (p = report; *p != '\0'; p = strchr(p, '\n') + 1) {
		if (strncmp(p, "then ", 5) == 0)
			snprintf(then, thenlen, "%.*s", (int)strcspn(p + 5, "\n"),
			    p + 5);
		else if (sscanf(p, "%u %15s", &i, word) == 2 && i < n)
			out[i] = word[0] == 'o' ? 'o' : word[1] == 'u' ? 'F' : 'X';
	}
}

/* Replay without the shim: the records must be those out calls 'o'. */
static void
assert_replay_has_ok(const struct fixture *fx, const char *out)
{
	unsigned int		 ids[256], n = 0, i;
	struct journal_file	*jf;
	struct got		 g = { 0 };

	for (i = 0; out[i] != '\0'; i++) {
		if (out[i] == 'o')
			ids[n++] = i;
	}
	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	assert_got(&g, ids, n);
	journal_file_close(jf);
	got_free(&g);
}

static void
test_no_space_on_write_is_recoverable(void **state)
{
	struct fixture	*fx = *state;
	char		 out[16], then[32];

	run_faulty(fx, "writev=ENOSPC@5", 12, SMALL_SEGMENT, out, then,
	    sizeof(then));
	assert_string_equal(out, "ooooFooooooo");
	assert_replay_has_ok(fx, out);
}

static void
test_lasting_no_space_loses_nothing_before(void **state)
{
	struct fixture	*fx = *state;
	char		 out[16], then[32];

	run_faulty(fx, "writev=ENOSPC@8+", 12, SMALL_SEGMENT, out, then,
	    sizeof(then));
	assert_string_equal(out, "oooooooFFFFF");
	assert_replay_has_ok(fx, out);
}

static void
test_no_space_on_preallocation_is_recoverable(void **state)
{
	struct fixture	*fx = *state;
	char		 out[128], then[32];
	size_t		 ok;

	/* Segments of 1 KiB: the third one finds the disk full. */
	run_faulty(fx, "posix_fallocate=ENOSPC@3+", 100, 1024, out, then,
	    sizeof(then));
	ok = strspn(out, "o");
	assert_true(ok >= 30 && ok < 100);
	assert_int_equal(strspn(out + ok, "F"), 100 - ok);
	assert_replay_has_ok(fx, out);
}

/* Zeros written ahead of the records (pwritev) only save time: when they
 * cannot be written, records go on as before. */
static void
test_failed_zeros_ahead_change_nothing(void **state)
{
	struct fixture	*fx = *state;
	char		 out[128], then[32];

	run_faulty(fx, "pwritev=ENOSPC@1+", 100, 1024, out, then, sizeof(then));
	assert_int_equal(strspn(out, "o"), 100);
	assert_replay_has_ok(fx, out);
	run_faulty(fx, "pwritev=EIO@1+", 100, 1024, out, then, sizeof(then));
	assert_int_equal(strspn(out, "o"), 100);
}

static void
test_eio_on_write_is_fatal(void **state)
{
	struct fixture	*fx = *state;
	char		 out[16], then[32];

	run_faulty(fx, "writev=EIO@5", 12, SMALL_SEGMENT, out, then,
	    sizeof(then));
	assert_string_equal(out, "ooooX-------");
	assert_string_equal(then, "fatal fatal");
	assert_replay_has_ok(fx, out);
}

static void
test_eio_on_fdatasync_is_fatal(void **state)
{
	struct fixture		*fx = *state;
	struct journal_file	*jf;
	struct got		 g = { 0 };
	char			 out[16], then[32];

	/* The first fdatasync is the new segment's header's. */
	run_faulty(fx, "fdatasync=EIO@5", 12, SMALL_SEGMENT, out, then,
	    sizeof(then));
	assert_string_equal(out, "oooX--------");
	assert_string_equal(then, "fatal fatal");
	/* Record 3 reached the kernel; whether it is durable is unknown. */
	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	assert_true(g.n == 3 || g.n == 4);
	assert_got_range(&g, 0, (unsigned int)g.n);
	journal_file_close(jf);
	got_free(&g);
}

static void
test_eio_on_preallocation_is_fatal(void **state)
{
	struct fixture	*fx = *state;
	char		 out[16], then[32];

	run_faulty(fx, "posix_fallocate=EIO@2", 12, 256, out, then,
	    sizeof(then));
	assert_int_equal(out[0], 'o');
	assert_non_null(strchr(out, 'X'));
	assert_string_equal(then, "fatal fatal");
	assert_replay_has_ok(fx, out);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_no_space_on_write_is_recoverable),
		T(test_lasting_no_space_loses_nothing_before),
		T(test_no_space_on_preallocation_is_recoverable),
		T(test_failed_zeros_ahead_change_nothing),
		T(test_eio_on_write_is_fatal),
		T(test_eio_on_fdatasync_is_fatal),
		T(test_eio_on_preallocation_is_fatal),
#undef T
	};

	if (argc == 5 && strcmp(argv[1], "--child") == 0) {
		log_init("test_journal_fault", LOG_ERR, LOG_TO_STDERR);
		return child(argv[2], (unsigned int)atoi(argv[3]),
		    strtoull(argv[4], NULL, 10));
	}
	log_init("test_journal_fault", LOG_ERR, LOG_TO_STDERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
