/*
 * icmp_wire.h - ICMPv4 message format (RFC 792, RFC 1191 for frag-needed), with the
 * extraction of the datagram quoted in error messages.
 *
 * icmp_parse() checks once that the 8-byte header is present; every accessor of the
 * header (type, code, and the "rest of header" word read as echo id/sequence, next-hop
 * MTU, pointer or gateway) is then safe, and the payload (icmp_payload) is [8, len).
 *
 * icmp_quote_parse() is the second, separate check for error messages (unreachable,
 * source quench, redirect, time exceeded, parameter problem): the data must hold an IPv4
 * header of version 4 with a valid IHL followed by at least 8 bytes of its payload (the
 * RFC 792 minimum: enough for the ports of UDP and TCP).  The quoted header's length
 * field describes the original datagram, not the quote, so it is not checked against
 * the buffer; the quote's ip4_view has iv_totlen = the bytes present.
 */
#ifndef SMPNET_NETINET_ICMP_WIRE_H
#define SMPNET_NETINET_ICMP_WIRE_H

#include <netinet/ip_icmp.h>	/* ICMP_* type and code numbers */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/wire.h"
#include "netinet/ip_wire.h"

#define ICMP_HDR_LEN		8
#define ICMP_QUOTE_MIN_L4	8	/* payload bytes an error must quote */

/* Types and codes: ICMP_ECHO, ICMP_UNREACH_NEEDFRAG, ... from <netinet/ip_icmp.h>. */

/* A parsed ICMP message.  Caller-owned; valid while its buffer is. */
struct icmp_view {
	const uint8_t	*icv_buf;
	size_t		 icv_len;
};
_Static_assert(sizeof(struct icmp_view) <= 16, "a view stays a few words on the stack");

/* Parse buf[0..len): WIRE_OK or WIRE_TRUNCATED.  Pure; never blocks. */
enum wire_reason icmp_parse(struct icmp_view *v, const void *buf, size_t len);

static inline uint8_t icmp_type(const struct icmp_view *v) { return v->icv_buf[0]; }
static inline uint8_t icmp_code(const struct icmp_view *v) { return v->icv_buf[1]; }
static inline uint16_t icmp_cksum(const struct icmp_view *v) { return wire_get16(v->icv_buf + 2); }
static inline uint32_t icmp_rest(const struct icmp_view *v) { return wire_get32(v->icv_buf + 4); }
/* Echo and echo reply. */
static inline uint16_t icmp_echo_id(const struct icmp_view *v) { return wire_get16(v->icv_buf + 4); }
static inline uint16_t icmp_echo_seq(const struct icmp_view *v) { return wire_get16(v->icv_buf + 6); }
/* Unreachable / needfrag: the next-hop MTU (0 from pre-RFC 1191 routers). */
static inline uint16_t icmp_nexthop_mtu(const struct icmp_view *v) { return wire_get16(v->icv_buf + 6); }
/* Parameter problem: offset of the bad byte in the quoted header. */
static inline uint8_t icmp_param_ptr(const struct icmp_view *v) { return v->icv_buf[4]; }
/* Redirect: the better gateway, host order. */
static inline uint32_t icmp_gateway(const struct icmp_view *v) { return wire_get32(v->icv_buf + 4); }

static inline const uint8_t *
icmp_payload(const struct icmp_view *v)
{
	return v->icv_buf + ICMP_HDR_LEN;
}

static inline size_t
icmp_payload_len(const struct icmp_view *v)
{
	return v->icv_len - ICMP_HDR_LEN;
}

/* True for the types that quote the offending datagram. */
bool icmp_type_is_error(uint8_t type);

/* The datagram quoted by an error message. */
struct icmp_quote {
	struct ip4_view	 iq_ip;		/* the quoted header; iv_totlen = bytes present */
	const uint8_t	*iq_l4;		/* the quoted payload (>= ICMP_QUOTE_MIN_L4 bytes) */
	size_t		 iq_l4len;
};

/*
 * Extract the quote of an error message.  Returns WIRE_OK, WIRE_NOT_ERROR (the type
 * quotes nothing), WIRE_TRUNCATED, WIRE_BAD_VERSION or WIRE_BAD_HLEN.  Pure; never blocks.
 */
enum wire_reason icmp_quote_parse(const struct icmp_view *v, struct icmp_quote *q);

/* Source and destination ports in the quote (the first 4 payload bytes, UDP and TCP). */
static inline uint16_t icmp_quote_sport(const struct icmp_quote *q) { return wire_get16(q->iq_l4); }
static inline uint16_t icmp_quote_dport(const struct icmp_quote *q) { return wire_get16(q->iq_l4 + 2); }

/* What icmp_emit() writes: type, code and the 32-bit rest-of-header word. */
struct icmp_fields {
	uint8_t		icf_type;
	uint8_t		icf_code;
	uint32_t	icf_rest;
};

static inline uint32_t
icmp_rest_echo(uint16_t id, uint16_t seq)
{
	return (uint32_t)id << 16 | seq;
}

static inline uint32_t
icmp_rest_mtu(uint16_t mtu)
{
	return mtu;
}

static inline uint32_t
icmp_rest_pptr(uint8_t ptr)
{
	return (uint32_t)ptr << 24;
}

/* Write the 8-byte header at buf, checksum 0.  Returns 8 or -ENOSPC.  Never blocks. */
int icmp_emit(void *buf, size_t len, const struct icmp_fields *f);

/*
 * Write an error message: the header from f, then the start of the offending datagram
 * orig[0..origlen): its header and up to quote_max bytes in all (at least its header and
 * 8 payload bytes must be present in orig).  Returns the message length, or -EINVAL
 * (f is not an error type, orig is not an IPv4 header with 8 payload bytes, quote_max too
 * small for them), -ENOSPC.  Never blocks.
 */
int icmp_emit_error(void *buf, size_t len, const struct icmp_fields *f,
    const void *orig, size_t origlen, size_t quote_max);

/* Store a checksum (computed elsewhere) into a message. */
static inline void
icmp_set_cksum(void *msg, uint16_t cksum)
{
	wire_put16((uint8_t *)msg + 2, cksum);
}

#endif /* SMPNET_NETINET_ICMP_WIRE_H */
