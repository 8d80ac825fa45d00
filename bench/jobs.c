/*
 * Scenarios about jobs rather than requests: many pending sleepers, CPU
 * work through the executor, a wide gather, a contended limit, a backlog
 * replayed after a crash.
 */
#include "autoconf.h"

#include <sys/epoll.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "scenarios.h"

#define SLEEP_BATCH	1000

static double
view_time(json_t *view, const char *key)
{
	return json_number_value(json_object_get(view, key));
}

/* The job of a one-job answer. */
static json_t *
answer_job(json_t *r)
{
	return json_object_get(r, "job");
}

/* sleepers ------------------------------------------------------------------ */

struct sleepers {
	const double	*seconds;	/* per job, as sent */
	double		*late;
	long		 nlate;
	long		 finished;
};

static void
sleepers_line(struct bconn *c, char *line, size_t len, void *arg)
{
	struct sleepers	*s = arg;
	json_t		*r, *jobs, *v;
	json_error_t	 err;
	json_int_t	 batch;
	size_t		 i;

	c->inflight--;
	if ((r = json_loadb(line, len, 0, &err)) == NULL)
		die("bad reply: %s", err.text);
	if (!json_is_true(json_object_get(r, "ok")))
		die("submit failed: %.*s", (int)(len > 300 ? 300 : len), line);
	batch = json_integer_value(json_object_get(r, "id"));
	jobs = json_object_get(r, "jobs");
	json_array_foreach(jobs, i, v) {
		s->late[s->nlate++] = view_time(v, "finished_at") -
		    view_time(v, "started_at") - s->seconds[batch * SLEEP_BATCH + i];
	}
	s->finished += (long)json_array_size(jobs);
	json_decref(r);
}

/* Jobs the daemon holds in the given state, from stats. */
static long
jobs_in(const char *state)
{
	json_t	*r = call("{\"op\":\"stats\"}");
	long	 n = (long)json_integer_value(json_object_get(json_object_get(
		    json_object_get(r, "stats"), "jobs"), state));

	json_decref(r);
	return n;
}

/*
 * JOBS sleep jobs, their durations spread evenly over [S, 2S], so that they
 * fire one by one as real timers would and lateness measures the timers, not
 * a thundering herd.  Submitted in batches with wait: each answer comes when
 * its batch has fired, and until then every job is pending in the daemon.
 * Batch b of B takes its durations from its own slice of the range (in a
 * golden-ratio order within it), so the answers, each a thousand views, come
 * one by one over the range rather than all at its end.
 */
