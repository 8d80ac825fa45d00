/*
 * The journal's files: records replay in order across segments and restarts;
 * a torn end is cut wherever the crash fell; damage elsewhere is refused
 * with its file and offset, or repaired; a newer format is refused; a
 * snapshot replaces the segments it covers, and a crash at any step of that
 * loses nothing; and the disk's failures, injected by the fault shim
 * (tests/fault), are recoverable (no space) or fatal (anything else): those
 * are in test_journal_fault.c.
 */
#include "autoconf.h"

#include <sys/ioctl.h>

#include <linux/fiemap.h>
#include <linux/fs.h>

#include "journal_testutil.h"
#include "runtime/log.h"

/* Appending and replaying. */

static void
test_records_replay_in_order_across_segments(void **state)
{
	struct fixture			*fx = *state;
	struct journal_replay_stats	 rs;
	struct journal_file_stats	 st;
	struct journal_file		*jf;
	struct got			 g = { 0 };

	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	append_range(jf, 0, 1000, 7);
	journal_file_stats(jf, &st);
	assert_true(st.segments > 5);
	assert_int_equal(st.records, 1000);
	journal_file_close(jf);

	jf = reopen(fx, SMALL_SEGMENT, &g, &rs);
	assert_got_range(&g, 0, 1000);
	assert_int_equal(rs.records, 1000);
	assert_int_equal(rs.segments, st.segments);
	assert_false(rs.snapshot);
	assert_int_equal(rs.torn, 0);
	journal_file_close(jf);
	got_free(&g);
}

static void
test_restart_appends_after_what_was_replayed(void **state)
{
	struct fixture		*fx = *state;
	struct journal_file	*jf;
	struct got		 g = { 0 };

	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	append_range(jf, 0, 50, 1);
	journal_file_close(jf);
	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	assert_got_range(&g, 0, 50);
	append_range(jf, 50, 100, 16);
	/* Closed without a sync: the kernel has them, which is enough here. */
	assert_int_equal(append_one(jf, 100), JOURNAL_OK);
	journal_file_close(jf);
	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	assert_got_range(&g, 0, 101);
	journal_file_close(jf);
	got_free(&g);
}

static void
test_big_batches_and_big_records(void **state)
{
	struct fixture		*fx = *state;
	struct journal_file	*jf;
	struct got		 g = { 0 };
	struct iovec		 iov[2];
	char			*big = xmalloc(3 * SMALL_SEGMENT);

	/* More records than IOV_MAX allows in one writev. */
	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	append_range(jf, 0, 3000, 3000);
	/* A record bigger than a segment gets a segment of its own. */
	memset(big, 'x', 3 * SMALL_SEGMENT);
	iov[0] = (struct iovec){ big, 3 * SMALL_SEGMENT };
	iov[1] = (struct iovec){ big, 1 };
	assert_int_equal(journal_file_append(jf, iov, 2), JOURNAL_OK);
	journal_file_close(jf);
	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	assert_int_equal(g.n, 3002);
	assert_int_equal(strlen(g.recs[3000]), 3 * SMALL_SEGMENT);
	assert_string_equal(g.recs[3001], "x");
	g.n = 3000;
	free(g.recs[3000]);
	free(g.recs[3001]);
	assert_got_range(&g, 0, 3000);
	journal_file_close(jf);
	got_free(&g);
	free(big);
}

