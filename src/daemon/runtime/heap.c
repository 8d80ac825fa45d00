/* The binary heap behind queues and waiters: see heap.h. */
#include "autoconf.h"

#include <stdbool.h>
#include <stdlib.h>

#include "runtime/heap.h"
#include "runtime/util.h"

static bool
heap_less(const struct heap_node *x, const struct heap_node *y)
{
	return x->key < y->key || (x->key == y->key && x->seq < y->seq);
}

static void
heap_set(struct heap *h, size_t i, struct heap_node *node)
{
	h->a[i] = node;
	node->index = i + 1;
}

static void
heap_up(struct heap *h, size_t i)
{
	struct heap_node	*node = h->a[i];

	while (i > 0 && heap_less(node, h->a[(i - 1) / 2])) {
		heap_set(h, i, h->a[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_set(h, i, node);
}

static void
heap_down(struct heap *h, size_t i)
{
	struct heap_node	*node = h->a[i];
	size_t			 child;

	while ((child = 2 * i + 1) < h->n) {
		if (child + 1 < h->n && heap_less(h->a[child + 1], h->a[child]))
			child++;
		if (!heap_less(h->a[child], node))
			break;
		heap_set(h, i, h->a[child]);
		i = child;
	}
	heap_set(h, i, node);
}

void
heap_free(struct heap *h)
{
	free(h->a);
	h->a = NULL;
	h->n = h->cap = 0;
}

void
heap_push(struct heap *h, struct heap_node *node)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 16;
		h->a = xreallocarray(h->a, h->cap, sizeof(*h->a));
	}
	h->a[h->n++] = node;
	heap_up(h, h->n - 1);
}

void
heap_remove(struct heap *h, struct heap_node *node)
{
	size_t	i = node->index - 1;

	node->index = 0;
	if (i == --h->n)
		return;
	/* The last node fills the hole and moves whichever way it must. */
	heap_set(h, i, h->a[h->n]);
	heap_down(h, i);
	heap_up(h, i);
}

struct heap_node *
heap_pop(struct heap *h)
{
	struct heap_node	*top;

	if (h->n == 0)
		return NULL;
	top = h->a[0];
	heap_remove(h, top);
	return top;
}
