/*
 * wire.h - what every packet-format module (src/net/ *_wire, src/netinet/ *_wire) shares:
 * the refusal reasons and big-endian byte access.
 *
 * Design (after smoltcp's wire/ and DPDK's lib/net): a packet format is a set of pure
 * functions over a byte buffer, apart from any protocol logic.  A parse function
 * (`<fmt>_parse`) performs the one length/sanity check that makes every later accessor
 * on the resulting view safe, and refuses with an enum wire_reason otherwise.  Accessors
 * then read fields straight from the bytes, byte by byte (no casts of unaligned data), so
 * any alignment is fine.  Builders (`<fmt>_emit`) write a header into a caller's buffer
 * and return its length or a negative errno.  Nothing here allocates, locks or keeps
 * state: a view is a few words on the caller's stack, valid as long as its buffer is.
 *
 * Byte order: every multi-byte field an accessor returns is in host order, IPv4
 * addresses included (192.0.2.1 is 0xc0000201); convert with htonl() for a sockaddr.
 * Checksums are neither verified nor computed here (src/lib/cksum does that): builders
 * write 0 in checksum fields and each format offers a `<fmt>_set_cksum` to store one.
 */
#ifndef SMPNET_NET_WIRE_H
#define SMPNET_NET_WIRE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Why a parse function refused a buffer.  The names (wire_reason_name) are short
 * lower-case words meant for counters: "ip.bad_hlen".
 */
#define WIRE_REASONS(X)						\
	X(OK,		"ok")		/* accepted */		\
	X(TRUNCATED,	"truncated")	/* buffer shorter than the fixed header or than a length it announces */ \
	X(BAD_VERSION,	"bad_version")	/* IP version field is not 4 */ \
	X(BAD_HLEN,	"bad_hlen")	/* IPv4 IHL < 5 */	\
	X(BAD_TOTLEN,	"bad_totlen")	/* length field larger than the buffer */ \
	X(SHORT_TOTLEN,	"short_totlen")	/* length field smaller than the header */ \
	X(NOT_ETHER2,	"not_ether2")	/* 802.3 length in the type field */ \
	X(BAD_HTYPE,	"bad_htype")	/* ARP hardware type is not Ethernet */ \
	X(BAD_PTYPE,	"bad_ptype")	/* ARP protocol type is not IPv4 */ \
	X(BAD_ADDRLEN,	"bad_addrlen")	/* ARP address lengths are not 6 and 4 */ \
	X(BAD_OP,	"bad_op")	/* ARP operation is neither request nor reply */ \
	X(BAD_OPTION,	"bad_option")	/* malformed IPv4 option */ \
	X(BAD_TYPE,	"bad_type")	/* unknown message type (IGMP) */ \
	X(BAD_LENGTH,	"bad_length")	/* a length that no valid message has */ \
	X(NOT_ERROR,	"not_error")	/* ICMP message carries no quoted datagram */

#define WIRE_REASON_ENUM(name, str)	WIRE_##name,
enum wire_reason {
	WIRE_REASONS(WIRE_REASON_ENUM)
	WIRE_REASON_COUNT
};
#undef WIRE_REASON_ENUM

/* The counter name of r ("truncated"); "?" for a value out of range.  Never blocks. */
const char *wire_reason_name(enum wire_reason r);

static inline uint16_t
wire_get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t
wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
wire_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
wire_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif /* SMPNET_NET_WIRE_H */
