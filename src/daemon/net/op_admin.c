/*
 * The operator's ops: ping, stats, pausing and resuming queues, and named
 * events.
 */
#include "autoconf.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/counters.h"
#include "core/event.h"
#include "core/job.h"
#include "core/loomd.h"
#include "core/queue.h"
#include "core/registry.h"
#include "io/journal.h"
#include "net/conn.h"
#include "net/ops.h"
#include "net/worker.h"
#include "net/shard.h"
#include "runtime/executor.h"
#include "runtime/fields.h"
#include "runtime/loop.h"
#include "runtime/util.h"

/* ping ------------------------------------------------------------------ */

void
op_ping(struct request *r)
{
	struct journal_stats	js;

	journal_get_stats(&js);
	reply_ok(r->conn, r->id, json_pack("{s:s,s:f,s:I,s:{s:I,s:f}}", "version",
	    PACKAGE_VERSION, "uptime", now_epoch() - loomd.started_at, "boot",
	    (json_int_t)loomd.boot, "recovered", "jobs",
	    (json_int_t)js.recovered_jobs, "seconds", js.recovered_seconds));
}

/* queue.pause, queue.resume ------------------------------------------------ */

static void
queue_op(struct request *r, bool paused)
{
	struct error		 e = { 0 };
	struct queue_info	 qi;
	const char		*name = NULL;

	if (field_name(r->msg, "", "name", FIELD_REQUIRED, &name, &e) == -1) {
		reply_error(r->conn, r->id, &e);
		error_clear(&e);
		return;
	}
	queue_set_paused(name, paused, &qi);
	reply_ok_durable(r->conn, r->id, json_pack("{s:{s:s,s:b,s:I,s:I}}", "queue",
	    "name", name, "paused", qi.paused, "pending", (json_int_t)qi.waiting,
	    "running", (json_int_t)qi.running));
}

void
op_queue_pause(struct request *r)
{
	queue_op(r, true);
}

void
op_queue_resume(struct request *r)
{
	queue_op(r, false);
}

/* stats ----------------------------------------------------------------- */

static void
queue_json(const struct queue_info *qi, void *arg)
{
	json_object_set_new(arg, qi->name, json_pack("{s:I,s:I,s:i,s:I,s:b}",
	    "depth", (json_int_t)qi->waiting, "running", (json_int_t)qi->running,
	    "concurrency", (int)qi->concurrency, "max_pending",
	    (json_int_t)qi->max_pending, "paused", qi->paused));
}

/* A queue's or a type's cumulative counters, into its object (made if it
 * is not there: a queue that went away keeps its counts). */
static void
counters_json(const char *name, const uint64_t n[COUNT_N], void *arg)
{
	json_t	*o = json_object_get(arg, name);
	int	 c;

	if (o == NULL) {
		o = json_object();
		json_object_set_new(arg, name, o);
	}
	for (c = 0; c < COUNT_N; c++)
		json_object_set_new(o, counter_name(c), json_integer((json_int_t)n[c]));
}

/* Live queues, and every queue ever counted with zeros for the rest. */
static json_t *
queues_json(void)
{
	json_t		*all = json_object(), *q;
	const char	*name;

	queue_each(queue_json, all);
	counters_each(COUNTERS_BY_QUEUE, counters_json, all);
	json_object_foreach(all, name, q) {
		if (json_object_get(q, "depth") == NULL)
			json_object_update_missing_new(q, json_pack(
			    "{s:i,s:i,s:i,s:i,s:b}", "depth", 0, "running", 0,
			    "concurrency", 0, "max_pending", 0, "paused", 0));
	}
	return all;
}

static json_t *
types_json(void)
{
	json_t	*all = json_object();

	counters_each(COUNTERS_BY_TYPE, counters_json, all);
	return all;
}

static json_t *
journal_json(void)
{
	struct journal_stats	js;

	journal_get_stats(&js);
	if (!js.on)
		return json_pack("{s:s}", "mode", "off");
	return json_pack("{s:s,s:I,s:I,s:I,s:f,s:f,s:f}", "mode", js.sync,
	    "bytes", (json_int_t)js.bytes, "segments", (json_int_t)js.segments,
	    "records", (json_int_t)js.records, "last_compaction",
	    js.last_compaction_ns / 1e9, "sync_p50_ms", js.sync_p50_ns / 1e6,
	    "sync_p99_ms", js.sync_p99_ns / 1e6);
}

