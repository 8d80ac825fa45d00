/*
 * The two ways in, which both end in config_assign(): an INI file read with
 * libinih, and -o KEY=VALUE.
 *
 * libinih splits "key = value" lines and skips comments.  Our line reader in
 * front of it does what upstream libinih only offers as build options, so we
 * behave the same with any build of it: count lines for messages, check
 * section headers (so even an empty [queue.NAME] exists and a repeated one is
 * caught), keep libinih from treating indented lines as continuations or
 * " ;" as the start of a comment, and read lines of any length up to
 * CONFIG_LINE_MAX, however small libinih's own line buffer (INI_MAX_LINE).
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "runtime/util.h"
#include "service/config_private.h"

/*
 * Stands in for a ';' inside a line while libinih sees it, so that values
 * such as argv keep their semicolons.  Control characters are refused in
 * input, so it can never be confused with one that was there.
 */
#define CONFIG_SEMICOLON	'\037'

/*
 * A key line too long for libinih's buffer reaches it as this key and
 * value; the handler takes the real ones from struct config_parse.  Being a
 * control character, it cannot be a key of the file.
 */
#define CONFIG_LONG		"\036"
#define CONFIG_LINE_MAX		(1024 * 1024)

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
	char				*long_key;	/* of a CONFIG_LONG line, in buf */
	char				*long_value;

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

/* Parse, then store: a bad value changes nothing.  where: its origin. */
static int
config_assign(struct config *cfg, const struct config_section *sec,
    const char *name, const struct config_key *k, const char *value,
    const char *where, char *why, size_t len)
{
	union config_value	v;

	if (config_parse_value(k, value, &v, why, len) == -1)
		return -1;
	config_store(config_section_base(cfg, sec, name), k, &v);
	config_set_origin(cfg, sec, name, k, where);
	return 0;
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
		    "(use [http], [queue.NAME], [limit.NAME], [command.NAME] or [type.NAME])",
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

/* Blanks off both ends, as libinih does for keys and values. */
static char *
config_trim(char *s)
{
	char	*end;

	s += strspn(s, " \t");
	for (end = s + strlen(s); end > s && (end[-1] == ' ' || end[-1] == '\t'); end--)
		end[-1] = '\0';
	return s;
}

/*
 * libinih's line source.  Each line is counted, checked, and handed over with
 * its leading blanks removed (no continuation lines) and any ';' after the
 * first character disguised (no inline comments).  What would not fit in
 * libinih's buffer is shortened to what means the same to it: a section
 * header without what follows it, a comment as an empty line, a key line as
 * CONFIG_LONG = CONFIG_LONG with the key and value kept here.
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
	if (strlen(line) > CONFIG_LINE_MAX) {
		config_fail(p->err, p->errlen, "%s:%d: line is longer than %d bytes",
		    p->path, p->line, CONFIG_LINE_MAX);
		goto fail;
	}

	if (*line == '[') {
		if (config_section_start(p, line) == -1)
			goto fail;
		if (strlen(line) > (size_t)num - 1)
			line[strcspn(line, "]") + 1] = '\0';
	} else if (*line == '\0' || *line == '#' || *line == ';') {
		*line = '\0';
	} else {
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
		if (strlen(line) > (size_t)num - 1) {
			*eq = '\0';
			p->long_key = config_trim(line);
			p->long_value = config_trim(eq + 1);
			line = CONFIG_LONG "=" CONFIG_LONG;
		}
	}
	if ((len = strlen(line)) > (size_t)num - 1) {
		/* A section header that long is refused above; a bug otherwise. */
		config_fail(p->err, p->errlen, "%s:%d: line is longer than %d bytes",
		    p->path, p->line, num - 1);
		goto fail;
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
	char				*key, *value, *where, why[512];
	int				*seen, r;

	if (p->failed != 0)
		return 1;
	if (strcmp(rawkey, CONFIG_LONG) == 0) {
		rawkey = p->long_key;
		rawvalue = p->long_value;
	}
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
	xasprintf(&where, "%s:%d: %s", p->path, p->line, key);
	r = config_assign(p->cfg, sec, p->name, k, value, where, why, sizeof(why));
	free(where);
	if (r == -1)
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
    const char *where, char *why, size_t len)
{
	const struct config_section	*sec = &config_sections[0];
	const struct config_key		*k;
	char				*first, *name = NULL;

	if ((first = strchr(key, '.')) != NULL) {
		if ((sec = config_find_section(key, first - key)) == NULL) {
			*first = '\0';
			return config_fail(why, len, "unknown section '%s' (use http, "
			    "queue.NAME, limit.NAME, command.NAME or type.NAME)", key);
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
	return config_assign(cfg, sec, name, k, value, where, why, len);
}

int
config_override(struct config *cfg, const char *assignment, char *err,
    size_t errlen)
{
	char	*copy, *value, *where, why[512];
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
	xasprintf(&where, "-o %s", assignment);
	r = config_override_key(cfg, config_trim(copy), config_trim(value), where,
	    why, sizeof(why));
	free(where);
	free(copy);
	if (r == -1)
		return config_fail(err, errlen, "-o %s: %s", assignment, why);
	return 0;
}
