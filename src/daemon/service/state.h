/*
 * What loomd keeps in state_dir besides jobs: how many times it has started
 * on it (ping's "boot"), and the ceiling below which ids may be handed out,
 * so that no id is ever given twice for one state_dir, whatever the journal
 * keeps.  One small file, `state`, replaced whole and durably.
 */
#ifndef LOOM_STATE_H
#define LOOM_STATE_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

/* Started as root with a user to become: make a missing state_dir theirs. */
int		 state_prepare(const char *state_dir, uid_t, gid_t, char *err,
		     size_t errlen);
/*
 * At start, after privileges are dropped: make state_dir if it is missing,
 * read the file (a missing one is a first boot), count this boot, reserve
 * the first block of ids and write it all back before anything is served.
 * -1 with a message in err.
 */
int		 state_open(const char *state_dir, char *err, size_t errlen);
uint64_t	 state_boot(void);
/* This boot's first id, and the ceiling reserved so far. */
uint64_t	 state_first_id(void);
uint64_t	 state_ceiling_now(void);
uint64_t	 state_ids_block(void);	/* how many are reserved at a time */
/* The registry's reserve function: a new ceiling of at least `at_least`,
 * durable when it returns; a failure to write is fatal. */
uint64_t	 state_reserve_ids(uint64_t at_least);
void		 state_close(void);

#endif
