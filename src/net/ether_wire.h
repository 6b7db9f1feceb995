/*
 * ether_wire.h - Ethernet II frame format, with one optional 802.1Q tag.
 *
 * ether_parse() checks once that the buffer holds the 14-byte header (18 with a tag) and
 * that the type field is an EtherType (>= 0x0600), then every accessor is safe.  The view
 * reports the inner EtherType (past the tag) and the tag's TCI.  Only one tag is
 * understood: a frame with a second tag (QinQ) is returned with type ETHERTYPE_VLAN and
 * left to the caller.  The frame check sequence is never present (TAP and the in-memory
 * wire strip it), and short frames are not refused: padding is the sender's business.
 *
 * Words: frame = the whole buffer; header = MACs + (tag) + type; payload = the rest.
 */
#ifndef SMPNET_NET_ETHER_WIRE_H
#define SMPNET_NET_ETHER_WIRE_H

#include <net/ethernet.h>	/* ETHER_ADDR_LEN (6), ETHER_HDR_LEN (14), ETHERTYPE_* */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/wire.h"

#define ETHER_VLAN_ENCAP_LEN	4
#define ETHER_MIN_TYPE		0x0600	/* smaller values are 802.3 lengths */

/* A parsed frame.  Caller-owned, not shared; valid while its buffer is. */
struct ether_view {
	const uint8_t	*ev_buf;	/* the frame */
	size_t		 ev_len;	/* bytes in the frame */
	uint16_t	 ev_hlen;	/* 14, or 18 when tagged */
	uint16_t	 ev_type;	/* EtherType past the tag, host order */
	uint16_t	 ev_tci;	/* 802.1Q tag control information, 0 if untagged */
	bool		 ev_tagged;
};
_Static_assert(sizeof(struct ether_view) <= 24, "a view stays a few words on the stack");

/*
 * Parse buf[0..len) as an Ethernet II frame into v.  Returns WIRE_OK, WIRE_TRUNCATED or
 * WIRE_NOT_ETHER2 (v is then undefined).  Pure; never blocks.
 */
enum wire_reason ether_parse(struct ether_view *v, const void *buf, size_t len);

static inline const uint8_t *
ether_dst(const struct ether_view *v)
{
	return v->ev_buf;
}

static inline const uint8_t *
ether_src(const struct ether_view *v)
{
	return v->ev_buf + ETHER_ADDR_LEN;
}

static inline uint16_t
ether_type(const struct ether_view *v)
{
	return v->ev_type;
}

static inline bool
ether_tagged(const struct ether_view *v)
{
	return v->ev_tagged;
}

static inline uint16_t
ether_vlan_id(const struct ether_view *v)
{
	return v->ev_tci & 0x0fff;
}

static inline uint8_t
ether_vlan_pcp(const struct ether_view *v)
{
	return (uint8_t)(v->ev_tci >> 13);
}

static inline const uint8_t *
ether_payload(const struct ether_view *v)
{
	return v->ev_buf + v->ev_hlen;
}

static inline size_t
ether_payload_len(const struct ether_view *v)
{
	return v->ev_len - v->ev_hlen;
}

static inline bool
ether_addr_is_multicast(const uint8_t *a)
{
	return (a[0] & 1) != 0;
}

bool ether_addr_is_broadcast(const uint8_t *a);

/* What ether_emit() writes. */
struct ether_fields {
	uint8_t		ef_dst[ETHER_ADDR_LEN];
	uint8_t		ef_src[ETHER_ADDR_LEN];
	uint16_t	ef_type;	/* EtherType of the payload */
	bool		ef_tagged;	/* insert an 802.1Q tag carrying ef_tci */
	uint16_t	ef_tci;
};

/*
 * Write the header described by f at buf.  Returns the header length (14 or 18), or
 * -ENOSPC if len is too small, -EINVAL if ef_type is below ETHER_MIN_TYPE.  Never blocks.
 */
int ether_emit(void *buf, size_t len, const struct ether_fields *f);

#endif /* SMPNET_NET_ETHER_WIRE_H */
