/*
 * toeplitz.h - the Toeplitz hash used for receive-side scaling (RSS).
 *
 * The hash of an input of n bytes under a key of at least n+4 bytes is the XOR, over every
 * set input bit i (most significant bit of byte 0 first), of the 32-bit key window that
 * starts at key bit i.  Hardware NICs and Linux compute it over (source address,
 * destination address[, source port, destination port]) in network byte order, so that a
 * flow always maps to the same receive queue; smpnet's wire driver uses it to pick RX
 * queues and the stack uses the same value to pick the CPU owning a connection.
 *
 * toeplitz_init() precomputes, for every input byte position and byte value, the XOR of
 * the windows of its set bits (one 32-bit load per input byte at hash time).  A context
 * is immutable after init and may be shared by any number of threads.
 */
#ifndef SMPNET_LIB_TOEPLITZ_H
#define SMPNET_LIB_TOEPLITZ_H

#include <stddef.h>
#include <stdint.h>

#define TOEPLITZ_KEYLEN		40	/* the usual RSS key size */
#define TOEPLITZ_MAXINPUT	(TOEPLITZ_KEYLEN - 4)	/* 36: IPv6 4-tuple */

struct toeplitz {
	uint32_t	tz_table[TOEPLITZ_MAXINPUT][256];	/* [I] */
};

/* The key most NICs and Linux default to (Microsoft's RSS verification key). */
extern const uint8_t toeplitz_default_key[TOEPLITZ_KEYLEN];

/* Precompute tz for a key of TOEPLITZ_KEYLEN bytes. */
void toeplitz_init(struct toeplitz *tz, const uint8_t key[TOEPLITZ_KEYLEN]);

/* Hash len bytes (len <= TOEPLITZ_MAXINPUT; longer input is truncated to that). */
uint32_t toeplitz_hash(const struct toeplitz *tz, const void *data, size_t len);

/*
 * Hash an IPv4 flow: addresses and ports in network byte order, as they appear in the
 * packet.  With both ports zero the hash covers the addresses only (the 2-tuple hash, as
 * for fragments and non-TCP/UDP protocols).
 */
uint32_t toeplitz_hash_ip4(const struct toeplitz *tz, uint32_t src, uint32_t dst,
    uint16_t sport, uint16_t dport);

/* Same for IPv6 (addresses as 16 bytes each). */
uint32_t toeplitz_hash_ip6(const struct toeplitz *tz, const uint8_t src[16],
    const uint8_t dst[16], uint16_t sport, uint16_t dport);

#endif
