/* Helpers shared by the journal's unit tests: a journal in a temporary
 * directory, numbered records, and what replay handed over. */
#ifndef LOOM_JOURNAL_TESTUTIL_H
#define LOOM_JOURNAL_TESTUTIL_H

#include <sys/stat.h>
#include <sys/uio.h>

#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "io/journal_file.h"
#include "runtime/util.h"

#define HEADER		64
#define FRAME		8
#define SMALL_SEGMENT	4096

struct fixture {
	char	root[256];
	char	dir[288];
};

/* The records replay handed over, in order. */
struct got {
	char	**recs;
	size_t	 n;
};

/* Record i: its number and some filler, 12 to 60 bytes. */
static inline size_t
record(char *buf, size_t size, unsigned int i)
{
	int	n = snprintf(buf, size, "record %u ", i);
	size_t	fill = (i * 7) % 48, k;

	for (k = 0; k < fill && (size_t)n + k + 1 < size; k++)
		buf[n + k] = (char)('a' + (i + k) % 26);
	buf[n + k] = '\0';
	return (size_t)n + k;
}

static inline int
collect(void *arg, const void *payload, size_t len)
{
	struct got	*g = arg;

	g->recs = xreallocarray(g->recs, g->n + 1, sizeof(*g->recs));
	g->recs[g->n] = xmalloc(len + 1);
	memcpy(g->recs[g->n], payload, len);
	g->recs[g->n][len] = '\0';
	g->n++;
	return 0;
}

static inline void
got_free(struct got *g)
{
	size_t	i;

	for (i = 0; i < g->n; i++)
		free(g->recs[i]);
	free(g->recs);
	g->recs = NULL;
	g->n = 0;
}

static inline void
assert_record(const char *got, unsigned int id)
{
	char	buf[128];

	record(buf, sizeof(buf), id);
	assert_string_equal(got, buf);
}

/* g holds exactly records ids[0..n), in that order. */
static inline void
assert_got(const struct got *g, const unsigned int *ids, size_t n)
{
	char	buf[128];
	size_t	i;

	assert_int_equal(g->n, n);
	for (i = 0; i < n; i++) {
		record(buf, sizeof(buf), ids[i]);
		assert_string_equal(g->recs[i], buf);
	}
}

static inline void
assert_got_range(const struct got *g, unsigned int lo, unsigned int hi)
{
	unsigned int	*ids = xcalloc(hi - lo + 1, sizeof(*ids)), i;

	for (i = lo; i < hi; i++)
		ids[i - lo] = i;
	assert_got(g, ids, hi - lo);
	free(ids);
}

static inline int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static inline int
setup(void **state)
{
	struct fixture	*fx = xcalloc(1, sizeof(*fx));
	const char	*tmp = getenv("TMPDIR");

	snprintf(fx->root, sizeof(fx->root), "%s/loom-jf-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(fx->root) == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "%s/journal", fx->root);
	*state = fx;
	return 0;
}

static inline int
teardown(void **state)
{
	struct fixture	*fx = *state;

	nftw(fx->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static inline void
path_of(const struct fixture *fx, char *buf, uint64_t seq, const char *ext)
{
	snprintf(buf, PATH_MAX, "%s/%016" PRIu64 ".%s", fx->dir, seq, ext);
}

static inline bool
exists(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0;
}

static inline off_t
file_size(const char *path)
{
	struct stat	st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static inline struct journal_file *
open_journal(const struct fixture *fx, uint64_t segment_size, uint64_t max_bytes)
{
	struct journal_file_options	 o = {
		.segment_size = segment_size, .max_bytes = max_bytes,
		.zero_ahead = true	/* as journal_sync=always, the default */
	};
	struct journal_file		*jf;
	char				 err[512];

	jf = journal_file_open(fx->dir, &o, err, sizeof(err));
	if (jf == NULL)
		fail_msg("open: %s", err);
	return jf;
}

/* Open and replay into g, which must succeed. */
static inline struct journal_file *
reopen(const struct fixture *fx, uint64_t segment_size, struct got *g,
    struct journal_replay_stats *st)
{
	struct journal_file	*jf = open_journal(fx, segment_size, 0);
	char			 err[512];

	got_free(g);
	if (journal_file_replay(jf, collect, g, false, st, err, sizeof(err)) != 0)
		fail_msg("replay: %s", err);
	return jf;
}

/* Open and replay, which must fail: the message in err. */
static inline void
replay_fails(const struct fixture *fx, bool repair, char *err, size_t errlen)
{
	struct journal_file	*jf = open_journal(fx, SMALL_SEGMENT, 0);
	struct got		 g = { 0 };

	assert_int_equal(journal_file_replay(jf, collect, &g, repair, NULL, err,
	    errlen), -1);
	got_free(&g);
	journal_file_close(jf);
}

static inline enum journal_result
append_one(struct journal_file *jf, unsigned int i)
{
	char		buf[128];
	struct iovec	iov = { buf, record(buf, sizeof(buf), i) };

	return journal_file_append(jf, &iov, 1);
}

/* Records lo..hi, `batch` per append, each batch synced. */
static inline void
append_range(struct journal_file *jf, unsigned int lo, unsigned int hi,
    size_t batch)
{
	char		(*bufs)[128] = xcalloc(batch, sizeof(*bufs));
	struct iovec	*iov = xcalloc(batch, sizeof(*iov));
	size_t		 n;

	while (lo < hi) {
		for (n = 0; n < batch && lo < hi; n++, lo++) {
			iov[n].iov_base = bufs[n];
			iov[n].iov_len = record(bufs[n], sizeof(bufs[n]), lo);
		}
		assert_int_equal(journal_file_append(jf, iov, n), JOURNAL_OK);
		assert_int_equal(journal_file_sync(jf), JOURNAL_OK);
	}
	free(iov);
	free(bufs);
}

/* A fresh journal with records 0..n in small segments, `batch` per append. */
static inline void
make_journal(const struct fixture *fx, unsigned int n, size_t batch)
{
	struct got		 g = { 0 };
	struct journal_file	*jf = reopen(fx, SMALL_SEGMENT, &g, NULL);

	append_range(jf, 0, n, batch);
	journal_file_close(jf);
	got_free(&g);
}

static inline void *
read_file(const char *path, size_t *len)
{
	int		 fd = open(path, O_RDONLY);
	struct stat	 st;
	char		*buf;

	assert_true(fd != -1);
	assert_int_equal(fstat(fd, &st), 0);
	buf = xmalloc((size_t)st.st_size + 1);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static inline void
write_file(const char *path, const void *buf, size_t len)
{
	int	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd != -1);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* The offset of the k-th record (from 0) of a segment's file bytes. */
static inline size_t
record_offset(const unsigned char *p, size_t len, unsigned int k)
{
	size_t	off = HEADER;

	while (k-- > 0) {
		assert_true(off + FRAME <= len);
		off += FRAME + (p[off] | p[off + 1] << 8 | p[off + 2] << 16);
	}
	return off;
}

/* How many records a segment's file bytes hold. */
static inline unsigned int
records_in(const unsigned char *p, size_t len)
{
	size_t		off = HEADER;
	unsigned int	n = 0;

	while (off + FRAME <= len && (p[off] | p[off + 1] | p[off + 2]) != 0) {
		off += FRAME + (p[off] | p[off + 1] << 8 | p[off + 2] << 16);
		n++;
	}
	return n;
}

static inline void
flip_byte(const char *path, size_t off)
{
	size_t		 len;
	unsigned char	*p = read_file(path, &len);

	assert_true(off < len);
	p[off] ^= 0x20;
	write_file(path, p, len);
	free(p);
}

#endif
