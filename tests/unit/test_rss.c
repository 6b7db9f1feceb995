/*
 * test_rss.c - the frame hash of the in-memory drivers against the Toeplitz reference
 * functions: IPv4 and IPv6 TCP/UDP 4-tuples, other protocols and fragments on the
 * 2-tuple, IPv4 options skipped, non-IP and truncated frames on the opaque MAC hash,
 * frames split over a chain of mbufs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dev/rss.h"
#include "lib/toeplitz.h"
#include "nettest.h"

struct fx {
	struct toeplitz		tz;
	struct mbuf_pools	*mp;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct mbuf_pools_config pc = { .ncpu = 1 };

	toeplitz_init(&f->tz, toeplitz_default_key);
	f->mp = mbuf_pools_create(&pc);
	assert_non_null(f->mp);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	assert_int_equal(mbuf_pools_destroy(f->mp), 0);
	free(f);
	return 0;
}

static const uint8_t s4[4] = { 192, 0, 2, 1 }, d4[4] = { 198, 51, 100, 7 };
static const uint8_t s6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t d6[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 2, [15] = 9 };

static int
ip4_frame(uint8_t *b, int proto, int ihl_words, uint16_t frag, int len)
{
	int ihl = ihl_words * 4;

	memset(b, 0, 128);
	b[12] = 0x08;
	b[14] = (uint8_t)(0x40 | ihl_words);
	b[14 + 6] = (uint8_t)(frag >> 8);
	b[14 + 7] = (uint8_t)frag;
	b[14 + 9] = (uint8_t)proto;
	memcpy(b + 14 + 12, s4, 4);
	memcpy(b + 14 + 16, d4, 4);
	b[14 + ihl] = 0x12;	/* sport 0x1234 */
	b[14 + ihl + 1] = 0x34;
	b[14 + ihl + 2] = 0x00;	/* dport 80 */
	b[14 + ihl + 3] = 80;
	return len;
}

static uint32_t
hash_of(struct fx *f, const uint8_t *b, int len, int split, uint8_t *ht)
{
	struct mbuf *m = m_devget(f->mp, b, split, 0, 0);
	uint32_t h;

	assert_non_null(m);
	if (split < len)
		assert_int_equal(m_append(m, len - split, b + split), 0);
	h = rss_frame_hash(&f->tz, m, ht);
	m_freem(m);
	return h;
}

static void
test_ip4(void **state)
{
	struct fx *f = *state;
	uint8_t b[128], ht;
	uint32_t s, d;
	int split;

	memcpy(&s, s4, 4);
	memcpy(&d, d4, 4);
	for (split = 1; split <= 60; split += 59) {	/* one mbuf, and a chain */
		ip4_frame(b, 17, 5, 0, 60);
		assert_int_equal(hash_of(f, b, 60, split, &ht),
		    toeplitz_hash_ip4(&f->tz, s, d, htons(0x1234), htons(80)));
		assert_int_equal(ht, M_HASHTYPE_RSS_UDP_IPV4);
		ip4_frame(b, 6, 7, 0, 80);	/* TCP with 8 bytes of options */
		assert_int_equal(hash_of(f, b, 80, split, &ht),
		    toeplitz_hash_ip4(&f->tz, s, d, htons(0x1234), htons(80)));
		assert_int_equal(ht, M_HASHTYPE_RSS_TCP_IPV4);
		ip4_frame(b, 17, 5, 0x2000, 60);	/* first fragment (MF): 2-tuple */
		assert_int_equal(hash_of(f, b, 60, split, &ht),
		    toeplitz_hash_ip4(&f->tz, s, d, 0, 0));
		assert_int_equal(ht, M_HASHTYPE_RSS_IPV4);
		ip4_frame(b, 1, 5, 0, 60);	/* ICMP: 2-tuple */
		assert_int_equal(hash_of(f, b, 60, split, &ht),
		    toeplitz_hash_ip4(&f->tz, s, d, 0, 0));
		assert_int_equal(ht, M_HASHTYPE_RSS_IPV4);
	}
}

static void
test_ip6(void **state)
{
	struct fx *f = *state;
	uint8_t b[128] = { 0 }, ht;

	b[12] = 0x86;
	b[13] = 0xdd;
	b[14] = 0x60;
	b[14 + 6] = 17;
	memcpy(b + 14 + 8, s6, 16);
	memcpy(b + 14 + 24, d6, 16);
	b[54] = 0x12;
	b[55] = 0x34;
	b[57] = 53;
	assert_int_equal(hash_of(f, b, 80, 80, &ht),
	    toeplitz_hash_ip6(&f->tz, s6, d6, htons(0x1234), htons(53)));
	assert_int_equal(ht, M_HASHTYPE_RSS_UDP_IPV6);
	b[14 + 6] = 58;	/* ICMPv6: 2-tuple */
	assert_int_equal(hash_of(f, b, 80, 80, &ht), toeplitz_hash_ip6(&f->tz, s6, d6, 0, 0));
	assert_int_equal(ht, M_HASHTYPE_RSS_IPV6);
}

static void
test_opaque(void **state)
{
	struct fx *f = *state;
	uint8_t b[128], ht;

	ip4_frame(b, 17, 5, 0, 60);
	b[12] = 0x08;
	b[13] = 0x06;	/* ARP */
	assert_int_equal(hash_of(f, b, 60, 60, &ht), toeplitz_hash(&f->tz, b, 14));
	assert_int_equal(ht, M_HASHTYPE_OPAQUE);
	ip4_frame(b, 17, 5, 0, 60);
	b[14] = 0x44;	/* IHL 4: not sane IPv4, opaque */
	assert_int_equal(hash_of(f, b, 60, 60, &ht), toeplitz_hash(&f->tz, b, 14));
	assert_int_equal(ht, M_HASHTYPE_OPAQUE);
	ip4_frame(b, 17, 5, 0, 60);
	assert_int_equal(hash_of(f, b, 30, 30, &ht), toeplitz_hash(&f->tz, b, 14));
	assert_int_equal(ht, M_HASHTYPE_OPAQUE);	/* truncated IPv4 header */
	assert_int_equal(hash_of(f, b, 10, 10, &ht), 0);	/* runt */
	assert_int_equal(ht, M_HASHTYPE_OPAQUE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ip4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ip6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_opaque, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
