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
#include "core/principal.h"
#include "io/netpolicy.h"
#include "runtime/log.h"
#include "runtime/util.h"
#include "service/config_private.h"
#include "service/metrics.h"

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
	size_t	 i;

	switch (sec->id) {
	case SECTION_GLOBAL:
		return cfg;
	case SECTION_HTTP:
		return &cfg->http;
	case SECTION_TLS:
		return &cfg->tls;
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
	case SECTION_TOKEN:
		if ((found = (void *)config_find_token(cfg, name)) != NULL)
			return found;
		cfg->tokens = xreallocarray(cfg->tokens, cfg->ntokens + 1,
		    sizeof(*cfg->tokens));
		cfg->tokens[cfg->ntokens] = (struct config_token){
			.name = xstrdup(name),
		};
		return &cfg->tokens[cfg->ntokens++];
	case SECTION_TYPE:
		for (i = 0; i < cfg->ntypes; i++) {
			if (strcmp(cfg->types[i].name, name) == 0)
				return &cfg->types[i];
		}
		cfg->types = xreallocarray(cfg->types, cfg->ntypes + 1,
		    sizeof(*cfg->types));
		cfg->types[cfg->ntypes] = (struct config_type){
			.name = xstrdup(name),
			.lease = 60,
		};
		return &cfg->types[cfg->ntypes++];
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
	/* TCP only once configured, with tokens (doc/security.md). */
	cfg->listen = xcalloc(1, sizeof(*cfg->listen));
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
	cfg->max_workers = 1024;
	cfg->max_worker_types = 256;
	cfg->max_worker_concurrency = 1024;
	cfg->result_ttl = 3600;
	cfg->slow_callback_ms = 100;
	cfg->loop_spin_us = 0;
	cfg->log_level = LOG_INFO;
	cfg->log_target = LOG_TO_STDERR;
	cfg->log_format = LOG_FORMAT_TEXT;
	cfg->log_jobs = LOG_JOBS_FAILED;
	cfg->metrics_listen = xcalloc(1, sizeof(*cfg->metrics_listen));
	cfg->shutdown_grace = 30;
	cfg->kill_grace = 5;
	cfg->idle_timeout = 0;
	cfg->auth_tcp = AUTH_TCP_TOKEN;
	cfg->unix_socket_roles = ROLE_ADMIN;
	cfg->token_max_jobs = 100000;
	cfg->max_result_ttl = 0;
	cfg->auth_timeout = 30;
	cfg->client_output_limit = 32 * 1024 * 1024;
	cfg->max_result_bytes = 192 * 1024 * 1024;
	cfg->line_timeout = 30;
	cfg->max_input_bytes = 256 * 1024 * 1024;

	cfg->http.max_body = 1024 * 1024;
	cfg->http.timeout = 30;
	cfg->http.per_host = 8;
	cfg->http.user_agent = xstrdup("loomd/" PACKAGE_VERSION);

	cfg->tls_listen = xcalloc(1, sizeof(*cfg->tls_listen));
	cfg->tls.min_version = CONFIG_TLS_1_2;
	cfg->tls.handshake_timeout = 10;
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
	strv_free(cfg->tls_listen);
	strv_free(cfg->metrics_listen);
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
		free(cfg->commands[i].args_pattern);
		strv_free(cfg->commands[i].allow_env);
		if (cfg->commands[i].args_re != NULL) {
			regfree(cfg->commands[i].args_re);
			free(cfg->commands[i].args_re);
		}
	}
	free(cfg->commands);
	for (i = 0; i < cfg->ntokens; i++)
		config_token_clear(&cfg->tokens[i]);
	free(cfg->tokens);
	for (i = 0; i < cfg->ntypes; i++)
		free(cfg->types[i].name);
	free(cfg->types);
	free(cfg->http.ca_file);
	free(cfg->http.user_agent);
	free(cfg->tls.cert_file);
	free(cfg->tls.key_file);
	free(cfg->tls.client_ca_file);
	strv_free(cfg->http.allow_hosts);
	strv_free(cfg->http.deny_hosts);
	netpolicy_unref(cfg->http.policy);
	for (i = 0; i < cfg->norigins; i++) {
		free(cfg->origins[i].key);
		free(cfg->origins[i].where);
	}
	free(cfg->origins);
	free(cfg);
}

