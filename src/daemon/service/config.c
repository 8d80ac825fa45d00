/*
 * The configuration: a table of keys per section, one parser per kind of
 * value, and two ways in (an INI file read with libinih, and -o KEY=VALUE),
 * which both end in config_assign().
 *
 * libinih splits "key = value" lines and skips comments.  Our line reader in
 * front of it does what upstream libinih only offers as build options, so we
 * behave the same with any build of it: count lines for messages, check
 * section headers (so even an empty [queue.NAME] exists and a repeated one is
 * caught), and keep libinih from treating indented lines as continuations or
 * " ;" as the start of a comment.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "core/config.h"
#include "runtime/log.h"
#include "runtime/util.h"

#define KIB			1024.0
#define MIB			(1024.0 * 1024)
#define GIB			(1024.0 * 1024 * 1024)
#define CONFIG_DURATION_MAX	1e9	/* about 31 years: fits any timer */
#define CONFIG_MAX_KEYS		32	/* per section, for the repeat check */

/*
 * Stands in for a ';' inside a line while libinih sees it, so that values
 * such as argv keep their semicolons.  Control characters are refused in
 * input, so it can never be confused with one that was there.
 */
#define CONFIG_SEMICOLON	'\037'

enum config_kind {
	CONFIG_UINT,		/* unsigned int */
	CONFIG_COUNT,		/* size_t */
	CONFIG_SIZE,		/* size_t bytes; K, M, G suffixes */
	CONFIG_DURATION,	/* double seconds; ms, s, m, h suffixes */
	CONFIG_BOOL,
	CONFIG_STRING,		/* char *; empty is NULL unless CONFIG_NONEMPTY */
	CONFIG_MODE,		/* mode_t, octal */
	CONFIG_LISTEN,		/* char **, HOST:PORT entries */
	CONFIG_LOG_LEVEL,	/* int */
	CONFIG_LOG_TARGET,	/* int, enum log_target */
	CONFIG_ARGV,		/* char **, split like a shell, no expansion */
};

#define CONFIG_AUTO		0x1	/* "auto" is 0 */
#define CONFIG_NONEMPTY		0x2	/* a string that must be given */
#define CONFIG_ABSOLUTE		0x4	/* a path that must start with '/' */
#define CONFIG_SOCKET		0x8	/* a path that must fit in sun_path */
#define CONFIG_POSITIVE		0x10	/* a duration above 0 */

struct config_key {
	const char		*name;
	enum config_kind	 kind;
	size_t			 offset;
	int			 flags;
	double			 min;
	double			 max;
};

union config_value {
	unsigned int	  u;
	size_t		  z;
	double		  d;
	bool		  b;
	mode_t		  mode;
	int		  i;
	char		 *s;
	char		**v;
};

#define G(f)	offsetof(struct config, f)
static const struct config_key config_global_keys[] = {
	{ "loops", CONFIG_UINT, G(loops), CONFIG_AUTO, 0, 256 },
	{ "executor_threads", CONFIG_UINT, G(executor_threads), CONFIG_AUTO, 0, 256 },
	{ "executor_queue", CONFIG_COUNT, G(executor_queue), 0, 1, 1e8 },
	{ "listen", CONFIG_LISTEN, G(listen), 0, 0, 0 },
	{ "unix_socket", CONFIG_STRING, G(unix_socket), CONFIG_SOCKET, 0, 0 },
	{ "unix_socket_mode", CONFIG_MODE, G(unix_socket_mode), 0, 0, 0777 },
	{ "state_dir", CONFIG_STRING, G(state_dir), CONFIG_NONEMPTY, 0, 0 },
	{ "max_line_bytes", CONFIG_SIZE, G(max_line_bytes), 0, 1024, GIB },
	{ "max_connections", CONFIG_UINT, G(max_connections), 0, 1, 1e6 },
	{ "max_jobs", CONFIG_COUNT, G(max_jobs), 0, 1, 1e9 },
	{ "max_children", CONFIG_COUNT, G(max_children), 0, 1, 1e6 },
	{ "result_ttl", CONFIG_DURATION, G(result_ttl), 0, 0, CONFIG_DURATION_MAX },
	{ "slow_callback_ms", CONFIG_UINT, G(slow_callback_ms), 0, 0, 3600000 },
	{ "loop_spin_us", CONFIG_UINT, G(loop_spin_us), 0, 0, 1000000 },
	{ "log_level", CONFIG_LOG_LEVEL, G(log_level), 0, 0, 0 },
	{ "log_target", CONFIG_LOG_TARGET, G(log_target), 0, 0, 0 },
	{ "files_root", CONFIG_STRING, G(files_root), 0, 0, 0 },
	{ "shutdown_grace", CONFIG_DURATION, G(shutdown_grace), 0, 0, CONFIG_DURATION_MAX },
	{ "kill_grace", CONFIG_DURATION, G(kill_grace), 0, 0, CONFIG_DURATION_MAX },
	{ "idle_timeout", CONFIG_DURATION, G(idle_timeout), 0, 0, CONFIG_DURATION_MAX },
	{ "user", CONFIG_STRING, G(user), 0, 0, 0 },
	{ "group", CONFIG_STRING, G(group), 0, 0, 0 },
};
#undef G

