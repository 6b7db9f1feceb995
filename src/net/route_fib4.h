/*
 * route_fib4.h - the IPv4 forwarding table: a DIR-24-8 array derived from the routing
 * table's Patricia tree, giving the nexthop index of any address in one or two loads.
 *
 * The Patricia tree (route.c) stays the source of truth; every route change is applied
 * to this table incrementally by the routing table's writer, and readers look it up
 * locklessly.  See route_fib4.c for the encoding, the update rules and their cost.
 */
#ifndef SMPNET_NET_ROUTE_FIB4_H
#define SMPNET_NET_ROUTE_FIB4_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "kern/psz.h"

/*
 * Order of the lookup-path loads (FIB entries, the nexthop index array): consume, i.e.
 * ordering by address dependency as rcu_dereference() does: each load's address comes
 * from the previous load's value, which orders it after the writer's release store on
 * every CPU Linux supports; a relaxed load lets the compiler keep loop-invariant
 * pointers in registers (acquire, as compilers implement consume, would reload them on
 * every lookup).  ThreadSanitizer does not model dependencies: there, acquire.
 */
#ifdef PSZ_TSAN
#define RT_CONSUME	memory_order_acquire
#else
#define RT_CONSUME	memory_order_relaxed
#endif

#define FIB4_EXT	0x80000000u	/* tbl24 entry points to a tbl8 group */
#define FIB4_NHMASK	0x00ffffffu	/* nexthop index + 1; 0 = no route */
#define FIB4_DSHIFT	24		/* depth (prefix length 0..32) in bits 24..29 */
_Static_assert(sizeof(_Atomic uint32_t) == 4, "one load per entry");
#define FIB4_NONE	UINT32_MAX	/* lookup result: no route */

struct fib4 {
	_Atomic uint32_t *f_tbl24;	/* [R] 2^24 entries, by the top 24 address bits */
	_Atomic uint32_t *f_tbl8;	/* [R] f_ngroups groups of 256 entries */
	uint32_t	  f_ngroups;	/* [I] */
	uint32_t	 *f_cnt;	/* [W] per group: prefixes longer than /24 in it */
	uint32_t	 *f_free;	/* [W] free group stack */
	uint32_t	  f_nfree;	/* [W] */
	uint32_t	 *f_limbo;	/* [W] groups freed, waiting for a grace period */
	uint32_t	  f_nlimbo;	/* [W] */
	uint32_t	  f_inuse;	/* [W] groups in use (statistics) */
};

/* Allocate an empty FIB with ngroups tbl8 groups (0: 65536).  0, -EINVAL or -ENOMEM. */
int fib4_init(struct fib4 *f, uint32_t ngroups);
void fib4_fini(struct fib4 *f);

/*
 * Route (pfx/len, host byte order, bits past len zero) now leads to nexthop index nh:
 * every address whose longest covering route is no longer than len takes it.  isnew:
 * the route did not exist before (counts /25../32 routes per group).  Writer context
 * (the routing table's lock).  May block (a grace period, when tbl8 groups run out
 * and some wait for reuse); must not be called inside a read section.
 * Returns 0 or -ENOSPC (no tbl8 group left).
 */
int fib4_set(struct fib4 *f, uint32_t pfx, unsigned len, uint32_t nh, int isnew);

/*
 * Route pfx/len was removed; its addresses fall back to the covering route
 * (parent_len, nexthop parent_nh) or to no route if parent_nh == FIB4_NONE.
 * Writer context.  Never blocks.
 */
void fib4_clear(struct fib4 *f, uint32_t pfx, unsigned len, uint32_t parent_nh,
    unsigned parent_len);

/* Nexthop index for address (host byte order), or FIB4_NONE.  Reader context. */
static inline uint32_t
fib4_lookup(const struct fib4 *f, uint32_t addr)
{
	/* Consume: pairs with the release that publishes a filled tbl8 group. */
	uint32_t e = atomic_load_explicit(&f->f_tbl24[addr >> 8], RT_CONSUME);

	if (__builtin_expect((e & FIB4_EXT) != 0, 0))
		/* Its address depends on e: ordered after the group was filled. */
		e = atomic_load_explicit(&f->f_tbl8[((e & FIB4_NHMASK) << 8) | (addr & 0xff)],
		    RT_CONSUME);
	return (e & FIB4_NHMASK) - 1;	/* 0 - 1 == FIB4_NONE */
}

/* Bytes of memory the FIB touches (tbl24 + groups in use). */
size_t fib4_memory(const struct fib4 *f);

#endif /* SMPNET_NET_ROUTE_FIB4_H */
