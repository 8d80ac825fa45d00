/*
 * digest: a message digest of a string, of base64-decoded bytes, or of a file
 * under the config's files_root, with any digest OpenSSL knows.
 *
 * The result is {"algorithm": NAME, "hex": DIGEST, "bytes": INPUT_LENGTH}.
 * NAME is OpenSSL's long name for the algorithm, so every alias gives the same
 * one ("SHA2-256" and "sha256" both give "sha256").  Extendable-output
 * functions need a length: shake128 gives 32 bytes and shake256 64 (twice
 * their security strength, as sha3-256 and sha3-512 do), any other XOF 64.
 *
 * A file that cannot be read (missing, not a regular file, outside files_root)
 * fails the job with code "failed" and a message naming the path as given.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/openat2.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "core/config.h"
#include "runtime/executor.h"
#include "runtime/fields.h"
#include "core/job.h"
#include "jobs/types.h"
#include "runtime/util.h"

#define DIGEST_CHUNK		(64 * 1024)	/* bytes between cancel polls */
#define DIGEST_SHAKE128_LEN	32
#define DIGEST_XOF_LEN		64

struct digest_args {
	EVP_MD		*md;
	const char	*name;		/* canonical; lives as long as md */
	size_t		 xof_len;	/* 0: not an XOF */

	/* Either bytes to digest, or a file under root. */
	unsigned char	*data;
	size_t		 len;
	char		*root;
	char		*path;
};

static void
digest_free_parsed(void *parsed)
{
	struct digest_args	*a = parsed;

	if (a == NULL)
		return;
	EVP_MD_free(a->md);
	free(a->data);
	free(a->root);
	free(a->path);
	free(a);
}

static const char *
digest_name(const EVP_MD *md)
{
	const char	*ln;
	int		 nid;

	nid = EVP_MD_get_type(md);
	if (nid != NID_undef && (ln = OBJ_nid2ln(nid)) != NULL)
		return ln;
	return EVP_MD_get0_name(md);
}

static int
digest_parse_algorithm(struct digest_args *a, const char *name,
    const char *base, struct error *e)
{
	if ((a->md = EVP_MD_fetch(NULL, name, NULL)) == NULL) {
		/* Leave nothing in this thread's queue for TLS to trip on. */
		ERR_clear_error();
		return fields_fail(e, base, "algorithm", "unknown digest \"%s\"",
		    name);
	}
	a->name = digest_name(a->md);
	if (EVP_MD_get_flags(a->md) & EVP_MD_FLAG_XOF) {
		if (EVP_MD_is_a(a->md, "SHAKE-128"))
			a->xof_len = DIGEST_SHAKE128_LEN;
		else
			a->xof_len = DIGEST_XOF_LEN;
	}
	return 0;
}

static int
digest_base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * RFC 4648 base64, standard alphabet, no whitespace.  The '=' padding may be
 * left out, but if present it must complete the last quantum.  Returns the
 * decoded length, or -1 with *bad at the offending offset.
 */
