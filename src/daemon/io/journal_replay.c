/*
 * Replay: the snapshot, then the segments after it, each record checked and
 * handed to the caller; what is torn and what is damaged; repair; and, once
 * all is read, the journal made ready to append to.
 *
 * Where a file stops making sense at offset X (a frame cut short, a zero or
 * impossible length, a CRC that does not match, a bad header, a missing
 * segment before it):
 * - only zeros from X on: the end of its records (preallocated space);
 * - in the last segment, with no good record anywhere after X: a torn end,
 *   left by a crash in the middle of a write: cut at X, logged;
 * - anything else is damage: an earlier segment was synced whole before the
 *   next was created, the snapshot before it got its name, and good records
 *   after X were written after the bad one.  Replay stops with the file and
 *   X, unless repair: then X and everything after it go (that file is cut,
 *   the later ones removed), logged with what was lost.
 * A power loss in the middle of writing back the last segment can write its
 * pages out of order and leave a good record after a hole.  That too is
 * refused, and repair drops the records after the hole: unsynced ones, so
 * when every reply waits for its sync nothing acknowledged goes with them.
 */
#include "autoconf.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/journal_file.h"
#include "io/journal_file_private.h"
#include "runtime/crc32c.h"
#include "runtime/log.h"
#include "runtime/util.h"

#define JR_NONE	UINT64_MAX

struct jr_file {
	uint64_t	seq;
	enum jf_kind	kind;
	char		name[JF_NAME_MAX];
	uint64_t	data;	/* where its good records end */
	uint64_t	size;
	bool		gone;	/* removed (a creation cut short, or repair) */
};

struct jr_map {
	int			 fd;
	const unsigned char	*p;
	uint64_t		 size;
	uint64_t		 data_end;	/* past it, only zeros */
};

struct jr {
	struct journal_file		*jf;
	journal_replay_fn		 fn;
	void				*arg;
	struct journal_replay_stats	*stats;
	char				*err;
	size_t				 errlen;
	struct jr_file			*files;	/* the snapshot, the segments after it */
	size_t				 nfiles;
	uint64_t			 expect;	/* the next segment's number */
	bool				 changed;	/* the directory wants an fsync */
	/* Damage, if any: where, why, and what dropping it would lose. */
	size_t				 bad_file;
	uint64_t			 bad_off;
	char				 bad_why[96];
	uint64_t			 lost_records;
	uint64_t			 lost_bytes;
};

/*
 * Where the file's data ends: past it are holes, which read as zeros.  A
 * preallocated segment's unwritten tail is one (ext4, XFS, tmpfs), so the
 * scans for its zeros need not fault in every page of it.  The whole file
 * where the filesystem cannot tell.
 */
static uint64_t
jr_data_end(int fd, uint64_t size)
{
	off_t	data, end = 0;

	for (;;) {
		if ((data = lseek(fd, end, SEEK_DATA)) == -1)
			return errno == ENXIO ? (uint64_t)end : size;
		if ((end = lseek(fd, data, SEEK_HOLE)) == -1 || (uint64_t)end >= size)
			return size;
	}
}

