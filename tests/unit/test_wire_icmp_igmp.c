/*
 * test_wire_icmp_igmp.c - unit tests of the ICMPv4 (echo, errors, quoted datagram) and
 * IGMP v1/v2/v3 (queries, reports, floating-point codes) packet formats.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netinet/icmp_wire.h"
#include "netinet/igmp_wire.h"
#include "netinet/ip_wire.h"
#include "netinet/udp_wire.h"

#define ADDR_1	0xc0000201u	/* 192.0.2.1 */
#define ADDR_2	0xc0000202u	/* 192.0.2.2 */
#define GROUP	0xe0000116u	/* 224.0.1.22 */

static void
test_icmp_echo(void **state)
{
	struct icmp_fields f = { ICMP_ECHO, 0, icmp_rest_echo(0xabcd, 7) };
	struct icmp_view v;
	struct icmp_quote q;
	uint8_t buf[64];

	(void)state;
	assert_int_equal(icmp_emit(buf, sizeof(buf), &f), ICMP_HDR_LEN);
	memcpy(buf + 8, "ping", 4);
	assert_int_equal(icmp_parse(&v, buf, 12), WIRE_OK);
	assert_int_equal(icmp_type(&v), ICMP_ECHO);
	assert_int_equal(icmp_code(&v), 0);
	assert_int_equal(icmp_cksum(&v), 0);
	assert_int_equal(icmp_echo_id(&v), 0xabcd);
	assert_int_equal(icmp_echo_seq(&v), 7);
	assert_int_equal(icmp_payload_len(&v), 4);
	assert_memory_equal(icmp_payload(&v), "ping", 4);
	assert_false(icmp_type_is_error(ICMP_ECHO));
	assert_int_equal(icmp_quote_parse(&v, &q), WIRE_NOT_ERROR);
	icmp_set_cksum(buf, 0x1234);
	assert_int_equal(icmp_cksum(&v), 0x1234);
	assert_int_equal(icmp_parse(&v, buf, 8), WIRE_OK);
	assert_int_equal(icmp_payload_len(&v), 0);
	assert_int_equal(icmp_parse(&v, buf, 7), WIRE_TRUNCATED);
	assert_int_equal(icmp_parse(&v, buf, 0), WIRE_TRUNCATED);
	assert_int_equal(icmp_emit(buf, 7, &f), -ENOSPC);
}

/* Build an IPv4/UDP datagram with optlen option bytes and plen payload bytes. */
static size_t
make_udp_datagram(uint8_t *buf, size_t optlen, size_t plen)
{
	static const uint8_t nops[40] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
	struct ip4_fields f = { .if_ttl = 1, .if_proto = IPPROTO4_UDP, .if_src = ADDR_1,
	    .if_dst = ADDR_2, .if_opts = nops, .if_optlen = optlen, .if_df = true,
	    .if_payload_len = UDP_HDR_LEN + plen };
	int hlen = ip4_emit(buf, 128, &f);

	assert_true(hlen > 0);
	udp_emit(buf + hlen, 128, 40000, 33434, plen);
	memset(buf + hlen + UDP_HDR_LEN, 0x5a, plen);
	return (size_t)hlen + UDP_HDR_LEN + plen;
}

static void
test_icmp_needfrag_quote(void **state)
{
	struct icmp_fields f = { ICMP_UNREACH, ICMP_UNREACH_NEEDFRAG, icmp_rest_mtu(1400) };
	uint8_t orig[128], buf[256];
	struct icmp_view v;
	struct icmp_quote q;
	size_t olen = make_udp_datagram(orig, 0, 100);
	int n;

	(void)state;
	n = icmp_emit_error(buf, sizeof(buf), &f, orig, olen, 28);
	assert_int_equal(n, 8 + 28);
	assert_int_equal(icmp_parse(&v, buf, (size_t)n), WIRE_OK);
	assert_true(icmp_type_is_error(icmp_type(&v)));
	assert_int_equal(icmp_code(&v), ICMP_UNREACH_NEEDFRAG);
	assert_int_equal(icmp_nexthop_mtu(&v), 1400);
	assert_int_equal(icmp_quote_parse(&v, &q), WIRE_OK);
	assert_int_equal(ip4_src(&q.iq_ip), ADDR_1);
	assert_int_equal(ip4_dst(&q.iq_ip), ADDR_2);
	assert_int_equal(ip4_proto(&q.iq_ip), IPPROTO4_UDP);
	assert_true(ip4_df(&q.iq_ip));
	/* The quoted length field tells the original size, the view what is present. */
	assert_int_equal(ip4_totlen(&q.iq_ip), olen);
	assert_int_equal(ip4_payload_len(&q.iq_ip), 8);
	assert_int_equal(q.iq_l4len, 8);
	assert_int_equal(icmp_quote_sport(&q), 40000);
	assert_int_equal(icmp_quote_dport(&q), 33434);
	/* A larger quote_max copies more, capped at the original. */
	n = icmp_emit_error(buf, sizeof(buf), &f, orig, olen, 576);
	assert_int_equal(n, 8 + (int)olen);
	icmp_parse(&v, buf, (size_t)n);
	assert_int_equal(icmp_quote_parse(&v, &q), WIRE_OK);
	assert_int_equal(q.iq_l4len, 108);
}

