/*
 * The journal, from outside: a job a client was told of is never lost by a
 * crash of loomd.  Each test kills the real daemon (SIGKILL) or stops it,
 * starts it again on the same state_dir, and reads what came back.  Faults
 * are injected with the LD_PRELOAD shim of tests/fault.
 */
#include "autoconf.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"


static void
start_with(struct daemon *d, const char *const extra[], const char *const env[])
{
	struct daemon_opts	opts = { .state_dir = test_state_dir, .extra = extra,
				    .env = env };

	daemon_start_with(d, &opts);
}

static void
start(struct daemon *d)
{
	static const char *const extra[] = { "-o", "loops=2", NULL };

	start_with(d, extra, NULL);
}

static json_t *
status(struct client *c, json_int_t id)
{
	return client_call(c, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
}

/* The job's state is `want`. */
static void
assert_state(struct client *c, json_int_t id, const char *want)
{
	json_t	*r = status(c, id);

	assert_string_equal(reply_job_state(r), want);
	json_decref(r);
}

static json_int_t
recovered_jobs(struct client *c)
{
	json_t		*r = client_call(c, "{\"op\":\"ping\"}");
	json_int_t	 n = json_integer_value(json_object_get(json_object_get(r,
			    "recovered"), "jobs"));

	json_decref(r);
	return n;
}

/* Each restart rule of the contract, after a kill -9. */
static void
test_what_comes_back_after_a_kill(void **unused)
{
	struct daemon	 d;
	struct client	 c;
	json_t		*r, *v;
	json_int_t	 done, running, delayed, failing, keyed, again;

	start(&d);
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"echo\",\"args\":{\"value\":{\"kept\":[1,2]}}}}");
	done = reply_job_id(r);
	json_decref(r);
	running = client_submit(&c, "{\"type\":\"sleep\",\"args\":{\"seconds\":600}}");
	delayed = client_submit(&c, "{\"type\":\"sleep\",\"delay\":3600,\"args\":{\"seconds\":1}}");
	failing = client_submit(&c, "{\"type\":\"sleep\",\"on_interrupt\":\"fail\","
	    "\"args\":{\"seconds\":600}}");
	keyed = client_submit(&c, "{\"type\":\"sleep\",\"key\":\"once\",\"args\":"
	    "{\"seconds\":600}}");
	json_decref(client_wait_left(&c, running, "queued"));
	json_decref(client_wait_left(&c, failing, "queued"));
	client_close(&c);
	daemon_kill(&d);

	start(&d);
	client_connect(&c, &d);
	assert_int_equal(recovered_jobs(&c), 5);
	r = status(&c, done);
	assert_string_equal(reply_job_state(r), "done");
	v = json_object_get(reply_result(r), "kept");
	assert_int_equal(json_integer_value(json_array_get(v, 1)), 2);
	json_decref(r);
	/* Running: its next attempt, from the start. */
	v = client_wait_left(&c, running, "queued");
	assert_string_equal(json_str(v, "state"), "running");
	assert_int_equal(json_integer_value(json_object_get(v, "attempt")), 2);
	json_decref(v);
	assert_state(&c, delayed, "pending");
	r = status(&c, failing);
	assert_string_equal(reply_job_state(r), "failed");
	assert_string_equal(json_str(reply_error(r), "code"), "interrupted");
	json_decref(r);
	/* The key is still held by the job that has it. */
	r = client_call(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"sleep\","
	    "\"key\":\"once\",\"args\":{\"seconds\":1}}}");
	assert_int_equal(reply_job_id(r), keyed);
	json_decref(r);
	/* And ids go on, never again one given before. */
	again = client_submit(&c, "{\"type\":\"echo\"}");
	assert_true(again > keyed);
	client_close(&c);
	daemon_stop(&d);
}

/*
 * A spec is kept as it came in the request, spaces and all, alone or in a
 * batch, and one the fast reader leaves to jansson (an escape) as written
 * again: each comes back as it was.
 */
static void
test_specs_come_back_as_they_came(void **unused)
{
	struct daemon	 d;
	struct client	 c;
	json_t		*r, *jobs;
	json_int_t	 ids[4];
	int		 i;

	start(&d);
	client_connect(&c, &d);
	ids[0] = client_submit(&c, " { \"type\" : \"sleep\" , \"name\":\"spaced\","
	    "\"delay\": 600,\"args\" :{ \"seconds\" : 1 } } ");
	r = client_call(&c, "{\"op\":\"submit\",\"jobs\":[{\"type\":\"sleep\","
	    "\"name\":\"first\",\"delay\":600,\"args\":{\"seconds\":1}},\t{ "
	    "\"type\":\"sleep\",\"name\":\"second\",\"delay\":600,\"args\":"
	    "{\"seconds\":1}}]}");
	jobs = json_object_get(r, "jobs");
	ids[1] = json_integer_value(json_object_get(json_array_get(jobs, 0), "id"));
	ids[2] = json_integer_value(json_object_get(json_array_get(jobs, 1), "id"));
	json_decref(r);
	ids[3] = client_submit(&c, "{\"type\":\"sleep\",\"name\":\"\\u00e9t\\u00e9\","
	    "\"delay\":600,\"args\":{\"seconds\":1}}");
	client_close(&c);
	daemon_kill(&d);

	start(&d);
	client_connect(&c, &d);
	assert_int_equal(recovered_jobs(&c), 4);
	for (i = 0; i < 4; i++) {
		r = status(&c, ids[i]);
		assert_string_equal(reply_job_state(r), "pending");
		assert_string_equal(json_str(json_object_get(r, "job"), "name"),
		    i == 0 ? "spaced" : i == 1 ? "first" : i == 2 ? "second" :
		    "\xc3\xa9t\xc3\xa9");
		assert_string_equal(json_str(json_object_get(r, "job"), "type"),
		    "sleep");
		json_decref(r);
	}
	client_close(&c);
	daemon_stop(&d);
}

