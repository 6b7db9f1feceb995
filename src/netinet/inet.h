/*
 * inet.h - the IPv4 domain: what other modules, tools and tests use.
 *
 * A vnet gets IPv4 with vnet_domain_attach(v, &inet_domain).  The attach creates the
 * vnet's IPv4 routing table, registers the IPv4 and ARP ethertype handlers and the ICMP
 * and IGMP protocol handlers, and the domain's settings (net.inet.*).  Each interface
 * attached while the domain is gets a per-interface record (addresses, neighbour cache,
 * multicast memberships).
 *
 * Addresses are in host byte order in this API.  Data-path calls (ip_output) run in any
 * thread and never block; control calls (addresses, routes, joins) run in control
 * threads and may block.
 */
#ifndef SMPNET_NETINET_INET_H
#define SMPNET_NETINET_INET_H

#include <stdbool.h>
#include <stdint.h>

#include "net/vnet.h"

struct ifnet;
struct mbuf;

extern const struct domain inet_domain;

#define INADDR_ANY_H		0x00000000u
#define INADDR_BROADCAST_H	0xffffffffu
#define INADDR_ALLHOSTS_H	0xe0000001u	/* 224.0.0.1 */
#define INADDR_ALLRTRS_H	0xe0000002u	/* 224.0.0.2 */
#define INADDR_ALLV3RTRS_H	0xe0000016u	/* 224.0.0.22 */

static inline bool
in_is_multicast(uint32_t a)
{
	return (a >> 28) == 0xe;
}

static inline bool
in_is_loopback(uint32_t a)
{
	return (a >> 24) == 127;
}

static inline uint32_t
in_plen_mask(unsigned plen)
{
	return plen == 0 ? 0 : 0xffffffffu << (32 - plen);
}

/*
 * Add addr/plen to ifp: publishes the address, adds the connected route (unless plen is
 * 32 or the prefix is already routed) and sends a gratuitous ARP.  0, -EINVAL (plen > 32,
 * a multicast/zero/broadcast address), -EEXIST (addr already on some interface of the
 * vnet), -EAFNOSUPPORT (inet not attached), -ENOMEM, or rt_add's error.  Control thread;
 * may block; no lock held, not inside a read section.
 */
int in_addr_add(struct ifnet *ifp, uint32_t addr, unsigned plen);

/* Remove addr from ifp (and its connected route if no other address needs it).  0,
 * -ENOENT, -EAFNOSUPPORT.  Same context. */
int in_addr_remove(struct ifnet *ifp, uint32_t addr);

/*
 * Routes.  in_route_add: dst/plen via gateway gw (0: on-link through ifp).  With a
 * gateway, ifp may be NULL: the interface of the connected route to gw is used.  0,
 * -ENETUNREACH (gw not on a connected network), -EINVAL, -EAFNOSUPPORT, or rt_add's
 * error.  in_route_delete: 0, -ESRCH.  Control thread; may block.
 */
int in_route_add(struct vnet *v, uint32_t dst, unsigned plen, uint32_t gw,
    struct ifnet *ifp);
int in_route_delete(struct vnet *v, uint32_t dst, unsigned plen);

/* Output arguments.  ipo_src 0: the address of the outgoing interface. */
struct ip_oargs {
	uint32_t	 ipo_src;
	uint32_t	 ipo_dst;
	uint8_t		 ipo_proto;
	uint8_t		 ipo_ttl;	/* 0: net.inet.ip.ttl */
	uint8_t		 ipo_tos;
	bool		 ipo_df;
	struct ifnet	*ipo_ifp;	/* multicast / limited broadcast: the interface */
	const uint8_t	*ipo_opts;	/* options (a multiple of 4 bytes, at most 40) or NULL */
	uint8_t		 ipo_optlen;
};

/*
 * Send m (the transport payload, a packet with M_PKTHDR) to a->ipo_dst: the header is
 * prepended, the route looked up, the datagram fragmented if needed and handed to the
 * neighbour cache.  Consumes m.  0 (sent or queued for resolution), -EHOSTUNREACH /
 * -ENETUNREACH (no route, reject route), -EMSGSIZE (DF and larger than the MTU, or
 * larger than 65535), -EADDRNOTAVAIL (no source address), -ENOBUFS, -EAFNOSUPPORT, or
 * the interface's error.  Any thread; never blocks; enters its own read section.
 */
int ip_output(struct vnet *v, struct mbuf *m, const struct ip_oargs *a);

/*
 * Multicast membership of ifp, refcounted: the first join adds the group to the
 * Ethernet filter and sends an unsolicited IGMP report, the last leave sends a leave
 * (v2) or a state change (v3) and removes the filter entry.  0, -EINVAL (not a
 * multicast group), -ENOENT (leave without join), -ENOMEM, -EAFNOSUPPORT.  Control
 * thread; may block.
 */
int in_multi_join(struct ifnet *ifp, uint32_t group);
int in_multi_leave(struct ifnet *ifp, uint32_t group);
/* True if ifp has joined group.  Data path: inside a psz read section. */
bool in_multi_member(struct ifnet *ifp, uint32_t group);

/* Counters (summed over CPUs): call cb(name, value) for each; any thread. */
void inet_stats_foreach(struct vnet *v, void (*cb)(const char *name, uint64_t value,
    void *arg), void *arg);
/* One counter by name, or UINT64_MAX when unknown. */
uint64_t inet_stat(struct vnet *v, const char *name);

#endif /* SMPNET_NETINET_INET_H */
