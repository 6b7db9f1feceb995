/*
 * rss.c - the Toeplitz hash of a frame's flow (see rss.h).
 *
 * One bounded copy of the frame's first RSS_PEEK bytes; every later access is checked
 * against the copied length.  The hash input is assembled in wire order and hashed by
 * the table-driven Toeplitz code (src/lib/toeplitz.h).
 */
#include "dev/rss.h"

#include <string.h>

#include "lib/toeplitz.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"

#define RSS_PEEK	(ETHER_HDR_LEN + 60 + 4)	/* IPv4 with options + ports */
#define IPPROTO_TCP_RSS	6
#define IPPROTO_UDP_RSS	17

static bool
rss_l4_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP_RSS || proto == IPPROTO_UDP_RSS;
}

static uint8_t
rss_l4_type(uint8_t proto, uint8_t tcp, uint8_t udp, uint8_t none)
{
	return proto == IPPROTO_TCP_RSS ? tcp : proto == IPPROTO_UDP_RSS ? udp : none;
}

/* IPv4 at p (n bytes).  0 if not a sane IPv4 header (then the opaque hash is used). */
static int
rss_ip4(const struct toeplitz *tz, const uint8_t *p, int n, uint32_t *h, uint8_t *ht)
{
	uint8_t in[12];
	int ihl, len = 8;
	bool frag;

	if (n < 20 || (p[0] >> 4) != 4 || (ihl = (p[0] & 0xf) * 4) < 20)
		return 0;
	memcpy(in, p + 12, 8);
	frag = ((p[6] << 8 | p[7]) & 0x3fff) != 0;	/* MF or an offset */
	*ht = M_HASHTYPE_RSS_IPV4;
	if (!frag && rss_l4_ports(p[9]) && n >= ihl + 4) {
		memcpy(in + 8, p + ihl, 4);
		len = 12;
		*ht = rss_l4_type(p[9], M_HASHTYPE_RSS_TCP_IPV4, M_HASHTYPE_RSS_UDP_IPV4,
		    M_HASHTYPE_RSS_IPV4);
	}
	*h = toeplitz_hash(tz, in, (size_t)len);
	return 1;
}

/* IPv6 at p (n bytes): the fixed header's next header only (no extension walk). */
static int
rss_ip6(const struct toeplitz *tz, const uint8_t *p, int n, uint32_t *h, uint8_t *ht)
{
	uint8_t in[36];
	int len = 32;

	if (n < 40 || (p[0] >> 4) != 6)
		return 0;
	memcpy(in, p + 8, 32);
	*ht = M_HASHTYPE_RSS_IPV6;
	if (rss_l4_ports(p[6]) && n >= 44) {
		memcpy(in + 32, p + 40, 4);
		len = 36;
		*ht = rss_l4_type(p[6], M_HASHTYPE_RSS_TCP_IPV6, M_HASHTYPE_RSS_UDP_IPV6,
		    M_HASHTYPE_RSS_IPV6);
	}
	*h = toeplitz_hash(tz, in, (size_t)len);
	return 1;
}

uint32_t
rss_frame_hash(const struct toeplitz *tz, const struct mbuf *m, uint8_t *hashtype)
{
	uint8_t buf[RSS_PEEK];
	int n = m->m_pkthdr.len < RSS_PEEK ? m->m_pkthdr.len : RSS_PEEK;
	uint32_t h = 0;
	uint16_t type;

	if (n < ETHER_HDR_LEN || m_copydata(m, 0, n, buf) != 0) {
		*hashtype = M_HASHTYPE_OPAQUE;
		return toeplitz_hash(tz, buf, 0);
	}
	type = (uint16_t)(buf[12] << 8 | buf[13]);
	if (type == ETHERTYPE_IP &&
	    rss_ip4(tz, buf + ETHER_HDR_LEN, n - ETHER_HDR_LEN, &h, hashtype))
		return h;
	if (type == ETHERTYPE_IPV6 &&
	    rss_ip6(tz, buf + ETHER_HDR_LEN, n - ETHER_HDR_LEN, &h, hashtype))
		return h;
	*hashtype = M_HASHTYPE_OPAQUE;
	return toeplitz_hash(tz, buf, ETHER_HDR_LEN);
}
