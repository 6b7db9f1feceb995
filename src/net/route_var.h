/*
 * route_var.h - the routing table's layout, for route.c and the inline IPv4 fast path.
 * Only route.c may touch the fields; everyone else goes through route.h.
 */
#ifndef SMPNET_NET_ROUTE_VAR_H
#define SMPNET_NET_ROUTE_VAR_H

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "kern/klock.h"
#include "lib/ptree.h"
#include "net/nhop.h"
#include "net/route_fib4.h"
#include "net/route_fib6.h"

/* One route: an item of the tree, freed after a grace period. */
struct rt_entry {
	struct ptree_entry	re_pt;		/* [W rt_lock] tree linkage */
	_Atomic(struct nhop *)	re_nh;		/* [R] holds one reference */
	uint32_t		re_flags;	/* [W rt_lock] RTF_* */
	uint8_t			re_plen;	/* [I] */
	uint8_t			re_dst[16];	/* [I] prefix, host bits zero */
	struct psz_head		re_psz;		/* deferred free */
};

_Static_assert(offsetof(struct rt_entry, re_pt) == 0, "tree linkage first");

struct rt_table {
	struct fib4		rt_fib4;	/* [R] IPv4 only; written under rt_lock */
	struct fib6		rt_fib6;	/* [R] IPv6 only; written under rt_lock */
	struct nh_table		*rt_nt;		/* [I] the nexthops of this table */
	_Atomic(struct nhop *)	*rt_byidx1;	/* [I] rt_nt->nt_byidx0, one load closer:
						 * [idx + 1] -> nexthop, [0] NULL */
	int			rt_af;		/* [I] AF_INET or AF_INET6 */
	unsigned		rt_alen;	/* [I] address bytes: 4 or 16 */
	struct kmutex		rt_lock;	/* class "rt_table": writer lock (rt_lock_enter) */
	struct ptree		rt_tree;	/* [R] the routes; written under rt_lock */
};

/*
 * The nexthop of an index from a lookup of rt, or NULL for FIB4_NONE / FIB6_NONE
 * (UINT32_MAX: idx + 1 wraps to the slot that stays NULL, so no branch).  Reader context.
 */
static inline struct nhop *
rt_nhop_byidx(const struct rt_table *rt, uint32_t idx)
{
	_Static_assert(FIB4_NONE == UINT32_MAX && FIB6_NONE == UINT32_MAX, "none + 1 == 0");
	/* Consume: pairs with the release publication in nh_get(). */
	return atomic_load_explicit(&rt->rt_byidx1[(uint32_t)(idx + 1)], RT_CONSUME);
}

static inline struct nhop *
rt_lookup4(const struct rt_table *rt, uint32_t dst)
{
	return rt_nhop_byidx(rt, fib4_lookup(&rt->rt_fib4, ntohl(dst)));
}

/*
 * IPv4 fast path for a burst: idx[i] = nexthop index of dst[i] (network order) or
 * FIB4_NONE.  Reader context.  One pass of fib4_lookup(): a two-pass variant (every
 * tbl24 load of the burst first, then the tbl8 ones) measured no faster, on random or
 * trace destinations; the CPU already overlaps the independent tbl24 misses.
 */
static inline void
rt_lookup4_idx_burst(const struct rt_table *rt, const uint32_t *dst, uint32_t *idx,
    unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		idx[i] = fib4_lookup(&rt->rt_fib4, ntohl(dst[i]));
}

/* One address (network order): its nexthop index, FIB4_NONE if no route.  Reader context. */
static inline uint32_t
rt_lookup4_idx(const struct rt_table *rt, uint32_t dst)
{
	return fib4_lookup(&rt->rt_fib4, ntohl(dst));
}

/*
 * IPv4 fast path for a burst: out[i] = nexthop of dst[i] (network order) or NULL.
 * Reader context.  rt_lookup4() per address: no branch on "no route" (see
 * rt_nhop_byidx()).
 */
static inline void
rt_lookup4_burst(const struct rt_table *rt, const uint32_t *dst, struct nhop **out,
    unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		out[i] = rt_lookup4(rt, dst[i]);
}

static inline struct nhop *
rt_lookup6(const struct rt_table *rt, const uint8_t *dst)
{
	return rt_nhop_byidx(rt, fib6_lookup(&rt->rt_fib6, dst));
}

#endif /* SMPNET_NET_ROUTE_VAR_H */
