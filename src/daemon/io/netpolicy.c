/*
 * The outbound destination policy (netpolicy.h).  Every address is kept in
 * its 16-byte IPv6 form, IPv4 as ::ffff:a.b.c.d, so one prefix match serves
 * both families; an IPv6 address that carries an IPv4 one is also checked
 * as that IPv4 address, since that is where the packets may end up.
 */
#include "autoconf.h"

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "io/netpolicy.h"
#include "runtime/util.h"

#define NETPOLICY_NAME_MAX	253

struct netpolicy_cidr {
	unsigned char	addr[16];
	unsigned int	bits;		/* 0-128, of the 16-byte form */
};

struct netpolicy_list {
	char			**names;	/* lowercased; "*.x" for wildcards */
	size_t			  nnames;
	struct netpolicy_cidr	 *cidrs;
	size_t			  ncidrs;
};

struct netpolicy {
	atomic_uint		refs;
	bool			allow_private;
	struct netpolicy_list	allow;
	struct netpolicy_list	deny;
};

/* Special blocks, in 16-byte form.  The IPv4 ones are matched on ::ffff:. */
static const struct {
	const char	*prefix;
	unsigned int	 bits;
	const char	*what;
} netpolicy_special_blocks[] = {
	{ "0.0.0.0", 8, "unspecified" },
	{ "127.0.0.0", 8, "loopback" },
	{ "10.0.0.0", 8, "private" },
	{ "172.16.0.0", 12, "private" },
	{ "192.168.0.0", 16, "private" },
	{ "100.64.0.0", 10, "private (shared, RFC 6598)" },
	{ "169.254.0.0", 16, "link-local" },
	{ "192.0.0.0", 24, "reserved" },
	{ "224.0.0.0", 4, "multicast" },
	{ "255.255.255.255", 32, "broadcast" },
	{ "240.0.0.0", 4, "reserved" },
	{ "::", 128, "unspecified" },
	{ "::1", 128, "loopback" },
	{ "fc00::", 7, "private (unique local)" },
	{ "fec0::", 10, "private (site-local)" },
	{ "fe80::", 10, "link-local" },
	{ "ff00::", 8, "multicast" },
};

static void
netpolicy_v4_in_v6(const struct in_addr *in, unsigned char out[16])
{
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, &in->s_addr, 4);
}

/* The address of sa in 16-byte form; false for another family. */
static bool
netpolicy_addr(const struct sockaddr *sa, unsigned char out[16])
{
	if (sa->sa_family == AF_INET) {
		netpolicy_v4_in_v6(&((const struct sockaddr_in *)sa)->sin_addr, out);
		return true;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return true;
	}
	return false;
}

/*
 * The IPv4 address an IPv6 one carries, as ::ffff:a.b.c.d: v4-compatible
 * (::a.b.c.d, past :: and ::1), NAT64 (64:ff9b::/96) and 6to4 (2002::/16).
 * v4-mapped addresses are that form already.  False if none.
 */
static bool
netpolicy_embedded(const unsigned char a[16], unsigned char out[16])
{
	static const unsigned char	 zero[12], nat64[12] = { 0, 0x64, 0xff,
					     0x9b };
	struct in_addr			 in;

	if (memcmp(a, zero, 12) == 0 && (a[12] | a[13] | a[14]) != 0)
		memcpy(&in.s_addr, a + 12, 4);
	else if (memcmp(a, nat64, 12) == 0)
		memcpy(&in.s_addr, a + 12, 4);
	else if (a[0] == 0x20 && a[1] == 0x02)
		memcpy(&in.s_addr, a + 2, 4);
	else
		return false;
	netpolicy_v4_in_v6(&in, out);
	return true;
}