static void
test_second_loomd_is_refused(void **state)
{
	struct fixture		*fx = *state;
	struct journal_file	*jf = open_journal(fx, 0, 0);
	char			 err[512], want[PATH_MAX + 32];
	struct stat		 st;

	assert_int_equal(stat(fx->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_null(journal_file_open(fx->dir, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "another loomd uses %s", fx->root);
	assert_string_equal(err, want);
	journal_file_close(jf);
	jf = open_journal(fx, 0, 0);
	journal_file_close(jf);
}

/* Torn ends. */

enum tail { TAIL_NONE, TAIL_ZEROS, TAIL_GARBAGE };

/* The last segment cut at `cut`, then zeros or garbage as a crash may leave. */
static void
write_torn(const char *path, const unsigned char *p, size_t cut, enum tail tail)
{
	unsigned char	buf[2 * SMALL_SEGMENT];
	size_t		len = cut;

	memcpy(buf, p, cut);
	if (tail == TAIL_GARBAGE) {
		memset(buf + len, 0xa5, 37);
		len += 37;
	}
	if (tail != TAIL_NONE) {
		memset(buf + len, 0, SMALL_SEGMENT - len);
		len = SMALL_SEGMENT;
	}
	write_file(path, buf, len);
}

static void
torn_case(const struct fixture *fx, const char *path, const unsigned char *p,
    size_t start, size_t cut, enum tail tail)
{
	static const unsigned int	 after[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 99 };
	struct journal_replay_stats	 rs;
	struct journal_file		*jf;
	struct got			 g = { 0 };
	bool				 torn = cut > start || tail == TAIL_GARBAGE;

	write_torn(path, p, cut, tail);
	jf = reopen(fx, SMALL_SEGMENT, &g, &rs);
	assert_got_range(&g, 0, 9);
	assert_int_equal(rs.torn, torn ? 1 : 0);
	if (torn)
		assert_int_equal(file_size(path), start);
	/* Appending goes on from the last good record. */
	if (cut % 5 == 0 || tail == TAIL_GARBAGE) {
		assert_int_equal(append_one(jf, 99), JOURNAL_OK);
		journal_file_close(jf);
		jf = reopen(fx, SMALL_SEGMENT, &g, &rs);
		assert_got(&g, after, 10);
		assert_int_equal(rs.torn, 0);
	}
	journal_file_close(jf);
	got_free(&g);
}

static void
test_torn_end_is_cut_wherever_the_crash_fell(void **state)
{
	struct fixture	*fx = *state;
	char		 path[PATH_MAX];
	unsigned char	*p;
	size_t		 len, start, end, cut;
	enum tail	 tail;

	make_journal(fx, 10, 1);
	path_of(fx, path, 1, "seg");
	p = read_file(path, &len);
	assert_int_equal(records_in(p, len), 10);
	start = record_offset(p, len, 9);
	end = record_offset(p, len, 10);
	for (tail = TAIL_NONE; tail <= TAIL_GARBAGE; tail++) {
		for (cut = start; cut < end; cut++)
			torn_case(fx, path, p, start, cut, tail);
	}
	/* The last record whole but its CRC wrong: torn too. */
	p[end - 1] ^= 1;
	torn_case(fx, path, p, start, end, TAIL_ZEROS);
	free(p);
}

static void
test_last_segment_without_header_is_removed(void **state)
{
	struct fixture			*fx = *state;
	static const unsigned char	 partial[20] = { 'L', 'O', 'O', 'M' };
	struct journal_replay_stats	 rs;
	struct journal_file		*jf;
	struct got			 g = { 0 };
	char				 path[PATH_MAX];
	unsigned int			 n;

	make_journal(fx, 200, 5);
	for (n = 1; exists((path_of(fx, path, n, "seg"), path)); n++)
		;
	/* A crash while segment n was being created. */
	write_file(path, partial, sizeof(partial));
	jf = reopen(fx, SMALL_SEGMENT, &g, &rs);
	assert_got_range(&g, 0, 200);
	assert_int_equal(rs.torn, 1);
	assert_false(exists(path));
	assert_int_equal(append_one(jf, 200), JOURNAL_OK);
	journal_file_close(jf);
	jf = reopen(fx, SMALL_SEGMENT, &g, &rs);
	assert_got_range(&g, 0, 201);
	journal_file_close(jf);
	got_free(&g);
}

/*
 * Replay skips a segment's preallocated tail by asking where its data ends
 * (SEEK_DATA/SEEK_HOLE) rather than reading every zero of it: bytes written
 * far into that tail are still found, a record as damage, garbage as a torn
 * end.
 */
static void
test_bytes_deep_in_the_preallocated_tail_are_found(void **state)
{
	struct fixture			*fx = *state;
	const uint64_t			 seg = 1u << 20;
	struct journal_replay_stats	 rs;
	struct journal_file		*jf;
	struct got			 g = { 0 };
	char				 path[PATH_MAX], err[1024];
	unsigned char			*p;
	size_t				 len, end;
	int				 fd;

	jf = reopen(fx, seg, &g, NULL);
	append_range(jf, 0, 10, 10);
	journal_file_close(jf);
	path_of(fx, path, 1, "seg");
	p = read_file(path, &len);
	assert_int_equal(len, seg);
	end = record_offset(p, len, 10);

	/* A whole good record near the file's end, after a gap of zeros. */
	assert_true((fd = open(path, O_WRONLY)) != -1);
	assert_int_equal(pwrite(fd, p + HEADER, end - HEADER, seg - 8192),
	    (ssize_t)(end - HEADER));
	replay_fails(fx, false, err, sizeof(err));
	assert_non_null(strstr(err, "0000000000000001.seg: bad record at offset"));

	/* One byte of garbage at the very end instead: a torn end, cut. */
	memset(p, 0, end - HEADER);
	assert_int_equal(pwrite(fd, p, end - HEADER, seg - 8192),
	    (ssize_t)(end - HEADER));
	assert_int_equal(pwrite(fd, "\xa5", 1, seg - 1), 1);
	close(fd);
	free(p);
	jf = reopen(fx, seg, &g, &rs);
	assert_got_range(&g, 0, 10);
	assert_int_equal(rs.torn, 1);
	assert_int_equal(file_size(path), end);
	journal_file_close(jf);
	got_free(&g);
}

/*
 * Whether some extent over [off, off + len) of fd is unwritten (allocated
 * but never written: what posix_fallocate makes); -1 if the filesystem
 * cannot say.
 */
static int
unwritten_in(int fd, uint64_t off, uint64_t len)
{
	uint64_t		 buf[(sizeof(struct fiemap) +
				    32 * sizeof(struct fiemap_extent)) / 8 + 1];
	struct fiemap		*fm = (struct fiemap *)buf;
	uint32_t		 i;

	memset(buf, 0, sizeof(buf));
	fm->fm_start = off;
	fm->fm_length = len;
	fm->fm_flags = FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = 32;
	if (ioctl(fd, FS_IOC_FIEMAP, fm) == -1 || fm->fm_mapped_extents == 0)
		return -1;
	for (i = 0; i < fm->fm_mapped_extents; i++) {
		if (fm->fm_extents[i].fe_flags & FIEMAP_EXTENT_UNWRITTEN)
			return 1;
	}
	return 0;
}

/*
 * With zero_ahead (journal_sync=always) the preallocated space just ahead
 * of the records is written (zeros), so that an fdatasync has no unwritten
 * extent to convert, a metadata commit each; further out it stays
 * preallocated, and without zero_ahead all of it does.  Skipped where the
 * filesystem does not tell unwritten extents apart (FIEMAP).
 */
static void
test_space_ahead_of_the_records_is_written(void **state)
{
	struct fixture			*fx = *state;
	const uint64_t			 seg = 8u << 20;
	struct journal_file_options	 plain = { .segment_size = seg };
	struct journal_file_stats	 st;
	struct journal_file		*jf;
	struct got			 g = { 0 };
	char				 path[PATH_MAX], err[512];
	int				 fd, far;

	jf = reopen(fx, seg, &g, NULL);
	append_range(jf, 0, 100, 10);
	journal_file_stats(jf, &st);
	journal_file_close(jf);
	path_of(fx, path, 1, "seg");
	assert_int_equal(file_size(path), seg);
	assert_true((fd = open(path, O_RDONLY)) != -1);
	far = unwritten_in(fd, seg - 4096, 4096);
	if (far != 1) {
		close(fd);
		skip();
	}
	assert_int_equal(unwritten_in(fd, st.since_snapshot, 512u << 10), 0);
	close(fd);

	/* The zeros read as the end of the records. */
	jf = reopen(fx, seg, &g, NULL);
	assert_got_range(&g, 0, 100);
	journal_file_close(jf);
	got_free(&g);

	/* Without zero_ahead, records go into the preallocated space. */
	assert_int_equal(unlink(path), 0);
	jf = journal_file_open(fx->dir, &plain, err, sizeof(err));
	assert_non_null(jf);
	assert_int_equal(journal_file_replay(jf, NULL, NULL, false, NULL, err,
	    sizeof(err)), 0);
	append_range(jf, 0, 100, 10);
	journal_file_close(jf);
	path_of(fx, path, 1, "seg");
	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_int_equal(unwritten_in(fd, st.since_snapshot, 512u << 10), 1);
	close(fd);
}

/* Damage. */

static void
test_damage_before_the_end_is_refused_with_file_and_offset(void **state)
{
	struct fixture		*fx = *state;
	struct journal_file	*jf;
	struct got		 g = { 0 };
	char			 path[PATH_MAX], err[1024], want[64];
	unsigned char		*p;
	size_t			 len, off;

	make_journal(fx, 300, 3);
	/* In an earlier segment. */
	path_of(fx, path, 1, "seg");
	p = read_file(path, &len);
	off = record_offset(p, len, 4);
	free(p);
	flip_byte(path, off + FRAME + 2);
	replay_fails(fx, false, err, sizeof(err));
	snprintf(want, sizeof(want), "0000000000000001.seg: bad record at "
	    "offset %zu: a CRC mismatch", off);
	assert_non_null(strstr(err, want));
	flip_byte(path, off + FRAME + 2);

	/* In the last segment, with good records after it. */
	for (len = 1; exists((path_of(fx, path, len + 1, "seg"), path)); len++)
		;
	path_of(fx, path, len, "seg");
	p = read_file(path, &len);
	assert_true(records_in(p, len) > 3);
	off = record_offset(p, len, 1);
	free(p);
	flip_byte(path, off + 1);	/* its length */
	replay_fails(fx, false, err, sizeof(err));
	snprintf(want, sizeof(want), ".seg: bad record at offset %zu: ", off);
	assert_non_null(strstr(err, want));
	/* Refused, the journal is as it was: put right, it replays whole. */
	flip_byte(path, off + 1);
	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	assert_got_range(&g, 0, 300);
	journal_file_close(jf);
	got_free(&g);
}

static void
test_repair_keeps_what_precedes_the_damage(void **state)
{
	struct fixture			*fx = *state;
	struct journal_replay_stats	 rs;
	struct journal_file		*jf;
	struct got			 g = { 0 };
	char				 path[PATH_MAX], err[512];
	unsigned char			*p;
	size_t				 len, off;
	unsigned int			 first, nsegs;

	make_journal(fx, 300, 3);
	for (nsegs = 1; exists((path_of(fx, path, nsegs + 1, "seg"), path)); nsegs++)
		;
	assert_true(nsegs >= 4);
	path_of(fx, path, 1, "seg");
	p = read_file(path, &len);
	first = records_in(p, len);
	free(p);
	path_of(fx, path, 2, "seg");
	p = read_file(path, &len);
	off = record_offset(p, len, 5);
	free(p);
	flip_byte(path, off + FRAME);

	jf = open_journal(fx, SMALL_SEGMENT, 0);
	assert_int_equal(journal_file_replay(jf, collect, &g, true, &rs, err,
	    sizeof(err)), 0);
	assert_got_range(&g, 0, first + 5);
	assert_int_equal(rs.dropped_files, nsegs - 2);
	assert_int_equal(rs.dropped_records, 300 - first - 5 - 1);
	assert_true(rs.dropped_bytes > 0);
	assert_int_equal(file_size(path), off);
	path_of(fx, path, 3, "seg");
	assert_false(exists(path));
	assert_int_equal(append_one(jf, 1000), JOURNAL_OK);
	assert_int_equal(journal_file_sync(jf), JOURNAL_OK);
	journal_file_close(jf);

	jf = reopen(fx, SMALL_SEGMENT, &g, &rs);
	assert_int_equal(g.n, first + 6);
	assert_record(g.recs[first + 5], 1000);
	assert_int_equal(rs.dropped_records, 0);
	journal_file_close(jf);
	got_free(&g);
}

static void
test_missing_segment_is_damage(void **state)
{
	struct fixture	*fx = *state;
	char		 path[PATH_MAX], err[512];

	make_journal(fx, 300, 3);
	path_of(fx, path, 2, "seg");
	assert_int_equal(unlink(path), 0);
	replay_fails(fx, false, err, sizeof(err));
	assert_non_null(strstr(err, "0000000000000003.seg: bad record at offset 0: "
	    "segment 0000000000000002 is missing"));
}

static void
test_newer_format_is_refused(void **state)
{
	struct fixture	*fx = *state;
	char		 path[PATH_MAX], err[512];
	unsigned char	*p;
	size_t		 len;

	make_journal(fx, 10, 1);
	path_of(fx, path, 1, "seg");
	p = read_file(path, &len);
	p[8] = 2;
	write_file(path, p, len);
	replay_fails(fx, false, err, sizeof(err));
	assert_non_null(strstr(err, "0000000000000001.seg: journal format 2 is "
	    "newer than this loomd understands (1); upgrade loomd"));
	/* Repair does not touch it either. */
	replay_fails(fx, true, err, sizeof(err));
	assert_int_equal(file_size(path), len);
	free(p);
}

/* Snapshots. */

static void
add_snapshot_records(struct journal_snapshot *s, unsigned int lo,
    unsigned int hi)
{
	char		buf[128];
	struct iovec	iov;

	for (; lo < hi; lo++) {
		iov.iov_base = buf;
		iov.iov_len = record(buf, sizeof(buf), lo);
		assert_int_equal(journal_file_snapshot_add(s, &iov, 1), JOURNAL_OK);
	}
}

/* Compact: the state is records lo..hi; `during` are appended meanwhile. */
static void
compact(struct journal_file *jf, unsigned int lo, unsigned int hi,
    unsigned int during_lo, unsigned int during_hi)
{
	struct journal_snapshot	*s;

	assert_int_equal(journal_file_snapshot_begin(jf, &s), JOURNAL_OK);
	append_range(jf, during_lo, during_hi, 4);
	add_snapshot_records(s, lo, hi);
	assert_int_equal(journal_file_snapshot_commit(s), JOURNAL_OK);
}

static unsigned int
count_files(const struct fixture *fx, const char *ext)
{
	char		path[PATH_MAX];
	unsigned int	n = 0, seq;

	for (seq = 1; seq < 200; seq++)
		n += exists((path_of(fx, path, seq, ext), path));
	return n;
}

static void
test_snapshot_replaces_the_segments_it_covers(void **state)
{
	struct fixture			*fx = *state;
	struct journal_replay_stats	 rs;
	struct journal_file_stats	 st;
	struct journal_file		*jf;
	struct got			 g = { 0 };
	unsigned int			 ids[30], i;

	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	append_range(jf, 0, 200, 5);
	compact(jf, 1000, 1010, 200, 220);
	journal_file_stats(jf, &st);
	assert_int_equal(count_files(fx, "snap"), 1);
	assert_int_equal(count_files(fx, "seg"), st.segments);
	assert_true(st.segments <= 2);
	assert_true(st.snapshot_bytes > HEADER);
	assert_true(st.last_compaction_ns > 0);
	journal_file_close(jf);

	jf = reopen(fx, SMALL_SEGMENT, &g, &rs);
	for (i = 0; i < 10; i++)
		ids[i] = 1000 + i;
	for (i = 0; i < 20; i++)
		ids[10 + i] = 200 + i;
	assert_got(&g, ids, 30);
	assert_true(rs.snapshot);
	assert_int_equal(rs.snapshot_records, 10);
	/* Again, with nothing appended since: the old snapshot goes too. */
	compact(jf, 2000, 2003, 0, 0);
	compact(jf, 3000, 3002, 0, 0);
	assert_int_equal(count_files(fx, "snap"), 1);
	journal_file_close(jf);
	jf = reopen(fx, SMALL_SEGMENT, &g, &rs);
	ids[0] = 3000;
	ids[1] = 3001;
	assert_got(&g, ids, 2);
	journal_file_close(jf);
	got_free(&g);
}

/* A crash while the snapshot was written leaves its .tmp: the old state
 * replays, and the .tmp goes. */
static void
test_crash_while_writing_a_snapshot_keeps_the_old_state(void **state)
{
	struct fixture		*fx = *state;
	struct journal_snapshot	*s;
	struct journal_file	*jf;
	struct got		 g = { 0 };
	char			 tmp[PATH_MAX], *copy;
	size_t			 len;

	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	append_range(jf, 0, 100, 5);
	assert_int_equal(journal_file_snapshot_begin(jf, &s), JOURNAL_OK);
	add_snapshot_records(s, 1000, 1100);
	append_range(jf, 100, 110, 5);
	/* What the crash left: the .tmp as far as it went (the header blank). */
	snprintf(tmp, sizeof(tmp), "%s/%016u.snap.tmp", fx->dir, count_files(fx,
	    "seg") - 1);
	assert_true(exists(tmp));
	copy = read_file(tmp, &len);
	journal_file_snapshot_abort(s);
	assert_false(exists(tmp));
	write_file(tmp, copy, len);
	free(copy);
	journal_file_close(jf);

	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	assert_got_range(&g, 0, 110);
	assert_false(exists(tmp));
	assert_int_equal(count_files(fx, "snap"), 0);
	journal_file_close(jf);
	got_free(&g);
}

/* Copies of the journal's segments and snapshots, to put back. */
struct saved {
	char	*path[64];
	void	*data[64];
	size_t	 len[64];
	size_t	 n;
};

static void
save_files(const struct fixture *fx, struct saved *sv)
{
	static const char *const	exts[] = { "seg", "snap" };
	char				path[PATH_MAX];
	unsigned int			seq, e;

	for (e = 0; e < 2; e++) {
		for (seq = 1; seq < 200; seq++) {
			path_of(fx, path, seq, exts[e]);
			if (!exists(path))
				continue;
			assert_true(sv->n < 64);
			sv->path[sv->n] = xstrdup(path);
			sv->data[sv->n] = read_file(path, &sv->len[sv->n]);
			sv->n++;
		}
	}
}

/* Put back those that are gone, as if their unlinks had not reached the disk. */
static unsigned int
restore_files(struct saved *sv)
{
	unsigned int	back = 0;
	size_t		i;

	for (i = 0; i < sv->n; i++) {
		if (!exists(sv->path[i])) {
			write_file(sv->path[i], sv->data[i], sv->len[i]);
			back++;
		}
		free(sv->path[i]);
		free(sv->data[i]);
	}
	sv->n = 0;
	return back;
}

static void
test_crash_before_the_replaced_files_are_gone(void **state)
{
	struct fixture		*fx = *state;
	struct journal_file	*jf;
	struct saved		 sv = { .n = 0 };
	struct got		 g = { 0 };
	unsigned int		 ids[15], i;

	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	append_range(jf, 0, 100, 5);
	compact(jf, 500, 505, 100, 150);
	append_range(jf, 150, 200, 5);
	save_files(fx, &sv);
	compact(jf, 1000, 1005, 200, 210);
	journal_file_close(jf);
	/* The new snapshot was renamed and synced; the old one and the old
	 * segments were still there. */
	assert_true(restore_files(&sv) >= 3);
	assert_int_equal(count_files(fx, "snap"), 2);

	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	for (i = 0; i < 5; i++)
		ids[i] = 1000 + i;
	for (i = 0; i < 10; i++)
		ids[5 + i] = 200 + i;
	assert_got(&g, ids, 15);
	assert_int_equal(count_files(fx, "snap"), 1);
	assert_int_equal(count_files(fx, "seg"), 1);
	journal_file_close(jf);
	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	assert_got(&g, ids, 15);
	journal_file_close(jf);
	got_free(&g);
}

static void
test_damaged_snapshot_is_refused(void **state)
{
	struct fixture			*fx = *state;
	struct journal_replay_stats	 rs;
	struct journal_file		*jf;
	struct got			 g = { 0 };
	char				 path[PATH_MAX], err[512];
	unsigned int			 seq;

	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	append_range(jf, 0, 100, 5);
	compact(jf, 1000, 1020, 100, 110);
	journal_file_close(jf);
	for (seq = 1; !exists((path_of(fx, path, seq, "snap"), path)); seq++)
		;
	flip_byte(path, (size_t)file_size(path) - 3);
	replay_fails(fx, false, err, sizeof(err));
	assert_non_null(strstr(err, ".snap: bad record at offset "));
	/* Repair keeps the snapshot's good part, drops what came after it. */
	jf = open_journal(fx, SMALL_SEGMENT, 0);
	assert_int_equal(journal_file_replay(jf, collect, &g, true, &rs, err,
	    sizeof(err)), 0);
	assert_int_equal(g.n, 19);
	assert_int_equal(rs.dropped_records, 10);
	journal_file_close(jf);
	jf = reopen(fx, SMALL_SEGMENT, &g, &rs);
	assert_int_equal(g.n, 19);
	journal_file_close(jf);
	got_free(&g);
}

/* The budget and the accounting. */

static void
test_max_bytes_is_full_until_a_snapshot_frees_room(void **state)
{
	struct fixture		*fx = *state;
	struct journal_replay_stats rs;
	struct journal_file	*jf = open_journal(fx, SMALL_SEGMENT,
				    3 * SMALL_SEGMENT);
	struct got		 g = { 0 };
	char			 err[512];
	unsigned int		 i;

	assert_int_equal(journal_file_replay(jf, NULL, NULL, false, &rs, err,
	    sizeof(err)), 0);
	for (i = 0; append_one(jf, i) == JOURNAL_OK; i++)
		assert_int_equal(journal_file_sync(jf), JOURNAL_OK);
	assert_true(i > 100);
	assert_non_null(strstr(journal_file_error(jf), "max_bytes"));
	/* Still full, and nothing is lost. */
	assert_int_equal(append_one(jf, i), JOURNAL_FULL);
	assert_int_equal(journal_file_sync(jf), JOURNAL_OK);
	journal_file_close(jf);
	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	assert_got_range(&g, 0, i);
	journal_file_close(jf);

	jf = open_journal(fx, SMALL_SEGMENT, 3 * SMALL_SEGMENT);
	assert_int_equal(journal_file_replay(jf, NULL, NULL, false, &rs, err,
	    sizeof(err)), 0);
	assert_int_equal(append_one(jf, i), JOURNAL_FULL);
	compact(jf, 5000, 5001, 0, 0);
	assert_int_equal(append_one(jf, 6000), JOURNAL_OK);
	journal_file_close(jf);
	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	assert_int_equal(g.n, 2);
	assert_record(g.recs[1], 6000);
	journal_file_close(jf);
	got_free(&g);
}

/* Sum of the journal's file sizes, and how many segments. */
static uint64_t
disk_usage(const struct fixture *fx, unsigned int *segments)
{
	char		path[PATH_MAX];
	uint64_t	sum = 0;
	unsigned int	seq;

	*segments = 0;
	for (seq = 1; seq < 200; seq++) {
		path_of(fx, path, seq, "seg");
		if (exists(path)) {
			sum += (uint64_t)file_size(path);
			(*segments)++;
		}
		path_of(fx, path, seq, "snap");
		if (exists(path))
			sum += (uint64_t)file_size(path);
	}
	return sum;
}

static void
test_stats_account_for_what_is_on_disk(void **state)
{
	struct fixture			*fx = *state;
	struct journal_file_stats	 st;
	struct journal_file		*jf;
	struct got			 g = { 0 };
	unsigned int			 segments;

	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	append_range(jf, 0, 500, 10);
	journal_file_stats(jf, &st);
	assert_int_equal(st.records, 500);
	assert_int_equal(st.appends, 50);
	assert_true(st.syncs >= 50);
	assert_true(st.sync_p50_ns > 0);
	assert_true(st.sync_p50_ns <= st.sync_p99_ns);
	assert_true(st.sync_p99_ns <= st.sync_max_ns);
	assert_int_equal(st.bytes, disk_usage(fx, &segments));
	assert_int_equal(st.segments, segments);
	assert_int_equal(st.snapshot_bytes, 0);
	assert_int_equal(st.last_compaction_ns, 0);
	assert_true(st.since_snapshot > 500 * FRAME);
	assert_int_equal(journal_file_bytes_since_snapshot(jf), st.since_snapshot);

	compact(jf, 0, 10, 500, 510);
	journal_file_stats(jf, &st);
	assert_int_equal(st.bytes, disk_usage(fx, &segments));
	assert_int_equal(st.segments, segments);
	assert_true(st.since_snapshot < SMALL_SEGMENT);
	journal_file_close(jf);
	jf = reopen(fx, SMALL_SEGMENT, &g, NULL);
	journal_file_stats(jf, &st);
	assert_int_equal(st.bytes, disk_usage(fx, &segments));
	assert_true(st.last_compaction_ns > 0);
	journal_file_close(jf);
	got_free(&g);
}

/* The fdatasync times a writer reads as they come, and the ring's end. */
static void
test_sync_times_are_the_last_ones_kept(void **state)
{
	struct fixture			*fx = *state;
	struct journal_file_stats	 st, counts;
	struct journal_file		*jf;
	struct got			 g = { 0 };
	uint64_t			 v[JOURNAL_SYNC_SAMPLES], all[JOURNAL_SYNC_SAMPLES];
	uint64_t			 base;
	size_t				 i, n;

	jf = reopen(fx, 0, &g, NULL);
	assert_int_equal(journal_file_sync_times(jf, 0, v), 0);
	assert_int_equal(append_one(jf, 0), JOURNAL_OK);	/* syncs too */
	journal_file_counts(jf, &counts);
	base = counts.syncs;
	for (i = 0; i < 3; i++)
		assert_int_equal(journal_file_sync(jf), JOURNAL_OK);
	journal_file_counts(jf, &counts);
	assert_int_equal(counts.syncs, base + 3);
	assert_int_equal(counts.sync_p50_ns, 0);	/* not worked out */
	assert_int_equal(journal_file_sync_times(jf, base + 3, v), 0);
	assert_int_equal(journal_file_sync_times(jf, base + 1, v), 2);
	assert_true(v[0] > 0 && v[1] > 0);

	/* Past the ring: the newest JOURNAL_SYNC_SAMPLES, oldest first. */
	for (i = 0; i < JOURNAL_SYNC_SAMPLES; i++)
		assert_int_equal(journal_file_sync(jf), JOURNAL_OK);
	journal_file_counts(jf, &counts);
	n = journal_file_sync_times(jf, 0, all);
	assert_int_equal(n, JOURNAL_SYNC_SAMPLES);
	assert_int_equal(journal_file_sync_times(jf, 2, v), JOURNAL_SYNC_SAMPLES);
	assert_memory_equal(v, all, sizeof(all));
	assert_int_equal(journal_file_sync_times(jf, counts.syncs - 2, v), 2);
	assert_int_equal(v[0], all[JOURNAL_SYNC_SAMPLES - 2]);
	assert_int_equal(v[1], all[JOURNAL_SYNC_SAMPLES - 1]);

	/* The percentiles of what was kept, as stats has them. */
	journal_file_stats(jf, &st);
	journal_sync_percentiles(all, n, &counts);
	assert_int_equal(st.sync_p50_ns, counts.sync_p50_ns);
	assert_int_equal(st.sync_p99_ns, counts.sync_p99_ns);
	assert_int_equal(st.sync_max_ns, counts.sync_max_ns);
	assert_true(st.sync_p50_ns <= st.sync_p99_ns);
	journal_file_close(jf);
	got_free(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_records_replay_in_order_across_segments),
		T(test_restart_appends_after_what_was_replayed),
		T(test_big_batches_and_big_records),
		T(test_second_loomd_is_refused),
		T(test_torn_end_is_cut_wherever_the_crash_fell),
		T(test_last_segment_without_header_is_removed),
		T(test_bytes_deep_in_the_preallocated_tail_are_found),
		T(test_space_ahead_of_the_records_is_written),
		T(test_damage_before_the_end_is_refused_with_file_and_offset),
		T(test_repair_keeps_what_precedes_the_damage),
		T(test_missing_segment_is_damage),
		T(test_newer_format_is_refused),
		T(test_snapshot_replaces_the_segments_it_covers),
		T(test_crash_while_writing_a_snapshot_keeps_the_old_state),
		T(test_crash_before_the_replaced_files_are_gone),
		T(test_damaged_snapshot_is_refused),
		T(test_max_bytes_is_full_until_a_snapshot_frees_room),
		T(test_stats_account_for_what_is_on_disk),
		T(test_sync_times_are_the_last_ones_kept),
#undef T
	};
	log_init("test_journal_file", LOG_ERR, LOG_TO_STDERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
