/*
 * pcpu.c - per-CPU arrays and counters (see pcpu.h).
 */
#include "kern/pcpu.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void *
pcpu_alloc(const struct kern *k, size_t size)
{
	size_t stride = (size + CACHE_LINE - 1) & ~(size_t)(CACHE_LINE - 1);
	size_t len = stride * (size_t)(kern_ncpu(k) + 1);
	void *p = aligned_alloc(CACHE_LINE, len);

	if (p == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	memset(p, 0, len);
	return p;
}

void
pcpu_free(void *base)
{
	free(base);
}

int
pcounter_init(struct pcounter *pc, const struct kern *k)
{
	pc->pc_kern = k;
	pc->pc_ncpu = kern_ncpu(k);
	pc->pc_slots = pcpu_alloc(k, sizeof(struct pcounter_slot));
	return pc->pc_slots != NULL ? 0 : -ENOMEM;
}

void
pcounter_fini(struct pcounter *pc)
{
	pcpu_free(pc->pc_slots);
	pc->pc_slots = NULL;
}

uint64_t
pcounter_read(const struct pcounter *pc)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i <= pc->pc_ncpu; i++)
		sum += atomic_load_explicit(&pc->pc_slots[i].pcs_v, memory_order_relaxed);
	return sum;
}