static bool
netpolicy_prefix_match(const unsigned char a[16], const unsigned char p[16],
    unsigned int bits)
{
	unsigned int	full = bits / 8, rest = bits % 8;
	unsigned char	mask;

	if (memcmp(a, p, full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (p[full] & mask);
}

/* "a.b.c.d", "x::y", either with "/bits": the block in 16-byte form. */
static bool
netpolicy_parse_cidr(const char *s, struct netpolicy_cidr *c)
{
	char		 buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	struct in_addr	 in;
	unsigned long	 bits;
	bool		 v4;

	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (inet_pton(AF_INET, buf, &in) == 1) {
		netpolicy_v4_in_v6(&in, c->addr);
		v4 = true;
	} else if (inet_pton(AF_INET6, buf, c->addr) == 1)
		v4 = false;
	else
		return false;
	c->bits = 128;
	if (slash == NULL)
		return true;
	if (!isdigit((unsigned char)*slash))
		return false;
	bits = strtoul(slash, &end, 10);
	if (*end != '\0' || bits > (v4 ? 32 : 128))
		return false;
	c->bits = (unsigned int)bits + (v4 ? 96 : 0);
	return true;
}

/* A host name: dot-separated labels of letters, digits, '-' (not first)
 * and '_'. */
static bool
netpolicy_name_valid(const char *s)
{
	size_t	label = 0, len = strlen(s);

	if (len == 0 || len > NETPOLICY_NAME_MAX)
		return false;
	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
		if (label == 0 && *s == '-')
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

/* The name to compare: lowercased, no trailing dot.  Allocated. */
static char *
netpolicy_canonical(const char *s)
{
	char	*c = xstrdup(s), *p;
	size_t	 len = strlen(c);

	if (len > 1 && c[len - 1] == '.')
		c[len - 1] = '\0';
	for (p = c; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return c;
}

bool
netpolicy_entry_valid(const char *s)
{
	struct netpolicy_cidr	 c;
	char			*name;
	bool			 ok;

	if (netpolicy_parse_cidr(s, &c))
		return true;
	name = netpolicy_canonical(s);
	ok = strncmp(name, "*.", 2) == 0 ? netpolicy_name_valid(name + 2) :
	    netpolicy_name_valid(name);
	free(name);
	return ok;
}

static int
netpolicy_list_build(struct netpolicy_list *l, const char *key,
    char *const *entries, char *err, size_t len)
{
	struct netpolicy_cidr	c;
	size_t			i;

	for (i = 0; entries != NULL && entries[i] != NULL; i++) {
		if (netpolicy_parse_cidr(entries[i], &c)) {
			l->cidrs = xreallocarray(l->cidrs, l->ncidrs + 1,
			    sizeof(*l->cidrs));
			l->cidrs[l->ncidrs++] = c;
			continue;
		}
		if (!netpolicy_entry_valid(entries[i])) {
			snprintf(err, len, "%s: '%s' is not a host name, *.domain, "
			    "address or CIDR block", key, entries[i]);
			return -1;
		}
		l->names = xreallocarray(l->names, l->nnames + 1, sizeof(*l->names));
		l->names[l->nnames++] = netpolicy_canonical(entries[i]);
	}
	return 0;
}

static void
netpolicy_list_free(struct netpolicy_list *l)
{
	size_t	i;

	for (i = 0; i < l->nnames; i++)
		free(l->names[i]);
	free(l->names);
	free(l->cidrs);
}

struct netpolicy *
netpolicy_new(bool allow_private, char *const *allow, char *const *deny,
    char *err, size_t len)
{
	struct netpolicy	*p = xcalloc(1, sizeof(*p));

	atomic_init(&p->refs, 1);
	p->allow_private = allow_private;
	if (netpolicy_list_build(&p->allow, "allow_hosts", allow, err, len) == -1 ||
	    netpolicy_list_build(&p->deny, "deny_hosts", deny, err, len) == -1) {
		netpolicy_unref(p);
		return NULL;
	}
	return p;
}

struct netpolicy *
netpolicy_ref(struct netpolicy *p)
{
	if (p != NULL)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void
netpolicy_unref(struct netpolicy *p)
{
	if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	netpolicy_list_free(&p->allow);
	netpolicy_list_free(&p->deny);
	free(p);
}

static bool
netpolicy_name_match(const struct netpolicy_list *l, const char *host)
{
	char	*name = netpolicy_canonical(host);
	size_t	 i, nlen = strlen(name), slen;
	bool	 found = false;

	for (i = 0; i < l->nnames && !found; i++) {
		if (strncmp(l->names[i], "*.", 2) != 0) {
			found = strcmp(l->names[i], name) == 0;
			continue;
		}
		/* "*.example.com" is ".example.com" at the end, after a label. */
		slen = strlen(l->names[i] + 1);
		found = nlen > slen &&
		    strcmp(name + nlen - slen, l->names[i] + 1) == 0;
	}
	free(name);
	return found;
}

/* The address, or the IPv4 address it carries, is in one of l's blocks. */
static bool
netpolicy_cidr_match(const struct netpolicy_list *l, const unsigned char a[16])
{
	unsigned char	v4[16];
	bool		embedded = netpolicy_embedded(a, v4);
	size_t		i;

	for (i = 0; i < l->ncidrs; i++) {
		if (netpolicy_prefix_match(a, l->cidrs[i].addr, l->cidrs[i].bits) ||
		    (embedded && netpolicy_prefix_match(v4, l->cidrs[i].addr,
		    l->cidrs[i].bits)))
			return true;
	}
	return false;
}

static const char *
netpolicy_special_addr(const unsigned char a[16])
{
	struct netpolicy_cidr	c;
	unsigned char		v4[16];
	size_t			i;

	for (i = 0; i < nitems(netpolicy_special_blocks); i++) {
		if (!netpolicy_parse_cidr(netpolicy_special_blocks[i].prefix, &c))
			continue;
		c.bits = netpolicy_special_blocks[i].bits +
		    (strchr(netpolicy_special_blocks[i].prefix, ':') == NULL ?
		    96 : 0);
		if (netpolicy_prefix_match(a, c.addr, c.bits))
			return netpolicy_special_blocks[i].what;
	}
	if (netpolicy_embedded(a, v4))
		return netpolicy_special_addr(v4);
	return NULL;
}

const char *
netpolicy_special(const struct sockaddr *sa)
{
	unsigned char	a[16];

	if (!netpolicy_addr(sa, a))
		return "not an IP";
	return netpolicy_special_addr(a);
}

int
netpolicy_check(const struct netpolicy *p, const char *host,
    const struct sockaddr *sa, char *why, size_t len)
{
	static const struct netpolicy	 defaults;
	unsigned char			 a[16];
	char				 text[INET6_ADDRSTRLEN];
	const char			*special;

	if (p == NULL)
		p = &defaults;		/* a configuration never checked */
	if (!netpolicy_addr(sa, a)) {
		snprintf(why, len, "the address of %s is not an IP address", host);
		return -1;
	}
	if (inet_ntop(sa->sa_family, sa->sa_family == AF_INET ?
	    (const void *)&((const struct sockaddr_in *)sa)->sin_addr :
	    (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr, text,
	    sizeof(text)) == NULL)
		snprintf(text, sizeof(text), "?");

	if (netpolicy_name_match(&p->deny, host) ||
	    netpolicy_cidr_match(&p->deny, a)) {
		snprintf(why, len, "%s (%s) is refused by [http] deny_hosts", text,
		    host);
		return -1;
	}
	if ((p->allow.nnames > 0 || p->allow.ncidrs > 0) &&
	    !netpolicy_name_match(&p->allow, host) &&
	    !netpolicy_cidr_match(&p->allow, a)) {
		snprintf(why, len, "%s (%s) is not in [http] allow_hosts", text,
		    host);
		return -1;
	}
	if ((special = netpolicy_special_addr(a)) != NULL && !p->allow_private &&
	    !netpolicy_cidr_match(&p->allow, a)) {
		snprintf(why, len, "%s (%s) is a %s address: refused unless [http] "
		    "allow_private = yes or an allow_hosts block contains it", text,
		    host, special);
		return -1;
	}
	return 0;
}
