/*
 * arp.h - ARP (RFC 826) in a per-interface neighbour cache holding ready Ethernet
 * headers.
 *
 * Each Ethernet interface with IPv4 has one cache (struct arp_cache) of entries keyed
 * by the neighbour's IPv4 address.  A resolved entry holds the complete 14-byte header
 * (neighbour MAC, our MAC, type IPv4), so output on a hit is one lockless RCU lookup
 * and a 14-byte copy in front of the packet (ether_output_frame).  The routing table
 * never holds link-layer state: routes point to nexthops (net/nhop.h) whose gateway (or
 * the destination itself, on-link) is looked up here.
 *
 * States: INCOMPLETE (request sent, packets held in a bounded queue), REACHABLE (a reply
 * or request from the neighbour was seen recently), STALE (still used for output; when
 * its time runs out an entry used since goes to PROBE, an unused one is deleted), PROBE
 * (unicast requests are retransmitted; the entry is deleted if none is answered).
 */
#ifndef SMPNET_NETINET_ARP_H
#define SMPNET_NETINET_ARP_H

#include <stdint.h>

struct arp_cache;
struct inet;
struct ifnet;
struct mbuf;

enum { ARP_INCOMPLETE = 0, ARP_REACHABLE = 1, ARP_STALE = 2, ARP_PROBE = 3 };

/*
 * Create ifp's cache.  NULL + errno (ENOMEM).  Control thread; may block.
 */
struct arp_cache *arp_cache_create(struct inet *in, struct ifnet *ifp);

/*
 * Stop the cache's timer and free every entry (held packets are dropped) after a grace
 * period.  No output may start on the cache any more (the caller unpublished it and
 * waited for a grace period).  Control thread; may block; not inside a read section.
 */
void arp_cache_destroy(struct arp_cache *ac);

/*
 * Send m (an IPv4 datagram, data at the IP header) to neighbour nh (host order): with a
 * resolved entry, prepend its header and transmit; otherwise hold m on the entry
 * (created INCOMPLETE, a broadcast request sent) until the reply.  Consumes m.  0 (sent
 * or held), -ENOBUFS (hold queue full or no memory: dropped, counted), or the
 * interface's error.  Any thread, inside a psz read section; never blocks (a miss takes
 * the cache's lock briefly).
 */
int arp_output(struct arp_cache *ac, uint32_t nh, struct mbuf *m);

/* The ETHERTYPE_ARP handler (arg: struct inet).  Consumes m; read section. */
void arp_input(struct ifnet *ifp, struct mbuf *m, void *arg);

/* Broadcast a gratuitous request for addr (host order).  Any thread; read section. */
void arp_announce(struct arp_cache *ac, uint32_t addr);

/* Remove the entry for addr: 0 or -ENOENT.  Control thread; may block briefly. */
int arp_delete(struct arp_cache *ac, uint32_t addr);

/* One entry as arp_list() reports it. */
struct arp_entry_info {
	uint32_t	ae_addr;	/* host order */
	uint8_t		ae_mac[6];	/* zero while incomplete */
	int		ae_state;	/* ARP_* */
	int		ae_nhold;	/* packets held */
	int		ae_asked;	/* requests sent in the current state */
};

/*
 * Call fn for each entry under the cache's lock (fn must not call into the cache) until
 * it returns non-zero (returned).  Returns 0 after the last entry.  Control thread.
 */
int arp_list(struct arp_cache *ac, int (*fn)(const struct arp_entry_info *e, void *arg),
    void *arg);

/* The state names ("incomplete", ...). */
const char *arp_state_name(int state);

#endif /* SMPNET_NETINET_ARP_H */
