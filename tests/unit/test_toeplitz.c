/*
 * test_toeplitz.c - the table-driven Toeplitz hash against the RSS verification vectors
 * and against a bit-by-bit reference on random input.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/toeplitz.h"

struct vec4 {
	const char *src, *dst;
	uint16_t sport, dport;
	uint32_t h2, h4;
};

/* The published RSS verification suite, IPv4 part (default key). */
static const struct vec4 vecs[] = {
	{ "66.9.149.187", "161.142.100.80", 2794, 1766, 0x323e8fc2, 0x51ccc178 },
	{ "199.92.111.2", "65.69.140.83", 14230, 4739, 0xd718262a, 0xc626b0ea },
	{ "24.19.198.95", "12.22.207.184", 12898, 38024, 0xd2d0a5de, 0x5c2b394a },
};

static void
test_vectors(void **state)
{
	static struct toeplitz tz;
	struct in_addr s, d;
	size_t i;

	(void)state;
	toeplitz_init(&tz, toeplitz_default_key);
	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		assert_int_equal(inet_pton(AF_INET, vecs[i].src, &s), 1);
		assert_int_equal(inet_pton(AF_INET, vecs[i].dst, &d), 1);
		assert_int_equal(toeplitz_hash_ip4(&tz, s.s_addr, d.s_addr, 0, 0), vecs[i].h2);
		assert_int_equal(toeplitz_hash_ip4(&tz, s.s_addr, d.s_addr,
		    htons(vecs[i].sport), htons(vecs[i].dport)), vecs[i].h4);
	}
}

static uint32_t
ref_hash(const uint8_t *key, const uint8_t *in, size_t len)
{
	uint32_t h = 0, win;
	size_t i;
	int b;

	/* Slide a 32-bit window over the key one bit per input bit. */
	win = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 | key[3];
	for (i = 0; i < len; i++) {
		for (b = 7; b >= 0; b--) {
			if (in[i] & (1u << b))
				h ^= win;
			win = win << 1 | ((key[i + 4] >> b) & 1u);
		}
	}
	return h;
}

static void
test_random_against_reference(void **state)
{
	static struct toeplitz tz;
	uint8_t key[TOEPLITZ_KEYLEN], in[TOEPLITZ_MAXINPUT];
	unsigned seed = 1234, round, i;
	size_t len;

	(void)state;
	printf("seed %u\n", seed);
	srand(seed);
	for (round = 0; round < 50; round++) {
		for (i = 0; i < TOEPLITZ_KEYLEN; i++)
			key[i] = (uint8_t)rand();
		toeplitz_init(&tz, key);
		for (len = 0; len <= TOEPLITZ_MAXINPUT; len++) {
			for (i = 0; i < len; i++)
				in[i] = (uint8_t)rand();
			assert_int_equal(toeplitz_hash(&tz, in, len), ref_hash(key, in, len));
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_random_against_reference),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
