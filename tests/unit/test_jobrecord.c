/*
 * Job records as the journal keeps them: a SUBMIT record carries its
 * owner after the spec, and one written before owners were recorded (it
 * ends with the spec) still reads.
 */
#include "autoconf.h"

#include <string.h>

#include "testutil.h"
#include "core/jobrecord.h"
#include "core/loomd.h"
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

/* SUBMIT of job 7, version 1, child 2 of job 5; owner NULL: the old form. */
static void
submit_record(struct textbuf *tb, const char *spec, const char *owner,
    size_t owner_len)
{
	unsigned char	kind = JOB_RECORD_SUBMIT;

	tb->len = 0;
	textbuf_add(tb, (const char *)&kind, 1);
	put64(tb, 7);
	put32(tb, 1);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_submit_record_carries_its_owner),
		cmocka_unit_test(test_an_older_submit_record_has_no_owner),
		cmocka_unit_test(test_a_bad_owner_is_a_bad_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
