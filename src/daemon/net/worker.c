/*
 * Workers: job types run by clients (doc/architecture.md, "Workers").
 *
 * Three parties, each touching only what its loop owns:
 *   - the job's owner loop O offers the job when it has its queue slot,
 *     limits and lock (it stays queued), makes it running when the hub
 *     assigns it, keeps its lease and takes the worker's reports;
 *   - the hub (loop 0) owns every external type's ready set, ordered by
 *     priority then arrival, and every worker's record: who has room for
 *     what.  Once per loop pass it assigns what is ready to workers;
 *   - the worker's connection loop W reads its ops and writes its pushes
 *     (through a conn_remote, from O).
 * Jobs of external types are placed on the hub when their queue has no
 * home, so for most jobs O is the hub and offers and assignments are plain
 * calls; the rest cross by loop_post, as any hand-off does.  This file is
 * the types, the hub and the workers' connections; worker_job.c the owner.
 */
#include "autoconf.h"

#include <sys/queue.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/job.h"
#include "core/loomd.h"
#include "core/notes.h"
#include "net/conn.h"
#include "net/worker.h"
#include "net/worker_private.h"
#include "runtime/hashmap.h"
#include "runtime/heap.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "runtime/util.h"

/* Hub-side: a worker connection and what it holds. */
struct worker {
	TAILQ_ENTRY(worker)	 entry;
	struct hashmap_entry	 by_id;
	uint64_t		 id;
	char			*name;
	struct ext_type		**types;
	size_t			 ntypes;
	unsigned int		 concurrency;
	unsigned int		 running;
	bool			 bye;
	double			 connected_at;
	struct conn_remote	*remote;
	struct hashmap		 held;		/* job id → struct held */
};

struct held {
	struct hashmap_entry	 entry;
	uint64_t		 id;
	struct loop		*owner;
};

#define WORKER_TYPES_HARD_MAX	4096

static struct ext_type	*ext_types[WORKER_TYPES_HARD_MAX];
static atomic_size_t	 ext_ntypes;
static pthread_mutex_t	 ext_types_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool	 ext_replay;

/* The hub's, on its loop; hub_lock also lets stats read the workers. */
struct loop		*worker_hub;
static pthread_mutex_t	 hub_lock = PTHREAD_MUTEX_INITIALIZER;
static TAILQ_HEAD(, worker) hub_workers = TAILQ_HEAD_INITIALIZER(hub_workers);
static struct hashmap	 hub_by_id;
static struct hashmap	 hub_offers;
static uint64_t		 hub_seq;
static struct loop_event hub_kick;
static bool		 hub_kicked;
static struct loop_event hub_retry;	/* a stalled worker may read again */
static bool		 hub_stalled;
static atomic_size_t	 nworkers;
static atomic_uint_fast64_t worker_next_id = 1;

static void	hub_dispatch(evutil_socket_t, short, void *);

/* A call on `loop`: now if it is this one (the caller is at top level or
 * the callee defers), else posted; false if the loop has stopped. */
bool
worker_call_on(struct loop *loop, loop_fn fn, void *arg, const char *name)
{
	if (loop_is_current(loop)) {
		fn(arg);
		return true;
	}
	return loop_post_named(loop, fn, arg, name) == 0;
}

void
worker_hub_send(struct loop *loop, loop_fn fn, uint64_t worker, uint64_t id,
    struct loop *owner, const char *name)
{
	struct hub_msg	*m = xmalloc(sizeof(*m));

	m->worker = worker;
	m->id = id;
	m->owner = owner;
	if (!worker_call_on(loop, fn, m, name))
		free(m);
}

/* Types ----------------------------------------------------------------- */

static struct ext_type *
ext_type_lookup(const char *name)
{
	size_t	i, n = atomic_load_explicit(&ext_ntypes, memory_order_acquire);

	for (i = 0; i < n; i++) {
		if (strcmp(ext_types[i]->name, name) == 0)
			return ext_types[i];
	}
	return NULL;
}

static double
ext_lease_configured(const char *name)
{
	const struct config	*cfg = atomic_load(&loomd.config);
	size_t			 i;

	for (i = 0; cfg != NULL && i < cfg->ntypes; i++) {
		if (strcmp(cfg->types[i].name, name) == 0)
			return cfg->types[i].lease;
	}
	return WORKER_LEASE_DEFAULT;
}

