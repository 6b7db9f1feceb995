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

static inline struct nhop *
rt_lookup4(const struct rt_table *rt, uint32_t dst)
{
	uint32_t idx = fib4_lookup(&rt->rt_fib4, ntohl(dst));

	/* Consume: pairs with the release publication in nh_get(). */
	return idx == FIB4_NONE ? NULL : atomic_load_explicit(&rt->rt_byidx[idx], RT_CONSUME);
}

/*
 * IPv4 fast path for a burst: out[i] = nexthop of dst[i] (network order) or NULL.
 * Reader context.  The table's arrays are loaded once for the whole burst.
 */
static inline void
rt_lookup4_burst(const struct rt_table *rt, const uint32_t *dst, struct nhop **out,
    unsigned n)
{
	_Atomic uint32_t *t24 = rt->rt_fib4.f_tbl24, *t8 = rt->rt_fib4.f_tbl8;
	_Atomic(struct nhop *) *byidx = rt->rt_byidx;

	for (unsigned i = 0; i < n; i++) {
		uint32_t a = ntohl(dst[i]);
		/* Consume (RT_CONSUME): as in fib4_lookup(). */
		uint32_t e = atomic_load_explicit(&t24[a >> 8], RT_CONSUME);

		if (__builtin_expect((e & FIB4_EXT) != 0, 0))
			e = atomic_load_explicit(&t8[((e & FIB4_NHMASK) << 8) | (a & 0xff)],
			    RT_CONSUME);
		out[i] = (e & FIB4_NHMASK) == 0 ? NULL :
		    atomic_load_explicit(&byidx[(e & FIB4_NHMASK) - 1], RT_CONSUME);
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
