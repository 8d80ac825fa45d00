/*
 * Values: one parser per kind of key, from the text of the file or of -o to
 * a union config_value, then stored in its field; and back to text for the
 * reload's log lines.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/principal.h"
#include "runtime/log.h"
#include "runtime/util.h"
#include "io/netpolicy.h"
#include "jobs/exec_env.h"
#include "service/config_private.h"

/* Append to a NULL-ended vector of n entries. */
static char **
config_strv_add(char **v, size_t *n, char *s)
{
	v = xreallocarray(v, *n + 2, sizeof(*v));
	v[(*n)++] = s;
	v[*n] = NULL;
	return v;
}

/* Sizes in messages: "1M" reads better than 1048576. */
static const char *
config_size_text(char *buf, size_t len, double bytes)
{
	static const char	 units[] = "GMK";
	unsigned long long	 n = bytes, unit = 1ULL << 30;
	size_t			 i;

	for (i = 0; i < 3; i++, unit >>= 10) {
		if (n >= unit && n % unit == 0) {
			snprintf(buf, len, "%llu%c", n / unit, units[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%llu byte%s", n, n == 1 ? "" : "s");
	return buf;
}

/* A whole number: digits only, no sign, no junk, no overflow. */
static int
config_parse_integer(const char *s, unsigned long long *out, const char *what,
    char *why, size_t len)
{
	char	*end;

	if (*s == '-')
		return config_fail(why, len, "'%s' is negative", s);
	if (*s < '0' || *s > '9')
		return config_fail(why, len, "'%s' is not %s", s, what);
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return config_fail(why, len, "'%s' is too large", s);
	if (*end != '\0')
		return config_fail(why, len, "'%s' is not %s", s, what);
	return 0;
}

static int
config_parse_size(const char *s, double *out, char *why, size_t len)
{
	static const struct {
		const char	*suffix;
		double		 factor;
	} units[] = {
		{ "", 1 }, { "K", KIB }, { "KiB", KIB }, { "M", MIB }, { "MiB", MIB },
		{ "G", GIB }, { "GiB", GIB },
	};
	unsigned long long	 n;
	char			*p;
	size_t			 i;

	if (*s == '-')
		return config_fail(why, len, "'%s' is negative", s);
	if (*s < '0' || *s > '9')
		return config_fail(why, len, "'%s' is not a size", s);
	errno = 0;
	n = strtoull(s, &p, 10);
	if (errno == ERANGE)
		return config_fail(why, len, "'%s' is too large", s);
	if (*p == '.')
		return config_fail(why, len, "'%s' is not a whole number of bytes", s);
	p += strspn(p, " \t");
	for (i = 0; i < nitems(units); i++) {
		if (strcmp(p, units[i].suffix) == 0) {
			*out = (double)n * units[i].factor;
			return 0;
		}
	}
	return config_fail(why, len, "'%s': unknown suffix '%s' "
	    "(use K, M, G, KiB, MiB or GiB)", s, p);
}

static int
config_parse_duration(const char *s, double *out, char *why, size_t len)
{
	static const struct {
		const char	*suffix;
		double		 mul, div;
	} units[] = {
		{ "", 1, 1 }, { "s", 1, 1 }, { "ms", 1, 1000 }, { "m", 60, 1 },
		{ "h", 3600, 1 },
	};
	const char	*p = s;
	double		 mantissa = 0, scale = 1;
	int		 digits = 0;
	size_t		 i;

	if (*s == '-')
		return config_fail(why, len, "'%s' is negative", s);
	/* Digits, then an exact division, so "0.3" is the double nearest 0.3. */
	for (; *p >= '0' && *p <= '9'; p++, digits++)
		mantissa = mantissa * 10 + (*p - '0');
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, digits++) {
			if (scale < 1e22) {
				mantissa = mantissa * 10 + (*p - '0');
				scale *= 10;
			}
		}
	}
	if (digits == 0) {
		return config_fail(why, len, "'%s' is not a duration "
		    "(seconds, or a number with ms, s, m or h)", s);
	}
	p += strspn(p, " \t");
	for (i = 0; i < nitems(units); i++) {
		if (strcmp(p, units[i].suffix) == 0) {
			*out = mantissa / scale * units[i].mul / units[i].div;
			if (!isfinite(*out))
				return config_fail(why, len, "'%s' is too large", s);
			return 0;
		}
	}
	return config_fail(why, len, "'%s': unknown suffix '%s' (use ms, s, m or h)",
	    s, p);
}

static int
config_parse_mode(const char *s, mode_t *out, double max, char *why, size_t len)
{
	unsigned long	n;

	if (*s == '\0' || strspn(s, "01234567") != strlen(s) || strlen(s) > 5)
		return config_fail(why, len, "'%s' is not an octal mode like 0660", s);
	n = strtoul(s, NULL, 8);
	if (n > max)
		return config_fail(why, len, "'%s' is above %04o", s, (unsigned int)max);
	*out = (mode_t)n;
	return 0;
}

static int
config_parse_bool(const char *s, bool *out, char *why, size_t len)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t			 i;

	for (i = 0; i < nitems(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return config_fail(why, len, "'%s' is not a boolean "
	    "(yes/no, true/false, on/off, 1/0)", s);
}

/* HOST:PORT or [IPV6]:PORT; checked here, resolved when listening. */
static int
config_check_listen(const char *entry, int flags, char *why, size_t len)
{
	const char	*host = entry, *port, *end, *zone;
	char		 addr[INET6_ADDRSTRLEN + 1];
	unsigned char	 bin[sizeof(struct in6_addr)];
	size_t		 hostlen;
	unsigned long	 n;

	if (*entry == '[') {
		if ((end = strchr(entry, ']')) == NULL)
			return config_fail(why, len, "'%s': missing ']'", entry);
		host = entry + 1;
		/* A link-local address may name its interface: [fe80::1%eth0]. */
		if ((zone = memchr(host, '%', end - host)) != NULL &&
		    (zone + 1 == end || strspn(zone + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789_.-") != (size_t)(end - zone - 1)))
			return config_fail(why, len, "'%s': bad IPv6 zone", entry);
		hostlen = (zone != NULL ? zone : end) - host;
		if (hostlen >= sizeof(addr))
			return config_fail(why, len, "'%s': bad IPv6 address", entry);
		memcpy(addr, host, hostlen);
		addr[hostlen] = '\0';
		if (inet_pton(AF_INET6, addr, bin) != 1)
			return config_fail(why, len, "'%s': bad IPv6 address", entry);
		if (end[1] != ':')
			return config_fail(why, len, "'%s': missing :PORT", entry);
		port = end + 2;
	} else {
		if ((end = strrchr(entry, ':')) == NULL)
			return config_fail(why, len, "'%s': missing :PORT", entry);
		hostlen = end - host;
		if (memchr(host, ':', hostlen) != NULL) {
			return config_fail(why, len, "'%s': an IPv6 address goes in "
			    "brackets, as in [::1]:7433", entry);
		}
		if (hostlen == 0) {
			return config_fail(why, len, "'%s': missing host "
			    "(0.0.0.0 or [::] for every address)", entry);
		}
		if (strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789.-_") != hostlen)
			return config_fail(why, len, "'%s': bad host name", entry);
		/* All digits and dots is meant as an IPv4 address: check it. */
		if (strspn(host, "0123456789.") == hostlen) {
			if (hostlen >= sizeof(addr))
				hostlen = 0;
			memcpy(addr, host, hostlen);
			addr[hostlen] = '\0';
			if (inet_pton(AF_INET, addr, bin) != 1) {
				return config_fail(why, len, "'%s': bad IPv4 address",
				    entry);
			}
		}
		port = end + 1;
	}
	if (*port == '\0' || strspn(port, "0123456789") != strlen(port) ||
	    strlen(port) > 5 || (n = strtoul(port, NULL, 10)) > 65535 ||
	    (n == 0 && !(flags & CONFIG_ANY_PORT))) {
		return config_fail(why, len, "'%s': port must be %s to 65535",
		    entry, flags & CONFIG_ANY_PORT ? "0 (any free one)" : "1");
	}
	return 0;
}

/*
 * A list of words separated by commas or blanks, each checked by `ok` (with
 * the key's flags), which says what is wrong in why; none twice.  Empty is
 * an empty list.
 */
static int
config_parse_words(const char *s,
    int (*ok)(const char *, int, char *, size_t), int flags, char ***out,
    char *why, size_t len)
{
	char	*copy = xstrdup(s), *p = copy, *entry;
	char	**v = xcalloc(1, sizeof(*v));
	size_t	 n = 0, i;

	while ((entry = strsep(&p, ", \t")) != NULL) {
		if (*entry == '\0')
			continue;
		if (ok(entry, flags, why, len) == -1)
			goto fail;
		for (i = 0; i < n; i++) {
			if (strcmp(v[i], entry) == 0) {
				config_fail(why, len, "'%s' is listed twice", entry);
				goto fail;
			}
		}
		v = config_strv_add(v, &n, xstrdup(entry));
	}
	free(copy);
	*out = v;
	return 0;

fail:
	free(copy);
	strv_free(v);
	return -1;
}

static int
config_check_host(const char *entry, int flags, char *why, size_t len)
{
	if (netpolicy_entry_valid(entry))
		return 0;
	return config_fail(why, len, "'%s' is not a host name, *.domain, address "
	    "or CIDR block", entry);
}

/* A variable name, or a prefix ending in '*', that exec_env.c allows. */
static int
config_check_env_name(const char *entry, int flags, char *why, size_t len)
{
	char		*name = xstrdup(entry);
	const char	*deny;
	size_t		 n = strlen(name);
	bool		 ok;

	if (n > 1 && name[n - 1] == '*')
		name[n - 1] = '\0';
	ok = exec_env_name_ok(name);
	free(name);
	if (!ok) {
		return config_fail(why, len, "'%s' is not a variable name (A-Z a-z "
		    "0-9 _, not starting with a digit, optionally ending in *)",
		    entry);
	}
	if ((deny = exec_env_forbidden(entry)) != NULL) {
		return config_fail(why, len, "'%s' may never be set by a client "
		    "(%s is on the list of loader and interpreter variables in "
		    "loomd.conf(5))", entry, deny);
	}
	return 0;
}

/* allow_env: yes ("*": any name off the list), no (none) or names. */
static int
config_parse_env_names(const char *s, char ***out, char *why, size_t len)
{
	bool	b;
	char	tmp[8];

	if (config_parse_bool(s, &b, tmp, sizeof(tmp)) == 0) {
		*out = NULL;
		if (b) {
			*out = xcalloc(2, sizeof(**out));
			(*out)[0] = xstrdup("*");
		}
		return 0;
	}
	if (config_parse_words(s, config_check_env_name, 0, out, why, len) == -1)
		return -1;
	if ((*out)[0] == NULL) {
		free(*out);
		*out = NULL;
	}
	return 0;
}

/*
 * Words as a POSIX shell splits them, with no expansion of any kind: blanks
 * separate words, '...' is literal, "..." lets a backslash escape only
 * " \ $ ` and newline, and outside quotes a backslash escapes anything.  A
 * backslash before a newline joins lines, as in the shell.
 */
static int
config_split_argv(const char *s, char ***out, char *why, size_t len)
{
	char	*word = xmalloc(strlen(s) + 1), **v = NULL;
	size_t	 n = 0, w = 0;
	bool	 in_word = false;

	for (; *s != '\0'; s++) {
		switch (*s) {
		case ' ':
		case '\t':
		case '\n':
			if (in_word) {
				word[w] = '\0';
				v = config_strv_add(v, &n, xstrdup(word));
				w = 0;
				in_word = false;
			}
			continue;
		case '\'':
			for (s++; *s != '\'' && *s != '\0'; s++)
				word[w++] = *s;
			if (*s == '\0') {
				config_fail(why, len, "unterminated single quote");
				goto fail;
			}
			break;
		case '"':
			for (s++; *s != '"' && *s != '\0'; s++) {
				if (*s == '\\' && s[1] == '\n')
					s++;
				else if (*s == '\\' && s[1] != '\0' &&
				    strchr("\"\\$`", s[1]) != NULL)
					word[w++] = *++s;
				else
					word[w++] = *s;
			}
			if (*s == '\0') {
				config_fail(why, len, "unterminated double quote");
				goto fail;
			}
			break;
		case '\\':
			if (*++s == '\0') {
				config_fail(why, len, "backslash at the end");
				goto fail;
			}
			if (*s == '\n')
				continue;
			word[w++] = *s;
			break;
		default:
			word[w++] = *s;
			break;
		}
		in_word = true;
	}
	if (in_word) {
		word[w] = '\0';
		v = config_strv_add(v, &n, xstrdup(word));
	}
	free(word);
	if (v == NULL)
		return config_fail(why, len, "is empty");
	if (v[0][0] != '/') {
		config_fail(why, len, "argv[0] '%s' is not an absolute path", v[0]);
		strv_free(v);
		return -1;
	}
	*out = v;
	return 0;

fail:
	free(word);
	strv_free(v);
	return -1;
}

/* "read, submit": roles by name; empty is none. */
static int
config_parse_roles(const char *s, unsigned int *out, char *why, size_t len)
{
	const char	*p = s;
	unsigned int	 roles = 0, bit;
	size_t		 n;

	for (;;) {
		p += strspn(p, ", \t");
		if (*p == '\0')
			break;
		n = strcspn(p, ", \t");
		if ((bit = role_parse(p, n)) == 0) {
			return config_fail(why, len, "'%.*s' is not a role (use read, "
			    "submit, work, control or admin)", (int)n, p);
		}
		if (roles & bit)
			return config_fail(why, len, "'%.*s' is listed twice", (int)n, p);
		roles |= bit;
		p += n;
	}
	*out = roles;
	return 0;
}

static int
config_check_name_word(const char *entry, int flags, char *why, size_t len)
{
	if (!config_name_valid(entry))
		return config_fail(why, len, "'%s' is not a name: use 1 to %d "
		    "letters, digits, '_' or '-'", entry, CONFIG_NAME_MAX);
	return 0;
}

/* Names (of commands) separated by commas or blanks; empty is none (NULL). */
static int
config_parse_names(const char *s, char ***out, char *why, size_t len)
{
	if (config_parse_words(s, config_check_name_word, 0, out, why, len) == -1)
		return -1;
	if ((*out)[0] == NULL) {
		free(*out);
		*out = NULL;
	}
	return 0;
}

/* A SHA-256 in hex, as sha256sum prints it; kept in lower case. */
static int
config_parse_digest(const char *s, char **out, char *why, size_t len)
{
	char	*hex;
	size_t	 i;

	if (strlen(s) != 2 * TOKEN_DIGEST_LEN ||
	    strspn(s, "0123456789abcdefABCDEF") != 2 * TOKEN_DIGEST_LEN) {
		return config_fail(why, len, "is not a SHA-256 in hex (64 digits "
		    "0-9 a-f, as sha256sum prints it)");
	}
	hex = xstrdup(s);
	for (i = 0; hex[i] != '\0'; i++) {
		if (hex[i] >= 'A' && hex[i] <= 'F')
			hex[i] += 'a' - 'A';
	}
	*out = hex;
	return 0;
}

/*
 * config_value_*: the value of one kind of key, parsed and checked against
 * the key's range and flags.
 */

/* A whole number, or "auto" for 0 where the key allows it. */
static int
config_value_number(const struct config_key *k, const char *s,
    union config_value *out, char *why, size_t len)
{
	unsigned long long	n = 0;

	if ((k->flags & CONFIG_AUTO) && strcmp(s, "auto") == 0)
		n = 0;
	else if (config_parse_integer(s, &n, (k->flags & CONFIG_AUTO) ?
	    "auto or a whole number" : "a whole number", why, len) == -1)
		return -1;
	if (n < k->min)
		return config_fail(why, len, "must be at least %.0f", k->min);
	if (n > k->max)
		return config_fail(why, len, "must be at most %.0f", k->max);
	if (k->kind == CONFIG_UINT)
		out->u = n;
	else
		out->z = n;
	return 0;
}

static int
config_value_size(const struct config_key *k, const char *s,
    union config_value *out, char *why, size_t len)
{
	double	d = 0;
	char	text[32];

	if (config_parse_size(s, &d, why, len) == -1)
		return -1;
	if (d < k->min || d > k->max) {
		return config_fail(why, len, "must be %s %s",
		    d < k->min ? "at least" : "at most",
		    config_size_text(text, sizeof(text),
		    d < k->min ? k->min : k->max));
	}
	out->z = d;
	return 0;
}

static int
config_value_duration(const struct config_key *k, const char *s,
    union config_value *out, char *why, size_t len)
{
	double	d = 0;

	if (config_parse_duration(s, &d, why, len) == -1)
		return -1;
	if ((k->flags & CONFIG_POSITIVE) && d == 0)
		return config_fail(why, len, "must be more than 0");
	if (d > k->max)
		return config_fail(why, len, "must be at most %.0f s", k->max);
	out->d = d;
	return 0;
}

static int
config_value_string(const struct config_key *k, const char *s,
    union config_value *out, char *why, size_t len)
{
	size_t	sun_max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

	if (*s == '\0') {
		if (k->flags & CONFIG_NONEMPTY)
			return config_fail(why, len, "must not be empty");
		out->s = NULL;
		return 0;
	}
	if ((k->flags & CONFIG_ABSOLUTE) && *s != '/')
		return config_fail(why, len, "'%s' is not an absolute path", s);
	if ((k->flags & CONFIG_SOCKET) && strlen(s) > sun_max) {
		return config_fail(why, len, "the path is %zu bytes, more than "
		    "the %zu a Unix socket allows", strlen(s), sun_max);
	}
	out->s = xstrdup(s);
	return 0;
}

static int
config_parse_log_level(const char *s, int *out, char *why, size_t len)
{
	*out = log_level_parse(s);
	if (*out < LOG_ERR) {
		return config_fail(why, len, "'%s' is not a log level "
		    "(debug, info, notice, warning or error)", s);
	}
	return 0;
}

static int
config_parse_log_target(const char *s, int *out, char *why, size_t len)
{
	if (strcmp(s, "stderr") == 0)
		*out = LOG_TO_STDERR;
	else if (strcmp(s, "syslog") == 0)
		*out = LOG_TO_SYSLOG;
	else {
		return config_fail(why, len, "'%s' is not a log target "
		    "(stderr or syslog)", s);
	}
	return 0;
}

static int
config_parse_choice(const struct config_key *k, const char *s, int *out,
    char *why, size_t len)
{
	char	list[256] = "";
	int	i;

	for (i = 0; k->choices[i] != NULL; i++) {
		if (strcmp(s, k->choices[i]) == 0) {
			*out = i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
		    i > 0 ? ", " : "", k->choices[i]);
	}
	return config_fail(why, len, "'%s' is not one of %s", s, list);
}

/* The value for one key, checked against its range; nothing is stored. */
int
config_parse_value(const struct config_key *k, const char *s,
    union config_value *out, char *why, size_t len)
{
	switch (k->kind) {
	case CONFIG_UINT:
	case CONFIG_COUNT:
		return config_value_number(k, s, out, why, len);
	case CONFIG_SIZE:
		return config_value_size(k, s, out, why, len);
	case CONFIG_DURATION:
		return config_value_duration(k, s, out, why, len);
	case CONFIG_BOOL:
		return config_parse_bool(s, &out->b, why, len);
	case CONFIG_MODE:
		return config_parse_mode(s, &out->mode, k->max, why, len);
	case CONFIG_LISTEN:
		return config_parse_words(s, config_check_listen, k->flags,
		    &out->v, why, len);
	case CONFIG_ARGV:
		return config_split_argv(s, &out->v, why, len);
	case CONFIG_HOSTS:
		return config_parse_words(s, config_check_host, 0, &out->v, why, len);
	case CONFIG_ENV_NAMES:
		return config_parse_env_names(s, &out->v, why, len);
	case CONFIG_LOG_LEVEL:
		return config_parse_log_level(s, &out->i, why, len);
	case CONFIG_LOG_TARGET:
		return config_parse_log_target(s, &out->i, why, len);
	case CONFIG_CHOICE:
		return config_parse_choice(k, s, &out->i, why, len);
	case CONFIG_STRING:
		return config_value_string(k, s, out, why, len);
	case CONFIG_ROLES:
		return config_parse_roles(s, &out->u, why, len);
	case CONFIG_NAMES:
		return config_parse_names(s, &out->v, why, len);
	case CONFIG_DIGEST:
		return config_parse_digest(s, &out->s, why, len);
	}
	return config_fail(why, len, "internal error: key kind %d", k->kind);
}

/* Replace the field with a parsed value, freeing what it held. */
void
config_store(void *base, const struct config_key *k, union config_value *v)
{
	void	*field = (char *)base + k->offset;

	switch (k->kind) {
	case CONFIG_UINT:
	case CONFIG_ROLES:
		*(unsigned int *)field = v->u;
		break;
	case CONFIG_COUNT:
	case CONFIG_SIZE:
		*(size_t *)field = v->z;
		break;
	case CONFIG_DURATION:
		*(double *)field = v->d;
		break;
	case CONFIG_BOOL:
		*(bool *)field = v->b;
		break;
	case CONFIG_MODE:
		*(mode_t *)field = v->mode;
		break;
	case CONFIG_LOG_LEVEL:
	case CONFIG_LOG_TARGET:
	case CONFIG_CHOICE:
		*(int *)field = v->i;
		break;
	case CONFIG_STRING:
	case CONFIG_DIGEST:
		free(*(char **)field);
		*(char **)field = v->s;
		break;
	case CONFIG_LISTEN:
	case CONFIG_ARGV:
	case CONFIG_NAMES:
	case CONFIG_HOSTS:
	case CONFIG_ENV_NAMES:
		strv_free(*(char ***)field);
		*(char ***)field = v->v;
		break;
	}
}

/* A value as a person reads it in a log line. */
void
config_format(const struct config_key *k, const void *base, char *buf,
    size_t len)
{
	const char	 *field = (const char *)base + k->offset;
	char *const	 *v;
	unsigned int	  u;
	size_t		  used, i;

	switch (k->kind) {
	case CONFIG_UINT:
		u = *(const unsigned int *)field;
		if ((k->flags & CONFIG_AUTO) && u == 0)
			snprintf(buf, len, "auto");
		else
			snprintf(buf, len, "%u", u);
		return;
	case CONFIG_COUNT:
		snprintf(buf, len, "%zu", *(const size_t *)field);
		return;
	case CONFIG_SIZE:
		config_size_text(buf, len, (double)*(const size_t *)field);
		return;
	case CONFIG_DURATION:
		snprintf(buf, len, "%gs", *(const double *)field);
		return;
	case CONFIG_BOOL:
		snprintf(buf, len, "%s", *(const bool *)field ? "yes" : "no");
		return;
	case CONFIG_MODE:
		snprintf(buf, len, "%04o", (unsigned int)*(const mode_t *)field);
		return;
	case CONFIG_LOG_LEVEL:
		snprintf(buf, len, "%s", log_level_name(*(const int *)field));
		return;
	case CONFIG_LOG_TARGET:
		snprintf(buf, len, "%s", *(const int *)field == LOG_TO_SYSLOG ?
		    "syslog" : "stderr");
		return;
	case CONFIG_CHOICE:
		snprintf(buf, len, "%s", k->choices[*(const int *)field]);
		return;
	case CONFIG_STRING:
		snprintf(buf, len, "'%s'", *(char *const *)field != NULL ?
		    *(char *const *)field : "");
		return;
	case CONFIG_ROLES:
		snprintf(buf, len, "'");
		roles_text(*(const unsigned int *)field, buf + 1, len - 1);
		used = strlen(buf);
		snprintf(buf + used, len - used, "'");
		return;
	case CONFIG_DIGEST:
		snprintf(buf, len, "%s", *(char *const *)field != NULL ?
		    *(char *const *)field : "");
		return;
	case CONFIG_ENV_NAMES:
		v = *(char **const *)field;
		if (v == NULL || (v[0] != NULL && strcmp(v[0], "*") == 0 &&
		    v[1] == NULL)) {
			snprintf(buf, len, "%s", v == NULL ? "no" : "yes");
			return;
		}
		/* FALLTHROUGH */
	case CONFIG_LISTEN:
	case CONFIG_ARGV:
	case CONFIG_NAMES:
	case CONFIG_HOSTS:
		snprintf(buf, len, "'");
		v = *(char **const *)field;
		for (i = 0; v != NULL && v[i] != NULL; i++) {
			used = strlen(buf);
			snprintf(buf + used, len - used, "%s%s", i > 0 ? " " : "", v[i]);
		}
		used = strlen(buf);
		snprintf(buf + used, len - used, "'");
		return;
	}
	snprintf(buf, len, "?");
}
