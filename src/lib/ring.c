/*
 * ring.c - creation of the bounded lockless rings; the operations are inline in ring.h,
 * whose opening comment gives the algorithm and its invariants.
 */
#include "lib/ring.h"

#include <stdlib.h>
#include <string.h>

static bool
ring_count_ok(uint32_t count)
{
	return count >= 2 && count <= RING_SIZE_MAX && (count & (count - 1)) == 0;
}

size_t
ring_memsize(uint32_t count)
{
	if (!ring_count_ok(count))
		return 0;
	return sizeof(struct ring) + (size_t)count * sizeof(void *);
}

int
ring_init(struct ring *r, uint32_t count, int flags)
{
	if (!ring_count_ok(count) || (flags & ~(RING_SP_ENQ | RING_SC_DEQ)) != 0)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->r_size = count;
	r->r_mask = count - 1;
	r->r_flags = flags;
	atomic_init(&r->r_ph.rh_word, 0);
	atomic_init(&r->r_pt.rt_tail, 0);
	atomic_init(&r->r_ch.rh_word, 0);
	atomic_init(&r->r_ct.rt_tail, 0);
	return 0;
}

struct ring *
ring_create(uint32_t count, int flags)
{
	size_t sz = ring_memsize(count);
	struct ring *r;
	int error;

	if (sz == 0) {
		errno = EINVAL;
		return NULL;
	}
	r = aligned_alloc(RING_ALIGN, (sz + RING_ALIGN - 1) & ~(size_t)(RING_ALIGN - 1));
	if (r == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	error = ring_init(r, count, flags);
	if (error != 0) {
		free(r);
		errno = -error;
		return NULL;
	}
	return r;
}

void
ring_destroy(struct ring *r)
{
	free(r);
}
