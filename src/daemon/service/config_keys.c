/*
 * The keys: one table per section, each key with its kind of value, where
 * it is stored and its range.  Both ways in (the file and -o) and the reload
 * diff walk these tables, so a key added here is known everywhere.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "runtime/util.h"
#include "service/config_private.h"

#define CONFIG_DURATION_MAX	1e9	/* about 31 years: fits any timer */

static const char *const config_sync_modes[] = { "always", "batch", "off", NULL };
static const char *const config_tls_versions[] = { "1.2", "1.3", NULL };
static const char *const config_auth_modes[] = { "token", "none", NULL };
/* In the order of enum log_format and enum log_jobs. */
static const char *const config_log_formats[] = { "text", "json", NULL };
static const char *const config_log_jobs[] = { "all", "failed", "none", NULL };

#define G(f)	offsetof(struct config, f)
static const struct config_key config_global_keys[] = {
	{ "loops", CONFIG_UINT, G(loops), CONFIG_AUTO, 0, 256, NULL },
	{ "executor_threads", CONFIG_UINT, G(executor_threads), CONFIG_AUTO, 0, 256, NULL },
	{ "executor_queue", CONFIG_COUNT, G(executor_queue), 0, 1, 1e8, NULL },
	{ "listen", CONFIG_LISTEN, G(listen), 0, 0, 0, NULL },
	{ "tls_listen", CONFIG_LISTEN, G(tls_listen), 0, 0, 0, NULL },
	{ "unix_socket", CONFIG_STRING, G(unix_socket), CONFIG_SOCKET, 0, 0, NULL },
	{ "unix_socket_mode", CONFIG_MODE, G(unix_socket_mode), 0, 0, 0777, NULL },
	{ "state_dir", CONFIG_STRING, G(state_dir), CONFIG_NONEMPTY, 0, 0, NULL },
	{ "journal", CONFIG_BOOL, G(journal), 0, 0, 0, NULL },
	{ "journal_sync", CONFIG_CHOICE, G(journal_sync), 0, 0, 0, config_sync_modes },
	{ "journal_sync_interval", CONFIG_DURATION, G(journal_sync_interval),
	    CONFIG_POSITIVE, 0, 60, NULL },
	{ "journal_max_bytes", CONFIG_SIZE, G(journal_max_bytes), 0, 16 * MIB,
	    1024 * GIB, NULL },
	{ "journal_repair", CONFIG_BOOL, G(journal_repair), 0, 0, 0, NULL },
	{ "max_line_bytes", CONFIG_SIZE, G(max_line_bytes), 0, 1024, GIB, NULL },
	{ "line_timeout", CONFIG_DURATION, G(line_timeout), 0, 0, CONFIG_DURATION_MAX, NULL },
	{ "max_input_bytes", CONFIG_SIZE, G(max_input_bytes), 0, 0, 1024 * GIB, NULL },
	{ "max_connections", CONFIG_UINT, G(max_connections), 0, 1, 1e6, NULL },
	{ "max_jobs", CONFIG_COUNT, G(max_jobs), 0, 1, 1e9, NULL },
	{ "max_result_bytes", CONFIG_SIZE, G(max_result_bytes), 0, 0, 1024 * GIB, NULL },
	{ "max_children", CONFIG_COUNT, G(max_children), 0, 1, 1e6, NULL },
	{ "result_ttl", CONFIG_DURATION, G(result_ttl), 0, 0, CONFIG_DURATION_MAX, NULL },
	{ "slow_callback_ms", CONFIG_UINT, G(slow_callback_ms), 0, 0, 3600000, NULL },
	{ "loop_spin_us", CONFIG_UINT, G(loop_spin_us), 0, 0, 1000000, NULL },
	{ "log_level", CONFIG_LOG_LEVEL, G(log_level), 0, 0, 0, NULL },
	{ "log_target", CONFIG_LOG_TARGET, G(log_target), 0, 0, 0, NULL },
	{ "log_format", CONFIG_CHOICE, G(log_format), 0, 0, 0, config_log_formats },
	{ "log_jobs", CONFIG_CHOICE, G(log_jobs), 0, 0, 0, config_log_jobs },
	{ "metrics_listen", CONFIG_LISTEN, G(metrics_listen), CONFIG_ANY_PORT, 0, 0,
	    NULL },
	{ "files_root", CONFIG_STRING, G(files_root), 0, 0, 0, NULL },
	{ "shutdown_grace", CONFIG_DURATION, G(shutdown_grace), 0, 0, CONFIG_DURATION_MAX, NULL },
	{ "kill_grace", CONFIG_DURATION, G(kill_grace), 0, 0, CONFIG_DURATION_MAX, NULL },
	{ "idle_timeout", CONFIG_DURATION, G(idle_timeout), 0, 0, CONFIG_DURATION_MAX, NULL },
	{ "client_output_limit", CONFIG_SIZE, G(client_output_limit), 0, 0,
	    1024 * GIB, NULL },
	{ "user", CONFIG_STRING, G(user), 0, 0, 0, NULL },
	{ "group", CONFIG_STRING, G(group), 0, 0, 0, NULL },
	{ "auth_tcp", CONFIG_CHOICE, G(auth_tcp), 0, 0, 0, config_auth_modes },
	{ "unix_socket_roles", CONFIG_ROLES, G(unix_socket_roles), 0, 0, 0, NULL },
	{ "token_max_jobs", CONFIG_COUNT, G(token_max_jobs), 0, 0, 1e9, NULL },
	{ "max_result_ttl", CONFIG_DURATION, G(max_result_ttl), 0, 0,
	    CONFIG_DURATION_MAX, NULL },
	{ "auth_timeout", CONFIG_DURATION, G(auth_timeout), 0, 0,
	    CONFIG_DURATION_MAX, NULL },
	{ "max_workers", CONFIG_UINT, G(max_workers), 0, 1, 1e6, NULL },
	{ "max_worker_types", CONFIG_UINT, G(max_worker_types), 0, 1, 4096, NULL },
	{ "max_worker_concurrency", CONFIG_UINT, G(max_worker_concurrency), 0, 1,
	    1e6, NULL },
};
#undef G