static int
jr_map_open(struct jr *r, const char *name, struct jr_map *m)
{
	struct stat	st;
	void		*p;

	m->p = NULL;
	m->size = m->data_end = 0;
	m->fd = openat(r->jf->dirfd, name, O_RDWR | O_CLOEXEC);
	if (m->fd == -1 || fstat(m->fd, &st) == -1)
		goto fail;
	m->size = (uint64_t)st.st_size;
	m->data_end = jr_data_end(m->fd, m->size);
	if (m->size == 0)
		return 0;
	p = mmap(NULL, m->size, PROT_READ, MAP_SHARED, m->fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	/* Read once from the start, then again where the caller looks: its
	 * pages in at once rather than a fault each. */
#ifdef MADV_POPULATE_READ
	if (m->data_end > 0 && madvise(p, m->data_end, MADV_POPULATE_READ) == -1)
#endif
		madvise(p, m->size, MADV_WILLNEED);
	m->p = p;
	return 0;
fail:
	snprintf(r->err, r->errlen, "%s/%s: %s", r->jf->dir, name,
	    strerror(errno));
	if (m->fd != -1)
		close(m->fd);
	m->fd = -1;
	return -1;
}

static void
jr_map_close(struct jr_map *m)
{
	if (m->p != NULL)
		munmap((void *)(uintptr_t)m->p, m->size);
	if (m->fd != -1)
		close(m->fd);
	m->p = NULL;
	m->fd = -1;
}

/* Read: its records stay where they were handed over, until released. */
static void
jr_map_keep(struct jr *r, struct jr_map *m)
{
	struct journal_file	*jf = r->jf;

	if (m->p != NULL) {
		jf->kept = xreallocarray(jf->kept, jf->nkept + 1,
		    sizeof(*jf->kept));
		jf->kept[jf->nkept].p = (void *)(uintptr_t)m->p;
		jf->kept[jf->nkept++].size = m->size;
		m->p = NULL;
	}
	jr_map_close(m);
}

void
journal_file_replay_release(struct journal_file *jf)
{
	size_t	i;

	for (i = 0; i < jf->nkept; i++)
		munmap(jf->kept[i].p, jf->kept[i].size);
	free(jf->kept);
	jf->kept = NULL;
	jf->nkept = 0;
}

/* Whether a good record starts at off, ending by end: its payload's length
 * in *len, or why not. */
static bool
jr_record_at(const unsigned char *p, uint64_t off, uint64_t end, uint32_t *len,
    const char **why)
{
	uint32_t	l;

	if (end - off < JF_FRAME_SIZE) {
		*why = "a record's frame is cut short";
		return false;
	}
	l = jf_get32(p + off);
	if (l == 0) {
		*why = "a zero length";
		return false;
	}
	if (l > JOURNAL_RECORD_MAX || l > end - off - JF_FRAME_SIZE) {
		*why = "a length past the end";
		return false;
	}
	if (crc32c(crc32c(0, p + off, 4), p + off + JF_FRAME_SIZE, l) !=
	    jf_get32(p + off + 4)) {
		*why = "a CRC mismatch";
		return false;
	}
	*len = l;
	return true;
}

/* Where the bytes from `from` to `end` stop being zeros at their end. */
static uint64_t
jr_nonzero_end(const unsigned char *p, uint64_t from, uint64_t end)
{
	uint64_t	w;

	if (end < from)
		return from;
	while (end > from && (end & 7) != 0 && p[end - 1] == 0)
		end--;
	while (end >= from + 8) {
		memcpy(&w, p + end - 8, 8);
		if (w != 0)
			break;
		end -= 8;
	}
	while (end > from && p[end - 1] == 0)
		end--;
	return end;
}

/* The first good record at or after from (its length field before nz, the
 * end of the non-zero bytes), or JR_NONE. */
static uint64_t
jr_next_record(const struct jr_map *m, uint64_t from, uint64_t nz)
{
	const char	*why;
	uint32_t	 len;
	uint64_t	 o;

	for (o = from; o < nz; o++) {
		if (jr_record_at(m->p, o, m->size, &len, &why))
			return o;
	}
	return JR_NONE;
}

/* Good records from `from` on, skipping what is not: what repair would drop. */
static uint64_t
jr_count_records(const struct jr_map *m, uint64_t from)
{
	uint64_t	nz = jr_nonzero_end(m->p, from, m->data_end), n = 0, o = from;

	while ((o = jr_next_record(m, o, nz)) != JR_NONE) {
		n++;
		o += JF_FRAME_SIZE + jf_get32(m->p + o);
	}
	return n;
}

/* Damage in file i at off: noted, with what dropping it would lose there. */
static int
jr_damage(struct jr *r, size_t i, const struct jr_map *m, uint64_t off,
    const char *why)
{
	r->bad_file = i;
	r->bad_off = off;
	snprintf(r->bad_why, sizeof(r->bad_why), "%s", why);
	r->lost_bytes = (off == 0 ? m->size : jr_nonzero_end(m->p, off, m->data_end) - off);
	r->lost_records = jr_count_records(m, off == 0 ? JF_HEADER_SIZE : off + 1);
	return 1;
}

/* The records of a file from its header to limit, handed on while good. */
static int
jr_records(struct jr *r, struct jr_file *f, const struct jr_map *m,
    uint64_t limit, uint64_t *count, const char **why)
{
	uint64_t	off = JF_HEADER_SIZE;
	uint32_t	len;

	*count = 0;
	*why = "bytes past its end";
	while (off < limit) {
		if (!jr_record_at(m->p, off, limit, &len, why))
			break;
		if (r->fn != NULL &&
		    r->fn(r->arg, m->p + off + JF_FRAME_SIZE, len) != 0) {
			snprintf(r->err, r->errlen, "%s/%s: the record at offset "
			    "%" PRIu64 " was refused", r->jf->dir, f->name, off);
			return -1;
		}
		off += JF_FRAME_SIZE + len;
		(*count)++;
		r->stats->records++;
		r->stats->bytes += JF_FRAME_SIZE + len;
		if (f->kind == JF_SNAPSHOT)
			r->stats->snapshot_records++;
	}
	f->data = off;
	return 0;
}

/* The last segment has no header: a crash cut its creation short, before
 * anything was written in it. */
static int
jr_creation_cut_short(struct jr *r, struct jr_file *f)
{
	log_warnx("journal %s: removing %s, whose creation a crash cut short",
	    r->jf->dir, f->name);
	if (unlinkat(r->jf->dirfd, f->name, 0) == -1) {
		snprintf(r->err, r->errlen, "%s/%s: %s", r->jf->dir, f->name,
		    strerror(errno));
		return -1;
	}
	r->stats->torn++;
	r->stats->torn_bytes += f->size;
	f->gone = true;
	r->changed = true;
	return 0;
}

/* The last segment's torn end, from off to nz, cut. */
static int
jr_cut(struct jr *r, struct jr_file *f, struct jr_map *m, uint64_t off,
    uint64_t nz)
{
	if (ftruncate(m->fd, (off_t)off) == -1 || fdatasync(m->fd) == -1) {
		snprintf(r->err, r->errlen, "%s/%s: cutting a torn end: %s",
		    r->jf->dir, f->name, strerror(errno));
		return -1;
	}
	log_warnx("journal %s/%s: torn end cut at offset %" PRIu64 " (%" PRIu64
	    " bytes)", r->jf->dir, f->name, off, nz - off);
	r->stats->torn++;
	r->stats->torn_bytes += nz - off;
	f->size = off;
	return 0;
}

/* A file's header: 0 good, 1 damage, 2 a creation cut short, -1 error. */
static int
jr_header(struct jr *r, size_t i, struct jr_map *m, struct jf_header *h)
{
	struct jr_file	*f = &r->files[i];
	bool		 last = i == r->nfiles - 1 && f->kind == JF_SEGMENT;

	if (f->kind == JF_SEGMENT && f->seq != r->expect) {
		char	why[64];

		snprintf(why, sizeof(why), "segment %016" PRIu64 " is missing",
		    r->expect);
		return jr_damage(r, i, m, 0, why);
	}
	switch (jf_header_decode(m->p, m->size, h)) {
	case JF_HDR_NEWER:
		snprintf(r->err, r->errlen, "%s/%s: journal format %" PRIu32
		    " is newer than this loomd understands (%d); upgrade loomd",
		    r->jf->dir, f->name, h->version, JOURNAL_FORMAT_VERSION);
		return -1;
	case JF_HDR_EMPTY:
		return last ? 2 : jr_damage(r, i, m, 0, "no header");
	case JF_HDR_BAD:
		return jr_damage(r, i, m, 0, "a bad header");
	case JF_HDR_OK:
		break;
	}
	if (h->kind != f->kind || h->seq != f->seq)
		return jr_damage(r, i, m, 0, "the header of another file");
	return 0;
}

/* Where the snapshot's records stop, and whether that is where it says. */
static int
jr_snapshot_end(struct jr *r, size_t i, struct jr_map *m,
    const struct jf_header *h, uint64_t limit, uint64_t count, const char *why)
{
	struct jr_file	*f = &r->files[i];

	r->stats->snapshot = true;
	r->jf->snap_created_ns = h->created_ns;
	if (f->data < limit)
		return jr_damage(r, i, m, f->data, why);
	if (count != h->records || limit != m->size)
		return jr_damage(r, i, m, f->data, "not the snapshot its header "
		    "describes");
	return 0;
}

/*
 * One file: its header, then its records, handed on while they are good.
 * 0: read to its end (a torn end cut); 1: damage, noted in r; -1: an error.
 */
static int
jr_read_file(struct jr *r, size_t i)
{
	struct jr_file		*f = &r->files[i];
	bool			 last = i == r->nfiles - 1 && f->kind == JF_SEGMENT;
	struct jf_header	 h;
	struct jr_map		 m;
	uint64_t		 limit, count, nz;
	const char		*why;
	int			 rc;

	if (jr_map_open(r, f->name, &m) == -1)
		return -1;
	f->size = m.size;
	if ((rc = jr_header(r, i, &m, &h)) != 0) {
		if (rc == 2)
			rc = jr_creation_cut_short(r, f);
		goto out;
	}
	if (f->kind == JF_SEGMENT) {
		r->expect = f->seq + 1;
		r->stats->segments++;
	}
	limit = m.size;
	if (f->kind == JF_SNAPSHOT && h.length <= m.size - JF_HEADER_SIZE)
		limit = JF_HEADER_SIZE + h.length;
	if ((rc = jr_records(r, f, &m, limit, &count, &why)) != 0)
		goto out;
	if (f->kind == JF_SNAPSHOT) {
		rc = jr_snapshot_end(r, i, &m, &h, limit, count, why);
		goto out;
	}
	nz = jr_nonzero_end(m.p, f->data, m.data_end);
	if (nz == f->data)
		rc = 0;
	else if (last && jr_next_record(&m, f->data + 1, nz) == JR_NONE)
		rc = jr_cut(r, f, &m, f->data, nz);
	else
		rc = jr_damage(r, i, &m, f->data, why);
out:
	jr_map_keep(r, &m);
	return rc;
}

/* The files after the damaged one, which dropping it drops too. */
static int
jr_count_later(struct jr *r)
{
	struct jf_header	h;
	struct jr_map		m;
	size_t			i;

	for (i = r->bad_file + 1; i < r->nfiles; i++) {
		if (jr_map_open(r, r->files[i].name, &m) == -1)
			return -1;
		r->files[i].size = m.size;
		r->lost_bytes += m.size;
		if (jf_header_decode(m.p, m.size, &h) == JF_HDR_OK)
			r->lost_records += jr_count_records(&m, JF_HEADER_SIZE);
		jr_map_close(&m);
	}
	return 0;
}

static void
jr_refuse(struct jr *r)
{
	snprintf(r->err, r->errlen, "%s/%s: bad record at offset %" PRIu64
	    ": %s; repair drops everything from there on (%" PRIu64
	    " records, %" PRIu64 " bytes)", r->jf->dir,
	    r->files[r->bad_file].name, r->bad_off, r->bad_why,
	    r->lost_records, r->lost_bytes);
}

/* A snapshot cut short by repair keeps a header that says what is left. */
static int
jr_cut_snapshot(struct jr *r, int fd, const struct jr_file *f)
{
	struct jf_header	h = {
		.kind = JF_SNAPSHOT, .seq = f->seq,
		.created_ns = r->jf->snap_created_ns,
		.records = r->stats->snapshot_records,
		.length = r->bad_off - JF_HEADER_SIZE,
	};
	unsigned char		hdr[JF_HEADER_SIZE];

	jf_header_encode(&h, hdr);
	return jf_pwrite_all(fd, hdr, sizeof(hdr), 0);
}

/* Drop the damaged file from the bad offset on, and every file after it. */
static int
jr_repair(struct jr *r)
{
	struct jr_file	*f = &r->files[r->bad_file];
	size_t		 i;
	int		 fd;

	if (r->bad_off < JF_HEADER_SIZE) {
		if (unlinkat(r->jf->dirfd, f->name, 0) == -1)
			goto fail;
		f->gone = true;
		r->stats->dropped_files++;
	} else {
		fd = openat(r->jf->dirfd, f->name, O_RDWR | O_CLOEXEC);
		if (fd == -1 || ftruncate(fd, (off_t)r->bad_off) == -1 ||
		    (f->kind == JF_SNAPSHOT && jr_cut_snapshot(r, fd, f) == -1) ||
		    fdatasync(fd) == -1) {
			if (fd != -1)
				close(fd);
			goto fail;
		}
		close(fd);
		f->size = f->data = r->bad_off;
	}
	for (i = r->bad_file + 1; i < r->nfiles; i++) {
		f = &r->files[i];
		if (unlinkat(r->jf->dirfd, f->name, 0) == -1)
			goto fail;
		f->gone = true;
		r->stats->dropped_files++;
	}
	r->changed = true;
	r->stats->dropped_records = r->lost_records;
	r->stats->dropped_bytes = r->lost_bytes;
	log_warnx("journal %s: repair: dropped %s from offset %" PRIu64 " (%s) "
	    "and %zu later files: %" PRIu64 " records, %" PRIu64 " bytes lost",
	    r->jf->dir, r->files[r->bad_file].name, r->bad_off, r->bad_why,
	    r->nfiles - r->bad_file - 1, r->lost_records, r->lost_bytes);
	r->nfiles = r->bad_file + 1;
	return 0;
fail:
	snprintf(r->err, r->errlen, "%s/%s: repair: %s", r->jf->dir, f->name,
	    strerror(errno));
	return -1;
}

/* What open found: the newest snapshot, and the segments after it. */
static void
jr_plan(struct jr *r)
{
	struct journal_file	*jf = r->jf;
	uint64_t		 snap = 0;
	size_t			 i;

	r->files = xcalloc(jf->nfound_segs + 1, sizeof(*r->files));
	if (jf->nfound_snaps > 0) {
		snap = jf->found_snaps[jf->nfound_snaps - 1];
		r->files[0].seq = snap;
		r->files[0].kind = JF_SNAPSHOT;
		jf_name(r->files[0].name, snap, "snap");
		r->nfiles = 1;
	}
	for (i = 0; i < jf->nfound_segs; i++) {
		if (jf->found_segs[i] <= snap)
			continue;
		r->files[r->nfiles].seq = jf->found_segs[i];
		r->files[r->nfiles].kind = JF_SEGMENT;
		jf_name(r->files[r->nfiles].name, jf->found_segs[i], "seg");
		r->nfiles++;
	}
	r->expect = snap + 1;
}

/* Files a newer snapshot replaced (a compaction interrupted before it had
 * removed them all), removed now that it has been read whole. */
static int
jr_remove_replaced(struct jr *r)
{
	struct journal_file	*jf = r->jf;
	uint64_t		 snap = 0;
	char			 name[JF_NAME_MAX];
	size_t			 i;

	if (jf->nfound_snaps > 0)
		snap = jf->found_snaps[jf->nfound_snaps - 1];
	for (i = 0; i + 1 < jf->nfound_snaps; i++) {
		jf_name(name, jf->found_snaps[i], "snap");
		if (unlinkat(jf->dirfd, name, 0) == -1 && errno != ENOENT)
			goto fail;
		r->changed = true;
	}
	for (i = 0; i < jf->nfound_segs && jf->found_segs[i] <= snap; i++) {
		jf_name(name, jf->found_segs[i], "seg");
		if (unlinkat(jf->dirfd, name, 0) == -1 && errno != ENOENT)
			goto fail;
		r->changed = true;
	}
	if (r->changed && fsync(jf->dirfd) == -1) {
		snprintf(r->err, r->errlen, "%s: fsync: %s", jf->dir,
		    strerror(errno));
		return -1;
	}
	return 0;
fail:
	snprintf(r->err, r->errlen, "%s/%s: %s", jf->dir, name, strerror(errno));
	return -1;
}

/* The journal as replay left it, ready to append to its last segment. */
static int
jr_ready(struct jr *r)
{
	struct journal_file	*jf = r->jf;
	struct jr_file		*f;
	char			 name[JF_NAME_MAX];
	size_t			 i;

	jf->next_seq = 1;
	for (i = 0; i < r->nfiles; i++) {
		f = &r->files[i];
		if (f->gone)
			continue;
		jf->next_seq = f->seq + 1;
		if (f->kind == JF_SNAPSHOT) {
			jf->snap_seq = f->seq;
			jf->snap_size = f->size;
			jf->disk_bytes += f->size;
		} else
			jf_segs_push(jf, f->seq, f->data, f->size);
	}
	if (jf->snap_seq == 0)
		jf->snap_created_ns = 0;
	if (jf->nsegs > 0) {
		jf_name(name, jf->segs[jf->nsegs - 1].seq, "seg");
		jf->fd = openat(jf->dirfd, name, O_RDWR | O_CLOEXEC);
		if (jf->fd == -1 || lseek(jf->fd,
		    (off_t)jf->segs[jf->nsegs - 1].data, SEEK_SET) == -1) {
			snprintf(r->err, r->errlen, "%s/%s: %s", jf->dir, name,
			    strerror(errno));
			return -1;
		}
	}
	jf->replayed = true;
	return 0;
}

int
journal_file_replay(struct journal_file *jf, journal_replay_fn fn, void *arg,
    bool repair, struct journal_replay_stats *stats, char *err, size_t errlen)
{
	struct journal_replay_stats	 none;
	struct jr			 r = {
		.jf = jf, .fn = fn, .arg = arg, .stats = stats ? stats : &none,
		.err = err, .errlen = errlen,
	};
	uint64_t			 t0 = now_ns();
	size_t				 i;
	int				 rc = 0;

	memset(r.stats, 0, sizeof(*r.stats));
	if (jf->replayed)
		fatalx("journal %s: replayed twice", jf->dir);
	jr_plan(&r);
	for (i = 0; i < r.nfiles && rc == 0; i++)
		rc = jr_read_file(&r, i);
	if (rc == 1) {
		rc = jr_count_later(&r);
		if (rc == 0 && !repair) {
			jr_refuse(&r);
			rc = -1;
		} else if (rc == 0)
			rc = jr_repair(&r);
	}
	if (rc == 0)
		rc = jr_remove_replaced(&r);
	if (rc == 0)
		rc = jr_ready(&r);
	r.stats->ns = now_ns() - t0;
	free(r.files);
	return rc == 0 ? 0 : -1;
}
