/*
 * udp_wire.h - UDP header format (RFC 768).
 *
 * udp_parse() takes the IP payload and checks once that the 8-byte header is present and
 * that the length field is at least 8 and at most the buffer; the payload is then
 * [8, length) and bytes past the length field (IP padding) are not part of the view.
 * A caller that wants the length field to equal the IP payload length compares
 * udp_length() with its own.  Checksum 0 means "none" (IPv4 only).
 */
#ifndef SMPNET_NETINET_UDP_WIRE_H
#define SMPNET_NETINET_UDP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "net/wire.h"

#define UDP_HDR_LEN	8

/* A parsed UDP datagram.  Caller-owned; valid while its buffer is. */
struct udp_view {
	const uint8_t	*uv_buf;
	uint16_t	 uv_len;	/* the length field, validated */
};
_Static_assert(sizeof(struct udp_view) <= 16, "a view stays a few words on the stack");

/*
 * Parse buf[0..len).  Returns WIRE_OK, WIRE_TRUNCATED, WIRE_BAD_LENGTH (length field
 * below 8) or WIRE_BAD_TOTLEN (length field above len).  Pure; never blocks.
 */
enum wire_reason udp_parse(struct udp_view *v, const void *buf, size_t len);

static inline uint16_t udp_sport(const struct udp_view *v) { return wire_get16(v->uv_buf); }
static inline uint16_t udp_dport(const struct udp_view *v) { return wire_get16(v->uv_buf + 2); }
static inline uint16_t udp_length(const struct udp_view *v) { return v->uv_len; }
static inline uint16_t udp_cksum(const struct udp_view *v) { return wire_get16(v->uv_buf + 6); }

static inline const uint8_t *
udp_payload(const struct udp_view *v)
{
	return v->uv_buf + UDP_HDR_LEN;
}

static inline size_t
udp_payload_len(const struct udp_view *v)
{
	return (size_t)v->uv_len - UDP_HDR_LEN;
}

/*
 * Write the header at buf, checksum 0, length 8 + payload_len.  Returns 8, -ENOSPC, or
 * -EINVAL if the length would exceed 65535.  Never blocks.
 */
int udp_emit(void *buf, size_t len, uint16_t sport, uint16_t dport, size_t payload_len);

static inline void
udp_set_cksum(void *hdr, uint16_t cksum)
{
	wire_put16((uint8_t *)hdr + 6, cksum);
}

/*
 * A whole IPv4/UDP datagram at buf, for tests and benchmarks that build frames by hand:
 * writes a 20-byte IPv4 header (TTL 64, id 0, no flags, checksummed) and the UDP header,
 * then the UDP checksum over the plen payload bytes already at buf + 28.  Addresses and
 * ports in host order.  Returns the datagram's length, -ENOSPC, or -EINVAL.  Pure.
 */
int udp4_datagram_emit(void *buf, size_t len, uint32_t src, uint32_t dst, uint16_t sport,
    uint16_t dport, size_t plen);

#endif /* SMPNET_NETINET_UDP_WIRE_H */