/* Set events and paused queues come back; cleared and resumed ones not. */
static void
test_events_and_paused_queues_come_back(void **unused)
{
	struct daemon	 d;
	struct client	 c;
	json_t		*r, *queues;
	json_int_t	 held;

	start(&d);
	client_connect(&c, &d);
	json_decref(client_call(&c, "{\"op\":\"event.set\",\"name\":\"ready\"}"));
	json_decref(client_call(&c, "{\"op\":\"event.set\",\"name\":\"gone\"}"));
	json_decref(client_call(&c, "{\"op\":\"event.clear\",\"name\":\"gone\"}"));
	json_decref(client_call(&c, "{\"op\":\"queue.pause\",\"name\":\"held\"}"));
	json_decref(client_call(&c, "{\"op\":\"queue.pause\",\"name\":\"thawed\"}"));
	json_decref(client_call(&c, "{\"op\":\"queue.resume\",\"name\":\"thawed\"}"));
	held = client_submit(&c, "{\"type\":\"echo\",\"queue\":\"held\"}");
	client_close(&c);
	daemon_kill(&d);

	start(&d);
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"event.get\",\"name\":\"ready\"}");
	assert_true(json_is_true(json_object_get(json_object_get(r, "event"), "set")));
	json_decref(r);
	r = client_call(&c, "{\"op\":\"event.get\",\"name\":\"gone\"}");
	assert_true(json_is_false(json_object_get(json_object_get(r, "event"), "set")));
	json_decref(r);
	r = client_call(&c, "{\"op\":\"stats\"}");
	queues = json_object_get(json_object_get(r, "stats"), "queues");
	assert_true(json_is_true(json_object_get(json_object_get(queues, "held"),
	    "paused")));
	assert_false(json_is_true(json_object_get(json_object_get(queues,
	    "thawed"), "paused")));
	json_decref(r);
	/* Its job waits in the paused queue, and runs once it is resumed. */
	assert_state(&c, held, "queued");
	json_decref(client_call(&c, "{\"op\":\"queue.resume\",\"name\":\"held\"}"));
	r = client_call(&c, "{\"op\":\"result\",\"wait\":true,\"job\":%lld}",
	    (long long)held);
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);
	client_close(&c);
	daemon_stop(&d);
}

/* A clean stop (SIGTERM) is a restart too: the jobs the drain's end fails
 * with shutting_down come back as they were; a queue paused in the second
 * run stays paused though the first run had paused and resumed it. */
static void
test_a_clean_restart_keeps_jobs_and_the_last_changes(void **unused)
{
	struct daemon	 d;
	struct client	 c;
	json_t		*r, *queues;
	json_int_t	 delayed, running;
	char		 line[64];

	start(&d);
	client_connect(&c, &d);
	json_decref(client_call(&c, "{\"op\":\"queue.pause\",\"name\":\"q\"}"));
	json_decref(client_call(&c, "{\"op\":\"queue.resume\",\"name\":\"q\"}"));
	client_close(&c);
	daemon_stop(&d);

	start(&d);
	client_connect(&c, &d);
	json_decref(client_call(&c, "{\"op\":\"queue.pause\",\"name\":\"q\"}"));
	delayed = client_submit(&c, "{\"type\":\"sleep\",\"delay\":600,\"args\":"
	    "{\"seconds\":1}}");
	running = client_submit(&c, "{\"type\":\"sleep\",\"args\":{\"seconds\":600}}");
	json_decref(client_wait_left(&c, running, "queued"));
	client_close(&c);
	/* shutdown_grace=0: they are stopped at once, told failed but kept,
	 * so the log has no line of their end. */
	daemon_signal(&d, SIGTERM);
	assert_true(daemon_log_wait(&d, "shutdown: done"));
	snprintf(line, sizeof(line), "job %lld failed", (long long)delayed);
	assert_false(daemon_log_contains(&d, line));
	assert_true(daemon_log_contains(&d, "stopped 1 jobs") ||
	    daemon_log_contains(&d, "stopped 2 jobs"));
	assert_int_equal(daemon_wait_exit(&d), 0);

	start(&d);
	client_connect(&c, &d);
	assert_state(&c, delayed, "pending");
	r = client_wait_left(&c, running, "queued");
	assert_string_equal(json_str(r, "state"), "running");
	assert_int_equal(json_integer_value(json_object_get(r, "attempt")), 2);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"stats\"}");
	queues = json_object_get(json_object_get(r, "stats"), "queues");
	assert_true(json_is_true(json_object_get(json_object_get(queues, "q"),
	    "paused")));
	json_decref(r);
	client_close(&c);
	daemon_stop(&d);
}

