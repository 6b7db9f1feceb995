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
	_Atomic(struct nhop *)	*rt_byidx;	/* [I] rt_nt->nt_byidx, one load closer */
	int			rt_af;		/* [I] AF_INET or AF_INET6 */
	unsigned		rt_alen;	/* [I] address bytes: 4 or 16 */
	struct kmutex		rt_lock;	/* class "rt_table": writer lock (rt_lock_enter) */
	struct ptree		rt_tree;	/* [R] the routes; written under rt_lock */
};

#define RT_BURST	32	/* rt_lookup4_burst's inner batch */

static inline struct nhop *
rt_lookup4(const struct rt_table *rt, uint32_t dst)
{
	uint32_t idx = fib4_lookup(&rt->rt_fib4, ntohl(dst));

	/* Consume: pairs with the release publication in nh_get(). */
	return idx == FIB4_NONE ? NULL : atomic_load_explicit(&rt->rt_byidx[idx], RT_CONSUME);
}

/*
 * IPv4 fast path for a burst: idx[i] = nexthop index of dst[i] (network order) or
 * FIB4_NONE.  Reader context.  Two passes, so that the burst's tbl24 loads (the cache
 * and TLB misses) are all independent and in flight together, none waiting behind a
 * mispredicted branch: first every tbl24 entry, then, only if one of them names a tbl8
 * group, the tbl8 entries.
 */
static inline void
rt_lookup4_idx_burst(const struct rt_table *rt, const uint32_t *dst, uint32_t *idx,
    unsigned n)
{
	_Atomic uint32_t *t24 = rt->rt_fib4.f_tbl24, *t8 = rt->rt_fib4.f_tbl8;
	uint32_t any = 0;

	for (unsigned i = 0; i < n; i++) {
		/* Consume (RT_CONSUME): as in fib4_lookup(). */
		idx[i] = atomic_load_explicit(&t24[ntohl(dst[i]) >> 8], RT_CONSUME);
		any |= idx[i];
	}
	if (__builtin_expect((any & FIB4_EXT) != 0, 0)) {
		/*
		 * Acquire fence: with the relaxed tbl24 loads above it pairs with the release
		 * store that published each group (group_of()), rather than relying on the
		 * address dependency surviving the round trip through idx[].  Free on x86.
		 */
		atomic_thread_fence(memory_order_acquire);
		for (unsigned i = 0; i < n; i++)
			if (idx[i] & FIB4_EXT)
				idx[i] = atomic_load_explicit(&t8[((idx[i] & FIB4_NHMASK) << 8) |
				    (ntohl(dst[i]) & 0xff)], memory_order_relaxed);
	}
	for (unsigned i = 0; i < n; i++)
		idx[i] = (idx[i] & FIB4_NHMASK) - 1;	/* 0 - 1 == FIB4_NONE */
}

/* The nexthop of an index from a lookup of rt, or NULL for FIB4_NONE.  Reader context. */
static inline struct nhop *
rt_nhop_byidx(const struct rt_table *rt, uint32_t idx)
{
	/* Consume: pairs with the release publication in nh_get(). */
	return idx == FIB4_NONE ? NULL : atomic_load_explicit(&rt->rt_byidx[idx], RT_CONSUME);
}

/*
 * IPv4 fast path for a burst: out[i] = nexthop of dst[i] (network order) or NULL.
 * Reader context.  rt_lookup4_idx_burst(), then one load per address from the
 * nexthop index array.
 */
static inline void
rt_lookup4_burst(const struct rt_table *rt, const uint32_t *dst, struct nhop **out,
    unsigned n)
{
	uint32_t idx[RT_BURST];

	for (unsigned b = 0; b < n; b += RT_BURST) {
		unsigned m = n - b < RT_BURST ? n - b : RT_BURST;

		rt_lookup4_idx_burst(rt, dst + b, idx, m);
		for (unsigned i = 0; i < m; i++)
			out[b + i] = rt_nhop_byidx(rt, idx[i]);
	}
}

static inline struct nhop *
rt_lookup6(const struct rt_table *rt, const uint8_t *dst)
{
	uint32_t idx = fib6_lookup(&rt->rt_fib6, dst);

	/* Consume: pairs with the release publication in nh_get(). */
	return idx == FIB6_NONE ? NULL : atomic_load_explicit(&rt->rt_byidx[idx], RT_CONSUME);
}

#endif /* SMPNET_NET_ROUTE_VAR_H */
