/*
 * systemd's protocols as loomd speaks them: sd_notify datagrams (to a path
 * and to an abstract name), LISTEN_FDS for this process only, WATCHDOG_USEC
 * for this process only; and the watchdog's health check, which feeds
 * systemd only while every loop answers.
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <fcntl.h>
#include <semaphore.h>
#include <stdatomic.h>

#include "testutil.h"
#include "service/health.h"
#include "runtime/log.h"
#include "core/loomd.h"
#include "service/systemd.h"
#include "runtime/util.h"

struct loomd	loomd;

static char	dir[64];
static char	sock_path[128];
static int	sock_fd = -1;

static int
make_socket(void **state)
{
	struct sockaddr_un	sun;

	snprintf(dir, sizeof(dir), "/tmp/loomsdXXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sock_path, sizeof(sock_path), "%s/notify", dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, sock_path, strlen(sock_path) + 1);
	sock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	return bind(sock_fd, (struct sockaddr *)&sun, sizeof(sun));
}

static int
remove_socket(void **state)
{
	close(sock_fd);
	unlink(sock_path);
	return rmdir(dir);
}

/* The next datagram, or NULL if none is there now (delivery is synchronous). */
static char *
received(int fd)
{
	static char	buf[1024];
	ssize_t		n = recv(fd, buf, sizeof(buf) - 1, 0);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static void
test_notify_sends_one_datagram_to_a_path(void **state)
{
	assert_int_equal(systemd_own_notify(sock_path, "READY=1\nSTATUS=up"), 0);
	assert_string_equal(received(sock_fd), "READY=1\nSTATUS=up");
	assert_null(received(sock_fd));
	assert_int_equal(systemd_own_notify("relative", "READY=1"), -1);
}

static void
test_notify_reaches_an_abstract_socket(void **state)
{
	struct sockaddr_un	sun;
	char			name[64];
	int			fd;

	snprintf(name, sizeof(name), "@loomtest-%ld", (long)getpid());
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, name + 1, strlen(name) - 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))), 0);
	assert_int_equal(systemd_own_notify(name, "WATCHDOG=1"), 0);
	assert_string_equal(received(fd), "WATCHDOG=1");
	close(fd);
}

static void
set_listen_env(const char *pid, const char *fds)
{
	if (pid != NULL)
		setenv("LISTEN_PID", pid, 1);
	else
		unsetenv("LISTEN_PID");
	setenv("LISTEN_FDS", fds, 1);
	setenv("LISTEN_FDNAMES", "a:b", 1);
}

static void
test_listen_fds_are_for_this_process_only(void **state)
{
	char	pid[32], err[256];
	int	saved[2], i;

	/* Descriptors 3 and 4 as systemd would pass them. */
	for (i = 0; i < 2; i++)
		saved[i] = fcntl(SYSTEMD_LISTEN_FDS_START + i, F_DUPFD_CLOEXEC, 10);
	for (i = 0; i < 2; i++)
		assert_int_equal(dup2(sock_fd, SYSTEMD_LISTEN_FDS_START + i),
		    SYSTEMD_LISTEN_FDS_START + i);

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	set_listen_env(pid, "2");
	assert_int_equal(systemd_own_listen_fds(err, sizeof(err)), 2);
	assert_true(fcntl(SYSTEMD_LISTEN_FDS_START, F_GETFD) & FD_CLOEXEC);
	/* Their names (FileDescriptorName=) stay known: "tls" is a TLS one. */
	assert_string_equal(systemd_listen_fd_name(0), "a");
	assert_string_equal(systemd_listen_fd_name(1), "b");
	assert_string_equal(systemd_listen_fd_name(2), "");
	/* Taken once: the variables are gone, so no child inherits them. */
	assert_null(getenv("LISTEN_PID"));
	assert_null(getenv("LISTEN_FDS"));
	assert_null(getenv("LISTEN_FDNAMES"));
	assert_int_equal(systemd_own_listen_fds(err, sizeof(err)), 0);

	set_listen_env("1", "2");		/* another process's */
	assert_int_equal(systemd_own_listen_fds(err, sizeof(err)), 0);
	set_listen_env(NULL, "2");
	assert_int_equal(systemd_own_listen_fds(err, sizeof(err)), 0);
	set_listen_env(pid, "two");
	assert_int_equal(systemd_own_listen_fds(err, sizeof(err)), -1);
	assert_string_equal(err, "LISTEN_FDS=two is not a count");

	for (i = 0; i < 2; i++) {
		close(SYSTEMD_LISTEN_FDS_START + i);
		if (saved[i] != -1) {
			dup2(saved[i], SYSTEMD_LISTEN_FDS_START + i);
			close(saved[i]);
		}
	}
}

