/*
 * pbkdf2: PBKDF2 (RFC 8018, section 5.2) with HMAC over any digest OpenSSL
 * can use in one.  The result is {"hex": DERIVED_KEY}.
 *
 * PKCS5_PBKDF2_HMAC would do the whole derivation in one call that cannot be
 * stopped, and ten million iterations take seconds to minutes: the rounds
 * are done here, over EVP_MAC, so that cancel is seen between them.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "runtime/executor.h"
#include "runtime/fields.h"
#include "core/job.h"
#include "jobs/types.h"
#include "runtime/util.h"

#define PBKDF2_MAX_ITERATIONS	10000000
#define PBKDF2_MAX_LENGTH	1024
#define PBKDF2_DEFAULT_LENGTH	32
#define PBKDF2_POLL_MASK	1023	/* rounds between cancel polls, less one */

struct pbkdf2_args {
	EVP_MAC		*mac;		/* HMAC */
	EVP_MD		*md;
	unsigned char	*password;	/* wiped before it is freed */
	size_t		 password_len;
	unsigned char	*salt;
	size_t		 salt_len;
	uint32_t	 iterations;
	size_t		 length;
};

static void
pbkdf2_free_parsed(void *parsed)
{
	struct pbkdf2_args	*a = parsed;

	if (a == NULL)
		return;
	EVP_MAC_free(a->mac);
	EVP_MD_free(a->md);
	if (a->password != NULL) {
		OPENSSL_cleanse(a->password, a->password_len);
		free(a->password);
	}
	free(a->salt);
	free(a);
}

