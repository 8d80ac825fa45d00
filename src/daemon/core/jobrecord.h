/*
 * Jobs as records, for a store (the journal): what a transition writes, and
 * what replay reads back.  A record is a byte string the store frames and
 * checksums; every record of a job carries its id and a version its owner
 * counts up, so that a replay keeps the newest whatever order the loops'
 * records reached storage in.
 *
 *   SUBMIT  on the submitting loop, before the job is handed over: the spec
 *           as JSON text, its parent and index, when it was made, and who
 *           submitted it (added after the spec: older records end there)
 *   STATE   pending (a retry, with its due time), queued, running (attempt)
 *   FINISH  the terminal view (result and error in it), when it expires
 *   COUNTS  a loop's cumulative job counters (core/counters.h) in this boot,
 *           absolute, per queue and type pair: its id is the boot, its
 *           version the loop's index
 *
 * Little-endian integers; the layout is versioned by the journal's format.
 */
#ifndef LOOM_JOBRECORD_H
#define LOOM_JOBRECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/job.h"

#include "runtime/textbuf.h"

/* Records one after another, and where each ends. */
struct record_buf {
	struct textbuf	 tb;
	uint32_t	*ends;
	size_t		 n;
	size_t		 cap;
};
void		 record_buf_end(struct record_buf *);	/* one more ends here */
void		 record_buf_free(struct record_buf *);

enum job_record_kind {
	JOB_RECORD_SUBMIT = 1,
	JOB_RECORD_STATE = 2,
	JOB_RECORD_FINISH = 3,
	JOB_RECORD_EVENT = 4,		/* a named event set or cleared */
	JOB_RECORD_QUEUE = 5,		/* a queue paused or resumed */
	JOB_RECORD_TYPE = 6,		/* a type run by workers became known */
	JOB_RECORD_COUNTS = 7,		/* a loop's job counters */
};

struct job_record {
	enum job_record_kind	 kind;
	uint64_t		 id;
	uint32_t		 version;
	/* SUBMIT */
	uint64_t		 parent;
	uint32_t		 index;		/* among the parent's children */
	int64_t			 created_ns;
	const char		*spec;		/* JSON text, not NUL-ended */
	size_t			 spec_len;
	const char		*owner;		/* not NUL-ended; NULL: not recorded */
	size_t			 owner_len;
	/* STATE and FINISH */
	enum job_state		 state;
	uint32_t		 attempt;
	int64_t			 started_ns;
	int64_t			 due_ns;	/* STATE pending: when it goes on */
	/* FINISH */
	int64_t			 finished_ns;
	int64_t			 expires_ns;	/* finished + ttl */
	const char		*view;		/* JSON text, not NUL-ended */
	size_t			 view_len;
	/* EVENT, QUEUE and TYPE: id is the note's number */
	const char		*name;		/* not NUL-ended */
	size_t			 name_len;
	bool			 on;		/* set; paused */
	/* COUNTS: id is the boot, version the loop; name and name_len hold
	 * the entries, read with counts_record_next() */
};

/*
 * The record of this event of this job appended; false if the event writes
 * none.  On the loop that publishes it.
 */
bool		 job_record_write(enum job_event, const struct job *,
		     const struct job_outcome *, struct record_buf *);
/*
 * The last record of rb goes if it is job id's STATE: its FINISH, about to
 * follow it in the same batch (one write), makes it of no use to replay,
 * which keeps a job's newest record.  True if it went.
 */
bool		 job_record_drop_state(struct record_buf *, uint64_t id);
/*
 * For a snapshot, on a loop: each job it owns as its SUBMIT and its state
 * now (a finished one's FINISH once its outcome is made), at the versions
 * they have; in slices, each ending once rb holds max bytes or more.  The
 * first slice starts at the loop's first job, the others go on where the
 * last ended, whatever changed in between.  True once the last job is in.
 */
bool		 job_record_dump(struct record_buf *, bool first, size_t max);
/* A note (core/notes.h) as a record: its kind, number, name and flag. */
void		 note_record_write(int kind, const char *name, bool on, uint64_t seq,
		     struct record_buf *);
/*
 * A COUNTS record: begun, one entry per queue and type pair (its counters
 * in enum counter's order: a reader takes those it knows), ended.
 */
void		 counts_record_begin(uint64_t boot, unsigned int loop,
		     struct record_buf *);
void		 counts_record_add(const char *queue, size_t queue_len,
		     const char *type, size_t type_len, const uint64_t *n, size_t nn,
		     struct record_buf *);
void		 counts_record_end(struct record_buf *);

#define COUNTS_RECORD_MAX	16	/* counters an entry may carry */
struct counts_entry {
	const char	*queue;		/* not NUL-ended */
	size_t		 queue_len;
	const char	*type;		/* not NUL-ended */
	size_t		 type_len;
	uint64_t	 n[COUNTS_RECORD_MAX];	/* those not in the record: 0 */
};
/* The next entry of a COUNTS record read back: 1, 0 at its end, -1 if
 * it is malformed. */
int		 counts_record_next(struct job_record *, struct counts_entry *);

/* Read one back: its fields point into payload.  -1 if it is malformed. */
int		 job_record_read(const void *payload, size_t len, struct job_record *);

/* The spec's JSON text is kept only for a store (set before the loops run). */
void		 job_record_specs(bool keep);
bool		 job_record_keeps_specs(void);

#endif
