/*
 * fuzz_wire.c - libFuzzer target: bytes as an Ethernet frame through every packet format.
 *
 * The input is dispatched the way an input path would: Ethernet (802.1Q) by EtherType
 * to ARP or IPv4, IPv4 by protocol to ICMP (and the datagram an error quotes), IGMP
 * (v3 records walked) or UDP.  Every accessor of an accepted view is read, so AddressSan
 * flags any read a parse check did not make safe.  Accepted headers are also rebuilt
 * with the builders from what the accessors returned and compared byte for byte with the
 * input, so a parser and its builder cannot silently disagree.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/ether_wire.h"
#include "netinet/arp_wire.h"
#include "netinet/icmp_wire.h"
#include "netinet/igmp_wire.h"
#include "netinet/ip_wire.h"
#include "netinet/udp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

/* Keep a value alive so that its read is not optimised away. */
static inline void
use(uint64_t x)
{
	__asm__ volatile("" : : "r"(x) : "memory");
}

static uint64_t
sum_bytes(const uint8_t *p, size_t n)
{
	uint64_t s = 0;

	while (n-- > 0)
		s += *p++;
	return s;
}

static void
fuzz_arp(const uint8_t *p, size_t len)
{
	struct arp_fields f;
	struct arp_view v;
	uint8_t out[ARP_LEN];

	if (arp_parse(&v, p, len) != WIRE_OK)
		return;
	f.af_op = arp_op(&v);
	memcpy(f.af_sha, arp_sha(&v), 6);
	f.af_spa = arp_spa(&v);
	memcpy(f.af_tha, arp_tha(&v), 6);
	f.af_tpa = arp_tpa(&v);
	CHECK(arp_emit(out, sizeof(out), &f) == ARP_LEN);
	CHECK(memcmp(out, p, ARP_LEN) == 0);
}

static void
fuzz_icmp(const uint8_t *p, size_t len)
{
	struct icmp_view v;
	struct icmp_quote q;

	if (icmp_parse(&v, p, len) != WIRE_OK)
		return;
	use(icmp_type(&v) + icmp_code(&v) + icmp_cksum(&v) + icmp_rest(&v));
	use(sum_bytes(icmp_payload(&v), icmp_payload_len(&v)));
	if (icmp_quote_parse(&v, &q) != WIRE_OK)
		return;
	CHECK(q.iq_l4len >= ICMP_QUOTE_MIN_L4);
	CHECK(q.iq_l4 == ip4_payload(&q.iq_ip));
	use(ip4_src(&q.iq_ip) ^ ip4_dst(&q.iq_ip) ^ ip4_proto(&q.iq_ip) ^ ip4_totlen(&q.iq_ip));
	use(icmp_quote_sport(&q) + icmp_quote_dport(&q));
	use(sum_bytes(q.iq_l4, q.iq_l4len) + sum_bytes(ip4_opts(&q.iq_ip), ip4_optlen(&q.iq_ip)));
}

static void
fuzz_igmp(const uint8_t *p, size_t len)
{
	struct igmp_rec_iter it;
	struct igmp_rec r;
	struct igmp_view v;
	uint16_t i, n = 0;

	if (igmp_parse(&v, p, len) != WIRE_OK)
		return;
	CHECK(v.igv_len <= len);
	use(igmp_type(&v) + igmp_group(&v) + igmp_cksum(&v) + igmp_max_resp_ds(&v));
	if (igmp_version(&v) == 3 && igmp_type(&v) == IGMP_QUERY) {
		use(igmp_q_sflag(&v) + igmp_q_qrv(&v) + igmp_code_decode(igmp_q_qqic(&v)));
		for (i = 0; i < igmp_q_nsrc(&v); i++)
			use(igmp_q_source(&v, i));
	}
	igmp_rec_begin(&it, &v);
	while (igmp_rec_next(&it, &r)) {
		for (i = 0; i < r.ir_nsrc; i++)
			use(igmp_rec_source(&r, i));
		use(r.ir_group + r.ir_type + r.ir_auxlen);
		n++;
	}
	CHECK(igmp_type(&v) != IGMP_V3_REPORT || n == igmp_r_nrec(&v));
}