static void
test_watchdog_usec_is_for_this_process_only(void **state)
{
	char	pid[32];

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(systemd_own_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "30000000", 1);
	assert_int_equal(systemd_own_watchdog_usec(), 30000000);
	setenv("WATCHDOG_PID", pid, 1);
	assert_int_equal(systemd_own_watchdog_usec(), 30000000);
	setenv("WATCHDOG_PID", "1", 1);
	assert_int_equal(systemd_own_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "soon", 1);
	unsetenv("WATCHDOG_PID");
	assert_int_equal(systemd_own_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
}

struct blocker {
	sem_t	started;
	sem_t	release;
};

static void
block_loop(void *arg)
{
	struct blocker	*b = arg;

	sem_post(&b->started);
	sem_wait_or_fail(&b->release);
}

/* Checks until one finds every loop answered; each failed one starts a
 * new round, so this ends as soon as the loops have run their probes. */
static void
until_healthy(void)
{
	double	deadline = now_ns() / 1e9 + TEST_WAIT_SECONDS;

	while (!health_watchdog()) {
		assert_true(now_ns() / 1e9 < deadline);
		usleep(1000);
	}
}

static void
test_the_watchdog_is_fed_only_while_every_loop_answers(void **state)
{
	struct blocker	b;
	unsigned int	i;

	setenv("NOTIFY_SOCKET", sock_path, 1);
	setenv("WATCHDOG_USEC", "1000000", 1);
	systemd_init();
	loomd.nloops = 2;
	loomd.loops = calloc(2, sizeof(*loomd.loops));
	for (i = 0; i < 2; i++)
		loomd.loops[i] = start_loop(i);
	health_init();
	while (received(sock_fd) != NULL)
		;

	until_healthy();
	assert_string_equal(received(sock_fd), "WATCHDOG=1");

	/* Loop 1 stuck in a callback: the round after that is never answered. */
	sem_init(&b.started, 0, 0);
	sem_init(&b.release, 0, 0);
	assert_int_equal(loop_post(loomd.loops[1], block_loop, &b), 0);
	sem_wait_or_fail(&b.started);
	(void)health_watchdog();	/* its probes may predate the block */
	while (received(sock_fd) != NULL)
		;
	assert_false(health_watchdog());
	assert_null(received(sock_fd));
	assert_false(health_watchdog());
	assert_null(received(sock_fd));

	/* Unstuck, it answers again and systemd hears so. */
	sem_post(&b.release);
	until_healthy();
	assert_string_equal(received(sock_fd), "WATCHDOG=1");

	for (i = 0; i < 2; i++)
		finish_loop(loomd.loops[i]);
	health_free();
	free(loomd.loops);
	sem_destroy(&b.started);
	sem_destroy(&b.release);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	systemd_init();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_sends_one_datagram_to_a_path),
		cmocka_unit_test(test_notify_reaches_an_abstract_socket),
		cmocka_unit_test(test_listen_fds_are_for_this_process_only),
		cmocka_unit_test(test_watchdog_usec_is_for_this_process_only),
		cmocka_unit_test(test_the_watchdog_is_fed_only_while_every_loop_answers),
	};

	log_init("loomtest", LOG_WARNING, LOG_TO_STDERR);
	return cmocka_run_group_tests(tests, make_socket, remove_socket);
}
