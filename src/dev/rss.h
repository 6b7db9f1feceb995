/*
 * rss.h - receive-side scaling for the in-memory drivers: the Toeplitz hash of a frame.
 *
 * The input is chosen as NICs and Linux do: for IPv4/IPv6 TCP and UDP (not fragments)
 * source address, destination address, source port, destination port; for other IP
 * packets and fragments the two addresses; for non-IP frames (ARP, test types) the
 * Ethernet header's addresses and type (an "opaque" hash, so such frames still spread
 * deterministically).  Bytes are hashed in wire order.  Frames are read through one
 * bounded copy of their first bytes, so chains and short frames are safe.
 */
#ifndef SMPNET_DEV_RSS_H
#define SMPNET_DEV_RSS_H

#include <stdint.h>

struct mbuf;
struct toeplitz;

/*
 * Hash the frame m (data at the Ethernet header); *hashtype gets an M_HASHTYPE_* value.
 * Any thread; never blocks; m unchanged.
 */
uint32_t rss_frame_hash(const struct toeplitz *tz, const struct mbuf *m, uint8_t *hashtype);

#endif /* SMPNET_DEV_RSS_H */