void
bench_sleepers(long njobs, double seconds)
{
	struct sleepers		 s = { 0 };
	struct bconn		 c = { 0 };
	struct epoll_event	 ev;
	struct obuf		 out = { 0 };
	double			*secs = calloc(njobs, sizeof(*secs));
	double			 t0, t1, deadline, frac;
	long			 rss0, rss1, sent = 0, i, n, batch;
	char			 num[32], head[96];
	int			 ep, len;

	s.seconds = secs;
	s.late = calloc(njobs, sizeof(*s.late));
	if ((c.fd = bench_connect()) == -1)
		die("cannot connect: %s", strerror(errno));
	rss0 = daemon_rss_kib();
	t0 = now();
	for (batch = 0; sent < njobs; batch++) {
		n = njobs - sent < SLEEP_BATCH ? njobs - sent : SLEEP_BATCH;
		len = snprintf(head, sizeof(head), "{\"op\":\"submit\",\"id\":%ld,"
		    "\"wait\":true,\"jobs\":[", batch);
		obuf_add(&out, head, (size_t)len);
		for (i = 0; i < n; i++) {
			frac = (batch + fmod((double)i * 0.6180339887498949, 1.0)) /
			    ((njobs + SLEEP_BATCH - 1) / SLEEP_BATCH);
			len = snprintf(num, sizeof(num), "%.6f", seconds * (1 + frac));
			secs[sent + i] = strtod(num, NULL);
			len = snprintf(head, sizeof(head), "%s{\"type\":\"sleep\",\"ttl\":0,"
			    "\"args\":{\"seconds\":%s}}", i ? "," : "", num);
			obuf_add(&out, head, (size_t)len);
		}
		obuf_add(&out, "]}\n", 3);
		obuf_send(&out, c.fd);
		c.inflight++;
		sent += n;
	}
	/* All sent; wait until the daemon has taken them all. */
	while (jobs_in("running") < njobs) {
		if (now() - t0 > seconds)
			die("submitting %ld jobs took longer than the shortest sleep "
			    "(%gs); use a larger -S", njobs, seconds);
		usleep(10000);
	}
	t1 = now();
	rss1 = daemon_rss_kib();

	fcntl(c.fd, F_SETFL, O_NONBLOCK);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.ptr = &c;
	epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
	deadline = now() + 2 * seconds + 120;
	while (s.finished < njobs) {
		if (now() > deadline)
			die("the sleepers did not finish");
		if (epoll_wait(ep, &ev, 1, 1000) == 1)
			read_lines(&c, sleepers_line, &s);
	}
	qsort(s.late, s.nlate, sizeof(double), cmp_double);
	printf("loom-bench scenario=sleepers jobs=%ld sleep_s=%g..%g submit_per_s=%.0f "
	    "rss_per_job_bytes=%.0f late_p50_ms=%.3f late_p99_ms=%.3f "
	    "late_max_ms=%.3f\n", njobs, seconds, 2 * seconds, njobs / (t1 - t0),
	    rss1 > 0 ? (rss1 - rss0) * 1024.0 / njobs : -1.0,
	    quantile(s.late, s.nlate, 0.5) * 1e3, quantile(s.late, s.nlate, 0.99) * 1e3,
	    s.late[s.nlate - 1] * 1e3);
	printf("  %ld pending sleep jobs (%g to %g s): submitted at %.0f jobs/s, "
	    "%.0f bytes of daemon RSS each; timers late by p50 %.3f ms, p99 %.3f ms\n",
	    njobs, seconds, 2 * seconds, njobs / (t1 - t0),
	    rss1 > 0 ? (rss1 - rss0) * 1024.0 / njobs : -1.0,
	    quantile(s.late, s.nlate, 0.5) * 1e3, quantile(s.late, s.nlate, 0.99) * 1e3);
	close(ep);
	close(c.fd);
	free(c.buf);
	free(s.late);
	free(secs);
	free(out.p);
}

/* cpu --------------------------------------------------------------------- */

static const char submit_batch[] = "{\"op\":\"submit\",\"wait\":true,\"jobs\":[";

/* NJOBS sumsq jobs of n in one batch with wait: submit to answer. */
static double
cpu_round(long njobs, long n)
{
	struct obuf	 out = { 0 };
	double		 t0, wall;
	json_t		*r, *jobs;
	char		 spec[96];
	long		 i;
	int		 len;

	obuf_add(&out, submit_batch, sizeof(submit_batch) - 1);
	for (i = 0; i < njobs; i++) {
		len = snprintf(spec, sizeof(spec), "%s{\"type\":\"sumsq\",\"ttl\":0,"
		    "\"args\":{\"value\":%ld}}", i ? "," : "", n);
		obuf_add(&out, spec, (size_t)len);
	}
	obuf_add(&out, "]}", 3);	/* with the NUL */
	t0 = now();
	r = call("%s", out.p);
	wall = now() - t0;
	jobs = json_object_get(r, "jobs");
	for (i = 0; i < njobs; i++) {
		if (strcmp(json_string_value(json_object_get(json_array_get(jobs,
		    (size_t)i), "state")), "done") != 0)
			die("a sumsq job did not finish done");
	}
	json_decref(r);
	free(out.p);
	return wall;
}

/*
 * sumsq through the executor, with 1 and then 2 executor threads (a daemon
 * each): NJOBS jobs of about JOB_MS each in one batch; the speed-up is the
 * ratio of the wall times.
 */
