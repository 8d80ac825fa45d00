/*
 * Changes of loomd's state besides jobs that a store keeps: a named event
 * set or cleared, a queue paused or resumed.  Each is told to the observer
 * (the journal) where it is made, under the lock that orders it, with a
 * number that counts up across loops, so that a replay keeps the last.
 */
#ifndef LOOM_NOTES_H
#define LOOM_NOTES_H

#include <stdbool.h>
#include <stdint.h>

enum note_kind {
	NOTE_EVENT = 4,		/* on: set */
	NOTE_QUEUE = 5,		/* on: paused */
	NOTE_TYPE = 6,		/* a type run by workers became known */
};

typedef void (*note_fn)(enum note_kind, const char *name, bool on, uint64_t seq);

/* Before the loops start. */
void		 notes_observe(note_fn);
/* A change was made (called under the lock that orders such changes). */
void		 note(enum note_kind, const char *name, bool on);
/* A number above every note so far (a snapshot's). */
uint64_t	 note_seq_next(void);
/* Replay: numbers go on above the highest read back. */
void		 note_seq_above(uint64_t);

/*
 * Types run by workers (net/worker.c keeps them): replay makes a type read
 * back known again, a snapshot writes every known one.  Set before the
 * loops start; without them both do nothing.
 */
typedef void (*note_type_fn)(const char *name, void *arg);
void		 notes_types(void (*known)(const char *),
		     void (*each)(note_type_fn, void *));
void		 note_type_known(const char *name);
void		 note_types_each(note_type_fn, void *);

#endif
