/*
 * JSON text in and out of the hot path: json_load_line() must read every
 * line exactly as json_loadb() does (values, key order, errors and their
 * positions), and textbuf must write what jansson would have written.
 */
#include "autoconf.h"

#include <inttypes.h>

#include "runtime/jsonload.h"
#include "testutil.h"
#include "runtime/textbuf.h"
#include "runtime/util.h"

/* Both read `text` alike: the same value (and key order), or the same error. */
static void
assert_reads_like_jansson(const char *text, size_t len)
{
	json_error_t	 e1, e2;
	json_t		*a, *b;
	char		*da, *db;

	a = json_load_line(text, len, JSON_REJECT_DUPLICATES, &e1);
	b = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e2);
	if (a == NULL || b == NULL) {
		if (a != NULL || b != NULL)
			fail_msg("only one of them read %.*s", (int)len, text);
		assert_string_equal(e1.text, e2.text);
		assert_int_equal(e1.position, e2.position);
		assert_int_equal(e1.line, e2.line);
		assert_int_equal(e1.column, e2.column);
		return;
	}
	if (!json_equal(a, b))
		fail_msg("they read %.*s differently", (int)len, text);
	da = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
	db = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_string_equal(da, db);
	free(da);
	free(db);
	json_decref(a);
	json_decref(b);
}

static void
test_load_line_reads_requests_like_jansson(void **state)
{
	static const char *const cases[] = {
		"{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"echo\",\"ttl\":0,"
		    "\"args\":{\"value\":1}}}",
		"  {\"op\" : \"ping\" , \"id\" : 7 }\r\n",
		"{\"a\":[1,-2,0,-0,3.5,-1e3,2E+2,1.5e-7,true,false,null,\"x\",[],{}]}",
		"{\"big\":123456789012345678}",
		"{\"bigger\":1234567890123456789}",
		"{\"huge\":123456789012345678901234567890}",
		"{\"neg\":-9223372036854775808}",
		"{\"over\":1e400}",
		"{\"under\":1e-400}",
		"{\"r\":0.1,\"s\":123456789.123456789}",
		"{\"dup\":1,\"dup\":2}",
		"{\"esc\":\"a\\\"b\\\\c\\n\\u00e9\"}",
		"{\"utf8\":\"h\xc3\xa9llo\"}",
		"{\"bad\":\"\xff\xfe\"}",
		"{\"ctl\":\"a\tb\"}",
		"{\"lead\":01}",
		"{\"frac\":1.}",
		"{\"exp\":1e}",
		"{\"minus\":-}",
		"{\"x\":tru}",
		"{\"x\":nulls}",
		"{\"x\":1}garbage",
		"{\"x\":1} {\"y\":2}",
		"{\"x\":1,}",
		"{,}",
		"{\"x\" 1}",
		"[1,2]",
		"[",
		"{",
		"{\"op\":",
		"\"just a string\"",
		"42",
		"",
		"   ",
		"{\"k\":\"\"}",
		"{\"\":1}",
		"{\"n\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	};
	size_t	i;

	for (i = 0; i < nitems(cases); i++)
		assert_reads_like_jansson(cases[i], strlen(cases[i]));
	/* A NUL inside the line. */
	assert_reads_like_jansson("{\"a\":1}\0", 8);
	assert_reads_like_jansson("{\"a\":\"\0\"}", 9);
}

static uint64_t	rng = 88172645463325252ull;

static uint64_t
next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Random JSON-ish text, mostly well formed, from a small grammar. */
static void
random_value(struct textbuf *tb, int depth)
{
	static const char *const atoms[] = {
		"0", "-0", "17", "-42", "3.25", "-1e-3", "6.02e23", "1E400", "01",
		"1.", "true", "false", "null", "\"\"", "\"abc\"", "\"a\\nb\"",
		"\"\xc3\xa9\"", "\"\xc3\"", "99999999999999999999", "tru", "-",
	};
	static const char *const keys[] = { "\"a\"", "\"b\"", "\"op\"", "\"\"" };
	const char	*atom;
	int		 n, i;

	switch (depth > 4 ? 0 : next_random() % 4) {
	case 0:
	case 1:
		atom = atoms[next_random() % nitems(atoms)];
		textbuf_add(tb, atom, strlen(atom));
		break;
	case 2:
		textbuf_lit(tb, "[");
		for (n = (int)(next_random() % 4), i = 0; i < n; i++) {
			if (i > 0)
				textbuf_lit(tb, ",");
			random_value(tb, depth + 1);
		}
		textbuf_lit(tb, "]");
		break;
	default:
		textbuf_lit(tb, "{");
		for (n = (int)(next_random() % 4), i = 0; i < n; i++) {
			if (i > 0)
				textbuf_lit(tb, ",");
			textbuf_add(tb, keys[next_random() % nitems(keys)], 3);
			textbuf_lit(tb, ":");
			random_value(tb, depth + 1);
		}
		textbuf_lit(tb, "}");
		break;
	}
}

static void
test_load_line_reads_random_text_like_jansson(void **state)
{
	struct textbuf	tb = { 0 };
	char		*text;
	size_t		 len;
	int		 i;

	for (i = 0; i < 20000; i++) {
		textbuf_lit(&tb, "{\"v\":");
		random_value(&tb, 0);
		textbuf_lit(&tb, "}");
		text = textbuf_steal(&tb, &len);
		/* Now and then a byte goes astray. */
		if (next_random() % 4 == 0)
			text[next_random() % len] = "{}[],:\" x1\\"[next_random() % 11];
		assert_reads_like_jansson(text, len);
		free(text);
	}
}

static void
assert_writes_like_jansson(struct textbuf *tb, const json_t *v)
{
	char	*want = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), *got;
	size_t	 len;

	got = textbuf_steal(tb, &len);
	assert_int_equal(len, strlen(got));
	assert_string_equal(got, want);
	free(got);
	free(want);
}