#define H(f)	offsetof(struct config_http, f)
static const struct config_key config_http_keys[] = {
	{ "ca_file", CONFIG_STRING, H(ca_file), 0, 0, 0 },
	{ "max_body", CONFIG_SIZE, H(max_body), 0, 1, GIB },
	{ "timeout", CONFIG_DURATION, H(timeout), CONFIG_POSITIVE, 0, CONFIG_DURATION_MAX },
	{ "per_host", CONFIG_UINT, H(per_host), 0, 1, 10000 },
	{ "user_agent", CONFIG_STRING, H(user_agent), 0, 0, 0 },
};
#undef H

#define Q(f)	offsetof(struct config_queue, f)
static const struct config_key config_queue_keys[] = {
	{ "concurrency", CONFIG_UINT, Q(concurrency), 0, 0, 1e6 },
	{ "max_pending", CONFIG_COUNT, Q(max_pending), 0, 0, 1e9 },
};
#undef Q

static const struct config_key config_limit_keys[] = {
	{ "concurrency", CONFIG_UINT, offsetof(struct config_limit, concurrency),
	  0, 1, 1e6 },
};

#define C(f)	offsetof(struct config_command, f)
static const struct config_key config_command_keys[] = {
	{ "argv", CONFIG_ARGV, C(argv), 0, 0, 0 },
	{ "allow_args", CONFIG_BOOL, C(allow_args), 0, 0, 0 },
	{ "allow_env", CONFIG_BOOL, C(allow_env), 0, 0, 0 },
	{ "cwd", CONFIG_STRING, C(cwd), CONFIG_ABSOLUTE, 0, 0 },
	{ "timeout", CONFIG_DURATION, C(timeout), 0, 0, CONFIG_DURATION_MAX },
	{ "max_output", CONFIG_SIZE, C(max_output), 0, 1, GIB },
	{ "user", CONFIG_STRING, C(user), 0, 0, 0 },
	{ "group", CONFIG_STRING, C(group), 0, 0, 0 },
};
#undef C

enum config_section_id {
	SECTION_GLOBAL,
	SECTION_HTTP,
	SECTION_QUEUE,
	SECTION_LIMIT,
	SECTION_COMMAND,
};

struct config_section {
	const char		*name;
	enum config_section_id	 id;
	bool			 named;
	const struct config_key	*keys;
	size_t			 nkeys;
};

static const struct config_section config_sections[] = {
	{ "", SECTION_GLOBAL, false, config_global_keys, nitems(config_global_keys) },
	{ "http", SECTION_HTTP, false, config_http_keys, nitems(config_http_keys) },
	{ "queue", SECTION_QUEUE, true, config_queue_keys, nitems(config_queue_keys) },
	{ "limit", SECTION_LIMIT, true, config_limit_keys, nitems(config_limit_keys) },
	{ "command", SECTION_COMMAND, true, config_command_keys,
	  nitems(config_command_keys) },
};

_Static_assert(nitems(config_global_keys) <= CONFIG_MAX_KEYS,
    "raise CONFIG_MAX_KEYS");

/* What config_load_file keeps while libinih calls back. */
struct config_parse {
	struct config			*cfg;
	const char			*path;
	FILE				*f;
	char				*buf;
	size_t				 bufsize;
	int				 line;
	int				 failed;	/* line of the error, or 0 */
	char				*err;
	size_t				 errlen;

	const struct config_section	*section;
	char				 name[CONFIG_NAME_MAX + 1];
	int				 key_line[CONFIG_MAX_KEYS];

	/* Sections seen in this file, to refuse a second [queue.x]. */
	struct config_seen {
		const struct config_section	*section;
		char				*name;
		int				 line;
	}				*seen;
	size_t				 nseen;
};