void
bench_cpu(long njobs, double job_ms)
{
	char	 threads[32], *extra[] = { "-o", threads, NULL };
	double	 one, two, took;
	json_t	*r;
	long	 n = 20000000;

	if (opt_socket != NULL || opt_tcp != NULL)
		die("cpu starts its own daemons (no -s or -H)");
	snprintf(threads, sizeof(threads), "executor_threads=1");
	bench_spawn(extra);
	/* Calibrate n from one job alone, by its own timestamps. */
	r = call("{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":\"sumsq\","
	    "\"ttl\":0,\"args\":{\"n\":%ld}}}", n);
	took = view_time(answer_job(r), "finished_at") - view_time(answer_job(r),
	    "started_at");
	json_decref(r);
	if (took > 0)
		n = (long)(n * (job_ms / 1e3) / took);
	(void)cpu_round(2, n);	/* warm */
	one = cpu_round(njobs, n);
	bench_stop();
	snprintf(threads, sizeof(threads), "executor_threads=2");
	bench_spawn(extra);
	(void)cpu_round(2, n);
	two = cpu_round(njobs, n);
	bench_stop();
	printf("loom-bench scenario=cpu jobs=%ld n=%ld job_ms=%.1f wall_1_s=%.3f "
	    "wall_2_s=%.3f speedup=%.3f\n", njobs, n, one / njobs * 1e3, one, two,
	    one / two);
	printf("  %ld sumsq jobs (n=%ld, %.1f ms each alone): 1 executor thread "
	    "%.2f s, 2 threads %.2f s: speed-up %.2fx\n", njobs, n,
	    one / njobs * 1e3, one, two, one / two);
}

/* fanout ------------------------------------------------------------------ */

void
bench_fanout(long n)
{
	double	 best = 1e9, took, t0;
	char	*spec = malloc(64 + n * 48), *p;
	json_t	*r;
	long	 i;
	int	 round;

	p = spec + sprintf(spec, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"gather\",\"ttl\":0,\"args\":{\"jobs\":[");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s{\"type\":\"echo\",\"ttl\":0}", i ? "," : "");
	sprintf(p, "]}}}");
	for (round = 0; round < 5; round++) {
		t0 = now();
		r = call("%s", spec);
		took = now() - t0;
		if (json_array_size(json_object_get(json_object_get(answer_job(r),
		    "result"), "results")) != (size_t)n)
			die("the gather did not return %ld results", n);
		json_decref(r);
		if (took < best)
			best = took;
	}
	printf("loom-bench scenario=fanout children=%ld seconds=%.4f\n", n, best);
	printf("  one gather of %ld echo children, submit to result: %.1f ms "
	    "(best of 5)\n", n, best * 1e3);
	free(spec);
}

/* limit ------------------------------------------------------------------- */

void
bench_limit(long n)
{
	json_t		*r;
	json_int_t	 holder, last = 0;
	double		 released, finished, hold = 2 + n / 50000.0;
	char		*line = malloc(128 + SLEEP_BATCH * 64), *p;
	long		 sent = 0, i, k;

	r = call("{\"op\":\"submit\",\"job\":{\"type\":\"sleep\",\"limits\":"
	    "[\"bench\"],\"args\":{\"seconds\":%g}}}", hold);
	holder = json_integer_value(json_object_get(answer_job(r), "id"));
	json_decref(r);
	while (sent < n) {
		k = n - sent < SLEEP_BATCH ? n - sent : SLEEP_BATCH;
		p = line + sprintf(line, "{\"op\":\"submit\",\"jobs\":[");
		for (i = 0; i < k; i++)
			p += sprintf(p, "%s{\"type\":\"echo\",\"limits\":[\"bench\"]}",
			    i ? "," : "");
		sprintf(p, "]}");
		r = call("%s", line);
		last = json_integer_value(json_object_get(json_array_get(
		    json_object_get(r, "jobs"), k - 1), "id"));
		json_decref(r);
		sent += k;
	}
	r = call("{\"op\":\"result\",\"wait\":true,\"job\":%lld}", (long long)holder);
	released = view_time(answer_job(r), "finished_at");
	json_decref(r);
	if (released == 0)
		die("the holder did not finish: submitting took longer than it held (%gs)",
		    hold);
	/* Waiters are granted by priority, then in submit order: the last is last. */
	r = call("{\"op\":\"result\",\"wait\":true,\"job\":%lld}", (long long)last);
	finished = view_time(answer_job(r), "finished_at");
	json_decref(r);
	printf("loom-bench scenario=limit waiters=%ld us_per_release=%.3f\n", n,
	    (finished - released) / n * 1e6);
	printf("  %ld jobs waiting on one limit of 1: %.2f us per release (%.0f "
	    "hand-overs/s)\n", n, (finished - released) / n * 1e6,
	    n / (finished - released));
	free(line);
}

