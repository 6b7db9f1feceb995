/*
 * test_cksum.c - the Internet checksum against a naive RFC 1071 reference: every length
 * 0..2000 at every alignment 0..7, every split point of a 2000-byte buffer (piecewise
 * sums at odd and even offsets), random three-way splits, the RFC 1071 example, and
 * RFC 1624 incremental updates against recomputation.  Seeded (printed).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/cksum.h"

#define SEED	0x5eed1071u
#define MAXLEN	2000

static unsigned char buf[MAXLEN + 64];

/* Naive: big-endian 16-bit words, 32-bit sum, fold, complement; network order result. */
static uint16_t
ref_cksum(const unsigned char *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i < len; i += 2)
		s += (uint32_t)(p[i] << 8) | (i + 1 < len ? p[i + 1] : 0);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* The fast checksum as the bytes it would store, read back in network order. */
static uint16_t
as_network(uint16_t memory_order)
{
	return ntohs(memory_order);
}

static void
fill_random(unsigned seed)
{
	srand(seed);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rand();
}

static void
test_rfc1071_example(void **state)
{
	static const unsigned char ex[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };

	(void)state;
	assert_int_equal(ref_cksum(ex, sizeof(ex)), (uint16_t)~0xddf2);
	assert_int_equal(as_network(in_cksum(ex, sizeof(ex))), (uint16_t)~0xddf2);
}

static void
test_every_length_alignment(void **state)
{
	(void)state;
	fill_random(SEED);
	for (size_t len = 0; len <= MAXLEN; len++)
		for (size_t al = 0; al < 8; al++)
			assert_int_equal(as_network(in_cksum(buf + al, len)),
			    ref_cksum(buf + al, len));
}

static void
test_all_ones_and_zeros(void **state)
{
	(void)state;
	for (size_t len = 0; len <= MAXLEN; len += 7) {
		memset(buf, 0xff, len);
		assert_int_equal(as_network(in_cksum(buf, len)), ref_cksum(buf, len));
		memset(buf, 0, len);
		assert_int_equal(as_network(in_cksum(buf, len)), ref_cksum(buf, len));
	}
}

static void
test_every_split(void **state)
{
	uint16_t want;

	(void)state;
	fill_random(SEED + 1);
	want = ref_cksum(buf, MAXLEN);
	for (size_t s = 0; s <= MAXLEN; s++) {
		uint32_t sum = cksum_add_at(0, buf, s, 0);

		sum = cksum_add_at(sum, buf + s, MAXLEN - s, s);
		assert_int_equal(as_network((uint16_t)~cksum_fold(sum)), want);
	}
}

static void
test_random_three_way(void **state)
{
	(void)state;
	fill_random(SEED + 2);
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)rand() % (MAXLEN + 1);
		size_t a = len ? (size_t)rand() % (len + 1) : 0;
		size_t b = a + (len - a ? (size_t)rand() % (len - a + 1) : 0);
		uint32_t sum = cksum_add_at(0, buf, a, 0);

		sum = cksum_add_at(sum, buf + a, b - a, a);
		sum = cksum_add_at(sum, buf + b, len - b, b);
		assert_int_equal(as_network((uint16_t)~cksum_fold(sum)), ref_cksum(buf, len));
	}
}

static void
test_incremental(void **state)
{
	unsigned char hdr[20];

	(void)state;
	srand(SEED + 3);
	for (int i = 0; i < 20000; i++) {
		uint16_t hc, oldw, neww;
		uint32_t olda, newa;
		int w = rand() % 10, a = rand() % 5;

		for (size_t j = 0; j < sizeof(hdr); j++)
			hdr[j] = (unsigned char)rand();
		hdr[10] = hdr[11] = 0;
		hc = in_cksum(hdr, sizeof(hdr));
		memcpy(&hdr[10], &hc, 2);
		if (w == 5)
			w = 4;	/* never the checksum word itself */
		memcpy(&oldw, &hdr[2 * w], 2);
		neww = (uint16_t)rand();
		memcpy(&hdr[2 * w], &neww, 2);
		hc = cksum_update16(hc, oldw, neww);
		memcpy(&hdr[10], &hc, 2);
		assert_int_equal(in_cksum(hdr, sizeof(hdr)), 0);	/* verifies */
		if (a == 2)
			a = 3;	/* the 32-bit field holding the checksum */
		memcpy(&olda, &hdr[4 * a], 4);
		newa = (uint32_t)rand() * 2654435761u;
		memcpy(&hdr[4 * a], &newa, 4);
		hc = cksum_update32(hc, olda, newa);
		memcpy(&hdr[10], &hc, 2);
		assert_int_equal(in_cksum(hdr, sizeof(hdr)), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_example),
		cmocka_unit_test(test_every_length_alignment),
		cmocka_unit_test(test_all_ones_and_zeros),
		cmocka_unit_test(test_every_split),
		cmocka_unit_test(test_random_three_way),
		cmocka_unit_test(test_incremental),
	};

	printf("# seed 0x%x\n", SEED);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
