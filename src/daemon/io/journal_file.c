/*
 * The journal's files: opening and locking the directory, appending, syncing,
 * rotating, accounting.  Replay is in journal_replay.c, compaction in
 * journal_snapshot.c.
 *
 * The directory holds segments, NNNNNNNNNNNNNNNN.seg (16 digits), numbered
 * from 1 without gaps, and at most one snapshot, N.snap: the state after
 * every segment numbered <= N.  Replay reads the snapshot, then the
 * segments after it.  Besides them there is only "lock" (flock: one loomd
 * per directory) and, after a crash while compacting, N.snap.tmp (removed
 * by open).
 *
 * Every file starts with a 64-byte header, little-endian like the rest:
 *	 0  magic "LOOMJRNL"		 8  format version (1)
 *	12  kind (1 segment, 2 snapshot)	16  N, as in the file's name
 *	24  created (ns since the epoch)
 *	32  records, 40  bytes after the header (a snapshot's; 0 in a segment)
 *	48  zeros			60  CRC-32C of bytes 0 to 59
 * A reader checks the magic, then the version (refusing a newer one: the
 * upgrade path), then the CRC; so a later format keeps bytes 0 to 11 as
 * they are.
 *
 * Records follow, back to back: the payload's length (4 bytes, 1 to
 * JOURNAL_RECORD_MAX), the CRC-32C of those four bytes and the payload (4),
 * the payload.  A zero length is no record, so the zeros of preallocated
 * space read as the end.
 *
 * Writing keeps three rules, on which replay's judgement rests:
 * - a segment is preallocated (posix_fallocate) before records go into it,
 *   so that a full disk shows up before a record is half written (and, for
 *   journal_sync=always, the space just ahead of the records is written
 *   with zeros: jf_zero_ahead);
 * - a segment is finished (trimmed to its records, fdatasynced) before the
 *   next one is created: only the last segment can end torn;
 * - a new file is fsynced, header and all, and then its directory, before
 *   anything depends on it.
 */
#include "autoconf.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/journal_file.h"
#include "io/journal_file_private.h"
#include "runtime/crc32c.h"
#include "runtime/log.h"
#include "runtime/util.h"

#define JF_LOCK_NAME	"lock"
#define JF_ZERO_AHEAD	(1u << 20)	/* zeros written ahead of the records */

/* The format, shared with replay and the snapshot writer. */

void
jf_name(char *buf, uint64_t seq, const char *ext)
{
	snprintf(buf, JF_NAME_MAX, "%016" PRIu64 ".%s", seq, ext);
}

void
jf_header_encode(const struct jf_header *h, unsigned char *p)
{
	memset(p, 0, JF_HEADER_SIZE);
	memcpy(p, JF_MAGIC, 8);
	jf_put32(p + 8, JOURNAL_FORMAT_VERSION);
	jf_put32(p + 12, h->kind);
	jf_put64(p + 16, h->seq);
	jf_put64(p + 24, (uint64_t)h->created_ns);
	jf_put64(p + 32, h->records);
	jf_put64(p + 40, h->length);
	jf_put32(p + 60, crc32c(0, p, 60));
}

enum jf_hdr
jf_header_decode(const unsigned char *p, size_t len, struct jf_header *h)
{
	size_t	i;

	memset(h, 0, sizeof(*h));
	if (len >= 12 && memcmp(p, JF_MAGIC, 8) == 0) {
		h->version = jf_get32(p + 8);
		if (h->version > JOURNAL_FORMAT_VERSION)
			return JF_HDR_NEWER;
	}
	if (len < JF_HEADER_SIZE)
		return JF_HDR_EMPTY;
	for (i = 0; i < JF_HEADER_SIZE && p[i] == 0; i++)
		;
	if (i == JF_HEADER_SIZE)
		return JF_HDR_EMPTY;
	if (memcmp(p, JF_MAGIC, 8) != 0 || h->version == 0 ||
	    crc32c(0, p, 60) != jf_get32(p + 60))
		return JF_HDR_BAD;
	h->kind = jf_get32(p + 12);
	h->seq = jf_get64(p + 16);
	h->created_ns = (int64_t)jf_get64(p + 24);
	h->records = jf_get64(p + 32);
	h->length = jf_get64(p + 40);
	return JF_HDR_OK;
}