static int	config_fail(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
config_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (errlen != 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Append to a NULL-ended vector of n entries. */
static char **
config_strv_add(char **v, size_t *n, char *s)
{
	v = xreallocarray(v, *n + 2, sizeof(*v));
	v[(*n)++] = s;
	v[*n] = NULL;
	return v;
}

bool
config_name_valid(const char *name)
{
	return name_valid(name, strlen(name), false);
}

static bool
config_has_control(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f)
			return true;
	}
	return false;
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
config_check_listen(const char *entry, char *why, size_t len)
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
	    strlen(port) > 5 || (n = strtoul(port, NULL, 10)) < 1 || n > 65535)
		return config_fail(why, len, "'%s': port must be 1 to 65535", entry);
	return 0;
}

/* Entries separated by commas and/or blanks; none means no TCP listener. */
static int
config_parse_listen(const char *s, char ***out, char *why, size_t len)
{
	char	*copy = xstrdup(s), *p = copy, *entry;
	char	**v = xcalloc(1, sizeof(*v));
	size_t	 n = 0, i;

	while ((entry = strsep(&p, ", \t")) != NULL) {
		if (*entry == '\0')
			continue;
		if (config_check_listen(entry, why, len) == -1)
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

/* The value for one key, checked against its range; nothing is stored. */
static int
config_parse_value(const struct config_key *k, const char *s,
    union config_value *out, char *why, size_t len)
{
	unsigned long long	 n = 0;
	double			 d = 0;
	char			 text[32];
	size_t			 sun_max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;

	switch (k->kind) {
	case CONFIG_UINT:
	case CONFIG_COUNT:
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
	case CONFIG_SIZE:
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
	case CONFIG_DURATION:
		if (config_parse_duration(s, &d, why, len) == -1)
			return -1;
		if ((k->flags & CONFIG_POSITIVE) && d == 0)
			return config_fail(why, len, "must be more than 0");
		if (d > k->max)
			return config_fail(why, len, "must be at most %.0f s", k->max);
		out->d = d;
		return 0;
	case CONFIG_BOOL:
		return config_parse_bool(s, &out->b, why, len);
	case CONFIG_MODE:
		return config_parse_mode(s, &out->mode, k->max, why, len);
	case CONFIG_LISTEN:
		return config_parse_listen(s, &out->v, why, len);
	case CONFIG_ARGV:
		return config_split_argv(s, &out->v, why, len);
	case CONFIG_LOG_LEVEL:
		out->i = log_level_parse(s);
		if (out->i < LOG_ERR) {
			return config_fail(why, len, "'%s' is not a log level "
			    "(debug, info, notice, warning or error)", s);
		}
		return 0;
	case CONFIG_LOG_TARGET:
		if (strcmp(s, "stderr") == 0)
			out->i = LOG_TO_STDERR;
		else if (strcmp(s, "syslog") == 0)
			out->i = LOG_TO_SYSLOG;
		else {
			return config_fail(why, len, "'%s' is not a log target "
			    "(stderr or syslog)", s);
		}
		return 0;
	case CONFIG_STRING:
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
	return config_fail(why, len, "internal error: key kind %d", k->kind);
}

/* Replace the field with a parsed value, freeing what it held. */
static void
config_store(void *base, const struct config_key *k, union config_value *v)
{
	void	*field = (char *)base + k->offset;

	switch (k->kind) {
	case CONFIG_UINT:
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
		*(int *)field = v->i;
		break;
	case CONFIG_STRING:
		free(*(char **)field);
		*(char **)field = v->s;
		break;
	case CONFIG_LISTEN:
	case CONFIG_ARGV:
		strv_free(*(char ***)field);
		*(char ***)field = v->v;
		break;
	}
}

static const struct config_section *
config_find_section(const char *name, size_t len)
{
	size_t	i;

	for (i = 1; i < nitems(config_sections); i++) {
		if (strlen(config_sections[i].name) == len &&
		    strncmp(config_sections[i].name, name, len) == 0)
			return &config_sections[i];
	}
	return NULL;
}

static const struct config_key *
config_find_key(const struct config_section *sec, const char *key)
{
	size_t	i;

	for (i = 0; i < sec->nkeys; i++) {
		if (strcmp(sec->keys[i].name, key) == 0)
			return &sec->keys[i];
	}
	return NULL;
}

static int
config_unknown_key(const struct config_section *sec, const char *key,
    char *why, size_t len)
{
	char	 list[256] = "";
	size_t	 i, used;

	if (sec->id == SECTION_GLOBAL)
		return config_fail(why, len, "unknown key");
	if (config_find_key(&config_sections[0], key) != NULL) {
		return config_fail(why, len, "unknown key in [%s%s] (%s is a global "
		    "key)", sec->name, sec->named ? ".NAME" : "", key);
	}
	for (i = 0; i < sec->nkeys; i++) {
		used = strlen(list);
		snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
		    sec->keys[i].name);
	}
	return config_fail(why, len, "unknown key (in [%s%s]: %s)", sec->name,
	    sec->named ? ".NAME" : "", list);
}

/* The struct a section's keys live in; a named entry is made on first use. */
static void *
config_section_base(struct config *cfg, const struct config_section *sec,
    const char *name)
{
	void	*found;

	switch (sec->id) {
	case SECTION_GLOBAL:
		return cfg;
	case SECTION_HTTP:
		return &cfg->http;
	case SECTION_QUEUE:
		if ((found = (void *)config_find_queue(cfg, name)) != NULL)
			return found;
		cfg->queues = xreallocarray(cfg->queues, cfg->nqueues + 1,
		    sizeof(*cfg->queues));
		cfg->queues[cfg->nqueues] = (struct config_queue){
			.name = xstrdup(name),
		};
		return &cfg->queues[cfg->nqueues++];
	case SECTION_LIMIT:
		if ((found = (void *)config_find_limit(cfg, name)) != NULL)
			return found;
		cfg->limits = xreallocarray(cfg->limits, cfg->nlimits + 1,
		    sizeof(*cfg->limits));
		/* concurrency 0 is "not given"; config_check wants one. */
		cfg->limits[cfg->nlimits] = (struct config_limit){
			.name = xstrdup(name),
		};
		return &cfg->limits[cfg->nlimits++];
	case SECTION_COMMAND:
		if ((found = (void *)config_find_command(cfg, name)) != NULL)
			return found;
		cfg->commands = xreallocarray(cfg->commands, cfg->ncommands + 1,
		    sizeof(*cfg->commands));
		cfg->commands[cfg->ncommands] = (struct config_command){
			.name = xstrdup(name),
			.max_output = 1024 * 1024,
		};
		return &cfg->commands[cfg->ncommands++];
	}
	return NULL;
}

/* Parse, then store: a bad value changes nothing. */
static int
config_assign(struct config *cfg, const struct config_section *sec,
    const char *name, const struct config_key *k, const char *value,
    char *why, size_t len)
{
	union config_value	v;

	if (config_parse_value(k, value, &v, why, len) == -1)
		return -1;
	config_store(config_section_base(cfg, sec, name), k, &v);
	return 0;
}

struct config *
config_new(void)
{
	struct config	*cfg = xcalloc(1, sizeof(*cfg));

	cfg->loops = 0;
	cfg->executor_threads = 0;
	cfg->executor_queue = 10000;
	cfg->listen = xcalloc(2, sizeof(*cfg->listen));
	cfg->listen[0] = xstrdup("127.0.0.1:7433");
	cfg->unix_socket = xstrdup("/run/loomd/loomd.sock");
	cfg->unix_socket_mode = 0660;
	cfg->state_dir = xstrdup("/var/lib/loomd");
	cfg->max_line_bytes = 1024 * 1024;
	cfg->max_connections = 10000;
	cfg->max_jobs = 1000000;
	cfg->max_children = 10000;
	cfg->result_ttl = 3600;
	cfg->slow_callback_ms = 100;
	cfg->loop_spin_us = 0;
	cfg->log_level = LOG_INFO;
	cfg->log_target = LOG_TO_STDERR;
	cfg->shutdown_grace = 30;
	cfg->kill_grace = 5;
	cfg->idle_timeout = 0;

	cfg->http.max_body = 1024 * 1024;
	cfg->http.timeout = 30;
	cfg->http.per_host = 8;
	cfg->http.user_agent = xstrdup("loomd/" PACKAGE_VERSION);
	return cfg;
}

void
config_free(struct config *cfg)
{
	size_t	i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	strv_free(cfg->listen);
	free(cfg->unix_socket);
	free(cfg->state_dir);
	free(cfg->files_root);
	free(cfg->user);
	free(cfg->group);
	for (i = 0; i < cfg->nqueues; i++)
		free(cfg->queues[i].name);
	free(cfg->queues);
	for (i = 0; i < cfg->nlimits; i++)
		free(cfg->limits[i].name);
	free(cfg->limits);
	for (i = 0; i < cfg->ncommands; i++) {
		free(cfg->commands[i].name);
		strv_free(cfg->commands[i].argv);
		free(cfg->commands[i].cwd);
		free(cfg->commands[i].user);
		free(cfg->commands[i].group);
	}
	free(cfg->commands);
	free(cfg->http.ca_file);
	free(cfg->http.user_agent);
	free(cfg);
}

/* A "[type.NAME]" line (from its '['): check it and make it current. */
static int
config_section_start(struct config_parse *p, const char *line)
{
	const struct config_section	*sec;
	const char			*end, *after, *dot, *name = "";
	size_t				 i, namelen = 0;
	int				 hlen;

	if ((end = strchr(line, ']')) == NULL) {
		return config_fail(p->err, p->errlen, "%s:%d: %s: missing ']'",
		    p->path, p->line, line);
	}
	hlen = end + 1 - line;	/* messages show "[...]" alone */
	after = end + 1 + strspn(end + 1, " \t");
	if (*after != '\0' && *after != '#' && *after != ';') {
		return config_fail(p->err, p->errlen, "%s:%d: %.*s: text after the "
		    "section header", p->path, p->line, hlen, line);
	}
	if ((dot = memchr(line, '.', end - line)) != NULL) {
		name = dot + 1;
		namelen = end - name;
	}
	if ((sec = config_find_section(line + 1,
	    (dot != NULL ? dot : end) - (line + 1))) == NULL) {
		return config_fail(p->err, p->errlen, "%s:%d: %.*s: unknown section "
		    "(use [http], [queue.NAME], [limit.NAME] or [command.NAME])",
		    p->path, p->line, hlen, line);
	}
	if (sec->named && dot == NULL) {
		return config_fail(p->err, p->errlen, "%s:%d: %.*s: needs a name, "
		    "as in [%s.NAME]", p->path, p->line, hlen, line, sec->name);
	}
	if (!sec->named && dot != NULL) {
		return config_fail(p->err, p->errlen, "%s:%d: %.*s: takes no name",
		    p->path, p->line, hlen, line);
	}
	snprintf(p->name, sizeof(p->name), "%.*s", (int)namelen, name);
	if (sec->named && (namelen > CONFIG_NAME_MAX || !config_name_valid(p->name))) {
		return config_fail(p->err, p->errlen, "%s:%d: %.*s: bad name: use "
		    "1 to %d letters, digits, '_' or '-'", p->path, p->line, hlen,
		    line, CONFIG_NAME_MAX);
	}
	for (i = 0; i < p->nseen; i++) {
		if (p->seen[i].section == sec && strcmp(p->seen[i].name, p->name) == 0) {
			return config_fail(p->err, p->errlen, "%s:%d: %.*s: repeats the "
			    "section at line %d", p->path, p->line, hlen, line,
			    p->seen[i].line);
		}
	}
	p->seen = xreallocarray(p->seen, p->nseen + 1, sizeof(*p->seen));
	p->seen[p->nseen++] = (struct config_seen){ sec, xstrdup(p->name), p->line };

	p->section = sec;
	memset(p->key_line, 0, sizeof(p->key_line));
	/* An empty [queue.NAME] still makes a queue with the defaults. */
	config_section_base(p->cfg, sec, p->name);
	return 0;
}

/*
 * libinih's line source.  Each line is counted, checked, and handed over with
 * its leading blanks removed (no continuation lines) and any ';' after the
 * first character disguised (no inline comments).
 */
static char *
config_read_line(char *str, int num, void *arg)
{
	struct config_parse	*p = arg;
	ssize_t			 n;
	char			*line, *eq, *colon, *c;
	size_t			 len;

	if (p->failed != 0)
		return NULL;
	if ((n = getline(&p->buf, &p->bufsize, p->f)) == -1) {
		if (ferror(p->f)) {
			p->failed = p->line + 1;
			config_fail(p->err, p->errlen, "%s: %s", p->path,
			    strerror(errno));
		}
		return NULL;
	}
	p->line++;
	line = p->buf;
	if (p->line == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;	/* a UTF-8 byte order mark */
		n -= 3;
	}
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (config_has_control(line, n)) {
		config_fail(p->err, p->errlen, "%s:%d: control character in line",
		    p->path, p->line);
		goto fail;
	}
	line += strspn(line, " \t");
	if ((len = strlen(line)) > (size_t)num - 1) {
		config_fail(p->err, p->errlen, "%s:%d: line is longer than %d bytes",
		    p->path, p->line, num - 1);
		goto fail;
	}

	if (*line == '[') {
		if (config_section_start(p, line) == -1)
			goto fail;
	} else if (*line != '\0' && *line != '#' && *line != ';') {
		eq = strchr(line, '=');
		colon = strchr(line, ':');
		/* libinih also splits at ':'; we only speak key = value. */
		if (eq == NULL || (colon != NULL && colon < eq)) {
			config_fail(p->err, p->errlen, "%s:%d: expected KEY = VALUE, "
			    "[SECTION] or a comment", p->path, p->line);
			goto fail;
		}
		for (c = line; (c = strchr(c, ';')) != NULL; c++)
			*c = CONFIG_SEMICOLON;
	}
	memcpy(str, line, len + 1);
	return str;

fail:
	p->failed = p->line;
	return NULL;
}

/* Undo config_read_line's disguise of ';'. */
static char *
config_unmask(const char *s)
{
	char	*copy = xstrdup(s), *c;

	for (c = copy; (c = strchr(c, CONFIG_SEMICOLON)) != NULL; c++)
		*c = ';';
	return copy;
}

static int
config_ini_handler(void *arg, const char *section, const char *rawkey,
    const char *rawvalue)
{
	struct config_parse		*p = arg;
	const struct config_section	*sec = p->section;
	const struct config_key		*k;
	char				*key, *value, why[512];
	int				*seen;

	if (p->failed != 0)
		return 1;
	key = config_unmask(rawkey);
	value = config_unmask(rawvalue);
	if (*key == '\0') {
		config_fail(p->err, p->errlen, "%s:%d: missing key before '='",
		    p->path, p->line);
		goto fail;
	}
	if ((k = config_find_key(sec, key)) == NULL) {
		config_unknown_key(sec, key, why, sizeof(why));
		goto fail_why;
	}
	seen = &p->key_line[k - sec->keys];
	if (*seen != 0) {
		snprintf(why, sizeof(why), "given twice (first at line %d)", *seen);
		goto fail_why;
	}
	*seen = p->line;
	if (config_assign(p->cfg, sec, p->name, k, value, why, sizeof(why)) == -1)
		goto fail_why;
	free(key);
	free(value);
	return 1;

fail_why:
	config_fail(p->err, p->errlen, "%s:%d: %s: %s", p->path, p->line, key, why);
fail:
	free(key);
	free(value);
	p->failed = p->line;
	return 0;
}

int
config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct config_parse	p = {
		.cfg = cfg,
		.path = path,
		.err = err,
		.errlen = errlen,
		.section = &config_sections[0],
	};
	size_t			i;
	int			r;

	if ((p.f = fopen(path, "re")) == NULL)
		return config_fail(err, errlen, "%s: %s", path, strerror(errno));
	r = ini_parse_stream(config_read_line, &p, config_ini_handler, &p);
	fclose(p.f);
	free(p.buf);
	for (i = 0; i < p.nseen; i++)
		free(p.seen[i].name);
	free(p.seen);

	/* Our reader catches bad lines first, so this is a fallback. */
	if (r > 0 && (p.failed == 0 || r < p.failed))
		return config_fail(err, errlen, "%s:%d: syntax error", path, r);
	if (p.failed != 0)
		return -1;
	if (r != 0)
		return config_fail(err, errlen, "%s: cannot parse (%d)", path, r);
	free(cfg->path);
	cfg->path = xstrdup(path);
	return 0;
}

/* Split "key", "http.key" or "queue.NAME.key", then assign. */
static int
config_override_key(struct config *cfg, char *key, const char *value,
    char *why, size_t len)
{
	const struct config_section	*sec = &config_sections[0];
	const struct config_key		*k;
	char				*first, *name = NULL;

	if ((first = strchr(key, '.')) != NULL) {
		if ((sec = config_find_section(key, first - key)) == NULL) {
			*first = '\0';
			return config_fail(why, len, "unknown section '%s' (use http, "
			    "queue.NAME, limit.NAME or command.NAME)", key);
		}
		key = first + 1;
		if (sec->named) {
			name = key;
			if ((key = strchr(name, '.')) == NULL) {
				return config_fail(why, len, "needs a key, as in "
				    "%s.NAME.KEY", sec->name);
			}
			*key++ = '\0';
			if (!config_name_valid(name)) {
				return config_fail(why, len, "bad %s name '%s': use 1 "
				    "to %d letters, digits, '_' or '-'", sec->name, name,
				    CONFIG_NAME_MAX);
			}
		}
		if (strchr(key, '.') != NULL && !sec->named)
			return config_fail(why, len, "%s takes no name", sec->name);
		if (strchr(key, '.') != NULL) {
			return config_fail(why, len, "too many dots (names cannot "
			    "contain '.')");
		}
	}
	if (*key == '\0')
		return config_fail(why, len, "missing key");
	if ((k = config_find_key(sec, key)) == NULL)
		return config_unknown_key(sec, key, why, len);
	return config_assign(cfg, sec, name, k, value, why, len);
}

/* Blanks off both ends, as libinih does for the file. */
static char *
config_trim(char *s)
{
	char	*end;

	s += strspn(s, " \t");
	for (end = s + strlen(s); end > s && (end[-1] == ' ' || end[-1] == '\t'); end--)
		end[-1] = '\0';
	return s;
}

int
config_override(struct config *cfg, const char *assignment, char *err,
    size_t errlen)
{
	char	*copy, *value, why[512];
	size_t	 len = strlen(assignment);
	int	 r;

	if (config_has_control(assignment, len)) {
		for (len = 0; !config_has_control(assignment + len, 1); len++)
			continue;
		return config_fail(err, errlen, "-o %.*s...: control character",
		    (int)len, assignment);
	}
	if (strchr(assignment, '=') == NULL)
		return config_fail(err, errlen, "-o %s: expected KEY=VALUE", assignment);
	copy = xstrdup(assignment);
	value = strchr(copy, '=');
	*value++ = '\0';
	r = config_override_key(cfg, config_trim(copy), config_trim(value), why,
	    sizeof(why));
	free(copy);
	if (r == -1)
		return config_fail(err, errlen, "-o %s: %s", assignment, why);
	return 0;
}

int
config_check(struct config *cfg, char *err, size_t errlen)
{
	size_t	i;

	if ((cfg->listen == NULL || cfg->listen[0] == NULL) &&
	    (cfg->unix_socket == NULL || *cfg->unix_socket == '\0')) {
		return config_fail(err, errlen, "no listener: listen and unix_socket "
		    "are both empty");
	}
	for (i = 0; i < cfg->nlimits; i++) {
		if (cfg->limits[i].concurrency == 0) {
			return config_fail(err, errlen, "limit.%s: concurrency is "
			    "required", cfg->limits[i].name);
		}
	}
	for (i = 0; i < cfg->ncommands; i++) {
		if (cfg->commands[i].argv == NULL) {
			return config_fail(err, errlen, "command.%s: argv is required",
			    cfg->commands[i].name);
		}
	}
	return 0;
}

const struct config_queue *
config_find_queue(const struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->nqueues; i++) {
		if (strcmp(cfg->queues[i].name, name) == 0)
			return &cfg->queues[i];
	}
	return NULL;
}

