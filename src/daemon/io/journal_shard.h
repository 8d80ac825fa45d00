/* Inside the journal: a loop's part, and the batches that travel. */
#ifndef LOOM_JOURNAL_SHARD_H
#define LOOM_JOURNAL_SHARD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/jobrecord.h"
#include "runtime/loop.h"

struct shard;

struct journal_shard {
	struct shard		*sh;
	struct record_buf	 rb;		/* the open batch */
	uint64_t		 batch;		/* the last one opened */
	bool			 open;
	bool			 counted_out;	/* quiet: no more counters */
	struct loop_event	 flush;
	_Atomic uint64_t	 reached;	/* the thread: gone this far */
	atomic_bool		 posted;	/* a journal_reached is on its way */
	uint64_t		 dump_gen;	/* the snapshot its part is for */
	unsigned int		 slices;	/* of that part, so far */
	/* Batches written, back from the thread with their buffers for the
	 * next ones (J.lock). */
	struct journal_batch	*spare;
	unsigned int		 nspare;
};

/* A batch on its way to the thread, or a loop's part of a snapshot. */
struct journal_batch {
	struct journal_batch	*next;
	struct journal_shard	*js;
	uint64_t		 n;		/* 0: a snapshot part */
	uint64_t		 gen;		/* a part: of which snapshot */
	bool			 ready;		/* a part: only the first round's */
	bool			 last;		/* a part: its loop's last slice */
	struct record_buf	 rb;
};

#endif
