/*
 * pcpu.h - per-CPU storage and counters.
 *
 * A per-CPU array has kern_ncpu(k) + 1 slots, each padded to a cache line so that CPUs
 * never share a line: slot i belongs to CPU thread i (only that thread writes it, so a
 * relaxed load + store is enough), and the last slot is shared by every other thread
 * (application threads, workers), which update it with atomic read-modify-writes.
 * kcpu_slot() (kern.h) picks the caller's slot.
 *
 * Counters (struct pcounter) are summed on read: pcounter_read() adds the slots with
 * relaxed loads, so a read racing with updates returns a value between the counts
 * before and after the racing updates; once the updaters are quiescent (joined, or
 * ordered before the reader by some other synchronisation) the sum is exact.
 */
#ifndef SMPNET_KERN_PCPU_H
#define SMPNET_KERN_PCPU_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/kern.h"

/* Allocate a zeroed per-CPU array of kern_ncpu(k)+1 elements of size bytes each
 * (rounded up to a cache line).  NULL with errno = ENOMEM.  May block (malloc). */
void *pcpu_alloc(const struct kern *k, size_t size);
void pcpu_free(void *base);

/* Element slot of a per-CPU array whose elements are size bytes (before rounding). */
static inline void *
pcpu_at(void *base, size_t size, int slot)
{
	size_t stride = (size + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);

	return (char *)base + stride * (size_t)slot;
}

/* The calling thread's element. */
#define pcpu_self(base, k, type) \
	((type *)pcpu_at((base), sizeof(type), kcpu_slot((k), kern_ncpu(k))))

struct pcounter_slot {
	_Atomic uint64_t	pcs_v;	/* [c] slot's CPU, or [a] the foreign slot */
} __cacheline_aligned;
_Static_assert(sizeof(struct pcounter_slot) == CACHE_LINE, "one counter per line");

struct pcounter {
	struct pcounter_slot	*pc_slots;	/* [I] kern_ncpu + 1 slots */
	const struct kern	*pc_kern;	/* [I] */
	int			 pc_ncpu;	/* [I] */
};

/* 0 or -ENOMEM.  May block. */
int pcounter_init(struct pcounter *pc, const struct kern *k);
void pcounter_fini(struct pcounter *pc);

/*
 * Add v to a per-CPU 64-bit cell: a plain relaxed load+store when the caller owns the
 * cell (its CPU thread), a relaxed fetch_add on the shared foreign cell.  Relaxed is
 * enough: counters order nothing; readers only sum them.
 */
static inline void
pcpu_cell_add(_Atomic uint64_t *cell, uint64_t v, int foreign)
{
	if (__predict_false(foreign))
		atomic_fetch_add_explicit(cell, v, memory_order_relaxed);
	else
		atomic_store_explicit(cell,
		    atomic_load_explicit(cell, memory_order_relaxed) + v,
		    memory_order_relaxed);
}

/* Add v.  Never blocks; any thread. */
static inline void
pcounter_add(struct pcounter *pc, uint64_t v)
{
	int slot = kcpu_slot(pc->pc_kern, pc->pc_ncpu);

	pcpu_cell_add(&pc->pc_slots[slot].pcs_v, v, slot == pc->pc_ncpu);
}

static inline void
pcounter_inc(struct pcounter *pc)
{
	pcounter_add(pc, 1);
}

/* Sum of the slots (see the file comment for races).  Never blocks; any thread. */
uint64_t pcounter_read(const struct pcounter *pc);

#endif /* SMPNET_KERN_PCPU_H */
