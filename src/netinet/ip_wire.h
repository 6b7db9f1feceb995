/*
 * ip_wire.h - IPv4 header format (RFC 791), options and fragment fields included.
 *
 * ip4_parse() checks once, in this order, that the buffer holds 20 bytes, the version is
 * 4, the IHL is at least 5, the header (IHL * 4) fits the buffer, the total length is at
 * least the header and at most the buffer.  After WIRE_OK every accessor, the options
 * area and the payload [hlen, totlen) are safe; bytes past totlen (link padding) are not
 * part of the view.  Options are not validated by ip4_parse (a router forwards what it
 * does not understand); ip4_opt_next() walks them with its own bounds and
 * ip4_opts_check() validates them all.
 *
 * Words: hlen = header length in bytes (IHL * 4), totlen = the datagram's length field,
 * fragoff = fragment offset in bytes (the field times 8), DF/MF = the flag bits.
 */
#ifndef SMPNET_NETINET_IP_WIRE_H
#define SMPNET_NETINET_IP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/wire.h"

#define IP4_HDR_LEN		20
#define IP4_MAX_HDR_LEN		60
#define IP4_MAX_OPT_LEN		40
#define IP4_MAXPACKET		65535

#define IP4_FLAG_RF		0x8000
#define IP4_FLAG_DF		0x4000
#define IP4_FLAG_MF		0x2000
#define IP4_OFFMASK		0x1fff

#define IPPROTO4_ICMP		1
#define IPPROTO4_IGMP		2
#define IPPROTO4_TCP		6
#define IPPROTO4_UDP		17

#define IP4_OPT_EOL		0
#define IP4_OPT_NOP		1
#define IP4_OPT_RR		7
#define IP4_OPT_TS		68
#define IP4_OPT_LSRR		131
#define IP4_OPT_SSRR		137
#define IP4_OPT_RA		148	/* router alert (RFC 2113), carried by IGMP */

/*
 * A parsed IPv4 header.  Caller-owned; valid while its buffer is.  iv_totlen is the
 * number of valid datagram bytes: the length field for ip4_parse(), the bytes present for
 * a header quoted in an ICMP error (icmp_quote_parse).
 */
struct ip4_view {
	const uint8_t	*iv_buf;
	uint16_t	 iv_hlen;
	uint16_t	 iv_totlen;
};
_Static_assert(sizeof(struct ip4_view) <= 16, "a view stays a few words on the stack");

/*
 * Parse buf[0..len) as an IPv4 datagram.  Returns WIRE_OK, WIRE_TRUNCATED,
 * WIRE_BAD_VERSION, WIRE_BAD_HLEN, WIRE_SHORT_TOTLEN or WIRE_BAD_TOTLEN.  Pure; never
 * blocks.
 */
enum wire_reason ip4_parse(struct ip4_view *v, const void *buf, size_t len);

static inline const uint8_t *ip4_header(const struct ip4_view *v) { return v->iv_buf; }
static inline uint16_t ip4_hlen(const struct ip4_view *v) { return v->iv_hlen; }
static inline uint8_t ip4_tos(const struct ip4_view *v) { return v->iv_buf[1]; }
/* The length field as written (for a quoted header it may exceed what is present). */
static inline uint16_t ip4_totlen(const struct ip4_view *v) { return wire_get16(v->iv_buf + 2); }
static inline uint16_t ip4_id(const struct ip4_view *v) { return wire_get16(v->iv_buf + 4); }
static inline uint16_t ip4_off_raw(const struct ip4_view *v) { return wire_get16(v->iv_buf + 6); }
static inline uint8_t ip4_ttl(const struct ip4_view *v) { return v->iv_buf[8]; }
static inline uint8_t ip4_proto(const struct ip4_view *v) { return v->iv_buf[9]; }
static inline uint16_t ip4_cksum(const struct ip4_view *v) { return wire_get16(v->iv_buf + 10); }
static inline uint32_t ip4_src(const struct ip4_view *v) { return wire_get32(v->iv_buf + 12); }
static inline uint32_t ip4_dst(const struct ip4_view *v) { return wire_get32(v->iv_buf + 16); }

