/*
 * udp_inet.h - connect UDP to the inet domain's IPv4 (udp_inet.c), and install the early
 * demultiplexer as the vnet's early input hook.  Control threads; may block (the ICMP
 * handler and hook registrations wait for a grace period).  attach: 0 or
 * icmp_ctl_register's / dispatch_early_set's error.
 */
#ifndef SMPNET_NETINET_UDP_INET_H
#define SMPNET_NETINET_UDP_INET_H

struct udp_state;
struct vnet;

int udp_inet_attach(struct udp_state *us, struct vnet *v);
void udp_inet_detach(struct udp_state *us, struct vnet *v);

#endif
