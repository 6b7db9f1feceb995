/*
 * udp_inet.c - UDP's IPv4 services from the inet domain: ip_output, source address
 * selection (route lookup -> outgoing interface -> its address on the destination's
 * network), ICMP port unreachable (icmp_error), ICMP errors back to UDP sockets
 * (icmp_ctl_register for protocol 17), and multicast membership (in_multi_join/leave on
 * the interface that owns the given address, or the route's interface to the group, or
 * the first multicast-capable interface), the check that a bound address is local, and
 * lazy receive processing's two IPv4 halves:
 * the early demultiplexer installed as the vnet's early input hook (udp_inet_early) and
 * IPv4's checks at the reader (lazy_input -> ip_input_lazy).
 *
 * Byte order: UDP keeps addresses in network order, the inet API takes host order;
 * conversions happen here only.  Every call runs in the context documented in
 * udp_var.h (struct udp_ip_ops); the data-path ones enter their own read sections.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip_icmp.h>
#include <stdlib.h>
#include <string.h>

#include "kern/psz.h"
#include "mbuf/mbuf.h"
#include "net/ether.h"
#include "net/if_dispatch.h"
#include "net/if_var.h"
#include "net/ifnet.h"
#include "net/nhop.h"
#include "net/route.h"
#include "net/vnet.h"
#include "net/wire.h"
#include "netinet/icmp.h"
#include "netinet/icmp_wire.h"
#include "netinet/in_var.h"
#include "netinet/inet.h"
#include "netinet/udp_inet.h"
#include "netinet/udp_var.h"

static struct ifnet *udp_inet_mcast_ifp(struct vnet *v, uint32_t group, uint32_t ifaddr);

/* Multicast and limited broadcast leave through a chosen interface, not a route. */
static bool
udp_inet_multi(uint32_t dst)
{
	uint32_t d = ntohl(dst);

	return in_is_multicast(d) || d == INADDR_BROADCAST_H;
}

static int
udp_inet_output(void *arg, struct mbuf *m, const struct udp_ip_out *o)
{
	struct vnet *v = arg;
	struct ip_oargs a = { .ipo_src = ntohl(o->uo_src), .ipo_dst = ntohl(o->uo_dst),
	    .ipo_proto = 17, .ipo_ttl = o->uo_ttl, .ipo_tos = o->uo_tos };
	int r;

	psz_read_enter();	/* keeps ipo_ifp valid across ip_output */
	if (udp_inet_multi(o->uo_dst) &&
	    (a.ipo_ifp = udp_inet_mcast_ifp(v, o->uo_dst, o->uo_mcast_if)) == NULL) {
		psz_read_exit();
		m_freem(m);
		return -ENETUNREACH;
	}
	r = ip_output(v, m, &a);
	psz_read_exit();
	return r;
}

/* The outgoing interface towards dst (host order); inside a read section. */
static struct ifnet *
udp_inet_route_ifp(struct vnet *v, uint32_t dst)
{
	struct inet *in = inet_get(v);
	struct nhop *nh;

	if (in == NULL || (nh = rt_lookup4(in->in_rt, htonl(dst))) == NULL)
		return NULL;
	return nh->nh_spec.ns_ifp;
}

static int
udp_inet_select_src(void *arg, uint32_t dst, uint32_t *src)
{
	struct vnet *v = arg;
	struct in_ifaddr *ia = NULL;
	struct ifnet *ifp;
	int r = -ENETUNREACH;

	psz_read_enter();
	ifp = udp_inet_multi(dst) ? udp_inet_mcast_ifp(v, dst, 0) :
	    udp_inet_route_ifp(v, ntohl(dst));
	if (ifp != NULL) {
		ia = in_ifaddr_for(ifp, ntohl(dst));
		r = ia != NULL ? 0 : -EADDRNOTAVAIL;
		if (ia != NULL)
			*src = htonl(ia->ia_addr);
	}
	psz_read_exit();
	return r;
}

static void
udp_inet_port_unreach(void *arg, struct mbuf *m, int off)
{
	struct vnet *v = arg;
	struct ifnet *rcvif;

	psz_read_enter();
	rcvif = vnet_if_byindex(v, (int)m->m_pkthdr.rcvif);
	(void)icmp_error(v, m, ICMP_UNREACH, ICMP_UNREACH_PORT, 0, rcvif);
	psz_read_exit();
	m_freem(m);
}

/* The interface for a membership: by address, else the route to the group, else any. */
static struct ifnet *
udp_inet_mcast_ifp(struct vnet *v, uint32_t group, uint32_t ifaddr)
{
	struct inet *in = inet_get(v);
	struct in_ifaddr *ia;
	struct ifnet *ifp;

	if (in == NULL)
		return NULL;
	if (ifaddr != 0)
		return (ia = in_addr_lookup(in, ntohl(ifaddr))) != NULL ? ia->ia_ifa.ifa_ifp : NULL;
	if ((ifp = udp_inet_route_ifp(v, ntohl(group))) != NULL)
		return ifp;
	for (int i = 1; i < v->v_ifmax; i++)
		if ((ifp = vnet_if_byindex(v, i)) != NULL && (if_flags(ifp) & IFF_MULTICAST))
			return ifp;
	return NULL;
}

