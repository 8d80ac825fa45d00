/* Changes besides jobs, for a store (core/notes.h). */
#include "autoconf.h"

#include <stdatomic.h>
#include <stddef.h>

#include "core/notes.h"

static note_fn			notes_fn;
static atomic_uint_fast64_t	notes_seq = 1;
static void			(*notes_type_known)(const char *);
static void			(*notes_type_each)(note_type_fn, void *);

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

void
notes_types(void (*known)(const char *), void (*each)(note_type_fn, void *))
{
	notes_type_known = known;
	notes_type_each = each;
}

void
note_type_known(const char *name)
{
	if (notes_type_known != NULL)
		notes_type_known(name);
}

void
note_types_each(note_type_fn fn, void *arg)
{
	if (notes_type_each != NULL)
		notes_type_each(fn, arg);
}
