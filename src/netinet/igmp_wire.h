/*
 * igmp_wire.h - IGMP message formats: v1/v2 (RFC 2236) and v3 (RFC 3376) queries and
 * reports.
 *
 * igmp_parse() classifies and checks the message once:
 *   - every message needs its 8-byte base (type, max-resp code, checksum, group);
 *   - a query (0x11) of exactly 8 bytes is v2 (v1 if its max-resp code is 0); of 12
 *     bytes or more it is v3 and its source list (12 + 4 * nsrc) must fit; 9 to 11 bytes
 *     is refused (RFC 3376 4.1.12: ignore);
 *   - a v3 report (0x22) has its group records walked once, each (8 + 4 * nsrc +
 *     4 * auxlen bytes) required to fit, so the record iterator needs no check later;
 *   - v1/v2 reports and leave need only the base; other types are refused.
 * Extra trailing bytes are allowed (the IP total length bounds the buffer).
 *
 * Words: mrc = max-response code; in v3 it and QQIC are "floating point" (RFC 3376
 * 4.1.1, 4.1.7): values >= 128 encode (mant | 0x10) << (exp + 3).
 */
#ifndef SMPNET_NETINET_IGMP_WIRE_H
#define SMPNET_NETINET_IGMP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/wire.h"

#define IGMP_MIN_LEN		8
#define IGMP_V3_QUERY_MIN_LEN	12
#define IGMP_V3_REC_HDR_LEN	8

#define IGMP_QUERY		0x11
#define IGMP_V1_REPORT		0x12
#define IGMP_V2_REPORT		0x16
#define IGMP_V2_LEAVE		0x17
#define IGMP_V3_REPORT		0x22

/* v3 group record types. */
#define IGMP_MODE_IS_INCLUDE	1
#define IGMP_MODE_IS_EXCLUDE	2
#define IGMP_CHANGE_TO_INCLUDE	3
#define IGMP_CHANGE_TO_EXCLUDE	4
#define IGMP_ALLOW_NEW_SOURCES	5
#define IGMP_BLOCK_OLD_SOURCES	6

/* A parsed IGMP message.  Caller-owned; valid while its buffer is. */
struct igmp_view {
	const uint8_t	*igv_buf;
	size_t		 igv_len;	/* bytes the message uses (trailing bytes excluded) */
	uint8_t		 igv_version;	/* 1, 2 or 3 */
};
_Static_assert(sizeof(struct igmp_view) <= 24, "a view stays a few words on the stack");

/*
 * Parse buf[0..len).  Returns WIRE_OK, WIRE_TRUNCATED, WIRE_BAD_LENGTH (a 9-11 byte
 * query) or WIRE_BAD_TYPE.  Pure; never blocks.
 */
enum wire_reason igmp_parse(struct igmp_view *v, const void *buf, size_t len);

static inline uint8_t igmp_type(const struct igmp_view *v) { return v->igv_buf[0]; }
static inline uint8_t igmp_version(const struct igmp_view *v) { return v->igv_version; }
static inline uint8_t igmp_mrc(const struct igmp_view *v) { return v->igv_buf[1]; }
static inline uint16_t igmp_cksum(const struct igmp_view *v) { return wire_get16(v->igv_buf + 2); }
/* Group address (queries, v1/v2 reports, leave), host order; 0 in a general query. */
static inline uint32_t igmp_group(const struct igmp_view *v) { return wire_get32(v->igv_buf + 4); }

/* Decode an RFC 3376 floating-point code (max-resp code or QQIC). */
uint32_t igmp_code_decode(uint8_t code);
/* Encode a value as such a code, rounding down; values above 31744 give 0xff. */
uint8_t igmp_code_encode(uint32_t value);

/* Maximum response time of a query in tenths of a second (v1: 100, i.e. 10 s). */
uint32_t igmp_max_resp_ds(const struct igmp_view *v);

/* v3 query fields (igmp_version == 3 and type IGMP_QUERY). */
static inline bool igmp_q_sflag(const struct igmp_view *v) { return (v->igv_buf[8] & 0x08) != 0; }
static inline uint8_t igmp_q_qrv(const struct igmp_view *v) { return v->igv_buf[8] & 0x07; }
static inline uint8_t igmp_q_qqic(const struct igmp_view *v) { return v->igv_buf[9]; }
static inline uint16_t igmp_q_nsrc(const struct igmp_view *v) { return wire_get16(v->igv_buf + 10); }
/* Source i < igmp_q_nsrc(v), host order. */
static inline uint32_t
igmp_q_source(const struct igmp_view *v, uint16_t i)
{
	return wire_get32(v->igv_buf + IGMP_V3_QUERY_MIN_LEN + 4 * (size_t)i);
}

/* v3 report: number of group records. */
static inline uint16_t igmp_r_nrec(const struct igmp_view *v) { return wire_get16(v->igv_buf + 6); }

/* One group record of a v3 report. */
struct igmp_rec {
	uint8_t		 ir_type;
	uint8_t		 ir_auxlen;	/* in 32-bit words */
	uint16_t	 ir_nsrc;
	uint32_t	 ir_group;	/* host order */
	const uint8_t	*ir_srcs;	/* ir_nsrc addresses, 4 bytes each, network order */
};

/* Walks the records of a parsed v3 report; caller-owned. */
struct igmp_rec_iter {
	const uint8_t	*ri_p;
	uint16_t	 ri_left;	/* records left */
};

void igmp_rec_begin(struct igmp_rec_iter *it, const struct igmp_view *v);
/* Store the next record and return true, or return false after the last one. */
bool igmp_rec_next(struct igmp_rec_iter *it, struct igmp_rec *r);

static inline uint32_t
igmp_rec_source(const struct igmp_rec *r, uint16_t i)
{
	return wire_get32(r->ir_srcs + 4 * (size_t)i);
}

/*
 * Builders write checksum 0 and return the bytes written or -ENOSPC (-EINVAL for a
 * type that is not a v1/v2 message).  Never block.
 */
/* v1/v2 query, v1/v2 report, leave: 8 bytes. */
int igmp_emit_v2(void *buf, size_t len, uint8_t type, uint8_t mrc, uint32_t group);
/* v3 query with nsrc sources (host order). */
int igmp_emit_v3_query(void *buf, size_t len, uint8_t mrc, uint32_t group, bool sflag,
    uint8_t qrv, uint8_t qqic, const uint32_t *srcs, uint16_t nsrc);
/* v3 report header announcing nrec records; the records follow (igmp_emit_v3_rec). */
int igmp_emit_v3_report(void *buf, size_t len, uint16_t nrec);
/* One v3 group record (no auxiliary data). */
int igmp_emit_v3_rec(void *buf, size_t len, uint8_t rtype, uint32_t group,
    const uint32_t *srcs, uint16_t nsrc);

static inline void
igmp_set_cksum(void *msg, uint16_t cksum)
{
	wire_put16((uint8_t *)msg + 2, cksum);
}

#endif /* SMPNET_NETINET_IGMP_WIRE_H */