static size_t
ext_types_max(void)
{
	const struct config	*cfg = atomic_load(&loomd.config);
	size_t			 max = cfg != NULL ? cfg->max_worker_types : 256;

	return max < WORKER_TYPES_HARD_MAX ? max : WORKER_TYPES_HARD_MAX;
}

/* The type by name, made if it is new: NULL for a built-in name or past
 * max_worker_types (with the error). */
static struct ext_type *
ext_type_get(const char *name, const char *path, bool noted, struct error *e)
{
	struct ext_type	*t;
	size_t		 n;

	if (job_type_builtin(name) != NULL) {
		error_set(e, "bad_request", "\"%s\" is a built-in type; a worker "
		    "cannot take it", name);
		error_set_path(e, path);
		return NULL;
	}
	if ((t = ext_type_lookup(name)) != NULL)
		return t;
	pthread_mutex_lock(&ext_types_lock);
	n = atomic_load_explicit(&ext_ntypes, memory_order_relaxed);
	if ((t = ext_type_lookup(name)) != NULL)
		goto out;
	if (n >= ext_types_max()) {
		error_set(e, "busy", "too many worker types (max_worker_types %zu)",
		    ext_types_max());
		error_set_path(e, path);
		goto out;
	}
	t = xcalloc(1, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	atomic_init(&t->lease, ext_lease_configured(name));
	t->jt.name = t->name;
	t->jt.runs = JOB_RUNS_WORKER;
	t->jt.parse = ext_parse;
	t->jt.free_parsed = ext_free;
	t->jt.start = ext_start;
	t->jt.cancel = ext_cancel;
	t->jt.home = worker_hub;
	t->noted = noted;
	ext_types[n] = t;
	atomic_store_explicit(&ext_ntypes, n + 1, memory_order_release);
	log_info("worker type %s is known (lease %gs)", name, atomic_load(&t->lease));
	/* Named by a worker: kept across restarts (the config keeps its own). */
	if (noted && !atomic_load(&ext_replay))
		note(NOTE_TYPE, name, true);
out:
	pthread_mutex_unlock(&ext_types_lock);
	return t;
}

/* job_type_find()'s fallback. */
static const struct job_type *
ext_type_find(const char *name)
{
	struct ext_type	*t = ext_type_lookup(name);
	struct error	 e = { 0 };

	if (t == NULL && atomic_load(&ext_replay) && name_valid(name,
	    strlen(name), true)) {
		t = ext_type_get(name, "type", true, &e);
		error_clear(&e);
	}
	return t != NULL ? &t->jt : NULL;
}

/* Replay read back a type a worker had named. */
static void
ext_type_noted(const char *name)
{
	struct error	e = { 0 };

	if (ext_type_get(name, "type", true, &e) == NULL) {
		log_warnx("journal: worker type %s: %s", name, e.message);
		error_clear(&e);
	}
}

/* For a snapshot: every type a worker named. */
static void
ext_types_each(note_type_fn fn, void *arg)
{
	size_t	i, n = atomic_load(&ext_ntypes);

	for (i = 0; i < n; i++) {
		if (ext_types[i]->noted)
			fn(ext_types[i]->name, arg);
	}
}

void
worker_replaying(bool on)
{
	atomic_store(&ext_replay, on);
}

size_t
worker_type_count(void)
{
	return atomic_load(&ext_ntypes);
}

size_t
worker_count(void)
{
	return atomic_load(&nworkers);
}

int
worker_configure(const struct config *cfg, char *err, size_t errlen)
{
	struct ext_type	*t;
	struct error	 e = { 0 };
	size_t		 i;
	int		 rc = 0;

	for (i = 0; i < cfg->ntypes; i++) {
		if ((t = ext_type_get(cfg->types[i].name, "type", false, &e)) == NULL) {
			if (rc == 0)
				snprintf(err, errlen, "[type.%s]: %s",
				    cfg->types[i].name, e.message);
			error_clear(&e);
			rc = -1;
			continue;
		}
		/* Leases armed from now on run this long. */
		atomic_store(&t->lease, cfg->types[i].lease);
	}
	return rc;
}

int
worker_init(const struct config *cfg, char *err, size_t errlen)
{
	worker_hub = loomd.loops[0];
	hashmap_init(&hub_by_id, NULL);
	hashmap_init(&hub_offers, NULL);
	loop_event_assign(&hub_kick, worker_hub, -1, 0, hub_dispatch, NULL);
	loop_event_assign(&hub_retry, worker_hub, -1, 0, hub_dispatch, NULL);
	job_types_extend(ext_type_find);
	notes_types(ext_type_noted, ext_types_each);
	return worker_configure(cfg, err, errlen);
}

/* The hub ---------------------------------------------------------------- */

static void
hub_kick_soon(void)
{
	if (hub_kicked)
		return;
	hub_kicked = true;
	event_active(&hub_kick.ev, EV_TIMEOUT, 1);
}

void
hub_offer(void *arg)
{
	struct offer	*o = arg;

	o->node.seq = hub_seq++;
	heap_push(&o->type->ready, &o->node);
	hashmap_add_u64(&hub_offers, &o->entry, o->id);
	atomic_fetch_add_explicit(&o->type->waiting, 1, memory_order_relaxed);
	hub_kick_soon();
}

static struct worker *
hub_worker(uint64_t id)
{
	struct hashmap_entry	*he = hashmap_find_u64(&hub_by_id, id);

	return he != NULL ? hashmap_item(he, struct worker, by_id) : NULL;
}

/* An offer withdrawn (worker 0), or a worker's job ended: room again. */
void
hub_release(void *arg)
{
	struct hub_msg		*m = arg;
	struct hashmap_entry	*he;
	struct offer		*o;
	struct worker		*w;

	if (m->worker == 0) {
		if ((he = hashmap_find_u64(&hub_offers, m->id)) != NULL) {
			o = hashmap_item(he, struct offer, entry);
			hashmap_remove(&hub_offers, he);
			heap_remove(&o->type->ready, &o->node);
			atomic_fetch_sub_explicit(&o->type->waiting, 1,
			    memory_order_relaxed);
			free(o);
		}
	} else if ((w = hub_worker(m->worker)) != NULL &&
	    (he = hashmap_find_u64(&w->held, m->id)) != NULL) {
		pthread_mutex_lock(&hub_lock);
		hashmap_remove(&w->held, he);
		w->running--;
		pthread_mutex_unlock(&hub_lock);
		free(hashmap_item(he, struct held, entry));
		hub_kick_soon();
	}
	free(m);
}

static bool
worker_takes(const struct worker *w, const struct ext_type *t)
{
	size_t	i;

	if (w->bye || w->running >= w->concurrency)
		return false;
	/* Not reading its socket: its leases run on, but no new pushes. */
	if (conn_remote_stalled(w->remote)) {
		hub_stalled = true;
		return false;
	}
	for (i = 0; i < w->ntypes; i++) {
		if (w->types[i] == t)
			return true;
	}
	return false;
}

/* Give the ready offer at the top of t's set to w. */
static void
hub_assign(struct worker *w, struct ext_type *t)
{
	struct offer	*o = heap_item(heap_pop(&t->ready), struct offer, node);
	struct held	*h = xmalloc(sizeof(*h));

	hashmap_remove(&hub_offers, &o->entry);
	atomic_fetch_sub_explicit(&t->waiting, 1, memory_order_relaxed);
	h->id = o->id;
	h->owner = o->owner;
	pthread_mutex_lock(&hub_lock);
	hashmap_add_u64(&w->held, &h->entry, h->id);
	w->running++;
	pthread_mutex_unlock(&hub_lock);
	o->worker = w->id;
	o->remote = w->remote;
	conn_remote_ref(w->remote);
	if (!worker_call_on(o->owner, owner_assigned, o, "owner_assigned")) {
		conn_remote_unref(o->remote);
		free(o);
	}
}

/*
 * Once per pass: each type's ready jobs, best first, to the workers that
 * take it and have room, each filled in turn (its pushes go out together).
 */
static void
hub_dispatch(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w, *next;
	size_t		 i, n = atomic_load(&ext_ntypes);
	struct ext_type	*t;

	hub_kicked = false;
	hub_stalled = false;
	for (i = 0; i < n; i++) {
		t = ext_types[i];
		TAILQ_FOREACH(w, &hub_workers, entry) {
			if (heap_len(&t->ready) == 0)
				break;
			while (heap_len(&t->ready) > 0 && worker_takes(w, t))
				hub_assign(w, t);
		}
	}
	/* The connection says nothing when it is read again: look later. */
	if (hub_stalled && !evtimer_pending(&hub_retry.ev, NULL)) {
		struct timeval	tv = { 0, 20000 };

		evtimer_add(&hub_retry.ev, &tv);
	}
	/* Rotate, so that the next pass starts with another worker. */
	if ((w = TAILQ_FIRST(&hub_workers)) != NULL &&
	    (next = TAILQ_NEXT(w, entry)) != NULL) {
		pthread_mutex_lock(&hub_lock);
		TAILQ_REMOVE(&hub_workers, w, entry);
		TAILQ_INSERT_TAIL(&hub_workers, w, entry);
		pthread_mutex_unlock(&hub_lock);
	}
}

static void
hub_hello(void *arg)
{
	struct worker	*w = arg;

	pthread_mutex_lock(&hub_lock);
	TAILQ_INSERT_TAIL(&hub_workers, w, entry);
	pthread_mutex_unlock(&hub_lock);
	hashmap_add_u64(&hub_by_id, &w->by_id, w->id);
	hub_kick_soon();
}

static void
hub_bye(void *arg)
{
	struct hub_msg	*m = arg;
	struct worker	*w = hub_worker(m->worker);

	if (w != NULL) {
		pthread_mutex_lock(&hub_lock);
		w->bye = true;
		pthread_mutex_unlock(&hub_lock);
	}
	free(m);
}

static void
worker_free(struct worker *w)
{
	struct hashmap_entry	*he;
	struct hashmap_iter	 it;

	for (he = hashmap_first(&w->held, &it); he != NULL; he = hashmap_next(&it)) {
		hashmap_remove(&w->held, he);
		free(hashmap_item(he, struct held, entry));
	}
	hashmap_free(&w->held);
	conn_remote_unref(w->remote);
	free(w->types);
	free(w->name);
	free(w);
}

/* Its connection closed: what it held goes back to the owners. */
static void
hub_gone(void *arg)
{
	struct hub_msg		*m = arg;
	struct worker		*w = hub_worker(m->worker);
	struct hashmap_entry	*he;
	struct hashmap_iter	 it;
	struct held		*h;

	free(m);
	if (w == NULL)
		return;
	hashmap_remove(&hub_by_id, &w->by_id);
	pthread_mutex_lock(&hub_lock);
	TAILQ_REMOVE(&hub_workers, w, entry);
	pthread_mutex_unlock(&hub_lock);
	atomic_fetch_sub(&nworkers, 1);
	for (he = hashmap_first(&w->held, &it); he != NULL; he = hashmap_next(&it)) {
		h = hashmap_item(he, struct held, entry);
		worker_hub_send(h->owner, owner_lost, w->id, h->id, NULL, "owner_lost");
	}
	log_info("worker %llu (%s) disconnected holding %u job%s",
	    (unsigned long long)w->id, w->name, w->running,
	    w->running == 1 ? "" : "s");
	worker_free(w);
}

/* The worker's connection ------------------------------------------------ */

struct worker_link *
worker_hello(struct conn *c, const char *const *names, size_t ntypes,
    unsigned int concurrency, const char *name, struct error *e)
{
	const struct config	*cfg = atomic_load(&loomd.config);
	struct worker_link	*link;
	struct worker		*w;
	struct ext_type		**types;
	char			 path[32];
	size_t			 i, max = cfg->max_workers, n;

	types = xcalloc(ntypes, sizeof(*types));
	for (i = 0; i < ntypes; i++) {
		snprintf(path, sizeof(path), "types[%zu]", i);
		if ((types[i] = ext_type_get(names[i], path, true, e)) == NULL) {
			free(types);
			return NULL;
		}
	}
	n = atomic_fetch_add(&nworkers, 1);
	if (n >= max) {
		atomic_fetch_sub(&nworkers, 1);
		free(types);
		error_set(e, "busy", "too many workers (max_workers %zu); retry later",
		    max);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->id = atomic_fetch_add(&worker_next_id, 1);
	w->name = xstrdup(name != NULL ? name : "");
	w->types = types;
	w->ntypes = ntypes;
	w->concurrency = concurrency;
	w->connected_at = now_epoch();
	w->remote = conn_remote_new(c);
	hashmap_init(&w->held, NULL);
	link = xcalloc(1, sizeof(*link));
	link->id = w->id;
	snprintf(link->idstr, sizeof(link->idstr), "%llu", (unsigned long long)w->id);
	log_info("worker %llu (%s) connected: %zu type%s, concurrency %u",
	    (unsigned long long)w->id, w->name, ntypes, ntypes == 1 ? "" : "s",
	    concurrency);
	if (!worker_call_on(worker_hub, hub_hello, w, "hub_hello")) {
		atomic_fetch_sub(&nworkers, 1);
		worker_free(w);
		free(link);
		error_set(e, "shutting_down", "the daemon is stopping");
		return NULL;
	}
	return link;
}

const char *
worker_link_id(const struct worker_link *link)
{
	return link->idstr;
}

void
worker_bye(struct worker_link *link)
{
	worker_hub_send(worker_hub, hub_bye, link->id, 0, NULL, "hub_bye");
}

void
worker_closed(struct worker_link *link)
{
	worker_hub_send(worker_hub, hub_gone, link->id, 0, NULL, "hub_gone");
	free(link);
}

/* Stats -------------------------------------------------------------------- */

/* The ids of the jobs it runs, in order (under hub_lock). */
static int
id_cmp(const void *a, const void *b)
{
	json_int_t	x = json_integer_value(*(json_t *const *)a);
	json_int_t	y = json_integer_value(*(json_t *const *)b);

	return x < y ? -1 : x > y;
}

static json_t *
worker_jobs(const struct worker *w)
{
	struct hashmap_entry	*he;
	struct hashmap_iter	 it;
	json_t			**v, *jobs = json_array();
	size_t			 n = 0, i;

	v = xcalloc(hashmap_count(&w->held) + 1, sizeof(*v));
	for (he = hashmap_first(&w->held, &it); he != NULL; he = hashmap_next(&it))
		v[n++] = json_integer((json_int_t)hashmap_item(he, struct held,
		    entry)->id);
	qsort(v, n, sizeof(*v), id_cmp);
	for (i = 0; i < n; i++)
		json_array_append_new(jobs, v[i]);
	free(v);
	return jobs;
}

json_t *
worker_stats(void)
{
	json_t		*workers = json_array(), *types = json_object(), *ws, *tn;
	struct worker	*w;
	size_t		 i, n = atomic_load(&ext_ntypes);

	pthread_mutex_lock(&hub_lock);
	TAILQ_FOREACH(w, &hub_workers, entry) {
		tn = json_array();
		for (i = 0; i < w->ntypes; i++)
			json_array_append_new(tn, json_string(w->types[i]->name));
		ws = json_pack("{s:s,s:o,s:I,s:I,s:f,s:b}", "name", w->name,
		    "types", tn,
		    "concurrency", (json_int_t)w->concurrency,
		    "running", (json_int_t)w->running,
		    "connected_at", w->connected_at, "bye", w->bye);
		json_object_set_new(ws, "id", json_sprintf("%llu",
		    (unsigned long long)w->id));
		json_object_set_new(ws, "jobs", worker_jobs(w));
		json_array_append_new(workers, ws);
	}
	pthread_mutex_unlock(&hub_lock);
	for (i = 0; i < n; i++) {
		json_object_set_new(types, ext_types[i]->name, json_pack("{s:I,s:f}",
		    "waiting", (json_int_t)atomic_load(&ext_types[i]->waiting),
		    "lease", atomic_load(&ext_types[i]->lease)));
	}
	return json_pack("{s:o,s:o}", "workers", workers, "worker_types", types);
}

/* After the loops have stopped. */
void
worker_shutdown(void)
{
	struct hashmap_entry	*he;
	struct hashmap_iter	 it;
	struct worker		*w;
	size_t			 i, n = atomic_load(&ext_ntypes);

	while ((w = TAILQ_FIRST(&hub_workers)) != NULL) {
		TAILQ_REMOVE(&hub_workers, w, entry);
		worker_free(w);
	}
	for (he = hashmap_first(&hub_offers, &it); he != NULL; he = hashmap_next(&it)) {
		hashmap_remove(&hub_offers, he);
		free(hashmap_item(he, struct offer, entry));
	}
	hashmap_free(&hub_offers);
	hashmap_free(&hub_by_id);
	for (i = 0; i < n; i++) {
		heap_free(&ext_types[i]->ready);
		free(ext_types[i]);
	}
	atomic_store(&ext_ntypes, 0);
	atomic_store(&nworkers, 0);
}