static ssize_t
digest_base64_decode(const char *s, size_t len, unsigned char *out,
    size_t *bad)
{
	size_t		 n = len, pad = 0, i, o = 0;
	uint32_t	 acc = 0;
	int		 v, bits = 0;

	while (n > 0 && s[n - 1] == '=' && pad < 2) {
		n--;
		pad++;
	}
	if (pad != 0 && len % 4 != 0) {
		*bad = n;
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((v = digest_base64_value((unsigned char)s[i])) == -1) {
			*bad = i;
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* One character alone carries only six bits: never a whole byte. */
	if (n % 4 == 1) {
		*bad = n - 1;
		return -1;
	}
	return (ssize_t)o;
}

static int
digest_parse_base64(struct digest_args *a, const char *s, size_t len,
    const char *base, struct error *e)
{
	ssize_t	n;
	size_t	bad = 0;

	a->data = xmalloc(len / 4 * 3 + 3);
	if ((n = digest_base64_decode(s, len, a->data, &bad)) == -1) {
		return fields_fail(e, base, "data_base64",
		    "is not valid base64 (at byte %zu)", bad);
	}
	a->len = (size_t)n;
	return 0;
}

/*
 * Only the shape of the path is checked here: the file itself is opened at
 * work time, beneath files_root, by the kernel's rules (digest_open).
 */
static int
digest_parse_path(struct digest_args *a, const char *s, size_t len,
    const char *base, const struct config *config, struct error *e)
{
	const char	*p, *end;

	if (config == NULL || config->files_root == NULL ||
	    *config->files_root == '\0') {
		return fields_fail(e, base, "path",
		    "files_root is not configured on this server");
	}
	if (len == 0)
		return fields_fail(e, base, "path", "must not be empty");
	if (strlen(s) != len)
		return fields_fail(e, base, "path", "must not contain NUL");
	if (*s == '/')
		return fields_fail(e, base, "path", "must be relative to files_root");
	for (p = s; *p != '\0'; p = *end == '/' ? end + 1 : end) {
		end = strchrnul(p, '/');
		if (end - p == 2 && p[0] == '.' && p[1] == '.') {
			return fields_fail(e, base, "path",
			    "must not contain a \"..\" component");
		}
	}
	a->root = xstrdup(config->files_root);
	a->path = xstrdup(s);
	return 0;
}

static int
digest_parse(const json_t *args, const char *base, const struct config *config,
    void **parsed, struct error *e)
{
	static const char *const known[] = {
		"algorithm", "data", "data_base64", "path", NULL
	};
	static const char *const sources[] = { "data", "data_base64", "path" };
	struct digest_args	*a = NULL;
	const char		*algorithm = "sha256", *value[nitems(sources)];
	size_t			 i, len;
	int			 given = -1;

	if (args != NULL && fields_object(args, base, known, e) == -1)
		return -1;
	if (field_string(args, base, "algorithm", FIELD_OPTIONAL, 128,
	    &algorithm, e) == -1)
		return -1;
	for (i = 0; i < nitems(sources); i++) {
		value[i] = NULL;
		if (field_string(args, base, sources[i], FIELD_OPTIONAL, 0,
		    &value[i], e) == -1)
			return -1;
		if (value[i] == NULL)
			continue;
		if (given != -1) {
			return fields_fail(e, base, sources[i],
			    "give only one of data, data_base64 and path");
		}
		given = (int)i;
	}
	if (given == -1) {
		return fields_fail(e, base, "data",
		    "one of data, data_base64 and path is required");
	}
	len = json_string_length(json_object_get(args, sources[given]));

	a = xcalloc(1, sizeof(*a));
	if (digest_parse_algorithm(a, algorithm, base, e) == -1)
		goto fail;
	switch (given) {
	case 0:
		a->data = xmalloc(len + 1);
		memcpy(a->data, value[0], len);
		a->len = len;
		break;
	case 1:
		if (digest_parse_base64(a, value[1], len, base, e) == -1)
			goto fail;
		break;
	case 2:
		if (digest_parse_path(a, value[2], len, base, config, e) == -1)
			goto fail;
		break;
	}
	*parsed = a;
	return 0;

fail:
	digest_free_parsed(a);
	return -1;
}

static void
digest_fail_errno(struct error *e, const struct digest_args *a, int error)
{
	char		 buf[128];
	const char	*why;

	switch (error) {
	case ENOENT:
		why = "no such file";
		break;
	case ENOTDIR:
		why = "a component is not a directory";
		break;
	case EXDEV:
		why = "leads outside files_root";
		break;
	case ELOOP:
		why = "crosses a symbolic link that may not be followed";
		break;
	default:
		why = strerror_r(error, buf, sizeof(buf));
		break;
	}
	error_set(e, "failed", "path \"%s\": %s", a->path, why);
}

/*
 * Without openat2 (Linux before 5.6): walk the path a component at a time and
 * follow no symbolic link at all, which is stricter than openat2 but just as
 * safe.  Parse has refused ".." and absolute paths, so nothing climbs out.
 */
static int
digest_open_walk(int dirfd, const char *path, int flags)
{
	char	*copy, *comp, *next, *save;
	int	 cur = dirfd, fd = -1, error = 0;

	copy = xstrdup(path);
	for (comp = strtok_r(copy, "/", &save); comp != NULL; comp = next) {
		next = strtok_r(NULL, "/", &save);
		if (next == NULL) {
			if ((fd = openat(cur, comp, flags | O_NOFOLLOW)) == -1)
				error = errno;
			break;
		}
		if (strcmp(comp, ".") == 0)
			continue;
		fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		error = errno;
		if (cur != dirfd)
			close(cur);
		if (fd == -1)
			break;
		cur = fd;
		fd = -1;
	}
	if (cur != dirfd)
		close(cur);
	free(copy);
	errno = error;
	return fd;
}

/*
 * Open the file beneath files_root.  RESOLVE_BENEATH lets symbolic links be
 * followed while they stay beneath the root and refuses any that leave it
 * (absolute ones included), so O_NOFOLLOW, which would refuse a link that
 * stays inside, is not wanted.  O_NONBLOCK keeps a FIFO from blocking the
 * open; it does nothing to the regular file we then insist on.
 */
static int
digest_open(const struct digest_args *a, struct error *e)
{
	struct open_how	how;
	struct stat	st;
	int		dirfd, fd, error;

	if ((dirfd = open(a->root, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		error_set(e, "failed", "path \"%s\": files_root cannot be opened",
		    a->path);
		return -1;
	}
	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	fd = (int)syscall(SYS_openat2, dirfd, a->path, &how, sizeof(how));
	if (fd == -1 && errno == ENOSYS)
		fd = digest_open_walk(dirfd, a->path, (int)how.flags);
	error = errno;
	close(dirfd);
	if (fd == -1) {
		digest_fail_errno(e, a, error);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		digest_fail_errno(e, a, errno);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		error_set(e, "failed", "path \"%s\": not a regular file", a->path);
		close(fd);
		return -1;
	}
	return fd;
}

/* -1 with e unset means the work was cancelled. */
static int
digest_file(const struct digest_args *a, EVP_MD_CTX *ctx, uint64_t *bytes,
    struct error *e)
{
	unsigned char	*buf;
	ssize_t		 n;
	int		 fd, rc = -1;

	if ((fd = digest_open(a, e)) == -1)
		return -1;
	buf = xmalloc(DIGEST_CHUNK);
	for (;;) {
		if (executor_cancelled())
			goto out;
		if ((n = read(fd, buf, DIGEST_CHUNK)) == -1) {
			if (errno == EINTR)
				continue;
			digest_fail_errno(e, a, errno);
			goto out;
		}
		if (n == 0)
			break;
		if (!EVP_DigestUpdate(ctx, buf, (size_t)n)) {
			error_set(e, "internal", "EVP_DigestUpdate failed");
			goto out;
		}
		*bytes += (uint64_t)n;
	}
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

static int
digest_bytes(const struct digest_args *a, EVP_MD_CTX *ctx, struct error *e)
{
	size_t	off, n;

	for (off = 0; off < a->len; off += n) {
		if (executor_cancelled())
			return -1;
		n = a->len - off < DIGEST_CHUNK ? a->len - off : DIGEST_CHUNK;
		if (!EVP_DigestUpdate(ctx, a->data + off, n)) {
			error_set(e, "internal", "EVP_DigestUpdate failed");
			return -1;
		}
	}
	return 0;
}

static json_t *
digest_work(void *parsed, struct error *e)
{
	static const char	 hexdigits[] = "0123456789abcdef";
	const struct digest_args *a = parsed;
	EVP_MD_CTX		*ctx;
	unsigned char		 md[EVP_MAX_MD_SIZE];
	char			 hex[2 * EVP_MAX_MD_SIZE];
	unsigned int		 mdlen = 0, i;
	uint64_t		 bytes = 0;
	json_t			*result = NULL;
	int			 ok;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestInit_ex2(ctx, a->md, NULL)) {
		error_set(e, "internal", "cannot start a %s digest", a->name);
		goto out;
	}
	if (a->path != NULL) {
		if (digest_file(a, ctx, &bytes, e) == -1)
			goto out;
	} else {
		if (digest_bytes(a, ctx, e) == -1)
			goto out;
		bytes = a->len;
	}
	if (a->xof_len != 0) {
		mdlen = (unsigned int)a->xof_len;
		ok = EVP_DigestFinalXOF(ctx, md, a->xof_len);
	} else
		ok = EVP_DigestFinal_ex(ctx, md, &mdlen);
	if (!ok) {
		error_set(e, "internal", "cannot finish a %s digest", a->name);
		goto out;
	}
	for (i = 0; i < mdlen; i++) {
		hex[2 * i] = hexdigits[md[i] >> 4];
		hex[2 * i + 1] = hexdigits[md[i] & 0xf];
	}
	result = json_pack("{s:s, s:s%, s:I}", "algorithm", a->name,
	    "hex", hex, (size_t)2 * mdlen, "bytes", (json_int_t)bytes);
out:
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return result;
}

const struct job_type job_type_digest = {
	.name = "digest",
	.runs = JOB_RUNS_EXECUTOR,
	.parse = digest_parse,
	.free_parsed = digest_free_parsed,
	.work = digest_work,
};