/* A finished job's ttl is absolute: time spent down counts. */
static void
test_a_result_expires_while_loomd_is_down(void **unused)
{
	struct daemon	 d;
	struct client	 c;
	json_t		*r;
	json_int_t	 brief, lasting;
	double		 until;

	start(&d);
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"echo\",\"ttl\":0.5}}");
	brief = reply_job_id(r);
	until = now_seconds() + 0.6;
	json_decref(r);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":{\"type\":"
	    "\"echo\",\"ttl\":3600}}");
	lasting = reply_job_id(r);
	json_decref(r);
	client_close(&c);
	daemon_kill(&d);
	while (now_seconds() < until)	/* the clock is what this is about */
		usleep(20000);

	start(&d);
	client_connect(&c, &d);
	r = status(&c, brief);
	assert_string_equal(reply_error_code(r), "not_found");
	json_decref(r);
	assert_state(&c, lasting, "done");
	client_close(&c);
	daemon_stop(&d);
}

/* A gather that was running keeps the results of the children that had
 * finished; only the unfinished one runs again. */
static void
test_a_composite_takes_up_its_children(void **unused)
{
	struct daemon	 d;
	struct client	 c;
	json_t		*r, *children, *v;
	json_int_t	 gather, first, second;

	start(&d);
	client_connect(&c, &d);
	gather = client_submit(&c, "{\"type\":\"gather\",\"args\":{\"jobs\":["
	    "{\"type\":\"echo\",\"args\":{\"value\":\"early\"}},"
	    "{\"type\":\"sleep\",\"args\":{\"seconds\":600,\"result\":\"late\"}}]}}");
	json_decref(client_wait_left(&c, gather, "queued"));
	do {
		r = status(&c, gather);
		children = json_object_get(reply_job(r), "children");
	} while (json_array_size(children) < 2 && (json_decref(r), 1));
	first = json_integer_value(json_array_get(children, 0));
	second = json_integer_value(json_array_get(children, 1));
	json_decref(r);
	v = client_wait_left(&c, first, "queued");
	json_decref(v);
	json_decref(client_wait_left(&c, second, "queued"));
	client_close(&c);
	daemon_kill(&d);

	start(&d);
	client_connect(&c, &d);
	r = status(&c, first);
	assert_string_equal(reply_job_state(r), "done");
	assert_int_equal(json_integer_value(json_object_get(reply_job(r),
	    "attempt")), 1);
	json_decref(r);
	v = client_wait_left(&c, second, "queued");
	assert_int_equal(json_integer_value(json_object_get(v, "attempt")), 2);
	json_decref(v);
	/* The gather's new attempt has the same two children, no others. */
	r = client_call(&c, "{\"op\":\"cancel\",\"job\":%lld}", (long long)second);
	json_decref(r);
	r = client_call(&c, "{\"op\":\"result\",\"wait\":true,\"job\":%lld}",
	    (long long)gather);
	children = json_object_get(reply_job(r), "children");
	assert_int_equal(json_array_size(children), 2);
	assert_int_equal(json_integer_value(json_array_get(children, 0)), first);
	json_decref(r);
	client_close(&c);
	daemon_stop(&d);
}

#define LOAD_CLIENTS	4
#define LOAD_SUBMITS	600	/* per client and round */
#define LOAD_ROUNDS	3

/*
 * kill -9 while four connections submit: every id any of them was given is
 * there after the restart, in a state the contract allows.
 */