void
jf_frame(unsigned char *frame, const void *payload, uint32_t len)
{
	jf_put32(frame, len);
	jf_put32(frame + 4, crc32c(crc32c(0, frame, 4), payload, len));
}

bool
jf_no_space(int errnum)
{
	return errnum == ENOSPC || errnum == EDQUOT;
}

/* Errors. */

enum journal_result
jf_fatal(struct journal_file *jf, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(jf->err, sizeof(jf->err), fmt, ap);
	va_end(ap);
	jf->failed = true;
	return JOURNAL_FATAL;
}

enum journal_result
jf_full(struct journal_file *jf, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(jf->err, sizeof(jf->err), fmt, ap);
	va_end(ap);
	return JOURNAL_FULL;
}

enum journal_result
jf_io_error(struct journal_file *jf, int errnum, const char *name,
    const char *what)
{
	if (jf_no_space(errnum))
		return jf_full(jf, "%s/%s: %s: %s", jf->dir, name, what,
		    strerror(errnum));
	return jf_fatal(jf, "%s/%s: %s: %s", jf->dir, name, what,
	    strerror(errnum));
}

const char *
journal_file_error(const struct journal_file *jf)
{
	return jf->err;
}

/* System calls, whole. */

struct histo	journal_sync_histo;

int
jf_fdatasync(struct journal_file *jf, int fd)
{
	uint64_t	t0 = now_ns();

	if (fdatasync(fd) == -1)
		return -1;
	jf->sync_ns[jf->syncs % JF_SAMPLES] = now_ns() - t0;
	histo_observe(&journal_sync_histo, (int64_t)jf->sync_ns[jf->syncs % JF_SAMPLES]);
	jf->syncs++;
	return 0;
}

/* All of buf, at off, or at the file's position when off is -1. */
static int
jf_write_loop(int fd, const char *p, size_t len, off_t off)
{
	ssize_t	w;

	while (len > 0) {
		w = off == -1 ? write(fd, p, len) : pwrite(fd, p, len, off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
		if (off != -1)
			off += w;
	}
	return 0;
}

int
jf_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	return jf_write_loop(fd, buf, len, (off_t)off);
}

int
jf_write_all(int fd, const void *buf, size_t len)
{
	return jf_write_loop(fd, buf, len, -1);
}

/* All of iov (consumed on the way), with as few writev calls as IOV_MAX allows. */
static int
jf_writev_all(int fd, struct iovec *iov, size_t cnt)
{
	ssize_t	w;
	size_t	done;

	while (cnt > 0) {
		w = writev(fd, iov, cnt < IOV_MAX ? (int)cnt : IOV_MAX);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		done = (size_t)w;
		while (cnt > 0 && done >= iov->iov_len) {
			done -= iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= done;
		}
	}
	return 0;
}

/* Opening. */

static char *
jf_parent(const char *dir)
{
	char	*s = xstrdup(dir), *slash;
	size_t	 n = strlen(s);

	while (n > 1 && s[n - 1] == '/')
		s[--n] = '\0';
	slash = strrchr(s, '/');
	if (slash == NULL) {
		free(s);
		return xstrdup(".");
	}
	if (slash == s)
		slash[1] = '\0';
	else
		*slash = '\0';
	return s;
}

static int
jf_open_dir(struct journal_file *jf, char *err, size_t errlen)
{
	bool	created = mkdir(jf->dir, 0700) == 0;
	int	pfd;

	if (!created && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", jf->dir,
		    strerror(errno));
		return -1;
	}
	jf->dirfd = open(jf->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (jf->dirfd == -1) {
		snprintf(err, errlen, "%s: %s", jf->dir, strerror(errno));
		return -1;
	}
	if (!created)
		return 0;
	/* The new directory's own entry is durable once its parent is synced. */
	pfd = open(jf->owner, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd == -1 || fsync(pfd) == -1) {
		snprintf(err, errlen, "%s: fsync: %s", jf->owner, strerror(errno));
		if (pfd != -1)
			close(pfd);
		return -1;
	}
	close(pfd);
	return 0;
}

static int
jf_lock(struct journal_file *jf, char *err, size_t errlen)
{
	jf->lockfd = openat(jf->dirfd, JF_LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC,
	    0600);
	if (jf->lockfd == -1) {
		snprintf(err, errlen, "%s/%s: %s", jf->dir, JF_LOCK_NAME,
		    strerror(errno));
		return -1;
	}
	if (flock(jf->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "another loomd uses %s", jf->owner);
		else
			snprintf(err, errlen, "%s/%s: flock: %s", jf->dir,
			    JF_LOCK_NAME, strerror(errno));
		return -1;
	}
	return 0;
}

