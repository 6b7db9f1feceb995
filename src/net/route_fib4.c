/*
 * route_fib4.c - DIR-24-8 IPv4 forwarding table with lockless readers (see route_fib4.h).
 *
 * Layout (after Gupta, Lin, McKeown, "Routing lookups in hardware at memory access
 * speeds", 1998, the scheme DPDK's rte_lpm also uses).  tbl24 has one 32-bit entry per
 * /24; an entry either holds a result, or (FIB4_EXT) names a tbl8 group of 256 entries,
 * one per address of that /24.  A result entry holds the nexthop index + 1 (0 = no
 * route) and the depth: the length of the route that wrote it.  A lookup is one load,
 * or two for the /24s that contain longer routes.
 *
 * Update rules (applied by the routing table's writer after it changed its Patricia
 * tree, which answers "which route covers this prefix" for us):
 *  - set(pfx/len, nh): every entry in the prefix's range whose depth <= len (or that
 *    holds no route) takes (nh, len); entries written by longer routes stay.  A route
 *    longer than /24 first gives its /24 a tbl8 group filled with the tbl24 entry, then
 *    publishes it (release store of the EXT entry).
 *  - clear(pfx/len): entries in the range with depth == len (exactly this route's)
 *    take the parent route's (nh, depth), or no route.  When a group loses its last
 *    route longer than /24, all its entries are equal; tbl24 takes that value and the
 *    group waits in limbo for a grace period before it is reused.
 * Each entry changes with a single atomic store, so a reader sees, per address, the
 * result before or after the update, never a mix.  Cost: a route of length l <= 24
 * writes 2^(24-l) tbl24 entries (plus 256 per group inside); longer ones 2^(32-l).
 *
 * Memory: tbl24 is 64 MiB of virtual memory, pages touched as routes cover them; tbl8
 * groups are 1 KiB each, preallocated virtually, touched when first used (low groups
 * first).  Both arrays are anonymous mappings aligned to 2 MiB and advised
 * MADV_HUGEPAGE: a random lookup touches any of tbl24's 16384 4-KiB pages, so with small
 * pages nearly every lookup of a large table also misses the TLB; with transparent huge
 * pages (when the system grants them) 32 TLB entries cover the whole tbl24.  The cost:
 * a table that touches one entry of a 2 MiB region holds the whole region resident.
 */
#include "net/route_fib4.h"
#include "kern/psz.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define TBL24_SIZE	(1u << 24)
#define FIB4_HUGE	((size_t)2 << 20)	/* transparent huge page size (x86-64, arm64 4K) */

/* Bytes of a huge-page-backed array of n bytes (whole huge pages). */
static size_t
huge_len(size_t n)
{
	return (n + FIB4_HUGE - 1) & ~(FIB4_HUGE - 1);
}

/*
 * Zeroed memory for n bytes, 2 MiB aligned, advised for transparent huge pages (advice
 * only: without THP it is ordinary 4 KiB pages).  NULL with errno ENOMEM.
 */
static void *
huge_alloc(size_t n)
{
	size_t len = huge_len(n), map = len + FIB4_HUGE;
	char *p = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;

	if (p == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)p + FIB4_HUGE - 1) & ~(uintptr_t)(FIB4_HUGE - 1);
	if (a != (uintptr_t)p)
		munmap(p, a - (uintptr_t)p);
	if ((uintptr_t)p + map != a + len)
		munmap((char *)a + len, (uintptr_t)p + map - (a + len));
	(void)madvise((void *)a, len, MADV_HUGEPAGE);	/* EINVAL without THP: keep 4 KiB */
	return (void *)a;
}

static void
huge_free(void *p, size_t n)
{
	if (p != NULL)
		munmap(p, huge_len(n));
}

static size_t
tbl8_bytes(uint32_t ngroups)
{
	return (size_t)ngroups * 256 * sizeof(uint32_t);
}

static inline uint32_t
ent_make(uint32_t nh, unsigned depth)
{
	return nh == FIB4_NONE ? 0 : ((nh + 1) & FIB4_NHMASK) | ((uint32_t)depth << FIB4_DSHIFT);
}

static inline unsigned
ent_depth(uint32_t e)
{
	return (e >> FIB4_DSHIFT) & 0x3f;
}

static inline uint32_t
ent_load(_Atomic uint32_t *p)
{
	/* Relaxed: only the writer (which wrote it) reads here. */
	return atomic_load_explicit(p, memory_order_relaxed);
}

static inline void
ent_store(_Atomic uint32_t *p, uint32_t v)
{
	/* Relaxed: a result entry carries no pointer that needs ordering. */
	atomic_store_explicit(p, v, memory_order_relaxed);
}

int
fib4_init(struct fib4 *f, uint32_t ngroups)
{
	if (ngroups == 0)
		ngroups = 65536;
	if (ngroups > (1u << 24))
		return -EINVAL;
	f->f_ngroups = ngroups;
	f->f_tbl24 = huge_alloc((size_t)TBL24_SIZE * sizeof(*f->f_tbl24));
	f->f_tbl8 = huge_alloc(tbl8_bytes(ngroups));
	f->f_cnt = calloc(ngroups, sizeof(*f->f_cnt));
	f->f_free = calloc(ngroups, sizeof(*f->f_free));
	f->f_limbo = calloc(ngroups, sizeof(*f->f_limbo));
	if (!f->f_tbl24 || !f->f_tbl8 || !f->f_cnt || !f->f_free || !f->f_limbo) {
		fib4_fini(f);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < ngroups; i++)
		f->f_free[i] = ngroups - 1 - i;	/* low groups first: fewer pages touched */
	f->f_nfree = ngroups;
	f->f_nlimbo = 0;
	f->f_inuse = 0;
	return 0;
}

