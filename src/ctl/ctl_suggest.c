/*
 * Suggestions for mistyped words.  The lists are short (commands, queues,
 * types), so a quadratic distance per candidate costs nothing.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "ctl_suggest.h"

#define CTL_SUGGEST_LEN_MAX	64	/* longer words are not typos we fix */

static size_t
ctl_min3(size_t a, size_t b, size_t c)
{
	size_t	m = a < b ? a : b;

	return m < c ? m : c;
}

size_t
ctl_edit_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), i, j, cost, *d, v;

	if (la > CTL_SUGGEST_LEN_MAX || lb > CTL_SUGGEST_LEN_MAX)
		return (size_t)-1;
	d = calloc((la + 1) * (lb + 1), sizeof(*d));
	if (d == NULL)
		return (size_t)-1;
#define D(x, y)	d[(x) * (lb + 1) + (y)]
	for (i = 0; i <= la; i++)
		D(i, 0) = i;
	for (j = 0; j <= lb; j++)
		D(0, j) = j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			cost = a[i - 1] != b[j - 1];
			D(i, j) = ctl_min3(D(i - 1, j) + 1, D(i, j - 1) + 1,
			    D(i - 1, j - 1) + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && D(i - 2, j - 2) + 1 < D(i, j))
				D(i, j) = D(i - 2, j - 2) + 1;
		}
	}
	v = D(la, lb);
#undef D
	free(d);
	return v;
}

/* How many edits still read as a typo of a word this long. */
static size_t
ctl_suggest_limit(size_t len)
{
	if (len <= 3)
		return 1;
	if (len <= 8)
		return 2;
	return len / 3;
}

static const char *
ctl_suggest_best(const char *word, const char *const *names, size_t n)
{
	const char	*best = NULL, *prefixed = NULL;
	size_t		 i, dist, best_dist = (size_t)-1, len = strlen(word);
	int		 prefixes = 0;

	if (*word == '\0')
		return NULL;
	for (i = 0; i < n; i++) {
		if (strcmp(word, names[i]) == 0)
			return NULL;	/* not mistyped */
		if (strncmp(word, names[i], len) == 0) {
			prefixed = names[i];
			prefixes++;
		}
		dist = ctl_edit_distance(word, names[i]);
		if (dist < best_dist) {
			best_dist = dist;
			best = names[i];
		}
	}
	if (best != NULL && best_dist <= ctl_suggest_limit(len))
		return best;
	return prefixes == 1 ? prefixed : NULL;
}

const char *
ctl_suggest(const char *word, const char *const *candidates)
{
	size_t	n = 0;

	while (candidates[n] != NULL)
		n++;
	return ctl_suggest_best(word, candidates, n);
}

const char *
ctl_suggest_key(const char *word, const json_t *object)
{
	const char	**names, *key, *best;
	json_t		 *v;
	size_t		  n = 0;

	if (!json_is_object(object) || json_object_size(object) == 0)
		return NULL;
	if ((names = calloc(json_object_size(object), sizeof(*names))) == NULL)
		return NULL;
	json_object_foreach((json_t *)object, key, v)
		names[n++] = key;
	best = ctl_suggest_best(word, names, n);
	free(names);
	return best;
}
