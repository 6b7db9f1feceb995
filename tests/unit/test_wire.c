/*
 * test_wire.c - unit tests of the link and network packet formats: Ethernet/802.1Q, ARP,
 * IPv4 (options, fragment fields) and UDP, plus the reason names.
 *
 * Each format gets a builder/parser round trip, every refusal reason and the boundary
 * lengths on both sides of each check.  Checksums are computed by a small local RFC 1071
 * reference (the library does not compute them).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net/ether_wire.h"
#include "net/wire.h"
#include "netinet/arp_wire.h"
#include "netinet/ip_wire.h"
#include "netinet/udp_wire.h"

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[6] = { 0x02, 0, 0, 0, 0, 0x0b };
#define ADDR_1	0xc0000201u	/* 192.0.2.1 */
#define ADDR_2	0xc0000202u	/* 192.0.2.2 */

/* RFC 1071 reference, test only. */
static uint16_t
ref_cksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void
test_reason_names(void **state)
{
	int i, j;

	(void)state;
	assert_string_equal(wire_reason_name(WIRE_OK), "ok");
	assert_string_equal(wire_reason_name(WIRE_BAD_HLEN), "bad_hlen");
	assert_string_equal(wire_reason_name(WIRE_REASON_COUNT), "?");
	assert_string_equal(wire_reason_name((enum wire_reason)-1), "?");
	for (i = 0; i < WIRE_REASON_COUNT; i++) {
		assert_string_not_equal(wire_reason_name(i), "?");
		for (j = 0; j < i; j++)
			assert_string_not_equal(wire_reason_name(i), wire_reason_name(j));
	}
}

static void
test_ether_roundtrip(void **state)
{
	struct ether_fields f = { .ef_type = ETHERTYPE_IP };
	struct ether_view v;
	uint8_t buf[64];

	(void)state;
	memcpy(f.ef_dst, mac_a, 6);
	memcpy(f.ef_src, mac_b, 6);
	assert_int_equal(ether_emit(buf, sizeof(buf), &f), ETHER_HDR_LEN);
	assert_int_equal(ether_parse(&v, buf, 60), WIRE_OK);
	assert_memory_equal(ether_dst(&v), mac_a, 6);
	assert_memory_equal(ether_src(&v), mac_b, 6);
	assert_int_equal(ether_type(&v), ETHERTYPE_IP);
	assert_false(ether_tagged(&v));
	assert_ptr_equal(ether_payload(&v), buf + 14);
	assert_int_equal(ether_payload_len(&v), 46);
	/* Exactly a header: empty payload. */
	assert_int_equal(ether_parse(&v, buf, 14), WIRE_OK);
	assert_int_equal(ether_payload_len(&v), 0);
}

static void
test_ether_vlan(void **state)
{
	struct ether_fields f = { .ef_type = ETHERTYPE_ARP, .ef_tagged = true,
	    .ef_tci = 5 << 13 | 10 };
	struct ether_view v;
	uint8_t buf[64];

	(void)state;
	memcpy(f.ef_dst, mac_a, 6);
	memcpy(f.ef_src, mac_b, 6);
	assert_int_equal(ether_emit(buf, sizeof(buf), &f), 18);
	assert_int_equal(buf[12], 0x81);
	assert_int_equal(buf[13], 0x00);
	assert_int_equal(ether_parse(&v, buf, 18), WIRE_OK);
	assert_true(ether_tagged(&v));
	assert_int_equal(ether_vlan_id(&v), 10);
	assert_int_equal(ether_vlan_pcp(&v), 5);
	assert_int_equal(ether_type(&v), ETHERTYPE_ARP);
	assert_int_equal(ether_payload_len(&v), 0);
	assert_ptr_equal(ether_payload(&v), buf + 18);
	for (size_t n = 14; n < 18; n++)
		assert_int_equal(ether_parse(&v, buf, n), WIRE_TRUNCATED);
}