/* An HMAC context keyed with the password, or NULL. */
static EVP_MAC_CTX *
pbkdf2_mac_new(const struct pbkdf2_args *a)
{
	EVP_MAC_CTX	*ctx;
	OSSL_PARAM	 params[2];

	if ((ctx = EVP_MAC_CTX_new(a->mac)) == NULL)
		return NULL;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)EVP_MD_get0_name(a->md), 0);
	params[1] = OSSL_PARAM_construct_end();
	/* The password buffer is never NULL, so "" is an empty key. */
	if (!EVP_MAC_init(ctx, a->password, a->password_len, params)) {
		EVP_MAC_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static unsigned char *
pbkdf2_copy(const json_t *args, const char *key, size_t *len)
{
	const json_t	*v = json_object_get(args, key);
	unsigned char	*p;

	*len = json_string_length(v);
	p = xmalloc(*len + 1);
	memcpy(p, json_string_value(v), *len);
	return p;
}

static int
pbkdf2_parse_algorithm(struct pbkdf2_args *a, const char *name,
    const char *base, struct error *e)
{
	EVP_MAC_CTX	*ctx;

	if ((a->md = EVP_MD_fetch(NULL, name, NULL)) == NULL) {
		/* Leave nothing in this thread's queue for TLS to trip on. */
		ERR_clear_error();
		return fields_fail(e, base, "algorithm", "unknown digest \"%s\"",
		    name);
	}
	if ((a->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL) {
		ERR_clear_error();
		error_set(e, "internal", "OpenSSL has no HMAC");
		return -1;
	}
	/* XOFs and the like are refused here, not when the job runs. */
	if ((ctx = pbkdf2_mac_new(a)) == NULL) {
		ERR_clear_error();
		return fields_fail(e, base, "algorithm",
		    "digest \"%s\" cannot be used with HMAC", name);
	}
	EVP_MAC_CTX_free(ctx);
	return 0;
}

static int
pbkdf2_parse(const json_t *args, const char *base, const struct config *config,
    void **parsed, struct error *e)
{
	static const char *const known[] = {
		"password", "salt", "iterations", "length", "algorithm", NULL
	};
	struct pbkdf2_args	*a;
	const char		*password, *salt, *algorithm = "sha256";
	json_int_t		 iterations = 0, length = PBKDF2_DEFAULT_LENGTH;

	if (args != NULL && fields_object(args, base, known, e) == -1)
		return -1;
	if (field_string(args, base, "password", FIELD_REQUIRED, 0, &password,
	    e) == -1 ||
	    field_string(args, base, "salt", FIELD_REQUIRED, 0, &salt, e) == -1 ||
	    field_integer(args, base, "iterations", FIELD_REQUIRED, 1,
	    PBKDF2_MAX_ITERATIONS, &iterations, e) == -1 ||
	    field_integer(args, base, "length", FIELD_OPTIONAL, 1,
	    PBKDF2_MAX_LENGTH, &length, e) == -1 ||
	    field_string(args, base, "algorithm", FIELD_OPTIONAL, 128,
	    &algorithm, e) == -1)
		return -1;

	a = xcalloc(1, sizeof(*a));
	a->password = pbkdf2_copy(args, "password", &a->password_len);
	a->salt = pbkdf2_copy(args, "salt", &a->salt_len);
	a->iterations = (uint32_t)iterations;
	a->length = (size_t)length;
	if (pbkdf2_parse_algorithm(a, algorithm, base, e) == -1) {
		pbkdf2_free_parsed(a);
		return -1;
	}
	*parsed = a;
	return 0;
}

/*
 * One block of output: T = U_1 ^ U_2 ^ ... ^ U_c, where U_1 = PRF(P, S ||
 * INT(index)) and U_j = PRF(P, U_{j-1}).  ctx is keyed with P; each round
 * starts it again with the same key.  -1 with e unset means cancelled.
 */
static int
pbkdf2_block(const struct pbkdf2_args *a, EVP_MAC_CTX *ctx, uint32_t index,
    unsigned char *t, size_t hlen, struct error *e)
{
	unsigned char	u[EVP_MAX_MD_SIZE], be[4];
	size_t		ulen, k;
	uint32_t	j;
	int		rc = -1;

	be[0] = (unsigned char)(index >> 24);
	be[1] = (unsigned char)(index >> 16);
	be[2] = (unsigned char)(index >> 8);
	be[3] = (unsigned char)index;
	if (!EVP_MAC_init(ctx, NULL, 0, NULL) ||
	    !EVP_MAC_update(ctx, a->salt, a->salt_len) ||
	    !EVP_MAC_update(ctx, be, sizeof(be)) ||
	    !EVP_MAC_final(ctx, u, &ulen, sizeof(u)) || ulen != hlen)
		goto fail;
	memcpy(t, u, hlen);
	for (j = 1; j < a->iterations; j++) {
		if ((j & PBKDF2_POLL_MASK) == 0 && executor_cancelled())
			goto out;
		if (!EVP_MAC_init(ctx, NULL, 0, NULL) ||
		    !EVP_MAC_update(ctx, u, hlen) ||
		    !EVP_MAC_final(ctx, u, &ulen, sizeof(u)))
			goto fail;
		for (k = 0; k < hlen; k++)
			t[k] ^= u[k];
	}
	rc = 0;
	goto out;

fail:
	error_set(e, "internal", "HMAC failed");
out:
	OPENSSL_cleanse(u, sizeof(u));
	return rc;
}

static json_t *
pbkdf2_work(void *parsed, struct error *e)
{
	static const char	 hexdigits[] = "0123456789abcdef";
	const struct pbkdf2_args *a = parsed;
	EVP_MAC_CTX		*ctx;
	unsigned char		 t[EVP_MAX_MD_SIZE], out[PBKDF2_MAX_LENGTH];
	char			 hex[2 * PBKDF2_MAX_LENGTH];
	size_t			 hlen, off, n, i;
	uint32_t		 index;
	json_t			*result = NULL;

	if ((ctx = pbkdf2_mac_new(a)) == NULL) {
		error_set(e, "internal", "cannot start HMAC-%s",
		    EVP_MD_get0_name(a->md));
		goto out;
	}
	hlen = EVP_MAC_CTX_get_mac_size(ctx);
	if (hlen == 0 || hlen > sizeof(t)) {
		error_set(e, "internal", "HMAC-%s has a size of %zu",
		    EVP_MD_get0_name(a->md), hlen);
		goto out;
	}
	/* length is at most 1024, so the block index stays far from 2^32. */
	for (index = 1, off = 0; off < a->length; index++, off += n) {
		if (pbkdf2_block(a, ctx, index, t, hlen, e) == -1)
			goto out;
		n = a->length - off < hlen ? a->length - off : hlen;
		memcpy(out + off, t, n);
	}
	for (i = 0; i < a->length; i++) {
		hex[2 * i] = hexdigits[out[i] >> 4];
		hex[2 * i + 1] = hexdigits[out[i] & 0xf];
	}
	result = json_pack("{s:s%}", "hex", hex, 2 * a->length);
out:
	EVP_MAC_CTX_free(ctx);
	OPENSSL_cleanse(t, sizeof(t));
	OPENSSL_cleanse(out, sizeof(out));
	OPENSSL_cleanse(hex, sizeof(hex));
	ERR_clear_error();
	return result;
}

const struct job_type job_type_pbkdf2 = {
	.name = "pbkdf2",
	.runs = JOB_RUNS_EXECUTOR,
	.parse = pbkdf2_parse,
	.free_parsed = pbkdf2_free_parsed,
	.work = pbkdf2_work,
};
