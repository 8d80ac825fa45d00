/*
 * [token.NAME] sections: what must hold across their keys, and their
 * secrets' digests.  A secret is never kept, only its SHA-256: given as
 * secret_sha256, or computed here from secret_file, which must be a regular
 * file that no one but its owner may read or write (mode 0600 or stricter).
 * Its contents, without a trailing newline, are the secret.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/config.h"
#include "core/principal.h"
#include "runtime/util.h"
#include "service/config_private.h"

#define TOKEN_FILE_MAX	4096	/* a secret file's largest size */

void
config_token_clear(struct config_token *t)
{
	free(t->name);
	free(t->secret_sha256);
	free(t->secret_file);
	strv_free(t->commands);
	free(t->cert_cn);
	OPENSSL_cleanse(t->digest, sizeof(t->digest));
}

static int
config_hex_digest(const char *hex, unsigned char *out)
{
	unsigned int	byte;
	size_t		i;

	for (i = 0; i < TOKEN_DIGEST_LEN; i++) {
		if (sscanf(hex + 2 * i, "%2x", &byte) != 1)
			return -1;
		out[i] = (unsigned char)byte;
	}
	return 0;
}

/* The message about one key of a token, after where it was set. */
static int
config_token_fail(const struct config *cfg, const struct config_token *t,
    const char *key, char *err, size_t errlen, const char *why)
{
	char	name[CONFIG_NAME_MAX + 32];

	snprintf(name, sizeof(name), "token.%s%s%s", t->name, *key ? "." : "", key);
	return config_fail(err, errlen, "%s: %s", config_origin(cfg, name), why);
}

static int
config_check_token(const struct config *cfg, struct config_token *t, char *err,
    size_t errlen)
{
	char	why[256];
	size_t	i;

	if (principal_reserved(t->name))
		return config_token_fail(cfg, t, "", err, errlen, "the name is "
		    "reserved (jobs of Unix socket and unauthenticated connections "
		    "carry it as their owner)");
	if (t->roles == 0)
		return config_token_fail(cfg, t, "roles", err, errlen, "is required "
		    "(any of read, submit, work, control, admin)");
	if (t->secret_sha256 != NULL && t->secret_file != NULL)
		return config_token_fail(cfg, t, "secret_file", err, errlen,
		    "give secret_sha256 or secret_file, not both");
	if (t->secret_sha256 == NULL && t->secret_file == NULL && t->cert_cn == NULL)
		return config_token_fail(cfg, t, "", err, errlen, "needs "
		    "secret_sha256 or secret_file (or cert_cn for a client "
		    "certificate)");
	for (i = 0; t->commands != NULL && t->commands[i] != NULL; i++) {
		if (config_find_command(cfg, t->commands[i]) != NULL)
			continue;
		snprintf(why, sizeof(why), "no [command.%s] is configured",
		    t->commands[i]);
		return config_token_fail(cfg, t, "commands", err, errlen, why);
	}
	if (t->secret_sha256 != NULL) {
		if (config_hex_digest(t->secret_sha256, t->digest) == -1)
			return config_token_fail(cfg, t, "secret_sha256", err, errlen,
			    "is not a SHA-256 in hex");
		t->has_digest = true;
	}
	return 0;
}

/* Two tokens that one secret or one certificate would both match. */
static int
config_check_token_pairs(const struct config *cfg, char *err, size_t errlen)
{
	const struct config_token	*a, *b;
	char				 why[256];
	size_t				 i, j;

	for (i = 0; i < cfg->ntokens; i++) {
		b = &cfg->tokens[i];
		for (j = 0; j < i; j++) {
			a = &cfg->tokens[j];
			if (a->has_digest && b->has_digest &&
			    CRYPTO_memcmp(a->digest, b->digest, TOKEN_DIGEST_LEN) == 0) {
				snprintf(why, sizeof(why), "token.%s has the same "
				    "secret; each token needs its own", a->name);
				return config_token_fail(cfg, b, b->secret_file != NULL ?
				    "secret_file" : "secret_sha256", err, errlen, why);
			}
			if (a->cert_cn != NULL && b->cert_cn != NULL &&
			    strcmp(a->cert_cn, b->cert_cn) == 0) {
				snprintf(why, sizeof(why), "token.%s has the same CN",
				    a->name);
				return config_token_fail(cfg, b, "cert_cn", err, errlen,
				    why);
			}
		}
	}
	return 0;
}

int
config_check_tokens(struct config *cfg, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < cfg->ntokens; i++) {
		if (config_check_token(cfg, &cfg->tokens[i], err, errlen) == -1)
			return -1;
	}
	if (config_check_token_pairs(cfg, err, errlen) == -1)
		return -1;
	if (cfg->auth_tcp == AUTH_TCP_TOKEN && cfg->ntokens == 0 &&
	    cfg->listen != NULL && cfg->listen[0] != NULL) {
		return config_fail(err, errlen, "%s: a TCP listener needs a "
		    "[token.NAME] section, since auth_tcp = token: add one "
		    "(`loomctl token new NAME` prints a secret and its lines), or "
		    "set auth_tcp = none to let in anyone who reaches the port, "
		    "or listen on the Unix socket only", config_origin(cfg, "listen"));
	}
	return 0;
}

/* The digest of a secret file's contents, if its mode keeps it secret. */
static int
config_read_secret(const struct config *cfg, struct config_token *t,
    char *err, size_t errlen)
{
	char		 buf[TOKEN_FILE_MAX + 1], why[512];
	struct stat	 st;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd, rc = -1;

	if ((fd = open(t->secret_file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(why, sizeof(why), "cannot read '%s': %s", t->secret_file,
		    strerror(errno));
		return config_token_fail(cfg, t, "secret_file", err, errlen, why);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(why, sizeof(why), "'%s' is not a regular file",
		    t->secret_file);
		goto fail;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(why, sizeof(why), "'%s' has mode %04o: others may read "
		    "or change the secret; chmod 600 it", t->secret_file,
		    (unsigned int)(st.st_mode & 07777));
		goto fail;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, sizeof(why), "reading '%s': %s", t->secret_file,
			    strerror(errno));
			goto fail;
		}
		len += (size_t)n;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	if (len == 0 || len > TOKEN_FILE_MAX) {
		snprintf(why, sizeof(why), "'%s' %s", t->secret_file, len == 0 ?
		    "is empty" : "is larger than a secret can be (4096 bytes)");
		goto fail;
	}
	if (EVP_Digest(buf, len, t->digest, NULL, EVP_sha256(), NULL) != 1) {
		snprintf(why, sizeof(why), "cannot compute SHA-256");
		goto fail;
	}
	t->has_digest = true;
	rc = 0;
fail:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	if (rc == -1)
		return config_token_fail(cfg, t, "secret_file", err, errlen, why);
	return 0;
}

int
config_load_secrets(struct config *cfg, char *err, size_t errlen)
{
	size_t	i;

	for (i = 0; i < cfg->ntokens; i++) {
		if (cfg->tokens[i].secret_file != NULL &&
		    config_read_secret(cfg, &cfg->tokens[i], err, errlen) == -1)
			return -1;
	}
	return config_check_token_pairs(cfg, err, errlen);
}