static void
test_ether_refusals(void **state)
{
	uint8_t buf[64] = { 0 };
	struct ether_view v;
	struct ether_fields f = { .ef_type = 0x05dc };

	(void)state;
	assert_int_equal(ether_parse(&v, buf, 0), WIRE_TRUNCATED);
	assert_int_equal(ether_parse(&v, buf, 13), WIRE_TRUNCATED);
	wire_put16(buf + 12, 0x05ff);
	assert_int_equal(ether_parse(&v, buf, 60), WIRE_NOT_ETHER2);
	wire_put16(buf + 12, 0x0600);
	assert_int_equal(ether_parse(&v, buf, 60), WIRE_OK);
	/* A tag whose inner type is an 802.3 length. */
	wire_put16(buf + 12, ETHERTYPE_VLAN);
	wire_put16(buf + 16, 64);
	assert_int_equal(ether_parse(&v, buf, 60), WIRE_NOT_ETHER2);
	/* Builder errors. */
	assert_int_equal(ether_emit(buf, 64, &f), -EINVAL);
	f.ef_type = ETHERTYPE_IP;
	assert_int_equal(ether_emit(buf, 13, &f), -ENOSPC);
	f.ef_tagged = true;
	assert_int_equal(ether_emit(buf, 17, &f), -ENOSPC);
	assert_int_equal(ether_emit(buf, 18, &f), 18);
}

static void
test_ether_addr_kinds(void **state)
{
	static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t mc[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };

	(void)state;
	assert_true(ether_addr_is_broadcast(bc));
	assert_true(ether_addr_is_multicast(bc));
	assert_false(ether_addr_is_broadcast(mc));
	assert_true(ether_addr_is_multicast(mc));
	assert_false(ether_addr_is_multicast(mac_a));
}

static void
test_arp_roundtrip(void **state)
{
	struct arp_fields f = { .af_op = ARP_OP_REQUEST, .af_spa = ADDR_1, .af_tpa = ADDR_2 };
	struct arp_view v;
	uint8_t buf[64] = { 0 };

	(void)state;
	memcpy(f.af_sha, mac_a, 6);
	memcpy(f.af_tha, mac_b, 6);
	assert_int_equal(arp_emit(buf, sizeof(buf), &f), ARP_LEN);
	assert_int_equal(arp_parse(&v, buf, ARP_LEN), WIRE_OK);
	assert_int_equal(arp_op(&v), ARP_OP_REQUEST);
	assert_memory_equal(arp_sha(&v), mac_a, 6);
	assert_memory_equal(arp_tha(&v), mac_b, 6);
	assert_int_equal(arp_spa(&v), ADDR_1);
	assert_int_equal(arp_tpa(&v), ADDR_2);
	/* Wire layout of the addresses. */
	assert_int_equal(buf[14], 192);
	assert_int_equal(buf[17], 1);
	/* Padding after the packet is ignored. */
	assert_int_equal(arp_parse(&v, buf, 46), WIRE_OK);
	assert_int_equal(arp_emit(buf, ARP_LEN - 1, &f), -ENOSPC);
}

