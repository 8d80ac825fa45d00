/*
 * Containment's parsing and choices, which the integration tests cannot
 * reach on a machine without a delegated cgroup v2: the unified line of
 * /proc/self/cgroup, the marker in an environ block, the instance of a
 * state_dir, and the refusal of a cgroup directory that is not v2.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/xattr.h>

#include <unistd.h>

#include "testutil.h"
#include "io/contain.h"
#include "io/contain_private.h"
#include "runtime/util.h"

static void
test_the_unified_line_of_proc_self_cgroup(void **state)
{
	static const struct {
		const char	*text;
		const char	*path;		/* NULL: none */
	} cases[] = {
		{ "0::/system.slice/loomd.service\n", "/system.slice/loomd.service" },
		{ "0::/\n", "/" },
		/* Hybrid: v1 lines first, the unified one last, no newline. */
		{ "12:pids:/system.slice/loomd.service\n1:name=systemd:/x\n"
		  "0::/system.slice/loomd.service/supervisor",
		  "/system.slice/loomd.service/supervisor" },
		/* v1 only, or malformed. */
		{ "4:memory:/a\n1:name=systemd:/\n", NULL },
		{ "0::\n", NULL },
		{ "10::/x\n", NULL },
		{ "", NULL },
	};
	char	*p;
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		p = contain_parse_cgroup(cases[i].text);
		if (cases[i].path == NULL) {
			if (p != NULL)
				fail_msg("case %zu: %s, not none", i, p);
			continue;
		}
		if (p == NULL || strcmp(p, cases[i].path) != 0)
			fail_msg("case %zu: %s, not %s", i, p != NULL ? p : "none",
			    cases[i].path);
		free(p);
	}
}

static void
test_the_marker_in_an_environ_block(void **state)
{
	static const char	ours[] = "PATH=/bin\0LOOMD_JOB=42\0"
				    "LOOMD_INSTANCE=00112233aabbccdd\0HOME=/\0";
	static const char	other[] = "LOOMD_JOB=42\0"
				    "LOOMD_INSTANCE=ffffffffffffffff\0";
	static const char	no_job[] = "LOOMD_INSTANCE=00112233aabbccdd\0";
	static const char	bad_job[] = "LOOMD_JOB=4x2\0"
				    "LOOMD_INSTANCE=00112233aabbccdd\0";
	static const char	prefix[] = "LOOMD_JOB=7\0"
				    "LOOMD_INSTANCE=00112233aabbccdd00\0";
	/* Cut short (a read that stopped): the last variable has no NUL. */
	static const char	cut[] = "LOOMD_INSTANCE=00112233aabbccdd\0"
				    "LOOMD_JOB=123";
	uint64_t		job = 0;
	const char		*inst = "00112233aabbccdd";

	assert_true(contain_environ_job(ours, sizeof(ours) - 1, inst, &job));
	assert_int_equal(job, 42);
	assert_false(contain_environ_job(other, sizeof(other) - 1, inst, &job));
	assert_false(contain_environ_job(no_job, sizeof(no_job) - 1, inst, &job));
	assert_false(contain_environ_job(bad_job, sizeof(bad_job) - 1, inst,
	    &job));
	assert_false(contain_environ_job(prefix, sizeof(prefix) - 1, inst, &job));
	assert_false(contain_environ_job(cut, sizeof(cut) - 1, inst, &job));
}

static void
test_the_instance_is_the_state_dirs(void **state)
{
	char	a[17], b[17], c[17];

	contain_instance_of("/var/lib/loomd", a);
	contain_instance_of("/var/lib/loomd", b);
	contain_instance_of("/var/lib/loomd2", c);
	assert_int_equal(strlen(a), 16);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	/* The same directory however it is spelled. */
	contain_instance_of("/", a);
	contain_instance_of("//.", b);
	assert_string_equal(a, b);
}

static void
test_only_a_delegated_v2_directory_is_taken(void **state)
{
	/* Not cgroup2 file systems, the root cgroup, no path at all. */
	assert_null(contain_cgroup_dir("/tmp", "/x"));
	assert_null(contain_cgroup_dir("/proc", "/self"));
	assert_null(contain_cgroup_dir("/sys/fs/cgroup", "/"));
	assert_null(contain_cgroup_dir("/sys/fs/cgroup", NULL));
}

/* A directory made to look like a cgroup: what makes it delegated. */
static void
test_what_makes_a_cgroup_delegated(void **state)
{
	char	dir[] = "/tmp/loomcg.XXXXXX", path[64];
	FILE	*fp;
	bool	xattrs;

	assert_non_null(mkdtemp(dir));
	assert_false(contain_delegated(dir));		/* no cgroup files */
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	assert_false(contain_delegated(dir));		/* no cgroup.kill */
	snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
	assert_non_null(fp = fopen(path, "w"));
	fclose(fp);
	/* Ours as a non-root user; root needs systemd's mark. */
	assert_int_equal(contain_delegated(dir), geteuid() != 0);
	xattrs = setxattr(dir, "user.delegate", "1", 1, 0) == 0;
	if (xattrs)
		assert_true(contain_delegated(dir));
	assert_int_equal(chmod(dir, 0555), 0);
	if (geteuid() != 0)
		assert_false(contain_delegated(dir));	/* not writable */
	assert_int_equal(chmod(dir, 0755), 0);
	unlink(path);
	assert_false(contain_delegated(dir));
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_unified_line_of_proc_self_cgroup),
		cmocka_unit_test(test_the_marker_in_an_environ_block),
		cmocka_unit_test(test_the_instance_is_the_state_dirs),
		cmocka_unit_test(test_only_a_delegated_v2_directory_is_taken),
		cmocka_unit_test(test_what_makes_a_cgroup_delegated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