static void
test_no_acknowledged_job_is_lost_by_a_kill(void **unused)
{
	static const char *const specs[] = {
		"{\"type\":\"echo\",\"args\":{\"value\":1}}",
		"{\"type\":\"sleep\",\"args\":{\"seconds\":600}}",
		"{\"type\":\"sleep\",\"delay\":600,\"args\":{\"seconds\":1}}",
		"{\"type\":\"sleep\",\"retries\":3,\"retry_delay\":600,"
		"\"args\":{\"seconds\":0,\"error\":\"no\"}}",
	};
	struct daemon	 d;
	struct client	 c[LOAD_CLIENTS], check;
	json_int_t	*acked = calloc(LOAD_CLIENTS * LOAD_SUBMITS * LOAD_ROUNDS,
			    sizeof(*acked));
	json_t		*r;
	size_t		 nacked = 0, i, got;
	int		 round, k, n;

	for (round = 0; round < LOAD_ROUNDS; round++) {
		start(&d);
		for (k = 0; k < LOAD_CLIENTS; k++)
			client_connect(&c[k], &d);
		/* Everything sent at once: the kill lands mid-stream. */
		for (n = 0; n < LOAD_SUBMITS; n++) {
			for (k = 0; k < LOAD_CLIENTS; k++)
				client_send(&c[k], "{\"op\":\"submit\",\"job\":%s}",
				    specs[(n + k) % 4]);
		}
		/* Some answers, then the kill; then whatever was sent before. */
		for (got = 0; got < LOAD_SUBMITS / 2; got++) {
			r = client_recv(&c[got % LOAD_CLIENTS], HARNESS_WAIT);
			assert_true(reply_job_id(r) > 0);
			acked[nacked++] = reply_job_id(r);
			json_decref(r);
		}
		daemon_kill(&d);
		for (k = 0; k < LOAD_CLIENTS; k++) {
			while ((r = client_recv_or_eof(&c[k], HARNESS_WAIT)) != NULL) {
				if (reply_job_id(r) > 0)
					acked[nacked++] = reply_job_id(r);
				json_decref(r);
			}
			client_close(&c[k]);
		}

		start(&d);
		client_connect(&check, &d);
		for (i = 0; i < nacked; i++) {
			r = status(&check, acked[i]);
			if (reply_error_code(r) != NULL)
				fail_msg("round %d: job %lld, acknowledged, is lost: %s",
				    round, (long long)acked[i], reply_error_code(r));
			json_decref(r);
		}
		client_close(&check);
		daemon_kill(&d);
	}
	free(acked);
}

/* The newest segment's file. */
static void
last_segment(char *path, size_t len)
{
	char		 dir[128];
	DIR		*dp;
	struct dirent	*de;
	char		 best[256] = "";

	snprintf(dir, sizeof(dir), "%s/journal", test_state_dir);
	assert_non_null(dp = opendir(dir));
	while ((de = readdir(dp)) != NULL) {
		if (strstr(de->d_name, ".seg") != NULL && strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	}
	closedir(dp);
	assert_true(best[0] != '\0');
	snprintf(path, len, "%s/%s", dir, best);
}

/* Where the records of a segment end: after its 64-byte header, frames of
 * a length, a checksum and the payload, up to a zero length. */
static off_t
records_end(const char *path)
{
	int		 fd = open(path, O_RDONLY);
	unsigned char	 hdr[4];
	off_t		 end = 64;
	uint32_t	 len;

	assert_true(fd >= 0);
	while (pread(fd, hdr, 4, end) == 4) {
		len = hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint32_t)hdr[3] << 24;
		if (len == 0)
			break;
		end += 8 + len;
	}
	close(fd);
	return end;
}

static void
write_at(const char *path, off_t off, const void *bytes, size_t len)
{
	int	fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, len, off), (ssize_t)len);
	close(fd);
}

/* A torn last record is cut; what precedes it is all there. */
static void
test_a_torn_tail_is_cut(void **unused)
{
	struct daemon	 d;
	struct client	 c;
	char		 seg[256];
	json_int_t	 id;

	start(&d);
	client_connect(&c, &d);
	id = client_submit(&c, "{\"type\":\"sleep\",\"delay\":600,\"args\":{\"seconds\":1}}");
	client_close(&c);
	daemon_kill(&d);
	/* Half a record at the end, as a crash mid-write leaves it. */
	last_segment(seg, sizeof(seg));
	write_at(seg, records_end(seg), "\x40\x00\x00\x00\x12\x34", 6);

	start(&d);
	client_connect(&c, &d);
	assert_int_equal(recovered_jobs(&c), 1);	/* replay is over */
	assert_true(daemon_log_contains(&d, "torn end cut"));
	assert_state(&c, id, "pending");
	client_close(&c);
	daemon_stop(&d);
}

/* Damage before the end stops the start, naming where; repair goes on
 * without what follows it. */
