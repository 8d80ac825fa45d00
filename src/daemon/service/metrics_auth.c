/*
 * Who may read the metrics and the dashboard's data.  No tokens can be
 * configured yet: every check says so, and the listener is held to
 * loopback.  When tokens come, metrics_auth_required() is "any [token.*]",
 * and metrics_auth_check() finds the token whose secret this is (compared
 * in constant time) and says whether it has role read or admin.
 */
#include "autoconf.h"

#include <arpa/inet.h>

#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "service/metrics.h"

bool
metrics_auth_required(const struct config *cfg)
{
	(void)cfg;
	return false;
}

bool
metrics_auth_check(const struct config *cfg, const char *secret)
{
	(void)cfg;
	(void)secret;
	return false;
}

bool
metrics_listen_is_loopback(const char *spec)
{
	char		 host[128];
	const char	*colon;
	struct in_addr	 a4;
	struct in6_addr	 a6;

	if (spec[0] == '[') {
		if ((colon = strchr(spec, ']')) == NULL ||
		    (size_t)(colon - spec - 1) >= sizeof(host))
			return false;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - spec - 1), spec + 1);
		return inet_pton(AF_INET6, host, &a6) == 1 &&
		    IN6_IS_ADDR_LOOPBACK(&a6);
	}
	if ((colon = strrchr(spec, ':')) == NULL ||
	    (size_t)(colon - spec) >= sizeof(host))
		return false;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - spec), spec);
	if (strcmp(host, "localhost") == 0)
		return true;
	return inet_pton(AF_INET, host, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127;
}
