/* Changes besides jobs, for a store (core/notes.h). */
#include "autoconf.h"

#include <stdatomic.h>
#include <stddef.h>

#include "core/notes.h"

static note_fn			notes_fn;
static atomic_uint_fast64_t	notes_seq = 1;

void
notes_observe(note_fn fn)
{
	notes_fn = fn;
}

void
note(enum note_kind kind, const char *name, bool on)
{
	if (notes_fn != NULL)
		notes_fn(kind, name, on, atomic_fetch_add(&notes_seq, 1));
}

uint64_t
note_seq_next(void)
{
	return atomic_fetch_add(&notes_seq, 1);
}

void
note_seq_above(uint64_t seq)
{
	uint64_t	cur = atomic_load(&notes_seq);

	while (cur <= seq && !atomic_compare_exchange_weak(&notes_seq, &cur,
	    seq + 1))
		;
}
