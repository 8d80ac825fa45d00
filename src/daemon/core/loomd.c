/* The daemon's shared state, and what each loop owns (core/loomd.h). */
#include "autoconf.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include "core/loomd.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

struct shard *
shard_new(struct loop *loop)
{
	struct shard	*sh;
	int		 i;

	if ((sh = aligned_alloc(64, sizeof(*sh))) == NULL)
		fatal("shard_new");
	sh->loop = loop;
	sh->index = loop_index(loop);
	TAILQ_INIT(&sh->jobs);
	sh->net = NULL;
	sh->counters = NULL;
	sh->journal = NULL;
	memset(&sh->render, 0, sizeof(sh->render));
	memset(&sh->durable, 0, sizeof(sh->durable));
	sh->stop = NULL;
	atomic_init(&sh->stop_looked, 0);
	for (i = 0; i < JOB_NSTATES; i++)
		atomic_init(&sh->states[i], 0);
	atomic_init(&sh->njobs, 0);
	atomic_init(&sh->handoffs, 0);
	return sh;
}

void
shard_free(struct shard *sh)
{
	textbuf_free(&sh->render);
	free(sh);
}

struct shard *
shard_of(const struct loop *loop)
{
	return loomd.shards[loop_index(loop)];
}

struct shard *
shard_current(void)
{
	struct loop	*loop = loop_current();

	/* A loop past the shards' (the metrics') owns none. */
	return loop != NULL && loop_index(loop) < loomd.nloops ?
	    loomd.shards[loop_index(loop)] : NULL;
}