static void
test_arp_refusals(void **state)
{
	struct arp_fields f = { .af_op = ARP_OP_REPLY };
	struct arp_view v;
	uint8_t buf[ARP_LEN], bad[ARP_LEN];

	(void)state;
	arp_emit(buf, sizeof(buf), &f);
	assert_int_equal(arp_parse(&v, buf, ARP_LEN - 1), WIRE_TRUNCATED);
	assert_int_equal(arp_parse(&v, buf, 0), WIRE_TRUNCATED);
	memcpy(bad, buf, ARP_LEN);
	bad[1] = 6;
	assert_int_equal(arp_parse(&v, bad, ARP_LEN), WIRE_BAD_HTYPE);
	memcpy(bad, buf, ARP_LEN);
	wire_put16(bad + 2, ETHERTYPE_IPV6);
	assert_int_equal(arp_parse(&v, bad, ARP_LEN), WIRE_BAD_PTYPE);
	memcpy(bad, buf, ARP_LEN);
	bad[4] = 8;
	assert_int_equal(arp_parse(&v, bad, ARP_LEN), WIRE_BAD_ADDRLEN);
	memcpy(bad, buf, ARP_LEN);
	bad[5] = 16;
	assert_int_equal(arp_parse(&v, bad, ARP_LEN), WIRE_BAD_ADDRLEN);
	memcpy(bad, buf, ARP_LEN);
	wire_put16(bad + 6, 3);
	assert_int_equal(arp_parse(&v, bad, ARP_LEN), WIRE_BAD_OP);
	wire_put16(bad + 6, 0);
	assert_int_equal(arp_parse(&v, bad, ARP_LEN), WIRE_BAD_OP);
}

static struct ip4_fields
ip_fields(size_t payload_len)
{
	struct ip4_fields f = {
		.if_tos = 0x10, .if_id = 0x1234, .if_ttl = 64, .if_proto = IPPROTO4_UDP,
		.if_src = ADDR_1, .if_dst = ADDR_2, .if_payload_len = payload_len,
	};
	return f;
}

static void
test_ip_roundtrip(void **state)
{
	struct ip4_fields f = ip_fields(12);
	struct ip4_view v;
	uint8_t buf[64];

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(ip4_emit(buf, sizeof(buf), &f), IP4_HDR_LEN);
	assert_int_equal(buf[0], 0x45);
	assert_int_equal(ip4_parse(&v, buf, 32), WIRE_OK);
	assert_int_equal(ip4_hlen(&v), 20);
	assert_int_equal(ip4_totlen(&v), 32);
	assert_int_equal(ip4_tos(&v), 0x10);
	assert_int_equal(ip4_id(&v), 0x1234);
	assert_int_equal(ip4_ttl(&v), 64);
	assert_int_equal(ip4_proto(&v), IPPROTO4_UDP);
	assert_int_equal(ip4_src(&v), ADDR_1);
	assert_int_equal(ip4_dst(&v), ADDR_2);
	assert_int_equal(ip4_cksum(&v), 0);
	assert_false(ip4_df(&v));
	assert_false(ip4_is_fragment(&v));
	assert_int_equal(ip4_optlen(&v), 0);
	assert_ptr_equal(ip4_payload(&v), buf + 20);
	assert_int_equal(ip4_payload_len(&v), 12);
	assert_int_equal(ip4_opts_check(&v), WIRE_OK);
	/* Link padding past totlen is not part of the datagram. */
	assert_int_equal(ip4_parse(&v, buf, 60), WIRE_OK);
	assert_int_equal(ip4_payload_len(&v), 12);
	/* A checksum stored by the caller verifies with the reference. */
	ip4_set_cksum(buf, ref_cksum(buf, 20));
	assert_int_equal(ref_cksum(buf, 20), 0);
	assert_int_equal(ip4_parse(&v, buf, 32), WIRE_OK);
	assert_int_not_equal(ip4_cksum(&v), 0);
}

static void
test_ip_fragment_fields(void **state)
{
	struct ip4_fields f = ip_fields(8);
	struct ip4_view v;
	uint8_t buf[64];

	(void)state;
	f.if_mf = true;
	f.if_fragoff = 1480;
	assert_int_equal(ip4_emit(buf, sizeof(buf), &f), 20);
	assert_int_equal(ip4_parse(&v, buf, 28), WIRE_OK);
	assert_true(ip4_mf(&v));
	assert_false(ip4_df(&v));
	assert_int_equal(ip4_fragoff(&v), 1480);
	assert_true(ip4_is_fragment(&v));
	assert_int_equal(ip4_off_raw(&v), IP4_FLAG_MF | 185);
	/* Last fragment: offset only. */
	f.if_mf = false;
	ip4_emit(buf, sizeof(buf), &f);
	ip4_parse(&v, buf, 28);
	assert_true(ip4_is_fragment(&v));
	/* DF alone is not a fragment; the largest offset. */
	f.if_df = true;
	f.if_fragoff = 8 * IP4_OFFMASK;
	ip4_emit(buf, sizeof(buf), &f);
	ip4_parse(&v, buf, 28);
	assert_true(ip4_df(&v));
	assert_int_equal(ip4_fragoff(&v), 65528);
	f.if_fragoff = 0;
	ip4_emit(buf, sizeof(buf), &f);
	ip4_parse(&v, buf, 28);
	assert_false(ip4_is_fragment(&v));
}