static void
test_textbuf_strings_are_escaped_like_jansson(void **state)
{
	struct textbuf	 tb = { 0 };
	json_t		*j;
	char		 s[64];
	int		 i, k, n;

	for (i = 0; i < 20000; i++) {
		n = (int)(next_random() % (sizeof(s) - 1));
		for (k = 0; k < n; k++) {
			do
				s[k] = (char)(next_random() % 256);
			while (s[k] == '\0');
			/* Mostly ASCII, so that valid UTF-8 is common too. */
			if (next_random() % 3 != 0)
				s[k] = (char)(0x01 + s[k] % 0x7f);
		}
		s[n] = '\0';
		j = json_string_lossy(s);
		textbuf_string(&tb, s);
		assert_writes_like_jansson(&tb, j);
		json_decref(j);
	}
	j = json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \"q\" \\ /\b\f\n\r\t\x01\x1f");
	textbuf_string(&tb, json_string_value(j));
	assert_writes_like_jansson(&tb, j);
	json_decref(j);
}

static void
test_textbuf_writes_values_like_jansson(void **state)
{
	static const char *const cases[] = {
		"0", "-1", "9223372036854775807", "-9223372036854775808", "true",
		"false", "null", "\"x\\u0000y\"", "0.1", "1e300", "[1,\"a\",{\"b\":null}]",
		"{\"a\":{\"b\":[1.5,2]}}",
		"{\"k\\\"ey\":[[],{}],\"caf\\u00e9\":\"\\u0001\\n\",\"z\":1,\"a\":2}",
	};
	struct textbuf	 tb = { 0 };
	json_t		*v;
	size_t		 i;

	for (i = 0; i < nitems(cases); i++) {
		v = json_loads(cases[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		assert_non_null(v);
		textbuf_json(&tb, v);
		assert_writes_like_jansson(&tb, v);
		json_decref(v);
	}
	textbuf_i64(&tb, INT64_MIN);
	textbuf_lit(&tb, " ");
	textbuf_u64(&tb, UINT64_MAX);
	v = json_string("-9223372036854775808 18446744073709551615");
	assert_int_equal(tb.len, strlen(json_string_value(v)));
	assert_memory_equal(tb.p, json_string_value(v), tb.len);
	json_decref(v);
	textbuf_free(&tb);
}

static void
test_textbuf_times_have_nine_decimals(void **state)
{
	struct textbuf	 tb = { 0 };
	char		*text;
	size_t		 len;

	textbuf_time_ns(&tb, INT64_C(1763700000123456789));
	textbuf_lit(&tb, " ");
	textbuf_time_ns(&tb, INT64_C(1763700000000000000));
	textbuf_lit(&tb, " ");
	textbuf_time_ns(&tb, 5);
	textbuf_lit(&tb, " ");
	textbuf_time_ns(&tb, -1500000000);
	text = textbuf_steal(&tb, &len);
	assert_string_equal(text, "1763700000.123456789 1763700000.000000000 "
	    "0.000000005 -1.500000000");
	free(text);
}

/* The span of `key`'s value (an object member of the top level) is its text. */
static void
assert_span(struct json_spans *sp, const char *line, const json_t *v,
    const char *want)
{
	const struct json_span	*s = json_span_of(sp, v);

	assert_non_null(s);
	assert_int_equal(s->len, strlen(want));
	assert_memory_equal(line + s->off, want, s->len);
}

/* Where the top level's object members and its arrays' objects were. */
static void
test_spans_of_a_line(void **state)
{
	static const char line[] = " {\"op\":\"submit\",\"job\": {\"type\":"
	    "\"echo\" , \"args\":{\"v\":[1,{\"x\":2}]}},\"jobs\":[{\"a\":1}, "
	    "{ } ,[{\"n\":1}],3],\"id\":{\"k\":[]}} ";
	struct json_spans	 sp;
	json_error_t		 e;
	json_t			*msg, *jobs;

	msg = json_load_line_spans(line, sizeof(line) - 1, JSON_REJECT_DUPLICATES,
	    &e, &sp);
	assert_non_null(msg);
	/* job, jobs[0], jobs[1], id: not args, not jobs[2]'s object. */
	assert_int_equal(sp.n, 4);
	assert_span(&sp, line, json_object_get(msg, "job"), "{\"type\":"
	    "\"echo\" , \"args\":{\"v\":[1,{\"x\":2}]}}");
	jobs = json_object_get(msg, "jobs");
	assert_span(&sp, line, json_array_get(jobs, 0), "{\"a\":1}");
	assert_span(&sp, line, json_array_get(jobs, 1), "{ }");
	assert_null(json_span_of(&sp, json_array_get(json_array_get(jobs, 2), 0)));
	assert_null(json_span_of(&sp, json_object_get(json_object_get(msg, "job"),
	    "args")));
	assert_span(&sp, line, json_object_get(msg, "id"), "{\"k\":[]}");
	/* Again from the start, after the last: it wraps. */
	assert_span(&sp, line, json_object_get(msg, "job"), "{\"type\":"
	    "\"echo\" , \"args\":{\"v\":[1,{\"x\":2}]}}");
	json_decref(msg);
	json_spans_free(&sp);
}

/* A line the fast path leaves to jansson has no spans; nor has a batch past
 * JSON_SPANS_MAX beyond it, nor a top-level array. */
static void
test_no_spans_where_they_cannot_be_trusted(void **state)
{
	static const char escaped[] = "{\"job\":{\"type\":\"e\\u0063ho\"}}";
	static const char array[] = "[{\"a\":1}]";
	struct json_spans	 sp;
	struct textbuf		 tb = { 0 };
	json_error_t		 e;
	json_t			*msg;
	size_t			 i;

	msg = json_load_line_spans(escaped, sizeof(escaped) - 1, 0, &e, &sp);
	assert_non_null(msg);
	assert_int_equal(sp.n, 0);
	assert_null(json_span_of(&sp, json_object_get(msg, "job")));
	json_decref(msg);
	json_spans_free(&sp);

	msg = json_load_line_spans(array, sizeof(array) - 1, 0, &e, &sp);
	assert_non_null(msg);
	assert_int_equal(sp.n, 0);
	json_decref(msg);
	json_spans_free(&sp);

	textbuf_lit(&tb, "{\"jobs\":[");
	for (i = 0; i < JSON_SPANS_MAX + 10; i++)
		textbuf_add(&tb, ",{}" + (i == 0), i ? 3 : 2);
	textbuf_lit(&tb, "]}");
	msg = json_load_line_spans(tb.p, tb.len, 0, &e, &sp);
	assert_non_null(msg);
	assert_int_equal(sp.n, JSON_SPANS_MAX);
	assert_non_null(json_span_of(&sp, json_array_get(json_object_get(msg,
	    "jobs"), JSON_SPANS_MAX - 1)));
	assert_null(json_span_of(&sp, json_array_get(json_object_get(msg,
	    "jobs"), JSON_SPANS_MAX)));
	json_decref(msg);
	json_spans_free(&sp);
	textbuf_free(&tb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_line_reads_requests_like_jansson),
		cmocka_unit_test(test_load_line_reads_random_text_like_jansson),
		cmocka_unit_test(test_textbuf_strings_are_escaped_like_jansson),
		cmocka_unit_test(test_textbuf_writes_values_like_jansson),
		cmocka_unit_test(test_textbuf_times_have_nine_decimals),
		cmocka_unit_test(test_spans_of_a_line),
		cmocka_unit_test(test_no_spans_where_they_cannot_be_trusted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