#define H(f)	offsetof(struct config_http, f)
static const struct config_key config_http_keys[] = {
	{ "ca_file", CONFIG_STRING, H(ca_file), 0, 0, 0, NULL },
	{ "max_body", CONFIG_SIZE, H(max_body), 0, 1, GIB, NULL },
	{ "timeout", CONFIG_DURATION, H(timeout), CONFIG_POSITIVE, 0, CONFIG_DURATION_MAX, NULL },
	{ "per_host", CONFIG_UINT, H(per_host), 0, 1, 10000, NULL },
	{ "user_agent", CONFIG_STRING, H(user_agent), 0, 0, 0, NULL },
	{ "allow_private", CONFIG_BOOL, H(allow_private), 0, 0, 0, NULL },
	{ "allow_hosts", CONFIG_HOSTS, H(allow_hosts), 0, 0, 0, NULL },
	{ "deny_hosts", CONFIG_HOSTS, H(deny_hosts), 0, 0, 0, NULL },
};
#undef H

#define T(f)	offsetof(struct config_tls, f)
static const struct config_key config_tls_keys[] = {
	{ "cert_file", CONFIG_STRING, T(cert_file), 0, 0, 0, NULL },
	{ "key_file", CONFIG_STRING, T(key_file), 0, 0, 0, NULL },
	{ "min_version", CONFIG_CHOICE, T(min_version), 0, 0, 0, config_tls_versions },
	{ "client_ca_file", CONFIG_STRING, T(client_ca_file), 0, 0, 0, NULL },
	{ "handshake_timeout", CONFIG_DURATION, T(handshake_timeout), CONFIG_POSITIVE,
	    0, 3600, NULL },
};
#undef T

