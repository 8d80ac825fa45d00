/*
 * loomd under systemd: sd_notify messages on a NOTIFY_SOCKET the test owns,
 * the watchdog, socket activation with descriptors the test passes as
 * systemd does, and dropping privileges when started as root.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"

/* The next message with a line starting with prefix; that line's value. */
static char *
notify_value(struct daemon *d, const char *prefix)
{
	size_t	 len = strlen(prefix);
	char	*msg, *line, *next, *value;

	for (;;) {
		msg = daemon_notify_recv(d, HARNESS_WAIT);
		for (line = msg; line != NULL; line = next) {
			if ((next = strchr(line, '\n')) != NULL)
				*next++ = '\0';
			if (strncmp(line, prefix, len) == 0) {
				value = strdup(line + len);
				free(msg);
				return value;
			}
		}
		free(msg);
	}
}

static void
test_ready_status_and_stopping_reach_the_notify_socket(void **state)
{
	struct daemon_opts	 opts = { .notify = true };
	struct daemon		 d;
	struct client		 c;
	char			*status;

	daemon_start_with(&d, &opts);	/* returns at READY=1 */
	status = notify_value(&d, "STATUS=");
	assert_non_null(strstr(status, "running"));
	assert_non_null(strstr(status, "connections"));
	free(status);
	/* Work shows in the status line. */
	client_connect(&c, &d);
	json_decref(client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"sleep\","
	    "\"args\":{\"seconds\":3600}}}"));
	for (;;) {
		status = notify_value(&d, "STATUS=");
		if (strstr(status, "1 running") != NULL) {
			free(status);
			break;
		}
		free(status);
	}
	daemon_signal(&d, SIGTERM);
	free(daemon_notify_wait(&d, "STOPPING=1"));
	assert_null(client_recv_or_eof(&c, HARNESS_WAIT));
	client_close(&c);
	assert_int_equal(daemon_wait_exit(&d), 0);
}

static void
test_the_watchdog_is_fed_while_the_loops_answer(void **state)
{
	static const char *const env[] = { "WATCHDOG_USEC=300000", NULL };
	struct daemon_opts	 opts = { .notify = true, .env = env };
	struct daemon		 d;
	int			 i;

	daemon_start_with(&d, &opts);
	for (i = 0; i < 3; i++)
		free(daemon_notify_wait(&d, "WATCHDOG=1"));
	daemon_stop(&d);
}

static void
test_socket_activation_takes_the_passed_listeners(void **state)
{
	static const char *const open_tcp[] = { "-o", "auth_tcp=none", NULL };
	struct daemon_opts	 opts = { .socket_activation = true,
				    .extra = open_tcp };
	struct daemon		 d;
	struct client		 c;
	struct stat		 st;
	char			 unused[160];

	daemon_start_with(&d, &opts);
	client_connect(&c, &d);
	client_assert_pings(&c);
	client_close(&c);
	client_connect_tcp(&c, &d);
	client_assert_pings(&c);
	client_close(&c);
	/* Its own unix_socket was not made; the log says where it listens. */
	snprintf(unused, sizeof(unused), "%s/unused.sock", d.dir);
	assert_int_equal(stat(unused, &st), -1);
	assert_true(daemon_log_contains(&d, "socket activation: 2 listeners"));
	assert_true(daemon_log_contains(&d, "(from systemd)"));
	daemon_stop(&d);
}

/* "Uid:\t1\t2\t3\t4" of /proc/PID/status: all four must be want. */
static void
assert_ids(pid_t pid, const char *field, unsigned int want)
{
	char		 path[64], line[256], expect[128];
	FILE		*f;
	bool		 found = false;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	assert_non_null(f = fopen(path, "r"));
	snprintf(expect, sizeof(expect), "%s\t%u\t%u\t%u\t%u\n", field, want, want,
	    want, want);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, field, strlen(field)) == 0) {
			assert_string_equal(line, expect);
			found = true;
		}
	}
	fclose(f);
	assert_true(found);
}

static void
test_started_as_root_it_becomes_user_and_group(void **state)
{
	static const char *const extra[] = {
		"-o", "user=nobody", "-o", "group=nogroup", NULL
	};
	struct daemon_opts	 opts = { .extra = extra, .notify = true };
	struct daemon		 d;
	struct client		 c;
	struct passwd		*pw;
	struct group		*gr;
	struct stat		 st;
	uid_t			 uid;
	gid_t			 gid;

	if (geteuid() != 0)
		skip();
	assert_non_null(pw = getpwnam("nobody"));
	uid = pw->pw_uid;
	assert_non_null(gr = getgrnam("nogroup"));
	gid = gr->gr_gid;

	daemon_start_with(&d, &opts);	/* READY=1 comes after the switch */
	assert_ids(d.pid, "Uid:", uid);
	assert_ids(d.pid, "Gid:", gid);
	/* The socket it made is theirs, and it still answers. */
	assert_int_equal(stat(d.sock, &st), 0);
	assert_int_equal(st.st_uid, uid);
	assert_int_equal(st.st_gid, gid);
	client_connect(&c, &d);
	client_assert_pings(&c);
	client_close(&c);
	assert_true(daemon_log_contains(&d, "privileges dropped"));
	daemon_stop(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ready_status_and_stopping_reach_the_notify_socket),
		cmocka_unit_test(test_the_watchdog_is_fed_while_the_loops_answer),
		cmocka_unit_test(test_socket_activation_takes_the_passed_listeners),
		cmocka_unit_test(test_started_as_root_it_becomes_user_and_group),
	};

	return cmocka_run_group_tests_name("systemd", tests, NULL, NULL);
}
