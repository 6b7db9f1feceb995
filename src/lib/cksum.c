/*
 * cksum.c - the Internet checksum over a flat buffer (RFC 1071), 64-bit accumulation.
 *
 * Algorithm: load the buffer as native 64-bit words (memcpy loads, so any alignment is
 * fine) and add them into a 64-bit accumulator with end-around carry; four independent
 * accumulators hide the carry chain's latency.  The tail (under 8 bytes) is copied into a
 * zeroed word, which is exactly RFC 1071's "pad an odd byte with zero" in memory order.
 * Folding the 64-bit sum to 16 bits gives the same value as summing 16-bit words, because
 * 2^16 = 1 (mod 0xffff).  Byte order never matters (RFC 1071 section 2(B)).
 */
#include "lib/cksum.h"

#include <string.h>

static inline uint64_t
add64(uint64_t a, uint64_t b)
{
	uint64_t s = a + b;

	return s + (s < b);	/* end-around carry */
}

static inline uint64_t
load64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
	return w;
}

static uint64_t
sum_blocks(const unsigned char *p, size_t n32)
{
	uint64_t a = 0, b = 0, c = 0, d = 0;

	while (n32-- > 0) {
		a = add64(a, load64(p));
		b = add64(b, load64(p + 8));
		c = add64(c, load64(p + 16));
		d = add64(d, load64(p + 24));
		p += 32;
	}
	return add64(add64(a, b), add64(c, d));
}

/*
 * The last len (< 32) bytes.  Fixed-size pieces (16, 8, 4, 2, 1 bytes) instead of one
 * variable-length copy, so short buffers (a 20-byte IPv4 header, an 8-byte UDP header)
 * cost a handful of loads and no call.  The under-8-byte rest is assembled in a zeroed
 * word in memory order, which is RFC 1071's zero padding of an odd byte.
 */
static uint64_t
sum_tail(const unsigned char *p, size_t len)
{
	unsigned char w[8] = { 0 };
	unsigned char *q = w;
	uint64_t s = 0;

	if (len & 16) {
		s = add64(load64(p), load64(p + 8));
		p += 16;
	}
	if (len & 8) {
		s = add64(s, load64(p));
		p += 8;
	}
	if (len & 4) {
		memcpy(q, p, 4);
		q += 4;
		p += 4;
	}
	if (len & 2) {
		memcpy(q, p, 2);
		q += 2;
		p += 2;
	}
	if (len & 1)
		*q = *p;
	return add64(s, load64(w));
}

uint32_t
cksum_add(uint32_t sum, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint64_t s = sum;

	s = add64(s, sum_blocks(p, len / 32));
	s = add64(s, sum_tail(p + (len & ~(size_t)31), len & 31));
	return cksum_fold(s);
}

uint32_t
cksum_add_at(uint32_t sum, const void *buf, size_t len, size_t off)
{
	uint16_t s = (uint16_t)cksum_add(0, buf, len);

	if (off & 1)
		s = cksum_swap(s);
	return cksum_fold((uint64_t)sum + s);
}

uint16_t
in_cksum(const void *buf, size_t len)
{
	return (uint16_t)~cksum_fold(cksum_add(0, buf, len));
}

uint16_t
cksum_update16(uint16_t hc, uint16_t old, uint16_t new_)
{
	uint32_t s = (uint16_t)~hc;

	s += (uint16_t)~old;
	s += new_;
	return (uint16_t)~cksum_fold(s);
}

uint16_t
cksum_update32(uint16_t hc, uint32_t old, uint32_t new_)
{
	uint16_t o[2], n[2];

	memcpy(o, &old, sizeof(o));
	memcpy(n, &new_, sizeof(n));
	return cksum_update16(cksum_update16(hc, o[0], n[0]), o[1], n[1]);
}