#define Q(f)	offsetof(struct config_queue, f)
static const struct config_key config_queue_keys[] = {
	{ "concurrency", CONFIG_UINT, Q(concurrency), 0, 0, 1e6, NULL },
	{ "max_pending", CONFIG_COUNT, Q(max_pending), 0, 0, 1e9, NULL },
};
#undef Q

static const struct config_key config_limit_keys[] = {
	{ "concurrency", CONFIG_UINT, offsetof(struct config_limit, concurrency),
	  0, 1, 1e6, NULL },
};

static const struct config_key config_type_keys[] = {
	{ "lease", CONFIG_DURATION, offsetof(struct config_type, lease),
	  CONFIG_POSITIVE, 0, CONFIG_DURATION_MAX, NULL },
};

#define C(f)	offsetof(struct config_command, f)
static const struct config_key config_command_keys[] = {
	{ "argv", CONFIG_ARGV, C(argv), 0, 0, 0, NULL },
	{ "allow_args", CONFIG_BOOL, C(allow_args), 0, 0, 0, NULL },
	{ "allow_options", CONFIG_BOOL, C(allow_options), 0, 0, 0, NULL },
	{ "args_pattern", CONFIG_STRING, C(args_pattern), 0, 0, 0, NULL },
	{ "allow_env", CONFIG_ENV_NAMES, C(allow_env), 0, 0, 0, NULL },
	{ "cwd", CONFIG_STRING, C(cwd), CONFIG_ABSOLUTE, 0, 0, NULL },
	{ "timeout", CONFIG_DURATION, C(timeout), 0, 0, CONFIG_DURATION_MAX, NULL },
	{ "max_output", CONFIG_SIZE, C(max_output), 0, 1, GIB, NULL },
	{ "user", CONFIG_STRING, C(user), 0, 0, 0, NULL },
	{ "group", CONFIG_STRING, C(group), 0, 0, 0, NULL },
};
#undef C

#define T(f)	offsetof(struct config_token, f)
static const struct config_key config_token_keys[] = {
	{ "secret_sha256", CONFIG_DIGEST, T(secret_sha256), 0, 0, 0, NULL },
	{ "secret_file", CONFIG_STRING, T(secret_file), 0, 0, 0, NULL },
	{ "roles", CONFIG_ROLES, T(roles), 0, 0, 0, NULL },
	{ "commands", CONFIG_NAMES, T(commands), 0, 0, 0, NULL },
	{ "max_jobs", CONFIG_COUNT, T(max_jobs), 0, 0, 1e9, NULL },
	{ "cert_cn", CONFIG_STRING, T(cert_cn), 0, 0, 0, NULL },
};
#undef T

const struct config_section config_sections[] = {
	{ "", SECTION_GLOBAL, false, config_global_keys, nitems(config_global_keys) },
	{ "http", SECTION_HTTP, false, config_http_keys, nitems(config_http_keys) },
	{ "tls", SECTION_TLS, false, config_tls_keys, nitems(config_tls_keys) },
	{ "queue", SECTION_QUEUE, true, config_queue_keys, nitems(config_queue_keys) },
	{ "limit", SECTION_LIMIT, true, config_limit_keys, nitems(config_limit_keys) },
	{ "command", SECTION_COMMAND, true, config_command_keys,
	  nitems(config_command_keys) },
	{ "token", SECTION_TOKEN, true, config_token_keys, nitems(config_token_keys) },
	{ "type", SECTION_TYPE, true, config_type_keys, nitems(config_type_keys) },
};
const size_t config_nsections = nitems(config_sections);

_Static_assert(nitems(config_global_keys) <= CONFIG_MAX_KEYS,
    "raise CONFIG_MAX_KEYS");

/* A section by the name before its dot; the global keys have no header. */
const struct config_section *
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

const struct config_key *
config_find_key(const struct config_section *sec, const char *key)
{
	size_t	i;

	for (i = 0; i < sec->nkeys; i++) {
		if (strcmp(sec->keys[i].name, key) == 0)
			return &sec->keys[i];
	}
	return NULL;
}

/* Why a key is unknown: a global key given in a section, or this section's. */
int
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