/* The resident set, from /proc (0 if it cannot be read). */
static json_int_t
rss_bytes(void)
{
	unsigned long	size, resident = 0;
	FILE		*f;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (json_int_t)resident * sysconf(_SC_PAGESIZE);
}

void
op_stats(struct request *r)
{
	unsigned long		 counts[JOB_NSTATES];
	struct executor_stats	 es;
	struct loop_stats	 ls;
	json_t			*jobs, *loops, *loop, *stats;
	struct shard		*sh;
	unsigned int		 i;

	job_count_states(counts);
	jobs = json_object();
	for (i = 0; i < JOB_NSTATES; i++)
		json_object_set_new(jobs, job_state_name(i), json_integer((json_int_t)counts[i]));
	json_object_set_new(jobs, "total", json_integer((json_int_t)registry_count()));

	loops = json_array();
	for (i = 0; i < loomd.nloops; i++) {
		loop_get_stats(loomd.loops[i], &ls);
		sh = loomd.shards[i];
		loop = json_pack("{s:i,s:I,s:I,s:I,s:I,s:f,s:f,s:I}",
		    "index", i,
		    "connections", (json_int_t)atomic_load(&sh->net->connections),
		    "jobs", (json_int_t)atomic_load(&sh->njobs),
		    "handoffs", (json_int_t)atomic_load(&sh->handoffs),
		    "posts", (json_int_t)ls.posts,
		    "lag_ms", ls.lag_last_ns / 1e6,
		    "lag_max_ms", ls.lag_max_ns / 1e6,
		    "slow_callbacks", (json_int_t)ls.slow_callbacks);
		json_array_append_new(loops, loop);
	}
	executor_get_stats(loomd.executor, &es);
	stats = json_pack("{s:s,s:I,s:I,s:I,s:f,s:o,s:o,s:o,s:o,s:o,"
	    "s:{s:i,s:I,s:I,s:I,s:I,s:I},s:{s:I,s:I,s:I}}",
	    "version", PACKAGE_VERSION,
	    "pid", (json_int_t)getpid(),
	    "boot", (json_int_t)loomd.boot,
	    "rss_bytes", rss_bytes(),
	    "uptime", now_epoch() - loomd.started_at,
	    "jobs", jobs,
	    "queues", queues_json(),
	    "types", types_json(),
	    "journal", journal_json(),
	    "loops", loops,
	    "executor",
	    "threads", (int)es.threads,
	    "queued", (json_int_t)es.queued,
	    "running", (json_int_t)es.running,
	    "max_queue", (json_int_t)es.max_queue,
	    "completed", (json_int_t)es.completed,
	    "rejected", (json_int_t)es.rejected,
	    "connections",
	    "current", (json_int_t)atomic_load(&conn_counts.current),
	    "total", (json_int_t)atomic_load(&conn_counts.total),
	    "rejected", (json_int_t)atomic_load(&conn_counts.rejected));
	json_object_update_new(stats, worker_stats());
	reply_ok(r->conn, r->id, json_pack("{s:o}", "stats", stats));
}

/* event.set, event.clear, event.get: the events live in core/event.c ------ */

enum event_op {
	EVENT_SET,
	EVENT_CLEAR,
	EVENT_GET,
};

/* Answers with the event as it is after the op. */
static void
op_event(struct request *r, enum event_op op)
{
	struct error	 e = { 0 };
	const char	*name;
	size_t		 waiters = 0;
	bool		 set = false;

	if (named_event_name(r->msg, "", "name", &name, &e) == -1)
		goto fail;
	switch (op) {
	case EVENT_SET:
		if (named_event_set(name, NULL) == -1) {
			error_set(&e, "busy", "too many events (at most %d); clear "
			    "some and retry", NAMED_EVENTS_MAX);
			goto fail;
		}
		set = true;
		break;
	case EVENT_CLEAR:
		waiters = named_event_clear(name);
		break;
	case EVENT_GET:
		named_event_get(name, &set, &waiters);
		break;
	}
	reply_ok_durable(r->conn, r->id, json_pack("{s:{s:s,s:b,s:I}}", "event",
	    "name", name, "set", set, "waiters", (json_int_t)waiters));
	return;
fail:
	reply_error(r->conn, r->id, &e);
	error_clear(&e);
}

void
op_event_set(struct request *r)
{
	op_event(r, EVENT_SET);
}

void
op_event_clear(struct request *r)
{
	op_event(r, EVENT_CLEAR);
}

void
op_event_get(struct request *r)
{
	op_event(r, EVENT_GET);
}
