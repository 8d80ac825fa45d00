/*
 * The outbound destination policy: which addresses are special, in every
 * form an IPv6 address can carry an IPv4 one, and how allow_private,
 * allow_hosts and deny_hosts combine.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "testutil.h"
#include "io/netpolicy.h"
#include "runtime/util.h"

static struct sockaddr_storage
addr(const char *text)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
	}
	return ss;
}

static void
test_special_addresses_in_every_spelling(void **state)
{
	static const struct {
		const char	*addr;
		const char	*what;		/* NULL: an ordinary address */
	} cases[] = {
		{ "127.0.0.1", "loopback" },
		{ "127.255.255.254", "loopback" },
		{ "::1", "loopback" },
		{ "::ffff:127.0.0.1", "loopback" },
		{ "::127.0.0.1", "loopback" },			/* v4-compatible */
		{ "64:ff9b::127.0.0.1", "loopback" },		/* NAT64 */
		{ "2002:7f00:1::", "loopback" },		/* 6to4 */
		{ "0.0.0.0", "unspecified" },
		{ "::", "unspecified" },
		{ "::ffff:0.0.0.0", "unspecified" },
		{ "10.0.0.1", "private" },
		{ "172.16.0.1", "private" },
		{ "172.31.255.255", "private" },
		{ "192.168.1.1", "private" },
		{ "::ffff:192.168.1.1", "private" },
		{ "fc00::1", "private (unique local)" },
		{ "fdff::1", "private (unique local)" },
		{ "169.254.169.254", "link-local" },
		{ "fe80::1", "link-local" },
		{ "febf::1", "link-local" },
		{ "224.0.0.1", "multicast" },
		{ "ff02::1", "multicast" },
		{ "255.255.255.255", "broadcast" },
		{ "240.0.0.1", "reserved" },
		{ "100.64.0.1", "private (shared, RFC 6598)" },
		{ "8.8.8.8", NULL },
		{ "172.32.0.1", NULL },
		{ "172.15.255.255", NULL },
		{ "192.0.2.7", NULL },
		{ "2001:db8::1", NULL },
		{ "::ffff:8.8.8.8", NULL },
		{ "2606:4700::1111", NULL },
	};
	struct sockaddr_storage	 ss;
	const char		*what;
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		ss = addr(cases[i].addr);
		what = netpolicy_special((struct sockaddr *)&ss);
		if (cases[i].what == NULL && what != NULL)
			fail_msg("%s: %s, not ordinary", cases[i].addr, what);
		if (cases[i].what != NULL && (what == NULL ||
		    strcmp(what, cases[i].what) != 0))
			fail_msg("%s: %s, not %s", cases[i].addr,
			    what != NULL ? what : "ordinary", cases[i].what);
	}
}

static int
check(const struct netpolicy *p, const char *host, const char *a, char *why,
    size_t len)
{
	struct sockaddr_storage	ss = addr(a);

	return netpolicy_check(p, host, (struct sockaddr *)&ss, why, len);
}

static void
test_defaults_refuse_special_and_allow_the_rest(void **state)
{
	char	why[256];

	assert_int_equal(check(NULL, "example.org", "93.184.216.34", why,
	    sizeof(why)), 0);
	assert_int_equal(check(NULL, "evil.example", "::ffff:10.0.0.1", why,
	    sizeof(why)), -1);
	assert_string_equal(why, "::ffff:10.0.0.1 (evil.example) is a private "
	    "address: refused unless [http] allow_private = yes or an "
	    "allow_hosts block contains it");
}

static void
test_lists_combine_deny_first(void **state)
{
	char *const		 allow[] = { "10.1.0.0/16", "api.example.org",
				     "*.cdn.example", NULL };
	char *const		 deny[] = { "10.1.2.0/24", "bad.cdn.example", NULL };
	struct netpolicy	*p;
	char			 why[256];

	assert_non_null(p = netpolicy_new(false, allow, deny, why, sizeof(why)));
	/* A block admits special addresses; a name does not. */
	assert_int_equal(check(p, "x", "10.1.9.9", why, sizeof(why)), 0);
	assert_int_equal(check(p, "api.example.org", "10.2.0.1", why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "is a private address"));
	assert_int_equal(check(p, "API.Example.ORG.", "93.184.216.34", why,
	    sizeof(why)), 0);
	/* Wildcards cover names below the domain, not the domain. */
	assert_int_equal(check(p, "a.b.cdn.example", "93.184.216.34", why,
	    sizeof(why)), 0);
	assert_int_equal(check(p, "cdn.example", "93.184.216.34", why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "is not in [http] allow_hosts"));
	assert_int_equal(check(p, "xcdn.example", "93.184.216.34", why,
	    sizeof(why)), -1);
	/* deny wins over an allowing block and an allowing wildcard. */
	assert_int_equal(check(p, "x", "10.1.2.3", why, sizeof(why)), -1);
	assert_non_null(strstr(why, "deny_hosts"));
	assert_int_equal(check(p, "x", "::ffff:10.1.2.3", why, sizeof(why)), -1);
	assert_int_equal(check(p, "bad.cdn.example", "93.184.216.34", why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "deny_hosts"));
	netpolicy_unref(p);

	assert_non_null(p = netpolicy_new(true, NULL, deny, why, sizeof(why)));
	assert_int_equal(check(p, "x", "127.0.0.1", why, sizeof(why)), 0);
	assert_int_equal(check(p, "x", "10.1.2.3", why, sizeof(why)), -1);
	netpolicy_unref(p);
}

static void
test_bad_entries_are_named(void **state)
{
	static const char *const bad[] = {
		"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "a..b",
		"*", "*.", "exa mple", "http://x", "-",
	};
	static const char *const good[] = {
		"10.0.0.0/8", "::/0", "fd00::/8", "192.0.2.7", "x", "a-b.c_d.e",
		"*.example.org", "example.org.",
	};
	char *const	 list[] = { "10.0.0.0/33", NULL };
	char		 why[256];
	size_t		 i;

	for (i = 0; i < nitems(bad); i++) {
		if (netpolicy_entry_valid(bad[i]))
			fail_msg("'%s' taken", bad[i]);
	}
	for (i = 0; i < nitems(good); i++) {
		if (!netpolicy_entry_valid(good[i]))
			fail_msg("'%s' refused", good[i]);
	}
	assert_null(netpolicy_new(false, NULL, list, why, sizeof(why)));
	assert_string_equal(why, "deny_hosts: '10.0.0.0/33' is not a host name, "
	    "*.domain, address or CIDR block");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_special_addresses_in_every_spelling),
		cmocka_unit_test(test_defaults_refuse_special_and_allow_the_rest),
		cmocka_unit_test(test_lists_combine_deny_first),
		cmocka_unit_test(test_bad_entries_are_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