static void
test_icmp_timxceed_with_options(void **state)
{
	struct icmp_fields f = { ICMP_TIMXCEED, ICMP_TIMXCEED_INTRANS, 0 };
	uint8_t orig[128], buf[256];
	struct icmp_view v;
	struct icmp_quote q;
	size_t olen = make_udp_datagram(orig, 40, 0);
	int n;

	(void)state;
	n = icmp_emit_error(buf, sizeof(buf), &f, orig, olen, 68);
	assert_int_equal(n, 8 + 68);
	icmp_parse(&v, buf, (size_t)n);
	assert_int_equal(icmp_quote_parse(&v, &q), WIRE_OK);
	assert_int_equal(ip4_hlen(&q.iq_ip), 60);
	assert_int_equal(icmp_quote_dport(&q), 33434);
	/* 67 bytes: header of 60 but only 7 payload bytes. */
	icmp_parse(&v, buf, 8 + 67);
	assert_int_equal(icmp_quote_parse(&v, &q), WIRE_TRUNCATED);
	/* quote_max below header + 8 is refused. */
	assert_int_equal(icmp_emit_error(buf, sizeof(buf), &f, orig, olen, 67), -EINVAL);
}

static void
test_icmp_quote_refusals(void **state)
{
	struct icmp_fields f = { ICMP_PARAMPROB, 0, icmp_rest_pptr(9) };
	uint8_t orig[128], buf[256], bad[256];
	struct icmp_view v;
	struct icmp_quote q;
	size_t olen = make_udp_datagram(orig, 0, 0);
	int n;

	(void)state;
	n = icmp_emit_error(buf, sizeof(buf), &f, orig, olen, 28);
	assert_int_equal(n, 36);
	icmp_parse(&v, buf, 36);
	assert_int_equal(icmp_param_ptr(&v), 9);
	assert_int_equal(icmp_quote_parse(&v, &q), WIRE_OK);
	for (size_t len = 8; len < 36; len++) {
		icmp_parse(&v, buf, len);
		assert_int_equal(icmp_quote_parse(&v, &q), WIRE_TRUNCATED);
	}
	memcpy(bad, buf, 36);
	bad[8] = 0x65;
	icmp_parse(&v, bad, 36);
	assert_int_equal(icmp_quote_parse(&v, &q), WIRE_BAD_VERSION);
	bad[8] = 0x43;
	assert_int_equal(icmp_quote_parse(&v, &q), WIRE_BAD_HLEN);
	/* Each error type is recognised. */
	static const uint8_t errs[] = { ICMP_UNREACH, ICMP_SOURCEQUENCH, ICMP_REDIRECT,
	    ICMP_TIMXCEED, ICMP_PARAMPROB };
	for (size_t i = 0; i < sizeof(errs); i++) {
		buf[0] = errs[i];
		icmp_parse(&v, buf, 36);
		assert_int_equal(icmp_quote_parse(&v, &q), WIRE_OK);
	}
	buf[0] = ICMP_ECHOREPLY;
	assert_int_equal(icmp_quote_parse(&v, &q), WIRE_NOT_ERROR);
}

static void
test_icmp_emit_error_refusals(void **state)
{
	struct icmp_fields f = { ICMP_REDIRECT, 1, ADDR_2 };
	struct icmp_fields echo = { ICMP_ECHO, 0, 0 };
	uint8_t orig[128], buf[256];
	struct icmp_view v;
	size_t olen = make_udp_datagram(orig, 0, 0);

	(void)state;
	assert_int_equal(icmp_emit_error(buf, sizeof(buf), &echo, orig, olen, 28), -EINVAL);
	assert_int_equal(icmp_emit_error(buf, sizeof(buf), &f, orig, 27, 28), -EINVAL);
	assert_int_equal(icmp_emit_error(buf, 35, &f, orig, olen, 28), -ENOSPC);
	assert_int_equal(icmp_emit_error(buf, 36, &f, orig, olen, 28), 36);
	icmp_parse(&v, buf, 36);
	assert_int_equal(icmp_gateway(&v), ADDR_2);
	orig[0] = 0x55;
	assert_int_equal(icmp_emit_error(buf, sizeof(buf), &f, orig, olen, 28), -EINVAL);
}

