/*
 * icmp_wire.c - ICMPv4 parse, quote extraction and emit (design in icmp_wire.h).
 */
#include <errno.h>
#include <string.h>

#include "netinet/icmp_wire.h"

enum wire_reason
icmp_parse(struct icmp_view *v, const void *buf, size_t len)
{
	if (len < ICMP_HDR_LEN)
		return WIRE_TRUNCATED;
	v->icv_buf = buf;
	v->icv_len = len;
	return WIRE_OK;
}

bool
icmp_type_is_error(uint8_t type)
{
	switch (type) {
	case ICMP_UNREACH:
	case ICMP_SOURCEQUENCH:
	case ICMP_REDIRECT:
	case ICMP_TIMXCEED:
	case ICMP_PARAMPROB:
		return true;
	default:
		return false;
	}
}

/* Check that p[0..len) starts with an IPv4 header and 8 bytes of its payload. */
static enum wire_reason
icmp_quote_check(const uint8_t *p, size_t len, size_t *hlenp)
{
	size_t hlen;

	if (len < IP4_HDR_LEN)
		return WIRE_TRUNCATED;
	if ((p[0] >> 4) != 4)
		return WIRE_BAD_VERSION;
	hlen = (size_t)(p[0] & 0x0f) * 4;
	if (hlen < IP4_HDR_LEN)
		return WIRE_BAD_HLEN;
	if (hlen + ICMP_QUOTE_MIN_L4 > len)
		return WIRE_TRUNCATED;
	*hlenp = hlen;
	return WIRE_OK;
}

enum wire_reason
icmp_quote_parse(const struct icmp_view *v, struct icmp_quote *q)
{
	const uint8_t *p = icmp_payload(v);
	size_t len = icmp_payload_len(v), hlen, avail;
	enum wire_reason r;

	if (!icmp_type_is_error(icmp_type(v)))
		return WIRE_NOT_ERROR;
	r = icmp_quote_check(p, len, &hlen);
	if (r != WIRE_OK)
		return r;
	avail = len < IP4_MAXPACKET ? len : IP4_MAXPACKET;
	q->iq_ip.iv_buf = p;
	q->iq_ip.iv_hlen = (uint16_t)hlen;
	q->iq_ip.iv_totlen = (uint16_t)avail;
	q->iq_l4 = p + hlen;
	q->iq_l4len = avail - hlen;
	return WIRE_OK;
}

int
icmp_emit(void *buf, size_t len, const struct icmp_fields *f)
{
	uint8_t *p = buf;

	if (len < ICMP_HDR_LEN)
		return -ENOSPC;
	p[0] = f->icf_type;
	p[1] = f->icf_code;
	wire_put16(p + 2, 0);
	wire_put32(p + 4, f->icf_rest);
	return ICMP_HDR_LEN;
}

int
icmp_emit_error(void *buf, size_t len, const struct icmp_fields *f,
    const void *orig, size_t origlen, size_t quote_max)
{
	size_t hlen, qlen;

	if (!icmp_type_is_error(f->icf_type))
		return -EINVAL;
	if (icmp_quote_check(orig, origlen, &hlen) != WIRE_OK)
		return -EINVAL;
	if (quote_max < hlen + ICMP_QUOTE_MIN_L4)
		return -EINVAL;
	qlen = origlen < quote_max ? origlen : quote_max;
	if (len < ICMP_HDR_LEN + qlen)
		return -ENOSPC;
	icmp_emit(buf, len, f);
	memcpy((uint8_t *)buf + ICMP_HDR_LEN, orig, qlen);
	return (int)(ICMP_HDR_LEN + qlen);
}