const struct config_limit *
config_find_limit(const struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->nlimits; i++) {
		if (strcmp(cfg->limits[i].name, name) == 0)
			return &cfg->limits[i];
	}
	return NULL;
}

const struct config_command *
config_find_command(const struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->ncommands; i++) {
		if (strcmp(cfg->commands[i].name, name) == 0)
			return &cfg->commands[i];
	}
	return NULL;
}

/* Building and comparing whole configurations (start-up, reload) -------- */

struct config *
config_build(const char *path, char *const *assignments, size_t n, char *err,
    size_t errlen)
{
	struct config	*cfg = config_new();
	struct stat	 st;
	size_t		 i;

	/* The default file is optional: without it, the built-in defaults. */
	if (path == NULL && stat(CONFIG_DEFAULT_PATH, &st) == 0)
		path = CONFIG_DEFAULT_PATH;
	if (path != NULL && config_load_file(cfg, path, err, errlen) == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		if (config_override(cfg, assignments[i], err, errlen) == -1)
			goto fail;
	}
	if (config_check(cfg, err, errlen) == -1)
		goto fail;
	return cfg;
fail:
	config_free(cfg);
	return NULL;
}

/* A value as a person reads it in a log line. */
static void
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
	case CONFIG_STRING:
		snprintf(buf, len, "'%s'", *(char *const *)field != NULL ?
		    *(char *const *)field : "");
		return;
	case CONFIG_LISTEN:
	case CONFIG_ARGV:
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

