/*
 * loomctl token new NAME: a fresh secret, 32 random bytes from the kernel
 * as 64 hex digits, and the loomd.conf lines that let it in (its SHA-256,
 * never the secret itself).  The secret goes to the client, the lines to
 * the server's configuration.
 */
#include "autoconf.h"

#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ctl_args.h"
#include "ctl_token.h"

#define TOKEN_BYTES	32

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

int
ctl_token_new(const char *name, FILE *out)
{
	unsigned char	raw[TOKEN_BYTES], digest[EVP_MAX_MD_SIZE];
	char		secret[2 * TOKEN_BYTES + 1], sum[2 * 32 + 1];
	unsigned int	dlen = 0;
	ssize_t		n;

	if ((n = getrandom(raw, sizeof(raw), 0)) != (ssize_t)sizeof(raw)) {
		fprintf(stderr, "loomctl: token new: getrandom: %s\n",
		    n == -1 ? strerror(errno) : "short read");
		return CTL_EXIT_FAILED;
	}
	hex(raw, sizeof(raw), secret);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (EVP_Digest(secret, strlen(secret), digest, &dlen, EVP_sha256(),
	    NULL) != 1 || dlen != 32) {
		fprintf(stderr, "loomctl: token new: cannot compute SHA-256\n");
		OPENSSL_cleanse(secret, sizeof(secret));
		return CTL_EXIT_FAILED;
	}
	hex(digest, dlen, sum);
	fprintf(out, "# The secret, for the client only (loomctl --token-file, "
	    "or LOOM_TOKEN):\n%s\n\n# For loomd.conf (then reload loomd); "
	    "choose its roles and commands:\n[token.%s]\nsecret_sha256 = %s\n"
	    "roles = submit, read\n", secret, name, sum);
	OPENSSL_cleanse(secret, sizeof(secret));
	return CTL_EXIT_OK;
}
