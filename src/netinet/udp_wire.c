/*
 * udp_wire.c - UDP parse and emit (design in udp_wire.h).
 */
#include <errno.h>

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
