/*
 * ether.h - the Ethernet link layer: input filter + dispatch, output of ready headers.
 *
 * Input (ether_input): one length check (a frame shorter than the 14-byte header is a
 * runt: counted, dropped); destination filter (our address, broadcast, a multicast
 * address in the interface's filter or IFF_ALLMULTI, anything under IFF_PROMISC; others
 * counted as filtered and dropped; link broadcast/multicast frames get M_BCAST/M_MCAST);
 * the header is stripped and the frame is dispatched by ethertype through the vnet's
 * table (if_dispatch.h): an unknown type is counted (ifnet "noproto" and the vnet's
 * dispatch counter) and dropped.  The header is parsed by ether_parse (the packet
 * formats, ether_wire.h): a priority-tagged 802.1Q frame (VLAN id 0) is untagged (the TCI
 * goes to m_pkthdr.ether_vtag with M_VLANTAG) and dispatched by its inner type; a frame
 * tagged with another VLAN id is dispatched as ETHERTYPE_VLAN with only the 14-byte
 * header stripped (a VLAN domain may register that type).
 *
 * Output: the neighbour caches hold READY 14-byte headers (destination, source, type),
 * so output is "prepend these 14 bytes and transmit" (ether_output_frame).
 * ether_output builds the header from its parts for callers without a cache entry
 * (ARP requests, broadcasts, tests).
 *
 * Addresses are 6 bytes in wire order; types are host byte order in the API.
 */
#ifndef SMPNET_NET_ETHER_H
#define SMPNET_NET_ETHER_H

#include <net/ethernet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct ifnet;
struct mbuf;

/*
 * ETHER_ADDR_LEN (6), ETHER_HDR_LEN (14), ETHERTYPE_IP/ARP/VLAN/IPV6 come from the
 * system's <net/ethernet.h>, so this header and the packet formats (ether_wire.h) can be
 * included together.
 */
#ifndef ETHER_VLAN_ENCAP_LEN
#define ETHER_VLAN_ENCAP_LEN	4
#endif
#define ETHERTYPE_SMPNET_TEST	0x88b5	/* IEEE "local experimental 1": tests only */

extern const uint8_t ether_broadcast_addr[ETHER_ADDR_LEN];

static inline bool
ether_is_multicast(const uint8_t a[ETHER_ADDR_LEN])
{
	return (a[0] & 1) != 0;		/* broadcast is a multicast address too */
}

static inline bool
ether_is_broadcast(const uint8_t a[ETHER_ADDR_LEN])
{
	return (a[0] & a[1] & a[2] & a[3] & a[4] & a[5]) == 0xff;
}

/* Build a 14-byte header (type in host byte order) into hdr. */
static inline void
ether_header_build(uint8_t hdr[ETHER_HDR_LEN], const uint8_t dst[ETHER_ADDR_LEN],
    const uint8_t src[ETHER_ADDR_LEN], uint16_t type)
{
	memcpy(hdr, dst, ETHER_ADDR_LEN);
	memcpy(hdr + ETHER_ADDR_LEN, src, ETHER_ADDR_LEN);
	hdr[12] = (uint8_t)(type >> 8);
	hdr[13] = (uint8_t)type;
}

/* The multicast MAC of an IPv4 group (host byte order): 01:00:5e + low 23 bits. */
static inline void
ether_multicast_ip4(uint32_t group, uint8_t mac[ETHER_ADDR_LEN])
{
	mac[0] = 0x01; mac[1] = 0x00; mac[2] = 0x5e;
	mac[3] = (uint8_t)((group >> 16) & 0x7f);
	mac[4] = (uint8_t)(group >> 8);
	mac[5] = (uint8_t)group;
}

/*
 * Link-layer input of an Ethernet interface (its ifnet's if_input).  m's data starts at
 * the Ethernet header.  Consumes m.  Runs in an RX queue's poll continuation (or any
 * thread) inside a psz read section; never blocks.
 */
void ether_input(struct ifnet *ifp, struct mbuf *m);

/*
 * Prepend a ready header and transmit (if_transmit).  Consumes m (also on error).
 * Returns 0 or if_transmit's negative errno, or -ENOBUFS (no room for the header and no
 * mbuf to put it in: dropped, counted as an output error).  Any thread inside a psz read
 * section; never blocks.
 */
int ether_output_frame(struct ifnet *ifp, struct mbuf *m, const uint8_t hdr[ETHER_HDR_LEN]);

/* Same, with the header built from dst, the interface's address and type. */
int ether_output(struct ifnet *ifp, struct mbuf *m, const uint8_t dst[ETHER_ADDR_LEN],
    uint16_t type);

#endif /* SMPNET_NET_ETHER_H */
