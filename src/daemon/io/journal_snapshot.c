/*
 * Compaction: a snapshot N.snap takes the place of the old snapshot and of
 * every segment numbered <= N.
 *
 *   begin   segment N (the current one) is finished: trimmed, fdatasynced,
 *           closed; appends go on in N + 1, created when the next one comes.
 *           With nothing appended since the last snapshot, an empty N is
 *           made first, so that segment numbers stay without gaps.
 *   add     records go to N.snap.tmp (buffered), after a blank header.
 *   commit  the header (records, length), fdatasync, rename to N.snap,
 *           fsync the directory; then unlink the old snapshot and segments
 *           <= N, and fsync the directory again.
 *   abort   unlink N.snap.tmp.
 *
 * A crash at any point, and what the next replay reads (old: the old
 * snapshot and segments up to N and after; new: N.snap and segments > N):
 *   during begin, before N is synced     old; N may end torn, but it is
 *                                        still the last segment, so it is cut
 *   after begin, N + 1 being created     old; an N + 1 without its header is
 *                                        the last segment and is removed
 *   while N.snap.tmp is written          old; open removes the .tmp
 *   after its fdatasync, before rename   old, the same
 *   rename done, directory not synced    old (the name may not have reached
 *                                        the disk: the .tmp is removed) or
 *                                        new, as in the next line
 *   N.snap durable, old files still      new: replay takes the newest
 *   there (or some of them, during the   snapshot and skips whatever it
 *   removals or before their fsync)      replaced, and removes it once read
 * Either way the state is whole: a snapshot under its final name is always
 * complete (synced before renamed), and a segment goes only once a durable
 * snapshot covers it.
 */
#include "autoconf.h"

#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/journal_file.h"
#include "io/journal_file_private.h"
#include "runtime/log.h"
#include "runtime/util.h"

#define JS_BUFFER	(1u << 20)

struct journal_snapshot {
	struct journal_file	*jf;
	uint64_t		 seq;
	int			 fd;
	char			 tmp[JF_NAME_MAX];
	unsigned char		*buf;
	size_t			 len;
	uint64_t		 length;	/* bytes of records */
	uint64_t		 records;
	enum journal_result	 failed;	/* an add failed: commit cannot */
};

enum journal_result
journal_file_snapshot_begin(struct journal_file *jf,
    struct journal_snapshot **out)
{
	struct journal_snapshot	*s;
	enum journal_result	 r;