static void *
config_named(const struct config *cfg, enum config_section_id id, size_t i)
{
	switch (id) {
	case SECTION_QUEUE:
		return &cfg->queues[i];
	case SECTION_LIMIT:
		return &cfg->limits[i];
	case SECTION_COMMAND:
		return &cfg->commands[i];
	default:
		return NULL;
	}
}

static size_t
config_count(const struct config *cfg, enum config_section_id id)
{
	switch (id) {
	case SECTION_QUEUE:
		return cfg->nqueues;
	case SECTION_LIMIT:
		return cfg->nlimits;
	case SECTION_COMMAND:
		return cfg->ncommands;
	default:
		return 0;
	}
}

/* The entry of a named section with this name, or NULL. */
static void *
config_find_named(const struct config *cfg, enum config_section_id id,
    const char *name)
{
	size_t	i;

	for (i = 0; i < config_count(cfg, id); i++) {
		/* Every named entry starts with its name. */
		if (strcmp(*(char **)config_named(cfg, id, i), name) == 0)
			return config_named(cfg, id, i);
	}
	return NULL;
}

/* The keys of one section that differ between two of its entries. */
static void
config_diff_keys(const struct config_section *sec, const char *prefix,
    const void *a, const void *b, config_diff_fn fn, void *arg)
{
	char	key[160], was[512], now[512];
	size_t	i;

	for (i = 0; i < sec->nkeys; i++) {
		config_format(&sec->keys[i], a, was, sizeof(was));
		config_format(&sec->keys[i], b, now, sizeof(now));
		if (strcmp(was, now) == 0)
			continue;
		snprintf(key, sizeof(key), "%s%s", prefix, sec->keys[i].name);
		fn(key, was, now, arg);
	}
}