static int
udp_inet_mcast(struct vnet *v, uint32_t group, uint32_t ifaddr, bool join)
{
	struct ifnet *ifp;

	psz_read_enter();
	ifp = udp_inet_mcast_ifp(v, group, ifaddr);
	psz_read_exit();
	/* the interface outlives the call: detaching it takes v_cfglock, not held here */
	if (ifp == NULL)
		return -EADDRNOTAVAIL;
	return join ? in_multi_join(ifp, ntohl(group)) : in_multi_leave(ifp, ntohl(group));
}

static int
udp_inet_mcast_join(void *arg, uint32_t group, uint32_t ifaddr)
{
	return udp_inet_mcast(arg, group, ifaddr, true);
}

static int
udp_inet_mcast_leave(void *arg, uint32_t group, uint32_t ifaddr)
{
	return udp_inet_mcast(arg, group, ifaddr, false);
}

/*
 * The vnet's early input hook (lazy receive processing), in the RX poll before Ethernet
 * input.  It reads the headers in place (no checksum, no pull-up, no reassembly) and
 * takes only the common case: an untagged IPv4 frame to this interface's own MAC, the
 * headers in the first mbuf, a 20-byte IPv4 header (no options), not a fragment, UDP, to
 * one of our unicast addresses (not a broadcast of the interface's nets) - the frames
 * ether_input and ip_input would hand to udp_input with these very bytes.  Everything
 * else (and everything while the stack is eager) goes on through ether_input.
 */
static bool
udp_inet_early(struct ifnet *ifp, struct mbuf *m, void *arg)
{
	struct udp_state *us = arg;
	const uint8_t *f = mtod(m, const uint8_t *), *ip = f + ETHER_HDR_LEN;
	struct inet *in;
	uint32_t dst;

	if (!udp_lazy(us) || ifp->if_type != IFT_ETHER || m->m_len < ETHER_HDR_LEN + 28)
		return false;
	if (memcmp(f, ifp->if_lladdr, ETHER_ADDR_LEN) != 0 || f[12] != 0x08 || f[13] != 0x00)
		return false;
	if (ip[0] != 0x45 || ip[9] != 17 || (ip[6] & 0x3f) != 0 || ip[7] != 0)
		return false;	/* options, a fragment, not UDP */
	dst = wire_get32(ip + 16);
	if (in_is_multicast(dst) || (in = inet_get(ifp->if_vnet)) == NULL ||
	    in_is_bcast(ifp, dst) || in_addr_lookup(in, dst) == NULL)
		return false;
	return udp_early_demux(us, m, ETHER_HDR_LEN);
}

/* IPv4's checks at the reader, for a raw record (udp_ip_ops.lazy_input). */
static int
udp_inet_lazy_input(void *arg, struct mbuf **mp)
{
	struct vnet *v = arg;
	struct inet *in = inet_get(v);
	int hlen;

	psz_read_enter();
	hlen = ip_input_lazy(in, vnet_if_byindex(v, (int)(*mp)->m_pkthdr.rcvif), mp);
	psz_read_exit();
	return hlen;
}

/* A bindable local address: ours, or the directed broadcast of one of our networks. */
static int
udp_inet_addr_local(void *arg, uint32_t addr)
{
	struct vnet *v = arg;
	struct inet *in = inet_get(v);
	struct ifnet *ifp;
	bool ok;

	if (in == NULL)
		return -EADDRNOTAVAIL;
	psz_read_enter();
	ok = in_addr_lookup(in, ntohl(addr)) != NULL;
	for (int i = 1; !ok && i < v->v_ifmax; i++)
		ok = (ifp = vnet_if_byindex(v, i)) != NULL && in_is_bcast(ifp, ntohl(addr));
	psz_read_exit();
	return ok ? 0 : -EADDRNOTAVAIL;
}

/* ICMP errors quoting a UDP datagram we sent: tell its (connected) socket. */
static void
udp_inet_ctlinput(struct vnet *v, int type, int code, uint32_t rest,
    const struct icmp_quote *q, uint32_t from, void *arg)
{
	int err;

	if (type != ICMP_UNREACH)
		return;
	switch (code) {
	case ICMP_UNREACH_PORT:
		err = ECONNREFUSED;
		break;
	case ICMP_UNREACH_NET:
		err = ENETUNREACH;
		break;
	case ICMP_UNREACH_NEEDFRAG:
		err = EMSGSIZE;
		break;
	default:
		err = EHOSTUNREACH;
		break;
	}
	udp_ctlinput(arg, htonl(ip4_src(&q->iq_ip)), htons(icmp_quote_sport(q)),
	    htonl(ip4_dst(&q->iq_ip)), htons(icmp_quote_dport(q)), err);
}

int
udp_inet_attach(struct udp_state *us, struct vnet *v)
{
	static const struct udp_ip_ops ops = {
		.output = udp_inet_output,
		.select_src = udp_inet_select_src,
		.port_unreach = udp_inet_port_unreach,
		.mcast_join = udp_inet_mcast_join,
		.mcast_leave = udp_inet_mcast_leave,
		.lazy_input = udp_inet_lazy_input,
		.addr_local = udp_inet_addr_local,
	};
	int err;

	udp_set_ip_ops(us, &ops, v);
	if ((err = icmp_ctl_register(v, 17, udp_inet_ctlinput, us)) != 0)
		return err;
	if ((err = dispatch_early_set(v, udp_inet_early, us)) != 0)
		(void)icmp_ctl_unregister(v, 17);
	return err;
}

void
udp_inet_detach(struct udp_state *us, struct vnet *v)
{
	(void)dispatch_early_set(v, NULL, NULL);
	(void)icmp_ctl_unregister(v, 17);
	(void)us;
}
