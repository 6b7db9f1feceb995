/*
 * route_var.h - the routing table's layout, for route.c and the inline IPv4 fast path.
 * Only route.c may touch the fields; everyone else goes through route.h.
 */
#ifndef SMPNET_NET_ROUTE_VAR_H
#define SMPNET_NET_ROUTE_VAR_H

#include <arpa/inet.h>
#include <pthread.h>
#include <stdatomic.h>

#include "lib/ptree.h"
#include "net/nhop.h"
#include "net/route_fib4.h"

/* One route: an item of the tree, freed after a grace period. */
struct rt_entry {
	struct ptree_entry	re_pt;		/* [W rt_lock] tree linkage */
	_Atomic(struct nhop *)	re_nh;		/* [R] holds one reference */
	uint32_t		re_flags;	/* [W rt_lock] RTF_* */
	uint8_t			re_plen;	/* [I] */
	uint8_t			re_dst[16];	/* [I] prefix, host bits zero */
	struct psz_head		re_psz;		/* deferred free */
};

struct rt_table {
	struct fib4		rt_fib4;	/* [R] IPv4 only; written under rt_lock */
	struct nh_table		*rt_nt;		/* [I] the nexthops of this table */
	int			rt_af;		/* [I] AF_INET or AF_INET6 */
	unsigned		rt_alen;	/* [I] address bytes: 4 or 16 */
	pthread_mutex_t		rt_lock;	/* writer lock (see rt_lock_enter) */
	_Atomic unsigned long	rt_owner;	/* [a] thread holding rt_lock, for asserts */
	struct ptree		rt_tree;	/* [R] the routes; written under rt_lock */
};

static inline struct nhop *
rt_lookup4(const struct rt_table *rt, uint32_t dst)
{
	uint32_t idx = fib4_lookup(&rt->rt_fib4, ntohl(dst));

	return idx == FIB4_NONE ? NULL : nh_table_byidx(rt->rt_nt, idx);
}

#endif /* SMPNET_NET_ROUTE_VAR_H */