static void
test_ip_refusals(void **state)
{
	struct ip4_fields f = ip_fields(0);
	struct ip4_view v;
	uint8_t buf[80], bad[80];

	(void)state;
	memset(buf, 0, sizeof(buf));
	ip4_emit(buf, sizeof(buf), &f);
	assert_int_equal(ip4_parse(&v, buf, 20), WIRE_OK);
	assert_int_equal(ip4_parse(&v, buf, 0), WIRE_TRUNCATED);
	assert_int_equal(ip4_parse(&v, buf, 19), WIRE_TRUNCATED);
	memcpy(bad, buf, sizeof(bad));
	bad[0] = 0x65;
	assert_int_equal(ip4_parse(&v, bad, 20), WIRE_BAD_VERSION);
	bad[0] = 0x44;
	assert_int_equal(ip4_parse(&v, bad, 20), WIRE_BAD_HLEN);
	bad[0] = 0x40;
	assert_int_equal(ip4_parse(&v, bad, 20), WIRE_BAD_HLEN);
	/* IHL 15 = 60 bytes: truncated below 60, fine at 60 with totlen 60. */
	bad[0] = 0x4f;
	wire_put16(bad + 2, 60);
	assert_int_equal(ip4_parse(&v, bad, 59), WIRE_TRUNCATED);
	assert_int_equal(ip4_parse(&v, bad, 60), WIRE_OK);
	assert_int_equal(ip4_optlen(&v), 40);
	assert_int_equal(ip4_payload_len(&v), 0);
	/* Total length below the header, above the buffer. */
	memcpy(bad, buf, sizeof(bad));
	wire_put16(bad + 2, 19);
	assert_int_equal(ip4_parse(&v, bad, 40), WIRE_SHORT_TOTLEN);
	bad[0] = 0x46;
	wire_put16(bad + 2, 23);
	assert_int_equal(ip4_parse(&v, bad, 40), WIRE_SHORT_TOTLEN);
	wire_put16(bad + 2, 24);
	assert_int_equal(ip4_parse(&v, bad, 40), WIRE_OK);
	wire_put16(bad + 2, 41);
	assert_int_equal(ip4_parse(&v, bad, 40), WIRE_BAD_TOTLEN);
	wire_put16(bad + 2, 40);
	assert_int_equal(ip4_parse(&v, bad, 40), WIRE_OK);
	assert_int_equal(ip4_payload_len(&v), 16);
}