static void
test_damage_stops_the_start_unless_repair(void **unused)
{
	static const char *const repair[] = { "-o", "journal_repair=yes", NULL };
	struct daemon	 d;
	struct client	 c;
	char		 seg[256], out[4096];
	json_int_t	 first;

	start(&d);
	client_connect(&c, &d);
	first = client_submit(&c, "{\"type\":\"sleep\",\"delay\":600,\"args\":{\"seconds\":1}}");
	client_submit(&c, "{\"type\":\"sleep\",\"delay\":600,\"args\":{\"seconds\":1}}");
	client_submit(&c, "{\"type\":\"sleep\",\"delay\":600,\"args\":{\"seconds\":1}}");
	client_close(&c);
	daemon_kill(&d);
	/* A byte flipped in the payload of the record after the first job's
	 * SUBMIT (kind 1): 64 bytes of header, then frames of 8 bytes of
	 * framing and a payload; the boot's counters come first. */
	last_segment(seg, sizeof(seg));
	{
		int		fd = open(seg, O_RDWR);
		unsigned char	hdr[4], b, kind = 0;
		uint32_t	len;
		off_t		at = 64;

		assert_true(fd >= 0);
		while (kind != 1) {
			assert_int_equal(pread(fd, hdr, 4, at), 4);
			len = hdr[0] | hdr[1] << 8 | hdr[2] << 16 |
			    (uint32_t)hdr[3] << 24;
			assert_true(len > 0);
			assert_int_equal(pread(fd, &kind, 1, at + 8), 1);
			at += 8 + len;
		}
		assert_int_equal(pread(fd, &b, 1, at + 8 + 3), 1);
		b ^= 0xff;
		assert_int_equal(pwrite(fd, &b, 1, at + 8 + 3), 1);
		close(fd);
	}
	daemon_refused(test_state_dir, out, sizeof(out));
	assert_non_null(strstr(out, ".seg"));
	assert_non_null(strstr(out, "offset"));

	start_with(&d, repair, NULL);
	client_connect(&c, &d);
	assert_state(&c, first, "pending");
	client_close(&c);
	daemon_stop(&d);
}

/*
 * No room: submits are answered unavailable at once, other requests go on,
 * and nothing acknowledged is lost.  A submit whose record cannot be written
 * is not answered (it is not acknowledged) until there is room.
 */
static void
test_a_full_disk_refuses_submits_and_loses_nothing(void **unused)
{
	static const char *const extra[] = { "-o", "loops=1", NULL };
	const char	*env[4];
	struct daemon	 d;
	struct client	 c;
	json_int_t	*ids = calloc(20000, sizeof(*ids));
	json_t		*r;
	int		 n = 0, i;
	bool		 refused = false;

	/* Journal writes fail from the 6th on: a few jobs get in first. */
	fault_env(env, "LOOM_FAULT=writev=ENOSPC@6+");
	start_with(&d, extra, env);
	client_connect(&c, &d);
	for (i = 0; i < 20000 && !refused; i++) {
		/* Each submit, then a ping: the ping's answer ends the round
		 * (a ticket comes once its record is durable: maybe later). */
		client_send(&c, "{\"op\":\"submit\",\"id\":\"s\",\"job\":{\"type\":"
		    "\"sleep\",\"delay\":600,\"args\":{\"seconds\":1}}}");
		client_send(&c, "{\"op\":\"ping\",\"id\":\"p\"}");
		for (;;) {
			r = client_recv(&c, HARNESS_WAIT);
			if (strcmp(json_str(r, "id"), "p") == 0) {
				json_decref(r);
				break;
			}
			if (reply_error_code(r) != NULL) {
				assert_string_equal(reply_error_code(r), "unavailable");
				refused = true;
			} else
				ids[n++] = reply_job_id(r);
			json_decref(r);
		}
	}
	assert_true(refused);		/* it did fill up, and said so */
	assert_true(n > 0);		/* after taking some */
	client_close(&c);
	daemon_kill(&d);

	start(&d);
	client_connect(&c, &d);
	for (i = 0; i < n; i++)
		assert_state(&c, ids[i], "pending");
	client_close(&c);
	daemon_stop(&d);
	free(ids);
}

/* A failed fdatasync is fatal: loomd stops, and what was acknowledged
 * before is there on the next start. */
