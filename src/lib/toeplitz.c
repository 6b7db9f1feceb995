/*
 * toeplitz.c - table-driven Toeplitz hash (see toeplitz.h).
 */
#include "lib/toeplitz.h"

#include <string.h>

const uint8_t toeplitz_default_key[TOEPLITZ_KEYLEN] = {
	0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2,
	0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
	0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4,
	0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
	0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
};

/* The 32-bit key window starting at bit position bit (0 = MSB of key[0]). */
static uint32_t
key_window(const uint8_t *key, unsigned bit)
{
	unsigned byte = bit / 8, shift = bit % 8;
	uint64_t w = 0;
	unsigned i;

	for (i = 0; i < 5; i++)
		w = w << 8 | (byte + i < TOEPLITZ_KEYLEN ? key[byte + i] : 0);
	return (uint32_t)(w >> (8 - shift));
}

void
toeplitz_init(struct toeplitz *tz, const uint8_t key[TOEPLITZ_KEYLEN])
{
	uint32_t win[8];
	unsigned pos, v, b;

	for (pos = 0; pos < TOEPLITZ_MAXINPUT; pos++) {
		for (b = 0; b < 8; b++)
			win[b] = key_window(key, pos * 8 + b);
		for (v = 0; v < 256; v++) {
			uint32_t h = 0;

			for (b = 0; b < 8; b++)
				if (v & (0x80u >> b))
					h ^= win[b];
			tz->tz_table[pos][v] = h;
		}
	}
}

uint32_t
toeplitz_hash(const struct toeplitz *tz, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t h = 0;
	size_t i;

	if (len > TOEPLITZ_MAXINPUT)
		len = TOEPLITZ_MAXINPUT;
	for (i = 0; i < len; i++)
		h ^= tz->tz_table[i][p[i]];
	return h;
}

uint32_t
toeplitz_hash_ip4(const struct toeplitz *tz, uint32_t src, uint32_t dst, uint16_t sport,
    uint16_t dport)
{
	uint8_t in[12];

	memcpy(in, &src, 4);
	memcpy(in + 4, &dst, 4);
	memcpy(in + 8, &sport, 2);
	memcpy(in + 10, &dport, 2);
	return toeplitz_hash(tz, in, sport == 0 && dport == 0 ? 8 : 12);
}

uint32_t
toeplitz_hash_ip6(const struct toeplitz *tz, const uint8_t src[16], const uint8_t dst[16],
    uint16_t sport, uint16_t dport)
{
	uint8_t in[36];

	memcpy(in, src, 16);
	memcpy(in + 16, dst, 16);
	memcpy(in + 32, &sport, 2);
	memcpy(in + 34, &dport, 2);
	return toeplitz_hash(tz, in, sport == 0 && dport == 0 ? 32 : 36);
}
