/*
 * ip_reass.h - IPv4 reassembly (RFC 791, RFC 815), with the RFC 5722 rule applied to
 * IPv4: a fragment overlapping another of the same datagram drops the whole datagram.
 *
 * Fragments are kept in a hash of queues keyed by (source, destination, ID, protocol),
 * one kmutex per bucket (fragments of different datagrams rarely contend).  Limits, all
 * settings of the vnet: fragments per datagram (net.inet.ip.maxfragsperpacket), bytes
 * held per bucket (net.inet.ip.reass.maxbytes, divided among the buckets) and datagrams
 * per bucket (net.inet.ip.reass.maxqueues); a datagram's lifetime counts from its first
 * fragment and is never extended (net.inet.ip.reass.timeout_ms), so an endless stream
 * of fragments that never completes a datagram holds bounded memory for bounded time.
 * A datagram dropped for overlap or for a limit leaves a "dead" queue until its timeout,
 * so that its later fragments are dropped too.  Exact duplicates are ignored.
 */
#ifndef SMPNET_NETINET_IP_REASS_H
#define SMPNET_NETINET_IP_REASS_H

#include <stddef.h>

struct inet;
struct mbuf;
struct ip_reass;

/* Create / destroy (frees every queued fragment; control thread, may block). */
struct ip_reass *ip_reass_create(struct inet *in);
void ip_reass_destroy(struct ip_reass *r);

/*
 * Take fragment m (data at its IP header of hlen bytes, checked by ip_input, length
 * trimmed to the total length).  Returns the complete datagram (header fixed: total
 * length, offset 0, checksum) when m completes one, else NULL (m kept or dropped, and
 * counted).  Any thread; never blocks (takes one bucket lock briefly).
 */
struct mbuf *ip_reass_input(struct ip_reass *r, struct mbuf *m, int hlen);

/* Datagrams being reassembled, and bytes held (for tests).  Takes the bucket locks. */
size_t ip_reass_pending(struct ip_reass *r, size_t *bytes);

/* Expire every queue older than the timeout now (tests; the timer does it otherwise). */
void ip_reass_expire_now(struct ip_reass *r);

#endif /* SMPNET_NETINET_IP_REASS_H */
