/*
 * Who may read the metrics and the dashboard's data: anyone who can connect
 * while no token is configured, and then the listener is held to loopback
 * (the configuration's check, hence apart from metrics.c, which checks a
 * bearer's token).
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
	return cfg->ntokens > 0;
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
