/*
 * if_pcpu.h - grouped per-CPU counters for interfaces, RX/TX queues, dispatch tables and
 * drivers, built on the kern's per-CPU storage (kern/pcpu.h).
 *
 * An array is a pcpu_alloc() array of struct if_pcpu: slot i belongs to CPU thread i of
 * the kern, the last slot is shared by every other thread.  Each slot holds a group of
 * up to 16 counters in two cache lines, and a cell is bumped with pcpu_cell_add()
 * (relaxed load+store by the owning CPU, relaxed fetch_add on the shared slot).  Readers
 * sum one counter over the slots with relaxed loads: a snapshot, exact once writers are
 * quiescent.
 *
 * Why not one struct pcounter per counter: a packet bumps two counters of one group
 * (packets and bytes) that share a cache line here but would sit on two lines as two
 * pcounters (a pcounter is one counter per line per CPU), and an interface with 4+4
 * queues would need 9 x 12 pcounters = 108 lines per CPU instead of 18.  The grouped
 * layout keeps the pcounter rules (same slots, same update and read protocol) and its
 * code; only the grouping differs.  docs/locking.md gives the measurement.
 */
#ifndef SMPNET_NET_IF_PCPU_H
#define SMPNET_NET_IF_PCPU_H

#include <stdatomic.h>
#include <stdint.h>

#include "kern/kern.h"
#include "kern/pcpu.h"
#include "net/if_var.h"

/* A zeroed array of kern_ncpu(k) + 1 groups.  NULL + errno (ENOMEM).  May block. */
static inline struct if_pcpu *
if_pcpu_alloc(const struct kern *k)
{
	return pcpu_alloc(k, sizeof(struct if_pcpu));
}

static inline void
if_pcpu_free(struct if_pcpu *a)
{
	pcpu_free(a);
}

/* Add n to counter c of the caller's slot.  Never blocks; any thread. */
static inline void
if_pcpu_add(struct if_pcpu *a, const struct kern *k, int ncpu, int c, uint64_t n)
{
	int slot = kcpu_slot(k, ncpu);

	pcpu_cell_add(&a[slot].c[c], n, slot == ncpu);
}

/* Sum of counter c over the ncpu + 1 slots.  Never blocks; any thread. */
static inline uint64_t
if_pcpu_sum(const struct if_pcpu *a, int ncpu, int c)
{
	uint64_t s = 0;

	for (int i = 0; i <= ncpu; i++)
		s += atomic_load_explicit(&a[i].c[c], memory_order_relaxed);
	return s;
}

#endif /* SMPNET_NET_IF_PCPU_H */