/* replay --------------------------------------------------------------------- */

/* The bytes the journal's files under dir hold up to their last non-zero
 * byte: segments are preallocated, so neither their length nor their
 * blocks say how much of them records fill. */
static long long
journal_used_bytes(const char *dir)
{
	char		 path[512], buf[65536];
	long long	 total = 0, pos, last;
	struct dirent	*de;
	DIR		*d;
	ssize_t		 n, i;
	int		 fd;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((fd = open(path, O_RDONLY)) == -1)
			continue;
		for (pos = 0, last = 0; (n = read(fd, buf, sizeof(buf))) > 0; pos += n) {
			for (i = n; i > 0 && buf[i - 1] == 0; i--)
				;
			if (i > 0)
				last = pos + i;
		}
		close(fd);
		total += last;
	}
	closedir(d);
	return total;
}

static void
replay_line(struct bconn *c, char *line, size_t len, void *arg)
{
	long	*acked = arg;

	c->inflight--;
	if (len < 10 || memcmp(line, "{\"ok\":true", 10) != 0)
		die("submit failed: %.*s", (int)(len > 300 ? 300 : len), line);
	*acked += SLEEP_BATCH;
}

/*
 * JOBS echo jobs delayed by a day (pending, as a backlog is), submitted in
 * batches of a thousand with up to eight batches in flight; then the
 * daemon is killed with SIGKILL and started again on its state_dir.  Prints
 * the journal's bytes per pending job (written, and on disk) and how long
 * the restart took until the daemon answered, with its own count of the
 * replay.
 */
void
bench_replay(long njobs)
{
	struct bconn	 c = { 0 };
	struct obuf	 out = { 0 };
	json_t		*r, *rec;
	char		 head[96], jdir[160];
	long		 sent = 0, acked = 0, n, i, recovered;
	long long	 used;
	double		 t0, submit_rate, took, replay_s;

	njobs = (njobs + SLEEP_BATCH - 1) / SLEEP_BATCH * SLEEP_BATCH;
	if ((c.fd = bench_connect()) == -1)
		die("cannot connect: %s", strerror(errno));
	t0 = now();
	while (acked < njobs) {
		while (c.inflight < 8 && sent < njobs) {
			n = SLEEP_BATCH;
			snprintf(head, sizeof(head), "{\"op\":\"submit\",\"jobs\":[");
			obuf_add(&out, head, strlen(head));
			for (i = 0; i < n; i++) {
				snprintf(head, sizeof(head), "%s{\"type\":\"echo\","
				    "\"delay\":86400,\"args\":{\"value\":%ld}}", i ? "," : "",
				    sent + i);
				obuf_add(&out, head, strlen(head));
			}
			obuf_add(&out, "]}\n", 3);
			obuf_send(&out, c.fd);
			c.inflight++;
			sent += n;
		}
		if (read_lines(&c, replay_line, &acked) == 0)
			usleep(1000);
	}
	submit_rate = njobs / (now() - t0);
	close(c.fd);
	free(c.buf);
	free(out.p);
	snprintf(jdir, sizeof(jdir), "%s/journal", bench_state_dir());

	t0 = now();
	bench_crash_restart();
	used = journal_used_bytes(jdir);	/* as the crash left it */
	r = call("{\"op\":\"ping\"}");
	took = now() - t0;
	rec = json_object_get(r, "recovered");
	recovered = (long)json_integer_value(json_object_get(rec, "jobs"));
	replay_s = json_number_value(json_object_get(rec, "seconds"));
	json_decref(r);
	if (used < 0)
		die("cannot read the journal in %s", jdir);
	if (recovered != njobs)
		die("replay recovered %ld jobs of %ld", recovered, njobs);
	printf("loom-bench scenario=replay jobs=%ld submit_per_s=%.0f "
	    "journal_bytes_per_job=%.0f replay_s=%.3f restart_to_answer_s=%.3f\n",
	    njobs, submit_rate, (double)used / njobs, replay_s, took);
	printf("  %ld pending echo jobs: %.0f journal bytes each; after kill -9 "
	    "the restart replayed them in %.3f s and answered %.3f s after it "
	    "began\n", njobs, (double)used / njobs, replay_s, took);
}
