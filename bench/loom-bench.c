/*
 * loom-bench: load a real loomd and measure it.
 *
 *   loom-bench [-d LOOMD] [-o KEY=VALUE]... [-T] [-s SOCKET | -H HOST:PORT] [-p PID]
 *              SCENARIO [options]
 *
 * Without -s or -H, it starts its own loomd (the binary given with -d,
 * default ./loomd, with any -o settings) on a private socket (and with -T on
 * a loopback TCP port too, which it then uses) and stops it afterwards; with
 * -s or -H it loads a
 * running server (give -p for memory figures).  The client is one thread
 * with epoll over all its connections, so it takes little CPU from the
 * daemon.
 *
 * Scenarios (each prints one "loom-bench scenario=..." line and a summary):
 *   throughput [-c CONNS] [-w INFLIGHT] [-t SECONDS]
 *       echo jobs with wait, CONNS connections x INFLIGHT requests in flight
 *   latency [-n JOBS] [-r RATE] [-t SECONDS]
 *       submit to result of an echo job: one at a time (JOBS of them), then
 *       RATE jobs/s on a fixed schedule for SECONDS; p50, p99, p99.9
 *   sleepers [-n JOBS] [-S SECONDS]
 *       JOBS pending sleep jobs lasting SECONDS to 2 x SECONDS: submit rate,
 *       daemon RSS per pending job, and timer lateness (finished_at -
 *       started_at - seconds) as they fire
 *   cpu [-n JOBS] [-m MS]
 *       JOBS sumsq jobs of about MS each through 1, then 2 executor threads:
 *       the speed-up
 *   fanout [-n CHILDREN]
 *       one gather of CHILDREN echo jobs, with wait: time to the result
 *   limit [-n JOBS]
 *       JOBS echo jobs waiting on one limit of 1 behind a sleeping holder;
 *       when it ends, each release hands the limit on: time per release
 *   replay [-n JOBS]
 *       JOBS echo jobs delayed by a day, then kill -9 and a restart on the
 *       same state_dir: journal bytes per pending job, replay time
 *   connections [-n CONNS] [-P PINGS]
 *       CONNS idle connections: daemon RSS per connection, and ping latency
 *       while they are held
 *   beanstalkd -H HOST:PORT [-c CONNS] [-w INFLIGHT] [-t SECONDS]
 *       the throughput client on beanstalkd: put + reserve + delete cycles/s
 *       (bench/compare.sh runs both servers side by side)
 *   exec [-c CONNS] [-w INFLIGHT] [-t SECONDS]
 *       like throughput, with exec jobs running /bin/true (command "true")
 *   http [-c CONNS] [-w INFLIGHT] [-t SECONDS]
 *       like throughput, with http GETs of a small page from a server in
 *       this process (one thread, no keep-alive: a connection per request)
 *   tls [-c CONNS] [-w INFLIGHT] [-t SECONDS] [-n IDLE]
 *       throughput over plain TCP, then over TLS, on one daemon; then
 *       IDLE idle connections' daemon RSS over each
 *   worker [-c CONNS] [-w INFLIGHT] [-W WORKERS] [-k CONCURRENCY] [-t SECONDS]
 *       jobs of a type run by workers: WORKERS connections say worker.hello
 *       with CONCURRENCY and complete each job pushed to them at once; CONNS
 *       clients keep INFLIGHT submits with wait going: cycles/s
 *   abuse [-F FLOOD]
 *       a hostile client's floods (list, list_large, result, watch, stream,
 *       results_held, gone_waiting, waits, partial_lines, cpu), each on a
 *       fresh daemon beside a normal client pinging: peak RSS over idle,
 *       ping p50/p99
 */
