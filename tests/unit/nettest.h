/*
 * nettest.h - helpers shared by the net unit and stress tests: kerns, frames, a
 * recording receiver, bounded waits.
 *
 * Test frames carry a 16-byte test header after the Ethernet (or IPv4+UDP) header:
 * {magic, sender id, sequence number, length} followed by a pattern derived from
 * (sender, sequence), so a receiver can check that a frame arrived intact and count it
 * exactly once per (sender, sequence).
 */
#ifndef SMPNET_TESTS_NETTEST_H
#define SMPNET_TESTS_NETTEST_H

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kern/kern.h"
#include "kern/psz.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "net/if_var.h"
#include "net/vnet.h"


#define NT_MAGIC	0x736d706eu	/* "smpn" */
#define NT_HDR		16

static inline struct kern *
nt_kern(int ncpu, bool giant)
{
	struct kern_config kc = { .ncpu = ncpu, .giant = giant, .nopin = true };

	return kern_create(&kc);
}

static inline void
nt_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait until *ctr >= want, at most seconds.  True if reached. */
static inline bool
nt_wait(_Atomic uint64_t *ctr, uint64_t want, double seconds)
{
	int i, n = (int)(seconds * 1000);

	for (i = 0; i < n; i++) {
		if (atomic_load(ctr) >= want)
			return true;
		nt_sleep_ms(1);
	}
	return atomic_load(ctr) >= want;
}

static inline uint8_t
nt_pattern(uint32_t id, uint32_t seq, int i)
{
	return (uint8_t)(id * 31u + seq * 7u + (unsigned)i);
}

/* Write the test header + pattern (len >= NT_HDR bytes) at p. */
static inline void
nt_payload(uint8_t *p, int len, uint32_t id, uint32_t seq)
{
	uint32_t h[4] = { htonl(NT_MAGIC), htonl(id), htonl(seq), htonl((uint32_t)len) };
	int i;

	memcpy(p, h, NT_HDR);
	for (i = NT_HDR; i < len; i++)
		p[i] = nt_pattern(id, seq, i);
}

/* Check a payload; returns true and sets *id, *seq if intact. */
static inline bool
nt_payload_check(const uint8_t *p, int len, uint32_t *id, uint32_t *seq)
{
	uint32_t h[4];
	int i;

	if (len < NT_HDR)
		return false;
	memcpy(h, p, NT_HDR);
	if (ntohl(h[0]) != NT_MAGIC || (int)ntohl(h[3]) != len)
		return false;
	*id = ntohl(h[1]);
	*seq = ntohl(h[2]);
	for (i = NT_HDR; i < len; i++)
		if (p[i] != nt_pattern(*id, *seq, i))
			return false;
	return true;
}

/* A raw test frame: Ethernet header (type) + test payload of plen bytes. */
static inline struct mbuf *
nt_frame(struct vnet *v, const uint8_t *dst, const uint8_t *src, uint16_t type,
    int plen, uint32_t id, uint32_t seq)
{
	uint8_t buf[2048];

	if (plen + ETHER_HDR_LEN > (int)sizeof(buf))
		return NULL;
	ether_header_build(buf, dst, src, type);
	nt_payload(buf + ETHER_HDR_LEN, plen, id, seq);
	return m_devget(v->v_pools, buf, ETHER_HDR_LEN + plen, 0, 0);
}

/*
 * An IPv4/UDP-shaped frame (no checksums: the test handler registered on ETHERTYPE_IP
 * reads it raw) with the test payload after the UDP header.
 */
#define NT_IP_OFF	(20 + 8)
static inline struct mbuf *
nt_udp_frame(struct vnet *v, const uint8_t *dst, const uint8_t *src, uint32_t saddr,
    uint32_t daddr, uint16_t sport, uint16_t dport, int plen, uint32_t id, uint32_t seq)
{
	uint8_t buf[2048], *ip = buf + ETHER_HDR_LEN;
	uint16_t tot = htons((uint16_t)(NT_IP_OFF + plen));

	if (ETHER_HDR_LEN + NT_IP_OFF + plen > (int)sizeof(buf))
		return NULL;
	ether_header_build(buf, dst, src, ETHERTYPE_IP);
	memset(ip, 0, NT_IP_OFF);
	ip[0] = 0x45;
	memcpy(ip + 2, &tot, 2);
	ip[8] = 64;
	ip[9] = 17;
	memcpy(ip + 12, &saddr, 4);
	memcpy(ip + 16, &daddr, 4);
	memcpy(ip + 20, &sport, 2);
	memcpy(ip + 22, &dport, 2);
	nt_payload(ip + NT_IP_OFF, plen, id, seq);
	return m_devget(v->v_pools, buf, ETHER_HDR_LEN + NT_IP_OFF + plen, 0, 0);
}

/* Transmit on ifp inside a read section (as protocol code would). */
static inline int
nt_send(struct ifnet *ifp, struct mbuf *m)
{
	int rv;

	psz_read_enter();
	rv = if_transmit(ifp, m);
	psz_read_exit();
	return rv;
}

#endif /* SMPNET_TESTS_NETTEST_H */
