/*
 * udp_inet.h - connect UDP to the inet domain's IPv4 (udp_inet.c).  Control threads;
 * may block (the ICMP handler registration waits for a grace period).  attach: 0 or
 * icmp_ctl_register's error.
 */
#ifndef SMPNET_NETINET_UDP_INET_H
#define SMPNET_NETINET_UDP_INET_H

struct udp_state;
struct vnet;

int udp_inet_attach(struct udp_state *us, struct vnet *v);
void udp_inet_detach(struct udp_state *us, struct vnet *v);

#endif
