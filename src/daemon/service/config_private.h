/*
 * Inside the configuration (config.c, config_keys.c, config_value.c,
 * config_file.c, config_diff.c): the tables that describe each key, and what
 * the readers, the value parsers and the reload diff share.
 */
#ifndef LOOM_CONFIG_PRIVATE_H
#define LOOM_CONFIG_PRIVATE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"

#define KIB			1024.0
#define MIB			(1024.0 * 1024)
#define GIB			(1024.0 * 1024 * 1024)
#define CONFIG_MAX_KEYS		48	/* per section, for the repeat check */

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
	CONFIG_CHOICE,		/* int, the index in the key's choices */
	CONFIG_ROLES,		/* unsigned int, ROLE_* bits: "read, submit" */
	CONFIG_NAMES,		/* char **, names separated by commas or blanks */
	CONFIG_DIGEST,		/* char *, 64 hex digits (a SHA-256), lowercased */
	CONFIG_HOSTS,		/* char **: host names, *.domains, addresses, CIDRs */
	CONFIG_ENV_NAMES,	/* char **: a boolean ("*" or NULL) or names */
};

#define CONFIG_AUTO		0x1	/* "auto" is 0 */
#define CONFIG_NONEMPTY		0x2	/* a string that must be given */
#define CONFIG_ABSOLUTE		0x4	/* a path that must start with '/' */
#define CONFIG_SOCKET		0x8	/* a path that must fit in sun_path */
#define CONFIG_POSITIVE		0x10	/* a duration above 0 */
#define CONFIG_ANY_PORT		0x20	/* listen: port 0 takes any free one */

struct config_key {
	const char		*name;
	enum config_kind	 kind;
	size_t			 offset;
	int			 flags;
	double			 min;
	double			 max;
	const char *const	*choices;	/* CONFIG_CHOICE: NULL-ended */
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

enum config_section_id {
	SECTION_GLOBAL,
	SECTION_HTTP,
	SECTION_TLS,
	SECTION_QUEUE,
	SECTION_LIMIT,
	SECTION_COMMAND,
	SECTION_TOKEN,
	SECTION_TYPE,
};

struct config_section {
	const char		*name;
	enum config_section_id	 id;
	bool			 named;
	const struct config_key	*keys;
	size_t			 nkeys;
};

/* config_keys.c: the global keys are config_sections[0]. */
extern const struct config_section	config_sections[];
extern const size_t			config_nsections;

const struct config_section *config_find_section(const char *, size_t);
const struct config_key *config_find_key(const struct config_section *,
		     const char *);
int		 config_unknown_key(const struct config_section *, const char *,
		     char *, size_t);

/* config_value.c: parse into a union config_value, then store it. */
int		 config_parse_value(const struct config_key *, const char *,
		     union config_value *, char *, size_t);
void		 config_store(void *, const struct config_key *,
		     union config_value *);
void		 config_format(const struct config_key *, const void *, char *,
		     size_t);

/*
 * Where a key got its value, as error messages about it begin:
 * "FILE:LINE: KEY" or "-o KEY=VALUE".  The last assignment wins.
 */
struct config_origin {
	char	*key;		/* as -o names it: "user", "http.ca_file", "command.x.argv" */
	char	*where;
};

/* config.c */
int		 config_fail(char *, size_t, const char *, ...)
		     __attribute__((format(printf, 3, 4)));
void		 config_set_origin(struct config *, const struct config_section *,
		     const char *name, const struct config_key *, const char *where);
/* Where key was set; the key itself if it has its default. */
const char	*config_origin(const struct config *, const char *key);
void		*config_section_base(struct config *,
		     const struct config_section *, const char *);

/* config_token.c: tokens' cross-key checks, and their secrets' digests. */
int		 config_check_tokens(struct config *, char *, size_t);
int		 config_load_secrets(struct config *, char *, size_t);
void		 config_token_clear(struct config_token *);

#endif