static void
test_igmp_v1_v2(void **state)
{
	struct igmp_view v;
	uint8_t buf[16];

	(void)state;
	assert_int_equal(igmp_emit_v2(buf, 8, IGMP_QUERY, 100, 0), 8);
	assert_int_equal(igmp_parse(&v, buf, 8), WIRE_OK);
	assert_int_equal(igmp_version(&v), 2);
	assert_int_equal(igmp_type(&v), IGMP_QUERY);
	assert_int_equal(igmp_max_resp_ds(&v), 100);
	assert_int_equal(igmp_group(&v), 0);
	assert_int_equal(igmp_emit_v2(buf, 8, IGMP_QUERY, 0, 0), 8);
	igmp_parse(&v, buf, 8);
	assert_int_equal(igmp_version(&v), 1);
	assert_int_equal(igmp_max_resp_ds(&v), 100);
	igmp_emit_v2(buf, 8, IGMP_V2_REPORT, 0, GROUP);
	assert_int_equal(igmp_parse(&v, buf, 8), WIRE_OK);
	assert_int_equal(igmp_version(&v), 2);
	assert_int_equal(igmp_group(&v), GROUP);
	igmp_set_cksum(buf, 0xfeed);
	assert_int_equal(igmp_cksum(&v), 0xfeed);
	igmp_emit_v2(buf, 8, IGMP_V2_LEAVE, 0, GROUP);
	igmp_parse(&v, buf, 8);
	assert_int_equal(igmp_version(&v), 2);
	igmp_emit_v2(buf, 8, IGMP_V1_REPORT, 0, GROUP);
	assert_int_equal(igmp_parse(&v, buf, 12), WIRE_OK);
	assert_int_equal(igmp_version(&v), 1);
	assert_int_equal(igmp_parse(&v, buf, 7), WIRE_TRUNCATED);
	assert_int_equal(igmp_emit_v2(buf, 7, IGMP_QUERY, 0, 0), -ENOSPC);
	assert_int_equal(igmp_emit_v2(buf, 8, IGMP_V3_REPORT, 0, 0), -EINVAL);
	buf[0] = 0x13;
	assert_int_equal(igmp_parse(&v, buf, 8), WIRE_BAD_TYPE);
}

static void
test_igmp_v3_query(void **state)
{
	static const uint32_t srcs[3] = { ADDR_1, ADDR_2, 0xc6336401u };
	struct igmp_view v;
	uint8_t buf[64];
	size_t n;

	(void)state;
	assert_int_equal(igmp_emit_v3_query(buf, sizeof(buf), igmp_code_encode(1000), GROUP,
	    true, 2, 125, srcs, 3), 24);
	assert_int_equal(igmp_parse(&v, buf, 24), WIRE_OK);
	assert_int_equal(igmp_version(&v), 3);
	assert_int_equal(igmp_group(&v), GROUP);
	assert_true(igmp_q_sflag(&v));
	assert_int_equal(igmp_q_qrv(&v), 2);
	assert_int_equal(igmp_code_decode(igmp_q_qqic(&v)), 125);
	assert_int_equal(igmp_max_resp_ds(&v), 992);	/* 1000 rounded down */
	assert_int_equal(igmp_q_nsrc(&v), 3);
	for (uint16_t i = 0; i < 3; i++)
		assert_int_equal(igmp_q_source(&v, i), srcs[i]);
	/* Truncated source list; 9..11-byte queries; trailing bytes allowed. */
	for (n = 12; n < 24; n++)
		assert_int_equal(igmp_parse(&v, buf, n), WIRE_TRUNCATED);
	for (n = 9; n < 12; n++)
		assert_int_equal(igmp_parse(&v, buf, n), WIRE_BAD_LENGTH);
	assert_int_equal(igmp_parse(&v, buf, 40), WIRE_OK);
	assert_int_equal(v.igv_len, 24);
	/* Zero sources: exactly 12 bytes. */
	igmp_emit_v3_query(buf, sizeof(buf), 10, 0, false, 0, 0, NULL, 0);
	assert_int_equal(igmp_parse(&v, buf, 12), WIRE_OK);
	assert_int_equal(igmp_version(&v), 3);
	assert_false(igmp_q_sflag(&v));
	assert_int_equal(igmp_emit_v3_query(buf, 23, 0, 0, false, 0, 0, srcs, 3), -ENOSPC);
}

