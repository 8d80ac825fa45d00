/*
 * The registry maps job ids to jobs so that any connection can find any
 * job.  It is sharded by id, one mutex per shard.  What a lookup from any
 * thread may use is the owner loop and the job's future; only the owner loop
 * may dereference the job itself (registry_job).
 */
#ifndef LOOM_REGISTRY_H
#define LOOM_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/hashmap.h"

struct future;
struct job;
struct loop;
struct principal;

/* Embedded in each job; immutable from insertion to removal, but for the
 * future, which a retry replaces (under the shard's lock). */
struct registry_link {
	uint64_t		 id;
	struct job		*job;
	struct loop		*owner;
	struct future		*future;
	struct principal	*principal;	/* who submitted it; or NULL */
	struct hashmap_entry	 entry;		/* its shard's map */
};

/*
 * Ids never repeat for a state_dir: they are handed out below a ceiling the
 * service has made durable, and reserve(at_least) is called for the next
 * (it returns the new ceiling, durable; it may not fail) when half of the
 * block given is used.  Without registry_ids() ids count from 1 with no ceiling.
 */
typedef uint64_t (*registry_reserve_fn)(uint64_t at_least);
void		 registry_ids(uint64_t next, uint64_t ceiling, uint64_t block,
		     registry_reserve_fn);
uint64_t	 registry_next_id(void);
void		 registry_insert(struct registry_link *);
/* Room for n more without growing (a replay's jobs). */
void		 registry_reserve(size_t n);
/* A retried job's new future takes the old one's place; the old is returned. */
struct future	*registry_set_future(struct registry_link *, struct future *);
void		 registry_remove(struct registry_link *);
/* Any thread: the owner and a new reference to the job's future. */
bool		 registry_lookup(uint64_t id, struct loop **owner, struct future **);
/* Any thread: who submitted the job (NULL: unknown, or no such job). */
const struct principal *registry_principal(uint64_t id);
/* Owner loop only: the job, or NULL if it is gone or not ours. */
struct job	*registry_job(uint64_t id);
size_t		 registry_count(void);

/*
 * Idempotency keys: the id of the job holding `key`, or 0 if it is now
 * `id`'s.  A holder claims its key before it registers its id, and releases
 * it before it removes its id: for a moment the holder can be unknown to
 * registry_lookup() (job_key_taken claims again).  Keys are scoped by
 * principal: one principal's key never names another's job.
 */
uint64_t	 registry_key_claim(const struct principal *, const char *key,
		     uint64_t id);
void		 registry_key_release(const struct principal *, const char *key,
		     uint64_t id);

void		 registry_init(void);
void		 registry_free(void);

#endif
