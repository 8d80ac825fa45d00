/*
 * Job specs: checking what a client submits, once, into the immutable
 * struct job_spec that jobs are made from (submit.c).  This runs on the
 * submitting connection's loop; a composite parses its children's specs
 * through here at submit and keeps them for every attempt.
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/job.h"
#include "core/job_private.h"
#include "core/jobrecord.h"
#include "core/loomd.h"
#include "core/queue.h"
#include "core/registry.h"
#include "core/sem.h"
#include "runtime/fields.h"
#include "runtime/future.h"
#include "runtime/jsonload.h"
#include "runtime/log.h"
#include "runtime/textbuf.h"
#include "runtime/util.h"

#define JOB_NAME_MAX	128
#define JOB_KEY_MAX	256
#define JOB_RETRIES_MAX	1000
#define JOB_AFTER_MAX	1000

static const char *const job_spec_fields[] = {
	"type", "args", "name", "queue", "priority", "delay", "timeout",
	"retries", "retry_delay", "ttl", "key", "after", "limits", "lock",
	"shield", "on_interrupt", NULL
};
static const char *const job_on_interrupt[] = { "rerun", "fail", NULL };

/* Composites parse their children through here: this is how deep we are. */
static __thread int	job_parse_depth;

static int
resource_cmp(const void *a, const void *b)
{
	return strcmp(sem_name(*(struct sem *const *)a), sem_name(*(struct sem *const *)b));
}

/* `limits` and `lock`, in the one order every job acquires them in. */
static int
job_spec_resources(struct job_spec *s, const json_t *spec, const char *base,
    struct error *e)
{
	const json_t	*limits = json_object_get(spec, "limits"), *v;
	const char	*lock = NULL;
	char		 path[256], key[32];
	struct sem	*sem;
	size_t		 i, j;

	if (limits != NULL && !json_is_null(limits)) {
		if (!json_is_array(limits) || json_array_size(limits) > JOB_LIMITS_MAX)
			return fields_fail(e, base, "limits",
			    "must be an array of at most %d limit names", JOB_LIMITS_MAX);
		if (s->resources == NULL && json_array_size(limits) > 0)
			s->resources = xcalloc(JOB_LIMITS_MAX + 1,
			    sizeof(*s->resources));
		json_array_foreach(limits, i, v) {
			snprintf(key, sizeof(key), "limits[%zu]", i);
			if (!json_is_string(v))
				return fields_fail(e, base, key, "must be a string");
			if ((sem = limit_find(json_string_value(v))) == NULL) {
				field_path(path, sizeof(path), base, key);
				return fields_fail(e, base, key, "no limit \"%s\" is "
				    "configured ([limit.NAME] in the config)",
				    json_string_value(v));
			}
			for (j = 0; j < s->nresources; j++) {
				if (s->resources[j] == sem)
					return fields_fail(e, base, key, "\"%s\" is "
					    "listed twice", json_string_value(v));
			}
			s->resources[s->nresources++] = sem;
		}
		if (s->nresources > 1)
			qsort(s->resources, s->nresources, sizeof(*s->resources),
			    resource_cmp);
	}
	if (field_name(spec, base, "lock", FIELD_OPTIONAL, &lock, e) == -1)
		return -1;
	if (lock != NULL) {
		/* After every limit: the same global order for everyone. */
		if (s->resources == NULL)
			s->resources = xcalloc(JOB_LIMITS_MAX + 1,
			    sizeof(*s->resources));
		s->resources[s->nresources++] = lock_get(lock);
	}
	return 0;
}

/* `after`: ids of jobs that must finish done first; they must exist now. */
static int
job_spec_after(struct job_spec *s, const json_t *spec, const char *base,
    struct error *e)
{
	const json_t	*after = json_object_get(spec, "after"), *v;
	struct future	*f;
	struct loop	*owner;
	char		 key[32];
	size_t		 i;

