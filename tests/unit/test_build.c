/* The build is what configure was asked for. */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

/* --enable-debug: nothing on the command line may raise -O0 again. */
static void
test_a_debug_build_is_not_optimized(void **state)
{
#ifndef LOOM_DEBUG
	skip();
#elif defined(__OPTIMIZE__)
	fail_msg("built with --enable-debug, yet compiled with optimization");
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_debug_build_is_not_optimized),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