static void
test_ip_options(void **state)
{
	static const uint8_t opts[8] = { IP4_OPT_NOP, IP4_OPT_RA, 4, 0, 0,
	    IP4_OPT_EOL, 0xaa, 0xbb };
	struct ip4_fields f = ip_fields(4);
	struct ip4_opt_iter it;
	struct ip4_opt o;
	struct ip4_view v;
	uint8_t buf[64];

	(void)state;
	f.if_opts = opts;
	f.if_optlen = sizeof(opts);
	assert_int_equal(ip4_emit(buf, sizeof(buf), &f), 28);
	assert_int_equal(buf[0], 0x47);
	assert_int_equal(ip4_parse(&v, buf, 32), WIRE_OK);
	assert_int_equal(ip4_optlen(&v), 8);
	assert_memory_equal(ip4_opts(&v), opts, 8);
	assert_int_equal(ip4_payload_len(&v), 4);
	ip4_opt_begin(&it, &v);
	assert_true(ip4_opt_next(&it, &o));
	assert_int_equal(o.io_type, IP4_OPT_NOP);
	assert_int_equal(o.io_len, 1);
	assert_int_equal(o.io_datalen, 0);
	assert_true(ip4_opt_next(&it, &o));
	assert_int_equal(o.io_type, IP4_OPT_RA);
	assert_int_equal(o.io_len, 4);
	assert_int_equal(o.io_datalen, 2);
	assert_ptr_equal(o.io_data, buf + 23);
	assert_false(ip4_opt_next(&it, &o));	/* EOL */
	assert_int_equal(it.it_reason, WIRE_OK);
	assert_int_equal(ip4_opts_check(&v), WIRE_OK);
}

/* Parse a header whose 4 option bytes are o0..o3 and check its options. */
static enum wire_reason
ip_opts_verdict(uint8_t o0, uint8_t o1, uint8_t o2, uint8_t o3)
{
	const uint8_t opts[4] = { o0, o1, o2, o3 };
	struct ip4_fields f = ip_fields(0);
	struct ip4_view v;
	uint8_t buf[24];

	f.if_opts = opts;
	f.if_optlen = 4;
	assert_int_equal(ip4_emit(buf, sizeof(buf), &f), 24);
	assert_int_equal(ip4_parse(&v, buf, 24), WIRE_OK);
	return ip4_opts_check(&v);
}

static void
test_ip_bad_options(void **state)
{
	(void)state;
	assert_int_equal(ip_opts_verdict(IP4_OPT_NOP, IP4_OPT_NOP, IP4_OPT_NOP, IP4_OPT_NOP), WIRE_OK);
	assert_int_equal(ip_opts_verdict(IP4_OPT_RA, 4, 0, 0), WIRE_OK);
	assert_int_equal(ip_opts_verdict(IP4_OPT_RA, 5, 0, 0), WIRE_BAD_OPTION);	/* past end */
	assert_int_equal(ip_opts_verdict(IP4_OPT_RA, 1, 0, 0), WIRE_BAD_OPTION);	/* len < 2 */
	assert_int_equal(ip_opts_verdict(IP4_OPT_RA, 0, 0, 0), WIRE_BAD_OPTION);
	/* A type byte without its length byte at the very end. */
	assert_int_equal(ip_opts_verdict(IP4_OPT_NOP, IP4_OPT_NOP, IP4_OPT_NOP, IP4_OPT_RR), WIRE_BAD_OPTION);
	/* After EOL, bytes are not looked at. */
	assert_int_equal(ip_opts_verdict(IP4_OPT_EOL, 0xff, 0xff, 0xff), WIRE_OK);
	assert_int_equal(ip_opts_verdict(IP4_OPT_RR, 2, IP4_OPT_NOP, IP4_OPT_EOL), WIRE_OK);
}

static void
test_ip_emit_errors(void **state)
{
	static const uint8_t opts[44];
	struct ip4_fields f = ip_fields(0);
	uint8_t buf[80];

	(void)state;
	assert_int_equal(ip4_emit(buf, 19, &f), -ENOSPC);
	f.if_opts = opts;
	f.if_optlen = 3;
	assert_int_equal(ip4_emit(buf, sizeof(buf), &f), -EINVAL);
	f.if_optlen = 44;
	assert_int_equal(ip4_emit(buf, sizeof(buf), &f), -EINVAL);
	f.if_optlen = 40;
	assert_int_equal(ip4_emit(buf, 59, &f), -ENOSPC);
	assert_int_equal(ip4_emit(buf, 60, &f), 60);
	f.if_optlen = 0;
	f.if_fragoff = 7;
	assert_int_equal(ip4_emit(buf, sizeof(buf), &f), -EINVAL);
	f.if_fragoff = 65536;
	assert_int_equal(ip4_emit(buf, sizeof(buf), &f), -EINVAL);
	f.if_fragoff = 0;
	f.if_payload_len = 65535 - 20;
	assert_int_equal(ip4_emit(buf, sizeof(buf), &f), 20);
	f.if_payload_len++;
	assert_int_equal(ip4_emit(buf, sizeof(buf), &f), -EINVAL);
}

