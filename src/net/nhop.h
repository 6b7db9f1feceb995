/*
 * nhop.h - nexthop objects: where a route sends a packet (interface, gateway, MTU,
 * flags), kept apart from the routing table.
 *
 * A nexthop table (one per routing table, i.e. per address family per vnet) holds the
 * nexthops its routes use.  Nexthops are immutable once created, shared and
 * deduplicated (two routes with the same interface, gateway, MTU and flags point to the
 * same object), reference counted by the routes, and freed after a grace period when
 * the last reference goes.  Each nexthop has a small index, stable for its lifetime, so
 * that compact lookup structures (the IPv4 FIB) store 24-bit indices rather than
 * pointers; nh_table_byidx() maps an index back inside a read section.  Neighbour
 * (ARP/ND) state is not here: it belongs to the interface's neighbour caches.
 */
#ifndef SMPNET_NET_NHOP_H
#define SMPNET_NET_NHOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kern/klock.h"
#include "kern/psz.h"

struct ifnet;			/* opaque here; the interface module defines it */

/* Nexthop flags. */
#define NHF_GATEWAY	0x0001	/* nh_gw is the next router; else the destination is on-link */
#define NHF_REJECT	0x0002	/* drop and answer unreachable */
#define NHF_BLACKHOLE	0x0004	/* drop silently */
#define NHF_LOCAL	0x0008	/* the destination is this host */

#define NH_MAXIDX	((1u << 24) - 2)	/* indices fit the FIB's 24-bit field */

/* What a nexthop is; the key for deduplication. */
struct nh_spec {
	struct ifnet	*ns_ifp;	/* outgoing interface (may be NULL for reject) */
	uint32_t	 ns_ifindex;	/* its index */
	uint32_t	 ns_mtu;	/* path MTU; 0 = the interface's */
	uint32_t	 ns_flags;	/* NHF_* */
	uint8_t		 ns_gw[16];	/* gateway address (4 bytes used for IPv4) */
};

struct nhop {
	struct nh_spec	 nh_spec;	/* [I] */
	uint32_t	 nh_idx;	/* [I] index in its table */
	int		 nh_af;		/* [I] AF_INET or AF_INET6 */
	_Atomic uint32_t nh_refcnt;	/* [a] references (routes, users) */
	struct nh_table	*nh_table;	/* [I] */
	struct nhop	*nh_hnext;	/* [W nt_lock] hash chain */
	struct psz_head	 nh_psz;	/* deferred free */
};

struct nh_table {
	struct kmutex	 nt_lock;	/* "nhop_table": hash chains, index allocation */
	int		 nt_af;		/* [I] */
	unsigned	 nt_nbucket;	/* [I] power of two */
	struct nhop	**nt_hash;	/* [W] dedup hash */
	_Atomic(struct nhop *) *nt_byidx; /* [R] index -> nexthop, nt_cap slots */
	_Atomic(struct nhop *) *nt_byidx0; /* [I] the allocation: a slot that stays NULL,
					    * then nt_byidx (index + 1 -> nexthop) */
	uint32_t	 nt_cap;	/* [I] */
	uint32_t	*nt_freeidx;	/* [W] stack of free indices */
	uint32_t	 nt_nfree;	/* [W] */
	_Atomic uint32_t nt_count;	/* [a] live nexthops (statistics, leak checks) */
};

/*
 * Create a nexthop table for af with room for cap nexthops (0: 65536).  Returns NULL
 * with errno EINVAL (bad af or cap > NH_MAXIDX + 1) or ENOMEM.  The writer lock
 * registers its class ("nhop_table") in k.  May block.
 */
struct nh_table *nh_table_create(struct kern *k, int af, uint32_t cap);

/*
 * Free the table.  Every nexthop must have been released; waits for pending deferred
 * frees (psz_barrier), so it may block and must not run inside a read section.
 */
void nh_table_destroy(struct nh_table *nt);

/*
 * The nexthop equal to spec, created if needed, with one more reference.  Returns NULL
 * with errno ENOSPC (table full) or ENOMEM.  Takes nt_lock; may block on it; callable
 * inside a read section.
 */
struct nhop *nh_get(struct nh_table *nt, const struct nh_spec *spec);

/* Take one more reference to a nexthop the caller holds or sees in a read section. */
void nh_ref(struct nhop *nh);

/*
 * Drop a reference.  The last one unlinks the nexthop and frees it after a grace period
 * (its index is reused only after that).  May take nt_lock.  Never waits for a grace
 * period.
 */
void nh_unref(struct nhop *nh);

/* Nexthop with index idx, or NULL.  Reader context (psz read section); lockless. */
static inline struct nhop *
nh_table_byidx(const struct nh_table *nt, uint32_t idx)
{
	/* Acquire: pairs with the release publication in nh_get(). */
	return atomic_load_explicit(&nt->nt_byidx[idx], memory_order_acquire);
}

/* Number of live nexthops. */
uint32_t nh_table_count(const struct nh_table *nt);

#endif /* SMPNET_NET_NHOP_H */
