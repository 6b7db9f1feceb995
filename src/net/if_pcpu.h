/*
 * if_pcpu.h - per-CPU counter arrays used by interfaces, dispatch tables and drivers.
 *
 * An array has kern_ncpu(k) + 1 slots of struct if_pcpu (one or two cache lines each):
 * slot i belongs to CPU thread i of the kern, the last slot is shared by every other
 * thread.  A CPU thread updates its own slot with a relaxed load and a relaxed store (it
 * is the only writer; the atomics only keep concurrent readers data-race free); the
 * shared slot is updated with a relaxed fetch_add.  Readers sum all slots with relaxed
 * loads: a total is a snapshot, exact once writers are quiescent.
 */
#ifndef SMPNET_NET_IF_PCPU_H
#define SMPNET_NET_IF_PCPU_H

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kern/kern.h"
#include "net/if_var.h"

/* Allocate a zeroed array of ncpu + 1 slots.  NULL + errno (ENOMEM). */
static inline struct if_pcpu *
if_pcpu_alloc(int ncpu)
{
	struct if_pcpu *a = aligned_alloc(CACHE_LINE, sizeof(*a) * (size_t)(ncpu + 1));

	if (a != NULL)
		memset(a, 0, sizeof(*a) * (size_t)(ncpu + 1));
	return a;
}

static inline void
if_pcpu_add(struct if_pcpu *a, const struct kern *k, int ncpu, int c, uint64_t n)
{
	int slot = kcpu_slot(k, ncpu);
	_Atomic uint64_t *p = &a[slot].c[c];

	if (slot == ncpu) {
		/* relaxed RMW: the shared slot has many writers; readers only sum */
		atomic_fetch_add_explicit(p, n, memory_order_relaxed);
	} else {
		/* relaxed load+store: only this CPU writes its slot (pairs with nothing) */
		atomic_store_explicit(p, atomic_load_explicit(p, memory_order_relaxed) + n,
		    memory_order_relaxed);
	}
}

static inline uint64_t
if_pcpu_sum(const struct if_pcpu *a, int ncpu, int c)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i <= ncpu; i++)
		s += atomic_load_explicit(&a[i].c[c], memory_order_relaxed);
	return s;
}

#endif /* SMPNET_NET_IF_PCPU_H */