#include "autoconf.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "scenarios.h"

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loom-bench [-d LOOMD] [-o KEY=VALUE]... [-T] [-s SOCKET | "
	    "-H HOST:PORT] [-p PID] SCENARIO [options]\n"
	    "  throughput   [-c CONNS] [-w INFLIGHT] [-t SECONDS]\n"
	    "  latency      [-n JOBS] [-r RATE] [-t SECONDS]\n"
	    "  sleepers     [-n JOBS] [-S SECONDS]\n"
	    "  replay       [-n JOBS]\n"
	    "  cpu          [-n JOBS] [-m MS]\n"
	    "  fanout       [-n CHILDREN]\n"
	    "  limit        [-n JOBS]\n"
	    "  connections  [-n CONNS] [-P PINGS]\n"
	    "  beanstalkd   -H HOST:PORT [-c CONNS] [-w INFLIGHT] [-t SECONDS]\n"
	    "  exec         [-c CONNS] [-w INFLIGHT] [-t SECONDS]\n"
	    "  http         [-c CONNS] [-w INFLIGHT] [-t SECONDS]\n"
	    "  tls          [-c CONNS] [-w INFLIGHT] [-t SECONDS] [-n IDLE]\n"
	    "  worker       [-c CONNS] [-w INFLIGHT] [-W WORKERS] [-k CONCURRENCY] "
	    "[-t SECONDS]\n"
	    "  abuse        [-F FLOOD]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char	*scenario, *flood = NULL;
	int		 ch, conns = 4, inflight = 64, workers = 2, concurrency = 256;
	long		 n = 0, pings = 10000;
	size_t		 nargs = 0;
	double		 seconds = 0, sleep_s = 0, rate = 10000, job_ms = 75;

	while ((ch = getopt(argc, argv, "+d:o:s:H:p:T")) != -1) {
		switch (ch) {
		case 'd':
			opt_loomd = optarg;
			break;
		case 'o':
			if (nargs + 1 >= sizeof(opt_loomd_args) / sizeof(opt_loomd_args[0]))
				usage();
			opt_loomd_args[nargs++] = optarg;
			break;
		case 's':
			opt_socket = optarg;
			break;
		case 'H':
			opt_tcp = optarg;
			break;
		case 'p':
			daemon_pid = (pid_t)atoi(optarg);
			break;
		case 'T':
			opt_spawn_tcp = true;
			break;
		default:
			usage();
		}
	}
	if (optind >= argc)
		usage();
	scenario = argv[optind];
	optind++;
	while ((ch = getopt(argc, argv, "c:w:t:n:S:r:m:P:W:k:F:")) != -1) {
		switch (ch) {
		case 'c':
			conns = atoi(optarg);
			break;
		case 'w':
			inflight = atoi(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'n':
			n = atol(optarg);
			break;
		case 'S':
			sleep_s = atof(optarg);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'm':
			job_ms = atof(optarg);
			break;
		case 'P':
			pings = atol(optarg);
			break;
		case 'W':
			workers = atoi(optarg);
			break;
		case 'k':
			concurrency = atoi(optarg);
			break;
		case 'F':
			flood = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || conns < 1 || inflight < 1 || n < 0 || rate <= 0 ||
	    workers < 1 || concurrency < 1)
		usage();
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(scenario, "throughput") == 0) {
		bench_spawn(NULL);
		bench_throughput(conns, inflight, seconds > 0 ? seconds : 5);
	} else if (strcmp(scenario, "latency") == 0) {
		bench_spawn(NULL);
		bench_latency(n ? n : 100000, rate, seconds > 0 ? seconds : 5);
	} else if (strcmp(scenario, "sleepers") == 0) {
		char	maxjobs[64], *extra[] = { "-o", maxjobs, NULL };

		n = n ? n : 100000;
		snprintf(maxjobs, sizeof(maxjobs), "max_jobs=%ld", n + 1000);
		bench_spawn(extra);
		bench_sleepers(n, sleep_s > 0 ? sleep_s : 5 + n / 50000.0);
	} else if (strcmp(scenario, "cpu") == 0) {
		bench_cpu(n ? n : 40, job_ms);
	} else if (strcmp(scenario, "fanout") == 0) {
		bench_spawn(NULL);
		bench_fanout(n ? n : 10000);
	} else if (strcmp(scenario, "limit") == 0) {
		char	maxjobs[64], *extra[] = { "-o", maxjobs, "-o",
			    "limit.bench.concurrency=1", NULL };

		n = n ? n : 100000;
		snprintf(maxjobs, sizeof(maxjobs), "max_jobs=%ld", 2 * n + 1000);
		bench_spawn(extra);
		bench_limit(n);
	} else if (strcmp(scenario, "replay") == 0) {
		char	maxjobs[64], *extra[] = { "-o", maxjobs, NULL };

		n = n ? n : 1000000;
		snprintf(maxjobs, sizeof(maxjobs), "max_jobs=%ld", n + 1000);
		bench_spawn(extra);
		bench_replay(n);
	} else if (strcmp(scenario, "connections") == 0) {
		bench_connections(n ? n : 10000, pings);
	} else if (strcmp(scenario, "beanstalkd") == 0) {
		bench_beanstalkd(conns, inflight, seconds > 0 ? seconds : 5);
	} else if (strcmp(scenario, "exec") == 0) {
		bench_exec(conns, inflight, seconds > 0 ? seconds : 5);
	} else if (strcmp(scenario, "tls") == 0) {
		if (opt_socket != NULL || opt_tcp != NULL)
			die("tls starts its own daemons: no -s or -H");
		bench_tls_compare(conns, inflight, seconds > 0 ? seconds : 5,
		    n ? n : 1000);
	} else if (strcmp(scenario, "http") == 0) {
		bench_http(conns, inflight, seconds > 0 ? seconds : 5);
	} else if (strcmp(scenario, "worker") == 0) {
		char	*extra[] = { "-o", "type.bench.lease=60s", NULL };

		bench_spawn(extra);
		bench_worker(conns, inflight, workers, concurrency,
		    seconds > 0 ? seconds : 5);
	} else if (strcmp(scenario, "abuse") == 0) {
		bench_abuse(flood);
	} else
		usage();
	bench_stop();
	return 0;
}
