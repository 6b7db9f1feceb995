/*
 * if_dispatch.h - table-driven input dispatch: ethertype -> handler, IP protocol -> handler.
 *
 * Each vnet has one ethertype table and one 256-entry IP-protocol table per IP family
 * (IPv4, IPv6).  Domains fill them at attach time; the input path looks a handler up and
 * calls it: no switch statement on protocol numbers anywhere in the input path.
 *
 * Design: a handler registration is an immutable record {fn, arg}.  The IP-protocol table
 * is an array of 256 RCU-published record pointers; the ethertype table is an RCU-published
 * immutable array of records sorted by type (copy-on-write: registration is rare, a stack
 * has a handful of ethertypes, and a lookup is a short scan of one cache line or two).
 * Writers serialise on the vnet's writer lock and free replaced records after a grace
 * period (psz_defer).  Lookups are lockless: one acquire load (plus the short scan).
 *
 * Replacement is atomic: a lookup sees the old or the new record, never a mix.  After
 * dispatch_*_unregister() (or a replacing register) returns, no thread is still running
 * the old handler from this table (they wait for a grace period): a domain may free what
 * its handler uses.  They therefore may block: call them from control threads (domain
 * attach/detach, tests), never from a continuation nor inside a read section.
 *
 * Early input hook (lazy receive processing): one optional {fn, arg} record per vnet,
 * RCU-published like an IP-protocol entry.  if_input() offers it every received frame
 * (m at the link header) before the link layer's input; the hook either takes the frame
 * (early demultiplexing to a socket, or an early drop) or leaves it to the normal path.
 *
 * Counters (per-CPU): frames with an ethertype nobody handles, packets with an IP
 * protocol nobody handles; both are dropped (the mbuf freed) and counted.
 */
#ifndef SMPNET_NET_IF_DISPATCH_H
#define SMPNET_NET_IF_DISPATCH_H

#include <stdbool.h>
#include <stdint.h>

struct vnet;
struct ifnet;
struct mbuf;

/*
 * An ethertype handler.  Called with m's data at the first byte after the link header
 * (m_pkthdr.len covers the payload only), inside a psz read section, on the CPU of the
 * RX queue that received the frame (in a continuation, or in the caller's thread for a
 * synchronous input).  It consumes m (frees or passes it on).  It must not block.
 */
typedef void (*ether_handler_t)(struct ifnet *ifp, struct mbuf *m, void *arg);

/*
 * An IP-protocol handler.  Called with m's data at the IP header and off = the length
 * of the IP header (options / extension headers included), same context as above.
 * Consumes m.
 */
typedef void (*ipproto_handler_t)(struct ifnet *ifp, struct mbuf *m, int off, void *arg);

/*
 * An early input hook.  Called with m's data at the link header (nothing parsed, only
 * m_pkthdr.rcvif and flowid set), inside a psz read section, on the RX queue's CPU.
 * Returns true if it consumed m, false to leave m (untouched) to the link layer.  It
 * must not block and must be cheap: it runs at the receive poll's priority for every
 * frame.
 */
typedef bool (*early_handler_t)(struct ifnet *ifp, struct mbuf *m, void *arg);

/* IP families with a protocol table. */
enum { DISPATCH_INET = 0, DISPATCH_INET6 = 1, DISPATCH_NFAMILY = 2 };

/* Create / destroy a vnet's tables (vnet.c does this).  create: NULL + errno (ENOMEM). */
struct dispatch_tables *dispatch_create(struct vnet *v);
void dispatch_destroy(struct dispatch_tables *dt);	/* after a grace period */

/*
 * Register fn(arg) for ethertype type (host byte order), replacing any handler there.
 * 0, -ENOMEM, -EINVAL (fn NULL).  Takes the vnet's writer lock, waits for a grace period
 * if it replaced a handler.  May block; control threads only.
 */
int dispatch_ether_register(struct vnet *v, uint16_t type, ether_handler_t fn, void *arg);

/* Remove the handler for type.  0 or -ENOENT.  Same context; waits for a grace period. */
int dispatch_ether_unregister(struct vnet *v, uint16_t type);

/* Same for IP protocols of family (DISPATCH_INET / DISPATCH_INET6), proto 0..255. */
int dispatch_ipproto_register(struct vnet *v, int family, uint8_t proto,
    ipproto_handler_t fn, void *arg);
int dispatch_ipproto_unregister(struct vnet *v, int family, uint8_t proto);

/*
 * Input: find the handler and call it, or count and free m.  Return 0 if a handler took
 * m, -ENOENT if none did (m freed, counted as unknown).  Any thread; the caller need not
 * hold a read section (the call enters one).  Never blocks.
 */
int dispatch_ether_input(struct vnet *v, struct ifnet *ifp, uint16_t type, struct mbuf *m);
int dispatch_ipproto_input(struct vnet *v, int family, uint8_t proto, struct ifnet *ifp,
    struct mbuf *m, int off);

/*
 * Install fn(arg) as v's early input hook (replacing any), or remove it (fn NULL; 0 even
 * if none was there).  0 or -ENOMEM.  Same context as the registrations above: waits for
 * a grace period when it replaces or removes a hook.
 */
int dispatch_early_set(struct vnet *v, early_handler_t fn, void *arg);

/*
 * Offer m to v's early input hook: true if the hook consumed m, false if there is none or
 * it declined (m untouched).  Any thread (enters its own read section); never blocks.
 */
bool dispatch_early_input(struct vnet *v, struct ifnet *ifp, struct mbuf *m);

/* True if a handler is registered (for tests and the IPv4 code's "protocol unreachable"). */
bool dispatch_ipproto_registered(struct vnet *v, int family, uint8_t proto);

/* Totals of the drop counters (summed over CPUs). */
struct dispatch_stats {
	uint64_t	ds_ether_unknown;	/* frames with an unhandled ethertype */
	uint64_t	ds_ipproto_unknown[DISPATCH_NFAMILY];	/* packets, unhandled protocol */
};
void dispatch_stats(struct vnet *v, struct dispatch_stats *st);

#endif /* SMPNET_NET_IF_DISPATCH_H */