static void
test_a_failed_fdatasync_stops_loomd(void **unused)
{
	const char	*env[4];
	struct daemon	 d;
	struct client	 c;
	json_int_t	 ids[256];
	json_t		*r;
	int		 n = 0, i, st;

	fault_env(env, "LOOM_FAULT=fdatasync=EIO@12+");
	start_with(&d, NULL, env);
	client_connect(&c, &d);
	for (i = 0; i < 256; i++) {
		client_send(&c, "{\"op\":\"submit\",\"job\":{\"type\":\"sleep\","
		    "\"delay\":600,\"args\":{\"seconds\":1}}}");
		if ((r = client_recv_or_eof(&c, HARNESS_WAIT)) == NULL)
			break;
		ids[n++] = reply_job_id(r);
		json_decref(r);
	}
	assert_true(i < 256);		/* it stopped */
	client_close(&c);
	st = daemon_wait_exit(&d);
	assert_false(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	start(&d);
	client_connect(&c, &d);
	assert_true(recovered_jobs(&c) >= n);	/* replay is over */
	for (i = 0; i < n; i++)
		assert_state(&c, ids[i], "pending");
	client_close(&c);
	daemon_stop(&d);
}

/*
 * A long churn keeps the journal bounded: compactions (set to start at
 * 64 KiB for the test) leave a snapshot of the live jobs and the segment
 * being written; a restart after them loses nothing live.
 */
static void
test_compaction_keeps_the_journal_bounded(void **unused)
{
	static const char *const env[] = { "LOOMD_TEST_COMPACT_BYTES=65536", NULL };
	struct daemon	 d;
	struct client	 c;
	json_int_t	 live[10];
	json_t		*r, *journal;
	int		 i, round;
	char		*batch, *p;

	start_with(&d, NULL, env);
	client_connect(&c, &d);
	for (i = 0; i < 10; i++)
		live[i] = client_submit(&c, "{\"type\":\"sleep\",\"delay\":600,"
		    "\"args\":{\"seconds\":1}}");
	p = batch = malloc(100 * 200);
	for (i = 0; i < 100; i++)
		p += sprintf(p, "%s{\"type\":\"echo\",\"ttl\":0,\"args\":"
		    "{\"value\":\"%090d\"}}", i ? "," : "", i);
	for (round = 0; round < 60; round++)
		json_decref(client_call(&c, "{\"op\":\"submit\",\"wait\":true,"
		    "\"jobs\":[%s]}", batch));
	free(batch);
	/* Compaction runs on the journal's thread: wait until it has. */
	for (i = 0; i < 10000; i++) {
		r = client_call(&c, "{\"op\":\"stats\"}");
		journal = json_object_get(json_object_get(r, "stats"), "journal");
		if (json_number_value(json_object_get(journal, "last_compaction")) > 0 &&
		    json_integer_value(json_object_get(journal, "segments")) <= 2)
			break;
		json_decref(r);
		/* More churn makes the next one come. */
		json_decref(client_call(&c, "{\"op\":\"submit\",\"wait\":true,"
		    "\"job\":{\"type\":\"echo\",\"ttl\":0}}"));
	}
	assert_true(i < 10000);
	json_decref(r);
	client_close(&c);
	daemon_kill(&d);

	start(&d);
	client_connect(&c, &d);
	assert_int_equal(recovered_jobs(&c), 10);
	for (i = 0; i < 10; i++)
		assert_state(&c, live[i], "pending");
	client_close(&c);
	daemon_stop(&d);
}

/*
 * Jobs acknowledged while snapshots are being made all come back after a
 * kill: a job is handed to its owner loop only once its SUBMIT record is
 * durable, so a snapshot must wait until those hand-overs are in before it
 * asks the owners for their jobs (the record's segment goes with the
 * snapshot).  Before that, every run here lost some 100 to 400 jobs.
 */
/* A compaction has ended. */
static bool
compacted(const json_t *stats, void *unused)
{
	return json_number_value(json_object_get(json_object_get(stats,
	    "journal"), "last_compaction")) > 0;
}

static void
test_no_job_falls_between_a_snapshot_and_its_segments(void **unused)
{
	/* Parts in slices of 64 KiB: hand-overs also come between them. */
	static const char *const env[] = { "LOOMD_TEST_COMPACT_BYTES=32768",
	    "LOOMD_TEST_SLICE_BYTES=65536", NULL };
	static const char *const extra[] = { "-o", "loops=2", "-o",
	    "max_jobs=100000", NULL };
	struct daemon	 d;
	struct client	 c;
	json_t		*r;
	char		*batch, *p;
	int		 i, sent = 0, answered = 0, inflight = 0;
	const int	 batches = 300, per = 200;

	start_with(&d, extra, env);
	client_connect(&c, &d);
	p = batch = malloc((size_t)per * 64);
	for (i = 0; i < per; i++)
		p += sprintf(p, "%s{\"type\":\"echo\",\"delay\":86400,"
		    "\"args\":{\"value\":%d}}", i ? "," : "", i);
	/* Eight batches in flight, so that hand-overs overlap snapshots. */
	while (answered < batches) {
		while (inflight < 8 && sent < batches) {
			client_send(&c, "{\"op\":\"submit\",\"jobs\":[%s]}", batch);
			sent++;
			inflight++;
		}
		r = client_recv(&c, HARNESS_WAIT);
		assert_true(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
		answered++;
		inflight--;
	}
	free(batch);
	/* The thread compacts on its own time (a slow build may still be in
	 * the first one's slices): until one has ended, then the kill. */
	stats_until(&c, compacted, NULL);
	client_close(&c);
	daemon_kill(&d);

	start(&d);
	client_connect(&c, &d);
	assert_int_equal(recovered_jobs(&c), batches * per);
	client_close(&c);
	daemon_stop(&d);
}

/*
 * A loop's part of a snapshot comes in slices of a bounded size, one loop
 * callback each (so that large jobs do not stall the loop), and the jobs
 * of every slice come back.  Set for the test: compactions from 64 KiB,
 * slices of 8 KiB; forty pending jobs with 4 KiB arguments on one loop
 * make a part of 160 KiB or more.
 */
static void
test_a_snapshot_takes_a_loop_in_slices(void **unused)
{
	static const char *const env[] = { "LOOMD_TEST_COMPACT_BYTES=65536",
	    "LOOMD_TEST_SLICE_BYTES=8192", NULL };
	static const char *const extra[] = { "-o", "loops=1", NULL };
	struct daemon	 d;
	struct client	 c;
	json_int_t	 ids[40];
	char		 spec[4200], value[4097];
	int		 i;

	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	snprintf(spec, sizeof(spec), "{\"type\":\"sleep\",\"delay\":600,"
	    "\"args\":{\"seconds\":1,\"result\":\"%s\"}}", value);
	start_with(&d, extra, env);
	client_connect(&c, &d);
	for (i = 0; i < 40; i++)
		ids[i] = client_submit(&c, spec);
	/* The first snapshot (at 64 KiB, sixteen jobs or so) has more. */
	assert_true(daemon_log_wait(&d, "loop 0: snapshot slice 4,"));
	assert_true(daemon_log_wait(&d, ", the last"));
	assert_true(daemon_log_wait(&d, "journal: compacted"));
	client_close(&c);
	daemon_kill(&d);

	start(&d);
	client_connect(&c, &d);
	assert_int_equal(recovered_jobs(&c), 40);
	for (i = 0; i < 40; i++)
		assert_state(&c, ids[i], "pending");
	client_close(&c);
	daemon_stop(&d);
}

/*
 * A submit with wait whose key names a job that finished before tells of
 * nothing new: it is answered at once, even while what the loop published
 * since is not yet durable (the fault shim's gate holds the journal's
 * fdatasync).  It used to wait for that, as a ticket does.
 */
static void
test_a_finished_job_told_again_does_not_wait_for_newer_records(void **unused)
{
	static const char *const extra[] = { "-o", "loops=1", NULL };
	const char	*env[4];
	struct daemon	 d;
	struct client	 c;
	json_t		*r;
	json_int_t	 id;

	fault_gate_env(env);
	start_with(&d, extra, env);
	client_connect(&c, &d);
	r = client_call(&c, "{\"op\":\"submit\",\"wait\":true,\"job\":"
	    "{\"type\":\"echo\",\"key\":\"once\",\"args\":{\"value\":7}}}");
	assert_string_equal(reply_job_state(r), "done");
	id = reply_job_id(r);
	json_decref(r);

	fault_gate_hold();
	/* A record the gate keeps from being durable: no ticket yet. */
	client_send(&c, "{\"op\":\"submit\",\"id\":\"t\",\"job\":{\"type\":"
	    "\"sleep\",\"delay\":600,\"args\":{\"seconds\":1}}}");
	client_send(&c, "{\"op\":\"submit\",\"id\":\"k\",\"wait\":true,"
	    "\"job\":{\"type\":\"echo\",\"key\":\"once\",\"args\":"
	    "{\"value\":8}}}");
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "k");
	assert_int_equal(reply_job_id(r), id);
	assert_string_equal(reply_job_state(r), "done");
	json_decref(r);

	fault_gate_release();
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "t");
	assert_true(reply_job_id(r) > id);
	json_decref(r);
	client_close(&c);
	daemon_stop(&d);
}

