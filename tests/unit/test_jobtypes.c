/*
 * The CPU-bound job types, sumsq, digest and pbkdf2: their arguments are
 * refused with the field at fault named, their work gives known answers, files
 * are read only from beneath files_root, and long work honours cancel.
 */
#include "autoconf.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <openssl/evp.h>

#include "testutil.h"
#include "core/config.h"
#include "runtime/executor.h"
#include "runtime/future.h"
#include "core/job.h"
#include "jobs/types.h"

/* From sumsq.c, for values too big to iterate to. */
char	*sumsq_format(unsigned __int128, char *, size_t);

/*
 * A files_root for the digest tests, inside a scratch directory that also
 * holds a file outside the root for links to aim at.
 */
static char		scratch[64];
static char		root[128];
static struct config	cfg_root;	/* files_root = root */
static struct config	cfg_none;	/* files_root unset */

#define BIG_SIZE	(3 * 64 * 1024 + 12345)	/* several read chunks, and a tail */
static unsigned char	big[BIG_SIZE];

static void
write_file(const char *name, const void *data, size_t len)
{
	char	path[PATH_MAX * 2];
	int	fd;

	snprintf(path, sizeof(path), "%s/%s", scratch, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || write(fd, data, len) != (ssize_t)len)
		fail_msg("cannot write %s", path);
	close(fd);
}

static void
make_link(const char *target, const char *name)
{
	char	path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", scratch, name);
	if (symlink(target, path) == -1)
		fail_msg("cannot link %s", path);
}