static void
fuzz_udp(const uint8_t *p, size_t len)
{
	struct udp_view v;
	uint8_t out[UDP_HDR_LEN];

	if (udp_parse(&v, p, len) != WIRE_OK)
		return;
	CHECK(udp_emit(out, sizeof(out), udp_sport(&v), udp_dport(&v),
	    udp_payload_len(&v)) == UDP_HDR_LEN);
	udp_set_cksum(out, udp_cksum(&v));
	CHECK(memcmp(out, p, UDP_HDR_LEN) == 0);
	use(sum_bytes(udp_payload(&v), udp_payload_len(&v)));
}

/* Rebuild the header from the accessors and compare (the reserved flag is not a field). */
static void
fuzz_ip_rebuild(const struct ip4_view *v)
{
	uint8_t out[IP4_MAX_HDR_LEN], orig[IP4_MAX_HDR_LEN];
	struct ip4_fields f = {
		.if_tos = ip4_tos(v), .if_id = ip4_id(v), .if_df = ip4_df(v),
		.if_mf = ip4_mf(v), .if_fragoff = ip4_fragoff(v), .if_ttl = ip4_ttl(v),
		.if_proto = ip4_proto(v), .if_src = ip4_src(v), .if_dst = ip4_dst(v),
		.if_opts = ip4_opts(v), .if_optlen = ip4_optlen(v),
		.if_payload_len = ip4_payload_len(v),
	};

	CHECK(ip4_emit(out, sizeof(out), &f) == ip4_hlen(v));
	ip4_set_cksum(out, ip4_cksum(v));
	memcpy(orig, ip4_header(v), ip4_hlen(v));
	orig[6] &= (uint8_t)~(IP4_FLAG_RF >> 8);
	CHECK(memcmp(out, orig, ip4_hlen(v)) == 0);
}

static void
fuzz_ip(const uint8_t *p, size_t len)
{
	struct ip4_opt_iter it;
	struct ip4_opt o;
	struct ip4_view v;
	int n = 0;

	if (ip4_parse(&v, p, len) != WIRE_OK)
		return;
	CHECK(ip4_totlen(&v) <= len && ip4_hlen(&v) <= ip4_totlen(&v));
	fuzz_ip_rebuild(&v);
	ip4_opt_begin(&it, &v);
	while (ip4_opt_next(&it, &o) && n++ < IP4_MAX_OPT_LEN)
		use(o.io_type + sum_bytes(o.io_data, o.io_datalen));
	CHECK((it.it_reason == WIRE_OK) == (ip4_opts_check(&v) == WIRE_OK));
	switch (ip4_proto(&v)) {
	case IPPROTO4_ICMP:
		fuzz_icmp(ip4_payload(&v), ip4_payload_len(&v));
		break;
	case IPPROTO4_IGMP:
		fuzz_igmp(ip4_payload(&v), ip4_payload_len(&v));
		break;
	case IPPROTO4_UDP:
		fuzz_udp(ip4_payload(&v), ip4_payload_len(&v));
		break;
	default:
		use(sum_bytes(ip4_payload(&v), ip4_payload_len(&v)));
	}
}

static void
fuzz_ether_rebuild(const struct ether_view *v)
{
	uint8_t out[ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN];
	struct ether_fields f = { .ef_type = ether_type(v), .ef_tagged = ether_tagged(v),
	    .ef_tci = v->ev_tci };

	memcpy(f.ef_dst, ether_dst(v), ETHER_ADDR_LEN);
	memcpy(f.ef_src, ether_src(v), ETHER_ADDR_LEN);
	CHECK(ether_emit(out, sizeof(out), &f) == v->ev_hlen);
	CHECK(memcmp(out, v->ev_buf, v->ev_hlen) == 0);
	CHECK(ether_vlan_id(v) == (v->ev_tci & 0xfff));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ether_view v;

	if (ether_parse(&v, data, size) != WIRE_OK)
		return 0;
	fuzz_ether_rebuild(&v);
	use(ether_addr_is_broadcast(ether_dst(&v)) + ether_addr_is_multicast(ether_src(&v)));
	switch (ether_type(&v)) {
	case ETHERTYPE_ARP:
		fuzz_arp(ether_payload(&v), ether_payload_len(&v));
		break;
	case ETHERTYPE_IP:
		fuzz_ip(ether_payload(&v), ether_payload_len(&v));
		break;
	default:
		break;
	}
	return 0;
}
