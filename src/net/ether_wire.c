/*
 * ether_wire.c - Ethernet II / 802.1Q parse and emit (design in ether_wire.h).
 */
#include <errno.h>
#include <string.h>

#include "net/ether_wire.h"

enum wire_reason
ether_parse(struct ether_view *v, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint16_t type;

	if (len < ETHER_HDR_LEN)
		return WIRE_TRUNCATED;
	type = wire_get16(p + 2 * ETHER_ADDR_LEN);
	v->ev_buf = p;
	v->ev_len = len;
	v->ev_hlen = ETHER_HDR_LEN;
	v->ev_tci = 0;
	v->ev_tagged = false;
	if (type == ETHERTYPE_VLAN) {
		if (len < ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN)
			return WIRE_TRUNCATED;
		v->ev_tci = wire_get16(p + ETHER_HDR_LEN);
		type = wire_get16(p + ETHER_HDR_LEN + 2);
		v->ev_hlen = ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN;
		v->ev_tagged = true;
	}
	if (type < ETHER_MIN_TYPE)
		return WIRE_NOT_ETHER2;
	v->ev_type = type;
	return WIRE_OK;
}

bool
ether_addr_is_broadcast(const uint8_t *a)
{
	static const uint8_t bcast[ETHER_ADDR_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	return memcmp(a, bcast, ETHER_ADDR_LEN) == 0;
}

int
ether_emit(void *buf, size_t len, const struct ether_fields *f)
{
	uint8_t *p = buf;
	size_t hlen = ETHER_HDR_LEN + (f->ef_tagged ? ETHER_VLAN_ENCAP_LEN : 0);

	if (f->ef_type < ETHER_MIN_TYPE)
		return -EINVAL;
	if (len < hlen)
		return -ENOSPC;
	memcpy(p, f->ef_dst, ETHER_ADDR_LEN);
	memcpy(p + ETHER_ADDR_LEN, f->ef_src, ETHER_ADDR_LEN);
	p += 2 * ETHER_ADDR_LEN;
	if (f->ef_tagged) {
		wire_put16(p, ETHERTYPE_VLAN);
		wire_put16(p + 2, f->ef_tci);
		p += ETHER_VLAN_ENCAP_LEN;
	}
	wire_put16(p, f->ef_type);
	return (int)hlen;
}