void
fib4_fini(struct fib4 *f)
{
	huge_free((void *)f->f_tbl24, (size_t)TBL24_SIZE * sizeof(*f->f_tbl24));
	huge_free((void *)f->f_tbl8, tbl8_bytes(f->f_ngroups));
	free(f->f_cnt);
	free(f->f_free);
	free(f->f_limbo);
	f->f_tbl24 = f->f_tbl8 = NULL;
	f->f_cnt = f->f_free = f->f_limbo = NULL;
}

/* A free group; recycles the limbo after a grace period when none is left. */
static int
group_alloc(struct fib4 *f, uint32_t *gp)
{
	if (f->f_nfree == 0 && f->f_nlimbo > 0) {
		psz_synchronize();
		while (f->f_nlimbo > 0)
			f->f_free[f->f_nfree++] = f->f_limbo[--f->f_nlimbo];
	}
	if (f->f_nfree == 0)
		return -ENOSPC;
	*gp = f->f_free[--f->f_nfree];
	f->f_inuse++;
	return 0;
}

static inline int
should_set(uint32_t e, unsigned len)
{
	return (e & FIB4_NHMASK) == 0 || ent_depth(e) <= len;
}

static inline int
should_clear(uint32_t e, unsigned len)
{
	return (e & FIB4_NHMASK) != 0 && ent_depth(e) == len;
}

/* Apply set (clear == 0) or clear to n entries from p. */
static void
range_apply(_Atomic uint32_t *p, uint32_t n, unsigned len, uint32_t v, int clear)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t e = ent_load(&p[i]);

		if (clear ? should_clear(e, len) : should_set(e, len))
			ent_store(&p[i], v);
	}
}

/* Apply to the tbl24 range of a route no longer than /24 (and inside its groups). */
static void
apply24(struct fib4 *f, uint32_t pfx, unsigned len, uint32_t v, int clear)
{
	uint32_t first = pfx >> 8, n = 1u << (24 - len);

	for (uint32_t i = first; i < first + n; i++) {
		uint32_t e = ent_load(&f->f_tbl24[i]);

		if (e & FIB4_EXT)
			range_apply(&f->f_tbl8[(size_t)(e & FIB4_NHMASK) << 8], 256, len, v, clear);
		else if (clear ? should_clear(e, len) : should_set(e, len))
			ent_store(&f->f_tbl24[i], v);
	}
}

/* The group of pfx's /24, created from its tbl24 entry if needed. */
static int
group_of(struct fib4 *f, uint32_t pfx, uint32_t *gp)
{
	_Atomic uint32_t *t24 = &f->f_tbl24[pfx >> 8];
	uint32_t e = ent_load(t24), g;
	int rc;

	if (e & FIB4_EXT) {
		*gp = e & FIB4_NHMASK;
		return 0;
	}
	if ((rc = group_alloc(f, &g)) != 0)
		return rc;
	for (unsigned i = 0; i < 256; i++)
		ent_store(&f->f_tbl8[((size_t)g << 8) + i], e);
	f->f_cnt[g] = 0;
	/* Release: pairs with the acquire in fib4_lookup(); the group is filled. */
	atomic_store_explicit(t24, FIB4_EXT | g, memory_order_release);
	*gp = g;
	return 0;
}

int
fib4_set(struct fib4 *f, uint32_t pfx, unsigned len, uint32_t nh, int isnew)
{
	uint32_t v = ent_make(nh, len), g;
	int rc;

	if (len <= 24) {
		apply24(f, pfx, len, v, 0);
		return 0;
	}
	if ((rc = group_of(f, pfx, &g)) != 0)
		return rc;
	f->f_cnt[g] += isnew ? 1 : 0;
	range_apply(&f->f_tbl8[((size_t)g << 8) + (pfx & 0xff)], 1u << (32 - len), len, v, 0);
	return 0;
}

void
fib4_clear(struct fib4 *f, uint32_t pfx, unsigned len, uint32_t parent_nh,
    unsigned parent_len)
{
	uint32_t v = ent_make(parent_nh, parent_len), e, g;
	_Atomic uint32_t *t24 = &f->f_tbl24[pfx >> 8];

	if (len <= 24) {
		apply24(f, pfx, len, v, 1);
		return;
	}
	e = ent_load(t24);
	if (!(e & FIB4_EXT))
		return;
	g = e & FIB4_NHMASK;
	range_apply(&f->f_tbl8[((size_t)g << 8) + (pfx & 0xff)], 1u << (32 - len), len, v, 1);
	if (--f->f_cnt[g] == 0) {
		/* Every entry of the group now holds the same /24-or-shorter result. */
		ent_store(t24, ent_load(&f->f_tbl8[(size_t)g << 8]));
		f->f_limbo[f->f_nlimbo++] = g;
		f->f_inuse--;
	}
}

size_t
fib4_memory(const struct fib4 *f)
{
	return (size_t)TBL24_SIZE * sizeof(uint32_t) + (size_t)f->f_inuse * 256 * sizeof(uint32_t);
}
