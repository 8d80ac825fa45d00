/*
 * Inside the journal's file layer: what the writer (journal_file.c), the
 * reader (journal_replay.c) and the snapshot writer (journal_snapshot.c)
 * share.  Other modules use io/journal_file.h.  The format is described in
 * journal_file.c.  Include it after io/journal_file.h (it does not include
 * that itself, which would make the two one include cycle).
 */
#ifndef LOOM_JOURNAL_FILE_PRIVATE_H
#define LOOM_JOURNAL_FILE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct iovec;
struct journal_snapshot;

#define JF_MAGIC	"LOOMJRNL"
#define JF_HEADER_SIZE	64
#define JF_FRAME_SIZE	8	/* length, CRC */
#define JF_NAME_MAX	32	/* "0000000000000001.snap.tmp" */
#define JF_SAMPLES	1024	/* = JOURNAL_SYNC_SAMPLES */

enum jf_kind {
	JF_SEGMENT = 1,
	JF_SNAPSHOT = 2,
};

struct jf_header {
	uint32_t	version;
	uint32_t	kind;		/* enum jf_kind */
	uint64_t	seq;		/* the number in the file's name */
	int64_t		created_ns;
	uint64_t	records;	/* a snapshot's; 0 in a segment */
	uint64_t	length;		/* a snapshot's bytes after the header */
};

/* What a file's first bytes say. */
enum jf_hdr {
	JF_HDR_OK,
	JF_HDR_EMPTY,	/* shorter than a header, or zeros: a creation cut short */
	JF_HDR_BAD,
	JF_HDR_NEWER,	/* a format this loomd does not know; version set */
};

/* A segment on disk after the snapshot. */
struct jf_seg {
	uint64_t	seq;
	uint64_t	data;	/* header and records: where the next record goes */
	uint64_t	size;	/* the file's size, preallocation included */
	uint64_t	zeroed;	/* written up to here: records, then zeros */
};

struct journal_file {
	char		*dir;
	char		*owner;		/* the state directory, for messages */
	int		 dirfd;
	int		 lockfd;
	uint64_t	 segment_size;
	uint64_t	 max_bytes;
	bool		 zero_ahead;	/* jf_zero_ahead() */
	bool		 replayed;
	bool		 failed;	/* FATAL once, FATAL ever after */

	/* What open found, for replay; sorted. */
	uint64_t	*found_segs;
	size_t		 nfound_segs;
	uint64_t	*found_snaps;
	size_t		 nfound_snaps;

	/* Segments after the snapshot, oldest first; appends go to the last
	 * one while fd is open, and to a new one (next_seq) when fd is -1. */
	struct jf_seg	*segs;
	size_t		 nsegs;
	size_t		 segs_cap;
	int		 fd;
	uint64_t	 next_seq;
	uint64_t	 snap_seq;	/* 0: no snapshot */
	uint64_t	 snap_size;
	int64_t		 snap_created_ns;
	uint64_t	 disk_bytes;	/* every file's size */
	struct journal_snapshot *snapshot;	/* being written */

	/* The files replay read, mapped until journal_file_replay_release(). */
	struct jf_kept {
		void	*p;
		size_t	 size;
	}		*kept;
	size_t		 nkept;

	uint64_t	 records;
	uint64_t	 appends;
	uint64_t	 syncs;
	uint64_t	 sync_ns[JF_SAMPLES];	/* a ring, syncs % JF_SAMPLES */

	/* Scratch for append: frames and the iovec around the payloads. */
	unsigned char	*frames;
	struct iovec	*iov;
	size_t		 scratch_cap;	/* records */

	char		 err[512];
};

static inline void
jf_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t
jf_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static inline void
jf_put64(unsigned char *p, uint64_t v)
{
	jf_put32(p, (uint32_t)v);
	jf_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t
jf_get64(const unsigned char *p)
{
	return (uint64_t)jf_get32(p) | (uint64_t)jf_get32(p + 4) << 32;
}

void	jf_name(char *buf, uint64_t seq, const char *ext);
void	jf_header_encode(const struct jf_header *, unsigned char *);
enum jf_hdr jf_header_decode(const unsigned char *, size_t, struct jf_header *);
/* A record's frame: its length and the CRC-32C of length and payload. */
void	jf_frame(unsigned char *frame, const void *payload, uint32_t len);
/* Whether errno means no space: recoverable. */
bool	jf_no_space(int);

enum journal_result jf_fatal(struct journal_file *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
enum journal_result jf_full(struct journal_file *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* FULL for no space, else FATAL: "DIR/NAME: WHAT: strerror". */
enum journal_result jf_io_error(struct journal_file *, int errnum,
	    const char *name, const char *what);
int	jf_fdatasync(struct journal_file *, int fd);	/* timed */
int	jf_pwrite_all(int fd, const void *, size_t, uint64_t off);
int	jf_write_all(int fd, const void *, size_t);

void	jf_segs_push(struct journal_file *, uint64_t seq, uint64_t data, uint64_t size);
enum journal_result jf_segment_create(struct journal_file *);
enum journal_result jf_segment_finish(struct journal_file *);

#endif
