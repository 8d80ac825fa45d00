/*
 * The list of environment variables that exec never passes from a client
 * (exec_env.h).  An entry ending in '*' covers every name with that prefix.
 */
#include "autoconf.h"

#include <string.h>

#include "jobs/exec_env.h"

static const char *const exec_env_deny[] = {
	/* The dynamic loader and the C library. */
	"LD_*", "DYLD_*", "GCONV_PATH", "GETCONF_DIR", "GLIBC_TUNABLES",
	"HOSTALIASES", "LOCALDOMAIN", "LOCPATH", "MALLOC_*", "NIS_PATH",
	"NLSPATH", "RES_OPTIONS", "RESOLV_HOST_CONF", "TZDIR",
	/* How the command's words are found and split. */
	"PATH", "IFS",
	/* Shells: start-up files, options, prompts run with -x. */
	"BASH_*", "BASHOPTS", "CDPATH", "ENV", "GLOBIGNORE", "PROMPT_COMMAND",
	"PS1", "PS2", "PS3", "PS4", "SHELLOPTS", "ZDOTDIR",
	/* Interpreters: options, start-up code and module paths. */
	"PYTHON*", "PERL5*", "PERLLIB", "PERLIO", "RUBY*", "GEM_*", "BUNDLE_*",
	"NODE_OPTIONS", "NODE_PATH", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS",
	"JDK_JAVA_OPTIONS", "CLASSPATH", "LUA_INIT*", "LUA_PATH*", "LUA_CPATH*",
	"PHPRC", "PHP_INI_SCAN_DIR", "TCLLIBPATH", "R_PROFILE*", "R_ENVIRON*",
	/* Libraries that load modules or run helpers named by a variable. */
	"OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES", "GIT_*",
	"SSH_ASKPASS", "EDITOR", "VISUAL", "PAGER",
	/* loomd's own marker, by which it finds a job's processes. */
	"LOOMD_*",
	NULL
};

bool
exec_env_name_ok(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return false;
	for (s++; *s != '\0'; s++) {
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		    (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	}
	return true;
}

const char *
exec_env_forbidden(const char *name)
{
	const char	*e;
	size_t		 i, len = strcspn(name, "*"), elen;

	for (i = 0; (e = exec_env_deny[i]) != NULL; i++) {
		elen = strlen(e);
		if (e[elen - 1] == '*') {
			if (len >= elen - 1 && strncmp(name, e, elen - 1) == 0)
				return e;
		} else if (len == elen && strncmp(name, e, len) == 0)
			return e;
	}
	return NULL;
}
