/*
 * igmp_wire.c - IGMP v1/v2/v3 parse and emit (design in igmp_wire.h).
 */
#include <errno.h>
#include <string.h>

#include "netinet/igmp_wire.h"

static enum wire_reason
igmp_parse_query(struct igmp_view *v, size_t len)
{
	size_t need;

	if (len == IGMP_MIN_LEN) {
		v->igv_version = igmp_mrc(v) == 0 ? 1 : 2;
		v->igv_len = len;
		return WIRE_OK;
	}
	if (len < IGMP_V3_QUERY_MIN_LEN)
		return WIRE_BAD_LENGTH;
	need = IGMP_V3_QUERY_MIN_LEN + 4 * (size_t)igmp_q_nsrc(v);
	if (need > len)
		return WIRE_TRUNCATED;
	v->igv_version = 3;
	v->igv_len = need;
	return WIRE_OK;
}

/* Length of the record at p (len bytes left), or 0 if it does not fit. */
static size_t
igmp_rec_size(const uint8_t *p, size_t len)
{
	size_t n;

	if (len < IGMP_V3_REC_HDR_LEN)
		return 0;
	n = IGMP_V3_REC_HDR_LEN + 4 * (size_t)wire_get16(p + 2) + 4 * (size_t)p[1];
	return n <= len ? n : 0;
}

static enum wire_reason
igmp_parse_v3_report(struct igmp_view *v, size_t len)
{
	size_t off = IGMP_MIN_LEN, n;
	unsigned i, nrec = igmp_r_nrec(v);

	for (i = 0; i < nrec; i++) {
		n = igmp_rec_size(v->igv_buf + off, len - off);
		if (n == 0)
			return WIRE_TRUNCATED;
		off += n;
	}
	v->igv_version = 3;
	v->igv_len = off;
	return WIRE_OK;
}

enum wire_reason
igmp_parse(struct igmp_view *v, const void *buf, size_t len)
{
	if (len < IGMP_MIN_LEN)
		return WIRE_TRUNCATED;
	v->igv_buf = buf;
	v->igv_len = IGMP_MIN_LEN;
	switch (igmp_type(v)) {
	case IGMP_QUERY:
		return igmp_parse_query(v, len);
	case IGMP_V3_REPORT:
		return igmp_parse_v3_report(v, len);
	case IGMP_V1_REPORT:
		v->igv_version = 1;
		return WIRE_OK;
	case IGMP_V2_REPORT:
	case IGMP_V2_LEAVE:
		v->igv_version = 2;
		return WIRE_OK;
	default:
		return WIRE_BAD_TYPE;
	}
}

uint32_t
igmp_code_decode(uint8_t code)
{
	if (code < 128)
		return code;
	return (uint32_t)((code & 0x0f) | 0x10) << (((code >> 4) & 0x07) + 3);
}

uint8_t
igmp_code_encode(uint32_t value)
{
	unsigned exp;

	if (value < 128)
		return (uint8_t)value;
	for (exp = 0; exp < 8; exp++)
		if ((value >> (exp + 3)) < 0x20)
			return (uint8_t)(0x80 | exp << 4 | ((value >> (exp + 3)) & 0x0f));
	return 0xff;
}

uint32_t
igmp_max_resp_ds(const struct igmp_view *v)
{
	if (v->igv_version == 1)
		return 100;
	if (v->igv_version == 2)
		return igmp_mrc(v);
	return igmp_code_decode(igmp_mrc(v));
}

void
igmp_rec_begin(struct igmp_rec_iter *it, const struct igmp_view *v)
{
	it->ri_p = v->igv_buf + IGMP_MIN_LEN;
	it->ri_left = v->igv_version == 3 && igmp_type(v) == IGMP_V3_REPORT ?
	    igmp_r_nrec(v) : 0;
}

bool
igmp_rec_next(struct igmp_rec_iter *it, struct igmp_rec *r)
{
	const uint8_t *p = it->ri_p;

	if (it->ri_left == 0)
		return false;
	r->ir_type = p[0];
	r->ir_auxlen = p[1];
	r->ir_nsrc = wire_get16(p + 2);
	r->ir_group = wire_get32(p + 4);
	r->ir_srcs = p + IGMP_V3_REC_HDR_LEN;
	it->ri_p += IGMP_V3_REC_HDR_LEN + 4 * (size_t)r->ir_nsrc + 4 * (size_t)r->ir_auxlen;
	it->ri_left--;
	return true;
}

static void
igmp_put_addrs(uint8_t *p, const uint32_t *a, uint16_t n)
{
	uint16_t i;

	for (i = 0; i < n; i++)
		wire_put32(p + 4 * (size_t)i, a[i]);
}

int
igmp_emit_v2(void *buf, size_t len, uint8_t type, uint8_t mrc, uint32_t group)
{
	uint8_t *p = buf;

	if (type != IGMP_QUERY && type != IGMP_V1_REPORT && type != IGMP_V2_REPORT &&
	    type != IGMP_V2_LEAVE)
		return -EINVAL;
	if (len < IGMP_MIN_LEN)
		return -ENOSPC;
	p[0] = type;
	p[1] = mrc;
	wire_put16(p + 2, 0);
	wire_put32(p + 4, group);
	return IGMP_MIN_LEN;
}

int
igmp_emit_v3_query(void *buf, size_t len, uint8_t mrc, uint32_t group, bool sflag,
    uint8_t qrv, uint8_t qqic, const uint32_t *srcs, uint16_t nsrc)
{
	uint8_t *p = buf;
	size_t n = IGMP_V3_QUERY_MIN_LEN + 4 * (size_t)nsrc;

	if (len < n)
		return -ENOSPC;
	igmp_emit_v2(p, len, IGMP_QUERY, mrc, group);
	p[8] = (uint8_t)((sflag ? 0x08 : 0) | (qrv & 0x07));
	p[9] = qqic;
	wire_put16(p + 10, nsrc);
	igmp_put_addrs(p + IGMP_V3_QUERY_MIN_LEN, srcs, nsrc);
	return (int)n;
}

int
igmp_emit_v3_report(void *buf, size_t len, uint16_t nrec)
{
	uint8_t *p = buf;

	if (len < IGMP_MIN_LEN)
		return -ENOSPC;
	p[0] = IGMP_V3_REPORT;
	p[1] = 0;
	wire_put16(p + 2, 0);
	wire_put16(p + 4, 0);
	wire_put16(p + 6, nrec);
	return IGMP_MIN_LEN;
}

int
igmp_emit_v3_rec(void *buf, size_t len, uint8_t rtype, uint32_t group,
    const uint32_t *srcs, uint16_t nsrc)
{
	uint8_t *p = buf;
	size_t n = IGMP_V3_REC_HDR_LEN + 4 * (size_t)nsrc;

	if (len < n)
		return -ENOSPC;
	p[0] = rtype;
	p[1] = 0;
	wire_put16(p + 2, nsrc);
	wire_put32(p + 4, group);
	igmp_put_addrs(p + IGMP_V3_REC_HDR_LEN, srcs, nsrc);
	return (int)n;
}
