/*
 * cksum.h - the Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * Words: a "partial sum" is an unfolded ones-complement sum of 16-bit words, kept in a
 * uint32_t whose value is meaningful only modulo 0xffff (fold it with cksum_fold()).  All
 * 16-bit values here are in memory byte order: the checksum of a buffer, stored with
 * memcpy() at the checksum field, is correct on any host (RFC 1071 section 2(B): the
 * ones-complement sum commutes with byte swapping), so callers never byte-swap.
 *
 * Piecewise sums: a buffer summed in pieces (an mbuf chain) gives the same result as the
 * flat buffer if each piece that starts at an odd offset of the whole has its folded sum
 * byte-swapped before it is added; cksum_add_at() does that from the offset's parity.
 *
 * Every function is pure, never blocks and may be called from any context.
 */
#ifndef SMPNET_LIB_CKSUM_H
#define SMPNET_LIB_CKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add the bytes of buf (taken as starting at an even offset) to partial sum sum. */
uint32_t cksum_add(uint32_t sum, const void *buf, size_t len);

/* Add buf as the piece starting at offset off of the whole (odd off: byte-swapped). */
uint32_t cksum_add_at(uint32_t sum, const void *buf, size_t len, size_t off);

/* Fold a partial sum to 16 bits (not complemented). */
static inline uint16_t
cksum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	sum = (sum & 0xffffu) + (sum >> 16);
	return (uint16_t)sum;
}

/* Swap the two bytes of a folded sum (for a piece at an odd offset). */
static inline uint16_t
cksum_swap(uint16_t s)
{
	return (uint16_t)((s << 8) | (s >> 8));
}

/* The Internet checksum of buf: the complement of its folded sum, ready to store. */
uint16_t in_cksum(const void *buf, size_t len);

/*
 * RFC 1624 eqn. 3: the checksum hc of a header after one 16-bit word changes from old to
 * new: HC' = ~(~HC + ~m + m').  cksum_update32() does the same for an aligned 32-bit
 * field (an IPv4 address), as two words.
 */
uint16_t cksum_update16(uint16_t hc, uint16_t old, uint16_t new_);
uint16_t cksum_update32(uint16_t hc, uint32_t old, uint32_t new_);

#endif /* SMPNET_LIB_CKSUM_H */
