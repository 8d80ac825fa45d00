/* The Prometheus text format's label values and the listener's address
 * check. */
#include "autoconf.h"

#include <event2/buffer.h>

#include "testutil.h"
#include "core/loomd.h"
#include "service/metrics.h"

struct loomd	loomd;		/* main.c's, which this test does not link */

static void
test_label_values_are_escaped(void **state)
{
	struct evbuffer	*b = evbuffer_new();
	char		 out[128];
	size_t		 n;

	metrics_prom_label(b, "queue", "a\"b\\c\nd");
	n = evbuffer_remove(b, out, sizeof(out) - 1);
	out[n] = '\0';
	assert_string_equal(out, "queue=\"a\\\"b\\\\c\\nd\"");
	evbuffer_free(b);
}

static void
test_loopback_addresses(void **state)
{
	assert_true(metrics_listen_is_loopback("127.0.0.1:9464"));
	assert_true(metrics_listen_is_loopback("127.8.9.10:0"));
	assert_true(metrics_listen_is_loopback("[::1]:9464"));
	assert_true(metrics_listen_is_loopback("localhost:9464"));
	assert_false(metrics_listen_is_loopback("0.0.0.0:9464"));
	assert_false(metrics_listen_is_loopback("[::]:9464"));
	assert_false(metrics_listen_is_loopback("10.0.0.1:9464"));
	assert_false(metrics_listen_is_loopback("example.com:9464"));
	assert_false(metrics_listen_is_loopback("[::ffff:127.0.0.1]:9464"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_values_are_escaped),
		cmocka_unit_test(test_loopback_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
