/* Bytes as JSON text (invalid UTF-8 and NUL replaced) or base64. */
#include "autoconf.h"

#include "testutil.h"
#include "runtime/bytes.h"

static void
assert_text(const char *in, size_t len, const char *want)
{
	json_t	*j = bytes_text(in, len);

	assert_non_null(j);
	assert_int_equal(json_string_length(j), strlen(want));
	assert_memory_equal(json_string_value(j), want, strlen(want));
	json_decref(j);
}

#define R	"\xef\xbf\xbd"		/* U+FFFD */

static void
test_valid_utf8_passes_unchanged(void **state)
{
	assert_text("", 0, "");
	assert_text("plain ascii\n", 12, "plain ascii\n");
	assert_text("h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 12,
	    "h\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	assert_text("\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf");	/* U+10FFFF */
}

static void
test_each_bad_byte_becomes_one_replacement(void **state)
{
	assert_text("a\xff" "b", 3, "a" R "b");
	assert_text("\x80\x80", 2, R R);
	/* Truncated sequences: the lead byte and what follows are judged apart. */
	assert_text("\xe2\x82", 2, R R);
	assert_text("x\xf0\x9f\x98", 4, "x" R R R);
}

static void
test_overlongs_surrogates_and_past_unicode_are_refused(void **state)
{
	assert_text("\xc0\xaf", 2, R R);		/* overlong '/' */
	assert_text("\xe0\x80\xaf", 3, R R R);		/* overlong '/' */
	assert_text("\xed\xa0\x80", 3, R R R);		/* U+D800 */
	assert_text("\xf4\x90\x80\x80", 4, R R R R);	/* U+110000 */
	assert_text("\xf5\x80\x80\x80", 4, R R R R);
}

static void
test_nul_becomes_a_replacement_too(void **state)
{
	assert_text("a\0b", 3, "a" R "b");
}

static void
test_base64_pads_to_whole_quanta(void **state)
{
	static const struct {
		const char	*in;
		const char	*out;
	} cases[] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	json_t	*j;
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		j = bytes_base64(cases[i].in, strlen(cases[i].in));
		assert_string_equal(json_string_value(j), cases[i].out);
		json_decref(j);
	}
	j = bytes_base64("\xff\x00\xfe", 3);
	assert_string_equal(json_string_value(j), "/wD+");
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_utf8_passes_unchanged),
		cmocka_unit_test(test_each_bad_byte_becomes_one_replacement),
		cmocka_unit_test(test_overlongs_surrogates_and_past_unicode_are_refused),
		cmocka_unit_test(test_nul_becomes_a_replacement_too),
		cmocka_unit_test(test_base64_pads_to_whole_quanta),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
