/*
 * What the configuration names on this machine: the programs of commands,
 * [http] ca_file, the files of [tls], files_root, and the users and groups.  Checked once
 * everything is read, so that `loomd -t`, start-up and a reload refuse a
 * configuration whose jobs could only fail, and say which line is at fault.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "runtime/util.h"
#include "service/config_private.h"

/* The message for key, after where it was set. */
static int
config_system_fail(const struct config *cfg, const char *key, char *err,
    size_t errlen, const char *fmt, ...)
{
	char	why[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return config_fail(err, errlen, "%s: %s", config_origin(cfg, key), why);
}

static int
config_check_directory(const struct config *cfg, const char *key,
    const char *path, char *err, size_t errlen)
{
	struct stat	st;

	if (stat(path, &st) == -1) {
		return config_system_fail(cfg, key, err, errlen, "'%s': %s", path,
		    strerror(errno));
	}
	if (!S_ISDIR(st.st_mode)) {
		return config_system_fail(cfg, key, err, errlen,
		    "'%s' is not a directory", path);
	}
	return 0;
}

static int
config_check_readable(const struct config *cfg, const char *key,
    const char *path, char *err, size_t errlen)
{
	struct stat	st;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		return config_system_fail(cfg, key, err, errlen,
		    "cannot read '%s': %s", path, strerror(errno));
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return config_system_fail(cfg, key, err, errlen,
		    "'%s' is not a regular file", path);
	}
	close(fd);
	return 0;
}

static int
config_check_program(const struct config *cfg, const char *key,
    const char *path, char *err, size_t errlen)
{
	struct stat	st;

	if (stat(path, &st) == -1 || access(path, X_OK) == -1) {
		return config_system_fail(cfg, key, err, errlen,
		    "cannot run '%s': %s", path, strerror(errno));
	}
	if (!S_ISREG(st.st_mode)) {
		return config_system_fail(cfg, key, err, errlen,
		    "'%s' is not a regular file", path);
	}
	return 0;
}

static int
config_check_ids(const struct config *cfg, const char *section,
    const char *user, const char *group, char *err, size_t errlen)
{
	char	key[CONFIG_NAME_MAX + 32];

	if (user != NULL && getpwnam(user) == NULL) {
		snprintf(key, sizeof(key), "%suser", section);
		return config_system_fail(cfg, key, err, errlen,
		    "no such user '%s'", user);
	}
	if (group != NULL && getgrnam(group) == NULL) {
		snprintf(key, sizeof(key), "%sgroup", section);
		return config_system_fail(cfg, key, err, errlen,
		    "no such group '%s'", group);
	}
	return 0;
}

/* The files of [tls]: their contents are the TLS context's to judge. */
static int
config_check_tls(const struct config *cfg, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"tls.cert_file", "tls.key_file", "tls.client_ca_file",
	};
	const char	*paths[] = {
		cfg->tls.cert_file, cfg->tls.key_file, cfg->tls.client_ca_file,
	};
	size_t		 i;

	for (i = 0; i < nitems(keys); i++) {
		if (paths[i] != NULL && config_check_readable(cfg, keys[i], paths[i],
		    err, errlen) == -1)
			return -1;
	}
	return 0;
}

int
config_check_system(const struct config *cfg, char *err, size_t errlen)
{
	const struct config_command	*cmd;
	char				 section[CONFIG_NAME_MAX + 16], key[sizeof(section) + 8];
	size_t				 i;

	if (cfg->files_root != NULL && config_check_directory(cfg, "files_root",
	    cfg->files_root, err, errlen) == -1)
		return -1;
	if (config_check_ids(cfg, "", cfg->user, cfg->group, err, errlen) == -1)
		return -1;
	if (cfg->http.ca_file != NULL && config_check_readable(cfg, "http.ca_file",
	    cfg->http.ca_file, err, errlen) == -1)
		return -1;
	if (config_check_tls(cfg, err, errlen) == -1)
		return -1;
	for (i = 0; i < cfg->ncommands; i++) {
		cmd = &cfg->commands[i];
		if (cmd->argv == NULL || cmd->argv[0] == NULL)
			continue;	/* config_check's to refuse */
		snprintf(section, sizeof(section), "command.%s.", cmd->name);
		snprintf(key, sizeof(key), "%sargv", section);
		if (config_check_program(cfg, key, cmd->argv[0], err, errlen) == -1 ||
		    config_check_ids(cfg, section, cmd->user, cmd->group, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}
