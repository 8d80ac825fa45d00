/*
 * What one loop owns of the network layer, hung from its shard (core/loomd.h)
 * and made and freed with it: its connections, its read buffer, the sweep
 * that closes idle connections, the connections whose turn is over, the
 * watch filters of its connections, indexed by what they watch, and the
 * walks of the lists asked of it.
 */
#ifndef LOOM_NET_SHARD_H
#define LOOM_NET_SHARD_H

#include <sys/queue.h>

#include <stdatomic.h>
#include <stdbool.h>

#include "net/linger.h"
#include "runtime/hashmap.h"
#include "runtime/loop.h"

struct conn;
struct list_part;
struct watch_filter;

TAILQ_HEAD(conn_list, conn);
TAILQ_HEAD(list_parts, list_part);
TAILQ_HEAD(watch_list, watch_filter);

struct net_shard {
	struct conn_list	 conns;
	char			*buf;		/* one read buffer for them all */
	struct loop_event	 idle;		/* the idle_timeout sweep */
	bool			 idle_armed;
	struct conn_list	 turns;		/* yielded: lines held for the next pass */
	struct loop_event	 turn;		/* that pass's timer */
	struct watch_list	 watches;	/* filters for every job */
	struct hashmap		 watch_jobs;	/* filters for one job, by id */
	struct hashmap		 watch_queues;	/* filters for one queue, by name */
	struct linger_set	 lingers;	/* sockets closing politely */
	struct list_parts	 lists;		/* `list` walks under way, in turn */
	bool			 lists_posted;	/* their next pass is posted */

	/* Written by the loop, read by `stats` from any loop. */
	atomic_ulong		 connections;	/* open now */
	atomic_ulong		 watchers;	/* connections here with a watch */
};

struct net_shard *net_shard_new(struct loop *);
void		  net_shard_free(struct net_shard *);	/* after the loop stopped */

#endif