	*out = NULL;
	if (!jf->replayed || jf->snapshot != NULL)
		fatalx("journal %s: a snapshot begun out of turn", jf->dir);
	if (jf->failed)
		return JOURNAL_FATAL;
	if (jf->nsegs == 0 && (r = jf_segment_create(jf)) != JOURNAL_OK)
		return r;
	if (jf->fd != -1 && (r = jf_segment_finish(jf)) != JOURNAL_OK)
		return r;
	s = xcalloc(1, sizeof(*s));
	s->jf = jf;
	s->seq = jf->segs[jf->nsegs - 1].seq;
	jf_name(s->tmp, s->seq, "snap.tmp");
	s->fd = openat(jf->dirfd, s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
	if (s->fd == -1) {
		r = jf_io_error(jf, errno, s->tmp, "create");
		free(s);
		return r;
	}
	/* The header is written last, when it can say what follows. */
	s->buf = xcalloc(1, JS_BUFFER);
	s->len = JF_HEADER_SIZE;
	jf->snapshot = s;
	*out = s;
	return JOURNAL_OK;
}

static enum journal_result
js_flush(struct journal_snapshot *s)
{
	if (s->len > 0 && jf_write_all(s->fd, s->buf, s->len) == -1)
		return s->failed = jf_io_error(s->jf, errno, s->tmp, "write");
	s->len = 0;
	return JOURNAL_OK;
}

enum journal_result
journal_file_snapshot_add(struct journal_snapshot *s,
    const struct iovec *payloads, size_t n)
{
	unsigned char		frame[JF_FRAME_SIZE];
	enum journal_result	r;
	size_t			i, len;

	if (s->failed != JOURNAL_OK)
		return s->failed;
	for (i = 0; i < n; i++) {
		len = payloads[i].iov_len;
		if (len == 0 || len > JOURNAL_RECORD_MAX)
			fatalx("journal %s: a record of %zu bytes", s->jf->dir, len);
		jf_frame(frame, payloads[i].iov_base, (uint32_t)len);
		if (s->len + JF_FRAME_SIZE + len > JS_BUFFER &&
		    (r = js_flush(s)) != JOURNAL_OK)
			return r;
		if (JF_FRAME_SIZE + len > JS_BUFFER) {
			/* Too big to buffer: straight to the file. */
			if (jf_write_all(s->fd, frame, sizeof(frame)) == -1 ||
			    jf_write_all(s->fd, payloads[i].iov_base, len) == -1)
				return s->failed = jf_io_error(s->jf, errno,
				    s->tmp, "write");
		} else {
			memcpy(s->buf + s->len, frame, JF_FRAME_SIZE);
			memcpy(s->buf + s->len + JF_FRAME_SIZE,
			    payloads[i].iov_base, len);
			s->len += JF_FRAME_SIZE + len;
		}
		s->length += JF_FRAME_SIZE + len;
		s->records++;
	}
	return JOURNAL_OK;
}

static void
js_free(struct journal_snapshot *s)
{
	if (s->fd != -1)
		close(s->fd);
	s->jf->snapshot = NULL;
	free(s->buf);
	free(s);
}

void
journal_file_snapshot_abort(struct journal_snapshot *s)
{
	if (s == NULL)
		return;
	/* Left behind, it would be removed by the next open. */
	unlinkat(s->jf->dirfd, s->tmp, 0);
	js_free(s);
}

/* N.snap is durable: the files it replaces go. */
static enum journal_result
js_installed(struct journal_file *jf, struct journal_snapshot *s,
    int64_t created_ns)
{
	char	name[JF_NAME_MAX];
	size_t	i, n;

	if (jf->snap_seq != 0) {
		jf_name(name, jf->snap_seq, "snap");
		if (unlinkat(jf->dirfd, name, 0) == -1)
			log_warn("journal %s: %s", jf->dir, name);
		jf->disk_bytes -= jf->snap_size;
	}
	for (n = 0; n < jf->nsegs && jf->segs[n].seq <= s->seq; n++) {
		jf_name(name, jf->segs[n].seq, "seg");
		if (unlinkat(jf->dirfd, name, 0) == -1)
			log_warn("journal %s: %s", jf->dir, name);
		jf->disk_bytes -= jf->segs[n].size;
	}
	jf->nsegs -= n;
	for (i = 0; i < jf->nsegs; i++)
		jf->segs[i] = jf->segs[i + n];
	jf->snap_seq = s->seq;
	jf->snap_size = JF_HEADER_SIZE + s->length;
	jf->snap_created_ns = created_ns;
	jf->disk_bytes += jf->snap_size;
	if (fsync(jf->dirfd) == -1)
		return jf_fatal(jf, "%s: fsync: %s", jf->dir, strerror(errno));
	return JOURNAL_OK;
}

enum journal_result
journal_file_snapshot_commit(struct journal_snapshot *s)
{
	struct journal_file	*jf = s->jf;
	struct jf_header	 h = {
		.kind = JF_SNAPSHOT, .seq = s->seq, .created_ns = now_epoch_ns(),
		.records = s->records, .length = s->length,
	};
	unsigned char		 hdr[JF_HEADER_SIZE];
	char			 name[JF_NAME_MAX];
	enum journal_result	 r;

	if ((r = s->failed) != JOURNAL_OK || (r = js_flush(s)) != JOURNAL_OK)
		goto fail;
	jf_header_encode(&h, hdr);
	if (jf_pwrite_all(s->fd, hdr, sizeof(hdr), 0) == -1) {
		r = jf_io_error(jf, errno, s->tmp, "write");
		goto fail;
	}
	if (jf_fdatasync(jf, s->fd) == -1) {
		r = jf_fatal(jf, "%s/%s: fdatasync: %s", jf->dir, s->tmp,
		    strerror(errno));
		goto fail;
	}
	jf_name(name, s->seq, "snap");
	if (renameat(jf->dirfd, s->tmp, jf->dirfd, name) == -1) {
		r = jf_io_error(jf, errno, name, "rename");
		goto fail;
	}
	if (fsync(jf->dirfd) == -1) {
		r = jf_fatal(jf, "%s: fsync: %s", jf->dir, strerror(errno));
		js_free(s);
		return r;
	}
	r = js_installed(jf, s, h.created_ns);
	js_free(s);
	return r;
fail:
	journal_file_snapshot_abort(s);
	return r;
}