	if (after == NULL || json_is_null(after))
		return 0;
	if (!json_is_array(after) || json_array_size(after) > JOB_AFTER_MAX)
		return fields_fail(e, base, "after", "must be an array of at most %d "
		    "job ids", JOB_AFTER_MAX);
	s->after = xcalloc(json_array_size(after), sizeof(*s->after));
	json_array_foreach(after, i, v) {
		snprintf(key, sizeof(key), "after[%zu]", i);
		if (!json_is_integer(v) || json_integer_value(v) < 1)
			return fields_fail(e, base, key, "must be a job id");
		if (!registry_lookup((uint64_t)json_integer_value(v), &owner, &f))
			return fields_fail(e, base, key, "no job %lld (it never "
			    "existed, or its result expired)",
			    (long long)json_integer_value(v));
		future_unref(f);
		s->after[s->nafter++] = (uint64_t)json_integer_value(v);
	}
	return 0;
}

/* The options around `type` and `args`. */
static int
job_spec_options(struct job_spec *s, const json_t *spec, const char *base,
    const char **type, struct error *e)
{
	const char	*name = NULL, *queue = NULL, *key = NULL;
	json_int_t	 priority = 0, retries = 0;
	int		 on_interrupt = 0;

	s->retry_delay = 1;
	s->ttl = loomd.config->result_ttl;
	if (fields_object(spec, base, job_spec_fields, e) == -1 ||
	    field_string(spec, base, "type", FIELD_REQUIRED, LOOM_NAME_MAX, type,
	    e) == -1 ||
	    field_string(spec, base, "name", FIELD_OPTIONAL, JOB_NAME_MAX, &name, e) == -1 ||
	    field_name(spec, base, "queue", FIELD_OPTIONAL, &queue, e) == -1 ||
	    field_integer(spec, base, "priority", FIELD_OPTIONAL, INT32_MIN, INT32_MAX,
	    &priority, e) == -1 ||
	    field_number(spec, base, "delay", FIELD_OPTIONAL, 0, SECONDS_MAX,
	    &s->delay, e) == -1 ||
	    field_number_above(spec, base, "timeout", FIELD_OPTIONAL, 0,
	    SECONDS_MAX, &s->timeout, e) == -1 ||
	    field_integer(spec, base, "retries", FIELD_OPTIONAL, 0, JOB_RETRIES_MAX,
	    &retries, e) == -1 ||
	    field_number(spec, base, "retry_delay", FIELD_OPTIONAL, 0, SECONDS_MAX,
	    &s->retry_delay, e) == -1 ||
	    field_number(spec, base, "ttl", FIELD_OPTIONAL, 0, SECONDS_MAX,
	    &s->ttl, e) == -1 ||
	    field_string(spec, base, "key", FIELD_OPTIONAL, JOB_KEY_MAX, &key, e) == -1 ||
	    field_bool(spec, base, "shield", FIELD_OPTIONAL, &s->shield, e) == -1 ||
	    field_choice(spec, base, "on_interrupt", FIELD_OPTIONAL,
	    job_on_interrupt, &on_interrupt, e) == -1)
		return -1;
	s->fail_interrupted = on_interrupt == 1;
	/* max_result_ttl bounds what finished jobs may hold, for everyone. */
	if (loomd.config->max_result_ttl > 0 && s->ttl > loomd.config->max_result_ttl)
		s->ttl = loomd.config->max_result_ttl;
	if (key != NULL && *key == '\0')
		return fields_fail(e, base, "key", "must not be empty");
	s->name = name != NULL ? xstrdup(name) : NULL;
	s->key = key != NULL ? xstrdup(key) : NULL;
	s->priority = (int)priority;
	s->retries = (unsigned int)retries;
	if (queue != NULL)
		s->queue = job_queue_get(queue);
	return 0;
}

/* `type` and `args`, which the type checks. */
static int
job_spec_args(struct job_spec *s, const json_t *spec, const char *base,
    const char *type, struct error *e)
{
	const json_t	*args;
	char		 path[256];
	int		 rc;

	if ((s->type = job_type_find(type)) == NULL) {
		error_set(e, "unknown_type", "%s: no job type \"%s\"",
		    field_path(path, sizeof(path), base, "type"), type);
		error_set_path(e, path);
		return -1;
	}
	args = json_object_get(spec, "args");
	if (args != NULL && json_is_null(args))
		args = NULL;
	if (args != NULL && !json_is_object(args))
		return fields_fail(e, base, "args", "must be an object");
	field_path(path, sizeof(path), base, "args");
	job_parse_depth++;
	rc = s->type->parse(args, path, loomd.config, &s->parsed, e);
	job_parse_depth--;
	/* What the type keeps of its args, about: a composite's are its
	 * children's specs, which count themselves. */
	if (rc == 0 && args != NULL && s->type->children == NULL)
		s->held = json_held_size(args);
	return rc;
}