/*
 * A submit with wait that times out names its jobs, so its answer gives
 * out ids: it leaves only once their records are durable, as a ticket
 * does.  A result with wait that times out tells of nothing new and leaves
 * at once.  The fault shim's gate holds the fdatasync meanwhile; both
 * timeouts are timers of the one loop, so the submit's, the shorter, fires
 * first.  Before, its answer came first, while its record was not durable.
 */
static void
test_a_timed_out_submit_waits_for_its_records(void **unused)
{
	static const char *const extra[] = { "-o", "loops=1", NULL };
	const char	*env[4];
	struct daemon	 d;
	struct client	 c;
	json_t		*r;
	json_int_t	 x, s;

	fault_gate_env(env);
	start_with(&d, extra, env);
	client_connect(&c, &d);
	x = client_submit(&c, "{\"type\":\"sleep\",\"args\":{\"seconds\":600}}");

	fault_gate_hold();
	client_send(&c, "{\"op\":\"submit\",\"id\":\"s\",\"job\":{\"type\":"
	    "\"sleep\",\"delay\":600,\"args\":{\"seconds\":1}}}");
	client_send(&c, "{\"op\":\"submit\",\"id\":\"w\",\"wait\":true,"
	    "\"timeout\":0.05,\"job\":{\"type\":\"sleep\",\"args\":"
	    "{\"seconds\":600}}}");
	client_send(&c, "{\"op\":\"result\",\"id\":\"r\",\"job\":%lld,"
	    "\"wait\":true,\"timeout\":0.3}", (long long)x);
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "r");
	assert_string_equal(reply_error_code(r), "timeout");
	json_decref(r);

	fault_gate_release();
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "s");
	s = reply_job_id(r);
	json_decref(r);
	r = client_recv(&c, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "w");
	assert_string_equal(reply_error_code(r), "timeout");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_object_get(r, "error"), "detail"), "job")), s + 1);
	json_decref(r);
	client_close(&c);
	daemon_stop(&d);
}

