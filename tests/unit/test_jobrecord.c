/*
 * Job records as the journal keeps them: a SUBMIT record carries its
 * owner after the spec, and one written before owners were recorded (it
 * ends with the spec) still reads; the job counters' COUNTS record.
 */
#include "autoconf.h"

#include <string.h>

#include "testutil.h"
#include "core/job.h"
#include "core/job_private.h"
#include "core/jobrecord.h"
#include "core/loomd.h"
#include "core/principal.h"
#include "runtime/textbuf.h"

struct loomd	loomd;		/* main.c's, which this test does not link */

static void
put32(struct textbuf *tb, uint32_t v)
{
	unsigned char	b[4] = { v, v >> 8, v >> 16, v >> 24 };

	textbuf_add(tb, (const char *)b, 4);
}

static void
put64(struct textbuf *tb, uint64_t v)
{
	put32(tb, (uint32_t)v);
	put32(tb, (uint32_t)(v >> 32));
}

/* Every record's head: its kind, the job's id and version. */
static void
put_head(struct textbuf *tb, unsigned char kind, uint64_t id,
    uint32_t version)
{
	textbuf_add(tb, (const char *)&kind, 1);
	put64(tb, id);
	put32(tb, version);
}

/* SUBMIT of job 7, version 1, child 2 of job 5; owner NULL: the old form. */
static void
submit_record(struct textbuf *tb, const char *spec, const char *owner,
    size_t owner_len)
{
	tb->len = 0;
	put_head(tb, JOB_RECORD_SUBMIT, 7, 1);
	put64(tb, 5);
	put32(tb, 2);
	put64(tb, 1763700000000000000ULL);
	put32(tb, (uint32_t)strlen(spec));
	textbuf_add(tb, spec, strlen(spec));
	if (owner != NULL) {
		put32(tb, (uint32_t)owner_len);
		textbuf_add(tb, owner, owner_len);
	}
}

static void
test_a_submit_record_carries_its_owner(void **state)
{
	static const char	 spec[] = "{\"type\":\"echo\"}";
	struct textbuf		 tb = { 0 };
	struct job_record	 rec;

	submit_record(&tb, spec, "ci", 2);
	assert_int_equal(job_record_read(tb.p, tb.len, &rec), 0);
	assert_int_equal(rec.kind, JOB_RECORD_SUBMIT);
	assert_int_equal(rec.id, 7);
	assert_int_equal(rec.parent, 5);
	assert_int_equal(rec.index, 2);
	assert_int_equal(rec.spec_len, strlen(spec));
	assert_memory_equal(rec.spec, spec, rec.spec_len);
	assert_int_equal(rec.owner_len, 2);
	assert_memory_equal(rec.owner, "ci", 2);
	textbuf_free(&tb);
}

static void
test_an_older_submit_record_has_no_owner(void **state)
{
	struct textbuf		tb = { 0 };
	struct job_record	rec;

	submit_record(&tb, "{\"type\":\"echo\"}", NULL, 0);
	assert_int_equal(job_record_read(tb.p, tb.len, &rec), 0);
	assert_int_equal(rec.id, 7);
	assert_null(rec.owner);
	textbuf_free(&tb);
}

static void
test_a_bad_owner_is_a_bad_record(void **state)
{
	struct textbuf		tb = { 0 };
	struct job_record	rec;

	submit_record(&tb, "{}", "", 0);
	assert_int_equal(job_record_read(tb.p, tb.len, &rec), -1);
	submit_record(&tb, "{}", "ci", 2);
	/* Cut inside the owner: torn. */
	assert_int_equal(job_record_read(tb.p, tb.len - 1, &rec), -1);
	textbuf_free(&tb);
}

/* A COUNTS record reads back entry by entry; counters past those a
 * reader knows are skipped, a torn entry is a bad record. */