/* args_pattern must match an argument whole: ^(...)$, compiled once. */
static int
config_compile_args_pattern(struct config_command *cmd, char *err,
    size_t errlen)
{
	char	*anchored, why[256];
	int	 r;

	if (cmd->args_re != NULL) {
		regfree(cmd->args_re);
		free(cmd->args_re);
		cmd->args_re = NULL;
	}
	if (cmd->args_pattern == NULL)
		return 0;
	cmd->args_re = xcalloc(1, sizeof(*cmd->args_re));
	xasprintf(&anchored, "^(%s)$", cmd->args_pattern);
	r = regcomp(cmd->args_re, anchored, REG_EXTENDED | REG_NOSUB);
	free(anchored);
	if (r != 0) {
		regerror(r, cmd->args_re, why, sizeof(why));
		free(cmd->args_re);
		cmd->args_re = NULL;
		return config_fail(err, errlen, "command.%s: args_pattern: '%s' is "
		    "not a POSIX extended regular expression: %s", cmd->name,
		    cmd->args_pattern, why);
	}
	return 0;
}

/* [http] allow_private, allow_hosts and deny_hosts, as one policy. */
static int
config_build_policy(struct config_http *http, char *err, size_t errlen)
{
	char	why[256];

	netpolicy_unref(http->policy);
	http->policy = netpolicy_new(http->allow_private, http->allow_hosts,
	    http->deny_hosts, why, sizeof(why));
	if (http->policy == NULL)
		return config_fail(err, errlen, "http.%s", why);
	return 0;
}

int
config_check(struct config *cfg, char *err, size_t errlen)
{
	bool	tls = cfg->tls_listen != NULL && cfg->tls_listen[0] != NULL;
	size_t	i;

	if ((cfg->listen == NULL || cfg->listen[0] == NULL) && !tls &&
	    (cfg->unix_socket == NULL || *cfg->unix_socket == '\0')) {
		return config_fail(err, errlen, "no listener: listen and unix_socket "
		    "are both empty");
	}
	if (tls && (cfg->tls.cert_file == NULL || cfg->tls.key_file == NULL)) {
		return config_fail(err, errlen, "%s: tls.cert_file and tls.key_file "
		    "are required", config_origin(cfg, "tls_listen"));
	}
	if ((cfg->tls.cert_file == NULL) != (cfg->tls.key_file == NULL)) {
		return config_fail(err, errlen, "%s: tls.cert_file and tls.key_file "
		    "go together", config_origin(cfg, cfg->tls.cert_file != NULL ?
		    "tls.cert_file" : "tls.key_file"));
	}
	for (i = 0; cfg->metrics_listen[i] != NULL; i++) {
		if (!metrics_listen_is_loopback(cfg->metrics_listen[i]) &&
		    !metrics_auth_required(cfg)) {
			return config_fail(err, errlen, "metrics_listen %s: not a "
			    "loopback address and no token is configured: the "
			    "metrics and the dashboard would be open to anyone who "
			    "can connect; listen on 127.0.0.1 or [::1], or configure "
			    "a token with role read", cfg->metrics_listen[i]);
		}
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
		if (config_compile_args_pattern(&cfg->commands[i], err,
		    errlen) == -1)
			return -1;
	}
	if (config_check_tokens(cfg, err, errlen) == -1)
		return -1;
	return config_build_policy(&cfg->http, err, errlen);
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

const struct config_token *
config_find_token(const struct config *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->ntokens; i++) {
		if (strcmp(cfg->tokens[i].name, name) == 0)
			return &cfg->tokens[i];
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
	    config_check_system(cfg, err, errlen) == -1 ||
	    config_load_secrets(cfg, err, errlen) == -1)
		goto fail;
	return cfg;
fail:
	config_free(cfg);
	return NULL;
}