static void
test_udp(void **state)
{
	struct udp_view v;
	uint8_t buf[32];

	(void)state;
	memset(buf, 0, sizeof(buf));
	assert_int_equal(udp_emit(buf, sizeof(buf), 5353, 53, 4), UDP_HDR_LEN);
	memcpy(buf + 8, "abcd", 4);
	assert_int_equal(udp_parse(&v, buf, 12), WIRE_OK);
	assert_int_equal(udp_sport(&v), 5353);
	assert_int_equal(udp_dport(&v), 53);
	assert_int_equal(udp_length(&v), 12);
	assert_int_equal(udp_cksum(&v), 0);
	assert_int_equal(udp_payload_len(&v), 4);
	assert_memory_equal(udp_payload(&v), "abcd", 4);
	udp_set_cksum(buf, 0xbeef);
	assert_int_equal(udp_parse(&v, buf, 12), WIRE_OK);
	assert_int_equal(udp_cksum(&v), 0xbeef);
	/* Bytes past the length field are not payload. */
	assert_int_equal(udp_parse(&v, buf, 20), WIRE_OK);
	assert_int_equal(udp_payload_len(&v), 4);
	/* Refusals. */
	assert_int_equal(udp_parse(&v, buf, 7), WIRE_TRUNCATED);
	assert_int_equal(udp_parse(&v, buf, 11), WIRE_BAD_TOTLEN);
	wire_put16(buf + 4, 7);
	assert_int_equal(udp_parse(&v, buf, 12), WIRE_BAD_LENGTH);
	wire_put16(buf + 4, 8);
	assert_int_equal(udp_parse(&v, buf, 8), WIRE_OK);
	assert_int_equal(udp_payload_len(&v), 0);
	/* Builder errors. */
	assert_int_equal(udp_emit(buf, 7, 1, 2, 0), -ENOSPC);
	assert_int_equal(udp_emit(buf, 8, 1, 2, 65535 - 8), 8);
	assert_int_equal(udp_emit(buf, 8, 1, 2, 65535 - 7), -EINVAL);
}

/* Every parser refuses every prefix shorter than its minimum and reads no further. */
static void
test_short_prefixes(void **state)
{
	uint8_t buf[8] = { 0x45, 0, 0, 20, 0, 0, 0, 0 };
	struct ether_view ev;
	struct arp_view av;
	struct ip4_view iv;
	struct udp_view uv;
	size_t n;

	(void)state;
	for (n = 0; n < sizeof(buf); n++) {
		assert_int_equal(ether_parse(&ev, buf, n), WIRE_TRUNCATED);
		assert_int_equal(arp_parse(&av, buf, n), WIRE_TRUNCATED);
		assert_int_equal(ip4_parse(&iv, buf, n), WIRE_TRUNCATED);
		assert_int_equal(udp_parse(&uv, buf, n), WIRE_TRUNCATED);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_ether_roundtrip),
		cmocka_unit_test(test_ether_vlan),
		cmocka_unit_test(test_ether_refusals),
		cmocka_unit_test(test_ether_addr_kinds),
		cmocka_unit_test(test_arp_roundtrip),
		cmocka_unit_test(test_arp_refusals),
		cmocka_unit_test(test_ip_roundtrip),
		cmocka_unit_test(test_ip_fragment_fields),
		cmocka_unit_test(test_ip_refusals),
		cmocka_unit_test(test_ip_options),
		cmocka_unit_test(test_ip_bad_options),
		cmocka_unit_test(test_ip_emit_errors),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_short_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
