/*
 * udp_wire.c - UDP parse and emit (design in udp_wire.h).
 */
#include <errno.h>
#include <string.h>

#include "lib/cksum.h"
#include "netinet/ip_wire.h"
#include "netinet/udp_wire.h"

enum wire_reason
udp_parse(struct udp_view *v, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint16_t ulen;

	if (len < UDP_HDR_LEN)
		return WIRE_TRUNCATED;
	ulen = wire_get16(p + 4);
	if (ulen < UDP_HDR_LEN)
		return WIRE_BAD_LENGTH;
	if (ulen > len)
		return WIRE_BAD_TOTLEN;
	v->uv_buf = p;
	v->uv_len = ulen;
	return WIRE_OK;
}

int
udp_emit(void *buf, size_t len, uint16_t sport, uint16_t dport, size_t payload_len)
{
	uint8_t *p = buf;

	if (payload_len > 0xffff - UDP_HDR_LEN)
		return -EINVAL;
	if (len < UDP_HDR_LEN)
		return -ENOSPC;
	wire_put16(p, sport);
	wire_put16(p + 2, dport);
	wire_put16(p + 4, (uint16_t)(UDP_HDR_LEN + payload_len));
	wire_put16(p + 6, 0);
	return UDP_HDR_LEN;
}

int
udp4_datagram_emit(void *buf, size_t len, uint32_t src, uint32_t dst, uint16_t sport,
    uint16_t dport, size_t plen)
{
	struct ip4_fields f = { .if_ttl = 64, .if_proto = 17, .if_src = src, .if_dst = dst,
	    .if_payload_len = UDP_HDR_LEN + plen };
	uint8_t *ip = buf, *uh = ip + IP4_HDR_LEN, ph[12];
	uint16_t c;
	int r;

	if (len < IP4_HDR_LEN + UDP_HDR_LEN + plen)
		return -ENOSPC;
	if ((r = ip4_emit(ip, len, &f)) < 0 || (r = udp_emit(uh, len - IP4_HDR_LEN, sport,
	    dport, plen)) < 0)
		return r;
	c = in_cksum(ip, IP4_HDR_LEN);
	memcpy(ip + 10, &c, 2);			/* memory order, as in_cksum gives it */
	memcpy(ph, ip + 12, 8);			/* pseudo header: addresses, 0, 17, length */
	ph[8] = 0;
	ph[9] = 17;
	memcpy(ph + 10, uh + 4, 2);
	c = (uint16_t)~cksum_fold(cksum_add(cksum_add(0, ph, sizeof(ph)), uh,
	    UDP_HDR_LEN + plen));
	if (c == 0)
		c = 0xffff;			/* 0 means "no checksum" */
	memcpy(uh + 6, &c, 2);
	return (int)(IP4_HDR_LEN + UDP_HDR_LEN + plen);
}
