/* CRC-32C against its published check values, in pieces and whole. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/crc32c.h"

static void
test_check_values(void **state)
{
	static const unsigned char	zeros[32], ones[32] = {
		[0 ... 31] = 0xff
	};

	assert_int_equal(crc32c(0, "123456789", 9), 0xe3069283);
	assert_int_equal(crc32c(0, "", 0), 0);
	/* RFC 3720, B.4: 32 bytes of zeros, of ones. */
	assert_int_equal(crc32c(0, zeros, sizeof(zeros)), 0x8a9136aa);
	assert_int_equal(crc32c(0, ones, sizeof(ones)), 0x62a8ab43);
}

static void
test_pieces_equal_the_whole(void **state)
{
	unsigned char	buf[1000];
	uint32_t	whole, crc;
	size_t		i, cut;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 131 + 7);
	whole = crc32c(0, buf, sizeof(buf));
	for (cut = 0; cut <= sizeof(buf); cut += 37) {
		crc = crc32c(0, buf, cut);
		assert_int_equal(crc32c(crc, buf + cut, sizeof(buf) - cut), whole);
	}
	/* Unaligned starts give the same as aligned copies. */
	for (i = 1; i < 8; i++) {
		unsigned char	copy[64];

		memcpy(copy, buf + i, sizeof(copy));
		assert_int_equal(crc32c(0, buf + i, sizeof(copy)),
		    crc32c(0, copy, sizeof(copy)));
	}
}

static void
test_portable_equals_the_instruction(void **state)
{
	unsigned char	buf[4096];
	size_t		i, n;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)((i * 2654435761u) >> 13);
	assert_int_equal(crc32c_portable(0, "123456789", 9), 0xe3069283);
	for (n = 0; n <= sizeof(buf); n = n * 2 + 1)
		assert_int_equal(crc32c_portable(0, buf, n), crc32c(0, buf, n));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_values),
		cmocka_unit_test(test_pieces_equal_the_whole),
		cmocka_unit_test(test_portable_equals_the_instruction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
