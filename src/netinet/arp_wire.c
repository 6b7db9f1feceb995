/*
 * arp_wire.c - ARP Ethernet/IPv4 parse and emit (design in arp_wire.h).
 */
#include <errno.h>
#include <string.h>

#include "netinet/arp_wire.h"

enum wire_reason
arp_parse(struct arp_view *v, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint16_t op;

	if (len < ARP_LEN)
		return WIRE_TRUNCATED;
	if (wire_get16(p) != ARP_HRD_ETHER)
		return WIRE_BAD_HTYPE;
	if (wire_get16(p + 2) != ETHERTYPE_IP)
		return WIRE_BAD_PTYPE;
	if (p[4] != ETHER_ADDR_LEN || p[5] != 4)
		return WIRE_BAD_ADDRLEN;
	op = wire_get16(p + 6);
	if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)
		return WIRE_BAD_OP;
	v->av_buf = p;
	return WIRE_OK;
}

int
arp_emit(void *buf, size_t len, const struct arp_fields *f)
{
	uint8_t *p = buf;

	if (len < ARP_LEN)
		return -ENOSPC;
	wire_put16(p, ARP_HRD_ETHER);
	wire_put16(p + 2, ETHERTYPE_IP);
	p[4] = ETHER_ADDR_LEN;
	p[5] = 4;
	wire_put16(p + 6, f->af_op);
	memcpy(p + 8, f->af_sha, ETHER_ADDR_LEN);
	wire_put32(p + 14, f->af_spa);
	memcpy(p + 18, f->af_tha, ETHER_ADDR_LEN);
	wire_put32(p + 24, f->af_tpa);
	return ARP_LEN;
}