/* stats tells the journal's mode and its fdatasync times. */
static void
test_stats_tell_the_fdatasync_times(void **unused)
{
	struct daemon	 d;
	struct client	 c;
	json_t		*r, *journal;
	double		 p50, p99;
	int		 i;

	start(&d);
	client_connect(&c, &d);
	for (i = 0; i < 5; i++)
		json_decref(client_call(&c, "{\"op\":\"submit\",\"wait\":true,"
		    "\"job\":{\"type\":\"echo\",\"ttl\":0}}"));
	r = client_call(&c, "{\"op\":\"stats\"}");
	journal = json_object_get(json_object_get(r, "stats"), "journal");
	assert_string_equal(json_string_value(json_object_get(journal, "mode")),
	    "always");
	/* At least the start's: its counters' base is synced before any
	 * client is served. */
	p50 = json_number_value(json_object_get(journal, "sync_p50_ms"));
	p99 = json_number_value(json_object_get(journal, "sync_p99_ms"));
	assert_true(p50 > 0);
	assert_true(p99 >= p50);
	json_decref(r);
	client_close(&c);
	daemon_stop(&d);
}

/* One job is not finished (a retry taken). */
static bool
one_unfinished(const json_t *stats, void *unused)
{
	const json_t	*jobs = json_object_get(stats, "jobs");

	return json_integer_value(json_object_get(jobs, "pending")) +
	    json_integer_value(json_object_get(jobs, "queued")) +
	    json_integer_value(json_object_get(jobs, "running")) == 1;
}

/*
 * A retry that comes before the end it follows is durable (the fault shim's
 * gate holds the fdatasync): that end completes its own attempt's future,
 * whose waiters hear it, and the new attempt's future is left to the new
 * attempt.  Before, the old end completed the new future (status said
 * cancelled while the job ran again) and the old one's waiters were never
 * answered.
 */
static void
test_a_retry_before_the_end_is_durable(void **unused)
{
	static const char *const extra[] = { "-o", "loops=1", NULL };
	const char	*env[4];
	struct daemon	 d;
	struct client	 a, b;
	json_t		*r;
	json_int_t	 id;
	int		 i;

	fault_gate_env(env);
	start_with(&d, extra, env);
	client_connect(&a, &d);
	client_connect(&b, &d);
	r = client_call(&b, "{\"op\":\"submit\",\"job\":{\"type\":\"sleep\","
	    "\"args\":{\"seconds\":3600}}}");
	id = reply_job_id(r);
	json_decref(r);
	client_send(&a, "{\"op\":\"result\",\"id\":\"w\",\"job\":%lld,"
	    "\"wait\":true,\"timeout\":30}", (long long)id);
	json_decref(client_call(&a, "{\"op\":\"ping\"}"));

	fault_gate_hold();
	client_send(&b, "{\"op\":\"cancel\",\"id\":\"c\",\"job\":%lld}",
	    (long long)id);
	client_send(&b, "{\"op\":\"retry\",\"id\":\"r\",\"job\":%lld}",
	    (long long)id);
	stats_until(&a, one_unfinished, NULL);
	fault_gate_release();

	r = client_recv(&a, HARNESS_WAIT);
	assert_string_equal(json_str(r, "id"), "w");
	assert_string_equal(reply_job_state(r), "cancelled");
	json_decref(r);
	for (i = 0; i < 2; i++)
		json_decref(client_recv(&b, HARNESS_WAIT));
	r = client_call(&b, "{\"op\":\"status\",\"job\":%lld}", (long long)id);
	assert_string_equal(reply_job_state(r), "running");
	json_decref(r);
	client_close(&a);
	client_close(&b);
	daemon_stop(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		STATE_DIR_TEST(test_what_comes_back_after_a_kill),
		STATE_DIR_TEST(test_specs_come_back_as_they_came),
		STATE_DIR_TEST(test_events_and_paused_queues_come_back),
		STATE_DIR_TEST(test_a_result_expires_while_loomd_is_down),
		STATE_DIR_TEST(test_a_clean_restart_keeps_jobs_and_the_last_changes),
		STATE_DIR_TEST(test_a_composite_takes_up_its_children),
		STATE_DIR_TEST(test_no_acknowledged_job_is_lost_by_a_kill),
		STATE_DIR_TEST(test_no_job_falls_between_a_snapshot_and_its_segments),
		STATE_DIR_TEST(test_a_torn_tail_is_cut),
		STATE_DIR_TEST(test_damage_stops_the_start_unless_repair),
		STATE_DIR_TEST(test_a_full_disk_refuses_submits_and_loses_nothing),
		STATE_DIR_TEST(test_a_failed_fdatasync_stops_loomd),
		STATE_DIR_TEST(test_compaction_keeps_the_journal_bounded),
		STATE_DIR_TEST(test_a_snapshot_takes_a_loop_in_slices),
		STATE_DIR_TEST(test_stats_tell_the_fdatasync_times),
		STATE_DIR_TEST(test_a_timed_out_submit_waits_for_its_records),
		STATE_DIR_TEST(test_a_retry_before_the_end_is_durable),
		STATE_DIR_TEST(test_a_finished_job_told_again_does_not_wait_for_newer_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
