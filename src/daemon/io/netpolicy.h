/*
 * Where outbound connections may go ([http] allow_private, allow_hosts,
 * deny_hosts).  The check is made on the address actually connected to,
 * after resolution, so a name that resolves (or rebinds) to a forbidden
 * address is refused however it was spelled.
 *
 * An entry of allow_hosts or deny_hosts is a host name ("example.com", that
 * name only), a domain wildcard ("*.example.com": any name below it, not the
 * domain itself), an address ("192.0.2.7", "2001:db8::1") or a CIDR block
 * ("10.0.0.0/8", "fd00::/8").  Names compare without case and without a
 * trailing dot.  A destination, that is a host name as the URL gave it and
 * the address it resolved to, is refused when:
 *   1. it matches deny_hosts (the name or the address): deny always wins;
 *   2. allow_hosts is not empty and it matches no entry there;
 *   3. the address is special (loopback, private, link-local, unspecified,
 *      multicast, broadcast or reserved, directly or embedded in an IPv6
 *      form: v4-mapped, v4-compatible, NAT64, 6to4), unless allow_private
 *      is set or an address or CIDR entry of allow_hosts contains it.  A
 *      host name in allow_hosts never admits a special address: what a name
 *      resolves to is what an attacker who controls its DNS chooses.
 * A policy is immutable once built and shared by reference counts between
 * the configuration that built it and the jobs parsed with it.
 */
#ifndef LOOM_NETPOLICY_H
#define LOOM_NETPOLICY_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>

struct netpolicy;

/*
 * A policy, or NULL with the reason in err naming the key and entry
 * ("allow_hosts: 'x/99' is not a host name, address or CIDR block").
 * allow and deny are NULL-ended lists, or NULL.
 */
struct netpolicy	*netpolicy_new(bool allow_private, char *const *allow,
			    char *const *deny, char *err, size_t len);
struct netpolicy	*netpolicy_ref(struct netpolicy *);
void			 netpolicy_unref(struct netpolicy *);

/*
 * 0 if `host` (the URL's host, a name or an address) may be connected to at
 * `sa`; -1 with why ("127.0.0.1 is a loopback address ...") if not.  Any
 * thread.
 */
int	netpolicy_check(const struct netpolicy *, const char *host,
	    const struct sockaddr *sa, char *why, size_t len);

/* What makes an address special ("loopback", "private", ...), or NULL. */
const char	*netpolicy_special(const struct sockaddr *);

/* True if s is a valid allow_hosts / deny_hosts entry. */
bool	netpolicy_entry_valid(const char *s);

#endif