static inline bool
ip4_df(const struct ip4_view *v)
{
	return (ip4_off_raw(v) & IP4_FLAG_DF) != 0;
}

static inline bool
ip4_mf(const struct ip4_view *v)
{
	return (ip4_off_raw(v) & IP4_FLAG_MF) != 0;
}

/* Fragment offset in bytes. */
static inline uint32_t
ip4_fragoff(const struct ip4_view *v)
{
	return (uint32_t)(ip4_off_raw(v) & IP4_OFFMASK) * 8;
}

/* True if the datagram is a fragment (MF set or a non-zero offset). */
static inline bool
ip4_is_fragment(const struct ip4_view *v)
{
	return (ip4_off_raw(v) & (IP4_FLAG_MF | IP4_OFFMASK)) != 0;
}

static inline const uint8_t *
ip4_opts(const struct ip4_view *v)
{
	return v->iv_buf + IP4_HDR_LEN;
}

static inline size_t
ip4_optlen(const struct ip4_view *v)
{
	return (size_t)v->iv_hlen - IP4_HDR_LEN;
}

static inline const uint8_t *
ip4_payload(const struct ip4_view *v)
{
	return v->iv_buf + v->iv_hlen;
}

static inline size_t
ip4_payload_len(const struct ip4_view *v)
{
	return (size_t)v->iv_totlen - v->iv_hlen;
}

/* One option: its type, its total length (1 for NOP) and the bytes after type+length. */
struct ip4_opt {
	uint8_t		 io_type;
	uint8_t		 io_len;
	const uint8_t	*io_data;
	size_t		 io_datalen;
};

/* Walks the options of one view; caller-owned. */
struct ip4_opt_iter {
	const uint8_t	*it_p;
	size_t		 it_left;
	enum wire_reason it_reason;	/* WIRE_BAD_OPTION once a malformed option is met */
};

void ip4_opt_begin(struct ip4_opt_iter *it, const struct ip4_view *v);

/*
 * Store the next option in *o and return true; return false at the end of the options
 * (EOL or no bytes left; it_reason stays WIRE_OK) or at a malformed option (a length
 * below 2 or past the end; it_reason becomes WIRE_BAD_OPTION).  Pure; never blocks.
 */
bool ip4_opt_next(struct ip4_opt_iter *it, struct ip4_opt *o);

/* Walk every option: WIRE_OK or WIRE_BAD_OPTION.  Pure; never blocks. */
enum wire_reason ip4_opts_check(const struct ip4_view *v);

/* What ip4_emit() writes. */
struct ip4_fields {
	uint8_t		 if_tos;
	uint16_t	 if_id;
	bool		 if_df;
	bool		 if_mf;
	uint32_t	 if_fragoff;	/* bytes, a multiple of 8 */
	uint8_t		 if_ttl;
	uint8_t		 if_proto;
	uint32_t	 if_src;	/* host order */
	uint32_t	 if_dst;	/* host order */
	const uint8_t	*if_opts;	/* copied after the fixed header, or NULL */
	size_t		 if_optlen;	/* a multiple of 4, at most 40 */
	size_t		 if_payload_len; /* totlen = hlen + this */
};

/*
 * Write the header described by f at buf, checksum 0.  Returns the header length, or
 * -ENOSPC if len is too small, -EINVAL for an option length that is not a multiple of 4
 * or above 40, a fragment offset not a multiple of 8 or above 65528, or a total length
 * above 65535.  Never blocks.
 */
int ip4_emit(void *buf, size_t len, const struct ip4_fields *f);

/* Store a header checksum (computed elsewhere) into a header. */
static inline void
ip4_set_cksum(void *hdr, uint16_t cksum)
{
	wire_put16((uint8_t *)hdr + 10, cksum);
}

#endif /* SMPNET_NETINET_IP_WIRE_H */
