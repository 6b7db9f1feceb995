/*
 * igmp.h - IGMPv2 (RFC 2236) and IGMPv3 (RFC 3376) host side.
 *
 * Each interface keeps its memberships (groups joined with in_multi_join, refcounted)
 * in an RCU list that ip_input reads to accept multicast datagrams.  Joining the first
 * reference of a group adds its MAC to the Ethernet filter and sends an unsolicited
 * report (v3: a CHANGE_TO_EXCLUDE({}) record; v2: a membership report); the last leave
 * sends a v2 leave to 224.0.0.2 or a v3 CHANGE_TO_INCLUDE({}) to 224.0.0.22.  Queries
 * are answered after a random delay within their maximum response time: a v2 query
 * (or any query while in v2 compatibility mode) with v2 reports, one per group; a v3
 * general query with one v3 report of MODE_IS_EXCLUDE records for all groups.  Hearing
 * a v1/v2 query switches the interface to v2 compatibility for the older-querier
 * timeout; net.inet.igmp.version picks the default (2 or 3).  224.0.0.1 is never
 * reported.  All messages carry TTL 1 and the Router Alert option.
 */
#ifndef SMPNET_NETINET_IGMP_H
#define SMPNET_NETINET_IGMP_H

#include <stdbool.h>
#include <stdint.h>

struct inet;
struct ifnet;
struct mbuf;
struct igmp_ifinfo;

/* Per-interface state: NULL + errno (ENOMEM).  Control thread; may block. */
struct igmp_ifinfo *igmp_ifattach(struct inet *in, struct ifnet *ifp);
/* Drop every membership (no messages), stop the timer, free.  Control thread. */
void igmp_ifdetach(struct igmp_ifinfo *gi);

/* The IP-protocol handler for IGMP (arg: struct inet). */
void igmp_input(struct ifnet *ifp, struct mbuf *m, int off, void *arg);

/* in_multi_join / in_multi_leave / in_multi_member on the interface's state. */
int igmp_join(struct igmp_ifinfo *gi, uint32_t group);
int igmp_leave(struct igmp_ifinfo *gi, uint32_t group);
bool igmp_member(struct igmp_ifinfo *gi, uint32_t group);
/* The interface's current compatibility version (2 or 3). */
int igmp_ifversion(struct igmp_ifinfo *gi);

#endif /* SMPNET_NETINET_IGMP_H */