void
config_diff(const struct config *a, const struct config *b, config_diff_fn fn,
    void *arg)
{
	const struct config_section	*sec;
	const void			*old, *new;
	char				 prefix[96];
	size_t				 s, i;

	for (s = 0; s < nitems(config_sections); s++) {
		sec = &config_sections[s];
		if (!sec->named) {
			snprintf(prefix, sizeof(prefix), "%s%s", sec->name,
			    *sec->name != '\0' ? "." : "");
			config_diff_keys(sec, prefix,
			    sec->id == SECTION_HTTP ? (const void *)&a->http : a,
			    sec->id == SECTION_HTTP ? (const void *)&b->http : b,
			    fn, arg);
			continue;
		}
		for (i = 0; i < config_count(a, sec->id); i++) {
			old = config_named(a, sec->id, i);
			snprintf(prefix, sizeof(prefix), "%s.%s", sec->name,
			    *(char *const *)old);
			if ((new = config_find_named(b, sec->id, *(char *const *)old)) == NULL)
				fn(prefix, "", NULL, arg);
			else {
				size_t	used = strlen(prefix);

				snprintf(prefix + used, sizeof(prefix) - used, ".");
				config_diff_keys(sec, prefix, old, new, fn, arg);
			}
		}
		for (i = 0; i < config_count(b, sec->id); i++) {
			new = config_named(b, sec->id, i);
			if (config_find_named(a, sec->id, *(char *const *)new) == NULL) {
				snprintf(prefix, sizeof(prefix), "%s.%s", sec->name,
				    *(char *const *)new);
				fn(prefix, NULL, "", arg);
			}
		}
	}
}