static void
test_a_counts_record_reads_back(void **state)
{
	const uint64_t		 a[3] = { 5, 4, 1 };
	const uint64_t		 b[COUNTS_RECORD_MAX + 2] = { 9, [1] = 8,
				    [COUNTS_RECORD_MAX - 1] = 7,
				    [COUNTS_RECORD_MAX] = 6 };
	struct record_buf	 rb = { 0 };
	struct job_record	 rec;
	struct counts_entry	 ce;

	counts_record_begin(3, 2, &rb);
	counts_record_add("q", 1, "echo", 4, a, 3, &rb);
	counts_record_add("bulk", 4, "sleep", 5, b, COUNTS_RECORD_MAX + 2, &rb);
	counts_record_end(&rb);
	assert_int_equal(rb.n, 1);
	assert_int_equal(job_record_read(rb.tb.p, rb.tb.len, &rec), 0);
	assert_int_equal(rec.kind, JOB_RECORD_COUNTS);
	assert_int_equal(rec.id, 3);		/* the boot */
	assert_int_equal(rec.version, 2);	/* the loop */
	assert_int_equal(counts_record_next(&rec, &ce), 1);
	assert_int_equal(ce.queue_len, 1);
	assert_memory_equal(ce.queue, "q", 1);
	assert_memory_equal(ce.type, "echo", 4);
	assert_int_equal(ce.n[0], 5);
	assert_int_equal(ce.n[2], 1);
	assert_int_equal(ce.n[3], 0);
	assert_int_equal(counts_record_next(&rec, &ce), 1);
	assert_memory_equal(ce.queue, "bulk", 4);
	assert_int_equal(ce.n[1], 8);
	assert_int_equal(ce.n[COUNTS_RECORD_MAX - 1], 7);
	assert_int_equal(counts_record_next(&rec, &ce), 0);

	assert_int_equal(job_record_read(rb.tb.p, rb.tb.len - 1, &rec), 0);
	assert_int_equal(counts_record_next(&rec, &ce), 1);
	assert_int_equal(counts_record_next(&rec, &ce), -1);
	record_buf_free(&rb);
}

/* A boot's base may have no entry: it still reads. */
static void
test_an_empty_counts_record_reads(void **state)
{
	struct record_buf	 rb = { 0 };
	struct job_record	 rec;
	struct counts_entry	 ce;

	counts_record_begin(1, 0, &rb);
	counts_record_end(&rb);
	assert_int_equal(job_record_read(rb.tb.p, rb.tb.len, &rec), 0);
	assert_int_equal(rec.kind, JOB_RECORD_COUNTS);
	assert_int_equal(counts_record_next(&rec, &ce), 0);
	record_buf_free(&rb);
}

/*
 * The records a job's events make, byte for byte in the format replay reads
 * (little-endian fields, strings after their length), and read back.
 */
static void
test_job_records_are_written_as_replay_reads_them(void **state)
{
	static const char	 spec_text[] = "{\"type\":\"echo\"}";
	static const char	 view[] = "{\"id\":7,\"state\":\"done\"}";
	struct job_spec		 spec = { .ttl = 2.5, .text = (char *)spec_text,
				    .text_len = sizeof(spec_text) - 1 };
	struct principal	 owner = { .name = "ci" };
	struct job		 job = { .spec = &spec, .parent = 5, .index = 2,
				    .version = 3, .attempt = 4,
				    .created_ns = 1763700000000000000LL,
				    .started_ns = 1763700000100000000LL,
				    .finished_ns = 1763700000200000000LL,
				    .due_ns = 1763700009000000000LL };
	struct job_outcome	 outcome = { .id = 7, .state = JOB_DONE,
				    .view = (char *)view, .view_len = sizeof(view) - 1 };
	struct record_buf	 rb = { 0 };
	struct textbuf		 want = { 0 };
	struct job_record	 rec;
	unsigned char		 b;
	size_t			 start;

	job.reg.id = 7;
	job.reg.principal = &owner;
	job.state = JOB_PENDING;
	assert_true(job_record_write(JOB_EVENT_SUBMIT, &job, NULL, &rb));
	assert_true(job_record_write(JOB_EVENT_STATE, &job, NULL, &rb));
	assert_true(job_record_write(JOB_EVENT_FINISH, &job, &outcome, &rb));
	assert_false(job_record_write(JOB_EVENT_BEGIN, &job, NULL, &rb));
	assert_int_equal(rb.n, 3);

	/* SUBMIT: the record above, at the job's version. */
	put_head(&want, JOB_RECORD_SUBMIT, 7, 3);
	put64(&want, 5);
	put32(&want, 2);
	put64(&want, 1763700000000000000ULL);
	put32(&want, sizeof(spec_text) - 1);
	textbuf_add(&want, spec_text, sizeof(spec_text) - 1);
	put32(&want, 2);
	textbuf_add(&want, "ci", 2);
	start = want.len;
	assert_int_equal(rb.ends[0], start);
	/* STATE, pending: its due time. */
	put_head(&want, JOB_RECORD_STATE, 7, 3);
	b = JOB_PENDING;
	textbuf_add(&want, (const char *)&b, 1);
	put32(&want, 4);
	put64(&want, 1763700000100000000ULL);
	put64(&want, 1763700009000000000ULL);
	assert_int_equal(rb.ends[1], want.len);
	/* FINISH: the outcome's state, its times, when it expires, the view. */
	put_head(&want, JOB_RECORD_FINISH, 7, 3);
	b = JOB_DONE;
	textbuf_add(&want, (const char *)&b, 1);
	put32(&want, 4);
	put64(&want, 1763700000100000000ULL);
	put64(&want, 1763700000200000000ULL);
	put64(&want, 1763700002700000000ULL);
	put32(&want, sizeof(view) - 1);
	textbuf_add(&want, view, sizeof(view) - 1);
	assert_int_equal(rb.ends[2], want.len);
	assert_int_equal(rb.tb.len, want.len);
	assert_memory_equal(rb.tb.p, want.p, want.len);

	assert_int_equal(job_record_read(rb.tb.p + start, rb.ends[1] - start,
	    &rec), 0);
	assert_int_equal(rec.kind, JOB_RECORD_STATE);
	assert_int_equal(rec.state, JOB_PENDING);
	assert_int_equal(rec.due_ns, 1763700009000000000LL);
	assert_int_equal(job_record_read(rb.tb.p + rb.ends[1],
	    rb.ends[2] - rb.ends[1], &rec), 0);
	assert_int_equal(rec.kind, JOB_RECORD_FINISH);
	assert_int_equal(rec.expires_ns, 1763700002700000000LL);
	assert_int_equal(rec.view_len, sizeof(view) - 1);
	record_buf_free(&rb);
	textbuf_free(&want);
}

