/*
 * "Did you mean": the nearest of a few known words to one mistyped, by
 * edit distance, as git and systemctl suggest a command.
 */
#ifndef LOOM_CTL_SUGGEST_H
#define LOOM_CTL_SUGGEST_H

#include <stddef.h>

#include <jansson.h>

/* Optimal string alignment distance: insertions, deletions,
 * substitutions and swaps of neighbours each cost 1. */
size_t		 ctl_edit_distance(const char *, const char *);

/*
 * The candidate nearest to word, or NULL when none is near enough to be a
 * typo (more than a third of its length away, or at least 3 edits for
 * short words); a unique candidate that word begins is one too.  Ties go
 * to the first.  candidates ends with NULL.
 */
const char	*ctl_suggest(const char *word, const char *const *candidates);

/* The same over the keys of a JSON object (queues, types in stats). */
const char	*ctl_suggest_key(const char *word, const json_t *object);

#endif