/* A copy of what the field holds, as config_store() takes it. */
static void
config_copy_value(const struct config_key *k, const void *field,
    union config_value *v)
{
	char *const	*src;

	switch (k->kind) {
	case CONFIG_UINT:
		v->u = *(const unsigned int *)field;
		break;
	case CONFIG_COUNT:
	case CONFIG_SIZE:
		v->z = *(const size_t *)field;
		break;
	case CONFIG_DURATION:
		v->d = *(const double *)field;
		break;
	case CONFIG_BOOL:
		v->b = *(const bool *)field;
		break;
	case CONFIG_MODE:
		v->mode = *(const mode_t *)field;
		break;
	case CONFIG_LOG_LEVEL:
	case CONFIG_LOG_TARGET:
		v->i = *(const int *)field;
		break;
	case CONFIG_STRING:
		v->s = *(char *const *)field != NULL ?
		    xstrdup(*(char *const *)field) : NULL;
		break;
	case CONFIG_LISTEN:
	case CONFIG_ARGV:
		src = *(char **const *)field;
		v->v = src != NULL ? strv_dup(src) : xcalloc(1, sizeof(*v->v));
		break;
	}
}

int
config_keep(struct config *dst, const struct config *src, const char *key)
{
	const struct config_key	*k;
	union config_value	 v;

	if ((k = config_find_key(&config_sections[0], key)) == NULL)
		return -1;
	config_copy_value(k, (const char *)src + k->offset, &v);
	config_store(dst, k, &v);
	return 0;
}
