/*
 * ip_wire.c - IPv4 header parse, option walk and emit (design in ip_wire.h).
 */
#include <errno.h>
#include <string.h>

#include "netinet/ip_wire.h"

enum wire_reason
ip4_parse(struct ip4_view *v, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	size_t hlen, totlen;

	if (len < IP4_HDR_LEN)
		return WIRE_TRUNCATED;
	if ((p[0] >> 4) != 4)
		return WIRE_BAD_VERSION;
	hlen = (size_t)(p[0] & 0x0f) * 4;
	if (hlen < IP4_HDR_LEN)
		return WIRE_BAD_HLEN;
	if (hlen > len)
		return WIRE_TRUNCATED;
	totlen = wire_get16(p + 2);
	if (totlen < hlen)
		return WIRE_SHORT_TOTLEN;
	if (totlen > len)
		return WIRE_BAD_TOTLEN;
	v->iv_buf = p;
	v->iv_hlen = (uint16_t)hlen;
	v->iv_totlen = (uint16_t)totlen;
	return WIRE_OK;
}

void
ip4_opt_begin(struct ip4_opt_iter *it, const struct ip4_view *v)
{
	it->it_p = ip4_opts(v);
	it->it_left = ip4_optlen(v);
	it->it_reason = WIRE_OK;
}

static bool
ip4_opt_bad(struct ip4_opt_iter *it)
{
	it->it_reason = WIRE_BAD_OPTION;
	it->it_left = 0;
	return false;
}

bool
ip4_opt_next(struct ip4_opt_iter *it, struct ip4_opt *o)
{
	const uint8_t *p = it->it_p;
	size_t olen;

	if (it->it_left == 0 || p[0] == IP4_OPT_EOL)
		return false;
	o->io_type = p[0];
	olen = 1;
	if (p[0] != IP4_OPT_NOP) {
		if (it->it_left < 2)
			return ip4_opt_bad(it);
		olen = p[1];
		if (olen < 2 || olen > it->it_left)
			return ip4_opt_bad(it);
	}
	o->io_len = (uint8_t)olen;
	o->io_data = p + (olen > 1 ? 2 : 1);
	o->io_datalen = olen > 1 ? olen - 2 : 0;
	it->it_p += olen;
	it->it_left -= olen;
	return true;
}

enum wire_reason
ip4_opts_check(const struct ip4_view *v)
{
	struct ip4_opt_iter it;
	struct ip4_opt o;
	int bound = IP4_MAX_OPT_LEN;

	ip4_opt_begin(&it, v);
	while (bound-- > 0 && ip4_opt_next(&it, &o))
		continue;
	return it.it_reason;
}

static bool
ip4_fields_valid(const struct ip4_fields *f)
{
	if (f->if_optlen % 4 != 0 || f->if_optlen > IP4_MAX_OPT_LEN)
		return false;
	if (f->if_fragoff % 8 != 0 || f->if_fragoff / 8 > IP4_OFFMASK)
		return false;
	return IP4_HDR_LEN + f->if_optlen + f->if_payload_len <= IP4_MAXPACKET;
}

int
ip4_emit(void *buf, size_t len, const struct ip4_fields *f)
{
	uint8_t *p = buf;
	size_t hlen = IP4_HDR_LEN + f->if_optlen;
	uint16_t off;

	if (!ip4_fields_valid(f))
		return -EINVAL;
	if (len < hlen)
		return -ENOSPC;
	off = (uint16_t)(f->if_fragoff / 8) | (f->if_df ? IP4_FLAG_DF : 0) |
	    (f->if_mf ? IP4_FLAG_MF : 0);
	p[0] = (uint8_t)(0x40 | hlen / 4);
	p[1] = f->if_tos;
	wire_put16(p + 2, (uint16_t)(hlen + f->if_payload_len));
	wire_put16(p + 4, f->if_id);
	wire_put16(p + 6, off);
	p[8] = f->if_ttl;
	p[9] = f->if_proto;
	wire_put16(p + 10, 0);
	wire_put32(p + 12, f->if_src);
	wire_put32(p + 16, f->if_dst);
	if (f->if_optlen > 0)
		memcpy(p + IP4_HDR_LEN, f->if_opts, f->if_optlen);
	return (int)hlen;
}
