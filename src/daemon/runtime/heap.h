/*
 * A binary min-heap of nodes embedded in what they order: lower key first,
 * then lower seq, so that equal keys come out first in, first out when seq
 * counts up.  Each node knows its place, so any node comes out in O(log n).
 * No locking: the owner of the heap guards it.
 */
#ifndef LOOM_HEAP_H
#define LOOM_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct heap_node {
	int64_t		key;
	uint64_t	seq;
	size_t		index;		/* position + 1; 0 when not in a heap */
};

struct heap {
	struct heap_node	**a;
	size_t			  n;
	size_t			  cap;
};

/* The struct a node is embedded in. */
#define heap_item(node, type, member) \
	((type *)(void *)((char *)(node) - offsetof(type, member)))

/* A zeroed struct heap is an empty heap. */
void			 heap_free(struct heap *);	/* the array; the nodes are not its */
void			 heap_push(struct heap *, struct heap_node *);
void			 heap_remove(struct heap *, struct heap_node *);
struct heap_node	*heap_pop(struct heap *);	/* NULL when empty */

static inline size_t
heap_len(const struct heap *h)
{
	return h->n;
}

#endif
