/*
 * The configuration: a table of keys per section (config_keys.c), one parser
 * per kind of value (config_value.c), two ways in, a file and -o KEY=VALUE
 * (config_file.c), and the comparison a reload makes (config_diff.c).  Here:
 * making and freeing one, its named entries, the checks across keys, and
 * building the whole of it from its sources.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "runtime/log.h"
#include "runtime/util.h"
#include "service/config_private.h"

/* Every error ends here: the message in err (if there is room), -1 back. */
int
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

void
config_set_origin(struct config *cfg, const struct config_section *sec,
    const char *name, const struct config_key *k, const char *where)
{
	char	*key;
	size_t	 i;

	if (sec->id == SECTION_GLOBAL)
		key = xstrdup(k->name);
	else if (sec->named)
		xasprintf(&key, "%s.%s.%s", sec->name, name, k->name);
	else
		xasprintf(&key, "%s.%s", sec->name, k->name);
	for (i = 0; i < cfg->norigins; i++) {
		if (strcmp(cfg->origins[i].key, key) == 0) {
			free(key);
			free(cfg->origins[i].where);
			cfg->origins[i].where = xstrdup(where);
			return;
		}
	}
	cfg->origins = xreallocarray(cfg->origins, cfg->norigins + 1,
	    sizeof(*cfg->origins));
	cfg->origins[cfg->norigins++] = (struct config_origin){ key, xstrdup(where) };
}

const char *
config_origin(const struct config *cfg, const char *key)
{
	size_t	i;

	for (i = 0; i < cfg->norigins; i++) {
		if (strcmp(cfg->origins[i].key, key) == 0)
			return cfg->origins[i].where;
	}
	return key;
}

bool
config_name_valid(const char *name)
{
	return name_valid(name, strlen(name), false);
}

/* The struct a section's keys live in; a named entry is made on first use. */
void *
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
	cfg->journal = true;
	cfg->journal_sync = JOURNAL_SYNC_ALWAYS;
	cfg->journal_sync_interval = 0.010;
	cfg->journal_max_bytes = (size_t)1 << 30;
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
	cfg->client_output_limit = 32 * 1024 * 1024;
	cfg->max_result_bytes = 256 * 1024 * 1024;
	cfg->line_timeout = 30;
	cfg->max_input_bytes = 256 * 1024 * 1024;

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
	for (i = 0; i < cfg->norigins; i++) {
		free(cfg->origins[i].key);
		free(cfg->origins[i].where);
	}
	free(cfg->origins);
	free(cfg);
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
	if (config_check(cfg, err, errlen) == -1 ||
	    config_check_system(cfg, err, errlen) == -1)
		goto fail;
	return cfg;
fail:
	config_free(cfg);
	return NULL;
}