static size_t
make_v3_report(uint8_t *buf, size_t cap)
{
	static const uint32_t s1[2] = { ADDR_1, ADDR_2 };
	size_t off;

	off = (size_t)igmp_emit_v3_report(buf, cap, 3);
	off += (size_t)igmp_emit_v3_rec(buf + off, cap - off, IGMP_MODE_IS_INCLUDE, GROUP,
	    s1, 2);
	off += (size_t)igmp_emit_v3_rec(buf + off, cap - off, IGMP_CHANGE_TO_EXCLUDE,
	    GROUP + 1, NULL, 0);
	off += (size_t)igmp_emit_v3_rec(buf + off, cap - off, IGMP_BLOCK_OLD_SOURCES,
	    GROUP + 2, s1 + 1, 1);
	return off;
}

static void
test_igmp_v3_report(void **state)
{
	struct igmp_rec_iter it;
	struct igmp_rec r;
	struct igmp_view v;
	uint8_t buf[128];
	size_t len = make_v3_report(buf, sizeof(buf)), n;

	(void)state;
	assert_int_equal(len, 8 + 16 + 8 + 12);
	assert_int_equal(igmp_parse(&v, buf, len), WIRE_OK);
	assert_int_equal(igmp_version(&v), 3);
	assert_int_equal(igmp_r_nrec(&v), 3);
	igmp_rec_begin(&it, &v);
	assert_true(igmp_rec_next(&it, &r));
	assert_int_equal(r.ir_type, IGMP_MODE_IS_INCLUDE);
	assert_int_equal(r.ir_nsrc, 2);
	assert_int_equal(r.ir_group, GROUP);
	assert_int_equal(igmp_rec_source(&r, 1), ADDR_2);
	assert_true(igmp_rec_next(&it, &r));
	assert_int_equal(r.ir_type, IGMP_CHANGE_TO_EXCLUDE);
	assert_int_equal(r.ir_nsrc, 0);
	assert_true(igmp_rec_next(&it, &r));
	assert_int_equal(r.ir_group, GROUP + 2);
	assert_int_equal(igmp_rec_source(&r, 0), ADDR_2);
	assert_false(igmp_rec_next(&it, &r));
	for (n = 0; n < len; n++)
		assert_int_equal(igmp_parse(&v, buf, n), WIRE_TRUNCATED);
	/* Auxiliary data words count in the record length. */
	len = (size_t)igmp_emit_v3_report(buf, sizeof(buf), 1);
	len += (size_t)igmp_emit_v3_rec(buf + len, sizeof(buf) - len, IGMP_ALLOW_NEW_SOURCES,
	    GROUP, NULL, 0);
	buf[8 + 1] = 1;
	assert_int_equal(igmp_parse(&v, buf, len), WIRE_TRUNCATED);
	assert_int_equal(igmp_parse(&v, buf, len + 3), WIRE_TRUNCATED);
	memset(buf + len, 0, 4);
	assert_int_equal(igmp_parse(&v, buf, len + 4), WIRE_OK);
	assert_int_equal(v.igv_len, len + 4);
	igmp_rec_begin(&it, &v);
	assert_true(igmp_rec_next(&it, &r));
	assert_int_equal(r.ir_auxlen, 1);
	assert_int_equal(r.ir_type, IGMP_ALLOW_NEW_SOURCES);
	assert_false(igmp_rec_next(&it, &r));
	assert_int_equal(igmp_emit_v3_rec(buf, 11, 1, GROUP, NULL, 1), -ENOSPC);
	assert_int_equal(igmp_emit_v3_report(buf, 7, 0), -ENOSPC);
	/* Non-report views yield no records. */
	igmp_emit_v2(buf, 8, IGMP_V2_REPORT, 0, GROUP);
	igmp_parse(&v, buf, 8);
	igmp_rec_begin(&it, &v);
	assert_false(igmp_rec_next(&it, &r));
}

static void
test_igmp_codes(void **state)
{
	unsigned c;

	(void)state;
	for (c = 0; c < 256; c++)
		assert_int_equal(igmp_code_encode(igmp_code_decode((uint8_t)c)), c);
	assert_int_equal(igmp_code_decode(127), 127);
	assert_int_equal(igmp_code_decode(0x80), 128);
	assert_int_equal(igmp_code_decode(0xff), 31744);
	assert_int_equal(igmp_code_encode(129), 0x80);	/* rounds down */
	assert_int_equal(igmp_code_encode(1000000), 0xff);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_icmp_needfrag_quote),
		cmocka_unit_test(test_icmp_timxceed_with_options),
		cmocka_unit_test(test_icmp_quote_refusals),
		cmocka_unit_test(test_icmp_emit_error_refusals),
		cmocka_unit_test(test_igmp_v1_v2),
		cmocka_unit_test(test_igmp_v3_query),
		cmocka_unit_test(test_igmp_v3_report),
		cmocka_unit_test(test_igmp_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
