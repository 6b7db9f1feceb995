/*
 * route.h - routing table of one address family (a vnet owns one per family).
 *
 * Routes are prefixes on the generic Patricia tree (lib/ptree.h) and point to shared
 * nexthop objects (net/nhop.h).  Lookups are lockless (inside a psz read section);
 * writers (add, delete, change) serialise on the table's writer lock.  The IPv4 table
 * also keeps a DIR-24-8 forwarding array (route_fib4.h) derived from the tree, so that
 * rt_lookup4() costs one or two loads; the IPv6 table a 24-8-8-... multibit trie
 * (route_fib6.h), four loads for a /48.  No ARP/ND state lives here.
 */
#ifndef SMPNET_NET_ROUTE_H
#define SMPNET_NET_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/nhop.h"

struct rt_table;

/* Route flags (ri_flags), kept for the owner; the table does not interpret them. */
#define RTF_STATIC	0x0001	/* added by configuration */
#define RTF_DYNAMIC	0x0002	/* added by a routing protocol or redirect */

/* A route as the control API sees it. */
struct rt_info {
	uint8_t		ri_dst[16];	/* prefix, network order (4 bytes for IPv4), host bits 0 */
	unsigned	ri_plen;	/* prefix length */
	struct nh_spec	ri_nh;		/* its nexthop */
	uint32_t	ri_flags;	/* RTF_* */
};

/*
 * Create an empty table for af (AF_INET or AF_INET6).  Returns NULL with errno EINVAL
 * or ENOMEM.  The writer lock registers its class ("rt_table") in k's lock statistics.
 * May block.
 */
struct kern;
struct rt_table *rt_table_create(struct kern *k, int af);

/*
 * Delete every route and free the table after the readers are gone.  May block (grace
 * periods); must not run inside a read section; no other call may use rt meanwhile.
 */
void rt_table_destroy(struct rt_table *rt);

/*
 * Control API.  dst is the prefix in network byte order (4 or 16 bytes); bits past plen
 * are ignored.  All take the writer lock (may block on it) and must not be called inside
 * a read section (rt_add may wait for a grace period to recycle FIB memory).
 *   rt_add:    0, -EEXIST (same prefix exists), -EINVAL (plen too long),
 *              -ENOSPC (no nexthop index or FIB group left), -ENOMEM.
 *   rt_delete: 0, -ESRCH (no such route), -EINVAL.
 *   rt_change: replace the nexthop (and flags) of an existing route: 0, -ESRCH,
 *              -EINVAL, -ENOSPC, -ENOMEM.
 *   rt_get:    copy the route with exactly this prefix to *out: 0, -ESRCH, -EINVAL.
 *   rt_list:   call fn for every route in prefix order under the writer lock until fn
 *              returns non-zero (returned); fn must not call back into this table.
 */
int rt_add(struct rt_table *rt, const void *dst, unsigned plen, const struct nh_spec *nh,
    uint32_t flags);
int rt_delete(struct rt_table *rt, const void *dst, unsigned plen);
int rt_change(struct rt_table *rt, const void *dst, unsigned plen, const struct nh_spec *nh,
    uint32_t flags);
int rt_get(struct rt_table *rt, const void *dst, unsigned plen, struct rt_info *out);
int rt_list(struct rt_table *rt, int (*fn)(const struct rt_info *ri, void *arg), void *arg);

/*
 * Lookups.  Reader context: call inside psz_read_enter()/psz_read_exit(); the nexthop
 * returned stays valid until the read section ends (nh_ref() to keep it longer).
 * Lockless, never block.  NULL: no route.
 *   rt_lookup:        longest-prefix match of a full address (4 or 16 bytes).
 *   rt_lookup4:       IPv4 fast path, dst in network byte order (rt must be AF_INET).
 *   rt_lookup6:       IPv6 fast path, 16 bytes (rt must be AF_INET6).
 *   rt_lookup4_burst: rt_lookup4 for n addresses (a receive burst) into out[].
 *   rt_lookup4_idx_burst: the same, giving nexthop indices (FIB4_NONE: no route), as
 *                     rte_lpm gives next-hop ids; rt_nhop_byidx() maps one to its nexthop.
 *   rt_lookup4_idx:   one address's nexthop index (rte_lpm_lookup's counterpart).
 *   rt_lookup_filter: longest matching route whose nexthop filter accepts (e.g. only
 *                     routes through one interface), through the tree.
 */
struct nhop *rt_lookup(const struct rt_table *rt, const void *dst);
static inline struct nhop *rt_lookup4(const struct rt_table *rt, uint32_t dst);
static inline struct nhop *rt_lookup6(const struct rt_table *rt, const uint8_t *dst);
static inline void rt_lookup4_burst(const struct rt_table *rt, const uint32_t *dst,
    struct nhop **out, unsigned n);
static inline void rt_lookup4_idx_burst(const struct rt_table *rt, const uint32_t *dst,
    uint32_t *idx, unsigned n);
static inline uint32_t rt_lookup4_idx(const struct rt_table *rt, uint32_t dst);
static inline struct nhop *rt_nhop_byidx(const struct rt_table *rt, uint32_t idx);
struct nhop *rt_lookup_filter(const struct rt_table *rt, const void *dst,
    bool (*filter)(const struct nhop *nh, void *arg), void *arg);

/* Number of routes; bytes used by routes, nexthops and the FIB.  Any context. */
size_t rt_count(const struct rt_table *rt);
size_t rt_memory(const struct rt_table *rt);

/* The table's nexthop table (for statistics and leak checks). */
struct nh_table *rt_nh_table(const struct rt_table *rt);

#include "net/route_var.h"	/* the inline fast path */

#endif /* SMPNET_NET_ROUTE_H */
