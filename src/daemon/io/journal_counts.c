/*
 * The job counters across restarts (core/counters.h).  Each loop writes, in
 * the batch that has the job records that changed them, a COUNTS record of
 * its own counters that changed, absolute, under its index and the boot.
 *
 * Replay keeps, for the newest boot that has a COUNTS record, each loop's
 * highest value of each counter (a loop's counters only go up, so the
 * highest is the newest, whatever order batches reached the file in) and
 * sums the loops; older boots' records are ignored.  That is sound because
 * the boot's first record is its base: before the loops write anything,
 * loop 0 takes the replayed sums as its own and a record of all of them is
 * written and synced (journal_counts_base).  So the newest boot's loops
 * hold everything counted before it, and a snapshot, which writes every
 * loop's counters as they are, holds everything its segments held.  The
 * number of loops may change from boot to boot: only the newest boot's
 * loops are read.
 */
#include "autoconf.h"

#include <sys/uio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/counters.h"
#include "core/jobrecord.h"
#include "core/loomd.h"
#include "io/journal_file.h"
#include "io/journal_private.h"
#include "runtime/hashmap.h"
#include "runtime/log.h"
#include "runtime/util.h"

#define COUNTS_KEY_SEP	'\x1e'	/* the loop's index, then the pair */

/* A loop's counters of one queue and type pair. */
struct counted {
	struct hashmap_entry	 entry;
	uint64_t		 n[COUNT_N];
	char			 key[];		/* LOOP \x1e QUEUE \x1f TYPE */
};

static const char *
counted_key(const struct hashmap_entry *e)
{
	return hashmap_item(e, struct counted, entry)->key;
}

void
journal_counts_init(struct journal_counts *jc)
{
	memset(jc, 0, sizeof(*jc));
	hashmap_init(&jc->map, counted_key);
}

void
journal_counts_free(struct journal_counts *jc)
{
	struct hashmap_iter	 it;
	struct hashmap_entry	*e;

	for (e = hashmap_first(&jc->map, &it); e != NULL; e = hashmap_next(&it))
		free(hashmap_item(e, struct counted, entry));
	hashmap_free(&jc->map);
}

static void
journal_counts_clear(struct journal_counts *jc)
{
	journal_counts_free(jc);
	hashmap_init(&jc->map, counted_key);
}

static void
journal_counts_entry(struct journal_counts *jc, unsigned int loop,
    const struct counts_entry *ce)
{
	struct hashmap_entry	*e;
	struct counted		*c;
	char			 key[2 * LOOM_NAME_MAX + 16];
	int			 i, len;

	len = snprintf(key, sizeof(key), "%u%c%.*s%c%.*s", loop, COUNTS_KEY_SEP,
	    (int)ce->queue_len, ce->queue, COUNTERS_SEP, (int)ce->type_len,
	    ce->type);
	if ((e = hashmap_find(&jc->map, key)) != NULL)
		c = hashmap_item(e, struct counted, entry);
	else {
		c = xcalloc(1, sizeof(*c) + (size_t)len + 1);
		memcpy(c->key, key, (size_t)len);
		hashmap_add(&jc->map, &c->entry, c->key);
	}
	for (i = 0; i < COUNT_N; i++)
		if (ce->n[i] > c->n[i])
			c->n[i] = ce->n[i];
}

int
journal_counts_record(struct journal_counts *jc, struct job_record *rec)
{
	struct counts_entry	 ce;
	int			 rc;

	if (rec->id < jc->boot)
		return 0;		/* an older boot's: in the base */
	if (rec->id > jc->boot) {
		journal_counts_clear(jc);
		jc->boot = rec->id;
	}
	while ((rc = counts_record_next(rec, &ce)) == 1)
		journal_counts_entry(jc, rec->version, &ce);
	return rc;
}

/* The sums, as loop 0's counters before it counts anything. */
void
journal_counts_restore(struct journal_counts *jc)
{
	struct hashmap_iter	 it;
	struct hashmap_entry	*e;
	struct counted		*c;
	char			*queue, *type;

	for (e = hashmap_first(&jc->map, &it); e != NULL; e = hashmap_next(&it)) {
		c = hashmap_item(e, struct counted, entry);
		queue = strchr(c->key, COUNTS_KEY_SEP) + 1;
		type = strchr(queue, COUNTERS_SEP);
		*type++ = '\0';
		counters_restore(loomd.shards[0]->counters, queue, type, c->n);
		free(c);
	}
	hashmap_free(&jc->map);
}

/*
 * This boot's base, written and synced before any other record of the
 * boot: loop 0's counters, which are the replayed sums.
 */
int
journal_counts_base(char *err, size_t errlen)
{
	struct record_buf	 rb = { 0 };
	struct iovec		 iov;
	enum journal_result	 rc;

	counters_record(loomd.shards[0]->counters, loomd.boot, 0, true, &rb);
	iov.iov_base = rb.tb.p;
	iov.iov_len = rb.tb.len;
	rc = journal_file_append(J.jf, &iov, 1);
	if (rc == JOURNAL_OK)
		rc = journal_file_sync(J.jf);
	record_buf_free(&rb);
	if (rc == JOURNAL_FULL) {
		/* The first snapshot writes it (loop 0's part has it); a
		 * crash before then may lose the counts of earlier boots. */
		log_warnx("journal: %s: the job counters of earlier boots are "
		    "kept by the next snapshot", journal_file_error(J.jf));
		return 0;
	}
	if (rc != JOURNAL_OK) {
		snprintf(err, errlen, "journal: writing the job counters: %s",
		    journal_file_error(J.jf));
		return -1;
	}
	return 0;
}