/* Whether name is 16 digits, a dot and ext, and which number. */
static bool
jf_parse_name(const char *name, const char *ext, uint64_t *seq)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 16; i++) {
		if (!isdigit((unsigned char)name[i]))
			return false;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	if (name[16] != '.' || strcmp(name + 17, ext) != 0)
		return false;
	*seq = v;
	return true;
}

static void
jf_found(uint64_t **v, size_t *n, uint64_t seq)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = seq;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The directory's segments and snapshots, for replay; leftovers of a
 * compaction cut short are removed. */
static int
jf_list(struct journal_file *jf, char *err, size_t errlen)
{
	struct dirent	*de;
	DIR		*d;
	uint64_t	 seq;
	int		 fd;

	if ((fd = dup(jf->dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		snprintf(err, errlen, "%s: %s", jf->dir, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (jf_parse_name(de->d_name, "seg", &seq))
			jf_found(&jf->found_segs, &jf->nfound_segs, seq);
		else if (jf_parse_name(de->d_name, "snap", &seq))
			jf_found(&jf->found_snaps, &jf->nfound_snaps, seq);
		else if (jf_parse_name(de->d_name, "snap.tmp", &seq)) {
			log_info("journal %s: removing %s, left by a compaction "
			    "that did not finish", jf->dir, de->d_name);
			if (unlinkat(jf->dirfd, de->d_name, 0) == -1)
				log_warn("journal %s: %s", jf->dir, de->d_name);
		} else if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, JF_LOCK_NAME) != 0)
			log_warnx("journal %s: ignoring %s", jf->dir, de->d_name);
	}
	closedir(d);
	if (jf->nfound_segs > 1)
		qsort(jf->found_segs, jf->nfound_segs, sizeof(uint64_t), cmp_u64);
	if (jf->nfound_snaps > 1)
		qsort(jf->found_snaps, jf->nfound_snaps, sizeof(uint64_t), cmp_u64);
	return 0;
}

struct journal_file *
journal_file_open(const char *dir, const struct journal_file_options *opts,
    char *err, size_t errlen)
{
	struct journal_file	*jf = xcalloc(1, sizeof(*jf));

	jf->dir = xstrdup(dir);
	jf->owner = jf_parent(dir);
	jf->dirfd = jf->lockfd = jf->fd = -1;
	jf->segment_size = JOURNAL_SEGMENT_SIZE;
	if (opts != NULL && opts->segment_size != 0)
		jf->segment_size = opts->segment_size;
	if (opts != NULL) {
		jf->max_bytes = opts->max_bytes;
		jf->zero_ahead = opts->zero_ahead;
	}
	jf->next_seq = 1;
	if (jf_open_dir(jf, err, errlen) == -1 || jf_lock(jf, err, errlen) == -1 ||
	    jf_list(jf, err, errlen) == -1)
		goto fail;
	if (fsync(jf->dirfd) == -1) {
		snprintf(err, errlen, "%s: fsync: %s", jf->dir, strerror(errno));
		goto fail;
	}
	return jf;
fail:
	journal_file_close(jf);
	return NULL;
}

void
journal_file_close(struct journal_file *jf)
{
	if (jf == NULL)
		return;
	if (jf->snapshot != NULL)
		journal_file_snapshot_abort(jf->snapshot);
	journal_file_replay_release(jf);
	if (jf->fd != -1)
		close(jf->fd);
	if (jf->lockfd != -1)
		close(jf->lockfd);
	if (jf->dirfd != -1)
		close(jf->dirfd);
	free(jf->found_segs);
	free(jf->found_snaps);
	free(jf->segs);
	free(jf->frames);
	free(jf->iov);
	free(jf->owner);
	free(jf->dir);
	free(jf);
}

/* Segments. */

void
jf_segs_push(struct journal_file *jf, uint64_t seq, uint64_t data,
    uint64_t size)
{
	if (jf->nsegs == jf->segs_cap) {
		jf->segs_cap = jf->segs_cap ? jf->segs_cap * 2 : 8;
		jf->segs = xreallocarray(jf->segs, jf->segs_cap, sizeof(*jf->segs));
	}
	jf->segs[jf->nsegs++] = (struct jf_seg){ seq, data, size, data };
	jf->disk_bytes += size;
}

/* Segment next_seq, header written and synced, directory synced. */
enum journal_result
jf_segment_create(struct journal_file *jf)
{
	struct jf_header	h = {
		.kind = JF_SEGMENT, .seq = jf->next_seq, .created_ns = now_epoch_ns()
	};
	unsigned char		hdr[JF_HEADER_SIZE];
	char			name[JF_NAME_MAX];
	int			fd, e;

	jf_name(name, h.seq, "seg");
	fd = openat(jf->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1)
		return jf_io_error(jf, errno, name, "create");
	jf_header_encode(&h, hdr);
	if (jf_pwrite_all(fd, hdr, sizeof(hdr), 0) == -1) {
		e = errno;
		close(fd);
		unlinkat(jf->dirfd, name, 0);	/* else replay removes it */
		return jf_io_error(jf, e, name, "write");
	}
	if (jf_fdatasync(jf, fd) == -1 || fsync(jf->dirfd) == -1 ||
	    lseek(fd, JF_HEADER_SIZE, SEEK_SET) == -1) {
		e = errno;
		close(fd);
		return jf_fatal(jf, "%s/%s: sync: %s", jf->dir, name, strerror(e));
	}
	jf->fd = fd;
	jf->next_seq++;
	jf_segs_push(jf, h.seq, JF_HEADER_SIZE, JF_HEADER_SIZE);
	return JOURNAL_OK;
}

/* The current segment's last word: trimmed to its records, synced, closed. */
enum journal_result
jf_segment_finish(struct journal_file *jf)
{
	struct jf_seg	*s = &jf->segs[jf->nsegs - 1];
	char		 name[JF_NAME_MAX];
	int		 e;

	jf_name(name, s->seq, "seg");
	if (s->size > s->data && ftruncate(jf->fd, (off_t)s->data) == -1)
		return jf_fatal(jf, "%s/%s: truncate: %s", jf->dir, name,
		    strerror(errno));
	jf->disk_bytes -= s->size - s->data;
	s->size = s->data;
	if (jf_fdatasync(jf, jf->fd) == -1) {
		e = errno;
		return jf_fatal(jf, "%s/%s: fdatasync: %s", jf->dir, name,
		    strerror(e));
	}
	close(jf->fd);
	jf->fd = -1;
	return JOURNAL_OK;
}

/* The file's size, after an fallocate that may have done part of its work. */
static void
jf_resync_size(struct journal_file *jf, struct jf_seg *s)
{
	struct stat	st;

	if (fstat(jf->fd, &st) == 0 && (uint64_t)st.st_size > s->size) {
		jf->disk_bytes += (uint64_t)st.st_size - s->size;
		s->size = (uint64_t)st.st_size;
	}
}

/*
 * The preallocated space just ahead of the records, written with zeros a
 * piece at a time.  posix_fallocate leaves it unwritten extents, which ext4
 * and XFS turn into written ones at the first fdatasync after records reach
 * them: a metadata commit at every sync, some 40% of its time here.  Zeros
 * written ahead (and synced with the records that follow them) cost that
 * commit once a piece.  Zeros read as the end of the records, so replay
 * reads at most a piece of them past the last one.  A piece that cannot
 * be written (no room to split an extent, say) is left as it was: only the
 * speed depends on it, and the records' own write will tell of the trouble.
 * Only for journal_sync=always: with fewer syncs the zeros would double
 * what is written for little gain.
 */
static void
jf_zero_ahead(struct journal_file *jf, struct jf_seg *s)
{
	static const unsigned char	zeros[64 << 10];
	struct iovec			iov[JF_ZERO_AHEAD / sizeof(zeros)];
	uint64_t			from, len;
	size_t				i, n;
	ssize_t				w;

	from = s->zeroed > s->data ? s->zeroed : s->data;
	if (!jf->zero_ahead || from >= s->size ||
	    from >= s->data + JF_ZERO_AHEAD / 4)
		return;
	len = s->size - from < JF_ZERO_AHEAD ? s->size - from : JF_ZERO_AHEAD;
	n = (size_t)(len + sizeof(zeros) - 1) / sizeof(zeros);
	for (i = 0; i < n; i++) {
		iov[i].iov_base = (void *)(uintptr_t)zeros;
		iov[i].iov_len = sizeof(zeros);
	}
	iov[n - 1].iov_len = (size_t)len - (n - 1) * sizeof(zeros);
	w = pwritev(jf->fd, iov, (int)n, (off_t)from);
	s->zeroed = w > 0 ? from + (uint64_t)w : s->size;
}

/*
 * Room for `need` more bytes in the current segment, preallocated: the whole
 * segment if the budget and the disk allow, else just this much.
 */
static enum journal_result
jf_ensure_room(struct journal_file *jf, uint64_t need)
{
	struct jf_seg	*s = &jf->segs[jf->nsegs - 1];
	uint64_t	 want[2], grow;
	char		 name[JF_NAME_MAX];
	bool		 budget = false;
	int		 i, r;

	want[0] = s->data + need > jf->segment_size ? s->data + need :
	    jf->segment_size;
	want[1] = s->data + need;
	jf_name(name, s->seq, "seg");
	for (i = 0; i < 2; i++) {
		if (s->data + need <= s->size)
			return JOURNAL_OK;
		if (i == 1 && want[1] == want[0])
			break;
		grow = want[i] - s->size;
		if (jf->max_bytes != 0 && jf->disk_bytes + grow > jf->max_bytes) {
			budget = true;
			continue;
		}
		while ((r = posix_fallocate(jf->fd, (off_t)s->size,
		    (off_t)grow)) == EINTR)
			;
		if (r == 0) {
			jf->disk_bytes += grow;
			s->size = want[i];
			return JOURNAL_OK;
		}
		if (!jf_no_space(r))
			return jf_io_error(jf, r, name, "preallocate");
		budget = false;
		jf_resync_size(jf, s);
	}
	if (budget)
		return jf_full(jf, "%s: max_bytes (%" PRIu64 ") reached",
		    jf->dir, jf->max_bytes);
	return jf_io_error(jf, ENOSPC, name, "preallocate");
}

/* A segment with room for `total` bytes: the current one, or the next. */
static enum journal_result
jf_make_room(struct journal_file *jf, uint64_t total)
{
	struct jf_seg		*s;
	enum journal_result	 r;

	if (jf->fd != -1) {
		s = &jf->segs[jf->nsegs - 1];
		if (s->data > JF_HEADER_SIZE && s->data + total > jf->segment_size &&
		    (r = jf_segment_finish(jf)) != JOURNAL_OK)
			return r;
	}
	if (jf->fd == -1 && (r = jf_segment_create(jf)) != JOURNAL_OK)
		return r;
	return jf_ensure_room(jf, total);
}

static enum journal_result
jf_usable(struct journal_file *jf)
{
	if (!jf->replayed)
		fatalx("journal %s: written before it was replayed", jf->dir);
	return jf->failed ? JOURNAL_FATAL : JOURNAL_OK;
}

/* Frames for the payloads, and the iovec that interleaves them. */
static void
jf_frames(struct journal_file *jf, const struct iovec *payloads, size_t n)
{
	size_t	i;

	if (n > jf->scratch_cap) {
		jf->scratch_cap = n;
		jf->frames = xreallocarray(jf->frames, n, JF_FRAME_SIZE);
		jf->iov = xreallocarray(jf->iov, n, 2 * sizeof(*jf->iov));
	}
	for (i = 0; i < n; i++) {
		jf_frame(jf->frames + i * JF_FRAME_SIZE, payloads[i].iov_base,
		    (uint32_t)payloads[i].iov_len);
		jf->iov[2 * i].iov_base = jf->frames + i * JF_FRAME_SIZE;
		jf->iov[2 * i].iov_len = JF_FRAME_SIZE;
		jf->iov[2 * i + 1] = payloads[i];
	}
}

/*
 * A writev that failed for want of space may have put part of the batch in
 * the file: cut it off, durably, so that none of it replays, and so that the
 * next append starts where this one did.
 */
static enum journal_result
jf_write_failed(struct journal_file *jf, int errnum)
{
	struct jf_seg	*s = &jf->segs[jf->nsegs - 1];
	char		 name[JF_NAME_MAX];

	jf_name(name, s->seq, "seg");
	if (!jf_no_space(errnum))
		return jf_io_error(jf, errnum, name, "write");
	if (ftruncate(jf->fd, (off_t)s->data) == -1 ||
	    jf_fdatasync(jf, jf->fd) == -1 ||
	    lseek(jf->fd, (off_t)s->data, SEEK_SET) == -1)
		return jf_fatal(jf, "%s/%s: undoing a short write: %s", jf->dir,
		    name, strerror(errno));
	jf->disk_bytes -= s->size - s->data;
	s->size = s->zeroed = s->data;
	return jf_io_error(jf, errnum, name, "write");
}

enum journal_result
journal_file_append(struct journal_file *jf, const struct iovec *payloads,
    size_t n)
{
	enum journal_result	r;
	uint64_t		total = 0;
	size_t			i;

	if ((r = jf_usable(jf)) != JOURNAL_OK || n == 0)
		return r;
	for (i = 0; i < n; i++) {
		if (payloads[i].iov_len == 0 ||
		    payloads[i].iov_len > JOURNAL_RECORD_MAX)
			fatalx("journal %s: a record of %zu bytes", jf->dir,
			    payloads[i].iov_len);
		total += JF_FRAME_SIZE + payloads[i].iov_len;
	}
	if ((r = jf_make_room(jf, total)) != JOURNAL_OK)
		return r;
	jf_frames(jf, payloads, n);
	if (jf_writev_all(jf->fd, jf->iov, 2 * n) == -1)
		return jf_write_failed(jf, errno);
	jf->segs[jf->nsegs - 1].data += total;
	jf_zero_ahead(jf, &jf->segs[jf->nsegs - 1]);
	jf->records += n;
	jf->appends++;
	return JOURNAL_OK;
}

enum journal_result
journal_file_sync(struct journal_file *jf)
{
	char	name[JF_NAME_MAX];
	int	e;

	if (jf->failed)
		return JOURNAL_FATAL;
	/* No segment open: the last one was synced when it was finished. */
	if (jf->fd == -1)
		return JOURNAL_OK;
	/* Any failure is fatal, ENOSPC too: never retried (fsyncgate). */
	if (jf_fdatasync(jf, jf->fd) == -1) {
		e = errno;
		jf_name(name, jf->segs[jf->nsegs - 1].seq, "seg");
		return jf_fatal(jf, "%s/%s: fdatasync: %s", jf->dir, name,
		    strerror(e));
	}
	return JOURNAL_OK;
}

/* Accounting. */

uint64_t
journal_file_bytes_since_snapshot(const struct journal_file *jf)
{
	uint64_t	sum = 0;
	size_t		i;

	for (i = 0; i < jf->nsegs; i++)
		sum += jf->segs[i].data;
	return sum;
}

void
journal_file_counts(const struct journal_file *jf, struct journal_file_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->bytes = jf->disk_bytes;
	st->segments = jf->nsegs;
	st->snapshot_bytes = jf->snap_size;
	st->since_snapshot = journal_file_bytes_since_snapshot(jf);
	st->records = jf->records;
	st->appends = jf->appends;
	st->syncs = jf->syncs;
	st->last_compaction_ns = jf->snap_created_ns;
}

size_t
journal_file_sync_times(const struct journal_file *jf, uint64_t from,
    uint64_t *v)
{
	size_t	n = 0;

	if (jf->syncs - from > JF_SAMPLES || from > jf->syncs)
		from = jf->syncs > JF_SAMPLES ? jf->syncs - JF_SAMPLES : 0;
	for (; from < jf->syncs; from++)
		v[n++] = jf->sync_ns[from % JF_SAMPLES];
	return n;
}

void
journal_sync_percentiles(uint64_t *v, size_t n, struct journal_file_stats *st)
{
	st->sync_p50_ns = st->sync_p99_ns = st->sync_max_ns = 0;
	if (n == 0)
		return;
	qsort(v, n, sizeof(v[0]), cmp_u64);
	st->sync_p50_ns = v[(n - 1) / 2];
	st->sync_p99_ns = v[(size_t)((double)(n - 1) * 0.99)];
	st->sync_max_ns = v[n - 1];
}

void
journal_file_stats(const struct journal_file *jf, struct journal_file_stats *st)
{
	uint64_t	v[JF_SAMPLES];

	journal_file_counts(jf, st);
	journal_sync_percentiles(v, journal_file_sync_times(jf, 0, v), st);
}