void
job_spec_init(struct job_spec *s)
{
	memset(s, 0, sizeof(*s));
	atomic_init(&s->refs, 1);
}

/*
 * Fill an initialised spec from JSON; on failure it still needs clearing.
 * With a store, the spec keeps its text for the store: text if the caller
 * has it (a replay, from its record; a submit, from its request line; then
 * s->text is the caller's to place), else the JSON written again.
 */
int
job_spec_fill(struct job_spec *s, const json_t *spec, const char *base,
    bool has_text, struct error *e)
{
	const char	*type = NULL;

	if (job_parse_depth >= JOB_DEPTH_MAX)
		return fields_fail(e, base, NULL, "jobs nest more than %d deep",
		    JOB_DEPTH_MAX);
	if (job_spec_options(s, spec, base, &type, e) == -1 ||
	    job_spec_resources(s, spec, base, e) == -1 ||
	    job_spec_after(s, spec, base, e) == -1 ||
	    job_spec_args(s, spec, base, type, e) == -1) {
		s->held = 0;	/* not counted yet */
		return -1;
	}
	/* A store writes the spec as it came; replay parses it again. */
	if (!has_text && job_record_keeps_specs()) {
		struct textbuf	tb = { 0 };

		textbuf_json(&tb, spec);
		s->text = textbuf_steal(&tb, &s->text_len);
		s->held += s->text_len;
	}
	/* Counted for as long as it is held (max_result_bytes). */
	job_hold(s->held);
	return 0;
}

void
job_spec_clear(struct job_spec *s)
{
	size_t	i;

	job_unhold(s->held);
	if (s->parsed != NULL && s->type->free_parsed != NULL)
		s->type->free_parsed(s->parsed);
	for (i = 0; i < s->nresources; i++) {
		if (sem_is_lock(s->resources[i]))
			lock_put(s->resources[i]);
	}
	if (s->queue != NULL)
		job_queue_put(s->queue);
	free(s->resources);
	free(s->name);
	free(s->key);
	free(s->after);
	if (!s->text_inline)
		free(s->text);
}

struct job_spec *
job_spec_parse(const json_t *spec, const char *base, struct error *e)
{
	struct job_spec	*s = xmalloc(sizeof(*s));

	job_spec_init(s);
	if (job_spec_fill(s, spec, base, false, e) == -1) {
		job_spec_clear(s);
		free(s);
		return NULL;
	}
	return s;
}

void
job_spec_unref(const struct job_spec *cs)
{
	struct job_spec	*s = (struct job_spec *)cs;

	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	job_spec_clear(s);
	if (!s->embedded)
		free(s);
}

/* This spec's job and everything a composite will make under it. */
size_t
job_spec_tree_size(const struct job_spec *s)
{
	return 1 + (s->type->descendants != NULL ?
	    s->type->descendants(s->parsed) : 0);
}

static const char *
job_spec_command_denied(const struct job_spec *s,
    bool (*allowed)(const char *, void *), void *arg)
{
	const struct job_spec *const	*kids;
	const char			*cmd;
	size_t				 n, i;

	if (s->type->command != NULL &&
	    (cmd = s->type->command(s->parsed)) != NULL && !allowed(cmd, arg))
		return cmd;
	if (s->type->children == NULL)
		return NULL;
	kids = s->type->children(s->parsed, &n);
	for (i = 0; i < n; i++) {
		/* Depth is bounded by JOB_DEPTH_MAX, checked at parse. */
		if ((cmd = job_spec_command_denied(kids[i], allowed, arg)) != NULL)
			return cmd;
	}
	return NULL;
}

const char *
job_command_denied(const struct job *job, bool (*allowed)(const char *, void *),
    void *arg)
{
	return job_spec_command_denied(job->spec, allowed, arg);
}

bool
job_spec_shield(const struct job_spec *s)
{
	return s->shield;
}
