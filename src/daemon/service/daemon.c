/*
 * Putting the daemon together.  What plugs into a seam is plugged here: the
 * job types (jobs/), the observers of job state (watch), the protocol the
 * acceptor gives each connection.  Each loop gets its shard, and the
 * network layer's part of it, before it starts; all of it is freed after
 * the loops have stopped, in the reverse order.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"
#include "core/counters.h"
#include "core/durable.h"
#include "core/event.h"
#include "core/job.h"
#include "core/joblog.h"
#include "core/loomd.h"
#include "core/principal.h"
#include "core/queue.h"
#include "core/registry.h"
#include "core/sem.h"
#include "io/journal.h"
#include "jobs/types.h"
#include "net/proto.h"
#include "net/server.h"
#include "net/shard.h"
#include "net/watch.h"
#include "net/worker.h"
#include "runtime/executor.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"
#include "service/daemon.h"
#include "service/state.h"
#include "service/systemd.h"

static unsigned int
cpus(void)
{
	long	n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)n : 1;
}

/* A long replay keeps systemd's start timeout at bay. */
static void
daemon_replaying(void)
{
	systemd_notify("EXTEND_TIMEOUT_USEC=5000000\nSTATUS=replaying the journal");
}

int
daemon_start(const struct config *cfg, char *err, size_t errlen)
{
	struct shard	*sh;
	unsigned int	 i, nthreads;

	jobs_register_builtin();
	/* The store first: an observer after it may tell a client of a
	 * change, which must then wait for the record the store opens. */
	if (cfg->journal)
		journal_init(cfg);
	counters_init();
	joblog_init();
	watch_init();
	server_set_handler(&proto_handler);
	registry_init();
	if (state_first_id() != 0)	/* state_dir opened (not in the fuzzers) */
		registry_ids(state_first_id(), state_ceiling_now(),
		    state_ids_block(), state_reserve_ids);
	loomd.boot = state_boot();

	loomd.nloops = cfg->loops != 0 ? cfg->loops : cpus();
	loomd.loops = xcalloc(loomd.nloops, sizeof(*loomd.loops));
	loomd.shards = xcalloc(loomd.nloops, sizeof(*loomd.shards));
	for (i = 0; i < loomd.nloops; i++) {
		loomd.loops[i] = loop_new(i);
		sh = loomd.shards[i] = shard_new(loomd.loops[i]);
		sh->net = net_shard_new(loomd.loops[i]);
		sh->counters = shard_counters_new();
		if (cfg->journal)
			sh->journal = journal_shard_new(sh);
	}
	for (i = 0; i < loomd.nloops; i++) {
		if (loop_start(loomd.loops[i]) == -1)
			fatal("loop %u", i);
	}
	queue_init(cfg, loomd.nloops);
	limit_init(cfg);
	nthreads = cfg->executor_threads != 0 ? cfg->executor_threads : cpus();
	loomd.executor = executor_new(nthreads, cfg->executor_queue);
	if (worker_init(cfg, err, errlen) == -1)
		return -1;
	worker_replaying(true);
	if (cfg->journal && journal_open(cfg, daemon_replaying, err, errlen) == -1) {
		worker_replaying(false);
		return -1;
	}
	worker_replaying(false);
	return 0;
}

void
daemon_free(void)
{
	unsigned int	i;

	journal_close();
	/* Nothing more will be durable: what waited for it runs now. */
	for (i = 0; i < loomd.nloops; i++)
		durable_release_all(loomd.shards[i]);
	job_shutdown();
	worker_shutdown();
	queue_shutdown();
	limit_shutdown();
	for (i = 0; i < loomd.nloops; i++) {
		net_shard_free(loomd.shards[i]->net);
		shard_counters_free(loomd.shards[i]->counters);
		journal_shard_free(loomd.shards[i]->journal);
		shard_free(loomd.shards[i]);
		loop_free(loomd.loops[i]);
	}
	executor_free(loomd.executor);
	registry_free();
	principal_free_all();	/* no job is left to point at one */
	named_event_cleanup();
	free(loomd.shards);
	free(loomd.loops);
	loomd.shards = NULL;
	loomd.loops = NULL;
}