/* A job's STATE goes from the batch when it is the last record, for its
 * FINISH to take its place; nothing else does. */
static void
test_a_state_right_before_its_finish_goes(void **state)
{
	static const char	 spec_text[] = "{\"type\":\"echo\"}";
	struct job_spec		 spec = { .text = (char *)spec_text,
				    .text_len = sizeof(spec_text) - 1 };
	struct job		 job = { .spec = &spec, .version = 2 };
	struct record_buf	 rb = { 0 };
	size_t			 len;

	job.reg.id = 7;
	job.state = JOB_RUNNING;
	assert_false(job_record_drop_state(&rb, 7));	/* empty */
	assert_true(job_record_write(JOB_EVENT_SUBMIT, &job, NULL, &rb));
	len = rb.tb.len;
	assert_false(job_record_drop_state(&rb, 7));	/* a SUBMIT */
	assert_true(job_record_write(JOB_EVENT_STATE, &job, NULL, &rb));
	assert_false(job_record_drop_state(&rb, 8));	/* another job's */
	assert_int_equal(rb.n, 2);
	assert_true(job_record_drop_state(&rb, 7));
	assert_int_equal(rb.n, 1);
	assert_int_equal(rb.tb.len, len);
	assert_int_equal(rb.ends[0], len);
	/* Not when something came after it. */
	assert_true(job_record_write(JOB_EVENT_STATE, &job, NULL, &rb));
	note_record_write(JOB_RECORD_EVENT, "go", true, 1, &rb);
	assert_false(job_record_drop_state(&rb, 7));
	assert_int_equal(rb.n, 3);
	/* The first record of a batch goes too. */
	rb.tb.len = 0;
	rb.n = 0;
	assert_true(job_record_write(JOB_EVENT_STATE, &job, NULL, &rb));
	assert_true(job_record_drop_state(&rb, 7));
	assert_int_equal(rb.n, 0);
	assert_int_equal(rb.tb.len, 0);
	record_buf_free(&rb);
}

/* A note: its kind, number and flag, then its name. */
static void
test_a_note_record_reads_back(void **state)
{
	struct record_buf	 rb = { 0 };
	struct job_record	 rec;

	note_record_write(JOB_RECORD_QUEUE, "bulk", true, 42, &rb);
	assert_int_equal(rb.n, 1);
	assert_int_equal(rb.tb.len, 1 + 8 + 4 + 1 + 4 + 4);
	assert_int_equal(job_record_read(rb.tb.p, rb.tb.len, &rec), 0);
	assert_int_equal(rec.kind, JOB_RECORD_QUEUE);
	assert_int_equal(rec.id, 42);
	assert_true(rec.on);
	assert_int_equal(rec.name_len, 4);
	assert_memory_equal(rec.name, "bulk", 4);
	record_buf_free(&rb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_submit_record_carries_its_owner),
		cmocka_unit_test(test_an_older_submit_record_has_no_owner),
		cmocka_unit_test(test_a_bad_owner_is_a_bad_record),
		cmocka_unit_test(test_a_counts_record_reads_back),
		cmocka_unit_test(test_an_empty_counts_record_reads),
		cmocka_unit_test(test_job_records_are_written_as_replay_reads_them),
		cmocka_unit_test(test_a_note_record_reads_back),
		cmocka_unit_test(test_a_state_right_before_its_finish_goes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
