/*
 * arp_wire.h - ARP packet format for Ethernet/IPv4 (RFC 826), the only pairing smpnet
 * resolves.
 *
 * arp_parse() checks once that the buffer holds the 28-byte Ethernet/IPv4 packet and that
 * its hardware/protocol types and address lengths say so, and that the operation is a
 * request or a reply; accessors are then safe.  Trailing bytes (Ethernet padding) are
 * ignored.  Words: sha/spa = sender hardware/protocol address, tha/tpa = target's.
 */
#ifndef SMPNET_NETINET_ARP_WIRE_H
#define SMPNET_NETINET_ARP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "net/ether_wire.h"
#include "net/wire.h"

#define ARP_LEN		28
#define ARP_HRD_ETHER	1
#define ARP_OP_REQUEST	1
#define ARP_OP_REPLY	2

/* A parsed ARP packet.  Caller-owned; valid while its buffer is. */
struct arp_view {
	const uint8_t	*av_buf;
};
_Static_assert(sizeof(struct arp_view) <= 8, "a view stays a few words on the stack");

/*
 * Parse buf[0..len) as an Ethernet/IPv4 ARP packet.  Returns WIRE_OK, WIRE_TRUNCATED,
 * WIRE_BAD_HTYPE, WIRE_BAD_PTYPE, WIRE_BAD_ADDRLEN or WIRE_BAD_OP.  Pure; never blocks.
 */
enum wire_reason arp_parse(struct arp_view *v, const void *buf, size_t len);

static inline uint16_t
arp_op(const struct arp_view *v)
{
	return wire_get16(v->av_buf + 6);
}

static inline const uint8_t *
arp_sha(const struct arp_view *v)
{
	return v->av_buf + 8;
}

static inline uint32_t
arp_spa(const struct arp_view *v)
{
	return wire_get32(v->av_buf + 14);
}

static inline const uint8_t *
arp_tha(const struct arp_view *v)
{
	return v->av_buf + 18;
}

static inline uint32_t
arp_tpa(const struct arp_view *v)
{
	return wire_get32(v->av_buf + 24);
}

/* What arp_emit() writes. */
struct arp_fields {
	uint16_t	af_op;
	uint8_t		af_sha[ETHER_ADDR_LEN];
	uint32_t	af_spa;		/* host order */
	uint8_t		af_tha[ETHER_ADDR_LEN];
	uint32_t	af_tpa;		/* host order */
};

/* Write the packet at buf.  Returns ARP_LEN or -ENOSPC.  Never blocks. */
int arp_emit(void *buf, size_t len, const struct arp_fields *f);

#endif /* SMPNET_NETINET_ARP_WIRE_H */