static int
group_setup(void **state)
{
	char	path[PATH_MAX * 2];
	size_t	i;

	snprintf(scratch, sizeof(scratch), "/tmp/loomjobsXXXXXX");
	if (mkdtemp(scratch) == NULL)
		return -1;
	snprintf(root, sizeof(root), "%s/root", scratch);
	snprintf(path, sizeof(path), "%s/root/sub", scratch);
	if (mkdir(root, 0755) == -1 || mkdir(path, 0755) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/root/fifo", scratch);
	if (mkfifo(path, 0644) == -1)
		return -1;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7 + 3);

	write_file("secret.txt", "outside", 7);
	write_file("root/abc.txt", "abc", 3);
	write_file("root/sub/abc.txt", "abc", 3);
	write_file("root/big.bin", big, sizeof(big));
	make_link("abc.txt", "root/link-in");
	make_link("../abc.txt", "root/sub/link-up");
	make_link("sub", "root/dirlink");
	make_link("../secret.txt", "root/link-rel-out");
	make_link("/etc/passwd", "root/link-abs-out");
	snprintf(path, sizeof(path), "%s/abc.txt", root);
	make_link(path, "root/link-abs-in");

	cfg_root.files_root = root;
	return 0;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
group_teardown(void **state)
{
	return nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static json_t *
args_of(const char *text)
{
	json_error_t	 jerr;
	json_t		*v;

	if (text == NULL)
		return NULL;
	if ((v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr)) == NULL)
		fail_msg("bad test JSON %s: %s", text, jerr.text);
	return v;
}

struct refusal {
	const char	*args;		/* JSON text, or NULL for no args */
	const char	*path;		/* the field named */
};

/* Every case fails parse with bad_request naming the field. */
static void
check_refusals(const struct job_type *type, const struct config *config,
    const struct refusal *cases, size_t n)
{
	struct error	 e;
	json_t		*args;
	void		*parsed;
	size_t		 i;

	for (i = 0; i < n; i++) {
		memset(&e, 0, sizeof(e));
		parsed = NULL;
		args = args_of(cases[i].args);
		if (type->parse(args, "job.args", config, &parsed, &e) != -1)
			fail_msg("%s accepted %s", type->name, cases[i].args);
		assert_null(parsed);
		assert_non_null(e.code);
		assert_string_equal(e.code, "bad_request");
		assert_non_null(e.message);
		if (e.path == NULL || strcmp(e.path, cases[i].path) != 0) {
			fail_msg("%s %s: path %s, expected %s (%s)", type->name,
			    cases[i].args, e.path, cases[i].path, e.message);
		}
		error_clear(&e);
		json_decref(args);
	}
}

static void *
parse_ok(const struct job_type *type, const struct config *config,
    const json_t *args)
{
	struct error	 e;
	void		*parsed = NULL;

	memset(&e, 0, sizeof(e));
	if (type->parse(args, "job.args", config, &parsed, &e) == -1)
		fail_msg("%s refused its args: %s", type->name, e.message);
	assert_null(e.code);
	return parsed;
}

/* Parse and work on this thread: outside an executor, never cancelled. */
static json_t *
run(const struct job_type *type, const struct config *config, json_t *args,
    struct error *e)
{
	void	*parsed;
	json_t	*result;

	parsed = parse_ok(type, config, args);
	memset(e, 0, sizeof(*e));
	result = type->work(parsed, e);
	type->free_parsed(parsed);
	json_decref(args);
	return result;
}

static json_t *
run_ok(const struct job_type *type, const struct config *config, json_t *args)
{
	struct error	 e;
	json_t		*result;

	if ((result = run(type, config, args, &e)) == NULL)
		fail_msg("%s failed: %s: %s", type->name, e.code, e.message);
	assert_null(e.code);
	return result;
}

static json_t *
run_text(const struct job_type *type, const struct config *config,
    const char *text)
{
	return run_ok(type, config, args_of(text));
}

static void
hex_of(const unsigned char *p, size_t len, char *out)
{
	size_t	i;

	for (i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
	out[2 * len] = '\0';
}

/*
 * Cancellation through a real executor.  The work is wrapped so the test
 * knows it has started and sees what the type's work() returned.
 */
struct observed {
	const struct job_type	*type;
	void			*parsed;
	sem_t			 started;
	atomic_int		 returned;	/* 0 not yet, 1 NULL, 2 a result */
};

static json_t *
observed_work(void *arg, struct error *e)
{
	struct observed	*o = arg;
	json_t		*result;

	sem_post(&o->started);
	result = o->type->work(o->parsed, e);
	atomic_store(&o->returned, result == NULL ? 1 : 2);
	return result;
}

/* The args describe work far longer than the test's wait bound, so a future
 * that ends cancelled within it was stopped by the work's own polling. */
static void
check_cancel_while_running(const struct job_type *type, const char *text)
{
	struct executor	*ex = executor_new(1, 4);
	struct observed	 o;
	struct future	*f;
	json_t		*args = args_of(text);

	memset(&o, 0, sizeof(o));
	o.type = type;
	o.parsed = parse_ok(type, &cfg_none, args);
	sem_init(&o.started, 0, 0);
	f = executor_submit(ex, observed_work, &o);
	sem_wait_or_fail(&o.started);
	assert_true(future_cancel(f, "test"));
	assert_int_equal(future_wait(f, TEST_WAIT_SECONDS), FUTURE_CANCELLED);
	assert_int_equal(atomic_load(&o.returned), 1);

	future_unref(f);
	executor_free(ex);
	type->free_parsed(o.parsed);
	sem_destroy(&o.started);
	json_decref(args);
}

/* ---- sumsq ---- */

/* The closed form, and a decimal conversion that shares nothing with
 * sumsq_format(). */
static unsigned __int128
sumsq_formula(uint64_t n)
{
	unsigned __int128	m = n;

	return n == 0 ? 0 : (m - 1) * m * (2 * m - 1) / 6;
}

static void
decimal(unsigned __int128 v, char *buf, size_t len)
{
	const unsigned long long	p19 = 10000000000000000000ULL;
	unsigned long long		hi, mid, lo;

	hi = (unsigned long long)(v / p19 / p19);
	mid = (unsigned long long)(v / p19 % p19);
	lo = (unsigned long long)(v % p19);
	if (hi != 0)
		snprintf(buf, len, "%llu%019llu%019llu", hi, mid, lo);
	else if (mid != 0)
		snprintf(buf, len, "%llu%019llu", mid, lo);
	else
		snprintf(buf, len, "%llu", lo);
}

static void
test_sumsq_refuses_a_missing_or_bad_n_naming_it(void **state)
{
	static const struct refusal cases[] = {
		{ NULL, "job.args.n" },
		{ "{}", "job.args.n" },
		{ "{\"n\": null}", "job.args.n" },
		{ "{\"n\": -1}", "job.args.n" },
		{ "{\"n\": 10000000001}", "job.args.n" },
		{ "{\"n\": 1e300}", "job.args.n" },
		{ "{\"n\": 1.5}", "job.args.n" },
		{ "{\"n\": \"10\"}", "job.args.n" },
		{ "{\"n\": true}", "job.args.n" },
		{ "{\"n\": 10, \"m\": 1}", "job.args.m" },
		{ "[10]", "job.args" },
	};

	check_refusals(&job_type_sumsq, &cfg_none, cases, nitems(cases));
}

static void
test_parse_errors_are_named_under_the_given_base(void **state)
{
	struct error	 e;
	json_t		*args = args_of("{\"n\": -5}");
	void		*parsed = NULL;

	memset(&e, 0, sizeof(e));
	assert_int_equal(job_type_sumsq.parse(args, "jobs[2].args", NULL, &parsed,
	    &e), -1);
	assert_string_equal(e.path, "jobs[2].args.n");
	error_clear(&e);
	json_decref(args);
}

static void
test_sumsq_accepts_n_from_0_to_ten_billion(void **state)
{
	json_t	*args;
	void	*parsed;

	args = args_of("{\"n\": 0}");
	job_type_sumsq.free_parsed(parse_ok(&job_type_sumsq, NULL, args));
	json_decref(args);
	/* Parsed only: running it takes seconds even optimised. */
	args = args_of("{\"n\": 10000000000}");
	parsed = parse_ok(&job_type_sumsq, NULL, args);
	job_type_sumsq.free_parsed(parsed);
	json_decref(args);
	/* 3.0 is an integer. */
	args = run_text(&job_type_sumsq, NULL, "{\"n\": 3.0}");
	assert_string_equal(json_string_value(args), "5");
	json_decref(args);
}

static void
test_sumsq_matches_the_closed_form(void **state)
{
	/* 10^7 takes the sum past 2^64. */
	static const uint64_t	 ns[] = {
		0, 1, 2, 3, 4, 10, 1000, 1048575, 1048576, 1048577, 1000000,
		10000000
	};
	char			 text[64], want[64];
	json_t			*result;
	size_t			 i;

	for (i = 0; i < nitems(ns); i++) {
		snprintf(text, sizeof(text), "{\"n\": %llu}",
		    (unsigned long long)ns[i]);
		result = run_text(&job_type_sumsq, NULL, text);
		assert_true(json_is_string(result));
		decimal(sumsq_formula(ns[i]), want, sizeof(want));
		if (strcmp(json_string_value(result), want) != 0) {
			fail_msg("n=%llu: %s, expected %s",
			    (unsigned long long)ns[i], json_string_value(result),
			    want);
		}
		json_decref(result);
	}

	result = run_text(&job_type_sumsq, NULL, "{\"n\": 10000000}");
	assert_string_equal(json_string_value(result), "333333283333335000000");
	json_decref(result);
}

static void
test_sumsq_formats_the_largest_sums_exactly(void **state)
{
	char	buf[40], want[64];

	/* n = 10^10, the top of the range, from the closed form only. */
	decimal(sumsq_formula(10000000000ULL), want, sizeof(want));
	assert_string_equal(want, "333333333283333333335000000000");
	assert_string_equal(sumsq_format(sumsq_formula(10000000000ULL), buf,
	    sizeof(buf)), want);
	decimal(sumsq_formula(9999999999ULL), want, sizeof(want));
	assert_string_equal(sumsq_format(sumsq_formula(9999999999ULL), buf,
	    sizeof(buf)), want);
	/* The buffer holds any 128-bit value. */
	assert_string_equal(sumsq_format(~(unsigned __int128)0, buf,
	    sizeof(buf)), "340282366920938463463374607431768211455");
	assert_string_equal(sumsq_format(0, buf, sizeof(buf)), "0");
}

static void
test_sumsq_cancelled_while_running_stops(void **state)
{
	check_cancel_while_running(&job_type_sumsq, "{\"n\": 10000000000}");
}

/* ---- digest ---- */

static void
test_digest_refuses_bad_args_naming_the_field(void **state)
{
	static const struct refusal cases[] = {
		{ NULL, "job.args.data" },
		{ "{}", "job.args.data" },
		{ "{\"algorithm\": \"sha256\"}", "job.args.data" },
		{ "{\"data\": null}", "job.args.data" },
		{ "{\"data\": \"a\", \"path\": \"abc.txt\"}", "job.args.path" },
		{ "{\"data\": \"a\", \"data_base64\": \"YQ==\"}",
		    "job.args.data_base64" },
		{ "{\"data_base64\": \"YQ==\", \"path\": \"abc.txt\"}",
		    "job.args.path" },
		{ "{\"data\": 1}", "job.args.data" },
		{ "{\"data_base64\": [\"YQ==\"]}", "job.args.data_base64" },
		{ "{\"path\": {}}", "job.args.path" },
		{ "{\"data\": \"a\", \"extra\": 1}", "job.args.extra" },
		{ "\"abc\"", "job.args" },
		{ "{\"data\": \"a\", \"algorithm\": \"nope\"}", "job.args.algorithm" },
		{ "{\"data\": \"a\", \"algorithm\": \"\"}", "job.args.algorithm" },
		{ "{\"data\": \"a\", \"algorithm\": 256}", "job.args.algorithm" },
		/* base64: bad characters, bad padding, a dangling sextet */
		{ "{\"data_base64\": \"abc!\"}", "job.args.data_base64" },
		{ "{\"data_base64\": \"Y Q==\"}", "job.args.data_base64" },
		{ "{\"data_base64\": \"YQ==\\n\"}", "job.args.data_base64" },
		{ "{\"data_base64\": \"-_8=\"}", "job.args.data_base64" },
		{ "{\"data_base64\": \"YQ=\"}", "job.args.data_base64" },
		{ "{\"data_base64\": \"YQ===\"}", "job.args.data_base64" },
		{ "{\"data_base64\": \"YQ==YQ==\"}", "job.args.data_base64" },
		{ "{\"data_base64\": \"=\"}", "job.args.data_base64" },
		{ "{\"data_base64\": \"YWJjZ\"}", "job.args.data_base64" },
		/* paths that could leave files_root */
		{ "{\"path\": \"../secret.txt\"}", "job.args.path" },
		{ "{\"path\": \"..\"}", "job.args.path" },
		{ "{\"path\": \"sub/../../secret.txt\"}", "job.args.path" },
		{ "{\"path\": \"sub/..\"}", "job.args.path" },
		{ "{\"path\": \"/etc/passwd\"}", "job.args.path" },
		{ "{\"path\": \"\"}", "job.args.path" },
		{ "{\"path\": \"abc.txt\\u0000x\"}", "job.args.path" },
	};

	check_refusals(&job_type_digest, &cfg_root, cases, nitems(cases));
}

static void
test_digest_path_is_refused_without_files_root(void **state)
{
	static const struct refusal cases[] = {
		{ "{\"path\": \"abc.txt\"}", "job.args.path" },
	};
	struct error	 e;
	json_t		*args = args_of(cases[0].args);
	void		*parsed = NULL;

	check_refusals(&job_type_digest, &cfg_none, cases, nitems(cases));
	memset(&e, 0, sizeof(e));
	assert_int_equal(job_type_digest.parse(args, "job.args", NULL, &parsed,
	    &e), -1);
	assert_non_null(strstr(e.message, "files_root is not configured"));
	error_clear(&e);
	json_decref(args);
}

static void
check_digest(json_t *result, const char *algorithm, const char *hex,
    json_int_t bytes)
{
	assert_true(json_is_object(result));
	assert_int_equal(json_object_size(result), 3);
	assert_string_equal(json_string_value(json_object_get(result,
	    "algorithm")), algorithm);
	assert_string_equal(json_string_value(json_object_get(result, "hex")), hex);
	assert_int_equal(json_integer_value(json_object_get(result, "bytes")),
	    bytes);
	json_decref(result);
}

static void
test_digest_gives_the_known_vectors(void **state)
{
	static const struct {
		const char	*args;
		const char	*algorithm;
		const char	*hex;
	} cases[] = {
		{ "{\"data\": \"abc\"}", "sha256",
		    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "{\"data\": \"abc\", \"algorithm\": \"SHA2-256\"}", "sha256",
		    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "{\"data\": \"abc\", \"algorithm\": \"sha512\"}", "sha512",
		    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
		{ "{\"data\": \"abc\", \"algorithm\": \"md5\"}", "md5",
		    "900150983cd24fb0d6963f7d28e17f72" },
		{ "{\"data\": \"abc\", \"algorithm\": \"sha3-256\"}", "sha3-256",
		    "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532" },
		{ "{\"data\": \"abc\", \"algorithm\": \"blake2b512\"}", "blake2b512",
		    "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
		    "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923" },
		{ "{\"data\": \"abc\", \"algorithm\": \"BLAKE2B-512\"}", "blake2b512",
		    "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
		    "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923" },
	};
	size_t	i;

	for (i = 0; i < nitems(cases); i++) {
		check_digest(run_text(&job_type_digest, &cfg_none, cases[i].args),
		    cases[i].algorithm, cases[i].hex, 3);
	}
	check_digest(run_text(&job_type_digest, &cfg_none, "{\"data\": \"\"}"),
	    "sha256",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0);
}

static void
test_digest_xofs_give_twice_their_strength(void **state)
{
	check_digest(run_text(&job_type_digest, &cfg_none,
	    "{\"data\": \"\", \"algorithm\": \"shake128\"}"), "shake128",
	    "7f9c2ba4e88f827d616045507605853ed73b8093f6efbc88eb1a6eacfa66ef26", 0);
	check_digest(run_text(&job_type_digest, &cfg_none,
	    "{\"data\": \"\", \"algorithm\": \"shake256\"}"), "shake256",
	    "46b9dd2b0ba88d13233b3feb743eeb243fcd52ea62b81b82b50c27646ed5762f"
	    "d75dc4ddd8c0f200cb05019d67b592f6fc821c49479ab48640292eacb3b7c4be", 0);
}

static void
test_digest_data_counts_utf8_bytes(void **state)
{
	check_digest(run_text(&job_type_digest, &cfg_none,
	    "{\"data\": \"\\u00e9\"}"), "sha256",
	    "4a99557e4033c3539de2eb65472017cad5f9557f7a0625a09f1c3f6e2ba69c4c", 2);
}

static void
test_digest_data_base64_gives_binary_bytes(void **state)
{
	unsigned char	 raw[256], md[EVP_MAX_MD_SIZE];
	char		 b64[4 * sizeof(raw) / 3 + 8], hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int	 mdlen;
	json_t		*args;
	size_t		 i, len, cut;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(255 - i);
	assert_true(EVP_Digest(raw, sizeof(raw), md, &mdlen, EVP_sha256(), NULL));
	hex_of(md, mdlen, hex);

	/* Padded, unpadded, and every length from 0 to 5 bytes. */
	len = (size_t)EVP_EncodeBlock((unsigned char *)b64, raw, sizeof(raw));
	args = json_pack("{s:s}", "data_base64", b64);
	check_digest(run_ok(&job_type_digest, &cfg_none, args), "sha256", hex, 256);
	for (cut = len; cut > 0 && b64[cut - 1] == '='; cut--)
		;
	assert_true(cut < len);
	args = json_pack("{s:s%}", "data_base64", b64, cut);
	check_digest(run_ok(&job_type_digest, &cfg_none, args), "sha256", hex, 256);

	for (i = 0; i <= 5; i++) {
		EVP_EncodeBlock((unsigned char *)b64, raw, (int)i);
		assert_true(EVP_Digest(raw, i, md, &mdlen, EVP_sha256(), NULL));
		hex_of(md, mdlen, hex);
		args = json_pack("{s:s}", "data_base64", b64);
		check_digest(run_ok(&job_type_digest, &cfg_none, args), "sha256",
		    hex, (json_int_t)i);
	}
}

static void
test_digest_reads_files_beneath_files_root(void **state)
{
	/* Symbolic links are followed while they stay inside. */
	static const char *const paths[] = {
		"abc.txt", "./abc.txt", "sub/abc.txt", "sub//abc.txt",
		"link-in", "sub/link-up", "dirlink/abc.txt",
	};
	json_t	*args;
	size_t	 i;

	for (i = 0; i < nitems(paths); i++) {
		args = json_pack("{s:s, s:s}", "path", paths[i], "algorithm", "md5");
		check_digest(run_ok(&job_type_digest, &cfg_root, args), "md5",
		    "900150983cd24fb0d6963f7d28e17f72", 3);
	}
}

static void
test_digest_reads_a_large_file_whole(void **state)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	char		hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int	mdlen;

	assert_true(EVP_Digest(big, sizeof(big), md, &mdlen, EVP_sha512(), NULL));
	hex_of(md, mdlen, hex);
	check_digest(run_text(&job_type_digest, &cfg_root,
	    "{\"path\": \"big.bin\", \"algorithm\": \"sha512\"}"), "sha512", hex,
	    BIG_SIZE);
}

static void
test_digest_refuses_files_outside_root_or_not_regular(void **state)
{
	static const struct {
		const char	*path;
		const char	*why;
	} cases[] = {
		{ "link-rel-out", "outside files_root" },
		{ "link-abs-out", "outside files_root" },
		/* Absolute links are refused even when they point inside. */
		{ "link-abs-in", "outside files_root" },
		{ "sub", "not a regular file" },
		{ "dirlink", "not a regular file" },
		{ ".", "not a regular file" },
		{ "fifo", "not a regular file" },	/* and opening it does not block */
		{ "missing.txt", "no such file" },
		{ "sub/missing/abc.txt", "no such file" },
		{ "abc.txt/x", "not a directory" },
	};
	struct error	 e;
	json_t		*args;
	char		 want[256];
	size_t		 i;

	/* Opening a FIFO the wrong way blocks for ever: fail instead. */
	alarm(TEST_WAIT_SECONDS);
	for (i = 0; i < nitems(cases); i++) {
		args = json_pack("{s:s}", "path", cases[i].path);
		if (run(&job_type_digest, &cfg_root, args, &e) != NULL)
			fail_msg("%s was read", cases[i].path);
		assert_non_null(e.code);
		assert_string_equal(e.code, "failed");
		snprintf(want, sizeof(want), "path \"%s\": ", cases[i].path);
		if (strncmp(e.message, want, strlen(want)) != 0 ||
		    strstr(e.message, cases[i].why) == NULL)
			fail_msg("%s: message \"%s\"", cases[i].path, e.message);
		/* The server's own directories stay private. */
		assert_null(strstr(e.message, root));
		error_clear(&e);
	}
	alarm(0);
}

/*
 * In a child with openat2 made to fail with ENOSYS, as on kernels before 5.6:
 * the fallback reads plain paths and follows no symbolic link at all.
 * Returns 0, 77 when seccomp is unavailable, or the number of a failed case.
 */
static int
child_without_openat2(void)
{
	static const struct {
		const char	*path;
		bool		 readable;
	} cases[] = {
		{ "abc.txt", true },
		{ "./abc.txt", true },
		{ "sub/abc.txt", true },
		{ "sub//abc.txt", true },
		{ "link-in", false },
		{ "dirlink/abc.txt", false },
		{ "sub/link-up", false },
		{ "link-rel-out", false },
		{ "link-abs-out", false },
		{ "sub", false },
		{ "fifo", false },
		{ "missing.txt", false },
	};
	/* openat2 is number 437 on every architecture. */
	struct sock_filter	filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 437, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog	prog = { .len = nitems(filter), .filter = filter };
	struct error		e;
	json_t			*args, *result;
	void			*parsed;
	size_t			i;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		return 77;
	if (syscall(SYS_openat2, AT_FDCWD, ".", NULL, 0) != -1 || errno != ENOSYS)
		return 78;
	for (i = 0; i < nitems(cases); i++) {
		memset(&e, 0, sizeof(e));
		parsed = NULL;
		args = json_pack("{s:s}", "path", cases[i].path);
		if (job_type_digest.parse(args, "job.args", &cfg_root, &parsed,
		    &e) == -1)
			return 100 + (int)i;
		result = job_type_digest.work(parsed, &e);
		if ((result != NULL) != cases[i].readable)
			return 1 + (int)i;
		if (result != NULL && strcmp(json_string_value(json_object_get(
		    result, "hex")), "ba7816bf8f01cfea414140de5dae2223"
		    "b00361a396177a9cb410ff61f20015ad") != 0)
			return 50 + (int)i;
		json_decref(result);
		error_clear(&e);
		job_type_digest.free_parsed(parsed);
		json_decref(args);
	}
	return 0;
}

static void
test_digest_without_openat2_follows_no_symbolic_link(void **state)
{
	pid_t	pid;
	int	status;

	fflush(NULL);
	if ((pid = fork()) == 0)
		_exit(child_without_openat2());
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	if (WEXITSTATUS(status) != 0)
		fail_msg("fallback case %d went wrong", WEXITSTATUS(status));
}

/* ---- pbkdf2 ---- */

static void
test_pbkdf2_refuses_bad_args_naming_the_field(void **state)
{
	static const struct refusal cases[] = {
		{ NULL, "job.args.password" },
		{ "{}", "job.args.password" },
		{ "{\"salt\": \"s\", \"iterations\": 1}", "job.args.password" },
		{ "{\"password\": 1, \"salt\": \"s\", \"iterations\": 1}",
		    "job.args.password" },
		{ "{\"password\": \"p\", \"iterations\": 1}", "job.args.salt" },
		{ "{\"password\": \"p\", \"salt\": false, \"iterations\": 1}",
		    "job.args.salt" },
		{ "{\"password\": \"p\", \"salt\": \"s\"}", "job.args.iterations" },
		{ "{\"password\": \"p\", \"salt\": \"s\", \"iterations\": 0}",
		    "job.args.iterations" },
		{ "{\"password\": \"p\", \"salt\": \"s\", \"iterations\": -3}",
		    "job.args.iterations" },
		{ "{\"password\": \"p\", \"salt\": \"s\", \"iterations\": 10000001}",
		    "job.args.iterations" },
		{ "{\"password\": \"p\", \"salt\": \"s\", \"iterations\": 2.5}",
		    "job.args.iterations" },
		{ "{\"password\": \"p\", \"salt\": \"s\", \"iterations\": \"9\"}",
		    "job.args.iterations" },
		{ "{\"password\": \"p\", \"salt\": \"s\", \"iterations\": 1, "
		    "\"length\": 0}", "job.args.length" },
		{ "{\"password\": \"p\", \"salt\": \"s\", \"iterations\": 1, "
		    "\"length\": 1025}", "job.args.length" },
		{ "{\"password\": \"p\", \"salt\": \"s\", \"iterations\": 1, "
		    "\"algorithm\": \"nope\"}", "job.args.algorithm" },
		/* An XOF has no block size for HMAC. */
		{ "{\"password\": \"p\", \"salt\": \"s\", \"iterations\": 1, "
		    "\"algorithm\": \"shake128\"}", "job.args.algorithm" },
		{ "{\"password\": \"p\", \"salt\": \"s\", \"iterations\": 1, "
		    "\"algorithm\": [\"sha1\"]}", "job.args.algorithm" },
		{ "{\"password\": \"p\", \"salt\": \"s\", \"iterations\": 1, "
		    "\"pepper\": \"x\"}", "job.args.pepper" },
		{ "[]", "job.args" },
	};

	check_refusals(&job_type_pbkdf2, &cfg_none, cases, nitems(cases));
}

static void
check_pbkdf2(json_t *args, const char *hex)
{
	json_t	*result = run_ok(&job_type_pbkdf2, &cfg_none, args);

	assert_true(json_is_object(result));
	assert_int_equal(json_object_size(result), 1);
	assert_string_equal(json_string_value(json_object_get(result, "hex")), hex);
	json_decref(result);
}

static json_t *
pbkdf2_args(const char *password, size_t plen, const char *salt, size_t slen,
    int iterations, int length, const char *algorithm)
{
	return json_pack("{s:s%, s:s%, s:i, s:i, s:s}", "password", password,
	    plen, "salt", salt, slen, "iterations", iterations, "length", length,
	    "algorithm", algorithm);
}

/* RFC 6070, HMAC-SHA1 (the 16777216-iteration case is past the limit). */
static void
test_pbkdf2_gives_the_rfc6070_vectors(void **state)
{
	check_pbkdf2(pbkdf2_args("password", 8, "salt", 4, 1, 20, "sha1"),
	    "0c60c80f961f0e71f3a9b524af6012062fe037a6");
	check_pbkdf2(pbkdf2_args("password", 8, "salt", 4, 2, 20, "sha1"),
	    "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
	check_pbkdf2(pbkdf2_args("password", 8, "salt", 4, 4096, 20, "sha1"),
	    "4b007901b765489abead49d926f721d065a429c1");
	check_pbkdf2(pbkdf2_args("passwordPASSWORDpassword", 24,
	    "saltSALTsaltSALTsaltSALTsaltSALTsalt", 36, 4096, 25, "sha1"),
	    "3d2eec4fe41c849b80c8d83662c0e44a8b291a964cf2f07038");
	/* NUL bytes are part of the password and the salt. */
	check_pbkdf2(pbkdf2_args("pass\0word", 9, "sa\0lt", 5, 4096, 16, "sha1"),
	    "56fa6aa75548099dcc37d7f03425e0c3");
}

static void
check_pbkdf2_like_openssl(const char *algorithm, const char *password,
    const char *salt, int iterations, int length)
{
	unsigned char	key[1024];
	char		hex[2 * sizeof(key) + 1];

	assert_true(PKCS5_PBKDF2_HMAC(password, (int)strlen(password),
	    (const unsigned char *)salt, (int)strlen(salt), iterations,
	    EVP_get_digestbyname(algorithm), length, key));
	hex_of(key, (size_t)length, hex);
	check_pbkdf2(pbkdf2_args(password, strlen(password), salt, strlen(salt),
	    iterations, length, algorithm), hex);
}

static void
test_pbkdf2_agrees_with_openssl(void **state)
{
	/* Under, at and over one block, odd tails, and the maximum. */
	static const int	lengths[] = { 1, 20, 31, 32, 33, 64, 65, 100, 1024 };
	static const int	iterations[] = { 1, 2, 1000 };
	size_t			l, i;

	for (l = 0; l < nitems(lengths); l++) {
		for (i = 0; i < nitems(iterations); i++) {
			check_pbkdf2_like_openssl("sha256",
			    "correct horse battery staple", "NaCl", iterations[i],
			    lengths[l]);
			check_pbkdf2_like_openssl("sha512",
			    "correct horse battery staple", "NaCl", iterations[i],
			    lengths[l]);
		}
	}
	/* An empty password is an empty HMAC key; an empty salt is allowed. */
	check_pbkdf2_like_openssl("sha256", "", "", 3, 100);
	check_pbkdf2_like_openssl("sha512", "", "NaCl", 3, 100);
	check_pbkdf2_like_openssl("sha256", "pw", "", 3, 100);
}

static void
test_pbkdf2_defaults_to_32_bytes_of_sha256(void **state)
{
	unsigned char	key[32];
	char		hex[65];

	assert_true(PKCS5_PBKDF2_HMAC("pw", 2, (const unsigned char *)"salt", 4,
	    10, EVP_sha256(), 32, key));
	hex_of(key, sizeof(key), hex);
	check_pbkdf2(args_of("{\"password\": \"pw\", \"salt\": \"salt\", "
	    "\"iterations\": 10}"), hex);
}

static void
test_pbkdf2_cancelled_while_running_stops(void **state)
{
	check_cancel_while_running(&job_type_pbkdf2,
	    "{\"password\": \"p\", \"salt\": \"s\", \"iterations\": 10000000, "
	    "\"length\": 1024, \"algorithm\": \"sha512\"}");
}

static void
test_types_run_on_the_executor(void **state)
{
	const struct job_type	*types[] = {
		&job_type_sumsq, &job_type_digest, &job_type_pbkdf2
	};
	size_t			 i;

	assert_string_equal(job_type_sumsq.name, "sumsq");
	assert_string_equal(job_type_digest.name, "digest");
	assert_string_equal(job_type_pbkdf2.name, "pbkdf2");
	for (i = 0; i < nitems(types); i++) {
		assert_int_equal(types[i]->runs, JOB_RUNS_EXECUTOR);
		assert_non_null(types[i]->parse);
		assert_non_null(types[i]->free_parsed);
		assert_non_null(types[i]->work);
		assert_null(types[i]->start);
		assert_null(types[i]->cancel);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_run_on_the_executor),
		cmocka_unit_test(test_parse_errors_are_named_under_the_given_base),

		cmocka_unit_test(test_sumsq_refuses_a_missing_or_bad_n_naming_it),
		cmocka_unit_test(test_sumsq_accepts_n_from_0_to_ten_billion),
		cmocka_unit_test(test_sumsq_matches_the_closed_form),
		cmocka_unit_test(test_sumsq_formats_the_largest_sums_exactly),
		cmocka_unit_test(test_sumsq_cancelled_while_running_stops),

		cmocka_unit_test(test_digest_refuses_bad_args_naming_the_field),
		cmocka_unit_test(test_digest_path_is_refused_without_files_root),
		cmocka_unit_test(test_digest_gives_the_known_vectors),
		cmocka_unit_test(test_digest_xofs_give_twice_their_strength),
		cmocka_unit_test(test_digest_data_counts_utf8_bytes),
		cmocka_unit_test(test_digest_data_base64_gives_binary_bytes),
		cmocka_unit_test(test_digest_reads_files_beneath_files_root),
		cmocka_unit_test(test_digest_reads_a_large_file_whole),
		cmocka_unit_test(test_digest_refuses_files_outside_root_or_not_regular),
		cmocka_unit_test(test_digest_without_openat2_follows_no_symbolic_link),

		cmocka_unit_test(test_pbkdf2_refuses_bad_args_naming_the_field),
		cmocka_unit_test(test_pbkdf2_gives_the_rfc6070_vectors),
		cmocka_unit_test(test_pbkdf2_agrees_with_openssl),
		cmocka_unit_test(test_pbkdf2_defaults_to_32_bytes_of_sha256),
		cmocka_unit_test(test_pbkdf2_cancelled_while_running_stops),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
