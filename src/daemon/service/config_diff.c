/*
 * What a reload needs of two whole configurations: every key whose value
 * differs, as text for the log, and the old value of a key that only a
 * restart may change.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "runtime/util.h"
#include "service/config_private.h"

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
	case SECTION_TYPE:
		return &cfg->types[i];
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
	case SECTION_TYPE:
		return cfg->ntypes;
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

	for (s = 0; s < config_nsections; s++) {
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
	case CONFIG_CHOICE:
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
